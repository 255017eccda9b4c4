import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CompressionType } from './batch.js';
import { BatchBuilder } from './builder.js';
import { decodeBatch, encodeBatch } from './record.js';

const bytes = fc.option(fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)), { nil: null });
const record = fc.record({
  key: bytes,
  value: bytes,
  headers: fc.array(fc.record({ key: fc.string({ maxLength: 20 }), value: bytes }), { maxLength: 3 }),
  // Around a base time, with deltas on both sides of the number/BigInt boundary.
  delta: fc.oneof(fc.integer({ min: -5000, max: 5000 }), fc.integer({ min: -(2 ** 40), max: 2 ** 40 })),
});

test('BatchBuilder writes exactly what encodeBatch makes of the same records, for every codec', () => {
  fc.assert(
    fc.property(fc.array(record, { minLength: 1, maxLength: 40 }), fc.constantFrom(CompressionType.none, CompressionType.gzip, CompressionType.snappy, CompressionType.lz4, CompressionType.zstd), fc.boolean(), fc.oneof(fc.constant(-1n), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.bigInt({ min: 0n, max: 2n ** 54n })), (records, compression, txn, producerId) => {
      const base = 1_700_000_000_000;
      const builder = new BatchBuilder(64); // tiny: the buffer has to grow
      for (const r of records) builder.append(base + r.delta, r.key, r.value, r.headers);
      const opts = { compression, isTransactional: txn, producerId, producerEpoch: 3, baseSequence: 11 };
      const built = builder.build(opts);
      const expected = encodeBatch({
        ...opts,
        records: records.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: BigInt(base + r.delta) })),
      });
      if (compression === CompressionType.none) assert.deepEqual(built, expected);
      // Compressed: same header fields and the same records once decoded (codec output may vary by level defaults).
      const a = decodeBatch(built);
      const b = decodeBatch(expected);
      assert.deepEqual(a.records, b.records);
      assert.equal(a.header.maxTimestamp, b.header.maxTimestamp);
      assert.equal(a.header.attributes, b.header.attributes);
      assert.equal(a.header.baseSequence, 11);
      assert.equal(a.header.producerId, producerId);
      assert.equal(a.header.baseTimestamp, b.header.baseTimestamp);
      // A rebuild with another producer id and sequence (a producer renumbering unsent batches) keeps the records.
      const again = decodeBatch(builder.build({ ...opts, producerId: 9n, baseSequence: 40 }));
      assert.equal(again.header.producerId, 9n);
      assert.equal(again.header.baseSequence, 40);
      assert.deepEqual(again.records, a.records);
    }),
    { numRuns: 200 },
  );
});

test('BatchBuilder refuses an empty batch and appends after build', () => {
  const b = new BatchBuilder(100);
  assert.throws(() => b.build(), /at least one record/);
  b.append(1, null, Buffer.from('x'), []);
  b.build();
  assert.throws(() => b.append(2, null, null, []), /already built/);
});

test('BatchBuilder writes into a reused buffer exactly what it writes into a fresh one, and a detached builder refuses use', () => {
  fc.assert(
    fc.property(fc.array(record, { minLength: 1, maxLength: 20 }), fc.integer({ min: 0, max: 20_000 }), (records, reuseBytes) => {
      const base = 1_700_000_000_000;
      const fill = (b: BatchBuilder) => {
        for (const r of records) b.append(base + r.delta, r.key, r.value, r.headers);
        return Buffer.from(b.build({ producerId: 5n, producerEpoch: 1, baseSequence: 2 }));
      };
      const fresh = fill(new BatchBuilder(64));
      // A used buffer full of another batch's bytes, of any size (too small ones are not taken).
      const old = new BatchBuilder(64);
      old.append(base, Buffer.alloc(reuseBytes, 0xee), Buffer.alloc(reuseBytes, 0xdd), []);
      old.build();
      const spare = old.detachBuffer();
      assert.throws(() => old.append(base, null, null, []), /gave up its buffer/);
      assert.throws(() => old.build(), /gave up its buffer/);
      const reused = new BatchBuilder(64, spare);
      assert.deepEqual(fill(reused), fresh);
    }),
    { numRuns: 100 },
  );
});
