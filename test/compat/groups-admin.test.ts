// Acceptance: the group admin APIs (ListGroups, DescribeGroups, OffsetFetch, DeleteGroups,
// OffsetDelete, and offset commits from outside the group) through each client's admin surface:
// confluent-kafka-python 1.7.0 (AdminClient.list_groups, Consumer.committed/commit),
// kafka-python 2.0.2 (KafkaAdminClient list/describe/offsets/delete; OffsetDelete sent as a raw
// request, which 2.0.2 lacks) and KafkaJS 2.2.4 (admin listGroups/describeGroups/fetchOffsets/
// setOffsets/deleteGroups). A live group of two members with known committed offsets is described
// by all three; lag = high watermark - committed is computed from each client's own answers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type Broker } from '../harness/broker.js';
import { createTopics, produceCk, watermarksCk } from '../harness/fixtures.js';
import { makeKafkaJs } from '../harness/kafkajs.js';
import { py } from '../harness/python.js';
import { topicName } from '../harness/util.js';
import { startMember, stopAll, waitBalanced, waitMembers, type Member } from '../harness/members.js';
import { decodeAssignment, decodeSubscription } from '../harness/group-codec.js';

const partitions = 6;
const perPartition = 10;
const sessionMs = 6_000;
let broker: Broker;

before(async () => {
  broker = await startBroker({ configs: { 'group.initial.rebalance.delay.ms': 0, 'group.min.session.timeout.ms': 1000 } });
}, { timeout: 60_000 });
after(async () => {
  await broker?.dispose();
}, { timeout: 60_000 });

const Err = {
  UNKNOWN_MEMBER_ID: 25,
  NON_EMPTY_GROUP: 68,
  GROUP_ID_NOT_FOUND: 69,
  GROUP_SUBSCRIBED_TO_TOPIC: 86,
} as const;

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

interface CkGroup {
  id: string;
  error: unknown;
  state: string;
  protocol_type: string;
  protocol: string;
  members: Array<{ id: string; client_id: string; client_host: string; metadata_hex: string; assignment_hex: string }>;
}
interface KpGroup {
  id: string;
  error_code: number;
  state: string;
  protocol_type: string;
  protocol: string;
  members: Array<{ id: string; client_id: string; subscription: string[] | null; assignment: Array<[string, number[]]> }>;
}

const kpDescribe = async (group: string): Promise<KpGroup> =>
  (await py<{ groups: KpGroup[] }>('kp', 'describe_groups', { bootstrap: broker.bootstrap, groups: [group] })).groups[0]!;
const kpList = async (): Promise<Array<{ id: string; protocol_type: string }>> =>
  (await py<{ groups: Array<{ id: string; protocol_type: string }> }>('kp', 'list_groups', { bootstrap: broker.bootstrap })).groups;
const kpOffsets = async (group: string): Promise<Record<string, number>> => {
  const r = await py<{ offsets?: Record<string, number>; error: unknown }>('kp', 'group_offsets', { bootstrap: broker.bootstrap, group });
  assert.equal(r.error, null, `kafka-python list_consumer_group_offsets(${group})`);
  return r.offsets!;
};
const ckCommitted = async (group: string, topic: string): Promise<number[]> => {
  const r = await py<{ offsets: Record<string, number> }>('ck', 'committed', { bootstrap: broker.bootstrap, group, topic, partitions: range(partitions) });
  return range(partitions).map((p) => r.offsets[String(p)]!);
};

