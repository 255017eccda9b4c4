// Bad input to the group coordinator, spoken directly with the generated codecs: illegal group ids,
// groups that do not exist, unknown members, stale generations, fenced static members, protocol
// mismatches, out-of-range session timeouts, oversized metadata, full groups, and records written
// straight into __consumer_offsets. Each gets Kafka's error code; a healthy group on the same broker
// keeps its generation, members and offsets throughout and after a restart, and the bad requests
// leave no group behind.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConsumerProtocolSubscription,
  CreateTopicsRequest,
  CreateTopicsResponse,
  DeleteGroupsRequest,
  DeleteGroupsResponse,
  DescribeGroupsRequest,
  DescribeGroupsResponse,
  encodeBatch,
  ErrorCode,
  HeartbeatRequest,
  HeartbeatResponse,
  JoinGroupRequest,
  JoinGroupResponse,
  LeaveGroupRequest,
  LeaveGroupResponse,
  ListGroupsRequest,
  ListGroupsResponse,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetDeleteRequest,
  OffsetDeleteResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
  ProduceRequest,
  ProduceResponse,
  SyncGroupRequest,
  SyncGroupResponse,
  Writer,
  type MessageInput,
} from '@fjord/protocol';
import { startBroker, type Broker } from '../harness/broker.js';
import { CodecConnection } from '../harness/codec-connection.js';

const topic = 'groups-bad';
const healthy = 'healthy-group';
let broker: Broker;
const conns: CodecConnection[] = [];
let main: CodecConnection;
let member: { memberId: string; generationId: number };

async function conn(): Promise<CodecConnection> {
  const c = await CodecConnection.open(broker.host, broker.port);
  conns.push(c);
  return c;
}

function subscription(topics: string[]): Buffer {
  const w = new Writer(64);
  w.writeInt16(0);
  ConsumerProtocolSubscription.encode(w, { topics, userData: null }, 0);
  return w.toBuffer();
}

const joinReq = (groupId: string, over: Partial<MessageInput<JoinGroupRequest>> = {}): MessageInput<JoinGroupRequest> => ({
  groupId,
  sessionTimeoutMs: 6_000,
  rebalanceTimeoutMs: 6_000,
  memberId: '',
  groupInstanceId: null,
  protocolType: 'consumer',
  protocols: [{ name: 'range', metadata: subscription([topic]) }],
  reason: null,
  ...over,
});

/** Join (answering MEMBER_ID_REQUIRED) and sync alone: a stable one-member group. */
async function stable(c: CodecConnection, groupId: string, over: Partial<MessageInput<JoinGroupRequest>> = {}): Promise<{ memberId: string; generationId: number }> {
  let j = await c.request(JoinGroupRequest, JoinGroupResponse, 9, joinReq(groupId, over));
  if (j.errorCode === ErrorCode.MEMBER_ID_REQUIRED) j = await c.request(JoinGroupRequest, JoinGroupResponse, 9, joinReq(groupId, { ...over, memberId: j.memberId }));
  assert.equal(j.errorCode, ErrorCode.NONE, `join ${groupId}`);
  const s = await c.request(SyncGroupRequest, SyncGroupResponse, 5, {
    groupId,
    generationId: j.generationId,
    memberId: j.memberId,
    groupInstanceId: over.groupInstanceId ?? null,
    protocolType: 'consumer',
    protocolName: 'range',
    assignments: [{ memberId: j.memberId, assignment: Buffer.from('a') }],
  });
  assert.equal(s.errorCode, ErrorCode.NONE, `sync ${groupId}`);
  return { memberId: j.memberId, generationId: j.generationId };
}

const commitReq = (groupId: string, generation: number, memberId: string, offset = 1n, metadata = '', groupInstanceId: string | null = null): MessageInput<OffsetCommitRequest> => ({
  groupId,
  generationIdOrMemberEpoch: generation,
  memberId,
  groupInstanceId,
  topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: metadata }] }],
});

