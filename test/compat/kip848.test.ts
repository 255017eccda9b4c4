// Acceptance: the consumer group protocol of KIP-848 (ConsumerGroupHeartbeat, ConsumerGroupDescribe),
// spoken directly over a socket with the generated codecs: no client here speaks it (Debian's
// librdkafka 2.0.2 and confluent-kafka 1.7.0 predate it), so this is the acceptance test.
// - one member joins and gets every partition of a 6-partition topic; a second joins: the first is
//   asked to revoke (its next answer lists fewer partitions, at the same epoch), the second gets
//   them only after the first acknowledged the revocation; epochs advance; a stale epoch is fenced;
// - OffsetCommit v9 with the member epoch is accepted, a stale epoch refused; ListGroups says
//   "consumer"; ConsumerGroupDescribe shows members, assignments and epochs;
// - the group survives a broker restart; a leave (-1) and a session expiry move partitions back;
// - an empty classic group is converted by a join, a classic group with members is not.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ApiVersionsRequest,
  ApiVersionsResponse,
  ConsumerGroupDescribeRequest,
  ConsumerGroupDescribeResponse,
  ConsumerGroupHeartbeatRequest,
  ConsumerGroupHeartbeatResponse,
  CreateTopicsRequest,
  CreateTopicsResponse,
  DeleteGroupsRequest,
  DeleteGroupsResponse,
  ErrorCode,
  JoinGroupRequest,
  JoinGroupResponse,
  LeaveGroupRequest,
  LeaveGroupResponse,
  ListGroupsRequest,
  ListGroupsResponse,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
  randomUuid,
  SyncGroupRequest,
  SyncGroupResponse,
  type ConsumerGroupHeartbeatResponse as HeartbeatResponse,
  type MessageInput,
} from '@fjord/protocol';
import { startBroker, type Broker } from '../harness/broker.js';
import { CodecConnection } from '../harness/codec-connection.js';
import { sleep } from '../harness/util.js';

const sessionMs = 4_000;
const topic = 'kip848-orders';
const group = 'kip848-group';
let broker: Broker;
let conn: CodecConnection;
let topicId = '';

before(async () => {
  broker = await startBroker({
    configs: {
      'group.consumer.session.timeout.ms': sessionMs,
      'group.consumer.min.session.timeout.ms': 1_000,
      'group.consumer.heartbeat.interval.ms': 500,
      'group.consumer.min.heartbeat.interval.ms': 500,
      'group.initial.rebalance.delay.ms': 0,
    },
  });
  conn = await CodecConnection.open(broker.host, broker.port);
  const created = await conn.request(CreateTopicsRequest, CreateTopicsResponse, 7, { topics: [{ name: topic, numPartitions: 6, replicationFactor: 1 }], timeoutMs: 10_000 });
  assert.equal(created.topics[0]!.errorCode, ErrorCode.NONE);
  topicId = created.topics[0]!.topicId;
}, { timeout: 30_000 });
after(async () => {
  conn?.close();
  await broker?.dispose();
}, { timeout: 30_000 });

type HeartbeatBody = MessageInput<ConsumerGroupHeartbeatRequest>;

function heartbeat(body: HeartbeatBody, version = 1): Promise<HeartbeatResponse> {
  return conn.request(ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, version, { groupId: group, instanceId: null, rackId: null, rebalanceTimeoutMs: -1, subscribedTopicNames: null, subscribedTopicRegex: null, serverAssignor: null, topicPartitions: null, ...body });
}

const join = (memberId: string, groupId = group) => heartbeat({ groupId, memberId, memberEpoch: 0, rebalanceTimeoutMs: 30_000, subscribedTopicNames: [topic], topicPartitions: [] });
const beat = (memberId: string, memberEpoch: number, owned?: number[]) => heartbeat({ memberId, memberEpoch, topicPartitions: owned === undefined ? null : [{ topicId, partitions: owned }] });
const partitions = (r: HeartbeatResponse): number[] | undefined => r.assignment?.topicPartitions.flatMap((tp) => (tp.topicId === topicId ? tp.partitions : [])).sort((a, b) => a - b);

