/**
 * Preloaded into the memory workload's broker (`node --import …/memory-probe.mjs`): on SIGUSR2 it
 * appends one JSON line with process.memoryUsage() and V8's heap spaces to the file named by
 * FJORD_BENCH_MEMORY_PROBE, so the benchmark can say what the broker's RSS is made of (JS heap,
 * Buffers outside it, or native memory) without touching broker code. Passive otherwise.
 */
import { appendFileSync } from 'node:fs';
import v8 from 'node:v8';

const out = process.env.FJORD_BENCH_MEMORY_PROBE;
if (out) {
  process.on('SIGUSR2', () => {
    const mu = process.memoryUsage();
    const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, s.space_used_size]));
    appendFileSync(out, `${JSON.stringify({ t: Date.now(), ...mu, spaces })}\n`);
  });
}
