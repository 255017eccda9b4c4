#!/usr/bin/env -S node --no-concurrent-marking
// --no-concurrent-marking: V8 marks the heap for its full collections in small steps on the main
// thread instead of on helper threads running beside it. On a broker sharing a few cores with its
// clients, those helper threads took a core for tens of milliseconds at a time, and the loop and
// the clients waited for it: at 5,000 records/s on 2 cores the e2e p99 went from 10-17 ms to
// 5-8 ms without them (bench/README.md). Tests and benchmarks start the broker with the flags of
// this line (test/harness/broker.ts, bench/lib/broker.mjs).
import { main } from '../dist/index.js';

let finished = false;
// A command whose work ran out without it finishing (a promise nobody will settle) is a bug:
// say so and fail, instead of Node exiting quietly with code 0.
process.once('beforeExit', () => {
  if (finished) return;
  process.stderr.write('fjord: internal error: the command stopped without finishing (run again with --verbose and report it)\n');
  process.exit(1);
});

main(process.argv.slice(2)).then((code) => {
  finished = true;
  process.exitCode = code;
  // Leave a moment for stdout to drain, then exit even if a background timer is still armed.
  setTimeout(() => process.exit(code), 50).unref();
});
