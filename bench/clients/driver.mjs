#!/usr/bin/env node
/**
 * Runs one client workload in its own process (so clients never share an event loop with each other
 * or with the broker) and prints `RESULT <json>`. Usage: node driver.mjs '<json options>' where the
 * options are { client: 'fjord'|'kafkajs'|'platformatic'|'echo', mode: 'produce'|'consume'|'e2e', bootstrap,
 * topic, records, size, acks, partitions, rate, groupId, timeoutMs, warmupTopic, warmupRecords }.
 *
 * A produce or consume run with warmupRecords first produces that many records to warmupTopic, or
 * consumes that many from it (in a group of its own), the same way and untimed, so that the timed
 * run measures the client at its steady state rather than its JIT's first pass over the code (a
 * fresh process produced its first 200k records 10-20% slower than the next 200k here). Its rate is
 * reported as warmupMBps. The consume warm-up reads what the produce warm-ups wrote.
 */
const opts = JSON.parse(process.argv[2] ?? '{}');
const drivers = { fjord: './fjord.mjs', 'fjord-send': './fjord.mjs', kafkajs: './kafkajs.mjs', platformatic: './platformatic.mjs', echo: './echo.mjs' };
if (!drivers[opts.client]) throw new Error(`unknown client ${opts.client}`);
const mod = await import(drivers[opts.client]);
const deadlineMs = performance.now() + opts.timeoutMs;
const guard = setTimeout(() => {
  process.stderr.write(`driver: ${opts.client} ${opts.mode} did not finish within ${opts.timeoutMs} ms\n`);
  process.exit(3);
}, opts.timeoutMs + 5000);
// fjord-send: the same client, producing with one send() per record (consume and e2e as fjord).
const mode = opts.client === 'fjord-send' && opts.mode === 'produce' ? 'produceEach' : opts.mode;
let warmupMBps;
if (opts.warmupRecords > 0 && (mode === 'produce' || mode === 'produceEach' || mode === 'consume')) {
  const groupId = opts.groupId === undefined ? undefined : `${opts.groupId}-warmup`;
  warmupMBps = (await mod[mode]({ ...opts, topic: opts.warmupTopic, records: opts.warmupRecords, groupId, deadlineMs })).MBps;
}
const result = { ...(await mod[mode]({ ...opts, deadlineMs })), ...(warmupMBps === undefined ? {} : { warmupMBps }) };
clearTimeout(guard);
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
process.exit(0);