async function describe(groupId = group) {
  const r = await conn.request(ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse, 1, { groupIds: [groupId], includeAuthorizedOperations: true });
  return r.groups[0]!;
}

function commit(memberId: string, memberEpoch: number, version = 9) {
  return conn.request(OffsetCommitRequest, OffsetCommitResponse, version, {
    groupId: group,
    generationIdOrMemberEpoch: memberEpoch,
    memberId,
    groupInstanceId: null,
    topics: [{ name: topic, topicId, partitions: [{ partitionIndex: 0, committedOffset: 42n, committedLeaderEpoch: -1, committedMetadata: 'kip848' }] }],
  });
}

const A = randomUuid();
const B = randomUuid();
const C = randomUuid();
let epochA = 0;

test('ApiVersions advertises ConsumerGroupHeartbeat and ConsumerGroupDescribe v0-1', async () => {
  const r = await conn.request(ApiVersionsRequest, ApiVersionsResponse, 3, { clientSoftwareName: 'kip848', clientSoftwareVersion: '1' });
  const keys = new Map(r.apiKeys.map((k) => [k.apiKey, [k.minVersion, k.maxVersion]]));
  assert.deepEqual(keys.get(68), [0, 1]);
  assert.deepEqual(keys.get(69), [0, 1]);
});

