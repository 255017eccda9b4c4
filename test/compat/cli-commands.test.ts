// Acceptance (issue 6) for the `fjord` client commands, run as a user runs them: the real
// `node packages/cli/bin/fjord.js ...` as child processes against a Fjord broker started here.
// Round trips produce -> consume (kv, json, template exact), start positions, groups with lag and
// reset-offsets, topics/configs/records administration checked through --json and kcat, interop
// with kcat both ways, transactions, SIGINT, shell completion, and bad input (one line, the
// documented exit code, no stack trace unless --verbose).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBroker, cliPath, type Broker } from '../harness/broker.js';
import { run, spawnTracked, type RunResult } from '../harness/proc.js';
import { kcatConsume, kcatMetadata, kcatProduceOk } from '../harness/kcat.js';
import { makeTempDir, removeTempDir, topicName, waitFor } from '../harness/util.js';

let broker: Broker;
let tmp: string;

before(async () => {
  broker = await startBroker({ configs: { 'group.initial.rebalance.delay.ms': 0, 'num.partitions': 1 } });
  tmp = await makeTempDir('fjord-cli-');
});
after(async () => {
  await broker?.dispose();
  if (tmp) await removeTempDir(tmp);
});

/** Runs `fjord ARGS` with FJORD_BOOTSTRAP pointing at the test broker. */
async function fjord(args: string[], { stdin, env = {}, timeoutMs = 30_000 }: { stdin?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
  return run(process.execPath, [cliPath, ...args], {
    timeoutMs,
    env: { ...process.env, FJORD_BOOTSTRAP: broker.bootstrap, ...env },
    ...(stdin === undefined ? {} : { stdin }),
  });
}

/** Runs and insists on exit code 0; returns stdout. */
async function ok(args: string[], opts: Parameters<typeof fjord>[1] = {}): Promise<string> {
  const r = await fjord(args, opts);
  assert.equal(r.code, 0, `fjord ${args.join(' ')} exited ${r.code}${r.timedOut ? ' (timed out)' : ''}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

async function json<T>(args: string[]): Promise<T> {
  return JSON.parse(await ok([...args, '--json'])) as T;
}

/** An error as the user sees it: the exit code, one line on stderr, no stack trace. */
function assertError(r: RunResult, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, `exit code; stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line of error, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^fjord: /);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

interface JsonRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  timestampType: string;
  key: string | null;
  value: string | null;
  headers: Record<string, string | null | Array<string | null>>;
}

/**
 * Reads a topic as JSON records. With `count` it stops at that many (the idle timeout only guards
 * against fewer); without, it stops once nothing arrived for a second.
 */
async function consumeJson(topic: string, count?: number, extra: string[] = []): Promise<JsonRecord[]> {
  const stop = count === undefined ? ['--idle-timeout', '1000'] : ['--count', String(count), '--idle-timeout', '10000'];
  const out = await ok(['consume', topic, '--format', 'json', '-q', ...stop, ...extra]);
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as JsonRecord)
    .sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

interface DescribedTopic {
  name: string;
  partitions: Array<{ partition: number; leader: number; replicas: number[]; isr: number[]; startOffset: number; endOffset: number }>;
  configs: Record<string, string>;
  configSources: Record<string, string>;
}

interface GroupJson {
  groupId: string;
  state: string;
  members: unknown[];
  offsets: Array<{ topic: string; partition: number; committed: number | null; logEndOffset: number; lag: number | null }>;
  totalLag: number;
}

test('cluster info --json names the cluster, its controller and broker', async () => {
  const info = await json<{ clusterId: string; controllerId: number; brokers: Array<{ nodeId: number; host: string; port: number }>; topics: number }>(['cluster', 'info']);
  assert.equal(typeof info.clusterId, 'string');
  assert.ok(info.clusterId.length > 0);
  assert.equal(info.controllerId, broker.nodeId);
  assert.deepEqual(info.brokers.map((b) => [b.nodeId, b.port]), [[broker.nodeId, broker.port]]);
  assert.equal(typeof info.topics, 'number');
  assert.match(await ok(['cluster', 'info']), /Controller:\s+1/);
});

test('topics create, list, describe, alter, add-partitions and delete (checked with --json and kcat -L)', async () => {
  const t = topicName('cli-topics');
  assert.match(await ok(['topics', 'create', t, '--partitions', '3', '--config', 'retention.ms=123456', '--config', 'max.message.bytes=200000']), new RegExp(`created topic '${t}'`));
  const listed = await json<Array<{ name: string; partitions: number; replicationFactor: number; internal: boolean }>>(['topics', 'list']);
  assert.deepEqual(listed.find((x) => x.name === t), { name: t, partitions: 3, replicationFactor: 1, internal: false });

  const [d] = await json<DescribedTopic[]>(['topics', 'describe', t]);
  assert.equal(d!.name, t);
  assert.deepEqual(d!.partitions.map((p) => [p.partition, p.leader, p.replicas, p.isr, p.startOffset, p.endOffset]), [0, 1, 2].map((p) => [p, broker.nodeId, [broker.nodeId], [broker.nodeId], 0, 0]));
  assert.deepEqual(d!.configs, { 'max.message.bytes': '200000', 'retention.ms': '123456' });
  assert.equal(d!.configSources['retention.ms'], 'topic');
  const md = await kcatMetadata(broker.bootstrap);
  assert.equal(md.topics.find((x) => x.topic === t)?.partitions.length, 3);

  await ok(['topics', 'alter', t, '--config', 'cleanup.policy=compact', '--delete-config', 'retention.ms']);
  assert.deepEqual((await json<DescribedTopic[]>(['topics', 'describe', t]))[0]!.configs, { 'cleanup.policy': 'compact', 'max.message.bytes': '200000' });

  assert.match(await ok(['topics', 'add-partitions', t, '--count', '2']), /from 3 to 5 partitions/);
  assert.equal((await json<DescribedTopic[]>(['topics', 'describe', t]))[0]!.partitions.length, 5);
  assert.equal((await kcatMetadata(broker.bootstrap)).topics.find((x) => x.topic === t)?.partitions.length, 5);
  assertError(await fjord(['topics', 'add-partitions', t, '--total', '4']), 1, /not more than the 5 partitions/);

  assertError(await fjord(['topics', 'create', t]), 1, /already exists.*--if-not-exists/);
  await ok(['topics', 'create', t, '--if-not-exists']);

  // The plain outputs name the topic and its partitions.
  assert.match(await ok(['topics', 'list']), new RegExp(`^${t}\\s+5\\s+1$`, 'm'));
  assert.match(await ok(['topics', 'describe', t]), /^PARTITION\s+LEADER\s+EPOCH\s+REPLICAS\s+ISR\s+START\s+END$/m);

  assert.match(await ok(['topics', 'delete', t]), new RegExp(`deleted topic '${t}'`));
  assert.equal((await json<Array<{ name: string }>>(['topics', 'list'])).some((x) => x.name === t), false);
  assert.equal((await kcatMetadata(broker.bootstrap)).topics.some((x) => x.topic === t), false, 'kcat -L no longer lists it');
  assertError(await fjord(['topics', 'delete', t]), 1, new RegExp(`topic '${t}' does not exist \\(create it with: fjord topics create ${t}\\)`));
  await ok(['topics', 'delete', t, '--if-exists']);
});

test('produce -> consume round trip with keys and headers: kv, json and template exact', async () => {
  const t = topicName('cli-rt');
  await ok(['topics', 'create', t, '-p', '2']);
  const produced = await fjord(['produce', t, '--key-separator', ':', '-H', 'source=cli', '-H', 'trace=t1'], { stdin: 'k1:v1\nk2:v2:with:colons\nk3:\nnokey\n' });
  assert.equal(produced.code, 0, produced.stderr);
  assert.match(produced.stderr, new RegExp(`^produced 4 of 4 records to ${t} \\(partitions [0-9, ]+\\)\\n$`));

  const kv = (await ok(['consume', t, '--format', 'kv', '--count', '4', '--idle-timeout', '10000'])).split('\n').filter((l) => l !== '').sort();
  assert.deepEqual(kv, ['\tnokey', 'k1\tv1', 'k2\tv2:with:colons', 'k3\t']);

  const records = await consumeJson(t, 4);
  assert.equal(records.length, 4);
  const byKey = new Map(records.map((r) => [r.key, r]));
  for (const [k, v] of [['k1', 'v1'], ['k2', 'v2:with:colons'], ['k3', ''], [null, 'nokey']] as const) {
    const r = byKey.get(k);
    assert.ok(r, `record with key ${k}`);
    assert.equal(r.value, v);
    assert.deepEqual(r.headers, { source: 'cli', trace: 't1' });
    assert.equal(r.topic, t);
    assert.equal(r.timestampType, 'CreateTime');
    assert.ok(Math.abs(r.timestamp - Date.now()) < 120_000, `timestamp ${r.timestamp}`);
  }

  // JSON input with explicit partitions, timestamps, repeated headers and a tombstone, read back exactly.
  const t2 = topicName('cli-json');
  await ok(['topics', 'create', t2, '-p', '2']);
  const input = [
    { key: 'a', value: 'first', headers: { h: 'x' }, partition: 1, timestamp: 1_700_000_000_000 },
    { key: 'b', value: null, headers: [['h', 'y'], ['h', 'z']], partition: 1, timestamp: 1_700_000_000_001 },
    { key: null, value: { nested: [1, 2] }, partition: 0, timestamp: '2023-11-14T22:13:20.002Z' },
  ];
  await ok(['produce', t2, '--format', 'json', '--compression', 'zstd'], { stdin: input.map((o) => JSON.stringify(o)).join('\n') + '\n\n' });
  assert.deepEqual(await consumeJson(t2, 3), [
    { topic: t2, partition: 0, offset: 0, timestamp: 1_700_000_000_002, timestampType: 'CreateTime', key: null, value: '{"nested":[1,2]}', headers: {} },
    { topic: t2, partition: 1, offset: 0, timestamp: 1_700_000_000_000, timestampType: 'CreateTime', key: 'a', value: 'first', headers: { h: 'x' } },
    { topic: t2, partition: 1, offset: 1, timestamp: 1_700_000_000_001, timestampType: 'CreateTime', key: 'b', value: null, headers: { h: ['y', 'z'] } },
  ]);
  const templated = await ok(['consume', t2, '-p', '1', '--count', '2', '-q', '--template', '{topic}/{partition}@{offset} {key}={value} [{headers}] {timestamp}']);
  assert.equal(templated, `${t2}/1@0 a=first [h=x] 1700000000000\n${t2}/1@1 b= [h=y,h=z] 1700000000001\n`);

  // consume --format json piped into produce --format json copies records (partition, timestamp, headers kept).
  const t3 = topicName('cli-copy');
  await ok(['topics', 'create', t3, '-p', '2']);
  await ok(['produce', t3, '--format', 'json'], { stdin: await ok(['consume', t2, '--format', 'json', '--count', '3', '-q']) });
  assert.deepEqual((await consumeJson(t3)).map((r) => ({ ...r, topic: t2 })), await consumeJson(t2, 3));

  // From a file, with --partition and acks=1.
  const file = join(tmp, 'lines.txt');
  await writeFile(file, 'f1\nf2\n');
  await ok(['produce', t, '--file', file, '--partition', '1', '--acks', '1', '-q']);
  const p1 = (await ok(['consume', t, '-p', '1', '--from', '-2', '--count', '2', '-q'])).split('\n');
  assert.deepEqual(p1, ['f1', 'f2', '']);
});

test('consume --from offset, -N, @timestamp, ISO date, beginning and end; --count', async () => {
  const t = topicName('cli-from');
  await ok(['topics', 'create', t, '-p', '1']);
  const lines = Array.from({ length: 10 }, (_, i) => JSON.stringify({ value: `v${i}`, timestamp: 1_000_000 + i * 1000 })).join('\n');
  await ok(['produce', t, '--format', 'json', '-q'], { stdin: lines });
  // The topic holds exactly v0..v9: reading to its end (count = what is left) checks where each start is.
  const values = async (left: number, ...extra: string[]): Promise<string[]> =>
    (await ok(['consume', t, '-q', ...(left === 0 ? ['--idle-timeout', '800'] : ['--count', String(left), '--idle-timeout', '10000']), ...extra])).split('\n').filter((l) => l !== '');
  const v = (from: number, to = 10): string[] => Array.from({ length: to - from }, (_, i) => `v${from + i}`);
  assert.deepEqual(await values(10), v(0), 'default: from the beginning');
  assert.deepEqual(await values(10, '--from', 'beginning'), v(0));
  assert.deepEqual(await values(3, '--from', '7'), v(7));
  assert.deepEqual(await values(3, '--from', '-3'), v(7));
  assert.deepEqual(await values(6, '--from', '@1004000'), v(4));
  assert.deepEqual(await values(5, '--from', '@1004500'), v(5), 'the first record at or after the time');
  assert.deepEqual(await values(4, '--from', '1970-01-01T00:16:46Z'), v(6));
  assert.deepEqual(await values(0, '--from', 'end'), []);
  assert.deepEqual(await values(0, '--from', '99'), [], 'an offset past the end is clamped to the end');
  assert.deepEqual(await values(3, '--from', '2'), v(2, 5), '--count stops before the end');
  const counted = await fjord(['consume', t, '--count', '2']);
  assert.equal(counted.code, 0, counted.stderr);
  assert.equal(counted.stdout, 'v0\nv1\n');
  assert.match(counted.stderr, /^consumed 2 records\n$/);
});

test('group consume commits what it printed; groups describe shows lag; reset-offsets dry run, --execute, then consume resumes there', async () => {
  const t = topicName('cli-group');
  const g = topicName('cli-g');
  await ok(['topics', 'create', t, '-p', '2']);
  await ok(['produce', t, '-q', '-k', ':'], { stdin: ['a:0', 'b:1', 'c:2', 'd:3', 'e:4', 'f:5'].join('\n') });
  const first = await ok(['consume', t, '--group', g, '--count', '4', '-q']);
  assert.equal(first.split('\n').filter((l) => l !== '').length, 4);

  const [d] = await json<GroupJson[]>(['groups', 'describe', g]);
  assert.equal(d!.state, 'Empty');
  assert.equal(d!.offsets.length, 2);
  assert.equal(d!.offsets.reduce((s, o) => s + o.logEndOffset, 0), 6);
  assert.equal(d!.offsets.reduce((s, o) => s + (o.committed ?? 0), 0), 4, JSON.stringify(d));
  assert.equal(d!.totalLag, 2);
  for (const o of d!.offsets) assert.equal(o.lag, o.logEndOffset - o.committed!);
  assert.ok((await json<Array<{ groupId: string }>>(['groups', 'list'])).some((x) => x.groupId === g));
  assert.match(await ok(['groups', 'describe', g]), /^TOPIC\s+PARTITION\s+COMMITTED\s+LOG-END\s+LAG$/m);

  // Dry run: the plan is printed, nothing changes.
  const before = d!.offsets.map((o) => o.committed);
  const plan = await json<Array<{ topic: string; partition: number; previous: number | null; offset: number }>>(['groups', 'reset-offsets', g, '--topic', t, '--to-earliest']);
  assert.deepEqual(plan.map((p) => [p.partition, p.previous, p.offset]), d!.offsets.map((o) => [o.partition, o.committed, 0]));
  assert.deepEqual((await json<GroupJson[]>(['groups', 'describe', g]))[0]!.offsets.map((o) => o.committed), before, 'dry run changed nothing');
  const dry = await fjord(['groups', 'reset-offsets', g, '--topic', t, '--to-earliest']);
  assert.match(dry.stderr, /dry run: nothing changed \(add --execute to apply\)/);

  // --execute to offset 1 in both partitions (clamped where a partition is shorter).
  await ok(['groups', 'reset-offsets', g, '--topic', t, '--to-offset', '1', '--execute']);
  const after1 = (await json<GroupJson[]>(['groups', 'describe', g]))[0]!;
  assert.deepEqual(after1.offsets.map((o) => o.committed), after1.offsets.map((o) => Math.min(1, o.logEndOffset)));

  // consume --group starts at the reset offsets: everything but the first record of each partition.
  const all = await consumeJson(t, 6);
  const expected = all.filter((r) => r.offset >= 1).map((r) => `${r.key}\t${r.value}`).sort();
  const resumed = (await ok(['consume', t, '--group', g, '--format', 'kv', '--idle-timeout', '1500', '-q'])).split('\n').filter((l) => l !== '').sort();
  assert.deepEqual(resumed, expected);
  assert.equal((await json<GroupJson[]>(['groups', 'describe', g]))[0]!.totalLag, 0);

  // --shift-by and a single partition; then --to-latest.
  await ok(['groups', 'reset-offsets', g, '--topic', `${t}:0`, '--shift-by', '-1', '--execute']);
  const shifted = (await json<GroupJson[]>(['groups', 'describe', g]))[0]!;
  const p0 = shifted.offsets.find((o) => o.partition === 0)!;
  assert.equal(p0.committed, Math.max(0, p0.logEndOffset - 1));
  await ok(['groups', 'reset-offsets', g, '--all-topics', '--to-latest', '--execute']);
  assert.equal((await json<GroupJson[]>(['groups', 'describe', g]))[0]!.totalLag, 0);

  // A KIP-848 member (--group-protocol consumer) commits the same way; describe reports its type.
  const g848 = topicName('cli-g848');
  assert.equal((await ok(['consume', t, '--group', g848, '--group-protocol', 'consumer', '--count', '6', '-q'])).split('\n').length, 7);
  const [k] = await json<Array<GroupJson & { type: string }>>(['groups', 'describe', g848]);
  assert.equal(k!.type, 'consumer');
  assert.equal(k!.totalLag, 0);
  assert.deepEqual(k!.offsets.map((o) => o.committed), k!.offsets.map((o) => o.logEndOffset));

  assert.match(await ok(['groups', 'delete', g]), /deleted group/);
  assertError(await fjord(['groups', 'describe', g]), 1, new RegExp(`group '${g}' does not exist`));
});

test('SIGINT stops a group consumer cleanly and commits what it printed', async () => {
  const t = topicName('cli-sig');
  const g = topicName('cli-sig-g');
  await ok(['topics', 'create', t, '-p', '1']);
  const child = spawnTracked(process.execPath, [cliPath, 'consume', t, '--group', g], { env: { ...process.env, FJORD_BOOTSTRAP: broker.bootstrap }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    await waitFor('the consumer to join', async () => (await json<GroupJson[]>(['groups', 'describe', g]).catch(() => []))[0]?.members.length === 1, { timeoutMs: 20_000, intervalMs: 300 });
    await waitFor('its assignment to be described', async () => JSON.stringify((await json<GroupJson[]>(['groups', 'describe', g]))[0]?.members[0]) .includes(`"assignment":[{"topic":"${t}","partition":0}]`), { timeoutMs: 10_000, intervalMs: 300 });
    assert.match(await ok(['groups', 'describe', g]), new RegExp(`ASSIGNMENT[\\s\\S]*${t}:0`));
    await ok(['produce', t, '-q'], { stdin: 'one\ntwo\n' });
    await waitFor('both records printed', () => out === 'one\ntwo\n', { timeoutMs: 15_000, intervalMs: 100 });
    child.kill('SIGINT');
    assert.equal(await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running'), 15_000))]), 0, err);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  assert.match(err, /consumed 2 records \(stopped by SIGINT\)/);
  const [d] = await json<GroupJson[]>(['groups', 'describe', g]);
  assert.deepEqual(d!.offsets.map((o) => [o.partition, o.committed, o.lag]), [[0, 2, 0]]);
});

test('configs set, get and delete on a topic; get on a broker', async () => {
  const t = topicName('cli-configs');
  await ok(['topics', 'create', t]);
  await ok(['configs', 'set', '--topic', t, 'retention.ms=7200000', 'segment.bytes=1048576']);
  type Entry = { name: string; value: string | null; source: string };
  const got = await json<Entry[]>(['configs', 'get', '--topic', t, 'retention.ms', 'segment.bytes', 'cleanup.policy']);
  assert.deepEqual(got.map((e) => [e.name, e.value, e.source]), [
    ['cleanup.policy', 'delete', 'default'],
    ['retention.ms', '7200000', 'topic'],
    ['segment.bytes', '1048576', 'topic'],
  ]);
  assert.deepEqual((await json<Entry[]>(['configs', 'get', '--topic', t, '--non-default'])).map((e) => e.name), ['retention.ms', 'segment.bytes']);
  await ok(['configs', 'delete', '--topic', t, 'retention.ms']);
  const after = await json<Entry[]>(['configs', 'get', '--topic', t, 'retention.ms']);
  assert.deepEqual(after.map((e) => [e.name, e.value, e.source]), [['retention.ms', '604800000', 'default']]);
  assert.match(await ok(['configs', 'get', '--topic', t, 'segment.bytes']), /^segment\.bytes\s+1048576\s+topic$/m);

  const brokerConfigs = await json<Entry[]>(['configs', 'get', '--broker', String(broker.nodeId)]);
  assert.equal(brokerConfigs.find((e) => e.name === 'group.initial.rebalance.delay.ms')?.value, '0');
  assertError(await fjord(['configs', 'set', '--topic', t, 'retention.ms']), 2, /expects KEY=VALUE/);
  assertError(await fjord(['configs', 'get', t]), 2, /exactly one of --topic TOPIC, --broker ID or --broker-defaults/);
  assertError(await fjord(['configs', 'set', '--topic', t, 'retention.ms=soon']), 1, /retention\.ms/);
});

test('records delete moves the log start; consume from the beginning starts there', async () => {
  const t = topicName('cli-records');
  await ok(['topics', 'create', t, '-p', '2']);
  await ok(['produce', t, '-p', '0', '-q'], { stdin: 'r0\nr1\nr2\nr3\nr4\n' });
  await ok(['produce', t, '-p', '1', '-q'], { stdin: 's0\ns1\n' });
  const res = await json<Array<{ topic: string; partition: number; lowWatermark: number }>>(['records', 'delete', t, '--partition', '0', '--before', '3']);
  assert.deepEqual(res, [{ topic: t, partition: 0, lowWatermark: 3 }]);
  assert.equal(await ok(['consume', t, '-p', '0', '--count', '2', '-q']), 'r3\nr4\n');
  assert.equal((await json<DescribedTopic[]>(['topics', 'describe', t]))[0]!.partitions[0]!.startOffset, 3);
  await ok(['records', 'delete', t, '--all-partitions', '--before', 'end']);
  assert.equal(await ok(['consume', t, '--idle-timeout', '800', '-q']), '');
  assertError(await fjord(['records', 'delete', t, '-p', '0', '--before', '99']), 1, /offset/);
  assertError(await fjord(['records', 'delete', t, '-p', '5', '--before', '1']), 1, /partition 5 does not exist/);
});

test('interop: fjord consume reads what kcat wrote, kcat reads what fjord produce wrote', async () => {
  const t = topicName('cli-kcat-in');
  await ok(['topics', 'create', t, '-p', '3']);
  const records = Array.from({ length: 20 }, (_, i) => ({ key: `key-${i}`, value: `value ${i} ü`, headers: [] as Array<[string, string]> }));
  await kcatProduceOk(broker.bootstrap, t, records, { headers: [['origin', 'kcat'], ['n', '1']] });
  const read = await consumeJson(t, 20);
  assert.deepEqual(read.map((r) => [r.key, r.value]).sort(), records.map((r) => [r.key, r.value]).sort());
  for (const r of read) assert.deepEqual(r.headers, { origin: 'kcat', n: '1' });

  const t2 = topicName('cli-kcat-out');
  await ok(['topics', 'create', t2, '-p', '3']);
  const lines = Array.from({ length: 20 }, (_, i) => `k${i}|v${i} ✓`).join('\n');
  await ok(['produce', t2, '--key-separator', '|', '-H', 'origin=fjord', '-H', 'empty=', '--compression', 'lz4', '-q'], { stdin: lines });
  const back = await kcatConsume(broker.bootstrap, t2);
  assert.deepEqual(back.map((r) => [r.key, r.value]).sort(), Array.from({ length: 20 }, (_, i) => [`k${i}`, `v${i} ✓`]).sort());
  for (const r of back) assert.deepEqual(r.headers, [['origin', 'fjord'], ['empty', '']]);
  // Keys land where librdkafka's murmur2_random (Java's partitioner) puts them: kcat's own records agree.
  const kcatSide = topicName('cli-kcat-part');
  await ok(['topics', 'create', kcatSide, '-p', '3']);
  await kcatProduceOk(broker.bootstrap, kcatSide, Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: 'x', headers: [] })));
  const where = (rs: Array<{ key: string | null; partition: number }>) => new Map(rs.map((r) => [r.key, r.partition]));
  assert.deepEqual(where(back), where(await kcatConsume(broker.bootstrap, kcatSide)));
});

test('--transactional-id: committed at the end of input, aborted on a bad line', async () => {
  const t = topicName('cli-txn');
  await ok(['topics', 'create', t]);
  const good = await fjord(['produce', t, '--transactional-id', 'cli-txn-1'], { stdin: 'a\nb\nc\n' });
  assert.equal(good.code, 0, good.stderr);
  assert.match(good.stderr, /produced 3 of 3 records .*\(transaction committed\)/);
  const bad = await fjord(['produce', t, '--format', 'json', '--transactional-id', 'cli-txn-1'], { stdin: '{"value":"x"}\n{"value":"y"}\nnot json\n' });
  assertError({ ...bad, stderr: bad.stderr.split('\n').filter((l) => !l.startsWith('produced')).join('\n') }, 1, /stdin line 3: not valid JSON/);
  assert.match(bad.stderr, /transaction aborted/);
  assert.equal(await ok(['consume', t, '--isolation', 'read_committed', '--idle-timeout', '1000', '-q']), 'a\nb\nc\n');
  assert.equal(await ok(['consume', t, '--count', '5', '-q']), 'a\nb\nc\nx\ny\n', 'read_uncommitted sees the aborted records');
});

test('bad input: one line naming the problem, the documented exit code, a stack only with --verbose', async () => {
  const t = topicName('cli-bad');
  await ok(['topics', 'create', t]);
  assertError(await fjord(['topics', 'list', '--bogus']), 2, /unknown flag --bogus \(see 'fjord topics list --help'\)/);
  assertError(await fjord(['topics', 'create', 'x', '--partitions', 'abc']), 2, /--partitions expects an integer, got 'abc'/);
  assertError(await fjord(['topics', 'create', 'x', '--partitions', '0']), 2, /--partitions expects an integer >= 1/);
  assertError(await fjord(['topics', 'create']), 2, /missing TOPIC/);
  assertError(await fjord(['produce']), 2, /missing TOPIC/);
  assertError(await fjord(['consume', t, '--from', 'yesterday']), 2, /--from expects/);
  assertError(await fjord(['consume', t, '--format', 'xml']), 2, /--format expects one of value, kv, json, template, got 'xml'/);
  assertError(await fjord(['consume', t, '--template', '{nope}']), 2, /unknown placeholder \{nope\}/);
  assertError(await fjord(['produce', t, '--acks', '2']), 2, /--acks expects one of/);
  assertError(await fjord(['groups', 'reset-offsets', 'g', '--topic', t]), 2, /exactly one of --to-earliest/);
  assertError(await fjord(['groups', 'reset-offsets', 'g', '--topic', `${t}:x`, '--to-earliest']), 2, /partition expects an integer/);
  assertError(await fjord(['topics', 'nonsense']), 2, /unknown subcommand 'nonsense'/);
  assertError(await fjord(['nonsense']), 2, /unknown command 'nonsense'/);
  assertError(await fjord(['topics', 'list', '--bootstrap', 'nohostport']), 2, /--bootstrap expects HOST:PORT/);
  assertError(await fjord(['produce', t, '--file', join(tmp, 'missing.txt')]), 2, /cannot read --file .*missing\.txt: ENOENT/);

  // Missing topics.
  for (const args of [['consume', 'no-such-topic'], ['produce', 'no-such-topic'], ['topics', 'describe', 'no-such-topic'], ['records', 'delete', 'no-such-topic', '--all-partitions', '--before', 'end']]) {
    assertError(await fjord(args, { stdin: 'x\n' }), 1, /topic 'no-such-topic' does not exist \(create it with: fjord topics create no-such-topic\)/);
  }
  assertError(await fjord(['produce', t, '-p', '3'], { stdin: 'x\n' }), 1, /partition 3 does not exist/);

  // Unreachable broker: a port with nothing listening.
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as { port: number }).port;
  await new Promise<void>((r) => blocker.close(() => r()));
  const started = Date.now();
  const dead = await fjord(['topics', 'list', '--bootstrap', `127.0.0.1:${port}`, '--timeout', '1000']);
  assertError(dead, 3, new RegExp(`cannot connect to 127\\.0\\.0\\.1:${port} within 1000 ms \\(is the broker running\\? set --bootstrap or FJORD_BOOTSTRAP\\)`));
  assert.ok(Date.now() - started < 10_000, 'bounded by --timeout');
  assertError(await fjord(['consume', t, '--timeout', '1000'], { env: { FJORD_BOOTSTRAP: `127.0.0.1:${port}` } }), 3, /cannot connect/);
  const verbose = await fjord(['cluster', 'info', '-b', `127.0.0.1:${port}`, '--timeout', '500', '--verbose']);
  assert.equal(verbose.code, 3);
  assert.match(verbose.stderr, /^fjord: cannot connect/);
  assert.match(verbose.stderr, /\n\s+at /, 'a stack trace with --verbose');
  // --bootstrap wins over FJORD_BOOTSTRAP; common flags may come before the command.
  await ok(['-b', broker.bootstrap, 'cluster', 'info'], { env: { FJORD_BOOTSTRAP: `127.0.0.1:${port}` } });
});

