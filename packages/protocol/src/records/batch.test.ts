import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecodeError } from '../decode-error.js';
import {
  ATTRIBUTES_OFFSET,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_OFFSET,
  BASE_SEQUENCE_OFFSET,
  CRC_OFFSET,
  CompressionType,
  CorruptBatchError,
  LAST_OFFSET_DELTA_OFFSET,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORDS_COUNT_OFFSET,
  TIMESTAMP_TYPE_MASK,
  UnsupportedMagicError,
  batchCrcValid,
  batchErrorName,
  batchLastOffset,
  batchSize,
  computeBatchCrc,
  readBatchHeader,
  readMagic,
  scanBatches,
  setBaseOffset,
  setLogAppendTime,
  setPartitionLeaderEpoch,
  splitBatches,
  validateBatchForAppend,
  type BatchSpan,
  type ValidationResult,
} from './batch.js';
import { decodeBatch, encodeBatch, encodeControlBatch } from './record.js';

function batch(records = 3, extra: Partial<Parameters<typeof encodeBatch>[0]> = {}): Buffer {
  return encodeBatch({
    baseTimestamp: 1700000000000n,
    records: Array.from({ length: records }, (_, i) => ({ key: `k${i}`, value: `value-${i}`, timestamp: 1700000000000n + BigInt(i) })),
    ...extra,
  });
}

/** Recomputes the CRC after a test edits a field inside it. */
function fixCrc(buf: Buffer, pos = 0): Buffer {
  buf.writeUInt32BE(computeBatchCrc(buf, pos, batchSize(buf, pos)), pos + CRC_OFFSET);
  return buf;
}

function spanOf(buf: Buffer): BatchSpan {
  return { pos: 0, size: buf.length, header: readBatchHeader(buf) };
}

function expectError(result: ValidationResult, error: string, pattern?: RegExp): void {
  assert.equal(result.ok, false, 'expected a rejection');
  if (result.ok) return;
  assert.equal(result.error, error, result.message);
  if (pattern) assert.match(result.message, pattern);
}

const LIMITS = { maxMessageBytes: 1024 * 1024 };

test('readBatchHeader reads every field of an encoded batch', () => {
  const buf = encodeBatch({
    baseOffset: 42n,
    partitionLeaderEpoch: 7,
    compression: CompressionType.gzip,
    timestampType: 'create',
    isTransactional: true,
    producerId: 1234n,
    producerEpoch: 5,
    baseSequence: 99,
    baseTimestamp: 1000n,
    records: [{ value: 'a', timestamp: 1000n }, { value: 'b', timestamp: 3000n }, { value: 'c', timestamp: 2000n }],
  });
  const h = readBatchHeader(buf);
  assert.equal(h.baseOffset, 42n);
  assert.equal(h.batchLength, buf.length - 12);
  assert.equal(h.partitionLeaderEpoch, 7);
  assert.equal(h.magic, 2);
  assert.equal(h.crc, computeBatchCrc(buf, 0, buf.length));
  assert.equal(h.attributes, CompressionType.gzip | 0x10);
  assert.equal(h.lastOffsetDelta, 2);
  assert.equal(h.baseTimestamp, 1000n);
  assert.equal(h.maxTimestamp, 3000n);
  assert.equal(h.producerId, 1234n);
  assert.equal(h.producerEpoch, 5);
  assert.equal(h.baseSequence, 99);
  assert.equal(h.recordsCount, 3);
  assert.equal(batchLastOffset(h), 44n);
  assert.equal(batchSize(buf, 0), buf.length);
  assert.equal(readMagic(buf, 0), 2);
});

test('readBatchHeader: short buffers and other magics are DecodeErrors', () => {
  const buf = batch();
  assert.throws(() => readBatchHeader(buf.subarray(0, BATCH_HEADER_BYTES - 1)), CorruptBatchError);
  const v1 = Buffer.from(buf);
  v1[MAGIC_OFFSET] = 1;
  assert.throws(() => readBatchHeader(v1), (e: unknown) => e instanceof UnsupportedMagicError && e.magic === 1);
});

