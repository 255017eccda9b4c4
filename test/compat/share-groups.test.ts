// Acceptance: share groups (KIP-932, Kafka 4.2 "queues"), spoken directly over sockets with the
// generated codecs (no installed client speaks ShareGroupHeartbeat/ShareFetch/ShareAcknowledge):
// - two members of a share group on a 3-partition topic both receive records, and every record
//   exactly once; accepted records are never delivered again;
// - two members sharing one partition never hold the same record at once; release makes records
//   come back (delivery count + 1), reject never does;
// - a record nobody acknowledges comes back after group.share.record.lock.duration.ms with its
//   delivery count incremented, and is archived after group.share.delivery.count.limit deliveries;
// - acknowledgements survive a clean restart and a kill -9, and so does the group;
// - closing a share session (epoch -1, or the connection) releases the member's records at once;
// - ShareGroupDescribe shows members and assignments, ListGroups lists the group as "share";
//   DeleteGroups removes an empty share group with its state;
// - bad input gets Kafka's codes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ApiVersionsRequest,
  ApiVersionsResponse,
  CreateTopicsRequest,
  CreateTopicsResponse,
  decodeBatch,
  DeleteGroupsRequest,
  DeleteGroupsResponse,
  encodeBatch,
  ErrorCode,
  FindCoordinatorRequest,
  FindCoordinatorResponse,
  JoinGroupRequest,
  JoinGroupResponse,
  ListGroupsRequest,
  ListGroupsResponse,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetDeleteRequest,
  OffsetDeleteResponse,
  ProduceRequest,
  ProduceResponse,
  randomUuid,
  recordsToBuffer,
  ShareAcknowledgeRequest,
  ShareAcknowledgeResponse,
  ShareFetchRequest,
  ShareFetchResponse,
  ShareGroupDescribeRequest,
  ShareGroupDescribeResponse,
  ShareGroupHeartbeatRequest,
  ShareGroupHeartbeatResponse,
  splitBatches,
  type MessageInput,
} from '@fjord/protocol';
import { startBroker, type Broker } from '../harness/broker.js';
import { CodecConnection } from '../harness/codec-connection.js';
import { sleep } from '../harness/util.js';

const LOCK_MS = 1_000;
const ACCEPT = 1;
const RELEASE = 2;
const REJECT = 3;

let broker: Broker;
let admin: CodecConnection;
const topicIds = new Map<string, string>();
const open: CodecConnection[] = [];

before(async () => {
  broker = await startBroker({
    configs: {
      'group.share.record.lock.duration.ms': LOCK_MS,
      'group.share.min.record.lock.duration.ms': LOCK_MS,
      'group.share.delivery.count.limit': 2,
      'group.share.heartbeat.interval.ms': 500,
      'group.share.min.heartbeat.interval.ms': 500,
      'offsets.topic.num.partitions': 3,
      'share.coordinator.state.topic.num.partitions': 3,
    },
  });
  admin = await connect();
  const created = await admin.request(CreateTopicsRequest, CreateTopicsResponse, 7, {
    topics: [
      { name: 'share-orders', numPartitions: 3, replicationFactor: 1 },
      { name: 'share-single', numPartitions: 1, replicationFactor: 1 },
      { name: 'share-durable', numPartitions: 1, replicationFactor: 1 },
    ],
    timeoutMs: 10_000,
  });
  for (const t of created.topics) {
    assert.equal(t.errorCode, ErrorCode.NONE, t.errorMessage ?? '');
    topicIds.set(t.name, t.topicId);
  }
}, { timeout: 30_000 });

after(async () => {
  for (const c of open) c.close();
  await broker?.dispose();
}, { timeout: 30_000 });

async function connect(): Promise<CodecConnection> {
  const c = await CodecConnection.open(broker.host, broker.port);
  open.push(c);
  return c;
}

const id = (topic: string): string => topicIds.get(topic)!;

// ---- protocol helpers ----

function heartbeat(conn: CodecConnection, body: MessageInput<ShareGroupHeartbeatRequest>) {
  return conn.request(ShareGroupHeartbeatRequest, ShareGroupHeartbeatResponse, 1, { rackId: null, subscribedTopicNames: null, ...body });
}