async function commitCode(c: CodecConnection, version: number, req: MessageInput<OffsetCommitRequest>): Promise<number> {
  const r = await c.request(OffsetCommitRequest, OffsetCommitResponse, version, req);
  return r.topics[0]!.partitions[0]!.errorCode;
}

async function fetchOffset(c: CodecConnection, groupId: string, partition = 0): Promise<bigint> {
  const r = await c.request(OffsetFetchRequest, OffsetFetchResponse, 7, { groupId, topics: [{ name: topic, partitionIndexes: [partition] }], requireStable: true });
  return r.topics[0]!.partitions[0]!.committedOffset;
}

async function listed(c: CodecConnection): Promise<string[]> {
  const r = await c.request(ListGroupsRequest, ListGroupsResponse, 5, {});
  return r.groups.map((g) => g.groupId).sort();
}

/** The healthy group is as it was: same generation and member, heartbeats fine, its offset there. */
async function assertHealthy(c: CodecConnection): Promise<void> {
  const hb = await c.request(HeartbeatRequest, HeartbeatResponse, 4, { groupId: healthy, generationId: member.generationId, memberId: member.memberId, groupInstanceId: null });
  assert.equal(hb.errorCode, ErrorCode.NONE, 'healthy member heartbeat');
  const d = await c.request(DescribeGroupsRequest, DescribeGroupsResponse, 5, { groups: [healthy], includeAuthorizedOperations: false });
  assert.deepEqual([d.groups[0]!.groupState, d.groups[0]!.members.map((m) => m.memberId)], ['Stable', [member.memberId]]);
  assert.equal(await fetchOffset(c, healthy), 42n);
}

before(async () => {
  broker = await startBroker({ configs: { 'group.initial.rebalance.delay.ms': 0, 'group.min.session.timeout.ms': 1000, 'group.max.size': 2 } });
  main = await conn();
  const t = await main.request(CreateTopicsRequest, CreateTopicsResponse, 7, { topics: [{ name: topic, numPartitions: 3, replicationFactor: 1 }], timeoutMs: 10_000 });
  assert.equal(t.topics[0]!.errorCode, ErrorCode.NONE);
  member = await stable(main, healthy);
  assert.equal(await commitCode(main, 8, commitReq(healthy, member.generationId, member.memberId, 42n)), ErrorCode.NONE);
}, { timeout: 20_000 });

after(async () => {
  for (const c of conns) c.close();
  await broker?.dispose();
}, { timeout: 20_000 });

test('illegal (empty) group ids: INVALID_GROUP_ID from every group API', { timeout: 10_000 }, async () => {
  const c = await conn();
  assert.equal((await c.request(JoinGroupRequest, JoinGroupResponse, 9, joinReq(''))).errorCode, ErrorCode.INVALID_GROUP_ID);
  assert.equal((await c.request(SyncGroupRequest, SyncGroupResponse, 5, { groupId: '', generationId: 1, memberId: 'm', assignments: [] })).errorCode, ErrorCode.INVALID_GROUP_ID);
  assert.equal((await c.request(HeartbeatRequest, HeartbeatResponse, 4, { groupId: '', generationId: 1, memberId: 'm' })).errorCode, ErrorCode.INVALID_GROUP_ID);
  assert.equal((await c.request(LeaveGroupRequest, LeaveGroupResponse, 5, { groupId: '', members: [{ memberId: 'm' }] })).errorCode, ErrorCode.INVALID_GROUP_ID);
  assert.equal(await commitCode(c, 8, commitReq('', -1, '')), ErrorCode.INVALID_GROUP_ID);
  const f = await c.request(OffsetFetchRequest, OffsetFetchResponse, 8, { groups: [{ groupId: '', topics: null }] });
  assert.equal(f.groups[0]!.errorCode, ErrorCode.INVALID_GROUP_ID);
  assert.equal((await c.request(DeleteGroupsRequest, DeleteGroupsResponse, 2, { groupsNames: [''] })).results[0]!.errorCode, ErrorCode.INVALID_GROUP_ID);
  assert.equal((await c.request(OffsetDeleteRequest, OffsetDeleteResponse, 0, { groupId: '', topics: [] })).errorCode, ErrorCode.INVALID_GROUP_ID);
  assert.equal((await c.request(DescribeGroupsRequest, DescribeGroupsResponse, 5, { groups: [''] })).groups[0]!.errorCode, ErrorCode.INVALID_GROUP_ID);
  await assertHealthy(c);
});

