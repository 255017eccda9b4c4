// Acceptance: committed offsets are durable and honoured, with confluent-kafka-python,
// kafka-python and KafkaJS members committing synchronously after every record:
// - a new consumer process in the group resumes exactly at the committed offsets (nothing
//   skipped, nothing read twice), after a consumer restart, a clean broker restart and a kill -9
//   of the broker;
// - a member that stays up while the broker is killed and restarted never gets a record whose
//   commit was acknowledged again;
// - __consumer_offsets is readable by an ordinary consumer and holds Kafka's record layout: the
//   test decodes keys and values itself and finds the committed offsets and the group's metadata
//   in the partition Kafka would put the group in.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type Broker } from '../harness/broker.js';
import { createTopics, produceCk } from '../harness/fixtures.js';
import { py } from '../harness/python.js';
import { sleep, topicName } from '../harness/util.js';
import { startMember, stopAll, waitMembers, type Member, type MemberDriver, type MemberEvent } from '../harness/members.js';
import { decodeOffsetsTopicRecord, decodeSubscription, offsetsPartitionFor, type OffsetsTopicRecord } from '../harness/group-codec.js';

const partitions = 3;
const perPartition = 30;
const total = partitions * perPartition;
const sessionMs = 6_000;
const drivers: MemberDriver[] = ['ck', 'kp', 'kjs'];
let broker: Broker;
const testStart = Date.now();

before(async () => {
  broker = await startBroker({ configs: { 'group.initial.rebalance.delay.ms': 0, 'group.min.session.timeout.ms': 1000 } });
}, { timeout: 60_000 });
after(async () => {
  await broker?.dispose();
}, { timeout: 60_000 });

interface Run {
  driver: MemberDriver;
  topic: string;
  group: string;
  produced: string[];
  /** Every record processed so far, over all consumer processes, in order. */
  processed: MemberEvent[];
}

async function produceSpread(topic: string, count: number, tag: string): Promise<string[]> {
  const records = Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: `${tag}|${i}`, headers: [] as Array<[string, string | null]>, partition: i % partitions }));
  await produceCk(broker.bootstrap, topic, records);
  return records.map((r) => r.value);
}

async function committed(group: string, topic: string): Promise<number[]> {
  const r = await py<{ offsets: Record<string, number>; errors: Record<string, unknown> }>('ck', 'committed', {
    bootstrap: broker.bootstrap,
    group,
    topic,
    partitions: Array.from({ length: partitions }, (_, p) => p),
  });
  assert.deepEqual(r.errors, {}, `OffsetFetch errors for ${group}`);
  return Array.from({ length: partitions }, (_, p) => r.offsets[String(p)]!);
}

/** One consumer process that processes `count` records (committing each) and then closes. */
async function consume(run: Run, count: number, phase: string): Promise<void> {
  const m = startMember(`${run.driver}-${phase}`, run.driver, broker.bootstrap, {
    group: run.group,
    topic: run.topic,
    commit: 'sync',
    max_records: count,
    max_seconds: 60,
    session_timeout_ms: sessionMs,
    heartbeat_ms: 500,
  });
  try {
    await m.finished(75_000);
  } finally {
    await stopAll([m]);
  }
  const recs = m.records();
  assert.equal(recs.length, count, `${phase}: ${run.driver} processed ${recs.length} records, asked for ${count}\n${m.describe()}`);
  run.processed.push(...recs);
}

/**
 * Everything processed so far is, per partition, exactly the offsets 0..n-1 once each, and the
 * group's committed offset is that n.
 */
async function checkResumedExactly(run: Run, what: string): Promise<number[]> {
  const seen = new Set<string>();
  const byPartition: number[][] = Array.from({ length: partitions }, () => []);
  for (const r of run.processed) {
    const id = `${r.p}@${r.o}`;
    assert.ok(!seen.has(id), `${what}: ${run.driver} processed ${id} twice (the restarted consumer did not resume at the committed offset)`);
    seen.add(id);
    byPartition[r.p!]!.push(r.o!);
  }
  const ends = byPartition.map((offs, p) => {
    const sorted = [...offs].sort((a, b) => a - b);
    assert.ok(sorted.every((o, i) => o === i), `${what}: ${run.driver} partition ${p} offsets processed ${JSON.stringify(sorted)}: a gap means records were skipped`);
    return sorted.length;
  });
  // librdkafka reports a partition without a committed offset as -1001 (OFFSET_INVALID).
  const want = ends.map((n) => (n === 0 ? -1001 : n));
  assert.deepEqual(await committed(run.group, run.topic), want, `${what}: committed offsets of ${run.driver}'s group`);
  return want;
}

