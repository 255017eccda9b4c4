#!/usr/bin/env -S node --no-concurrent-marking
// --no-concurrent-marking: V8 marks the heap for its full collections in small steps on the main
// thread instead of on helper threads running beside it. On a broker sharing a few cores with its
// clients, those helper threads took a core for tens of milliseconds at a time, and the loop and
// the clients waited for it: at 5,000 records/s on 2 cores the e2e p99 went from 10-17 ms to
// 5-8 ms without them (bench/README.md). Tests and benchmarks start the broker with the flags of
// this line (test/harness/broker.ts, bench/lib/broker.mjs).
//
// This file is CommonJS (bin/package.json) so that it runs before Node's ESM loader has read a
// file: that loader reads on libuv's thread pool, and the pool takes its size from
// UV_THREADPOOL_SIZE when it starts. The broker's fdatasyncs and file reads run on that pool; with
// libuv's default of 4 threads, a Produce request at acks=all over 8 partitions waited for two
// rounds of syncs, and 8 threads (Kafka's num.io.threads default) produced ~10% more at acks=all
// (bench/README.md). A UV_THREADPOOL_SIZE set in the environment is kept.
'use strict';
process.env.UV_THREADPOOL_SIZE ??= '8';

let finished = false;
// A command whose work ran out without it finishing (a promise nobody will settle) is a bug:
// say so and fail, instead of Node exiting quietly with code 0.
process.once('beforeExit', () => {
  if (finished) return;
  process.stderr.write('fjord: internal error: the command stopped without finishing (run again with --verbose and report it)\n');
  process.exit(1);
});

import('../dist/index.js').then(({ main }) => main(process.argv.slice(2))).then((code) => {
  finished = true;
  process.exitCode = code;
  // Leave a moment for stdout to drain, then exit even if a background timer is still armed.
  setTimeout(() => process.exit(code), 50).unref();
});
