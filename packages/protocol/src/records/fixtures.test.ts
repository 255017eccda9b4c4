/**
 * The record batches inside real clients' Produce v7 requests (../shared/kafka-fixtures, captured
 * from kcat and confluent-kafka-python (librdkafka 2.0.2), kafka-python 2.0.2 and kafkajs 2.2.4):
 * CRC, validation, decompression of every codec each client supports, every record, and a
 * re-encode that must give the same records (and, uncompressed, the same bytes).
 *
 * The produce request is walked by hand (Produce v7, request header v1) so this test does not
 * depend on the generated codecs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { decompress } from '../compression/index.js';
import { compressionName } from '../compression/codec.js';
import { BATCH_HEADER_BYTES, batchCrcValid, decodeAttributes, splitBatches, validateBatchForAppend, type BatchSpan } from './batch.js';
import { decodeBatch, encodeBatch, type Record } from './record.js';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const sharedDir = process.env.FJORD_SHARED ?? join(repoRoot, '..', 'shared');
const fixturesDir = join(sharedDir, 'kafka-fixtures');
const haveFixtures = existsSync(join(fixturesDir, 'index.json'));

interface IndexEntry {
  file: string;
  client: string;
  apiName: string;
  version: number;
  direction: string;
  variant?: string;
}

interface CapturedBatch {
  file: string;
  client: string;
  codecName: string;
  topic: string;
  records: Buffer;
  span: BatchSpan;
}

function str16(buf: Buffer, pos: number): [string | null, number] {
  const n = buf.readInt16BE(pos);
  if (n < 0) return [null, pos + 2];
  return [buf.toString('utf8', pos + 2, pos + 2 + n), pos + 2 + n];
}

/** Produce v7 request: header v1, then transactionalId, acks, timeout, topics[partitions[records]]. */
function batchesOf(entry: IndexEntry): CapturedBatch[] {
  const buf = readFileSync(join(fixturesDir, entry.file));
  assert.equal(buf.readInt16BE(0), 0, 'api key Produce');
  assert.equal(buf.readInt16BE(2), 7, 'api version 7');
  let pos = 8;
  [, pos] = str16(buf, pos); // client id
  [, pos] = str16(buf, pos); // transactional id
  pos += 2 + 4; // acks, timeout
  const out: CapturedBatch[] = [];
  const topics = buf.readInt32BE(pos);
  pos += 4;
  for (let t = 0; t < topics; t++) {
    let topic: string | null;
    [topic, pos] = str16(buf, pos);
    const partitions = buf.readInt32BE(pos);
    pos += 4;
    for (let p = 0; p < partitions; p++) {
      const length = buf.readInt32BE(pos + 4);
      pos += 8;
      const records = buf.subarray(pos, pos + length);
      pos += length;
      const codecName = entry.variant!.replace(/^acks0-/, '');
      for (const span of splitBatches(records)) out.push({ file: entry.file, client: entry.client, codecName, topic: topic!, records, span });
    }
  }
  assert.equal(pos, buf.length, `${entry.file}: the whole request was walked`);
  return out;
}

function loadAll(): CapturedBatch[] {
  const index = JSON.parse(readFileSync(join(fixturesDir, 'index.json'), 'utf8')) as { files: IndexEntry[] };
  return index.files.filter((f) => f.apiName === 'Produce' && f.direction === 'request' && f.version === 7).flatMap(batchesOf);
}

const text = (b: Buffer | null): string | null => (b === null ? null : b.toString('utf8'));
const headerValue = (r: Record, key: string): string | null | undefined => {
  const h = r.headers.find((x) => x.key === key);
  return h === undefined ? undefined : text(h.value);
};

/** What the capture drivers sent, as far as each record shows it. */
function checkRecordContent(b: CapturedBatch, records: Record[]): void {
  const where = `${b.file} ${b.topic}`;
  for (const r of records) {
    const key = text(r.key);
    const value = text(r.value);
    assert.notEqual(value, null, `${where}: drivers sent no tombstones`);
    assert.ok(r.timestamp >= 1700000000000n && r.timestamp < 1900000000000n, `${where}: timestamp ${r.timestamp}`);
    // Header "codec" (kcat, kafka-python) or "tag" (kafkajs) names the codec of the batch.
    const named = headerValue(r, 'codec') ?? headerValue(r, 'tag');
    if (named !== undefined) {
      const expected = b.codecName === 'none' ? ['none', 'None', 'txn'] : [b.codecName];
      assert.ok(expected.includes(named!), `${where}: header names codec ${named}, batch is ${b.codecName}`);
    }
    const numbered = key === null ? null : /^(?:key|k)(\d+)$/.exec(key);
    if (numbered !== null) {
      const n = numbered[1]!;
      // kcat's third record is a JSON document; every other numbered value starts with its number.
      if (b.client === 'kcat' && key === 'k3') assert.deepEqual(JSON.parse(value!), { json: true });
      else assert.match(value!, new RegExp(`^(?:val|v)${n}-`), `${where}: key ${key} / value ${value}`);
      if (b.client !== 'kcat') {
        // confluent, kafka-python and kafkajs drivers set explicit timestamps 1700000000000 + n.
        assert.equal(r.timestamp, 1700000000000n + BigInt(n), `${where}: ${key}`);
        assert.equal(headerValue(r, 'h1'), 'v1', `${where}: header h1`);
      }
      if (b.client === 'confluent') assert.equal(headerValue(r, 'seq'), n);
      if (b.codecName !== 'none' && b.client !== 'kafka-python' && key !== 'k3') assert.ok(value!.includes(`-${b.codecName}-`), `${where}: ${value}`);
    }
    // The drivers' long values are a short prefix then 'abcdefgh' 30 times (240 bytes).
    const filler = value!.indexOf('abcdefgh');
    if (filler >= 0) assert.equal(value!.slice(filler), 'abcdefgh'.repeat(30), `${where}: value filler`);
  }
}