async function produce(topic: string, partition: number, values: string[]): Promise<void> {
  const r = await admin.request(ProduceRequest, ProduceResponse, 9, {
    acks: -1,
    timeoutMs: 10_000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records: encodeBatch({ records: values.map((v) => ({ key: null, value: v, timestamp: BigInt(Date.now()) })) }) }] }],
  });
  assert.equal(r.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
}

interface Ack {
  topic: string;
  partition: number;
  first: number;
  last: number;
  types: number[];
}

/** A member with its own connection and share session. */
class Member {
  readonly memberId = randomUuid();
  epoch = 0;
  session = 0;
  constructor(
    readonly conn: CodecConnection,
    readonly group: string,
  ) {}

  async join(topics: string[]): Promise<ShareGroupHeartbeatResponse> {
    const r = await heartbeat(this.conn, { groupId: this.group, memberId: this.memberId, memberEpoch: 0, subscribedTopicNames: topics });
    assert.equal(r.errorCode, ErrorCode.NONE, r.errorMessage ?? '');
    this.epoch = r.memberEpoch;
    return r;
  }

  async beat(): Promise<ShareGroupHeartbeatResponse> {
    const r = await heartbeat(this.conn, { groupId: this.group, memberId: this.memberId, memberEpoch: this.epoch });
    if (r.errorCode === ErrorCode.NONE) this.epoch = r.memberEpoch;
    return r;
  }

  /** ShareFetch v2 on `partitions`; the session epoch advances on success. */
  async fetch(partitions: Array<[string, number]>, opts: { acks?: Ack[]; maxWaitMs?: number; maxRecords?: number; forget?: Array<[string, number]> } = {}) {
    const byTopic = new Map<string, Map<number, Ack[]>>();
    for (const [t, p] of partitions) (byTopic.get(t) ?? byTopic.set(t, new Map()).get(t)!).set(p, []);
    for (const a of opts.acks ?? []) {
      const m = byTopic.get(a.topic) ?? byTopic.set(a.topic, new Map()).get(a.topic)!;
      (m.get(a.partition) ?? m.set(a.partition, []).get(a.partition)!).push(a);
    }
    const r = await this.conn.request(ShareFetchRequest, ShareFetchResponse, 2, {
      groupId: this.group,
      memberId: this.memberId,
      shareSessionEpoch: this.session,
      maxWaitMs: opts.maxWaitMs ?? 2_000,
      minBytes: 1,
      maxBytes: 1 << 20,
      maxRecords: opts.maxRecords ?? 500,
      batchSize: 500,
      shareAcquireMode: 0,
      isRenewAck: false,
      topics: [...byTopic].map(([t, ps]) => ({
        topicId: id(t),
        partitions: [...ps].map(([p, acks]) => ({ partitionIndex: p, partitionMaxBytes: 0, acknowledgementBatches: acks.map((a) => ({ firstOffset: BigInt(a.first), lastOffset: BigInt(a.last), acknowledgeTypes: a.types })) })),
      })),
      forgottenTopicsData: (opts.forget ?? []).map(([t, p]) => ({ topicId: id(t), partitions: [p] })),
    });
    if (r.errorCode === ErrorCode.NONE) this.session = this.session === 0 ? 1 : this.session + 1;
    return r;
  }

  async acknowledge(acks: Ack[], sessionEpoch = this.session) {
    const byTopic = new Map<string, Map<number, Ack[]>>();
    for (const a of acks) {
      const m = byTopic.get(a.topic) ?? byTopic.set(a.topic, new Map()).get(a.topic)!;
      (m.get(a.partition) ?? m.set(a.partition, []).get(a.partition)!).push(a);
    }
    const r = await this.conn.request(ShareAcknowledgeRequest, ShareAcknowledgeResponse, 2, {
      groupId: this.group,
      memberId: this.memberId,
      shareSessionEpoch: sessionEpoch,
      isRenewAck: false,
      topics: [...byTopic].map(([t, ps]) => ({
        topicId: id(t),
        partitions: [...ps].map(([p, list]) => ({ partitionIndex: p, acknowledgementBatches: list.map((a) => ({ firstOffset: BigInt(a.first), lastOffset: BigInt(a.last), acknowledgeTypes: a.types })) })),
      })),
    });
    if (r.errorCode === ErrorCode.NONE && sessionEpoch > 0) this.session++;
    return r;
  }
}

