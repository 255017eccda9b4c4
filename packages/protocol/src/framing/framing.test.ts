import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecodeError } from '../decode-error.js';
import { ApiVersionsRequest, ApiVersionsResponse, FetchResponse, ProduceResponse } from '../generated/index.js';
import { Reader } from '../primitives/reader.js';
import { rawByReferenceBytesMin } from '../primitives/writer.js';
import {
  decodeRequestHeader,
  decodeResponseHeader,
  encodeRequestFrame,
  encodeResponseFrame,
  readFrameSize,
} from './index.js';

function concat(chunks: Buffer[]): Buffer {
  return Buffer.concat(chunks);
}

describe('framing', () => {
  it('reads frame sizes once four bytes are there', () => {
    assert.equal(readFrameSize(Buffer.from([0, 0, 1])), -1);
    assert.equal(readFrameSize(Buffer.from([9, 0, 0, 1, 2]), 1), 0x102);
  });

  it('round-trips a request frame and picks header v2 for flexible versions', () => {
    const frame = concat(encodeRequestFrame(3, 42, 'me', ApiVersionsRequest, { clientSoftwareName: 'fjord', clientSoftwareVersion: '1' }));
    assert.equal(readFrameSize(frame), frame.length - 4);
    const body = frame.subarray(4);
    const { header, headerVersion, bodyOffset, supported } = decodeRequestHeader(body);
    assert.deepEqual(header, { apiKey: 18, apiVersion: 3, correlationId: 42, clientId: 'me' });
    assert.equal(headerVersion, 2);
    assert.equal(supported, true);
    const req = ApiVersionsRequest.decode(new Reader(body, bodyOffset), 3);
    assert.equal(req.clientSoftwareName, 'fjord');
  });

  it('reads the v1 header fields of unknown APIs and unsupported versions', () => {
    for (const [apiKey, apiVersion] of [
      [999, 0],
      [18, 99],
    ] as const) {
      const b = Buffer.alloc(2 + 2 + 4 + 2 + 2 + 3);
      b.writeInt16BE(apiKey, 0);
      b.writeInt16BE(apiVersion, 2);
      b.writeInt32BE(77, 4);
      b.writeInt16BE(2, 8);
      b.write('id', 10);
      b.write('xyz', 12);
      const { header, headerVersion, bodyOffset, supported } = decodeRequestHeader(b);
      assert.equal(supported, false);
      assert.equal(headerVersion, 1);
      assert.deepEqual(header, { apiKey, apiVersion, correlationId: 77, clientId: 'id' });
      assert.equal(bodyOffset, 12);
    }
  });

  it('throws DecodeError for truncated headers', () => {
    assert.throws(() => decodeRequestHeader(Buffer.from([0, 18, 0])), DecodeError);
    assert.throws(() => decodeRequestHeader(Buffer.from([0, 18, 0, 3, 0, 0, 0, 1, 0, 5, 0x61])), DecodeError);
  });

  it('writes response frames with the right header version', () => {
    // ApiVersions v3: header v0 (no tagged fields) even though the body is flexible.
    const av = concat(encodeResponseFrame(18, 3, 5, ApiVersionsResponse, { errorCode: 0 }));
    assert.equal(av.readInt32BE(0), av.length - 4);
    assert.equal(av.readInt32BE(4), 5);
    assert.equal(av.readInt16BE(8), 0, 'body starts right after the correlation id');
    assert.equal(decodeResponseHeader(av.subarray(4), 18, 3).bodyOffset, 4);
    // Produce v9: header v1 (correlation id + empty tagged section).
    const pr = concat(encodeResponseFrame(0, 9, 6, ProduceResponse, {}));
    assert.equal(pr.readInt32BE(0), pr.length - 4);
    assert.equal(pr[8], 0, 'empty header tagged section');
    const { correlationId, bodyOffset } = decodeResponseHeader(pr.subarray(4), 0, 9);
    assert.equal(correlationId, 6);
    const m = ProduceResponse.decode(new Reader(pr.subarray(4), bodyOffset), 9);
    assert.deepEqual(m.responses, []);
  });

  it('keeps large fetch data by reference in the response chunks', () => {
    const data = Buffer.alloc(rawByReferenceBytesMin * 2, 1);
    const chunks = encodeResponseFrame(1, 12, 9, FetchResponse, {
      responses: [{ topic: 't', partitions: [{ partitionIndex: 0, records: [data] }] }],
    });
    assert.ok(chunks.includes(data));
    const frame = concat(chunks);
    assert.equal(frame.readInt32BE(0), frame.length - 4);
  });
});
