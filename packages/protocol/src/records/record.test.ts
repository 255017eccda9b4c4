import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecodeError, EncodeError } from '../decode-error.js';
import { UnsupportedCompressionError } from '../compression/codec.js';
import {
  ATTRIBUTES_OFFSET,
  BATCH_HEADER_BYTES,
  CONTROL_FLAG_MASK,
  CRC_OFFSET,
  CompressionType,
  CorruptBatchError,
  DELETE_HORIZON_FLAG_MASK,
  RECORDS_COUNT_OFFSET,
  TRANSACTIONAL_FLAG_MASK,
  batchCrcValid,
  computeBatchCrc,
  readBatchHeader,
  splitBatches,
  validateBatchForAppend,
} from './batch.js';
import {
  ControlRecordType,
  decodeBatch,
  decodeBatchRecords,
  encodeBatch,
  encodeControlBatch,
  encodeEmptyBatch,
  readControlRecordType,
  readEndTxnMarker,
  type EncodeRecordInput,
  type Record,
} from './record.js';

const CODECS = [CompressionType.none, CompressionType.gzip, CompressionType.snappy, CompressionType.lz4, CompressionType.zstd];

/** A large, compressible value: numbered lines, like a log file. */
function bigValue(bytes: number): Buffer {
  const lines: string[] = [];
  let length = 0;
  for (let i = 0; length < bytes; i++) {
    const line = `line ${i}: status=ok latency_ms=${(i * 7919) % 1000}\n`;
    lines.push(line);
    length += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

const RECORDS: EncodeRecordInput[] = [
  { key: 'key-0', value: 'value-0', timestamp: 1700000000000n, headers: [{ key: 'trace', value: 'abc' }] },
  { key: null, value: 'no key', timestamp: 1700000000005n },
  { key: Buffer.from([0, 1, 2, 255]), value: null, timestamp: 1699999999000n }, // tombstone, earlier timestamp
  { key: '', value: '', timestamp: 1700000000003n, headers: [{ key: 'null-header', value: null }, { key: 'é ü', value: Buffer.alloc(0) }] },
  { key: 'big', value: bigValue(900 * 1024), timestamp: 1700000000004n, headers: [{ key: 'h', value: 'v' }] },
];

function asBuffer(x: Buffer | string | null | undefined): Buffer | null {
  if (x === undefined || x === null) return null;
  return typeof x === 'string' ? Buffer.from(x) : x;
}

function assertRecordsMatch(decoded: Record[], input: EncodeRecordInput[], baseOffset: bigint): void {
  assert.equal(decoded.length, input.length);
  input.forEach((want, i) => {
    const got = decoded[i]!;
    assert.equal(got.offset, baseOffset + BigInt(want.offsetDelta ?? i));
    assert.equal(got.timestamp, want.timestamp);
    assert.deepEqual(got.key, asBuffer(want.key));
    assert.deepEqual(got.value, asBuffer(want.value));
    assert.deepEqual(
      got.headers,
      (want.headers ?? []).map((h) => ({ key: h.key, value: asBuffer(h.value) })),
    );
    assert.equal(got.attributes, 0);
  });
}

for (const codec of CODECS) {
  test(`codec ${codec}: encode/decode round trip with keys, null keys, tombstones, null header values, timestamps and a 900 KB value`, () => {
    const buf = encodeBatch({ baseOffset: 1000n, compression: codec, records: RECORDS });
    assert.ok(batchCrcValid(buf, 0, buf.length));
    const { header, records } = decodeBatch(buf);
    assert.equal(header.attributes, codec);
    assert.equal(header.recordsCount, RECORDS.length);
    assert.equal(header.lastOffsetDelta, RECORDS.length - 1);
    assert.equal(header.baseTimestamp, 1700000000000n, 'the first record sets baseTimestamp');
    assert.equal(header.maxTimestamp, 1700000000005n);
    assertRecordsMatch(records, RECORDS, 1000n);
    assert.equal(records[2]!.timestampDelta, -1000n);
    // It is also a batch the append path accepts as it stands (max.message.bytes big enough).
    const valid = validateBatchForAppend(buf, splitBatches(buf)[0]!, { maxMessageBytes: 2 * 1024 * 1024, origin: 'replication' });
    assert.ok(valid.ok);
    if (codec !== CompressionType.none) assert.ok(buf.length < 900 * 1024, 'the 900 KB value compressed');
  });
}

test('encodeBatch rejects an empty batch, non-increasing offset deltas and out-of-range fields', () => {
  assert.throws(() => encodeBatch({ records: [] }), EncodeError);
  assert.throws(() => encodeBatch({ records: [{ offsetDelta: 1 }, { offsetDelta: 1 }] }), EncodeError);
  assert.throws(() => encodeBatch({ records: [{ offsetDelta: -1 }] }), EncodeError);
  assert.throws(() => encodeBatch({ records: [{ offsetDelta: 3 }], lastOffsetDelta: 2 }), EncodeError);
  assert.throws(() => encodeBatch({ producerEpoch: 40000, records: [{}] }), EncodeError);
  assert.throws(() => encodeBatch({ compression: 5, records: [{}] }), EncodeError);
  assert.throws(() => encodeBatch({ records: [{ timestamp: 1n << 63n }] }), EncodeError);
});

test('encodeBatch defaults: producer fields -1, baseOffset 0, timestamps from baseTimestamp, no clock', () => {
  const buf = encodeBatch({ records: [{ value: 'a' }, { value: 'b' }] });
  const h = readBatchHeader(buf);
  assert.equal(h.baseOffset, 0n);
  assert.equal(h.partitionLeaderEpoch, -1);
  assert.equal(h.producerId, -1n);
  assert.equal(h.producerEpoch, -1);
  assert.equal(h.baseSequence, -1);
  assert.equal(h.baseTimestamp, -1n);
  assert.equal(h.maxTimestamp, -1n);
  assert.ok(buf.equals(encodeBatch({ records: [{ value: 'a' }, { value: 'b' }] })), 'deterministic');
  const based = decodeBatch(encodeBatch({ baseTimestamp: 77n, records: [{ value: 'a' }, { value: 'b', timestamp: 80n }] }));
  assert.deepEqual(based.records.map((r) => r.timestamp), [77n, 80n]);
});

test('compaction shapes: kept offset gaps, lastOffsetDelta override, delete horizon, empty batch', () => {
  const buf = encodeBatch({
    baseOffset: 500n,
    deleteHorizonMs: 1800000000000n,
    lastOffsetDelta: 9,
    records: [
      { key: 'a', value: 'x', offsetDelta: 2, timestamp: 1700000000000n },
      { key: 'b', value: null, offsetDelta: 7, timestamp: 1700000000100n },
    ],
  });
  const { header, records } = decodeBatch(buf);
  assert.equal(header.attributes & DELETE_HORIZON_FLAG_MASK, DELETE_HORIZON_FLAG_MASK);
  assert.equal(header.baseTimestamp, 1800000000000n, 'baseTimestamp holds the delete horizon');
  assert.equal(header.lastOffsetDelta, 9);
  assert.deepEqual(records.map((r) => r.offset), [502n, 507n]);
  assert.deepEqual(records.map((r) => r.timestamp), [1700000000000n, 1700000000100n]);
  // Kafka checks count == lastOffsetDelta + 1 only for client appends.
  const span = splitBatches(buf)[0]!;
  assert.equal(validateBatchForAppend(buf, span, { maxMessageBytes: 1e6 }).ok, false);
  assert.equal(validateBatchForAppend(buf, span, { maxMessageBytes: 1e6, origin: 'replication' }).ok, true);

  const empty = encodeEmptyBatch({ baseOffset: 509n, lastOffsetDelta: 0, producerId: 7n, producerEpoch: 2, baseSequence: 40, timestamp: 1700000000100n, isTransactional: true });
  const decoded = decodeBatch(empty);
  assert.equal(empty.length, BATCH_HEADER_BYTES);
  assert.equal(decoded.header.recordsCount, 0);
  assert.equal(decoded.header.producerId, 7n);
  assert.equal(decoded.header.attributes & TRANSACTIONAL_FLAG_MASK, TRANSACTIONAL_FLAG_MASK);
  assert.deepEqual(decoded.records, []);
});

test('an empty batch with a compression attribute and no payload decodes without decompressing (as Kafka writes them)', () => {
  const empty = encodeEmptyBatch({ baseOffset: 0n, lastOffsetDelta: 3, producerId: 1n, producerEpoch: 0, baseSequence: 0, timestamp: 0n });
  empty.writeInt16BE(CompressionType.zstd, ATTRIBUTES_OFFSET);
  empty.writeUInt32BE(computeBatchCrc(empty, 0, empty.length), CRC_OFFSET);
  assert.deepEqual(decodeBatch(empty).records, []);
});

test('LogAppendTime batches report maxTimestamp for every record', () => {
  const buf = encodeBatch({ timestampType: 'logAppend', records: [{ timestamp: 10n }, { timestamp: 30n }, { timestamp: 20n }] });
  assert.deepEqual(decodeBatch(buf).records.map((r) => r.timestamp), [30n, 30n, 30n]);
});

test('control batches: COMMIT and ABORT markers as Kafka writes them', () => {
  for (const type of ['COMMIT', 'ABORT'] as const) {
    const buf = encodeControlBatch({ type, coordinatorEpoch: 17, producerId: 4000n, producerEpoch: 3, baseOffset: 88n, timestamp: 1700000000000n, partitionLeaderEpoch: 5 });
    const { header, records } = decodeBatch(buf);
    assert.equal(header.attributes, TRANSACTIONAL_FLAG_MASK | CONTROL_FLAG_MASK);
    assert.equal(header.baseSequence, -1);
    assert.equal(header.producerId, 4000n);
    assert.equal(header.producerEpoch, 3);
    assert.equal(header.partitionLeaderEpoch, 5);
    assert.equal(records.length, 1);
    const marker = records[0]!;
    assert.equal(marker.offset, 88n);
    assert.equal(marker.timestamp, 1700000000000n);
    assert.deepEqual([...marker.key!], [0, 0, 0, type === 'COMMIT' ? 1 : 0]);
    assert.deepEqual([...marker.value!], [0, 0, 0, 0, 0, 17]);
    assert.equal(readControlRecordType(marker), ControlRecordType[type]);
    assert.deepEqual(readEndTxnMarker(marker), { version: 0, coordinatorEpoch: 17 });
  }
});

test('control record readers reject short keys and negative versions, and pass unknown types through', () => {
  assert.throws(() => readControlRecordType({ key: null }), DecodeError);
  assert.throws(() => readControlRecordType({ key: Buffer.from([0, 0, 0]) }), DecodeError);
  assert.throws(() => readControlRecordType({ key: Buffer.from([0xff, 0xff, 0, 1]) }), DecodeError);
  assert.equal(readControlRecordType({ key: Buffer.from([0, 1, 0, 42, 9, 9]) }), 42, 'later key versions: first 4 bytes');
  assert.throws(() => readEndTxnMarker({ value: Buffer.from([0, 0, 0, 0, 1]) }), DecodeError);
  assert.throws(() => readEndTxnMarker({ value: Buffer.from([0x80, 0, 0, 0, 0, 1]) }), DecodeError);
});

function recrc(buf: Buffer): Buffer {
  buf.writeUInt32BE(computeBatchCrc(buf, 0, buf.length), CRC_OFFSET);
  return buf;
}

test('decodeBatch rejects malformed batches with DecodeErrors that locate the problem', () => {
  const good = encodeBatch({ records: [{ key: 'k', value: 'value-number-1' }, { key: 'k2', value: 'value-number-2' }] });
  const crc = Buffer.from(good);
  crc[crc.length - 2]! ^= 1; // the last character of the last value; the final byte is its header count
  assert.throws(() => decodeBatch(crc), (e: unknown) => e instanceof CorruptBatchError && /CRC/.test(e.message));
  assert.equal(decodeBatch(crc, 0, { verifyCrc: false }).records[1]!.value!.toString(), 'value-number-3');
  assert.throws(() => decodeBatch(good.subarray(0, good.length - 1)), /truncated/);
  const more = Buffer.from(good);
  more.writeInt32BE(3, RECORDS_COUNT_OFFSET);
  assert.throws(() => decodeBatch(recrc(more)), (e: unknown) => e instanceof CorruptBatchError && /records\[2\]/.test(e.path));
  const fewer = Buffer.from(good);
  fewer.writeInt32BE(1, RECORDS_COUNT_OFFSET);
  assert.throws(() => decodeBatch(recrc(fewer)), /remain after 1 records/);
  const absurd = Buffer.from(good);
  absurd.writeInt32BE(0x7fffffff, RECORDS_COUNT_OFFSET);
  assert.throws(() => decodeBatch(recrc(absurd)), /cannot fit/);
  const negative = Buffer.from(good);
  negative.writeInt32BE(-1, RECORDS_COUNT_OFFSET);
  assert.throws(() => decodeBatch(recrc(negative)), /negative/);
  const codec7 = Buffer.from(good);
  codec7.writeInt16BE(7, ATTRIBUTES_OFFSET);
  assert.throws(() => decodeBatch(recrc(codec7)), UnsupportedCompressionError);
  // A key length pointing past its record: byte 65 is the first record's key length (zig-zag 1 => 2).
  const key = Buffer.from(good);
  assert.equal(key[BATCH_HEADER_BYTES + 4], 2);
  key[BATCH_HEADER_BYTES + 4] = 0x7e;
  assert.throws(() => decodeBatch(recrc(key)), (e: unknown) => e instanceof CorruptBatchError && e.offset === BATCH_HEADER_BYTES + 4);
});

test('decodeBatch caps decompression at maxDecompressedBytes', () => {
  const buf = encodeBatch({ compression: CompressionType.gzip, records: [{ value: Buffer.alloc(4 * 1024 * 1024) }] });
  assert.ok(buf.length < 64 * 1024);
  assert.throws(() => decodeBatch(buf, 0, { maxDecompressedBytes: 1024 * 1024 }), (e: unknown) => e instanceof DecodeError && /limit/.test(e.message));
  assert.equal(decodeBatch(buf).records[0]!.value!.length, 4 * 1024 * 1024);
});

test('decodeBatch reads a batch at an offset inside a larger buffer and returns views into it', () => {
  const a = encodeBatch({ records: [{ value: 'first' }] });
  const b = encodeBatch({ baseOffset: 1n, records: [{ value: 'second' }] });
  const blob = Buffer.concat([a, b]);
  const { records } = decodeBatch(blob, a.length);
  assert.equal(records[0]!.value!.toString(), 'second');
  assert.equal(records[0]!.value!.buffer, blob.buffer, 'uncompressed values are views, not copies');
});

test('decodeBatchRecords hands each record to the visitor: fields, headers in its own shape, the batch header', () => {
  const baseOffset = 2n ** 60n;
  const buf = encodeBatch({
    baseOffset,
    baseTimestamp: 1_700_000_000_000n,
    compression: CompressionType.gzip,
    records: [
      { key: 'a', value: 'x', timestamp: 1_700_000_000_007n, headers: [{ key: 'h1', value: 'v' }, { key: 'h1', value: null }] },
      { key: null, value: null, timestamp: 1_700_000_000_000n + 2n ** 60n, offsetDelta: 5 }, // a delta past 2^53: a bigint
    ],
  });
  const seen: Array<{ offsetDelta: number; timestampDelta: number | bigint; key: string | null; value: string | null; headers: string[]; headersArray: string[]; base: bigint }> = [];
  const header = decodeBatchRecords(buf, 0, {}, {
    header: (key, value) => `${key}=${value?.toString() ?? 'null'}`,
    record: (f, batch) => {
      seen.push({ offsetDelta: f.offsetDelta, timestampDelta: f.timestampDelta, key: f.key?.toString() ?? null, value: f.value?.toString() ?? null, headers: f.headers, headersArray: [...f.headers], base: batch.baseOffset });
    },
  });
  assert.equal(header.baseOffset, baseOffset);
  assert.equal(header.recordsCount, 2);
  assert.deepEqual(seen, [
    { offsetDelta: 0, timestampDelta: 7, key: 'a', value: 'x', headers: ['h1=v', 'h1=null'], headersArray: ['h1=v', 'h1=null'], base: baseOffset },
    { offsetDelta: 5, timestampDelta: 2n ** 60n, key: null, value: null, headers: [], headersArray: [], base: baseOffset },
  ]);
  assert.notEqual(seen[0]!.headers, seen[1]!.headers, 'each record has its own headers array');
  // A header the caller read already is used, not read again.
  const read = readBatchHeader(buf, 0);
  const offsets: bigint[] = [];
  assert.equal(decodeBatchRecords(buf, 0, { header: read }, { header: () => 0, record: (f, batch) => offsets.push(batch.baseOffset + BigInt(f.offsetDelta)) }), read);
  assert.deepEqual(offsets, [baseOffset, baseOffset + 5n]);
});

test('decodeBatchRecords and decodeBatch fail alike on malformed batches (one record loop)', () => {
  const good = encodeBatch({ records: [{ key: 'k', value: 'value-number-1', headers: [{ key: 'h', value: 'v' }] }, { key: 'k2', value: 'value-number-2' }] });
  const visitor = { header: () => 0, record: () => {} };
  const cases: Buffer[] = [];
  const crc = Buffer.from(good);
  crc[crc.length - 2]! ^= 1;
  cases.push(crc, good.subarray(0, good.length - 1));
  for (const count of [3, 1, 0x7fffffff, -1]) {
    const b = Buffer.from(good);
    b.writeInt32BE(count, RECORDS_COUNT_OFFSET);
    cases.push(recrc(b));
  }
  for (let at = BATCH_HEADER_BYTES; at < good.length; at++) {
    const b = Buffer.from(good);
    b[at] = 0x7e;
    cases.push(recrc(b));
  }
  let failures = 0;
  for (const bad of cases) {
    let want: unknown;
    try {
      decodeBatch(bad);
    } catch (e) {
      want = e;
    }
    let got: unknown;
    try {
      decodeBatchRecords(bad, 0, {}, visitor);
    } catch (e) {
      got = e;
    }
    if (want === undefined) {
      assert.equal(got, undefined);
      continue;
    }
    failures++;
    assert.ok(got instanceof DecodeError, `${String(got)}`);
    const w = want as DecodeError;
    assert.deepEqual([got.constructor, got.message, got.offset, got.path], [w.constructor, w.message, w.offset, w.path]);
  }
  assert.ok(failures > 10, `${failures} malformed cases`);
});