test('Produce fixtures: every client batch passes CRC and validation, and decodes to what the drivers sent', (t) => {
  if (!haveFixtures) {
    t.skip(`no fixtures at ${fixturesDir} (set FJORD_SHARED)`);
    return;
  }
  const batches = loadAll();
  const seen = new Set<string>();
  for (const b of batches) {
    const { records: blob, span } = b;
    assert.ok(batchCrcValid(blob, span.pos, span.size), `${b.file}: CRC`);
    const valid = validateBatchForAppend(blob, span, { maxMessageBytes: 1024 * 1024 });
    assert.ok(valid.ok, `${b.file}: ${valid.ok ? '' : valid.message}`);
    const attrs = decodeAttributes(span.header.attributes);
    assert.equal(compressionName(attrs.compression), b.codecName, `${b.file}: codec attribute`);
    const { header, records } = decodeBatch(blob, span.pos);
    assert.equal(records.length, header.recordsCount);
    assert.deepEqual(records.map((r) => r.offsetDelta), records.map((_, i) => i));
    assert.deepEqual(records.map((r) => r.offset), records.map((_, i) => BigInt(i)));
    assert.equal(header.baseTimestamp, records[0]!.timestamp, `${b.file}: baseTimestamp is the first record's`);
    assert.equal(header.maxTimestamp, records.reduce((m, r) => (r.timestamp > m ? r.timestamp : m), -1n), `${b.file}: maxTimestamp`);
    checkRecordContent(b, records);
    seen.add(`${b.client}/${b.codecName}`);
  }
  // Every codec each client supports was exercised (kafkajs has no zstd codec installed).
  for (const client of ['kcat', 'confluent', 'kafka-python', 'kafkajs']) {
    for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
      if (client === 'kafkajs' && codec === 'zstd') continue;
      assert.ok(seen.has(`${client}/${codec}`), `missing ${client}/${codec}`);
    }
  }
});

test('Produce fixtures: what each client writes for snappy and lz4', (t) => {
  if (!haveFixtures) {
    t.skip(`no fixtures at ${fixturesDir}`);
    return;
  }
  const payloadOf = (b: CapturedBatch): Buffer => b.records.subarray(b.span.pos + BATCH_HEADER_BYTES, b.span.pos + b.span.size);
  const xerial = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
  // (`Record` in this file is the Kafka record type, hence plain index signatures.)
  const snappyForm: { [client: string]: Set<string> } = {};
  const lz4Descriptor: { [client: string]: Set<string> } = {};
  for (const b of loadAll()) {
    const payload = payloadOf(b);
    if (b.codecName === 'snappy') (snappyForm[b.client] ??= new Set()).add(payload.subarray(0, 8).equals(xerial) ? 'xerial' : 'raw');
    if (b.codecName === 'lz4') (lz4Descriptor[b.client] ??= new Set()).add(`FLG=${payload[4]!.toString(16)} BD=${payload[5]!.toString(16)}`);
  }
  const flat = (m: { [client: string]: Set<string> }) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, [...v].sort()]));
  assert.deepEqual(flat(snappyForm), { kcat: ['raw'], confluent: ['raw'], 'kafka-python': ['xerial'], kafkajs: ['raw'] });
  assert.deepEqual(flat(lz4Descriptor), {
    kcat: ['FLG=60 BD=40'], // independent 64 KiB blocks, as Java
    confluent: ['FLG=60 BD=40'],
    'kafka-python': ['FLG=68 BD=40'], // + content size
    kafkajs: ['FLG=64 BD=70'], // + content checksum, 4 MiB blocks
  });
});

test('Produce fixtures: re-encoding at the same offsets gives the same records (and bytes, uncompressed)', (t) => {
  if (!haveFixtures) {
    t.skip(`no fixtures at ${fixturesDir}`);
    return;
  }
  for (const b of loadAll()) {
    const original = b.records.subarray(b.span.pos, b.span.pos + b.span.size);
    const { header, records } = decodeBatch(original);
    const attrs = decodeAttributes(header.attributes);
    const again = encodeBatch({
      baseOffset: header.baseOffset,
      partitionLeaderEpoch: header.partitionLeaderEpoch,
      compression: attrs.compression,
      timestampType: attrs.timestampType,
      isTransactional: attrs.isTransactional,
      producerId: header.producerId,
      producerEpoch: header.producerEpoch,
      baseSequence: header.baseSequence,
      baseTimestamp: header.baseTimestamp,
      records: records.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp, offsetDelta: r.offsetDelta })),
    });
    assert.deepEqual(decodeBatch(again).records, records, b.file);
    // The uncompressed record sections are byte-identical: zig-zag varints have one encoding.
    const sectionOf = (batch: Buffer) => decompress(attrs.compression, batch.subarray(BATCH_HEADER_BYTES), 1 << 24);
    assert.ok(sectionOf(again).equals(sectionOf(original)), `${b.file}: record bytes`);
    if (attrs.compression === 0) assert.ok(again.equals(original), `${b.file}: whole batch`);
  }
});
