// The consumer group protocol end to end inside one process: a fake coordinator (topics, a clock,
// timers, and a list standing in for __consumer_offsets), the real ConsumerGroups. After every
// step the group rebuilt from the written records must equal the live one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, GroupMetadataValue } from '@fjord/protocol';
import { BrokerConfig } from '../config/broker-configs.js';
import { silentLogger } from '../logger.js';
import type { TopicState } from '../metadata/metadata-store.js';
import { ClassicGroup } from './classic-group.js';
import { ConsumerGroup } from './consumer-group.js';
import { ConsumerGroups, type HeartbeatAnswer, type HeartbeatInput } from './consumer-groups.js';
import type { GroupCoordinator } from './coordinator.js';
import type { Group } from './group.js';
import { CoordinatorWriteError } from './internal-topic.js';
import { decodeRecord, type CoordinatorRecord } from './records.js';

class FakeTimers {
  now = 1_000_000;
  private tasks: Array<{ at: number; fn: () => void; live: boolean }> = [];
  schedule = (ms: number, fn: () => void): (() => void) => {
    const t = { at: this.now + ms, fn, live: true };
    this.tasks.push(t);
    return () => {
      t.live = false;
    };
  };
  /** Moves the clock, running due tasks in time order. */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      const due = this.tasks.filter((t) => t.live && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      due.live = false;
      this.now = due.at;
      due.fn();
      await new Promise((r) => setImmediate(r));
    }
    this.now = end;
  }
}

function topicState(name: string, topicId: string, n: number): TopicState {
  return { name, topicId, partitions: Array.from({ length: n }, (_, p) => ({ partition: p, leader: 1, leaderEpoch: 0, partitionEpoch: 0, replicas: [1], isr: [1] })), configs: {}, createdAtMs: 0 };
}

const ORDERS = 'AAAAAAAAAAAAAAAAAAAAAw';

function world(configs: Array<[string, string]> = []) {
  const timers = new FakeTimers();
  const topics = new Map<string, TopicState>([['orders', topicState('orders', ORDERS, 6)]]);
  const log: CoordinatorRecord[] = [];
  const groups = new Map<string, Group>();
  let failNextWrite = false;
  const metadata = {
    topic: (n: string) => topics.get(n),
    topicById: (id: string) => [...topics.values()].find((t) => t.topicId === id),
    topics: () => topics.values(),
  };
  const coordinator = {
    deps: { config: new BrokerConfig(configs), metadata, clock: { now: () => timers.now }, logger: silentLogger },
    groups,
    offsetsTopic: { ensure: async () => {} },
    partitionFor: () => 7,
    write: async (_p: number, recs: CoordinatorRecord[]) => {
      if (failNextWrite) {
        failNextWrite = false;
        throw new CoordinatorWriteError(ErrorCode.NOT_COORDINATOR, 'moved');
      }
      log.push(...recs);
    },
    committedOffsets: () => undefined,
    classicGroup: () => undefined,
  } as unknown as GroupCoordinator;
  const cg = new ConsumerGroups(coordinator, timers.schedule);
  const hb = (over: Partial<HeartbeatInput>): Promise<HeartbeatAnswer> =>
    cg.heartbeat({
      groupId: 'g',
      memberId: 'm1',
      memberEpoch: 0,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: -1,
      subscribedTopicNames: null,
      subscribedTopicRegex: null,
      serverAssignor: null,
      topicPartitions: null,
      clientId: 'client',
      clientHost: '/127.0.0.1',
      apiVersion: 1,
      ...over,
    });
  const join = (memberId: string, over: Partial<HeartbeatInput> = {}) => hb({ memberId, memberEpoch: 0, rebalanceTimeoutMs: 30_000, subscribedTopicNames: ['orders'], topicPartitions: [], ...over });
  const beat = (memberId: string, memberEpoch: number, ownedPartitions?: number[]) =>
    hb({ memberId, memberEpoch, topicPartitions: ownedPartitions === undefined ? null : [{ topicId: ORDERS, partitions: ownedPartitions }] });
  const group = () => groups.get('g') as ConsumerGroup;
  /** The group as a restarted broker would rebuild it from the records written so far. */
  const replayed = (): ConsumerGroup | undefined => {
    const fresh = new Map<string, Group>();
    const c2 = new ConsumerGroups({ ...coordinator, groups: fresh } as unknown as GroupCoordinator, timers.schedule);
    for (const r of log) {
      const d = decodeRecord(r.key, r.value);
      if (d) c2.replay(7, d.recordType, d.key, d.value);
    }
    return fresh.get('g') as ConsumerGroup | undefined;
  };
  const assertDurable = () => {
    const live = group();
    const again = replayed();
    assert.deepEqual(again?.describeConsumer('uniform'), live?.describeConsumer('uniform'), 'the state rebuilt from the log equals the live state');
  };
  return { timers, topics, log, groups, cg, hb, join, beat, group, replayed, assertDurable, failWrite: () => (failNextWrite = true) };
}

