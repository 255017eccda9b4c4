// Acceptance (issue 5) for @fjord/client's Admin against a Fjord broker, every outcome checked by
// reading it back, mostly through another client: createPartitions seen by kcat -L; configs set with
// incrementalAlterConfigs/alterConfigs seen by confluent-kafka-python's describe_configs; deleteRecords
// seen by kcat reading from the beginning; offsets committed by confluent-kafka reset (earliest, latest,
// offset, timestamp, shiftBy, dry run) and then resumed by a confluent-kafka group member; exact lag;
// deleted groups and group offsets gone from listGroups/listGroupOffsets; log dirs; a running
// transaction in listTransactions/describeTransactions/describeProducers. Bad input: Kafka's codes
// for broker refusals, ConfigError for bad arguments.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Admin, ConfigError, Consumer, ErrorCode, KafkaError, Producer, type OffsetSpec } from '@fjord/client';
import { startBroker, type Broker } from '../harness/broker.js';
import { kcatConsume, kcatMetadata } from '../harness/kcat.js';
import { py } from '../harness/python.js';
import { startMember, stopAll, type Member } from '../harness/members.js';
import { waitFor } from '../harness/util.js';

let broker: Broker;
let admin: Admin;
let producer: Producer;
const closers: Array<() => Promise<unknown>> = [];
const members: Member[] = [];
/** Record timestamps: record i of a partition is stamped base + i * 1000. */
const base = Date.now() - 3_600_000;

before(async () => {
  broker = await startBroker({ configs: { 'group.initial.rebalance.delay.ms': 0, 'group.min.session.timeout.ms': 1000 } });
  admin = new Admin({ bootstrapServers: broker.bootstrap, apiTimeoutMs: 15_000 });
  producer = new Producer({ bootstrapServers: broker.bootstrap, lingerMs: 0, maxBlockMs: 10_000 });
}, { timeout: 60_000 });

after(async () => {
  await stopAll(members);
  for (const c of closers) await c().catch(() => {});
  await producer?.close({ timeoutMs: 2_000 }).catch(() => {});
  await admin?.close();
  await broker?.dispose();
}, { timeout: 60_000 });

async function produce(topic: string, counts: number[]): Promise<void> {
  const records = counts.flatMap((n, partition) => Array.from({ length: n }, (_, i) => ({ topic, partition, key: `k${i}`, value: `${topic}-${partition}-${i}`, timestamp: base + i * 1000 })));
  // One partition at a time keeps each partition's offsets in timestamp order.
  for (let p = 0; p < counts.length; p++) await producer.sendBatch(records.filter((r) => r.partition === p));
}

