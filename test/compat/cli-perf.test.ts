// `fjord perf produce|consume|e2e` as a user runs it (child processes against a Fjord broker started
// here): the runs finish and report what happened, the broker holds what produce said it wrote
// (ListOffsets), bounds stop runs on time, and bad flags give one line and exit 2.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { startBroker, cliPath, type Broker } from '../harness/broker.js';
import { run, type RunResult } from '../harness/proc.js';
import { listOffsets, withConnection } from '../harness/wire.js';
import { topicName } from '../harness/util.js';

let broker: Broker;
before(async () => {
  broker = await startBroker();
});
after(async () => {
  await broker?.dispose();
});

async function perf(args: string[], timeoutMs = 30_000): Promise<RunResult> {
  return run(process.execPath, [cliPath, 'perf', ...args], { timeoutMs, env: { ...process.env, FJORD_BOOTSTRAP: broker.bootstrap } });
}

interface Latency {
  count: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  p99_9: number;
  max: number;
  histogram: Array<{ upToMs: number; count: number }>;
}

function json(r: RunResult): Record<string, unknown> {
  assert.equal(r.timedOut, false, `timed out; stderr: ${r.stderr}`);
  try {
    return JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    assert.fail(`stdout is not one JSON object (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
}

function assertLatency(l: Latency, count: number, what: string): void {
  assert.equal(l.count, count, `${what}: count`);
  assert.ok(l.min <= l.p50 && l.p50 <= l.p95 && l.p95 <= l.p99 && l.p99 <= l.p99_9 && l.p99_9 <= l.max, `${what}: ordered ${JSON.stringify(l)}`);
  assert.ok(l.max > 0, `${what}: max > 0`);
  assert.equal(l.histogram.reduce((n, r) => n + r.count, 0), count, `${what}: histogram rows add up`);
}

async function recordsIn(topic: string, partitions: number): Promise<number> {
  const qs = (ts: number) => Array.from({ length: partitions }, (_, partition) => ({ partition, timestamp: ts }));
  return withConnection(broker.host, broker.port, async (c) => {
    const latest = await listOffsets(c, topic, qs(-1));
    const earliest = await listOffsets(c, topic, qs(-2));
    for (const r of [...latest, ...earliest]) assert.equal(r.errorCode, 0);
    return latest.reduce((n, r) => n + r.offset, 0) - earliest.reduce((n, r) => n + r.offset, 0);
  });
}

test('produce 20,000 records, then consume them all; ListOffsets agrees', async () => {
  const topic = topicName('perf-pc');
  const p = await perf(['produce', '--topic', topic, '--create-topic', '--partitions', '4', '--num-records', '20000', '--record-size', '512', '--acks', '1', '--json']);
  assert.equal(p.code, 0, p.stderr);
  const pj = json(p);
  assert.equal(pj.count, 20_000);
  assert.equal(pj.sent, 20_000);
  assert.equal(pj.failed, 0);
  assert.equal(pj.stoppedBy, 'count');
  assert.equal(pj.partitions, 4);
  assert.ok((pj.recordsPerSec as number) > 0 && (pj.mbPerSec as number) > 0, `throughput ${pj.recordsPerSec} ${pj.mbPerSec}`);
  assertLatency(pj.latencyMs as Latency, 20_000, 'produce latency');
  assert.equal(pj.latencyFromIntendedMs, null, 'unpaced: no schedule');
  assert.equal(await recordsIn(topic, 4), 20_000);

  const c = await perf(['consume', '--topic', topic, '--num-records', '20000', '--json']);
  assert.equal(c.code, 0, c.stderr);
  const cj = json(c);
  assert.equal(cj.count, 20_000);
  assert.equal(cj.bytes, 20_000 * 512);
  assert.equal(cj.stoppedBy, 'count');
  assert.ok((cj.recordsPerSec as number) > 0);
  assert.equal(cj.stampedRecords, 20_000, 'every record carries the send stamp');
  assertLatency(cj.ageMs as Latency, 20_000, 'consume age');

  // The human report of the same run: percentiles and the bar chart.
  const t = await perf(['consume', topic, '--num-records', '1000', '--group', `g-${topic}`]);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /1,000 records/);
  assert.match(t.stdout, /p50 .* p95 .* p99 .* p99\.9 .* max /);
  assert.match(t.stdout, /<= [\d.]+ ms \|#+ *\| +[\d,]+ +[\d.]+%/);
});

test('e2e at a paced rate finishes within its bound and reports latency from the schedule and from send()', async () => {
  const topic = topicName('perf-e2e');
  const started = Date.now();
  const r = await perf(['e2e', '--topic', topic, '--create-topic', '--partitions', '2', '--throughput', '1000', '--num-records', '2000', '--record-size', '100', '--acks', '1', '--json']);
  const wallMs = Date.now() - started;
  assert.equal(r.code, 0, r.stderr);
  const j = json(r);
  assert.equal(j.count, 2000);
  assert.equal(j.sent, 2000);
  assert.equal(j.lost, 0);
  assert.equal(j.failed, 0);
  assert.equal(j.duplicates, 0);
  // 2,000 records at 1,000/s: two seconds of sending, whatever the machine.
  assert.ok((j.sendMs as number) >= 1900 && (j.sendMs as number) < 6000, `send phase ${j.sendMs} ms`);
  assert.ok(wallMs < 20_000, `whole run ${wallMs} ms`);
  const fromSchedule = j.latencyMs as Latency;
  const fromSend = j.latencyFromSendMs as Latency;
  assertLatency(fromSchedule, 2000, 'e2e from the schedule');
  assertLatency(fromSend, 2000, 'e2e from send()');
  // The schedule comes first, so latency measured from it is never below latency from send().
  assert.ok(fromSchedule.p50 >= fromSend.p50 - 0.01 && fromSchedule.max >= fromSend.max - 0.01, `${fromSchedule.p50} vs ${fromSend.p50}`);
  assert.equal(await recordsIn(topic, 2), 2000);

  // --warmup-records: the first records count for loss, not for latency.
  const w = await perf(['e2e', '--topic', topic, '--throughput', '1000', '--num-records', '500', '--record-size', '64', '--acks', '1', '--warmup-records', '100', '--json']);
  assert.equal(w.code, 0, w.stderr);
  const wj = json(w);
  assert.equal(wj.count, 500);
  assert.equal(wj.lost, 0);
  assertLatency(wj.latencyMs as Latency, 400, 'e2e after the warm-up');
});

test('--duration-ms stops a long run on time (and --progress draws the progress line on a pipe)', async () => {
  const topic = topicName('perf-dur');
  const started = Date.now();
  const r = await perf(['produce', '--topic', topic, '--create-topic', '--partitions', '1', '--num-records', '10000000', '--throughput', '500', '--duration-ms', '1500', '--record-size', '64', '--acks', '1', '--progress', '--json']);
  const wallMs = Date.now() - started;
  assert.equal(r.code, 0, r.stderr);
  const j = json(r);
  assert.equal(j.stoppedBy, 'duration');
  assert.ok((j.sendMs as number) >= 1500 && (j.sendMs as number) < 2500, `send phase ${j.sendMs} ms`);
  assert.ok(wallMs < 10_000, `whole run ${wallMs} ms`);
  // 500/s for 1.5 s: 751 records on the schedule (record 0 at t=0).
  assert.ok((j.count as number) >= 700 && (j.count as number) <= 760, `count ${j.count}`);
  assert.equal(j.failed, 0);
  assertLatency(j.latencyFromIntendedMs as Latency, j.count as number, 'paced produce from the schedule');
  assert.match(r.stderr, /perf produce .*acked .*rec\/s .*p99 /, 'progress lines on stderr');

  // A consumer at the end of a quiet topic stops at its time bound too.
  const c = await perf(['consume', '--topic', topic, '--from', 'end', '--duration-ms', '1000', '--json']);
  assert.equal(c.code, 0, c.stderr);
  const cj = json(c);
  assert.equal(cj.stoppedBy, 'duration');
  assert.equal(cj.count, 0);
});

test('bad flags: one line naming the flag, exit 2, no stack trace; no broker or no topic: one line too', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['produce', '--topic', 't', '--num-records', 'lots'], /--num-records expects an integer/],
    [['produce', '--topic', 't', '--num-records', '0'], /--num-records expects an integer in 1\.\./],
    [['produce', '--topic', 't', '--record-size', '-5'], /--record-size/],
    [['produce', '--topic', 't', '--acks', '2'], /--acks expects one of 0, 1, all/],
    [['produce', '--topic', 't', '--throughput', '0'], /--throughput expects -1 \(unlimited\) or records\/s/],
    [['produce', '--topic', 't', '--compression', 'brotli'], /--compression expects one of none, gzip/],
    [['produce', '--topic', 't', '--partitions', '3'], /--partitions needs --create-topic/],
    [['produce', '--topic', 't', '--idempotent', '--no-idempotent'], /--idempotent and --no-idempotent/],
    [['produce', '--topic', 't', '--duration-ms', '1.5'], /--duration-ms expects an integer/],
    [['produce', '--topic', 't', '--bogus'], /unknown flag --bogus/],
    [['produce', '--num-records', '10'], /needs --topic/],
    [['e2e', '--topic', 't', '--num-records', '10'], /needs --throughput/],
    [['e2e', '--topic', 't', '--throughput', '10', '--record-size', '8'], /--record-size expects an integer in 40\.\./],
    [['consume', '--topic', 't', '--from', 'middle'], /--from expects one of beginning, end/],
    [['sideways'], /unknown subcommand 'sideways'/],
  ];
  for (const [args, pattern] of cases) {
    const r = await perf(args, 15_000);
    assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `${args.join(' ')}: one line, got:\n${r.stderr}`);
    assert.match(lines[0]!, /^fjord: /);
    assert.match(lines[0]!, pattern, args.join(' '));
    assert.equal(r.stdout, '', `${args.join(' ')}: nothing on stdout`);
  }

  const missing = await perf(['consume', '--topic', 'no-such-topic-here', '--num-records', '1']);
  assert.equal(missing.code, 1, missing.stderr);
  assert.match(missing.stderr.trim(), /^fjord: topic 'no-such-topic-here' does not exist .*--create-topic/);
  assert.equal(missing.stderr.trim().split('\n').length, 1);

  // A port with nobody listening.
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  const started = Date.now();
  const down = await perf(['produce', '--topic', 't', '--bootstrap', `127.0.0.1:${port}`, '--timeout', '1500', '--num-records', '10']);
  assert.equal(down.code, 3, down.stderr);
  assert.match(down.stderr.trim(), new RegExp(`^fjord: cannot connect to 127\\.0\\.0\\.1:${port} within 1500 ms`));
  assert.equal(down.stderr.trim().split('\n').length, 1);
  assert.doesNotMatch(down.stderr, /\n\s+at /);
  assert.ok(Date.now() - started < 10_000, 'bounded by --timeout');
});