interface Delivered {
  topic: string;
  partition: number;
  offset: number;
  value: string;
  deliveryCount: number;
}

/** The records a ShareFetch delivered: those inside the acquired ranges, with their delivery counts. */
function delivered(r: ShareFetchResponse): Delivered[] {
  const out: Delivered[] = [];
  for (const t of r.responses) {
    const topic = [...topicIds].find(([, v]) => v === t.topicId)?.[0] ?? t.topicId;
    for (const p of t.partitions) {
      assert.equal(p.errorCode, ErrorCode.NONE, `${topic}-${p.partitionIndex}: ${p.errorMessage}`);
      const buf = recordsToBuffer(p.records);
      if (!buf || buf.length === 0) continue;
      for (const span of splitBatches(buf)) {
        for (const rec of decodeBatch(buf, span.pos).records) {
          const acq = p.acquiredRecords.find((a) => a.firstOffset <= rec.offset && rec.offset <= a.lastOffset);
          if (acq) out.push({ topic, partition: p.partitionIndex, offset: Number(rec.offset), value: rec.value!.toString(), deliveryCount: acq.deliveryCount });
        }
      }
    }
  }
  return out;
}

const keyOf = (d: { topic: string; partition: number; offset: number }): string => `${d.topic}-${d.partition}@${d.offset}`;

function assignedPartitions(r: ShareGroupHeartbeatResponse, topic: string): number[] {
  return (r.assignment?.topicPartitions ?? []).filter((tp) => tp.topicId === id(topic)).flatMap((tp) => tp.partitions).sort();
}

/** Acknowledges everything delivered with one type, one batch per contiguous run. */
function acksFor(ds: Delivered[], type: number): Ack[] {
  const sorted = [...ds].sort((a, b) => keyOf(a).localeCompare(keyOf(b)) || a.offset - b.offset);
  const out: Ack[] = [];
  for (const d of sorted) {
    const prev = out[out.length - 1];
    if (prev && prev.topic === d.topic && prev.partition === d.partition && prev.last === d.offset - 1) prev.last = d.offset;
    else out.push({ topic: d.topic, partition: d.partition, first: d.offset, last: d.offset, types: [type] });
  }
  return out;
}

// ---- tests ----

test('ApiVersions advertises ShareGroupHeartbeat v1, ShareGroupDescribe v1, ShareFetch v1-2, ShareAcknowledge v1-2', async () => {
  const r = await admin.request(ApiVersionsRequest, ApiVersionsResponse, 3, { clientSoftwareName: 'share-test', clientSoftwareVersion: '1' });
  const keys = new Map(r.apiKeys.map((k) => [k.apiKey, [k.minVersion, k.maxVersion]]));
  assert.deepEqual([keys.get(76), keys.get(77), keys.get(78), keys.get(79)], [[1, 1], [1, 1], [1, 2], [1, 2]]);
});

const g1 = 'share-g1';
let a1: Member;
let b1: Member;

