/**
 * Frames captured from real clients (kcat, confluent-kafka, kafka-python, KafkaJS, platformatic)
 * talking to the librdkafka mock cluster (shared/kafka-fixtures): decode header and body, then
 * re-encode and compare bytes exactly. Requests are real client encodings; responses are the mock's.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DecodeError } from './decode-error.js';
import { decodeRequestHeader, decodeResponseHeader } from './framing/index.js';
import { RequestHeader, ResponseHeader } from './generated/headers.js';
import { apis, ApiKey } from './generated/index.js';
import { Reader } from './primitives/reader.js';
import { Writer } from './primitives/writer.js';
import { ErrorCode } from './errors/error-codes.js';

const here = dirname(fileURLToPath(import.meta.url)); // packages/protocol/dist
const shared = process.env.FJORD_SHARED ? resolve(process.env.FJORD_SHARED) : resolve(here, '..', '..', '..', '..', 'shared');
const fixturesDir = join(shared, 'kafka-fixtures');

interface Fixture {
  file: string;
  client: string;
  apiKey: number;
  apiName: string;
  version: number;
  direction: 'request' | 'response';
  correlationId: number;
}

/**
 * Mock responses that are not valid Kafka encodings, and why. Each gets its own assertion below.
 * - ApiVersions v3 responses: the mock rejects v3 with UNSUPPORTED_VERSION (35) and a short body
 *   of its own making (one int8-sized array count and v0-style entries), not the layout of any
 *   ApiVersionsResponse version. Clients read only the error code and retry with v0, so we check
 *   that the error code decodes and that the rest is not a valid v3 body.
 * - kafka-python OffsetFetch v3 response: the mock writes a null (-1) `topics` array, which the
 *   schema does not allow (Kafka's own client rejects it the same way).
 */
function isMockQuirk(f: Fixture): 'api-versions-unsupported' | 'offset-fetch-null-topics' | null {
  if (f.direction === 'response' && f.apiKey === ApiKey.ApiVersions && f.version >= 3) return 'api-versions-unsupported';
  if (f.direction === 'response' && f.apiKey === ApiKey.OffsetFetch && f.client === 'kafka-python' && f.version === 3) {
    return 'offset-fetch-null-topics';
  }
  return null;
}

const available = existsSync(join(fixturesDir, 'index.json'));

describe('wire fixtures from real clients', { skip: available ? false : `no fixtures at ${fixturesDir} (set FJORD_SHARED)` }, () => {
  if (!available) return;
  const index = JSON.parse(readFileSync(join(fixturesDir, 'index.json'), 'utf8')) as { files: Fixture[] };

  it('has the captured frames', () => {
    assert.ok(index.files.length >= 300, `only ${index.files.length} fixtures`);
  });

  for (const f of index.files) {
    it(`${f.file}`, () => {
      const frame = readFileSync(join(fixturesDir, f.file));
      const api = apis.get(f.apiKey);
      assert.ok(api, `no codecs for API key ${f.apiKey}`);
      const quirk = isMockQuirk(f);

      if (f.direction === 'request') {
        const { header, headerVersion, bodyOffset, supported } = decodeRequestHeader(frame);
        assert.equal(supported, true);
        assert.equal(header.apiKey, f.apiKey);
        assert.equal(header.apiVersion, f.version);
        assert.equal(header.correlationId, f.correlationId);
        const r = new Reader(frame, bodyOffset);
        const body = api.request.decode(r, f.version);
        assert.equal(r.pos, frame.length, 'request body must be consumed exactly');
        const w = new Writer();
        RequestHeader.encode(
          w,
          { requestApiKey: header.apiKey, requestApiVersion: header.apiVersion, correlationId: header.correlationId, clientId: header.clientId },
          headerVersion,
        );
        api.request.encode(w, body, f.version);
        assert.deepStrictEqual(w.toBuffer(), frame);
        return;
      }

      const { correlationId, headerVersion, bodyOffset } = decodeResponseHeader(frame, f.apiKey, f.version);
      assert.equal(correlationId, f.correlationId);
      if (quirk === 'api-versions-unsupported') {
        assert.equal(headerVersion, 0, 'ApiVersions responses always use header v0');
        assert.equal(frame.readInt16BE(bodyOffset), ErrorCode.UNSUPPORTED_VERSION);
        const r = new Reader(frame, bodyOffset);
        let consumedExactly = false;
        try {
          api.response.decode(r, f.version);
          consumedExactly = r.pos === frame.length;
        } catch (e) {
          assert.ok(e instanceof DecodeError);
        }
        assert.equal(consumedExactly, false, 'the mock body is not a valid v3 body');
        return;
      }
      if (quirk === 'offset-fetch-null-topics') {
        assert.throws(
          () => api.response.decode(new Reader(frame, bodyOffset), f.version),
          (e: unknown) => e instanceof DecodeError && e.path === 'OffsetFetchResponse.topics' && /non-nullable array is null/.test(e.message),
        );
        return;
      }
      const r = new Reader(frame, bodyOffset);
      const body = api.response.decode(r, f.version);
      assert.equal(r.pos, frame.length, 'response body must be consumed exactly');
      const w = new Writer();
      ResponseHeader.encode(w, { correlationId }, headerVersion);
      api.response.encode(w, body, f.version);
      assert.deepStrictEqual(w.toBuffer(), frame);
    });
  }
});