test('groups that do not exist: Kafka error codes, and no group is created by asking', { timeout: 10_000 }, async () => {
  const c = await conn();
  const ghost = 'no-such-group';
  assert.equal((await c.request(HeartbeatRequest, HeartbeatResponse, 4, { groupId: ghost, generationId: 1, memberId: 'm' })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal((await c.request(SyncGroupRequest, SyncGroupResponse, 5, { groupId: ghost, generationId: 1, memberId: 'm', assignments: [] })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  const leave = await c.request(LeaveGroupRequest, LeaveGroupResponse, 5, { groupId: ghost, members: [{ memberId: 'm' }] });
  assert.equal(leave.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal((await c.request(JoinGroupRequest, JoinGroupResponse, 9, joinReq(ghost, { memberId: 'made-up' }))).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  // A commit with a generation into a missing group: ILLEGAL_GENERATION before v9, GROUP_ID_NOT_FOUND from v9.
  assert.equal(await commitCode(c, 8, commitReq(ghost, 3, 'm')), ErrorCode.ILLEGAL_GENERATION);
  assert.equal(await commitCode(c, 9, commitReq(ghost, 3, 'm')), ErrorCode.GROUP_ID_NOT_FOUND);
  assert.equal((await c.request(DeleteGroupsRequest, DeleteGroupsResponse, 2, { groupsNames: [ghost] })).results[0]!.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  assert.equal((await c.request(OffsetDeleteRequest, OffsetDeleteResponse, 0, { groupId: ghost, topics: [{ name: topic, partitions: [{ partitionIndex: 0 }] }] })).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  assert.equal((await c.request(DescribeGroupsRequest, DescribeGroupsResponse, 6, { groups: [ghost] })).groups[0]!.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  assert.equal(await fetchOffset(c, ghost), -1n);
  assert.ok(!(await listed(c)).includes(ghost), 'no group was created');
  await assertHealthy(c);
});

test('unknown members, stale generations and protocol mismatches on a live group', { timeout: 10_000 }, async () => {
  const c = await conn();
  const hb = (generationId: number, memberId: string) => c.request(HeartbeatRequest, HeartbeatResponse, 4, { groupId: healthy, generationId, memberId }).then((r) => r.errorCode);
  assert.equal(await hb(member.generationId, 'nobody'), ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(await hb(member.generationId + 1, member.memberId), ErrorCode.ILLEGAL_GENERATION);
  assert.equal(await hb(member.generationId - 1, member.memberId), ErrorCode.ILLEGAL_GENERATION);
  assert.equal(await commitCode(c, 8, commitReq(healthy, member.generationId, 'nobody', 7n)), ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(await commitCode(c, 8, commitReq(healthy, member.generationId + 5, member.memberId, 7n)), ErrorCode.ILLEGAL_GENERATION);
  // A commit from outside the group while it has members.
  assert.equal(await commitCode(c, 8, commitReq(healthy, -1, '', 7n)), ErrorCode.UNKNOWN_MEMBER_ID);
  const sync = (over: Partial<MessageInput<SyncGroupRequest>>) =>
    c.request(SyncGroupRequest, SyncGroupResponse, 5, { groupId: healthy, generationId: member.generationId, memberId: member.memberId, protocolType: 'consumer', protocolName: 'range', assignments: [], ...over }).then((r) => r.errorCode);
  assert.equal(await sync({ generationId: member.generationId + 1 }), ErrorCode.ILLEGAL_GENERATION);
  assert.equal(await sync({ protocolName: 'roundrobin' }), ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  assert.equal(await sync({ memberId: 'nobody' }), ErrorCode.UNKNOWN_MEMBER_ID);
  const join = (over: Partial<MessageInput<JoinGroupRequest>>) => c.request(JoinGroupRequest, JoinGroupResponse, 9, joinReq(healthy, over)).then((r) => r.errorCode);
  assert.equal(await join({ protocolType: 'connect' }), ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  assert.equal(await join({ protocols: [{ name: 'roundrobin', metadata: subscription([topic]) }] }), ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  assert.equal(await join({ protocols: [] }), ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  assert.equal(await join({ sessionTimeoutMs: 10 }), ErrorCode.INVALID_SESSION_TIMEOUT);
  assert.equal(await join({ sessionTimeoutMs: 2_000_000_000 }), ErrorCode.INVALID_SESSION_TIMEOUT);
  assert.equal(await join({ memberId: 'nobody' }), ErrorCode.UNKNOWN_MEMBER_ID);
  const leave = await c.request(LeaveGroupRequest, LeaveGroupResponse, 5, { groupId: healthy, members: [{ memberId: 'nobody' }, { memberId: '', groupInstanceId: 'no-instance' }] });
  assert.deepEqual([leave.errorCode, leave.members.map((m) => m.errorCode)], [ErrorCode.NONE, [ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.UNKNOWN_MEMBER_ID]]);
  assert.equal((await c.request(DeleteGroupsRequest, DeleteGroupsResponse, 2, { groupsNames: [healthy] })).results[0]!.errorCode, ErrorCode.NON_EMPTY_GROUP);
  const od = await c.request(OffsetDeleteRequest, OffsetDeleteResponse, 0, { groupId: healthy, topics: [{ name: topic, partitions: [{ partitionIndex: 0 }] }] });
  assert.equal(od.topics[0]!.partitions[0]!.errorCode, ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC);
  await assertHealthy(c);
});

test('static members: a wrong member id for a known instance is FENCED_INSTANCE_ID', { timeout: 10_000 }, async () => {
  const c = await conn();
  const g = 'static-fence';
  const s = await stable(c, g, { groupInstanceId: 'instance-1' });
  assert.match(s.memberId, /^instance-1-/);
  assert.equal((await c.request(JoinGroupRequest, JoinGroupResponse, 9, joinReq(g, { groupInstanceId: 'instance-1', memberId: 'instance-1-stale' }))).errorCode, ErrorCode.FENCED_INSTANCE_ID);
  assert.equal((await c.request(HeartbeatRequest, HeartbeatResponse, 4, { groupId: g, generationId: s.generationId, memberId: 'instance-1-stale', groupInstanceId: 'instance-1' })).errorCode, ErrorCode.FENCED_INSTANCE_ID);
  assert.equal(await commitCode(c, 8, commitReq(g, s.generationId, 'instance-1-stale', 3n, '', 'instance-1')), ErrorCode.FENCED_INSTANCE_ID);
  // The real member is untouched.
  assert.equal((await c.request(HeartbeatRequest, HeartbeatResponse, 4, { groupId: g, generationId: s.generationId, memberId: s.memberId, groupInstanceId: 'instance-1' })).errorCode, ErrorCode.NONE);
  // A restart of the instance (new JoinGroup without a member id) takes over without a rebalance.
  const c2 = await conn();
  const j = await c2.request(JoinGroupRequest, JoinGroupResponse, 9, joinReq(g, { groupInstanceId: 'instance-1' }));
  assert.equal(j.errorCode, ErrorCode.NONE);
  assert.equal(j.generationId, s.generationId, 'no new generation');
  assert.notEqual(j.memberId, s.memberId);
  assert.equal((await c.request(HeartbeatRequest, HeartbeatResponse, 4, { groupId: g, generationId: s.generationId, memberId: s.memberId, groupInstanceId: 'instance-1' })).errorCode, ErrorCode.FENCED_INSTANCE_ID);
  const sync = await c2.request(SyncGroupRequest, SyncGroupResponse, 5, { groupId: g, generationId: j.generationId, memberId: j.memberId, groupInstanceId: 'instance-1', protocolType: 'consumer', protocolName: 'range', assignments: [] });
  assert.deepEqual([sync.errorCode, sync.assignment.toString()], [ErrorCode.NONE, 'a'], 'the old assignment comes back');
  await assertHealthy(c);
});

test('oversized metadata: too-large commit metadata and a group too large to store', { timeout: 15_000 }, async () => {
  const c = await conn();
  // offset.metadata.max.bytes is 4096.
  assert.equal(await commitCode(c, 8, commitReq('big-meta', -1, '', 5n, 'x'.repeat(4097))), ErrorCode.OFFSET_METADATA_TOO_LARGE);
  assert.equal(await commitCode(c, 8, commitReq('big-meta', -1, '', 5n, 'x'.repeat(4096))), ErrorCode.NONE);
  // 2 MB of subscription metadata: the join is accepted, storing the group (1 MB max.message.bytes) is not.
  const huge = Buffer.alloc(2 * 1024 * 1024, 7);
  let j = await c.request(JoinGroupRequest, JoinGroupResponse, 9, joinReq('big-group', { protocols: [{ name: 'range', metadata: huge }] }));
  if (j.errorCode === ErrorCode.MEMBER_ID_REQUIRED) j = await c.request(JoinGroupRequest, JoinGroupResponse, 9, joinReq('big-group', { memberId: j.memberId, protocols: [{ name: 'range', metadata: huge }] }));
  assert.equal(j.errorCode, ErrorCode.NONE);
  assert.equal(j.members[0]!.metadata.length, huge.length);
  const s = await c.request(SyncGroupRequest, SyncGroupResponse, 5, { groupId: 'big-group', generationId: j.generationId, memberId: j.memberId, protocolType: 'consumer', protocolName: 'range', assignments: [{ memberId: j.memberId, assignment: Buffer.from('a') }] });
  assert.equal(s.errorCode, ErrorCode.UNKNOWN_SERVER_ERROR);
  await assertHealthy(c);
});

test('a full group refuses another member with GROUP_MAX_SIZE_REACHED', { timeout: 15_000 }, async () => {
  const g = 'full-group';
  const [a, b, c] = [await conn(), await conn(), await conn()];
  await stable(a, g);
  // The second member: its id first, then its join waits for the rebalance (member one must rejoin).
  const first = await b.request(JoinGroupRequest, JoinGroupResponse, 9, joinReq(g));
  assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  const parked = b.request(JoinGroupRequest, JoinGroupResponse, 9, joinReq(g, { memberId: first.memberId }), 15_000);
  await new Promise((r) => setTimeout(r, 100));
  const third = await c.request(JoinGroupRequest, JoinGroupResponse, 9, joinReq(g));
  assert.equal(third.errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
  b.close();
  await parked.catch(() => undefined);
  await assertHealthy(a);
});

test('records produced into __consumer_offsets are refused (INVALID_TOPIC_EXCEPTION)', { timeout: 10_000 }, async () => {
  const c = await conn();
  const batch = encodeBatch({ records: [{ offsetDelta: 0, timestamp: BigInt(Date.now()), key: Buffer.from([0, 2, 0, 1, 0x41]), value: Buffer.from('garbage'), headers: [] }] });
  const r = await c.request(ProduceRequest, ProduceResponse, 9, { acks: -1, timeoutMs: 5_000, topicData: [{ name: '__consumer_offsets', partitionData: [{ index: 0, records: batch }] }] });
  assert.equal(r.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
  await assertHealthy(c);
});

test('after a restart the healthy group, its members and its offsets are back; bad requests left nothing', { timeout: 30_000 }, async () => {
  // big-group was never stored (its record is over max.message.bytes): like Kafka, it does not come back.
  const before = (await listed(main)).filter((g) => g !== 'big-group');
  await broker.restart();
  const c = await conn();
  assert.deepEqual(await listed(c), before);
  assert.ok(!before.includes('no-such-group'));
  await assertHealthy(c);
  assert.equal(await fetchOffset(c, 'big-meta'), 5n);
});
