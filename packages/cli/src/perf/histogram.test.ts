// The perf histogram against the exact answer: percentiles within the bucket error bound of the
// nearest-rank percentile of the sorted values, merge equal to recording everything in one, and the
// display rows of the text report accounting for every value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Histogram } from './histogram.js';
import { displayRows, histogramText, summarize } from './report.js';

/** Nearest-rank percentile of a sorted array: the value at rank ceil(p/100 * n), rank at least 1. */
function exact(sorted: number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

// Latency-like values: many small, some spread over orders of magnitude, a few huge.
const value = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 0, max: 2 ** 40 }), fc.constant(Number.MAX_SAFE_INTEGER));
const percentile = fc.oneof(fc.constantFrom(0, 50, 90, 95, 99, 99.9, 99.99, 100), fc.double({ min: 0, max: 100, noNaN: true }));

test('percentiles are within the relative error bound (1/128 < 1%) of the exact sorted-array percentile', () => {
  fc.assert(
    fc.property(fc.array(value, { minLength: 1, maxLength: 2000 }), fc.array(percentile, { minLength: 1, maxLength: 10 }), (values, ps) => {
      const h = new Histogram();
      for (const v of values) h.record(v);
      const sorted = [...values].sort((a, b) => a - b);
      assert.ok(h.relativeError <= 0.01);
      for (const p of ps) {
        const want = exact(sorted, p);
        const got = h.percentile(p);
        assert.ok(Math.abs(got - want) <= want * h.relativeError, `p${p}: got ${got}, exact ${want}`);
      }
      assert.equal(h.count, values.length);
      assert.equal(h.min, sorted[0]);
      assert.equal(h.max, sorted.at(-1));
      assert.equal(h.percentile(100), sorted.at(-1));
    }),
    { numRuns: 300 },
  );
});

test('percentiles are monotonic in p', () => {
  fc.assert(
    fc.property(fc.array(value, { minLength: 1, maxLength: 500 }), (values) => {
      const h = new Histogram();
      for (const v of values) h.record(v);
      let last = -1;
      for (const p of [0, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 100]) {
        const x = h.percentile(p);
        assert.ok(x >= last, `p${p} = ${x} < ${last}`);
        last = x;
      }
    }),
  );
});

test('merge gives what recording every value in one histogram gives', () => {
  fc.assert(
    fc.property(fc.array(value, { maxLength: 500 }), fc.array(value, { maxLength: 500 }), (a, b) => {
      const ha = new Histogram();
      const hb = new Histogram();
      const all = new Histogram();
      for (const v of a) (ha.record(v), all.record(v));
      for (const v of b) (hb.record(v), all.record(v));
      ha.merge(hb);
      assert.equal(ha.count, all.count);
      assert.equal(ha.min, all.min);
      assert.equal(ha.max, all.max);
      assert.ok(Math.abs(ha.mean - all.mean) <= Math.abs(all.mean) * 1e-12, 'mean (float sums in another order)');
      for (const p of [0, 50, 99, 99.9, 100]) assert.equal(ha.percentile(p), all.percentile(p));
      assert.deepEqual([...ha.buckets()], [...all.buckets()]);
    }),
  );
});

test('every bucket holds exactly the values that map to it, and no wider than 1/128 of its lower bound', () => {
  const h = new Histogram();
  const values = [0, 1, 127, 128, 255, 256, 257, 511, 512, 1000, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 12_345, Number.MAX_SAFE_INTEGER];
  for (const v of values) h.record(v);
  const buckets = [...h.buckets()];
  assert.equal(buckets.reduce((n, b) => n + b.count, 0), values.length);
  for (const b of buckets) {
    assert.ok(b.low <= b.high);
    if (b.high > b.low) assert.ok((b.high - b.low + 1) / b.low <= 1 / 128, `bucket ${b.low}..${b.high}`);
  }
  for (const v of values) assert.ok(buckets.some((b) => b.low <= v && v <= b.high), `${v} has a bucket`);
  // Below 256 every integer has its own bucket: exact.
  assert.deepEqual(buckets.slice(0, 5).map((b) => [b.low, b.high]), [[0, 0], [1, 1], [127, 127], [128, 128], [255, 255]]);
});

test('counts, rounding, empty histograms and bad input', () => {
  const h = new Histogram();
  assert.equal(h.percentile(99), 0);
  assert.equal(h.count, 0);
  assert.equal(h.max, 0);
  h.record(10.4);
  h.record(-3); // negative clock steps count as 0
  h.record(500, 9);
  assert.equal(h.count, 11);
  assert.equal(h.min, 0);
  assert.equal(h.percentile(50), 500);
  assert.equal(h.percentile(1), 0);
  assert.throws(() => h.record(Number.NaN), RangeError);
  assert.throws(() => h.record(Infinity), RangeError);
  assert.throws(() => h.percentile(101), RangeError);
  assert.throws(() => h.merge(new Histogram(8)), RangeError);
});

test('summary and text histogram: ordered percentiles in ms, rows that add up to the count', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 10_000_000 }), { minLength: 1, maxLength: 1000 }), (us) => {
      const h = new Histogram();
      for (const v of us) h.record(v);
      const s = summarize(h);
      assert.ok(s.min <= s.p50 && s.p50 <= s.p95 && s.p95 <= s.p99 && s.p99 <= s.p99_9 && s.p99_9 <= s.max, JSON.stringify(s));
      const rows = displayRows(h);
      assert.equal(rows.reduce((n, r) => n + r.count, 0), us.length);
      assert.ok(rows[0]!.count > 0 && rows.at(-1)!.count > 0, 'no empty rows at either end');
      assert.ok(rows.at(-1)!.upToMs * 1000 >= Math.max(...us), 'the last row covers the maximum');
      for (let i = 1; i < rows.length; i++) assert.ok(rows[i]!.upToMs > rows[i - 1]!.upToMs);
      const text = histogramText(s);
      assert.equal(text.trimEnd().split('\n').length, rows.length);
      assert.match(text, /100%\n$/);
    }),
    { numRuns: 100 },
  );
});
