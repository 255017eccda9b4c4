/** Small helpers for measurements: clocks, percentiles, rates. */

/** Monotonic nanoseconds (CLOCK_MONOTONIC: comparable across threads and processes on this host). */
export const nowNs = () => process.hrtime.bigint();

/** Monotonic milliseconds as a float. */
export const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/**
 * Percentile (nearest rank on the sorted sample, like rdkafka_bench.c) of a Float64Array or array
 * of numbers; `sorted` must already be ascending. Returns null for an empty sample.
 */
export function percentile(sorted, p) {
  const n = sorted.length;
  if (n === 0) return null;
  let i = Math.floor((p / 100) * (n - 1) + 0.5);
  if (i >= n) i = n - 1;
  return sorted[i];
}

/** p50/p95/p99/p99.9/max of a sample, in the sample's unit, rounded to 3 decimals. */
export function summarize(values) {
  const sorted = Float64Array.from(values).sort();
  const r = (x) => (x === null ? null : Math.round(x * 1000) / 1000);
  return {
    n: sorted.length,
    p50: r(percentile(sorted, 50)),
    p95: r(percentile(sorted, 95)),
    p99: r(percentile(sorted, 99)),
    p999: r(percentile(sorted, 99.9)),
    max: r(sorted.length ? sorted[sorted.length - 1] : null),
  };
}

export const round = (x, digits = 2) => (x === null || x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(digits)));

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
