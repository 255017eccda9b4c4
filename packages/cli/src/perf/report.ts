/** What `fjord perf` prints: latency summaries (JSON and text), the text histogram, number formats. */
import type { Histogram } from './histogram.js';

/** Latencies are recorded in microseconds and reported in milliseconds. */
export const usPerMs = 1000;

export interface HistogramRow {
  /** The row holds the values above the previous row's upper bound up to this one (ms). */
  upToMs: number;
  count: number;
}

export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  p99_9: number;
  max: number;
  /** Log-scale rows (1, 1.5, 2, 3, 5, 7 per decade), from the first non-empty to the last. */
  histogram: HistogramRow[];
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

export function summarize(h: Histogram): LatencySummary {
  const ms = (us: number): number => round3(us / usPerMs);
  return {
    count: h.count,
    min: ms(h.min),
    mean: ms(h.mean),
    p50: ms(h.percentile(50)),
    p95: ms(h.percentile(95)),
    p99: ms(h.percentile(99)),
    p99_9: ms(h.percentile(99.9)),
    max: ms(h.max),
    histogram: displayRows(h),
  };
}

const steps = [1, 1.5, 2, 3, 5, 7];

/** Upper bounds in µs: 1, 1.5, 2, 3, 5, 7, 10, 15, ... up to the first one at or above `max`. */
function edgesUs(max: number): number[] {
  const out: number[] = [];
  for (let decade = 1; ; decade *= 10) {
    for (const s of steps) {
      out.push(s * decade);
      if (s * decade >= max) return out;
    }
  }
}

/**
 * Folds the fine buckets into log-scale rows. A bucket goes to the first row whose bound is at or
 * above its highest value (or the maximum, for the last one), so a row's bound is a true upper bound
 * of what it counts; a bucket straddling a bound (at most 1/128 wide) counts in the row above.
 */
export function displayRows(h: Histogram): HistogramRow[] {
  if (h.count === 0) return [];
  const edges = edgesUs(h.max);
  const counts = new Array<number>(edges.length).fill(0);
  let row = 0;
  for (const b of h.buckets()) {
    const top = Math.min(h.max, b.high);
    while (row < edges.length - 1 && top > edges[row]!) row++;
    counts[row]! += b.count;
  }
  const first = counts.findIndex((c) => c > 0);
  let last = counts.length - 1;
  while (last > first && counts[last] === 0) last--;
  const rows: HistogramRow[] = [];
  for (let i = first; i <= last; i++) rows.push({ upToMs: Number((edges[i]! / usPerMs).toPrecision(4)), count: counts[i]! });
  return rows;
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Milliseconds with three significant decimals below 10, fewer above. */
export function fmtMs(ms: number): string {
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  if (ms >= 1) return ms.toFixed(2);
  return ms.toFixed(3);
}

export function fmtRate(perSec: number): string {
  return perSec >= 100 ? fmtInt(perSec) : perSec.toFixed(1);
}

export function percentileLine(s: LatencySummary): string {
  return `p50 ${fmtMs(s.p50)}  p95 ${fmtMs(s.p95)}  p99 ${fmtMs(s.p99)}  p99.9 ${fmtMs(s.p99_9)}  max ${fmtMs(s.max)}  (mean ${fmtMs(s.mean)}, min ${fmtMs(s.min)})`;
}

/** The rows as a bar chart: upper bound, bar, count, cumulative share. */
export function histogramText(s: LatencySummary, indent = '    ', barWidth = 40): string {
  if (s.count === 0) return `${indent}(no values)\n`;
  const peak = Math.max(...s.histogram.map((r) => r.count));
  const labels = s.histogram.map((r) => `<= ${Number(r.upToMs.toPrecision(3))} ms`);
  const labelWidth = Math.max(...labels.map((l) => l.length));
  const counts = s.histogram.map((r) => fmtInt(r.count));
  const countWidth = Math.max(...counts.map((c) => c.length));
  let cumulative = 0;
  let out = '';
  s.histogram.forEach((r, i) => {
    cumulative += r.count;
    const len = r.count === 0 ? 0 : Math.max(1, Math.round((r.count / peak) * barWidth));
    const share = ((cumulative / s.count) * 100).toFixed(cumulative === s.count ? 0 : 2);
    out += `${indent}${labels[i]!.padStart(labelWidth)} |${'#'.repeat(len).padEnd(barWidth)}| ${counts[i]!.padStart(countWidth)}  ${share.padStart(6)}%\n`;
  });
  return out;
}

/** A latency block for the text report: a title line, the percentiles, the histogram. */
export function latencyText(title: string, s: LatencySummary): string {
  return `  ${title}\n    ${percentileLine(s)}\n${histogramText(s)}`;
}

/** "1 partition", "8 partitions". */
export function plural(n: number, noun: string): string {
  return `${fmtInt(n)} ${noun}${n === 1 ? '' : 's'}`;
}