/** Read the whole of __consumer_offsets with an ordinary consumer and decode every record. */
async function readOffsetsTopic(bootstrap: string): Promise<{ numPartitions: number; records: Array<{ partition: number; rec: OffsetsTopicRecord }> }> {
  const md = await py<{ topics: Record<string, { error: unknown; partitions: Record<string, unknown> }> }>('ck', 'metadata', {
    bootstrap,
    topic: '__consumer_offsets',
  });
  const offsetsTopic = md.topics['__consumer_offsets'];
  assert.ok(offsetsTopic && offsetsTopic.error === null, `__consumer_offsets in metadata: ${JSON.stringify(offsetsTopic)}`);
  const numPartitions = Object.keys(offsetsTopic.partitions).length;
  const res = await py<{ records: Array<{ partition: number; offset: number; key_hex: string | null; value_hex: string | null }>; eof: boolean; errors: unknown[] }>(
    'ck',
    'consume',
    { bootstrap, assign: [{ topic: '__consumer_offsets' }], hex: true, max_seconds: 60 },
  );
  assert.ok(res.eof, `read __consumer_offsets to the end: ${JSON.stringify(res.errors).slice(0, 1000)}`);
  const records = res.records.map((r) => {
    assert.ok(r.key_hex !== null, `a __consumer_offsets record without a key at ${r.partition}@${r.offset}`);
    const value = r.value_hex === null ? null : Buffer.from(r.value_hex, 'hex');
    try {
      return { partition: r.partition, rec: decodeOffsetsTopicRecord(Buffer.from(r.key_hex, 'hex'), value) };
    } catch (e) {
      throw new Error(`cannot decode __consumer_offsets ${r.partition}@${r.offset} key ${r.key_hex} value ${r.value_hex}: ${(e as Error).message}`, { cause: e });
    }
  });
  return { numPartitions, records };
}