test('the CRC is CRC-32C over [21, end) and catches a flipped bit anywhere in that range', () => {
  const buf = batch();
  assert.ok(batchCrcValid(buf, 0, buf.length));
  // A size taken from a corrupt length field is just "not valid", never an exception.
  assert.equal(batchCrcValid(buf, 0, buf.length + 1), false);
  assert.equal(batchCrcValid(buf, 0, 12), false);
  assert.throws(() => computeBatchCrc(buf, 0, buf.length + 1), RangeError);
  for (const at of [ATTRIBUTES_OFFSET, LAST_OFFSET_DELTA_OFFSET, MAX_TIMESTAMP_OFFSET, RECORDS_COUNT_OFFSET, buf.length - 1]) {
    const bad = Buffer.from(buf);
    bad[at]! ^= 0x10;
    assert.equal(batchCrcValid(bad, 0, bad.length), false, `flip at ${at}`);
  }
});

test('setBaseOffset and setPartitionLeaderEpoch are outside the CRC; setLogAppendTime recomputes it', () => {
  const buf = batch(2);
  setBaseOffset(buf, 0, 1_000_000_000_000n);
  setPartitionLeaderEpoch(buf, 0, 12);
  assert.ok(batchCrcValid(buf, 0, buf.length));
  setLogAppendTime(buf, 0, buf.length, 1_800_000_000_000n);
  assert.ok(batchCrcValid(buf, 0, buf.length));
  const h = readBatchHeader(buf);
  assert.equal(h.baseOffset, 1_000_000_000_000n);
  assert.equal(h.partitionLeaderEpoch, 12);
  assert.equal(h.attributes & TIMESTAMP_TYPE_MASK, TIMESTAMP_TYPE_MASK);
  assert.equal(h.maxTimestamp, 1_800_000_000_000n);
  assert.equal(h.baseTimestamp, 1700000000000n, 'baseTimestamp is left alone, as in Kafka');
  // Readers now take every record's timestamp from maxTimestamp; offsets follow baseOffset.
  const { records } = decodeBatch(buf);
  assert.deepEqual(records.map((r) => r.timestamp), [1_800_000_000_000n, 1_800_000_000_000n]);
  assert.deepEqual(records.map((r) => r.offset), [1_000_000_000_000n, 1_000_000_000_001n]);
});

test('in-place rewrites work on a batch in the middle of a larger buffer', () => {
  const a = batch(1);
  const b = batch(2);
  const blob = Buffer.concat([a, b]);
  setLogAppendTime(blob, a.length, b.length, 5n);
  assert.ok(batchCrcValid(blob, 0, a.length));
  assert.ok(batchCrcValid(blob, a.length, b.length));
  assert.ok(blob.subarray(0, a.length).equals(a), 'the neighbour is untouched');
  assert.throws(() => setLogAppendTime(blob, a.length, b.length + 1, 5n), RangeError);
});

test('splitBatches walks batches back to back', () => {
  const parts = [batch(1), batch(5, { compression: CompressionType.lz4 }), batch(2)];
  const spans = splitBatches(Buffer.concat(parts));
  assert.deepEqual(
    spans.map((s) => [s.pos, s.size, s.header.recordsCount]),
    [
      [0, parts[0]!.length, 1],
      [parts[0]!.length, parts[1]!.length, 5],
      [parts[0]!.length + parts[1]!.length, parts[2]!.length, 2],
    ],
  );
  assert.deepEqual(splitBatches(Buffer.alloc(0)), []);
});