test('--help of every command shows examples and exit codes; completion scripts load in bash', async () => {
  for (const args of [['topics', 'create'], ['topics', 'describe'], ['produce'], ['consume'], ['groups', 'reset-offsets'], ['configs', 'set'], ['records', 'delete'], ['cluster', 'info']]) {
    const help = await ok([...args, '--help']);
    assert.match(help, new RegExp(`^Usage: fjord ${args.join(' ')}`));
    assert.match(help, /Examples:/);
    assert.match(help, /Exit codes: 0 ok, 1 operation failed/);
    assert.match(help, /--bootstrap/);
  }
  assert.match(await ok(['--help']), /Exit codes: 0 ok/);
  assert.match(await ok(['groups', '--help']), /reset-offsets/);

  // `fjord` on PATH, as a user has it.
  const bin = join(tmp, 'bin');
  await mkdir(bin, { recursive: true });
  await symlink(cliPath, join(bin, 'fjord')).catch(() => {});
  const env = { ...process.env, PATH: `${bin}:${process.env['PATH']}`, FJORD_BOOTSTRAP: broker.bootstrap };
  const bash = async (script: string): Promise<RunResult> => run('bash', ['-c', script], { timeoutMs: 20_000, env });
  const loaded = await bash('source <(fjord completion bash) && complete -p fjord');
  assert.equal(loaded.code, 0, loaded.stderr);
  assert.equal(loaded.stderr, '');
  assert.match(loaded.stdout, /complete -o default -F _fjord fjord/);
  const complete = async (...words: string[]): Promise<string[]> => {
    const r = await bash(`source <(fjord completion bash); COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _fjord; printf '%s\\n' "\${COMPREPLY[@]}"`);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.split('\n').filter((l) => l !== '').sort();
  };
  assert.deepEqual(await complete('fjord', 'to'), ['topics']);
  assert.deepEqual(await complete('fjord', 'topics', 'a'), ['add-partitions', 'alter']);
  assert.deepEqual(await complete('fjord', 'consume', 'x', '--fo'), ['--format']);
  assert.deepEqual(await complete('fjord', 'consume', 'x', '--format', ''), ['json', 'kv', 'template', 'value']);
  assert.deepEqual(await complete('fjord', 'groups', 'reset-offsets', 'g', '--to-e'), ['--to-earliest']);
  const t = topicName('cli-complete');
  await ok(['topics', 'create', t]);
  assert.ok((await complete('fjord', 'produce', 'cli-complete')).includes(t), 'topic names from the cluster');
  const zsh = await ok(['completion', 'zsh']);
  assert.match(zsh, /^#compdef fjord/);
  assert.match(zsh, /compdef _fjord fjord/);
  assertError(await fjord(['completion', 'fish']), 2, /unknown shell 'fish'/);
});