describe('committed offsets across consumer and broker restarts', () => {
  const runs: Run[] = [];

  test('a restarted consumer resumes at the committed offsets; they survive a clean restart and a kill -9 of the broker', { timeout: 240_000 }, async (t) => {
    for (const driver of drivers) {
      const topic = topicName(`off-${driver}`);
      runs.push({ driver, topic, group: `${topic}-g`, produced: [], processed: [] });
    }
    await createTopics(broker.bootstrap, runs.map((r) => ({ name: r.topic, num_partitions: partitions })));
    for (const r of runs) r.produced = await produceSpread(r.topic, total, `off-${r.driver}`);
    // One coordinator request alone first, so that __consumer_offsets exists before the three groups
    // start at once (groups arriving while it is created are the partitioning test's subject).
    assert.deepEqual(await committed(runs[0]!.group, runs[0]!.topic), [-1001, -1001, -1001]);

    // First consumer: 40 records, then close. A second one in the same group: 20 more.
    await Promise.all(runs.map((r) => consume(r, 40, 'first')));
    const afterFirst = await Promise.all(runs.map((r) => checkResumedExactly(r, 'after the first consumer')));
    await Promise.all(runs.map((r) => consume(r, 20, 'second')));
    await Promise.all(runs.map((r) => checkResumedExactly(r, 'after a consumer restart')));

    // A clean broker restart: the offsets are read back from __consumer_offsets.
    const beforeRestart = await Promise.all(runs.map((r) => committed(r.group, r.topic)));
    await broker.restart();
    assert.deepEqual(await Promise.all(runs.map((r) => committed(r.group, r.topic))), beforeRestart, 'committed offsets after a clean broker restart');
    await Promise.all(runs.map((r) => consume(r, 15, 'third')));
    const beforeKill = await Promise.all(runs.map((r) => checkResumedExactly(r, 'after a clean broker restart')));

    // kill -9 right after the last synchronous commits were acknowledged.
    await broker.kill9();
    await broker.restart();
    assert.deepEqual(await Promise.all(runs.map((r) => committed(r.group, r.topic))), beforeKill, 'committed offsets after kill -9 of the broker');
    await Promise.all(runs.map((r) => consume(r, total - 75, 'fourth')));
    const final = await Promise.all(runs.map((r) => checkResumedExactly(r, 'after kill -9 of the broker')));
    for (const [i, r] of runs.entries()) {
      assert.deepEqual(final[i], Array.from({ length: partitions }, () => perPartition), `${r.driver}: every record processed`);
      assert.deepEqual(r.processed.map((e) => e.v).sort(), [...r.produced].sort(), `${r.driver}: processed values are the produced ones`);
    }
    t.diagnostic(`committed after the first consumer: ${JSON.stringify(afterFirst)}`);
  });

  test('__consumer_offsets is readable and holds the commits and group metadata in Kafka\'s layout', { timeout: 90_000 }, async (t) => {
    assert.ok(runs.length === drivers.length && runs.every((r) => r.processed.length === total), 'needs the restart test to have run');
    const { numPartitions, records: decoded } = await readOffsetsTopic(broker.bootstrap);
    t.diagnostic(`${decoded.length} records in __consumer_offsets (${numPartitions} partitions)`);

    const misplaced: string[] = [];
    for (const run of runs) {
      const commits = decoded.filter((d) => d.rec.type === 'offset' && d.rec.group === run.group);
      assert.ok(commits.length > 0, `no offset commit records for ${run.group}`);
      for (let p = 0; p < partitions; p++) {
        const forP = commits.filter((d) => d.rec.type === 'offset' && d.rec.topic === run.topic && d.rec.partition === p);
        const last = forP[forP.length - 1];
        assert.ok(last && last.rec.type === 'offset' && last.rec.value !== null, `${run.driver}: a commit record for ${run.topic}-${p}`);
        const v = last.rec.value;
        assert.equal(v.offset, perPartition, `${run.driver}: last committed offset of ${run.topic}-${p} in __consumer_offsets`);
        assert.ok(v.commitTimestamp >= testStart - 60_000 && v.commitTimestamp <= Date.now() + 60_000, `commit timestamp ${v.commitTimestamp} is not a plausible time`);
        // Every commit of the partition, in log order, never goes backwards (one committer at a time).
        const offs = forP.map((d) => (d.rec.type === 'offset' && d.rec.value ? d.rec.value.offset : -1));
        assert.ok(offs.every((o, i) => i === 0 || o >= offs[i - 1]!), `${run.driver}: commits of ${run.topic}-${p} in log order: ${JSON.stringify(offs)}`);
      }
      const groupRecs = decoded.filter((d) => d.rec.type === 'group' && d.rec.group === run.group);
      assert.ok(groupRecs.length > 0, `no group metadata record for ${run.group}`);
      const withMembers = groupRecs.flatMap((d) => (d.rec.type === 'group' && d.rec.value ? [d.rec.value] : [])).filter((g) => g.members.length > 0);
      assert.ok(withMembers.length > 0, `${run.driver}: no group metadata record with a member`);
      for (const g of withMembers) {
        assert.equal(g.protocolType, 'consumer');
        assert.ok(g.generation >= 1, `generation ${g.generation}`);
        assert.ok(g.protocol !== null && g.protocol !== '', `protocol ${g.protocol}`);
        assert.ok(g.members.some((m) => m.memberId === g.leader), `the leader ${g.leader} is a member`);
        for (const m of g.members) {
          assert.ok(m.subscription !== null, 'a member without subscription bytes');
          assert.ok(decodeSubscription(m.subscription).topics.includes(run.topic), `member ${m.memberId} subscribed to ${run.topic}`);
          assert.equal(m.sessionTimeoutMs, sessionMs, 'member session timeout');
        }
      }
      // Kafka keeps a group's records in partition abs(hashCode(groupId)) % partitions.
      const want = offsetsPartitionFor(run.group, numPartitions);
      const where = [...new Set([...commits, ...groupRecs].map((d) => d.partition))];
      if (where.length !== 1 || where[0] !== want) misplaced.push(`${run.group}: records in partitions ${JSON.stringify(where)}, Kafka uses ${want}`);
    }
    // Checked last, so that the layout checks above run for every group.
    assert.deepEqual(misplaced, [], 'groups whose records are not in their __consumer_offsets partition');
  });
});