test('splitBatches: a partial trailing batch, a short batchLength and a legacy magic are errors with kinds', () => {
  const one = batch(2);
  const two = Buffer.concat([one, one]);
  for (const cut of [one.length + 1, one.length + 11, one.length + 12, one.length + 60, two.length - 1]) {
    assert.throws(
      () => splitBatches(two.subarray(0, cut)),
      (e: unknown) => e instanceof CorruptBatchError && batchErrorName(e) === 'CORRUPT_MESSAGE' && /partial/.test(e.message),
      `cut at ${cut}`,
    );
  }
  const short = Buffer.from(one);
  short.writeInt32BE(48, BATCH_LENGTH_OFFSET);
  assert.throws(() => splitBatches(short), (e: unknown) => e instanceof CorruptBatchError && /under the minimum 49/.test(e.message));
  const negative = Buffer.from(one);
  negative.writeInt32BE(-5, BATCH_LENGTH_OFFSET);
  assert.throws(() => splitBatches(negative), CorruptBatchError);
  for (const magic of [0, 1, 3]) {
    const legacy = Buffer.from(one);
    legacy[MAGIC_OFFSET] = magic;
    assert.throws(
      () => splitBatches(Buffer.concat([one, legacy])),
      (e: unknown) => e instanceof UnsupportedMagicError && e.magic === magic && batchErrorName(e) === 'UNSUPPORTED_FOR_MESSAGE_FORMAT' && e.offset === one.length + MAGIC_OFFSET,
    );
  }
  // A magic-1 message set: offset, size 26, crc, magic 1, attributes, timestamp, key -1, value -1.
  const v1 = Buffer.alloc(12 + 22);
  v1.writeInt32BE(22, 8);
  v1[16] = 1;
  assert.throws(() => splitBatches(v1), UnsupportedMagicError);
});

test('validateBatchForAppend accepts what real producers send and returns the header fields', () => {
  const buf = batch(3, { compression: CompressionType.zstd, producerId: 5n, producerEpoch: 1, baseSequence: 0, isTransactional: true });
  const result = validateBatchForAppend(buf, spanOf(buf), LIMITS);
  assert.ok(result.ok);
  assert.equal(result.recordsCount, 3);
  assert.equal(result.lastOffsetDelta, 2);
  assert.equal(result.maxTimestamp, 1700000000002n);
  assert.equal(result.baseTimestamp, 1700000000000n);
  assert.equal(result.compression, CompressionType.zstd);
  assert.equal(result.timestampType, 'create');
  assert.equal(result.isTransactional, true);
  assert.equal(result.isControl, false);
  assert.equal(result.producerId, 5n);
  assert.equal(result.producerEpoch, 1);
  assert.equal(result.baseSequence, 0);
  assert.equal(result.size, buf.length);
});

test('validateBatchForAppend: MESSAGE_TOO_LARGE compares the whole batch size with max.message.bytes', () => {
  const buf = batch(3);
  assert.ok(validateBatchForAppend(buf, spanOf(buf), { maxMessageBytes: buf.length }).ok);
  expectError(validateBatchForAppend(buf, spanOf(buf), { maxMessageBytes: buf.length - 1 }), 'MESSAGE_TOO_LARGE');
});

test('validateBatchForAppend: CORRUPT_MESSAGE for a CRC mismatch or inconsistent lengths', () => {
  const buf = batch(3);
  const flipped = Buffer.from(buf);
  flipped[buf.length - 2]! ^= 1;
  expectError(validateBatchForAppend(flipped, spanOf(flipped), LIMITS), 'CORRUPT_MESSAGE', /CRC/);
  expectError(validateBatchForAppend(buf, { ...spanOf(buf), size: buf.length - 1 }, LIMITS), 'CORRUPT_MESSAGE');
  expectError(validateBatchForAppend(buf, { ...spanOf(buf), size: buf.length + 1 }, LIMITS), 'CORRUPT_MESSAGE');
  expectError(validateBatchForAppend(buf.subarray(0, 40), { ...spanOf(buf), size: 40 }, LIMITS), 'CORRUPT_MESSAGE');
});