const partsOf = (r: HeartbeatAnswer): number[] | undefined => r.assignment?.topicPartitions.flatMap((tp) => tp.partitions);

test('join, second member, revocation before hand-over, epochs; leave and session expiry move partitions back', async () => {
  const w = world();
  let r = await w.join('m1');
  assert.deepEqual([r.errorCode, r.memberId, r.memberEpoch, r.heartbeatIntervalMs, partsOf(r)], [0, 'm1', 1, 5000, [0, 1, 2, 3, 4, 5]]);
  assert.equal(w.group().stateName(), 'Stable');
  w.assertDurable();

  r = await w.join('m2');
  assert.deepEqual([r.errorCode, r.memberEpoch, partsOf(r)], [0, 2, []], 'm2 waits: its partitions are still m1s');
  assert.equal(w.group().stateName(), 'Reconciling');
  w.assertDurable();

  r = await w.beat('m1', 1);
  assert.deepEqual([r.memberEpoch, partsOf(r)], [1, [0, 1, 2]], 'm1 is asked to revoke 3-5 and stays at epoch 1');
  r = await w.beat('m2', 2, []);
  assert.deepEqual([r.memberEpoch, r.assignment], [2, null], 'm2 gets nothing before m1 revoked');
  r = await w.beat('m1', 1, [0, 1, 2]);
  assert.deepEqual([r.memberEpoch, r.assignment], [2, null], 'm1 acknowledged the revocation: epoch 2, same assignment');
  r = await w.beat('m2', 2, []);
  assert.deepEqual([r.memberEpoch, partsOf(r)], [2, [3, 4, 5]]);
  assert.equal(w.group().stateName(), 'Stable');
  w.assertDurable();

  // Fencing: an epoch from the future, or an old one, is refused; the previous epoch with a subset
  // of the assignment is fine (the answer that moved the member on may have been lost).
  assert.equal((await w.beat('m1', 5)).errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
  assert.equal((await w.beat('m2', 0 + 1)).errorCode, ErrorCode.FENCED_MEMBER_EPOCH, 'm2 never was at epoch 1');
  assert.equal((await w.beat('m1', 1, [0, 1])).errorCode, 0);
  assert.equal((await w.beat('m1', 1, [3])).errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
  assert.equal((await w.beat('ghost', 2)).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);

  // m2 leaves: the group epoch moves, m1 gets everything back on its next heartbeat.
  r = await w.hb({ memberId: 'm2', memberEpoch: -1 });
  assert.deepEqual([r.errorCode, r.memberId, r.memberEpoch], [0, 'm2', -1]);
  assert.equal(w.group().stateName(), 'Assigning');
  r = await w.beat('m1', 2);
  assert.deepEqual([r.memberEpoch, partsOf(r)], [3, [0, 1, 2, 3, 4, 5]]);
  w.assertDurable();

  // m3 joins, m1 revokes, then m1 stops heartbeating: after the session timeout m3 has everything.
  await w.join('m3');
  r = await w.beat('m1', 3);
  assert.deepEqual(partsOf(r), [0, 1, 2]);
  await w.beat('m1', 3, [0, 1, 2]);
  r = await w.beat('m3', 4, []);
  assert.deepEqual([r.memberEpoch, partsOf(r)], [4, [3, 4, 5]]);
  for (let i = 0; i < 10; i++) {
    await w.timers.advance(5_000);
    await w.beat('m3', w.group().members.get('m3')!.memberEpoch);
  }
  assert.equal(w.group().members.has('m1'), false, 'm1 expired');
  r = await w.beat('m3', w.group().members.get('m3')!.memberEpoch);
  assert.deepEqual(w.group().describeConsumer('uniform').members.map((m) => [m.memberId, m.assignment.topicPartitions[0]?.partitions]), [['m3', [0, 1, 2, 3, 4, 5]]]);
  w.assertDurable();
});

test('a member that does not revoke within its rebalance timeout is fenced', async () => {
  const w = world();
  await w.join('m1', { rebalanceTimeoutMs: 1_000 });
  await w.join('m2');
  const r = await w.beat('m1', 1);
  assert.deepEqual(partsOf(r), [0, 1, 2]);
  await w.timers.advance(1_001);
  assert.equal(w.group().members.has('m1'), false);
  assert.equal((await w.beat('m1', 1)).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assert.deepEqual(partsOf(await w.beat('m2', 2, [])), [0, 1, 2, 3, 4, 5]);
  w.assertDurable();
});

test('a broker restart keeps members, epochs and assignments; sessions start again', async () => {
  const w = world();
  await w.join('m1');
  await w.join('m2');
  await w.beat('m1', 1);
  const g = w.replayed()!;
  assert.deepEqual(
    [...g.members.values()].map((m) => [m.memberId, m.memberEpoch, m.state]),
    [
      ['m1', 1, 1],
      ['m2', 2, 2],
    ],
  );
  assert.deepEqual([g.groupEpoch, g.assignmentEpoch, g.stateName()], [2, 2, 'Reconciling']);
});

test('heartbeat validation: Kafka\'s INVALID_REQUEST cases, assignors, group size, unknown groups and members', async () => {
  const w = world([['group.consumer.max.size', '2']]);
  const code = async (over: Partial<HeartbeatInput>) => (await w.hb(over)).errorCode;
  const joinReq = { memberEpoch: 0, rebalanceTimeoutMs: 1000, subscribedTopicNames: ['orders'], topicPartitions: [] };
  assert.equal(await code({ ...joinReq, memberId: '' }), ErrorCode.INVALID_REQUEST, 'v1: the client sends its member id');
  assert.equal(await code({ ...joinReq, groupId: ' ' }), ErrorCode.INVALID_REQUEST);
  assert.equal(await code({ ...joinReq, instanceId: '' }), ErrorCode.INVALID_REQUEST);
  assert.equal(await code({ ...joinReq, rebalanceTimeoutMs: -1 }), ErrorCode.INVALID_REQUEST);
  assert.equal(await code({ ...joinReq, topicPartitions: null }), ErrorCode.INVALID_REQUEST);
  assert.equal(await code({ ...joinReq, subscribedTopicNames: null }), ErrorCode.INVALID_REQUEST, 'a join names its subscription');
  assert.equal(await code({ memberEpoch: -2 }), ErrorCode.INVALID_REQUEST, 'a static leave names its instance');
  assert.equal(await code({ memberEpoch: -3 }), ErrorCode.INVALID_REQUEST);
  assert.equal(await code({ ...joinReq, serverAssignor: 'sticky' }), ErrorCode.UNSUPPORTED_ASSIGNOR);
  assert.equal(await code({ ...joinReq, subscribedTopicNames: null, subscribedTopicRegex: '(?=x)' }), ErrorCode.INVALID_REGULAR_EXPRESSION);
  assert.equal(await code({ memberEpoch: 3 }), ErrorCode.GROUP_ID_NOT_FOUND);
  assert.equal(await code({ memberEpoch: -1 }), ErrorCode.GROUP_ID_NOT_FOUND);
  assert.equal(w.groups.size, 0, 'refused requests leave nothing behind');
  // v0: the coordinator generates the member id.
  const v0 = await w.hb({ ...joinReq, memberId: '', apiVersion: 0 });
  assert.equal(v0.errorCode, 0);
  assert.match(v0.memberId!, /^[A-Za-z0-9_-]{22}$/);
  assert.equal((await w.join('m2')).errorCode, 0);
  assert.equal((await w.join('m3')).errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
  assert.equal((await w.join('m2')).errorCode, 0, 'a member of the group may rejoin when it is full');
});

test('static members: the instance id is released by a -2 leave, the new member takes over without a rebalance', async () => {
  const w = world();
  let r = await w.join('s1', { instanceId: 'i1' });
  assert.deepEqual([r.memberEpoch, partsOf(r)], [1, [0, 1, 2, 3, 4, 5]]);
  assert.equal((await w.join('s2', { instanceId: 'i1' })).errorCode, ErrorCode.UNRELEASED_INSTANCE_ID);
  r = await w.hb({ memberId: 's1', memberEpoch: -2, instanceId: 'i1' });
  assert.deepEqual([r.errorCode, r.memberEpoch], [0, -2]);
  assert.equal(w.group().members.get('s1')!.memberEpoch, -2, 'still a member, partitions kept');
  r = await w.join('s2', { instanceId: 'i1' });
  assert.deepEqual([r.errorCode, r.memberEpoch, partsOf(r)], [0, 1, [0, 1, 2, 3, 4, 5]]);
  assert.equal(w.group().groupEpoch, 1, 'no rebalance');
  assert.equal((await w.hb({ memberId: 's1', memberEpoch: 1, instanceId: 'i1' })).errorCode, ErrorCode.FENCED_INSTANCE_ID);
  assert.equal((await w.hb({ memberId: 's9', memberEpoch: 1, instanceId: 'i9' })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  w.assertDurable();
  // A static member that left with -2 and does not come back expires with its session.
  await w.hb({ memberId: 's2', memberEpoch: -2, instanceId: 'i1' });
  await w.timers.advance(45_001);
  assert.equal(w.group().members.size, 0);
  assert.equal(w.group().stateName(), 'Empty');
  w.assertDurable();
});

test('subscription changes, regexes and new partitions bump the group epoch', async () => {
  const w = world();
  w.topics.set('payments', topicState('payments', 'AAAAAAAAAAAAAAAAAAAABA', 2));
  let r = await w.join('m1', { subscribedTopicNames: null, subscribedTopicRegex: 'pay.*' });
  assert.deepEqual([r.errorCode, r.memberEpoch, r.assignment?.topicPartitions], [0, 1, [{ topicId: 'AAAAAAAAAAAAAAAAAAAABA', partitions: [0, 1] }]]);
  assert.deepEqual([...w.group().regexes.get('pay.*')!.topics], ['payments']);
  assert.ok(w.group().isSubscribedTo('payments'));
  // Partitions added to a subscribed topic: the next heartbeat bumps the epoch and assigns them.
  w.topics.set('payments', topicState('payments', 'AAAAAAAAAAAAAAAAAAAABA', 3));
  r = await w.beat('m1', 1);
  assert.deepEqual([r.memberEpoch, partsOf(r)], [2, [0, 1, 2]]);
  // Changing the subscription to names.
  r = await w.hb({ memberId: 'm1', memberEpoch: 2, subscribedTopicNames: ['orders'], subscribedTopicRegex: '', topicPartitions: [{ topicId: 'AAAAAAAAAAAAAAAAAAAABA', partitions: [0, 1, 2] }] });
  assert.deepEqual([r.memberEpoch, partsOf(r)], [2, []], 'first payments is revoked');
  r = await w.beat('m1', 2, []);
  assert.deepEqual([r.memberEpoch, partsOf(r)], [3, [0, 1, 2, 3, 4, 5]]);
  assert.equal(w.group().regexes.size, 0, 'an unused regex is deleted');
  w.assertDurable();
});

test('an empty classic group is converted by a join; a classic group with members is not', async () => {
  const w = world();
  const classicHost = { now: () => 0, write: async () => {}, initialRebalanceDelayMs: () => 0, maxSize: () => 10, log: () => {} };
  w.groups.set('g', new ClassicGroup('g', 7, classicHost));
  const r = await w.join('m1');
  assert.equal(r.errorCode, 0);
  assert.ok(w.groups.get('g') instanceof ConsumerGroup);
  const first = decodeRecord(w.log[0]!.key, w.log[0]!.value)!;
  assert.deepEqual([first.recordType, first.value], [2, null], 'the classic group is tombstoned first');

  const live: GroupMetadataValue = {
    protocolType: 'consumer',
    generation: 3,
    protocol: 'range',
    leader: 'c1',
    currentStateTimestamp: 0n,
    members: [{ memberId: 'c1', groupInstanceId: null, clientId: 'x', clientHost: '/h', rebalanceTimeout: 1000, sessionTimeout: 1000, subscription: Buffer.alloc(0), assignment: Buffer.alloc(0) }],
  };
  w.groups.set('c', ClassicGroup.fromRecord('c', 7, classicHost, live));
  const refused = await w.join('m1', { groupId: 'c' });
  assert.equal(refused.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  assert.match(refused.errorMessage!, /not a consumer group/);
});

test('a write that fails leaves the group as it was and answers an error', async () => {
  const w = world();
  await w.join('m1');
  const before = w.group().describeConsumer('uniform');
  w.failWrite();
  const r = await w.join('m2');
  assert.equal(r.errorCode, ErrorCode.NOT_COORDINATOR);
  assert.deepEqual(w.group().describeConsumer('uniform'), before);
  w.assertDurable();
  assert.equal((await w.join('m2')).errorCode, 0, 'the retry succeeds');
  w.assertDurable();
});
