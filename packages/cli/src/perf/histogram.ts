/**
 * A log-linear histogram of non-negative integers (HDR-style) for latencies.
 *
 * Values below 2·S (S = 2^precisionBits sub-buckets) get a bucket each; above that, every power of
 * two [2^e, 2^(e+1)) is split into S equal buckets of width 2^(e-precisionBits). A bucket's width
 * is therefore at most 1/S of its lower bound, so any value reported for a bucket is within 1/S
 * (0.78% with the default 7 bits) of every value recorded in it. Memory is one counter per bucket:
 * about S·(log2(max) - precisionBits + 1), a few thousand numbers for nanoseconds up to a day.
 *
 * Percentiles use the nearest-rank definition: the value at rank ceil(p/100 · count) of the sorted
 * values, so p100 is the maximum. Min, max, count and sum are kept exactly.
 */

/** Largest value accepted: integers beyond 2^53 are not exact in a number. */
export const histogramValueMax = Number.MAX_SAFE_INTEGER;

export interface HistogramBucket {
  /** Smallest and largest integer that fall in this bucket. */
  low: number;
  high: number;
  count: number;
}

export class Histogram {
  readonly precisionBits: number;
  private readonly subBuckets: number;
  private counts: Float64Array;
  private total = 0;
  private sum = 0;
  private minValue = Infinity;
  private maxValue = -Infinity;

  constructor(precisionBits = 7) {
    if (!Number.isInteger(precisionBits) || precisionBits < 1 || precisionBits > 16) {
      throw new RangeError(`precisionBits must be an integer from 1 to 16, got ${precisionBits}`);
    }
    this.precisionBits = precisionBits;
    this.subBuckets = 2 ** precisionBits;
    this.counts = new Float64Array(4 * this.subBuckets);
  }

  /** The largest relative width of a bucket: the bound on the error of a reported percentile. */
  get relativeError(): number {
    return 1 / this.subBuckets;
  }

  get count(): number {
    return this.total;
  }

  get min(): number {
    return this.total === 0 ? 0 : this.minValue;
  }

  get max(): number {
    return this.total === 0 ? 0 : this.maxValue;
  }

  get mean(): number {
    return this.total === 0 ? 0 : this.sum / this.total;
  }

  /** Records `value` (rounded to an integer; negative values count as 0) `times` times. */
  record(value: number, times = 1): void {
    if (!Number.isFinite(value)) throw new RangeError(`cannot record ${value}`);
    const v = value <= 0 ? 0 : Math.min(Math.round(value), histogramValueMax);
    const i = this.indexOf(v);
    if (i >= this.counts.length) this.grow(i + 1);
    this.counts[i]! += times;
    this.total += times;
    this.sum += v * times;
    if (v < this.minValue) this.minValue = v;
    if (v > this.maxValue) this.maxValue = v;
  }

  /** Adds every value recorded in `other` (which must have the same precision). */
  merge(other: Histogram): void {
    if (other.precisionBits !== this.precisionBits) throw new RangeError(`cannot merge histograms of precision ${other.precisionBits} and ${this.precisionBits} bits`);
    if (other.total === 0) return;
    if (other.counts.length > this.counts.length) this.grow(other.counts.length);
    for (let i = 0; i < other.counts.length; i++) this.counts[i]! += other.counts[i]!;
    this.total += other.total;
    this.sum += other.sum;
    this.minValue = Math.min(this.minValue, other.minValue);
    this.maxValue = Math.max(this.maxValue, other.maxValue);
  }

  /**
   * The value at percentile p (0..100): the middle of the bucket holding the value of rank
   * ceil(p/100 · count), clamped to [min, max]. 0 when nothing was recorded.
   */
  percentile(p: number): number {
    if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    if (rank >= this.total) return this.maxValue;
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) {
        const { low, high } = this.bounds(i);
        return Math.min(this.maxValue, Math.max(this.minValue, Math.floor((low + high) / 2)));
      }
    }
    return this.maxValue;
  }

  /** The non-empty buckets in increasing order. */
  *buckets(): IterableIterator<HistogramBucket> {
    for (let i = 0; i < this.counts.length; i++) {
      const count = this.counts[i]!;
      if (count > 0) yield { ...this.bounds(i), count };
    }
  }

  /** Bucket index: the value itself below 2·S, else shift·S + (v >> shift) with shift = bitLength(v) - precisionBits - 1. */
  private indexOf(v: number): number {
    const shift = bitLength(v) - this.precisionBits - 1;
    if (shift <= 0) return v;
    return shift * this.subBuckets + Math.floor(v / 2 ** shift);
  }

  private bounds(i: number): { low: number; high: number } {
    if (i < 2 * this.subBuckets) return { low: i, high: i };
    const shift = Math.floor(i / this.subBuckets) - 1;
    const top = i - shift * this.subBuckets; // in [S, 2S)
    const width = 2 ** shift;
    return { low: top * width, high: top * width + width - 1 };
  }

  private grow(size: number): void {
    const next = new Float64Array(Math.max(size, this.counts.length * 2));
    next.set(this.counts);
    this.counts = next;
  }
}

/** Number of bits needed to write v (0 for 0); exact for every safe integer. */
function bitLength(v: number): number {
  if (v < 2 ** 32) return 32 - Math.clz32(v);
  return 32 + bitLength(Math.floor(v / 2 ** 32));
}
