/**
 * What every client driver shares: the record values (1 KiB of random bytes; the first 8 bytes of an
 * e2e record carry its intended send time), the pacing schedule of the e2e workload, and latency
 * percentiles. Times are performance.now() milliseconds of the one process that both sends and
 * receives, so no clock crosses a process boundary.
 */
import { randomBytes } from 'node:crypto';

/** A pool of distinct random values; record i uses pool[i % pool.length] (no per-record allocation). */
export function valuePool(size, count = 64) {
  return Array.from({ length: count }, () => randomBytes(size));
}

/** A fresh value whose first 8 bytes are `sentMs` (float64 LE): e2e records, one per send. */
export function stampedValue(size, sentMs) {
  const b = Buffer.allocUnsafe(size);
  b.fill(0x61, 8);
  b.writeDoubleLE(sentMs, 0);
  return b;
}

export const stampOf = (value) => value.readDoubleLE(0);

/**
 * Calls `sendDue(intendedTimes)` every millisecond with the records due by then at `rate` per second
 * (at most `count` in all), until all are sent. The intended time of record i is t0 + i / rate: a
 * client that falls behind is charged for it (no coordinated omission). Resolves when all are handed over.
 */
export async function pace({ rate, count, sendDue, deadlineMs }) {
  const t0 = performance.now() + 5;
  let next = 0;
  while (next < count) {
    const now = performance.now();
    if (now > deadlineMs) throw new Error(`pacing passed its deadline after ${next} of ${count} records`);
    const due = Math.min(count, Math.floor(((now - t0) * rate) / 1000) + 1);
    if (due > next) {
      const times = [];
      for (let i = next; i < due; i++) times.push(t0 + (i * 1000) / rate);
      next = due;
      await sendDue(times);
    }
    await new Promise((r) => setTimeout(r, 1));
  }
}

/**
 * The e2e send phase: gives the consumer 1 s to be polling at the end of the topic, sends on the
 * schedule (`sendDue(intendedTimes)` returns the promise of those sends), then waits for every send
 * to settle and every record to show up in `latencies`. Sends are counted, not kept: keeping every
 * send's promise kept every record's metadata (the clients' results) alive to the end, a heap
 * growing ~0.5 MB/s whose full collections then grew longer as the run went on.
 */
export async function sendPacedAndWait({ rate, records, deadlineMs, latencies, sendDue }) {
  await new Promise((r) => setTimeout(r, 1000));
  let unsettled = 0;
  let failure = null;
  const settled = () => void unsettled--;
  const failed = (e) => {
    failure ??= e;
    unsettled--;
  };
  await pace({
    rate,
    count: records,
    deadlineMs,
    sendDue: (times) => {
      unsettled++;
      sendDue(times).then(settled, failed);
    },
  });
  await waitFor('every send to settle', () => unsettled === 0, Math.max(1000, deadlineMs - performance.now()));
  if (failure) throw failure;
  await waitFor('every record to arrive', () => latencies.length >= records, Math.max(1000, deadlineMs - performance.now()));
}

/** p50/p99/p999/max of latencies (ms), skipping the first `warmup` fraction (as rdkafka_bench). */
export function percentiles(latencies, warmup = 0.1) {
  const xs = Float64Array.from(latencies.slice(Math.floor(latencies.length * warmup))).sort();
  const at = (q) => (xs.length === 0 ? null : round(xs[Math.min(xs.length - 1, Math.floor(q * xs.length))]));
  return { count: xs.length, p50: at(0.5), p99: at(0.99), p999: at(0.999), max: xs.length ? round(xs[xs.length - 1]) : null };
}

const round = (x) => Math.round(x * 1000) / 1000;

export const MB = 1e6;

/**
 * The produce workload of the clients without per-record sends: records 0..count-1 go to
 * `sendChunk(indexes)` in chunks of `chunk` with at most `inFlight` chunks outstanding. Resolves
 * { records, ms, MBps } once every chunk is acknowledged.
 */
export async function produceInChunks({ records, size, chunk = 1000, inFlight = 4, sendChunk }) {
  const t0 = performance.now();
  const running = new Set();
  for (let start = 0; start < records; start += chunk) {
    const p = sendChunk(start, Math.min(records, start + chunk)).finally(() => running.delete(p));
    running.add(p);
    if (running.size >= inFlight) await Promise.race(running);
  }
  await Promise.all(running);
  const ms = performance.now() - t0;
  return { records, ms, MBps: (records * size) / MB / (ms / 1000) };
}

/** Waits until cond() or throws after timeoutMs. */
export async function waitFor(what, cond, timeoutMs) {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