test('join, a second member, revocation before hand-over, epochs, fencing', async () => {
  let r = await join(A);
  assert.equal(r.errorCode, ErrorCode.NONE, r.errorMessage ?? '');
  assert.deepEqual([r.memberId, r.memberEpoch, r.heartbeatIntervalMs, partitions(r)], [A, 1, 500, [0, 1, 2, 3, 4, 5]]);

  r = await join(B);
  assert.deepEqual([r.errorCode, r.memberEpoch, partitions(r)], [ErrorCode.NONE, 2, []], 'B waits for the partitions A still owns');

  r = await beat(A, 1);
  assert.deepEqual([r.errorCode, r.memberEpoch, partitions(r)], [ErrorCode.NONE, 1, [0, 1, 2]], 'A is asked to revoke 3-5, at its old epoch');
  r = await beat(B, 2, []);
  assert.deepEqual([r.memberEpoch, partitions(r) ?? []], [2, []], 'B gets nothing before A revoked');
  assert.equal((await describe()).groupState, 'Reconciling');

  r = await beat(A, 1, [0, 1, 2]);
  assert.deepEqual([r.errorCode, r.memberEpoch], [ErrorCode.NONE, 2], 'the revocation acknowledged, A moves to epoch 2');
  epochA = 2;
  r = await beat(B, 2, []);
  assert.deepEqual([r.memberEpoch, partitions(r)], [2, [3, 4, 5]]);

  const d = await describe();
  assert.deepEqual([d.errorCode, d.groupState, d.groupEpoch, d.assignmentEpoch, d.assignorName], [ErrorCode.NONE, 'Stable', 2, 2, 'uniform']);

  // Fencing: an epoch the member never had, an epoch ahead, an unknown member.
  assert.equal((await beat(A, 1, [3])).errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
  assert.equal((await beat(B, 7)).errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
  assert.equal((await beat(randomUuid(), 2)).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal((await heartbeat({ memberId: A, memberEpoch: 0, rebalanceTimeoutMs: 1000, subscribedTopicNames: [topic], topicPartitions: [], serverAssignor: 'sticky' })).errorCode, ErrorCode.UNSUPPORTED_ASSIGNOR);
  assert.equal((await heartbeat({ memberId: '', memberEpoch: 0, rebalanceTimeoutMs: 1000, subscribedTopicNames: [topic], topicPartitions: [] })).errorCode, ErrorCode.INVALID_REQUEST);
});

test('OffsetCommit and OffsetFetch with member epochs; ListGroups reports the consumer type', async () => {
  let r = await commit(A, epochA);
  assert.equal(r.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
  r = await commit(A, epochA - 1);
  assert.equal(r.topics[0]!.partitions[0]!.errorCode, ErrorCode.STALE_MEMBER_EPOCH);
  r = await commit('not-a-member', epochA);
  assert.equal(r.topics[0]!.partitions[0]!.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  r = await commit(A, epochA, 8);
  assert.equal(r.topics[0]!.partitions[0]!.errorCode, ErrorCode.UNSUPPORTED_VERSION, 'a consumer-protocol member commits with v9+ (as Kafka 4)');

  const fetch = (memberEpoch: number) =>
    conn.request(OffsetFetchRequest, OffsetFetchResponse, 9, { groups: [{ groupId: group, memberId: A, memberEpoch, topics: [{ name: topic, partitionIndexes: [0] }] }], requireStable: true });
  const f = await fetch(epochA);
  assert.deepEqual([f.groups[0]!.errorCode, f.groups[0]!.topics[0]!.partitions[0]!.committedOffset], [ErrorCode.NONE, 42n]);
  assert.equal((await fetch(epochA + 5)).groups[0]!.errorCode, ErrorCode.STALE_MEMBER_EPOCH);

  const l = await conn.request(ListGroupsRequest, ListGroupsResponse, 5, { statesFilter: [], typesFilter: ['consumer'] });
  const listed = l.groups.find((g) => g.groupId === group);
  assert.deepEqual([listed?.groupType, listed?.protocolType, listed?.groupState], ['consumer', 'consumer', 'Stable']);
});

test('the group survives a broker restart with its members, epochs and assignments', async () => {
  const before = await describe();
  await broker.restart();
  conn.close();
  conn = await CodecConnection.open(broker.host, broker.port);
  const after = await describe();
  const view = (d: typeof before) => ({
    state: d.groupState,
    epochs: [d.groupEpoch, d.assignmentEpoch],
    members: d.members
      .map((m) => [m.memberId, m.memberEpoch, m.assignment.topicPartitions.map((tp) => [tp.topicName, tp.partitions]), m.targetAssignment.topicPartitions.map((tp) => [tp.topicName, tp.partitions])])
      .sort(),
  });
  assert.deepEqual(view(after), view(before));
  assert.ok(after.members.every((m) => m.memberType === 1 && m.clientHost.startsWith('/')));
  assert.notEqual(after.authorizedOperations, -2147483648);
  // The sessions started again: both members carry on at their epochs.
  assert.equal((await beat(A, epochA)).errorCode, ErrorCode.NONE);
  assert.equal((await beat(B, 2)).errorCode, ErrorCode.NONE);
});

test('a leave moves the partitions back; so does a session expiry', async () => {
  let r = await heartbeat({ memberId: B, memberEpoch: -1 });
  assert.deepEqual([r.errorCode, r.memberEpoch], [ErrorCode.NONE, -1]);
  r = await beat(A, epochA);
  assert.deepEqual([r.memberEpoch, partitions(r)], [3, [0, 1, 2, 3, 4, 5]]);
  epochA = 3;

  // C joins; A revokes half and acknowledges; then A goes silent.
  r = await join(C);
  const epochC = r.memberEpoch;
  r = await beat(A, epochA);
  assert.deepEqual(partitions(r), [0, 1, 2]);
  r = await beat(A, epochA, [0, 1, 2]);
  r = await beat(C, epochC, []);
  assert.deepEqual(partitions(r), [3, 4, 5]);
  const deadline = Date.now() + sessionMs + 5_000;
  let owned: number[] = [3, 4, 5];
  let epoch = r.memberEpoch;
  while (Date.now() < deadline && owned.length < 6) {
    await sleep(300);
    r = await beat(C, epoch, owned);
    assert.equal(r.errorCode, ErrorCode.NONE);
    epoch = r.memberEpoch;
    owned = partitions(r) ?? owned;
  }
  assert.deepEqual(owned, [0, 1, 2, 3, 4, 5], 'C has every partition once A expired');
  const d = await describe();
  assert.deepEqual(d.members.map((m) => m.memberId), [C]);
  assert.equal((await beat(A, epochA)).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  await heartbeat({ memberId: C, memberEpoch: -1 });
  assert.equal((await describe()).groupState, 'Empty');
  // An empty consumer group can be deleted, offsets and all.
  const del = await conn.request(DeleteGroupsRequest, DeleteGroupsResponse, 2, { groupsNames: [group] });
  assert.equal(del.results[0]!.errorCode, ErrorCode.NONE);
  assert.equal((await describe()).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
});

test('an empty classic group becomes a consumer group on a join; a classic group with members does not', async () => {
  const classic = 'kip848-classic';
  const joinClassic = (memberId: string) =>
    conn.request(JoinGroupRequest, JoinGroupResponse, 9, {
      groupId: classic,
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
      reason: null,
    });
  let j = await joinClassic('');
  if (j.errorCode === ErrorCode.MEMBER_ID_REQUIRED) j = await joinClassic(j.memberId);
  assert.equal(j.errorCode, ErrorCode.NONE);
  const s = await conn.request(SyncGroupRequest, SyncGroupResponse, 5, { groupId: classic, generationId: j.generationId, memberId: j.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments: [{ memberId: j.memberId, assignment: Buffer.alloc(0) }] });
  assert.equal(s.errorCode, ErrorCode.NONE);

  const refused = await join(randomUuid(), classic);
  assert.equal(refused.errorCode, ErrorCode.GROUP_ID_NOT_FOUND, 'a classic group with a member is not converted');

  const left = await conn.request(LeaveGroupRequest, LeaveGroupResponse, 5, { groupId: classic, members: [{ memberId: j.memberId, groupInstanceId: null, reason: null }] });
  assert.equal(left.errorCode, ErrorCode.NONE);
  const member = randomUuid();
  const r = await join(member, classic);
  assert.deepEqual([r.errorCode, r.memberEpoch], [ErrorCode.NONE, 1]);
  const l = await conn.request(ListGroupsRequest, ListGroupsResponse, 5, { statesFilter: [], typesFilter: [] });
  assert.equal(l.groups.find((g) => g.groupId === classic)?.groupType, 'consumer');
  await heartbeat({ groupId: classic, memberId: member, memberEpoch: -1 });

  // And back: a JoinGroup turns the empty consumer group into a classic one (the coordinator's
  // downgrade path), which the log replays as such after a restart; the deleted group stays deleted.
  j = await joinClassic('');
  if (j.errorCode === ErrorCode.MEMBER_ID_REQUIRED) j = await joinClassic(j.memberId);
  assert.equal(j.errorCode, ErrorCode.NONE);
  const synced = await conn.request(SyncGroupRequest, SyncGroupResponse, 5, { groupId: classic, generationId: j.generationId, memberId: j.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments: [{ memberId: j.memberId, assignment: Buffer.alloc(0) }] });
  assert.equal(synced.errorCode, ErrorCode.NONE);
  await broker.restart();
  conn.close();
  conn = await CodecConnection.open(broker.host, broker.port);
  const after = await conn.request(ListGroupsRequest, ListGroupsResponse, 5, { statesFilter: [], typesFilter: [] });
  assert.deepEqual(
    after.groups.filter((g) => g.groupId.startsWith('kip848-')).map((g) => [g.groupId, g.groupType]),
    [[classic, 'classic']],
  );
  assert.equal((await describe(classic)).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
});

test('with group.coordinator.rebalance.protocols=classic the consumer protocol is neither advertised nor served', async () => {
  const classicOnly = await startBroker({ configs: { 'group.coordinator.rebalance.protocols': 'classic' } });
  const c = await CodecConnection.open(classicOnly.host, classicOnly.port);
  try {
    const r = await c.request(ApiVersionsRequest, ApiVersionsResponse, 3, { clientSoftwareName: 'kip848', clientSoftwareVersion: '1' });
    const keys = new Set(r.apiKeys.map((k) => k.apiKey));
    assert.equal(keys.has(68) || keys.has(69), false, 'ConsumerGroupHeartbeat/Describe advertised');
    assert.ok(keys.has(11), 'JoinGroup still advertised');
    const hb = await c.request(ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, 1, {
      groupId: 'classic-only',
      memberId: 'm'.repeat(22),
      memberEpoch: 0,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: 30_000,
      subscribedTopicNames: [topic],
      subscribedTopicRegex: null,
      serverAssignor: null,
      topicPartitions: [],
    });
    assert.equal(hb.errorCode, ErrorCode.UNSUPPORTED_VERSION);
  } finally {
    c.close();
    await classicOnly.dispose();
  }
});