test('two members on a 3-partition topic both receive records, each record exactly once; accepted ones never come back', async () => {
  a1 = new Member(await connect(), g1);
  b1 = new Member(await connect(), g1);
  let ra = await a1.join(['share-orders']);
  assert.deepEqual([ra.memberEpoch, ra.heartbeatIntervalMs, assignedPartitions(ra, 'share-orders')], [1, 500, [0, 1, 2]]);
  const rb = await b1.join(['share-orders']);
  assert.equal(rb.memberEpoch, 2);
  ra = await a1.beat();
  assert.equal(ra.memberEpoch, 2);
  // Kafka's SimpleAssignor: 2 members, 3 partitions: each partition to one member, 2 + 1.
  const pa = assignedPartitions(ra, 'share-orders');
  const pb = assignedPartitions(rb, 'share-orders');
  assert.deepEqual([...pa, ...pb].sort(), [0, 1, 2]);
  assert.deepEqual([pa.length, pb.length].sort(), [1, 2]);

  // Opening the sessions initializes the share-partitions at the latest offset (share.auto.offset.reset).
  for (const [m, ps] of [[a1, pa], [b1, pb]] as const) {
    const r = await m.fetch(ps.map((p) => ['share-orders', p]), { maxWaitMs: 0 });
    assert.equal(r.errorCode, ErrorCode.NONE, r.errorMessage ?? '');
    assert.equal(delivered(r).length, 0);
  }
  for (let p = 0; p < 3; p++) await produce('share-orders', p, Array.from({ length: 10 }, (_, i) => `orders-${p}-${i}`));

  const seen = new Map<string, string>();
  for (const [m, ps] of [[a1, pa], [b1, pb]] as const) {
    const r = await m.fetch([], { maxWaitMs: 2_000 });
    assert.equal(r.acquisitionLockTimeoutMs, LOCK_MS);
    const ds = delivered(r);
    assert.ok(ds.length > 0, 'each member receives records');
    for (const d of ds) {
      assert.ok(ps.includes(d.partition));
      assert.equal(seen.has(keyOf(d)), false, `${keyOf(d)} delivered twice`);
      seen.set(keyOf(d), m.memberId);
      assert.equal(d.deliveryCount, 1);
    }
    const acked = await m.fetch([], { acks: acksFor(ds, ACCEPT), maxWaitMs: 300 });
    for (const t of acked.responses) for (const p of t.partitions) assert.equal(p.acknowledgeErrorCode, ErrorCode.NONE, p.acknowledgeErrorMessage ?? '');
    assert.equal(delivered(acked).length, 0, 'accepted records are not delivered again');
  }
  assert.equal(seen.size, 30, 'every record delivered');
});

test('ShareGroupDescribe shows members and assignments; ListGroups lists the group as "share"', async () => {
  const d = await admin.request(ShareGroupDescribeRequest, ShareGroupDescribeResponse, 1, { groupIds: [g1, 'share-nobody'], includeAuthorizedOperations: false });
  const [g, unknown] = d.groups;
  assert.deepEqual([g!.errorCode, g!.groupState, g!.groupEpoch, g!.assignmentEpoch, g!.assignorName], [ErrorCode.NONE, 'Stable', 2, 2, 'simple']);
  assert.deepEqual(g!.members.map((m) => m.memberId).sort(), [a1.memberId, b1.memberId].sort());
  for (const m of g!.members) {
    assert.deepEqual([m.memberEpoch, m.subscribedTopicNames, m.clientId, m.clientHost.startsWith('/')], [2, ['share-orders'], 'fjord-codec-test', true]);
    assert.equal(m.assignment.topicPartitions[0]!.topicName, 'share-orders');
  }
  assert.deepEqual(g!.members.flatMap((m) => m.assignment.topicPartitions.flatMap((tp) => tp.partitions)).sort(), [0, 1, 2]);
  assert.equal(unknown!.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);

  const l = await admin.request(ListGroupsRequest, ListGroupsResponse, 5, { statesFilter: [], typesFilter: ['share'] });
  const listed = l.groups.find((x) => x.groupId === g1);
  assert.deepEqual(listed && [listed.groupType, listed.protocolType, listed.groupState], ['share', 'share', 'Stable']);
  assert.ok(l.groups.every((x) => x.groupType === 'share'));
});

const g2 = 'share-g2';
let a2: Member;
let b2: Member;