test('validateBatchForAppend: UNSUPPORTED_FOR_MESSAGE_FORMAT and UNSUPPORTED_COMPRESSION_TYPE', () => {
  const v1 = batch(1);
  v1[MAGIC_OFFSET] = 1;
  expectError(validateBatchForAppend(v1, { pos: 0, size: v1.length, header: readBatchHeader(batch(1)) }, LIMITS), 'UNSUPPORTED_FOR_MESSAGE_FORMAT');
  const codec6 = batch(1);
  codec6.writeInt16BE(6, ATTRIBUTES_OFFSET);
  fixCrc(codec6);
  expectError(validateBatchForAppend(codec6, spanOf(codec6), LIMITS), 'UNSUPPORTED_COMPRESSION_TYPE');
});

test('validateBatchForAppend: INVALID_RECORD for the client checks of Kafka LogValidator', () => {
  // lastOffsetDelta must equal recordsCount - 1, compressed or not.
  for (const codec of [CompressionType.none, CompressionType.snappy]) {
    const gap = batch(3, { compression: codec, lastOffsetDelta: 5 });
    expectError(validateBatchForAppend(gap, spanOf(gap), LIMITS), 'INVALID_RECORD', /inconsistent/);
    // ...but a follower appending the leader's (compacted) batches keeps its offset range.
    assert.ok(validateBatchForAppend(gap, spanOf(gap), { ...LIMITS, origin: 'replication' }).ok);
  }
  const empty = batch(1);
  empty.writeInt32BE(0, RECORDS_COUNT_OFFSET);
  empty.writeInt32BE(-1, LAST_OFFSET_DELTA_OFFSET);
  fixCrc(empty);
  expectError(validateBatchForAppend(empty, spanOf(empty), LIMITS), 'INVALID_RECORD');
  const control = encodeControlBatch({ type: 'COMMIT', coordinatorEpoch: 1, producerId: 9n, producerEpoch: 0, baseOffset: 0n, timestamp: 1n, partitionLeaderEpoch: 0 });
  expectError(validateBatchForAppend(control, spanOf(control), LIMITS), 'INVALID_RECORD', /control/);
  const noSequence = batch(1, { producerId: 9n, producerEpoch: 0 });
  expectError(validateBatchForAppend(noSequence, spanOf(noSequence), LIMITS), 'INVALID_RECORD', /sequence/);
  const offset = batch(1, { baseOffset: 10n });
  expectError(validateBatchForAppend(offset, spanOf(offset), LIMITS), 'INVALID_RECORD', /baseOffset/);
  assert.ok(validateBatchForAppend(offset, spanOf(offset), { ...LIMITS, origin: 'replication' }).ok);
  // An uncompressed batch cannot hold more records than 7 bytes each allow.
  const crowded = batch(2);
  crowded.writeInt32BE(100, RECORDS_COUNT_OFFSET);
  crowded.writeInt32BE(99, LAST_OFFSET_DELTA_OFFSET);
  fixCrc(crowded);
  expectError(validateBatchForAppend(crowded, spanOf(crowded), LIMITS), 'INVALID_RECORD', /cannot fit/);
});

