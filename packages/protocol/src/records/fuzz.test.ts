/**
 * Fuzzing the batch decoders with random bytes and with valid batches whose bytes are flipped,
 * truncated or extended, with and without CRC repair (repair gets mutations past the CRC check
 * into the record and decompression parsers). Acceptable outcomes: a result, a DecodeError, or
 * an `ok: false` validation; never another exception or a crash. Allocation stays bounded
 * because every count and length is checked against the bytes present and decompression is
 * capped; the heap check below catches a regression.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DecodeError } from '../decode-error.js';
import {
  BATCH_HEADER_BYTES,
  CRC_OFFSET,
  CompressionType,
  computeBatchCrc,
  scanBatches,
  splitBatches,
  validateBatchForAppend,
} from './batch.js';
import { decodeBatch, encodeBatch, type EncodeRecordInput } from './record.js';

const RUNS = Number(process.env.FJORD_FUZZ_RUNS ?? 300);
/** Bounded time: one fuzz case that takes longer than this means a decoder loops or crawls. */
const CASE_MS_MAX = 2000;

function timed(what: string, fn: () => void): void {
  const start = performance.now();
  fn();
  const ms = performance.now() - start;
  assert.ok(ms < CASE_MS_MAX, `${what} took ${ms.toFixed(0)} ms`);
}
const MAX_DECOMPRESSED = 1024 * 1024;

function expectDecodeErrorOnly(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
  }
}

/** Runs every entry point on `buf`; only DecodeErrors and ok:false results are allowed. */
function exercise(buf: Buffer): void {
  timed(`${buf.length}-byte input`, () => exerciseOnce(buf));
}

function exerciseOnce(buf: Buffer): void {
  expectDecodeErrorOnly(() => decodeBatch(buf, 0, { maxDecompressedBytes: MAX_DECOMPRESSED }));
  expectDecodeErrorOnly(() => decodeBatch(buf, 0, { maxDecompressedBytes: MAX_DECOMPRESSED, verifyCrc: false }));
  let spans: ReturnType<typeof splitBatches> = [];
  expectDecodeErrorOnly(() => {
    spans = splitBatches(buf);
  });
  for (const span of spans) {
    const result = validateBatchForAppend(buf, span, { maxMessageBytes: 1024 * 1024 });
    assert.equal(typeof result.ok, 'boolean');
    if (!result.ok) assert.equal(typeof result.message, 'string');
  }
  const scan = scanBatches(buf, 0, buf.length, () => {});
  assert.ok(scan.validEnd >= 0 && scan.validEnd <= buf.length);
}

function repairCrc(buf: Buffer): void {
  if (buf.length < BATCH_HEADER_BYTES) return;
  const size = 12 + buf.readInt32BE(8);
  if (size >= BATCH_HEADER_BYTES && size <= buf.length) buf.writeUInt32BE(computeBatchCrc(buf, 0, size), CRC_OFFSET);
}

const bytesField = fc.option(fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)), { nil: null });
const recordArb: fc.Arbitrary<EncodeRecordInput> = fc.record({
  key: bytesField,
  value: bytesField,
  headers: fc.array(fc.record({ key: fc.string({ maxLength: 8 }), value: bytesField }), { maxLength: 3 }),
  timestamp: fc.bigInt({ min: -1n, max: 1n << 45n }),
});
const batchArb = fc
  .tuple(fc.array(recordArb, { minLength: 1, maxLength: 8 }), fc.constantFrom(...Object.values(CompressionType)), fc.bigInt({ min: 0n, max: 1n << 40n }))
  .map(([records, compression, baseOffset]) => encodeBatch({ records, compression, baseOffset }));

test('fuzz: random bytes, and random bytes behind a plausible header', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (bytes, plausible) => {
      const buf = Buffer.from(bytes);
      if (plausible && buf.length >= BATCH_HEADER_BYTES) {
        buf.writeInt32BE(buf.length - 12, 8);
        buf[16] = 2;
        buf[22] = buf[22]! & 0x07;
        repairCrc(buf);
      }
      exercise(buf);
    }),
    { numRuns: RUNS * 3 },
  );
});

test('fuzz: mutated valid batches (every codec), CRC repaired or not', () => {
  fc.assert(
    fc.property(
      batchArb,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
      fc.boolean(),
      (original, flips, repair) => {
        const buf = Buffer.from(original);
        for (const [at, xor] of flips) buf[at % buf.length]! ^= xor;
        if (repair) repairCrc(buf);
        exercise(buf);
      },
    ),
    { numRuns: RUNS * 3 },
  );
});

test('fuzz: truncated and extended valid batches', () => {
  fc.assert(
    fc.property(batchArb, fc.nat(), fc.uint8Array({ maxLength: 80 }), (original, cut, tail) => {
      exercise(original.subarray(0, cut % (original.length + 1)));
      exercise(Buffer.concat([original, Buffer.from(tail)]));
      exercise(Buffer.concat([original, original.subarray(0, cut % original.length)]));
    }),
    { numRuns: RUNS },
  );
});

test('fuzz: valid batches round trip through decode', () => {
  fc.assert(
    fc.property(fc.array(recordArb, { minLength: 1, maxLength: 8 }), fc.constantFrom(...Object.values(CompressionType)), (records, compression) => {
      const decoded = decodeBatch(encodeBatch({ records, compression })).records;
      assert.equal(decoded.length, records.length);
      records.forEach((r, i) => {
        assert.deepEqual(decoded[i]!.key, r.key);
        assert.deepEqual(decoded[i]!.value, r.value);
        // fast-check builds null-prototype objects; compare as plain ones.
        assert.deepEqual(decoded[i]!.headers, (r.headers ?? []).map((h) => ({ key: h.key, value: h.value })));
        assert.equal(decoded[i]!.timestamp, r.timestamp);
      });
    }),
    { numRuns: RUNS },
  );
});

test('hostile counts and lengths do not allocate: a 2^31-1 record count and 2 GiB key lengths', () => {
  const before = process.memoryUsage().rss;
  const good = encodeBatch({ records: [{ key: 'k', value: 'v' }] });
  for (let i = 0; i < 2000; i++) {
    const buf = Buffer.from(good);
    buf.writeInt32BE(0x7fffffff - (i % 7), 57); // recordsCount
    if (i % 2 === 0) buf.writeUInt32BE(0xfeffffff, BATCH_HEADER_BYTES + 4); // key length varint 0xfe..
    repairCrc(buf);
    expectDecodeErrorOnly(() => decodeBatch(buf));
  }
  const grownMiB = (process.memoryUsage().rss - before) / (1024 * 1024);
  assert.ok(grownMiB < 200, `rss grew ${grownMiB.toFixed(0)} MiB`);
});