test('two members sharing one partition never hold the same record; release brings records back, reject does not', async () => {
  a2 = new Member(await connect(), g2);
  b2 = new Member(await connect(), g2);
  const ja = await a2.join(['share-single']);
  const rb = await b2.join(['share-single']);
  const ra = await a2.beat();
  // More members than partitions: the partition is shared by both; A's did not change (null).
  assert.deepEqual([assignedPartitions(ja, 'share-single'), assignedPartitions(rb, 'share-single'), ra.memberEpoch, ra.assignment], [[0], [0], 2, null]);
  for (const m of [a2, b2]) assert.equal((await m.fetch([['share-single', 0]], { maxWaitMs: 0 })).errorCode, ErrorCode.NONE);
  for (let b = 0; b < 4; b++) await produce('share-single', 0, Array.from({ length: 5 }, (_, i) => `single-${b * 5 + i}`));

  const da = delivered(await a2.fetch([], { maxRecords: 10 }));
  const db = delivered(await b2.fetch([], { maxRecords: 10 }));
  assert.deepEqual(da.map((d) => d.offset), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(db.map((d) => d.offset), [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);

  // B cannot acknowledge A's records.
  const wrong = await b2.acknowledge([{ topic: 'share-single', partition: 0, first: 0, last: 9, types: [ACCEPT] }]);
  assert.equal(wrong.responses[0]!.partitions[0]!.errorCode, ErrorCode.INVALID_RECORD_STATE);

  const rel = await a2.acknowledge([{ topic: 'share-single', partition: 0, first: 0, last: 9, types: [RELEASE] }]);
  assert.equal(rel.responses[0]!.partitions[0]!.errorCode, ErrorCode.NONE, rel.responses[0]!.partitions[0]!.errorMessage ?? '');
  const rej = await b2.acknowledge([{ topic: 'share-single', partition: 0, first: 10, last: 19, types: [REJECT] }]);
  assert.equal(rej.responses[0]!.partitions[0]!.errorCode, ErrorCode.NONE);

  const again = delivered(await b2.fetch([], { maxRecords: 100 }));
  assert.deepEqual(again.map((d) => [d.offset, d.deliveryCount]), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((o) => [o, 2]), 'released come back, rejected do not');
  const acc = await b2.acknowledge([{ topic: 'share-single', partition: 0, first: 0, last: 9, types: [ACCEPT] }]);
  assert.equal(acc.responses[0]!.partitions[0]!.errorCode, ErrorCode.NONE);

  // Both fetching at once from new records: disjoint.
  await produce('share-single', 0, Array.from({ length: 5 }, (_, i) => `single-${20 + i}`));
  await produce('share-single', 0, Array.from({ length: 5 }, (_, i) => `single-${25 + i}`));
  const [x, y] = await Promise.all([a2.fetch([], { maxRecords: 5, maxWaitMs: 500 }), b2.fetch([], { maxRecords: 5, maxWaitMs: 500 })]);
  const dx = delivered(x).map((d) => d.offset);
  const dy = delivered(y).map((d) => d.offset);
  assert.equal(dx.filter((o) => dy.includes(o)).length, 0, 'no record held by both');
  assert.deepEqual([...dx, ...dy].sort((p, q) => p - q), [20, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
});

test('unacknowledged records come back after the lock duration with their delivery count incremented, then are archived at the limit', async () => {
  // Records 20-29 are held by a2 and b2 (delivery 1) and nobody acknowledges them.
  await sleep(LOCK_MS + 300);
  const back = delivered(await a2.fetch([], { maxRecords: 100 }));
  assert.deepEqual(back.map((d) => [d.offset, d.deliveryCount]), [20, 21, 22, 23, 24, 25, 26, 27, 28, 29].map((o) => [o, 2]));
  // group.share.delivery.count.limit = 2: when this lock runs out too, they are archived.
  await sleep(LOCK_MS + 300);
  assert.deepEqual(delivered(await b2.fetch([], { maxRecords: 100, maxWaitMs: 300 })), []);
  assert.deepEqual(delivered(await a2.fetch([], { maxRecords: 100, maxWaitMs: 300 })), []);
  await produce('share-single', 0, ['single-30']);
  assert.deepEqual(delivered(await a2.fetch([], { maxWaitMs: 2_000 })).map((d) => d.offset), [30], 'the share-partition moved past the archived records');
});

test('closing a share session, or its connection, releases the member\'s records at once', async () => {
  const g4 = 'share-g4';
  const x = new Member(await connect(), g4);
  const y = new Member(await connect(), g4);
  await x.join(['share-single']);
  await y.join(['share-single']);
  for (const m of [x, y]) await m.fetch([['share-single', 0]], { maxWaitMs: 0 });
  await produce('share-single', 0, ['single-31', 'single-32']);
  const held = delivered(await x.fetch([]));
  assert.deepEqual(held.map((d) => d.value), ['single-31', 'single-32']);
  // ShareAcknowledge with epoch -1 ends the session: no lock duration to wait for (maxWaitMs 0).
  const closed = await x.acknowledge([], -1);
  assert.equal(closed.errorCode, ErrorCode.NONE);
  const got = delivered(await y.fetch([], { maxWaitMs: 0 }));
  assert.deepEqual(got.map((d) => [d.value, d.deliveryCount]), [['single-31', 2], ['single-32', 2]]);

  const done = await y.acknowledge([{ topic: 'share-single', partition: 0, first: Number(got[0]!.offset), last: Number(got[1]!.offset), types: [ACCEPT] }]);
  assert.equal(done.responses[0]!.partitions[0]!.errorCode, ErrorCode.NONE);

  // The connection closing does the same.
  const z = new Member(await connect(), g4);
  await z.join(['share-single']);
  await z.fetch([['share-single', 0]], { maxWaitMs: 0 });
  await produce('share-single', 0, ['single-33', 'single-34']);
  assert.deepEqual(delivered(await y.fetch([])).map((d) => [d.value, d.deliveryCount]), [['single-33', 1], ['single-34', 1]]);
  y.conn.close();
  let again: Delivered[] = [];
  for (let i = 0; i < 10 && again.length === 0; i++) {
    again = delivered(await z.fetch([], { maxWaitMs: 0 }));
    if (again.length === 0) await sleep(30);
  }
  assert.deepEqual(again.map((d) => [d.value, d.deliveryCount]), [['single-33', 2], ['single-34', 2]], 'released when the connection closed, before the lock ran out');
  const y2 = Object.assign(new Member(await connect(), g4), { memberId: y.memberId, epoch: y.epoch, session: y.session });
  assert.equal((await y2.fetch([], { maxWaitMs: 0 })).errorCode, ErrorCode.SHARE_SESSION_NOT_FOUND, 'the session went with the connection');

  // An empty share group can be deleted; its share-partition state goes with it.
  for (const m of [x, z, y2]) assert.deepEqual(await heartbeat(m.conn, { groupId: g4, memberId: m.memberId, memberEpoch: -1 }).then((r) => [r.errorCode, r.memberEpoch]), [ErrorCode.NONE, -1]);
  const del = await admin.request(DeleteGroupsRequest, DeleteGroupsResponse, 2, { groupsNames: [g4] });
  assert.equal(del.results[0]!.errorCode, ErrorCode.NONE);
  const d = await admin.request(ShareGroupDescribeRequest, ShareGroupDescribeResponse, 1, { groupIds: [g4], includeAuthorizedOperations: false });
  assert.equal(d.groups[0]!.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  const w = new Member(await connect(), g4);
  assert.equal((await w.join(['share-single'])).memberEpoch, 1, 'a new group');
});

test('bad input gets Kafka codes', async () => {
  const c = await connect();
  const stale = await heartbeat(c, { groupId: g1, memberId: a1.memberId, memberEpoch: a1.epoch + 5 });
  assert.equal(stale.errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
  const unknown = await heartbeat(c, { groupId: g1, memberId: randomUuid(), memberEpoch: 1 });
  assert.equal(unknown.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  const noGroup = await heartbeat(c, { groupId: 'share-none', memberId: randomUuid(), memberEpoch: 3 });
  assert.equal(noGroup.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  const noTopics = await heartbeat(c, { groupId: g1, memberId: randomUuid(), memberEpoch: 0 });
  assert.equal(noTopics.errorCode, ErrorCode.INVALID_REQUEST);

  const m = new Member(c, g2);
  m.session = 7;
  assert.equal((await m.fetch([['share-single', 0]])).errorCode, ErrorCode.SHARE_SESSION_NOT_FOUND);
  m.session = 0;
  await m.fetch([['share-single', 0]], { maxWaitMs: 0 });
  m.session = 5;
  assert.equal((await m.fetch([])).errorCode, ErrorCode.INVALID_SHARE_SESSION_EPOCH);
  m.session = 1;
  assert.equal((await m.acknowledge([], 0)).errorCode, ErrorCode.INVALID_SHARE_SESSION_EPOCH);
  const notAcquired = await m.acknowledge([{ topic: 'share-single', partition: 0, first: 30, last: 30, types: [ACCEPT] }]);
  assert.equal(notAcquired.responses[0]!.partitions[0]!.errorCode, ErrorCode.INVALID_RECORD_STATE);
  const badType = await m.acknowledge([{ topic: 'share-single', partition: 0, first: 30, last: 30, types: [9] }]);
  assert.equal(badType.responses[0]!.partitions[0]!.errorCode, ErrorCode.INVALID_REQUEST);
  topicIds.set('share-ghost', randomUuid());
  const ghost = await m.acknowledge([{ topic: 'share-ghost', partition: 0, first: 0, last: 0, types: [ACCEPT] }]);
  assert.equal(ghost.responses[0]!.partitions[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_ID);
  const ghostFetch = await m.fetch([['share-ghost', 0]], { maxWaitMs: 0 });
  assert.equal(ghostFetch.responses.find((t) => t.topicId === id('share-ghost'))!.partitions[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_ID);

  const jg = await c.request(JoinGroupRequest, JoinGroupResponse, 9, { groupId: g1, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', groupInstanceId: null, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }], reason: null });
  assert.equal(jg.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL, 'a share group does not become classic');
  const oc = await c.request(OffsetCommitRequest, OffsetCommitResponse, 9, { groupId: g1, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, topics: [{ name: 'share-orders', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null }] }] });
  assert.equal(oc.topics[0]!.partitions[0]!.errorCode, ErrorCode.GROUP_ID_NOT_FOUND, 'share groups have no committed offsets');
  const od = await c.request(OffsetDeleteRequest, OffsetDeleteResponse, 0, { groupId: g1, topics: [{ name: 'share-orders', partitions: [{ partitionIndex: 0 }] }] });
  assert.equal(od.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);

  const fc = await c.request(FindCoordinatorRequest, FindCoordinatorResponse, 6, { keyType: 2, coordinatorKeys: [`${g1}:${id('share-orders')}:0`, 'not-a-key'] });
  assert.deepEqual(fc.coordinators.map((x) => x.errorCode), [ErrorCode.NONE, ErrorCode.INVALID_REQUEST]);
  assert.equal(fc.coordinators[0]!.nodeId, 1);
});

test('acknowledgements survive a clean restart and a kill -9; the group survives too', async () => {
  const g3 = 'share-g3';
  const m = new Member(await connect(), g3);
  await m.join(['share-durable']);
  await m.fetch([['share-durable', 0]], { maxWaitMs: 0 });
  await produce('share-durable', 0, Array.from({ length: 10 }, (_, i) => `durable-${i}`));
  assert.deepEqual(delivered(await m.fetch([])).map((d) => d.offset), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const acked = await m.acknowledge([{ topic: 'share-durable', partition: 0, first: 0, last: 4, types: [ACCEPT] }]);
  assert.equal(acked.responses[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
  const epochBefore = m.epoch;

  await broker.restart();
  const m2 = Object.assign(new Member(await connect(), g3), { memberId: m.memberId, epoch: epochBefore }) as Member;
  const hb = await m2.beat();
  assert.deepEqual([hb.errorCode, hb.memberEpoch, hb.assignment], [ErrorCode.NONE, epochBefore, null], 'the group and the member survived');
  await m2.fetch([['share-durable', 0]], { maxWaitMs: 0 }).then((r) => {
    // A new session: the records the member held before the restart are available again.
    assert.deepEqual(delivered(r).map((d) => d.offset), [5, 6, 7, 8, 9]);
  });
  const part = await m2.acknowledge([{ topic: 'share-durable', partition: 0, first: 5, last: 6, types: [ACCEPT] }]);
  assert.equal(part.responses[0]!.partitions[0]!.errorCode, ErrorCode.NONE);

  await broker.kill9();
  await broker.restart();
  const m3 = Object.assign(new Member(await connect(), g3), { memberId: m.memberId, epoch: epochBefore }) as Member;
  const again = delivered(await m3.fetch([['share-durable', 0]], { maxWaitMs: 1_000 }));
  assert.deepEqual(again.map((d) => d.offset), [7, 8, 9], 'accepted records are not delivered after a kill -9 either');
  const d = await admin.request(ShareGroupDescribeRequest, ShareGroupDescribeResponse, 1, { groupIds: [g3], includeAuthorizedOperations: false }).catch(async () => {
    admin = await connect();
    return admin.request(ShareGroupDescribeRequest, ShareGroupDescribeResponse, 1, { groupIds: [g3], includeAuthorizedOperations: false });
  });
  assert.deepEqual([d.groups[0]!.errorCode, d.groups[0]!.members.map((x) => x.memberId)], [ErrorCode.NONE, [m.memberId]]);
});