test('validateBatchForAppend never looks inside the payload: garbage with a valid CRC passes', () => {
  // A 1 MiB "lz4" payload that is not lz4 at all, and an uncompressed one that is not records.
  // Both pass because validation is the header plus one CRC pass: no decompression, no record walk.
  for (const codec of [CompressionType.lz4, CompressionType.none]) {
    const buf = Buffer.alloc(BATCH_HEADER_BYTES + 1024 * 1024, 0x5a);
    buf.fill(0, 0, BATCH_HEADER_BYTES);
    buf.writeInt32BE(buf.length - 12, BATCH_LENGTH_OFFSET);
    buf[MAGIC_OFFSET] = 2;
    buf.writeInt16BE(codec, ATTRIBUTES_OFFSET);
    buf.writeInt32BE(9, LAST_OFFSET_DELTA_OFFSET);
    buf.writeBigInt64BE(-1n, PRODUCER_ID_OFFSET);
    buf.writeInt32BE(-1, BASE_SEQUENCE_OFFSET);
    buf.writeInt32BE(10, RECORDS_COUNT_OFFSET);
    fixCrc(buf);
    const result = validateBatchForAppend(buf, spanOf(buf), { maxMessageBytes: 2 * 1024 * 1024 });
    assert.ok(result.ok, result.ok ? '' : result.message);
    assert.throws(() => decodeBatch(buf), DecodeError, 'while decoding does look, and fails');
  }
});

test('scanBatches visits valid batches and stops at a torn tail without throwing', () => {
  const parts = [batch(1), batch(2, { compression: CompressionType.gzip }), batch(3)];
  const log = Buffer.concat(parts);
  const seen: number[] = [];
  const full = scanBatches(log, 0, log.length, (s) => void seen.push(s.header.recordsCount));
  assert.deepEqual(full, { validEnd: log.length, batchCount: 3, stop: 'end' });
  assert.deepEqual(seen, [1, 2, 3]);
  const firstTwo = parts[0]!.length + parts[1]!.length;
  for (const cut of [firstTwo + 1, firstTwo + 11]) {
    const r = scanBatches(log, 0, cut, () => {});
    assert.equal(r.stop, 'incomplete');
    assert.equal(r.validEnd, firstTwo);
    assert.equal(r.nextBatchSize, undefined);
  }
  const torn = scanBatches(log, 0, log.length - 1, () => {});
  assert.deepEqual(torn, { validEnd: firstTwo, batchCount: 2, stop: 'incomplete', reason: torn.reason, nextBatchSize: parts[2]!.length });
  // Starting mid-log works too.
  assert.equal(scanBatches(log, parts[0]!.length, log.length, () => {}).batchCount, 2);
});

test('scanBatches stops at corruption: CRC, zeroed tail, bad magic, over-limit size', () => {
  const a = batch(1);
  const b = batch(2);
  const crc = Buffer.concat([a, b]);
  crc[crc.length - 1]! ^= 1;
  assert.deepEqual(
    { ...scanBatches(crc, 0, crc.length, () => {}), reason: undefined },
    { validEnd: a.length, batchCount: 1, stop: 'corrupt', reason: undefined },
  );
  assert.equal(scanBatches(crc, 0, crc.length, () => {}, { verifyCrc: false }).stop, 'end');
  const zeros = Buffer.concat([a, Buffer.alloc(4096)]);
  assert.equal(scanBatches(zeros, 0, zeros.length, () => {}).stop, 'corrupt');
  const magic = Buffer.concat([a, b]);
  magic[a.length + MAGIC_OFFSET] = 0;
  assert.match(scanBatches(magic, 0, magic.length, () => {}).reason ?? '', /magic/);
  const huge = Buffer.from(a);
  huge.writeInt32BE(0x7fffffff, BATCH_LENGTH_OFFSET);
  assert.equal(scanBatches(huge, 0, huge.length, () => {}).stop, 'incomplete');
  assert.equal(scanBatches(huge, 0, huge.length, () => {}, { maxBatchBytes: 1024 * 1024 }).stop, 'corrupt');
});

test('scanBatches stops after the batch for which the callback returns false', () => {
  const log = Buffer.concat([batch(1), batch(1), batch(1)]);
  const r = scanBatches(log, 0, log.length, (s) => s.pos === 0);
  assert.equal(r.stop, 'stopped');
  assert.equal(r.batchCount, 2);
  assert.equal(r.validEnd, 2 * batch(1).length);
  assert.throws(() => scanBatches(log, 0, log.length + 1, () => {}), RangeError);
});
