// Acceptance: a clean restart (SIGTERM, exit 0) keeps topics, configs, offsets (including a log start
// offset moved by DeleteRecords) and data; and the start after a clean shutdown does not rescan the log.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type Broker } from '../harness/broker.js';
import { kcatMetadata } from '../harness/kcat.js';
import { py } from '../harness/python.js';
import { ConfigSource, consumeCk, createTopics, produceCk, watermarksCk, type TopicSpec } from '../harness/fixtures.js';
import { diffRecords, expectLayout, makeRecords, type ReadRecord } from '../harness/records.js';
import { startupStats } from '../harness/startup.js';
import { metadataV12, withConnection } from '../harness/wire.js';

let broker: Broker;
const topics: Array<TopicSpec & { num_partitions: number }> = [
  { name: 'restart-a', num_partitions: 3, config: { 'retention.ms': '86400000', 'cleanup.policy': 'delete', 'max.message.bytes': '200000' } },
  { name: 'restart-b', num_partitions: 1, config: { 'segment.bytes': '65536' } },
];
const baseTimestamp = Math.floor(Date.now() / 1000) * 1000 - 600_000;
const recordsA = makeRecords(600, { tag: 'restart-a', baseTimestamp });
const recordsB = makeRecords(2000, { tag: 'restart-b', baseTimestamp }).map((r) => ({ ...r, partition: 0 }));

interface Snapshot {
  topicIds: Record<string, string>;
  partitions: Record<string, number>;
  configs: Record<string, Record<string, { value: string | null; source: number }>>;
  marks: Record<string, Record<number, [number, number]>>;
  data: Record<string, ReadRecord[]>;
}

async function snapshot(): Promise<Snapshot> {
  const md = await kcatMetadata(broker.bootstrap);
  const partitions: Record<string, number> = {};
  for (const t of md.topics) if (t.topic.startsWith('restart-')) partitions[t.topic] = t.partitions.length;
  const configs: Snapshot['configs'] = {};
  const marks: Snapshot['marks'] = {};
  const data: Snapshot['data'] = {};
  for (const t of topics) {
    const r = await py('ck', 'describe_configs', { bootstrap: broker.bootstrap, resources: [{ type: 'topic', name: t.name }] });
    const c = r.configs[t.name] as Record<string, { value: string | null; source: number }>;
    configs[t.name] = Object.fromEntries(Object.entries(c).map(([k, v]) => [k, { value: v.value, source: v.source }]));
    marks[t.name] = await watermarksCk(broker.bootstrap, t.name, Array.from({ length: t.num_partitions }, (_, i) => i));
    data[t.name] = (await consumeCk(broker.bootstrap, [{ topic: t.name }])).sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  }
  const v12 = await withConnection(broker.host, broker.port, (c) => metadataV12(c, topics.map((t) => t.name)));
  const topicIds = Object.fromEntries(v12.topics.map((t) => [t.name, t.topicId]));
  return { topicIds, partitions, configs, marks, data };
}

before(async () => {
  broker = await startBroker({ configs: { 'log.segment.bytes': 1_048_576 } });
  await createTopics(broker.bootstrap, topics);
  await produceCk(broker.bootstrap, 'restart-a', recordsA, { codec: 'lz4' });
  await produceCk(broker.bootstrap, 'restart-b', recordsB, { config: { 'batch.num.messages': 50 } });
  // Move the log start offset of restart-b: it must survive the restart too.
  const dr = await py('kp', 'delete_records', { bootstrap: broker.bootstrap, partitions: [{ topic: 'restart-b', partition: 0, offset: 700 }] });
  assert.equal(dr.results[0].error_code, 0, `DeleteRecords: ${JSON.stringify(dr)}`);
}, { timeout: 180_000 });
after(async () => {
  await broker?.dispose();
}, { timeout: 180_000 });

describe('clean restart', () => {
  let before: Snapshot;

  test('state before the restart is what was written', { timeout: 120_000 }, async () => {
    before = await snapshot();
    assert.deepEqual(before.partitions, { 'restart-a': 3, 'restart-b': 1 });
    assert.deepEqual(diffRecords(expectLayout(recordsA, 3), before.data['restart-a']!), []);
    assert.deepEqual(before.marks['restart-b']![0], [700, 2000]);
    assert.equal(before.data['restart-b']!.length, 1300);
    assert.equal(before.configs['restart-a']!['retention.ms']!.value, '86400000');
    assert.equal(before.configs['restart-a']!['retention.ms']!.source, ConfigSource.DYNAMIC_TOPIC_CONFIG);
  });

  test('SIGTERM exits 0; after restart topics, configs, offsets and data are identical', { timeout: 120_000 }, async () => {
    assert.ok(before, 'no snapshot');
    const code = await broker.stop();
    assert.equal(code, 0, `exit code after SIGTERM\n${broker.currentLogs().slice(-3000)}`);
    await broker.restart();
    const afterRestart = await snapshot();
    assert.deepEqual(afterRestart.topicIds, before.topicIds, 'topic ids');
    assert.deepEqual(afterRestart.partitions, before.partitions);
    assert.deepEqual(afterRestart.configs, before.configs);
    assert.deepEqual(afterRestart.marks, before.marks);
    assert.deepEqual(afterRestart.data, before.data);
  });

  test('the start after a clean shutdown scans nothing', { timeout: 60_000 }, async () => {
    const stats = startupStats(broker.currentLogs());
    assert.ok(
      stats,
      'the broker logged no start-up report (expected `broker started ... cleanShutdown=true recoveredSegments=0 bytesScannedAtStartup=0` ' +
        `or \`fjord: loaded N partitions (clean shutdown: no recovery)\`)\n${broker.currentLogs().slice(-2000)}`,
    );
    assert.equal(stats.cleanShutdown, true, stats.line);
    assert.equal(stats.recoveredSegments ?? 0, 0, stats.line);
    assert.equal(stats.bytesScanned ?? 0, 0, stats.line);
  });

  test('writes continue at the next offsets after the restart', { timeout: 60_000 }, async () => {
    const d = await produceCk(broker.bootstrap, 'restart-b', [{ key: 'k', value: 'after-restart', headers: [], partition: 0 }]);
    assert.equal(d[0]!.offset, 2000);
  });

  test('SIGINT also shuts down cleanly', { timeout: 60_000 }, async () => {
    const proc = broker.proc;
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c)));
    proc.kill('SIGINT');
    assert.equal(await exited, 0);
    await broker.restart();
    const stats = startupStats(broker.currentLogs());
    assert.equal(stats?.cleanShutdown, true, stats?.line ?? 'no start-up report');
    const marks = await watermarksCk(broker.bootstrap, 'restart-b', [0]);
    assert.deepEqual(marks[0], [700, 2001]);
  });
});