describe('a live member across kill -9 of the broker', () => {
  test('confluent-kafka: a record whose commit was acknowledged is never delivered again', { timeout: 120_000 }, async (t) => {
    const topic = topicName('off-live');
    const group = `${topic}-g`;
    const count = 150;
    await createTopics(broker.bootstrap, [{ name: topic, num_partitions: partitions }]);
    const produced = await produceSpread(topic, count, 'live');
    const m = startMember('live', 'ck', broker.bootstrap, {
      group,
      topic,
      commit: 'sync',
      process_ms: 20,
      session_timeout_ms: sessionMs,
      heartbeat_ms: 500,
      max_seconds: 90,
      config: { 'reconnect.backoff.ms': 50, 'reconnect.backoff.max.ms': 500 },
    });
    try {
      await waitMembers('40 records processed', [m], () => m.records().length >= 40, 30_000);
      await broker.kill9();
      const atKill = m.records().length;
      await sleep(300);
      await broker.restart({ clean: false });
      const restartedAt = Date.now();
      const done = (): boolean => {
        const got = new Set([...m.records(), ...m.events.filter((e) => e.ev === 'commit_failed')].map((e) => `${e.p}@${e.o}`));
        return got.size >= count;
      };
      await waitMembers('every record processed (or its commit reported failed)', [m], done, 60_000);
      await sleep(1_000);
      await m.stop();
      const recs = m.records();
      assert.ok(atKill < count / 2, `the broker was killed after ${atKill} of ${count} records: not mid-stream`);
      assert.ok(recs.some((e) => e.t > restartedAt), 'the member processed nothing after the broker came back');
      const ids = recs.map((e) => `${e.p}@${e.o}`);
      const dup = ids.filter((id, i) => ids.indexOf(id) !== i);
      assert.deepEqual(dup.slice(0, 10), [], 'records delivered again after their commit was acknowledged (a lost commit)');
      const failed = m.events.filter((e) => e.ev === 'commit_failed');
      const covered = new Set([...recs, ...failed].map((e) => e.v ?? `${e.p}@${e.o}`));
      const failedIds = new Set(failed.map((e) => `${e.p}@${e.o}`));
      const missing = produced.filter((v, i) => !covered.has(v) && !failedIds.has(`${i % partitions}@${Math.floor(i / partitions)}`));
      assert.deepEqual(missing.slice(0, 10), [], 'records neither processed nor reported');
      t.diagnostic(`${recs.length} processed, ${failed.length} commits failed while the broker was down`);
    } finally {
      await stopAll([m]);
    }
  });
});

describe('__consumer_offsets partitioning', () => {
  test('groups that commit for the first time while the broker creates __consumer_offsets land in Kafka\'s partition', { timeout: 90_000 }, async () => {
    // A fresh broker: the first group requests create __consumer_offsets. Every group must still go
    // to abs(hashCode(group)) % offsets.topic.num.partitions, not to a partition picked from the
    // partitions created so far.
    const fresh = await startBroker({ configs: { 'group.initial.rebalance.delay.ms': 0 } });
    try {
      const topic = topicName('off-first');
      await createTopics(fresh.bootstrap, [{ name: topic, num_partitions: 1 }]);
      const groups = Array.from({ length: 12 }, (_, i) => `${topic}-g${i}`);
      const results = await Promise.all(
        groups.map((group, i) => py<{ error: unknown }>('ck', 'commit', { bootstrap: fresh.bootstrap, group, offsets: [{ topic, partition: 0, offset: i + 1 }] })),
      );
      assert.deepEqual(results.map((r) => r.error), groups.map(() => null), 'first commits of 12 groups');
      const { numPartitions, records } = await readOffsetsTopic(fresh.bootstrap);
      const wrong: string[] = [];
      for (const [i, group] of groups.entries()) {
        const mine = records.filter((d) => d.rec.group === group);
        const commit = mine.find((d) => d.rec.type === 'offset' && d.rec.value?.offset === i + 1);
        assert.ok(commit, `${group}: its commit is in __consumer_offsets`);
        const want = offsetsPartitionFor(group, numPartitions);
        for (const d of mine) if (d.partition !== want) wrong.push(`${group} in partition ${d.partition}, Kafka uses ${want}`);
      }
      assert.deepEqual(wrong, [], 'group records outside their partition');
    } finally {
      await fresh.dispose();
    }
  });
});