describe('group admin APIs', () => {
  test('list, describe, fetch offsets and lag of a live group; delete offsets and groups', { timeout: 150_000 }, async (t) => {
    const topic = topicName('adm');
    const group = `${topic}-g`;
    await createTopics(broker.bootstrap, [{ name: topic, num_partitions: partitions }]);
    await produceCk(
      broker.bootstrap,
      topic,
      range(partitions * perPartition).map((i) => ({ key: `k${i}`, value: `adm|${i}`, headers: [], partition: i % partitions })),
    );
    // Partition p is processed (and committed) up to offset p + 1 only, so every partition has its own lag.
    const committedWant = range(partitions).map((p) => p + 1);
    const lagWant = committedWant.map((c) => perPartition - c);
    const members: Member[] = [];
    const { kafka, log } = makeKafkaJs(broker.bootstrap, 'fjord-groups-admin');
    const admin = kafka.admin();
    await admin.connect();
    try {
      for (const name of ['m1', 'm2']) {
        members.push(
          startMember(name, 'ck', broker.bootstrap, {
            group,
            topic,
            strategy: 'range,roundrobin',
            client_id: `adm-${name}`,
            commit: 'sync',
            limits: Object.fromEntries(committedWant.map((c, p) => [String(p), c])),
            session_timeout_ms: sessionMs,
            heartbeat_ms: 500,
          }),
        );
      }
      const balanced = await waitBalanced(members, partitions, 30_000);
      const sum = committedWant.reduce((a, b) => a + b, 0);
      await waitMembers(`${sum} records processed and committed`, members, () => members.reduce((n, m) => n + m.records().length, 0) >= sum, 30_000);
      const ownAssignment = new Map([...balanced.byMember].map(([name, ps]) => [`adm-${name}`, ps]));

      // confluent-kafka: AdminClient.list_groups (ListGroups + DescribeGroups), Consumer.committed.
      const ck = (await py<{ groups: CkGroup[] }>('ck', 'list_groups', { bootstrap: broker.bootstrap, group })).groups;
      assert.equal(ck.length, 1, `confluent list_groups(${group}): ${JSON.stringify(ck)}`);
      const g = ck[0]!;
      assert.equal(g.error, null);
      assert.equal(g.state, 'Stable');
      assert.equal(g.protocol_type, 'consumer');
      assert.equal(g.protocol, 'range', 'both members list range first, so range is chosen');
      assert.equal(g.members.length, 2);
      for (const m of g.members) {
        assert.deepEqual(decodeSubscription(Buffer.from(m.metadata_hex, 'hex')).topics, [topic], `${m.client_id}'s subscription`);
        const a = decodeAssignment(Buffer.from(m.assignment_hex, 'hex'));
        assert.deepEqual([...a.partitions.keys()], [topic]);
        assert.deepEqual(a.partitions.get(topic), ownAssignment.get(m.client_id), `${m.client_id}: DescribeGroups assignment = what the member was given`);
        assert.equal(m.client_host.replace(/^\//, ''), '127.0.0.1', 'client host');
      }
      const ckAll = (await py<{ groups: CkGroup[] }>('ck', 'list_groups', { bootstrap: broker.bootstrap })).groups;
      assert.ok(ckAll.some((x) => x.id === group), `confluent list_groups() lists ${group}`);
      const ckCommit = await ckCommitted(group, topic);
      const ckMarks = await watermarksCk(broker.bootstrap, topic, range(partitions));
      assert.deepEqual(ckCommit, committedWant, 'confluent committed()');
      assert.deepEqual(range(partitions).map((p) => ckMarks[p]![1] - ckCommit[p]!), lagWant, 'lag from confluent-kafka');

      // kafka-python: list_consumer_groups, describe_consumer_groups, list_consumer_group_offsets.
      assert.ok((await kpList()).some((x) => x.id === group && x.protocol_type === 'consumer'), 'kafka-python list_consumer_groups');
      const kd = await kpDescribe(group);
      assert.equal(kd.error_code, 0);
      assert.equal(kd.state, 'Stable');
      assert.equal(kd.protocol_type, 'consumer');
      assert.equal(kd.protocol, 'range');
      assert.deepEqual(
        kd.members.map((m) => [m.client_id, m.subscription, m.assignment]).sort(),
        [...ownAssignment].map(([cid, ps]) => [cid, [topic], [[topic, ps]]]).sort(),
        'kafka-python describe_consumer_groups members',
      );
      const kpOff = await kpOffsets(group);
      const kpMarks = await py<{ watermarks: Record<string, [number, number]> }>('kp', 'offsets', {
        bootstrap: broker.bootstrap,
        queries: [],
        watermarks: range(partitions).map((partition) => ({ topic, partition })),
      });
      assert.deepEqual(range(partitions).map((p) => kpOff[`${topic}:${p}`]), committedWant, 'kafka-python list_consumer_group_offsets');
      assert.deepEqual(range(partitions).map((p) => kpMarks.watermarks[`${topic}:${p}`]![1] - kpOff[`${topic}:${p}`]!), lagWant, 'lag from kafka-python');

      // KafkaJS: listGroups, describeGroups, fetchOffsets, fetchTopicOffsets.
      const jl = await admin.listGroups();
      assert.ok(jl.groups.some((x) => x.groupId === group && x.protocolType === 'consumer'), `KafkaJS listGroups: ${JSON.stringify(jl.groups)}`);
      const jd = (await admin.describeGroups([group])).groups[0]!;
      // KafkaJS's typings omit the error code its decoder returns.
      assert.equal((jd as typeof jd & { errorCode?: number }).errorCode, 0);
      assert.equal(jd.state, 'Stable');
      assert.equal(jd.protocol, 'range');
      assert.deepEqual(
        jd.members.map((m) => [m.clientId, decodeAssignment(m.memberAssignment).partitions.get(topic)]).sort(),
        [...ownAssignment].sort(),
        'KafkaJS describeGroups assignments',
      );
      const jo = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      const jt = await admin.fetchTopicOffsets(topic);
      const jCommitted = range(partitions).map((p) => Number(jo[0]!.partitions.find((x) => x.partition === p)!.offset));
      assert.deepEqual(jCommitted, committedWant, 'KafkaJS fetchOffsets');
      assert.deepEqual(range(partitions).map((p) => Number(jt.find((x) => x.partition === p)!.high) - jCommitted[p]!), lagWant, 'lag from KafkaJS');

      // What a live group refuses.
      const del = await py<{ results: Record<string, { code: number } | null> }>('kp', 'delete_groups', { bootstrap: broker.bootstrap, groups: [group] });
      assert.equal(del.results[group]?.code, Err.NON_EMPTY_GROUP, `DeleteGroups of a group with members: ${JSON.stringify(del.results)}`);
      const outside = await py<{ error: { code: number } | null }>('ck', 'commit', { bootstrap: broker.bootstrap, group, offsets: [{ topic, partition: 0, offset: 9 }] });
      assert.equal(outside.error?.code, Err.UNKNOWN_MEMBER_ID, `a commit without member id and generation into a live group: ${JSON.stringify(outside)}`);
      const odLive = await py<{ error_code: number; partitions: Record<string, number> }>('kp', 'offset_delete', {
        bootstrap: broker.bootstrap,
        group,
        partitions: [{ topic, partition: 1 }],
      });
      assert.deepEqual(odLive, { error_code: 0, partitions: { [`${topic}:1`]: Err.GROUP_SUBSCRIBED_TO_TOPIC } }, 'OffsetDelete of a topic the live group consumes');
      assert.deepEqual(await ckCommitted(group, topic), committedWant, 'refused requests left the offsets alone');

      // The members close (LeaveGroup): the group is empty, its offsets stay.
      await Promise.all(members.map((m) => m.stop()));
      const empty = await kpDescribe(group);
      assert.equal(empty.state, 'Empty');
      assert.deepEqual(empty.members, []);
      const jEmpty = (await admin.describeGroups([group])).groups[0]!;
      assert.equal(jEmpty.state, 'Empty');
      assert.deepEqual(await ckCommitted(group, topic), committedWant, 'offsets after the members left');

      // OffsetDelete (KIP-496) on the empty group removes one partition's offset only.
      const od = await py<{ error_code: number; partitions: Record<string, number> }>('kp', 'offset_delete', {
        bootstrap: broker.bootstrap,
        group,
        partitions: [{ topic, partition: 0 }],
      });
      assert.deepEqual(od, { error_code: 0, partitions: { [`${topic}:0`]: 0 } }, 'OffsetDelete on an empty group');
      assert.deepEqual(await ckCommitted(group, topic), [-1001, ...committedWant.slice(1)], 'offsets after OffsetDelete of partition 0');

      // KafkaJS setOffsets joins the (empty) group, seeks and commits.
      await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 5, offset: '3' }] });
      const afterSet = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      assert.equal(afterSet[0]!.partitions.find((x) => x.partition === 5)!.offset, '3', 'KafkaJS setOffsets');

      // DeleteGroups of the empty group removes it and its offsets.
      await admin.deleteGroups([group]);
      assert.ok(!(await kpList()).some((x) => x.id === group), 'a deleted group is not listed');
      assert.ok(!(await admin.listGroups()).groups.some((x) => x.groupId === group), 'a deleted group is not listed (KafkaJS)');
      assert.deepEqual(await ckCommitted(group, topic), range(partitions).map(() => -1001), 'offsets of a deleted group');
      const missing = `${group}-never`;
      const delMissing = await py<{ results: Record<string, { code: number } | null> }>('kp', 'delete_groups', { bootstrap: broker.bootstrap, groups: [missing] });
      assert.equal(delMissing.results[missing]?.code, Err.GROUP_ID_NOT_FOUND, 'DeleteGroups of a group that never existed');
      t.diagnostic(`assignments ${JSON.stringify([...ownAssignment])}; lag ${JSON.stringify(lagWant)}`);
    } catch (e) {
      throw new Error(`${(e as Error).message}\nKafkaJS log: ${log.join('\n')}`, { cause: e });
    } finally {
      await admin.disconnect();
      await stopAll(members);
    }
  });

  test('offsets committed from outside any group (generation -1) create a group that can be listed, read and deleted', { timeout: 60_000 }, async () => {
    const topic = topicName('adm-simple');
    const group = `${topic}-g`;
    await createTopics(broker.bootstrap, [{ name: topic, num_partitions: partitions }]);
    const ck = await py<{ error: unknown; partitions: Record<string, unknown> }>('ck', 'commit', {
      bootstrap: broker.bootstrap,
      group,
      offsets: [
        { topic, partition: 0, offset: 7 },
        { topic, partition: 1, offset: 0 },
      ],
    });
    assert.deepEqual(ck, { error: null, partitions: { '0': null, '1': null } }, 'confluent-kafka commit outside a group');
    const kp = await py<{ error: unknown }>('kp', 'commit', { bootstrap: broker.bootstrap, group, offsets: [{ topic, partition: 2, offset: 5, metadata: 'kp' }] });
    assert.deepEqual(kp, { error: null }, 'kafka-python commit outside a group');
    assert.deepEqual(await kpOffsets(group), { [`${topic}:0`]: 7, [`${topic}:1`]: 0, [`${topic}:2`]: 5 });
    const withMetadata = await py<{ metadata: Record<string, string> }>('kp', 'group_offsets', { bootstrap: broker.bootstrap, group });
    assert.equal(withMetadata.metadata[`${topic}:2`], 'kp', 'the metadata string committed with an offset is returned by OffsetFetch');
    assert.ok((await kpList()).some((x) => x.id === group), 'a group with only committed offsets is listed');
    const d = await kpDescribe(group);
    assert.equal(d.state, 'Empty');
    const del = await py<{ results: Record<string, unknown> }>('kp', 'delete_groups', { bootstrap: broker.bootstrap, groups: [group] });
    assert.deepEqual(del.results, { [group]: null });
    assert.deepEqual(await kpOffsets(group), {}, 'offsets of the deleted group');
    // DescribeGroups of a group that does not exist answers state Dead without an error (v0-v5).
    const dead = await kpDescribe(group);
    assert.deepEqual([dead.error_code, dead.state, dead.members], [0, 'Dead', []], 'DescribeGroups of a deleted group');
  });
});