async function rejects(p: Promise<unknown>, code: number, pattern?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof KafkaError, `expected KafkaError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, String(e));
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

async function configError(p: Promise<unknown>, option: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof ConfigError && e.option === option, `expected ConfigError for ${option}`);
}

const offsetsOf = async (group: string, topics?: string[]): Promise<Record<string, number>> =>
  Object.fromEntries((await admin.listGroupOffsets(group, topics ? { topics } : {})).map((c) => [`${c.topic}-${c.partition}`, Number(c.offset)]));

/** confluent-kafka-python commits for a group without joining it (generation -1). */
async function ckCommit(group: string, offsets: Array<{ topic: string; partition: number; offset: number }>): Promise<void> {
  const r = await py<{ error: unknown; partitions?: Record<string, unknown> }>('ck', 'commit', { bootstrap: broker.bootstrap, group, offsets });
  assert.equal(r.error, null, JSON.stringify(r));
}

test('createPartitions raises the count (describeTopics and kcat -L agree); lowering, unknown topics and bad counts are refused', { timeout: 30_000 }, async () => {
  await admin.createTopics([{ name: 'adm-parts', numPartitions: 2 }]);
  await admin.createPartitions([{ topic: 'adm-parts', count: 8 }], { validateOnly: true });
  assert.equal((await admin.describeTopics(['adm-parts']))[0]!.partitions.length, 2, 'validateOnly changes nothing');
  await admin.createPartitions([{ topic: 'adm-parts', count: 5 }]);
  assert.deepEqual((await admin.describeTopics(['adm-parts']))[0]!.partitions.map((p) => p.partition), [0, 1, 2, 3, 4]);
  const md = await kcatMetadata(broker.bootstrap, 'adm-parts');
  assert.equal(md.topics.find((t) => t.topic === 'adm-parts')!.partitions.length, 5, 'kcat -L sees 5 partitions');

  await rejects(admin.createPartitions([{ topic: 'adm-parts', count: 3 }]), ErrorCode.INVALID_PARTITIONS, /adm-parts/);
  await rejects(admin.createPartitions([{ topic: 'adm-no-such-topic', count: 3 }]), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, /adm-no-such-topic/);
  await configError(admin.createPartitions([{ topic: 'adm-parts', count: -1 }]), 'topics[].count');
  await configError(admin.createPartitions([{ topic: '', count: 3 }]), 'topics[].topic');
  await configError(admin.createPartitions([]), 'topics');
});

test('incrementalAlterConfigs set/append/subtract/delete and alterConfigs replace; confluent-kafka sees retention.ms; bad names refused', { timeout: 30_000 }, async () => {
  await admin.createTopics([{ name: 'adm-configs', numPartitions: 1 }]);
  const config = async (name: string) => (await admin.describeConfigs([{ type: 'topic', name: 'adm-configs', keys: [name] }]))[0]!.entries[0]!;

  await admin.incrementalAlterConfigs([{ type: 'topic', name: 'adm-configs', ops: [{ name: 'retention.ms', op: 'set', value: '123456' }, { name: 'cleanup.policy', op: 'set', value: 'delete' }] }]);
  const retention = await config('retention.ms');
  assert.equal(retention.value, '123456');
  assert.equal(retention.source, 1, 'a dynamic topic config');
  const ck = await py<{ configs: Record<string, Record<string, { value: string; source: number }>> }>('ck', 'describe_configs', { bootstrap: broker.bootstrap, resources: [{ type: 'topic', name: 'adm-configs' }] });
  assert.equal(ck.configs['adm-configs']!['retention.ms']!.value, '123456', 'confluent-kafka-python describe_configs sees it');
  assert.equal(ck.configs['adm-configs']!['retention.ms']!.source, 1);

  await admin.incrementalAlterConfigs([{ type: 'topic', name: 'adm-configs', ops: [{ name: 'cleanup.policy', op: 'append', value: 'compact' }] }]);
  assert.equal((await config('cleanup.policy')).value, 'delete,compact');
  await admin.incrementalAlterConfigs([{ type: 'topic', name: 'adm-configs', ops: [{ name: 'cleanup.policy', op: 'subtract', value: 'delete' }] }]);
  assert.equal((await config('cleanup.policy')).value, 'compact');

  await admin.incrementalAlterConfigs([{ type: 'topic', name: 'adm-configs', ops: [{ name: 'retention.ms', op: 'delete' }] }], { validateOnly: true });
  assert.equal((await config('retention.ms')).value, '123456', 'validateOnly changes nothing');
  await admin.incrementalAlterConfigs([{ type: 'topic', name: 'adm-configs', ops: [{ name: 'retention.ms', op: 'delete' }] }]);
  const back = await config('retention.ms');
  assert.equal(back.value, '604800000', 'back to the default');
  assert.equal(back.isDefault, true);

  // Legacy AlterConfigs replaces the whole set: cleanup.policy's override goes.
  await admin.alterConfigs([{ type: 'topic', name: 'adm-configs', configs: { 'max.message.bytes': '20000' } }]);
  assert.equal((await config('max.message.bytes')).value, '20000');
  assert.equal((await config('cleanup.policy')).value, 'delete');
  assert.equal((await config('cleanup.policy')).isDefault, true);

  // A broker resource goes to that broker.
  const brokerId = String(broker.nodeId);
  await admin.incrementalAlterConfigs([{ type: 'broker', name: brokerId, ops: [{ name: 'log.retention.ms', op: 'set', value: '7200000' }] }]);
  const be = (await admin.describeConfigs([{ type: 'broker', name: brokerId, keys: ['log.retention.ms'] }]))[0]!.entries[0]!;
  assert.equal(be.value, '7200000');
  await admin.incrementalAlterConfigs([{ type: 'broker', name: brokerId, ops: [{ name: 'log.retention.ms', op: 'delete' }] }]);

  await rejects(admin.incrementalAlterConfigs([{ type: 'topic', name: 'adm-configs', ops: [{ name: 'no.such.config', op: 'set', value: '1' }] }]), ErrorCode.INVALID_CONFIG, /adm-configs/);
  await rejects(admin.incrementalAlterConfigs([{ type: 'topic', name: 'adm-configs', ops: [{ name: 'retention.ms', op: 'set', value: 'soon' }] }]), ErrorCode.INVALID_CONFIG);
  await rejects(admin.alterConfigs([{ type: 'topic', name: 'adm-configs', configs: { 'no.such.config': '1' } }]), ErrorCode.INVALID_CONFIG);
  await rejects(admin.incrementalAlterConfigs([{ type: 'topic', name: 'adm-no-such-topic', ops: [{ name: 'retention.ms', op: 'set', value: '1' }] }]), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  await configError(admin.incrementalAlterConfigs([{ type: 'topic', name: 'adm-configs', ops: [{ name: 'retention.ms', op: 'set' }] }]), 'resources[].ops[].value');
  await configError(admin.incrementalAlterConfigs([{ type: 'topic', name: 'adm-configs', ops: [{ name: 'retention.ms', op: 'replace' as 'set', value: '1' }] }]), 'resources[].ops[].op');
  await configError(admin.alterConfigs([{ type: 'broker', name: 'b1', configs: {} }]), 'resources[].name');
  await configError(admin.alterConfigs([{ type: 'broker', name: '99', configs: {} }]), 'brokerIds');
  assert.equal((await config('max.message.bytes')).value, '20000', 'refusals change nothing');
});

test('listOffsets by spec; deleteRecords moves the low watermark and kcat reading from the beginning starts there', { timeout: 30_000 }, async () => {
  await admin.createTopics([{ name: 'adm-records', numPartitions: 2 }]);
  await produce('adm-records', [20, 5]);
  const tp = (partition: number) => ({ topic: 'adm-records', partition });
  const one = async (partition: number, spec: OffsetSpec) => (await admin.listOffsets([{ ...tp(partition), spec }]))[0]!;
  assert.deepEqual(await admin.listOffsets([{ ...tp(0), spec: 'earliest' }, { ...tp(1), spec: 'latest' }]), [
    { ...tp(0), offset: 0n, timestamp: -1n, leaderEpoch: 0 },
    { ...tp(1), offset: 5n, timestamp: -1n, leaderEpoch: 0 },
  ]);
  assert.equal((await one(0, 'latest')).offset, 20n);
  const byTime = await one(0, { timestamp: base + 5_500 });
  assert.deepEqual([byTime.offset, byTime.timestamp], [6n, BigInt(base + 6_000)], 'the first record at or after the time');
  assert.equal((await one(0, { timestamp: base + 999_999 })).offset, -1n, 'none after every record');
  const max = await one(0, 'max-timestamp');
  assert.deepEqual([max.offset, max.timestamp], [19n, BigInt(base + 19_000)]);
  assert.deepEqual(await admin.listOffsets([{ ...tp(0), spec: 'latest' }], { isolationLevel: 'read_committed' }).then((x) => x[0]!.offset), 20n);

  const del = await admin.deleteRecords([{ ...tp(0), beforeOffset: 7n }, { ...tp(1), beforeOffset: -1n }]);
  assert.deepEqual(del, [{ ...tp(0), lowWatermark: 7n }, { ...tp(1), lowWatermark: 5n }]);
  assert.deepEqual((await admin.listOffsets([{ ...tp(0), spec: 'earliest' }, { ...tp(1), spec: 'earliest' }])).map((x) => x.offset), [7n, 5n]);
  const read = await kcatConsume(broker.bootstrap, 'adm-records', { partition: 0, offset: 'beginning', timeoutMs: 20_000 });
  assert.deepEqual(read.map((x) => x.offset), Array.from({ length: 13 }, (_, i) => 7 + i), 'kcat from the beginning starts at the new low watermark');
  assert.equal(read[0]!.value, 'adm-records-0-7');

  await rejects(admin.deleteRecords([{ ...tp(0), beforeOffset: 21n }]), ErrorCode.OFFSET_OUT_OF_RANGE, /adm-records-0/);
  await rejects(admin.listOffsets([{ topic: 'adm-no-such-topic', partition: 0, spec: 'latest' }]), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, /adm-no-such-topic/);
  await rejects(admin.listOffsets([{ ...tp(9), spec: 'latest' }]), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, /adm-records-9/);
  await configError(admin.deleteRecords([{ ...tp(0), beforeOffset: 3 as unknown as bigint }]), 'partitions[].beforeOffset');
  await configError(admin.deleteRecords([{ ...tp(0), beforeOffset: -2n }]), 'partitions[].beforeOffset');
  await configError(admin.listOffsets([{ ...tp(0), spec: 'newest' as 'latest' }]), 'partitions[].spec');
  await configError(admin.listOffsets([{ ...tp(-1), spec: 'latest' }]), 'partitions[].partition');
  await configError(admin.listOffsets([{ ...tp(0), spec: 'latest' }, { ...tp(0), spec: 'earliest' }]), 'partitions');
});

describe('group offsets', () => {
  const topic = 'adm-reset';
  const group = 'adm-reset-g';
  const tps = [{ topic, partition: 0 }, { topic, partition: 1 }];
  const committedByCk = async () => (await py<{ offsets: Record<string, number> }>('ck', 'committed', { bootstrap: broker.bootstrap, group, topic, partitions: [0, 1] })).offsets;

  test('resetGroupOffsets of confluent-kafka commits: dry run, earliest, latest, offset, timestamp, shiftBy; a confluent member resumes there', { timeout: 45_000 }, async () => {
    await admin.createTopics([{ name: topic, numPartitions: 2 }]);
    await produce(topic, [10, 10]);
    await admin.deleteRecords([{ topic, partition: 0, beforeOffset: 2n }]);
    await ckCommit(group, [{ topic, partition: 0, offset: 4 }, { topic, partition: 1, offset: 6 }]);

    const dry = await admin.resetGroupOffsets(group, { topics: [topic], to: 'earliest', dryRun: true });
    assert.deepEqual(dry, [{ topic, partition: 0, previous: 4n, offset: 2n }, { topic, partition: 1, previous: 6n, offset: 0n }]);
    assert.deepEqual(await committedByCk(), { '0': 4, '1': 6 }, 'a dry run commits nothing');

    const steps: Array<[Parameters<Admin['resetGroupOffsets']>[1]['to'], [number, number]]> = [
      ['earliest', [2, 0]],
      ['latest', [10, 10]],
      [{ offset: 5n }, [5, 5]],
      [{ shiftBy: -4 }, [2, 1]], // 5 - 4 = 1, clamped to partition 0's log start 2
      [{ shiftBy: 100 }, [10, 10]], // clamped to the log end
      [{ offset: 0n }, [2, 0]],
      [{ offset: 99n }, [10, 10]],
      [{ timestamp: base + 2_500 }, [3, 3]],
      [{ timestamp: base + 999_999 }, [10, 10]], // after every record: the log end
    ];
    let previous: [number, number] = [4, 6];
    for (const [to, expected] of steps) {
      const res = await admin.resetGroupOffsets(group, { topics: [topic], to });
      assert.deepEqual(res.map((x) => [Number(x.previous), Number(x.offset)]), [[previous[0], expected[0]], [previous[1], expected[1]]], JSON.stringify(to, (_, v) => (typeof v === 'bigint' ? String(v) : v)));
      assert.deepEqual(await committedByCk(), { '0': expected[0], '1': expected[1] }, 'confluent-kafka reads the committed offsets back');
      previous = expected;
    }

    // One partition only.
    await admin.resetGroupOffsets(group, { topics: [{ topic, partition: 1 }], to: { offset: 7n } });
    assert.deepEqual(await offsetsOf(group), { [`${topic}-0`]: 10, [`${topic}-1`]: 7 });
    await admin.resetGroupOffsets(group, { topics: [topic], to: { offset: 6n } });

    // A confluent-kafka member of the group starts where the reset put it.
    const m = startMember('ck-resume', 'ck', broker.bootstrap, { group, topic, commit: 'sync', max_records: 8, max_seconds: 30, session_timeout_ms: 6000 });
    members.push(m);
    await waitFor('the member to read 8 records', () => m.events.filter((e) => e.ev === 'rec').length >= 8 || m.events.some((e) => e.ev === 'closed') || undefined, { timeoutMs: 30_000 });
    const recs = m.events.filter((e) => e.ev === 'rec');
    assert.deepEqual(recs.map((e) => `${e.p}@${e.o}`).sort(), ['0@6', '0@7', '0@8', '0@9', '1@6', '1@7', '1@8', '1@9']);
    await m.stop();
    await configError(admin.resetGroupOffsets(group, { topics: [topic], to: { offset: 3 } as unknown as { offset: bigint } }), 'to.offset');
    await configError(admin.resetGroupOffsets(group, { topics: [], to: 'latest' }), 'topics');
    await configError(admin.resetGroupOffsets('adm-fresh-group', { topics: [topic], to: { shiftBy: 1 } }), 'to.shiftBy');
    await rejects(admin.resetGroupOffsets(group, { topics: ['adm-no-such-topic'], to: 'latest' }), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  test('describeGroups describes a KIP-848 group (ConsumerGroupDescribe) with its members and their partitions', { timeout: 30_000 }, async () => {
    const g848 = 'adm-kip848-g';
    const c = new Consumer({ bootstrapServers: broker.bootstrap, groupId: g848, groupProtocol: 'consumer', autoOffsetReset: 'earliest', enableAutoCommit: false, fetchMaxWaitMs: 100 });
    closers.push(() => c.close());
    c.subscribe([topic]);
    const ac = new AbortController();
    const reading = (async () => {
      for await (const b of c.batches({ signal: ac.signal })) void b;
    })();
    await waitFor('the member to hold both partitions', async () => ((await admin.describeGroups([g848]))[0]?.members[0]?.assignment.length === 2 ? true : undefined), { timeoutMs: 20_000 });
    const [d] = await admin.describeGroups([g848]);
    assert.equal(d!.type, 'consumer');
    assert.equal(d!.protocolType, 'consumer');
    assert.equal(d!.state, 'Stable');
    assert.deepEqual(d!.members[0]!.assignment.map((tp) => `${tp.topic}-${tp.partition}`).sort(), [`${topic}-0`, `${topic}-1`]);
    ac.abort();
    await reading;
    await c.close();
  });

  test('alterGroupOffsets is refused while the group has an active member (and works once it left); deleteGroups too', { timeout: 30_000 }, async () => {
    const c = new Consumer({ bootstrapServers: broker.bootstrap, groupId: group, autoOffsetReset: 'earliest', enableAutoCommit: false, sessionTimeoutMs: 6_000, heartbeatIntervalMs: 300, fetchMaxWaitMs: 100 });
    closers.push(() => c.close());
    c.subscribe([topic]);
    const ac = new AbortController();
    const reading = (async () => {
      for await (const b of c.batches({ signal: ac.signal })) void b;
    })();
    await waitFor('the consumer to join', async () => ((await admin.describeGroups([group]))[0]!.state === 'Stable' ? true : undefined), { timeoutMs: 20_000 });
    const [described] = await admin.describeGroups([group]);
    assert.equal(described!.type, 'classic');
    assert.deepEqual(described!.members.map((m) => m.assignment.map((tp) => `${tp.topic}-${tp.partition}`).sort()), [[`${topic}-0`, `${topic}-1`]], 'the member holds both partitions');

    await rejects(admin.alterGroupOffsets(group, [{ topic, partition: 0, offset: 1n }]), ErrorCode.UNKNOWN_MEMBER_ID, /must be empty|inactive/);
    await rejects(admin.resetGroupOffsets(group, { topics: [topic], to: 'earliest' }), ErrorCode.UNKNOWN_MEMBER_ID, /must be empty|inactive/);
    const dry = await admin.resetGroupOffsets(group, { topics: [topic], to: 'earliest', dryRun: true });
    assert.deepEqual(dry.map((x) => x.offset), [2n, 0n], 'a dry run works while the group is active');
    await rejects(admin.deleteGroups([group]), ErrorCode.NON_EMPTY_GROUP, /adm-reset-g/);
    await rejects(admin.deleteGroupOffsets(group, [{ topic, partition: 0 }]), ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC);

    ac.abort();
    await reading;
    await c.close();
    await admin.alterGroupOffsets(group, [{ topic, partition: 0, offset: 3n, metadata: 'admin' }]);
    const after = await admin.listGroupOffsets(group);
    assert.equal(after.find((x) => x.partition === 0)!.offset, 3n);
    assert.equal(after.find((x) => x.partition === 0)!.metadata, 'admin');
    await configError(admin.alterGroupOffsets(group, [{ topic, partition: 0, offset: -1n }]), 'offsets[].offset');
    await configError(admin.alterGroupOffsets('', [{ topic, partition: 0, offset: 1n }]), 'groupId');
    await rejects(admin.alterGroupOffsets(group, [{ topic: 'adm-no-such-topic', partition: 0, offset: 1n }]), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  test('groupLag is exact after producing N and committing M, with null for partitions never committed', { timeout: 20_000 }, async () => {
    await admin.createTopics([{ name: 'adm-lag', numPartitions: 3 }, { name: 'adm-lag-other', numPartitions: 1 }]);
    await produce('adm-lag', [10, 7, 3]);
    await ckCommit('adm-lag-g', [{ topic: 'adm-lag', partition: 0, offset: 4 }, { topic: 'adm-lag', partition: 1, offset: 7 }]);
    const lag = await admin.groupLag('adm-lag-g');
    assert.deepEqual(lag, [
      { topic: 'adm-lag', partition: 0, committed: 4n, logEndOffset: 10n, lag: 6n },
      { topic: 'adm-lag', partition: 1, committed: 7n, logEndOffset: 7n, lag: 0n },
      { topic: 'adm-lag', partition: 2, committed: null, logEndOffset: 3n, lag: null },
    ]);
    assert.deepEqual(await admin.groupLag('adm-lag-g', { topics: ['adm-lag-other'] }), [{ topic: 'adm-lag-other', partition: 0, committed: null, logEndOffset: 0n, lag: null }]);
    assert.deepEqual(await admin.groupLag('adm-lag-nobody'), []);
  });

  test('deleteGroupOffsets and deleteGroups: gone from listGroupOffsets and listGroups', { timeout: 20_000 }, async () => {
    const g = 'adm-delete-g';
    await ckCommit(g, [{ topic: 'adm-lag', partition: 0, offset: 1 }, { topic: 'adm-lag', partition: 1, offset: 2 }, { topic: 'adm-lag-other', partition: 0, offset: 0 }]);
    assert.deepEqual(await offsetsOf(g), { 'adm-lag-0': 1, 'adm-lag-1': 2, 'adm-lag-other-0': 0 });
    await admin.deleteGroupOffsets(g, [{ topic: 'adm-lag', partition: 0 }, { topic: 'adm-lag-other', partition: 0 }]);
    assert.deepEqual(await offsetsOf(g), { 'adm-lag-1': 2 });
    assert.ok((await admin.listGroups()).some((x) => x.groupId === g));
    await admin.deleteGroups([g]);
    assert.ok(!(await admin.listGroups()).some((x) => x.groupId === g), 'listGroups no longer has it');
    assert.deepEqual(await offsetsOf(g), {});
    await rejects(admin.deleteGroups([g]), ErrorCode.GROUP_ID_NOT_FOUND, /adm-delete-g/);
    await configError(admin.deleteGroups(['']), 'groupIds[]');
    await configError(admin.deleteGroupOffsets(g, [{ topic: 'adm-lag', partition: 0 }, { topic: 'adm-lag', partition: 0 }]), 'partitions');
  });
});

test('describeLogDirs shows the data dir with every partition and non-zero sizes', { timeout: 20_000 }, async () => {
  const dirs = await admin.describeLogDirs();
  assert.equal(dirs.length, 1);
  const d = dirs[0]!;
  assert.equal(d.brokerId, broker.nodeId);
  assert.equal(d.error, null);
  assert.ok(d.totalBytes > 0n && d.usableBytes > 0n && d.usableBytes <= d.totalBytes, `${d.totalBytes} ${d.usableBytes}`);
  const lag = d.partitions.filter((p) => p.topic === 'adm-lag');
  assert.deepEqual(lag.map((p) => p.partition), [0, 1, 2]);
  assert.ok(lag.every((p) => p.sizeBytes > 0n && p.offsetLag === 0n), JSON.stringify(lag, (_, v) => (typeof v === 'bigint' ? String(v) : v)));
  assert.deepEqual(await admin.describeLogDirs([broker.nodeId]).then((x) => x.map((y) => y.path)), [d.path]);
  await configError(admin.describeLogDirs([99]), 'brokerIds');
});

test('a running transaction shows in listTransactions, describeTransactions and describeProducers, and its end too', { timeout: 30_000 }, async () => {
  await admin.createTopics([{ name: 'adm-txn', numPartitions: 2 }]);
  await produce('adm-txn', [3, 0]);
  const p = new Producer({ bootstrapServers: broker.bootstrap, transactionalId: 'adm-txn-1', maxBlockMs: 10_000, lingerMs: 0 });
  closers.push(() => p.close({ timeoutMs: 2_000 }));
  await p.initTransactions();
  p.beginTransaction();
  await p.send({ topic: 'adm-txn', partition: 0, value: 'in-txn' });
  await p.send({ topic: 'adm-txn', partition: 1, value: 'in-txn' });

  const listed = (await admin.listTransactions()).find((t) => t.transactionalId === 'adm-txn-1');
  assert.ok(listed, 'listed');
  assert.equal(listed.state, 'Ongoing');
  assert.equal(listed.brokerId, broker.nodeId);
  assert.ok((await admin.listTransactions({ states: ['Ongoing'] })).some((t) => t.transactionalId === 'adm-txn-1'));
  assert.ok(!(await admin.listTransactions({ states: ['CompleteCommit'] })).some((t) => t.transactionalId === 'adm-txn-1'));
  assert.ok((await admin.listTransactions({ producerIds: [listed.producerId] })).some((t) => t.transactionalId === 'adm-txn-1'));

  const [desc] = await admin.describeTransactions(['adm-txn-1']);
  assert.equal(desc!.state, 'Ongoing');
  assert.equal(desc!.producerId, listed.producerId);
  assert.deepEqual(desc!.partitions, [{ topic: 'adm-txn', partition: 0 }, { topic: 'adm-txn', partition: 1 }]);
  assert.ok(desc!.timeoutMs > 0 && desc!.startTimestamp > 0n && desc!.producerEpoch >= 0);

  const producers = await admin.describeProducers([{ topic: 'adm-txn', partition: 0 }, { topic: 'adm-txn', partition: 1 }]);
  const mine = producers.map((x) => x.producers.find((s) => s.producerId === listed.producerId));
  assert.equal(mine[0]?.currentTxnStartOffset, 3n, 'the open transaction starts after the 3 plain records');
  assert.equal(mine[1]?.currentTxnStartOffset, 0n);
  assert.equal(mine[0]?.producerEpoch, desc!.producerEpoch);

  await p.commitTransaction();
  // EndTxn answers once PrepareCommit is durable; the markers and CompleteCommit follow.
  const done = await waitFor('CompleteCommit', async () => {
    const [t] = await admin.describeTransactions(['adm-txn-1']);
    return t!.state === 'CompleteCommit' ? t : undefined;
  }, { timeoutMs: 10_000, intervalMs: 50 });
  assert.deepEqual(done.partitions, []);
  const afterCommit = await admin.describeProducers([{ topic: 'adm-txn', partition: 0 }]);
  assert.equal(afterCommit[0]!.producers.find((s) => s.producerId === listed.producerId)?.currentTxnStartOffset, -1n);

  await rejects(admin.describeTransactions(['adm-txn-unknown']), ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, /adm-txn-unknown/);
  await rejects(admin.describeProducers([{ topic: 'adm-no-such-topic', partition: 0 }]), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  await configError(admin.describeTransactions([]), 'transactionalIds');
  await configError(admin.listTransactions({ producerIds: [1 as unknown as bigint] }), 'producerIds');
});
