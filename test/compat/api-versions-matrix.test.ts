// Every API key the broker advertises in ApiVersions, at every advertised version, end to end: one
// broker, requests encoded and responses decoded with the generated codecs at that version (header
// versions per requestHeaderVersion/responseHeaderVersion), a meaningful request per API and an
// assertion on its outcome, then ApiVersions v0 on the same connection to show it is still open.
// The legacy-2024 versions (Produce v0-2, Fetch v0-3, ...) are advertised too, so they are covered
// here like the others. The table below has one case per API (a few APIs have two); an advertised
// key without a case fails the test, so a new handler needs a row here.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AlterConfigsRequest,
  AlterConfigsResponse,
  apis,
  ApiVersionsRequest,
  ApiVersionsResponse,
  batchSize,
  ConsumerGroupDescribeRequest,
  ConsumerGroupDescribeResponse,
  ConsumerGroupHeartbeatRequest,
  ShareAcknowledgeRequest,
  ShareAcknowledgeResponse,
  ShareFetchRequest,
  ShareFetchResponse,
  ShareGroupDescribeRequest,
  ShareGroupDescribeResponse,
  ShareGroupHeartbeatRequest,
  ShareGroupHeartbeatResponse,
  ConsumerGroupHeartbeatResponse,
  CreatePartitionsRequest,
  CreatePartitionsResponse,
  CreateTopicsRequest,
  CreateTopicsResponse,
  decodeBatch,
  decodeResponseHeader,
  DeleteGroupsRequest,
  DeleteGroupsResponse,
  DeleteRecordsRequest,
  DeleteRecordsResponse,
  DescribeGroupsRequest,
  DescribeGroupsResponse,
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
  SyncGroupRequest,
  SyncGroupResponse,
  DeleteTopicsRequest,
  DeleteTopicsResponse,
  DescribeClusterRequest,
  DescribeClusterResponse,
  DescribeConfigsRequest,
  DescribeConfigsResponse,
  DescribeLogDirsRequest,
  DescribeLogDirsResponse,
  DescribeProducersRequest,
  DescribeProducersResponse,
  encodeBatch,
  ErrorCode,
  FetchRequest,
  FetchResponse,
  FindCoordinatorRequest,
  FindCoordinatorResponse,
  IncrementalAlterConfigsRequest,
  AddOffsetsToTxnRequest,
  AddOffsetsToTxnResponse,
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnResponse,
  DescribeTransactionsRequest,
  DescribeTransactionsResponse,
  EndTxnRequest,
  EndTxnResponse,
  ListTransactionsRequest,
  ListTransactionsResponse,
  TxnOffsetCommitRequest,
  TxnOffsetCommitResponse,
  InitProducerIdRequest,
  InitProducerIdResponse,
  IncrementalAlterConfigsResponse,
  ListOffsetsRequest,
  ListOffsetsResponse,
  MetadataRequest,
  MetadataResponse,
  OffsetForLeaderEpochRequest,
  OffsetForLeaderEpochResponse,
  ProduceRequest,
  ProduceResponse,
  randomUuid,
  Reader,
  recordsToBuffer,
  ZERO_UUID,
  type MessageCodec,
  type MessageInput,
  type Records,
} from '@fjord/protocol';
import { startBroker, type Broker } from '../harness/broker.js';
import { CodecConnection } from '../harness/codec-connection.js';
import { encodeLegacyMessageV1 } from '../harness/wire.js';

const nodeId = 3;
const TOPIC = 2; // ConfigResource.Type
const DYNAMIC_TOPIC_CONFIG = 1; // DescribeConfigs ConfigSource
const LONG = 5; // DescribeConfigs ConfigType
const main = 'matrix'; // produced to, fetched, listed, described
const cfgTopic = 'matrix-cfg'; // AlterConfigs / IncrementalAlterConfigs
const partsTopic = 'matrix-parts'; // CreatePartitions
const mainRetentionMs = '604800123';

interface Produced {
  offset: bigint;
  key: string;
  value: string;
  timestamp: bigint;
}

/** What the cases learn and share, in table order. */
interface World {
  broker: Broker;
  conn: CodecConnection;
  advertised: Map<number, { minVersion: number; maxVersion: number }>;
  mainTopicId: string;
  leaderEpoch: number;
  clusterId: string | null;
  controllerId: number;
  produced: Produced[];
  /** Base offset of each successful Produce, in order. */
  batchStarts: bigint[];
  baseTimestamp: bigint;
  /** Topic ids by name, for requests that address topics by id. */
  topicIds: Map<string, string>;
}

interface Case {
  apiKey: number;
  label: string;
  /** Narrows the advertised range (e.g. a feature that starts at some version). */
  minVersion?: number;
  maxVersion?: number;
  run(w: World, v: number): Promise<void>;
}

/** One request/response exchange per version: `build` the request, `check` the decoded response. */
function exchange<Req, Res>(spec: {
  request: MessageCodec<Req>;
  response: MessageCodec<Res>;
  label?: string;
  minVersion?: number;
  maxVersion?: number;
  prepare?: (w: World, v: number) => Promise<void>;
  build: (v: number, w: World) => MessageInput<Req>;
  check: (res: Res, v: number, w: World) => void | Promise<void>;
}): Case {
  const c: Case = {
    apiKey: spec.request.apiKey,
    label: spec.label ?? '',
    async run(w, v) {
      await spec.prepare?.(w, v);
      const res = await w.conn.request(spec.request, spec.response, v, spec.build(v, w));
      await spec.check(res, v, w);
    },
  };
  if (spec.minVersion !== undefined) c.minVersion = spec.minVersion;
  if (spec.maxVersion !== undefined) c.maxVersion = spec.maxVersion;
  return c;
}

// ------------------------------------------------------------------ requests at the newest version

const latest = (w: World, codec: MessageCodec<unknown>): number => w.advertised.get(codec.apiKey)?.maxVersion ?? codec.maxVersion;

async function createTopic(w: World, name: string, numPartitions: number, configs: Record<string, string> = {}): Promise<CreateTopicsResponse['topics'][number]> {
  const v = latest(w, CreateTopicsRequest);
  const res = await w.conn.request(CreateTopicsRequest, CreateTopicsResponse, v, {
    topics: [{ name, numPartitions, replicationFactor: 1, configs: Object.entries(configs).map(([k, value]) => ({ name: k, value })) }],
    timeoutMs: 10_000,
  });
  return res.topics[0]!;
}

async function metadataOf(w: World, name: string): Promise<MetadataResponse['topics'][number]> {
  const res = await w.conn.request(MetadataRequest, MetadataResponse, latest(w, MetadataRequest), { topics: [{ name }], allowAutoTopicCreation: false });
  assert.equal(res.topics.length, 1);
  return res.topics[0]!;
}

async function topicConfig(w: World, name: string, key: string): Promise<DescribeConfigsResponse['results'][number]['configs'][number] | undefined> {
  const res = await w.conn.request(DescribeConfigsRequest, DescribeConfigsResponse, latest(w, DescribeConfigsRequest), {
    resources: [{ resourceType: TOPIC, resourceName: name, configurationKeys: [key] }],
  });
  assert.equal(res.results[0]?.errorCode, ErrorCode.NONE, JSON.stringify(res.results[0]));
  return res.results[0]!.configs.find((c) => c.name === key);
}

async function earliestOffset(w: World): Promise<bigint> {
  const res = await w.conn.request(ListOffsetsRequest, ListOffsetsResponse, latest(w, ListOffsetsRequest), {
    topics: [{ name: main, partitions: [{ partitionIndex: 0, timestamp: -2n }] }],
  });
  const p = res.topics[0]!.partitions[0]!;
  assert.equal(p.errorCode, ErrorCode.NONE);
  return p.offset;
}

/** Records of every whole batch in a Fetch answer, flattened. */
function recordsOf(records: Records): Produced[] {
  const buf = recordsToBuffer(records) ?? Buffer.alloc(0);
  const out: Produced[] = [];
  for (let pos = 0; pos + 12 <= buf.length && pos + batchSize(buf, pos) <= buf.length; pos += batchSize(buf, pos)) {
    for (const r of decodeBatch(buf, pos).records)
      out.push({ offset: r.offset, key: r.key?.toString() ?? '', value: r.value?.toString() ?? '', timestamp: r.timestamp });
  }
  return out;
}

const nameOrId = (v: number, w: World, idFrom: number) => (v >= idFrom ? { topicId: w.mainTopicId } : { name: main });

// ------------------------------------------------------------------ classic groups

interface Joined {
  memberId: string;
  generationId: number;
}

/** Joins `group` alone at the newest JoinGroup/SyncGroup and returns the stable member. */
async function stableMember(w: World, group: string, instanceId: string | null = null): Promise<Joined> {
  const jv = latest(w, JoinGroupRequest);
  const join = (memberId: string) =>
    w.conn.request(JoinGroupRequest, JoinGroupResponse, jv, {
      groupId: group,
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      memberId,
      groupInstanceId: instanceId,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.from('sub') }],
      reason: null,
    });
  let res = await join('');
  if (res.errorCode === ErrorCode.MEMBER_ID_REQUIRED) res = await join(res.memberId);
  assert.equal(res.errorCode, ErrorCode.NONE, `join ${group}`);
  const sync = await w.conn.request(SyncGroupRequest, SyncGroupResponse, latest(w, SyncGroupRequest), {
    groupId: group,
    generationId: res.generationId,
    memberId: res.memberId,
    groupInstanceId: instanceId,
    protocolType: 'consumer',
    protocolName: 'range',
    assignments: [{ memberId: res.memberId, assignment: Buffer.from('all') }],
  });
  assert.equal(sync.errorCode, ErrorCode.NONE, `sync ${group}`);
  return { memberId: res.memberId, generationId: res.generationId };
}

async function commit(w: World, group: string, offset: bigint): Promise<void> {
  const res = await w.conn.request(OffsetCommitRequest, OffsetCommitResponse, latest(w, OffsetCommitRequest), {
    groupId: group,
    generationIdOrMemberEpoch: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [{ name: main, topicId: w.mainTopicId, partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: 'm' }] }],
  });
  assert.equal(res.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
}

const joins = new Map<string, Joined>();
const producerIds = new Set<bigint>();
const txns = new Map<string, TxnProducer>();
/** DescribeProducers: one idempotent batch of this producer in `idemTopic`. */
const idemTopic = 'matrix-idem';
const idempotent = { producerId: -1n, timestamp: BigInt(Date.now()) };

// ------------------------------------------------------------------ share groups (KIP-932)

/** A member that joined a share group on `main` alone and opened its share session (epoch 0). */
interface ShareMember {
  group: string;
  memberId: string;
  /** The session epoch of the member's next share request. */
  sessionEpoch: number;
}

const shareMembers = new Map<string, ShareMember>();

async function shareMember(w: World, group: string): Promise<ShareMember> {
  const memberId = randomUuid();
  const hb = await w.conn.request(ShareGroupHeartbeatRequest, ShareGroupHeartbeatResponse, latest(w, ShareGroupHeartbeatRequest), { groupId: group, memberId, memberEpoch: 0, rackId: null, subscribedTopicNames: [main] });
  assert.equal(hb.errorCode, ErrorCode.NONE, hb.errorMessage ?? '');
  const m = { group, memberId, sessionEpoch: 0 };
  // Opening the session initializes the share-partition at the latest offset.
  const opened = await shareFetch(w, m, latest(w, ShareFetchRequest));
  assert.equal(opened.errorCode, ErrorCode.NONE, opened.errorMessage ?? '');
  return m;
}

function shareFetch(w: World, m: ShareMember, v: number, maxWaitMs = 0): Promise<ShareFetchResponse> {
  const epoch = m.sessionEpoch;
  m.sessionEpoch = epoch + 1;
  return w.conn.request(ShareFetchRequest, ShareFetchResponse, v, {
    groupId: m.group,
    memberId: m.memberId,
    shareSessionEpoch: epoch,
    maxWaitMs,
    minBytes: 1,
    maxBytes: 1 << 20,
    maxRecords: 100,
    batchSize: 100,
    topics: epoch === 0 ? [{ topicId: w.mainTopicId, partitions: [{ partitionIndex: 0, partitionMaxBytes: 0, acknowledgementBatches: [] }] }] : [],
    forgottenTopicsData: [],
  });
}

/** Produces one record to `main` at the newest Produce version; returns its offset. */
async function produceOne(w: World, value: string): Promise<bigint> {
  const r = await w.conn.request(ProduceRequest, ProduceResponse, latest(w, ProduceRequest), {
    acks: -1,
    timeoutMs: 10_000,
    topicData: [{ topicId: w.mainTopicId, name: main, partitionData: [{ index: 0, records: encodeBatch({ records: [{ key: null, value, timestamp: BigInt(Date.now()) }] }) }] }],
  });
  const p = r.responses[0]!.partitionResponses[0]!;
  assert.equal(p.errorCode, ErrorCode.NONE);
  return p.baseOffset;
}

// ------------------------------------------------------------------ transactions

interface TxnProducer {
  id: string;
  producerId: bigint;
  producerEpoch: number;
}

/** InitProducerId for a transactional id at the newest version. */
async function txnProducer(w: World, id: string): Promise<TxnProducer> {
  const r = await w.conn.request(InitProducerIdRequest, InitProducerIdResponse, latest(w, InitProducerIdRequest), { transactionalId: id, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
  assert.equal(r.errorCode, ErrorCode.NONE, `InitProducerId ${id}`);
  return { id, producerId: r.producerId, producerEpoch: r.producerEpoch };
}

/** AddPartitionsToTxn as a client sends it (v3, the newest client version). */
async function addMain(w: World, p: TxnProducer): Promise<void> {
  const r = await w.conn.request(AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, 3, {
    v3AndBelowTransactionalId: p.id,
    v3AndBelowProducerId: p.producerId,
    v3AndBelowProducerEpoch: p.producerEpoch,
    v3AndBelowTopics: [{ name: main, partitions: [0] }],
  });
  assert.equal(r.resultsByTopicV3AndBelow[0]!.resultsByPartition[0]!.partitionErrorCode, ErrorCode.NONE);
}

async function endTxnLatest(w: World, p: TxnProducer, committed: boolean): Promise<EndTxnResponse> {
  const r = await w.conn.request(EndTxnRequest, EndTxnResponse, latest(w, EndTxnRequest), { transactionalId: p.id, producerId: p.producerId, producerEpoch: p.producerEpoch, committed });
  assert.equal(r.errorCode, ErrorCode.NONE, `EndTxn ${p.id}`);
  return r;
}

/** Waits until the transaction's markers are written (DescribeTransactions shows it complete). */
async function txnState(w: World, id: string, want: string): Promise<void> {
  for (let i = 0; ; i++) {
    const r = await w.conn.request(DescribeTransactionsRequest, DescribeTransactionsResponse, 0, { transactionalIds: [id] });
    if (r.transactionStates[0]!.transactionState === want) return;
    if (i >= 100) assert.fail(`${id} is ${r.transactionStates[0]!.transactionState}, not ${want}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

// ------------------------------------------------------------------ the table, run in this order

const cases: Case[] = [
  exchange({
    request: ApiVersionsRequest,
    response: ApiVersionsResponse,
    build: (v) => (v >= 3 ? { clientSoftwareName: 'fjord-matrix', clientSoftwareVersion: '1.0' } : {}),
    check(res, _v, w) {
      assert.equal(res.errorCode, ErrorCode.NONE);
      assert.deepEqual(
        res.apiKeys.map((k) => [k.apiKey, k.minVersion, k.maxVersion]),
        [...w.advertised].map(([k, r]) => [k, r.minVersion, r.maxVersion]),
      );
    },
  }),
  exchange({
    request: CreateTopicsRequest,
    response: CreateTopicsResponse,
    build: (v) => ({
      topics: [{ name: `matrix-ct-v${v}`, numPartitions: 2, replicationFactor: 1, configs: [{ name: 'retention.ms', value: '3600000' }] }],
      timeoutMs: 10_000,
    }),
    async check(res, v, w) {
      const t = res.topics[0]!;
      assert.deepEqual([t.name, t.errorCode], [`matrix-ct-v${v}`, ErrorCode.NONE]);
      if (v >= 1) assert.equal(t.errorMessage, null);
      if (v >= 5) {
        assert.deepEqual([t.numPartitions, t.replicationFactor], [2, 1]);
        assert.equal(t.configs?.find((c) => c.name === 'retention.ms')?.value, '3600000');
      }
      if (v >= 7) assert.notEqual(t.topicId, ZERO_UUID);
      const md = await metadataOf(w, t.name);
      assert.equal(md.errorCode, ErrorCode.NONE);
      assert.equal(md.partitions.length, 2);
    },
  }),
  exchange({
    request: CreateTopicsRequest,
    response: CreateTopicsResponse,
    label: 'validateOnly',
    minVersion: 1,
    build: (v) => ({ topics: [{ name: `matrix-vo-v${v}`, numPartitions: 1, replicationFactor: 1 }], timeoutMs: 10_000, validateOnly: true }),
    async check(res, v, w) {
      assert.deepEqual([res.topics[0]!.name, res.topics[0]!.errorCode], [`matrix-vo-v${v}`, ErrorCode.NONE]);
      assert.equal((await metadataOf(w, `matrix-vo-v${v}`)).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'validateOnly created the topic');
    },
  }),
  exchange({
    request: MetadataRequest,
    response: MetadataResponse,
    label: 'one topic',
    build: (v) => ({ topics: [{ name: main }], ...(v >= 4 ? { allowAutoTopicCreation: false } : {}) }),
    check(res, v, w) {
      assert.deepEqual(
        res.brokers.map((b) => [b.nodeId, b.host, b.port]),
        [[nodeId, w.broker.host, w.broker.port]],
      );
      if (v >= 1) assert.equal(res.controllerId, w.controllerId);
      if (v >= 2) assert.equal(res.clusterId, w.clusterId);
      assert.equal(res.topics.length, 1);
      const t = res.topics[0]!;
      assert.deepEqual([t.errorCode, t.name, t.partitions.length], [ErrorCode.NONE, main, 1]);
      if (v >= 10) assert.equal(t.topicId, w.mainTopicId);
      const p = t.partitions[0]!;
      assert.deepEqual([p.errorCode, p.partitionIndex, p.leaderId, p.replicaNodes, p.isrNodes], [ErrorCode.NONE, 0, nodeId, [nodeId], [nodeId]]);
      if (v >= 7) assert.equal(p.leaderEpoch, w.leaderEpoch);
    },
  }),
  exchange({
    request: MetadataRequest,
    response: MetadataResponse,
    label: 'all topics',
    build: (v) => ({ topics: v === 0 ? [] : null }),
    check(res) {
      const names = res.topics.map((t) => t.name);
      for (const n of [main, cfgTopic, partsTopic]) assert.ok(names.includes(n), `${n} missing from ${JSON.stringify(names)}`);
    },
  }),
  exchange({
    request: MetadataRequest,
    response: MetadataResponse,
    label: 'by topic id',
    minVersion: 12,
    build: (_v, w) => ({ topics: [{ name: null, topicId: w.mainTopicId }], allowAutoTopicCreation: false }),
    check(res, _v, w) {
      assert.deepEqual(
        res.topics.map((t) => [t.errorCode, t.name, t.topicId]),
        [[ErrorCode.NONE, main, w.mainTopicId]],
      );
    },
  }),
  exchange({
    request: ProduceRequest,
    response: ProduceResponse,
    build(v, w) {
      const ts = w.baseTimestamp + BigInt(v) * 1000n;
      const records = [0, 1].map((i) => ({ key: `v${v}-k${i}`, value: `produce v${v} record ${i}`, timestamp: ts + BigInt(i) }));
      return { acks: -1, timeoutMs: 10_000, topicData: [{ ...nameOrId(v, w, 13), partitionData: [{ index: 0, records: encodeBatch({ records }) }] }] };
    },
    check(res, v, w) {
      const topic = res.responses[0]!;
      if (v >= 13) assert.equal(topic.topicId, w.mainTopicId);
      else assert.equal(topic.name, main);
      const p = topic.partitionResponses[0]!;
      const next = BigInt(w.produced.length);
      assert.deepEqual([p.index, p.errorCode, p.baseOffset], [0, ErrorCode.NONE, next], JSON.stringify(p, (_k, x: unknown) => (typeof x === 'bigint' ? String(x) : x)));
      if (v >= 2) assert.equal(p.logAppendTimeMs, -1n);
      if (v >= 5) assert.equal(p.logStartOffset, 0n);
      const ts = w.baseTimestamp + BigInt(v) * 1000n;
      w.batchStarts.push(next);
      for (const i of [0, 1]) w.produced.push({ offset: next + BigInt(i), key: `v${v}-k${i}`, value: `produce v${v} record ${i}`, timestamp: ts + BigInt(i) });
    },
  }),
  exchange({
    request: ProduceRequest,
    response: ProduceResponse,
    label: 'magic-1 batch',
    build: (v, w) => ({
      acks: -1,
      timeoutMs: 10_000,
      topicData: [{ ...nameOrId(v, w, 13), partitionData: [{ index: 0, records: encodeLegacyMessageV1('old', `magic 1 at v${v}`) }] }],
    }),
    async check(res, v, w) {
      const p = res.responses[0]!.partitionResponses[0]!;
      assert.equal(p.errorCode, v >= 3 ? ErrorCode.INVALID_RECORD : ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT);
      assert.equal(p.baseOffset, -1n);
      // Nothing was appended: the next good Produce/Fetch/ListOffsets still see the same end.
      const latestRes = await w.conn.request(ListOffsetsRequest, ListOffsetsResponse, latest(w, ListOffsetsRequest), {
        topics: [{ name: main, partitions: [{ partitionIndex: 0, timestamp: -1n }] }],
      });
      assert.equal(latestRes.topics[0]!.partitions[0]!.offset, BigInt(w.produced.length));
    },
  }),
  // Fetch v0-3 get the stored magic-2 batches as they are (no down-conversion to magic 0/1 as Kafka
  // 3.x did); clients that read the magic byte (librdkafka, kafkajs, kafka-python) cope, which is
  // what is checked here.
  exchange({
    request: FetchRequest,
    response: FetchResponse,
    build(v, w) {
      const fetchOffset = w.batchStarts[v % w.batchStarts.length] ?? 0n;
      return {
        maxWaitMs: 200,
        minBytes: 1,
        ...(v >= 3 ? { maxBytes: 1 << 20 } : {}),
        topics: [{ ...(v >= 13 ? { topicId: w.mainTopicId } : { topic: main }), partitions: [{ partition: 0, fetchOffset, partitionMaxBytes: 1 << 20 }] }],
      };
    },
    check(res, v, w) {
      assert.equal(res.errorCode, ErrorCode.NONE);
      const topic = res.responses[0]!;
      if (v >= 13) assert.equal(topic.topicId, w.mainTopicId);
      else assert.equal(topic.topic, main);
      const p = topic.partitions[0]!;
      const hw = BigInt(w.produced.length);
      assert.deepEqual([p.partitionIndex, p.errorCode, p.highWatermark], [0, ErrorCode.NONE, hw]);
      if (v >= 4) assert.equal(p.lastStableOffset, hw);
      if (v >= 5) assert.equal(p.logStartOffset, 0n);
      const fetchOffset = w.batchStarts[v % w.batchStarts.length] ?? 0n;
      const got = recordsOf(p.records).filter((r) => r.offset >= fetchOffset);
      assert.deepEqual(got, w.produced.filter((r) => r.offset >= fetchOffset));
      assert.ok(got.length > 0, 'no records fetched');
    },
  }),
  exchange({
    request: ListOffsetsRequest,
    response: ListOffsetsResponse,
    label: 'earliest',
    build: (v) => ({ topics: [{ name: main, partitions: [{ partitionIndex: 0, timestamp: -2n, ...(v === 0 ? { maxNumOffsets: 1 } : {}) }] }] }),
    check(res, v, w) {
      const p = res.topics[0]!.partitions[0]!;
      assert.equal(p.errorCode, ErrorCode.NONE);
      if (v === 0) assert.deepEqual(p.oldStyleOffsets, [0n]);
      else assert.equal(p.offset, 0n);
      if (v >= 4) assert.equal(p.leaderEpoch, w.leaderEpoch);
    },
  }),
  exchange({
    request: ListOffsetsRequest,
    response: ListOffsetsResponse,
    label: 'latest',
    build: (v) => ({ topics: [{ name: main, partitions: [{ partitionIndex: 0, timestamp: -1n, ...(v === 0 ? { maxNumOffsets: 1 } : {}) }] }] }),
    check(res, v, w) {
      const p = res.topics[0]!.partitions[0]!;
      assert.equal(p.errorCode, ErrorCode.NONE);
      const hw = BigInt(w.produced.length);
      if (v === 0) assert.deepEqual(p.oldStyleOffsets, [hw]);
      else assert.equal(p.offset, hw);
    },
  }),
  exchange({
    request: ListOffsetsRequest,
    response: ListOffsetsResponse,
    label: 'by timestamp',
    minVersion: 1, // v0 answers "offsets before" a time with segment granularity; not Fjord's question here
    build: (v, w) => ({ topics: [{ name: main, partitions: [{ partitionIndex: 0, timestamp: w.produced[2 * (v % w.batchStarts.length)]!.timestamp }] }] }),
    check(res, v, w) {
      const want = w.produced[2 * (v % w.batchStarts.length)]!;
      const p = res.topics[0]!.partitions[0]!;
      assert.deepEqual([p.errorCode, p.offset, p.timestamp], [ErrorCode.NONE, want.offset, want.timestamp]);
    },
  }),
  exchange({
    request: ListOffsetsRequest,
    response: ListOffsetsResponse,
    label: 'max timestamp',
    minVersion: 7,
    build: () => ({ topics: [{ name: main, partitions: [{ partitionIndex: 0, timestamp: -3n }] }] }),
    check(res, _v, w) {
      const want = w.produced.at(-1)!;
      const p = res.topics[0]!.partitions[0]!;
      assert.deepEqual([p.errorCode, p.offset, p.timestamp], [ErrorCode.NONE, want.offset, want.timestamp]);
    },
  }),
  exchange({
    request: OffsetForLeaderEpochRequest,
    response: OffsetForLeaderEpochResponse,
    build: (v, w) => ({ topics: [{ topic: main, partitions: [{ partition: 0, leaderEpoch: w.leaderEpoch, ...(v >= 2 ? { currentLeaderEpoch: w.leaderEpoch } : {}) }] }] }),
    check(res, v, w) {
      const p = res.topics[0]!.partitions[0]!;
      assert.deepEqual([res.topics[0]!.topic, p.errorCode, p.partition, p.endOffset], [main, ErrorCode.NONE, 0, BigInt(w.produced.length)]);
      if (v >= 1) assert.equal(p.leaderEpoch, w.leaderEpoch);
    },
  }),
  exchange({
    request: DescribeConfigsRequest,
    response: DescribeConfigsResponse,
    build: (v) => ({
      resources: [{ resourceType: TOPIC, resourceName: main, configurationKeys: null }],
      ...(v >= 1 ? { includeSynonyms: true } : {}),
      ...(v >= 3 ? { includeDocumentation: true } : {}),
    }),
    check(res, v) {
      const r = res.results[0]!;
      assert.deepEqual([r.errorCode, r.resourceType, r.resourceName], [ErrorCode.NONE, TOPIC, main]);
      const c = r.configs.find((x) => x.name === 'retention.ms');
      assert.ok(c, `retention.ms missing from ${r.configs.map((x) => x.name).join(',')}`);
      assert.equal(c.value, mainRetentionMs);
      if (v === 0) assert.equal(c.isDefault, false);
      else assert.equal(c.configSource, DYNAMIC_TOPIC_CONFIG);
      if (v >= 1) assert.deepEqual(c.synonyms[0] && [c.synonyms[0].name, c.synonyms[0].value, c.synonyms[0].source], ['retention.ms', mainRetentionMs, DYNAMIC_TOPIC_CONFIG]);
      if (v >= 3) {
        assert.equal(c.configType, LONG);
        assert.ok(c.documentation, 'no documentation');
      }
      assert.ok(r.configs.some((x) => x.name === 'cleanup.policy' && x.value === 'delete'), 'cleanup.policy missing');
    },
  }),
  exchange({
    request: AlterConfigsRequest,
    response: AlterConfigsResponse,
    build: (v) => ({ resources: [{ resourceType: TOPIC, resourceName: cfgTopic, configs: [{ name: 'retention.ms', value: String(1_000_000 + v) }] }] }),
    async check(res, v, w) {
      const r = res.responses[0]!;
      assert.deepEqual([r.errorCode, r.errorMessage, r.resourceType, r.resourceName], [ErrorCode.NONE, null, TOPIC, cfgTopic]);
      const c = await topicConfig(w, cfgTopic, 'retention.ms');
      assert.deepEqual([c?.value, c?.configSource], [String(1_000_000 + v), DYNAMIC_TOPIC_CONFIG]);
    },
  }),
  exchange({
    request: IncrementalAlterConfigsRequest,
    response: IncrementalAlterConfigsResponse,
    build: (v) => ({ resources: [{ resourceType: TOPIC, resourceName: cfgTopic, configs: [{ name: 'retention.ms', configOperation: 0, value: String(2_000_000 + v) }] }] }),
    async check(res, v, w) {
      const r = res.responses[0]!;
      assert.deepEqual([r.errorCode, r.errorMessage, r.resourceType, r.resourceName], [ErrorCode.NONE, null, TOPIC, cfgTopic]);
      assert.equal((await topicConfig(w, cfgTopic, 'retention.ms'))?.value, String(2_000_000 + v));
    },
  }),
  exchange({
    request: CreatePartitionsRequest,
    response: CreatePartitionsResponse,
    build: (v) => ({ topics: [{ name: partsTopic, count: 2 + v, assignments: null }], timeoutMs: 10_000 }),
    async check(res, v, w) {
      const r = res.results[0]!;
      assert.deepEqual([r.name, r.errorCode, r.errorMessage], [partsTopic, ErrorCode.NONE, null]);
      assert.equal((await metadataOf(w, partsTopic)).partitions.length, 2 + v);
    },
  }),
  exchange({
    request: DescribeLogDirsRequest,
    response: DescribeLogDirsResponse,
    build: () => ({ topics: [{ topic: main, partitions: [0] }] }),
    check(res, v) {
      if (v >= 3) assert.equal(res.errorCode, ErrorCode.NONE);
      assert.equal(res.results.length, 1);
      const d = res.results[0]!;
      assert.equal(d.errorCode, ErrorCode.NONE);
      assert.ok(d.logDir.length > 0, 'empty log dir');
      const p = d.topics.find((t) => t.name === main)?.partitions[0];
      assert.ok(p && p.partitionIndex === 0 && p.partitionSize > 0n, `partition 0 of ${main}: ${JSON.stringify(d.topics, (_k, x: unknown) => (typeof x === 'bigint' ? String(x) : x))}`);
      if (v >= 4) assert.ok(d.totalBytes > 0n && d.usableBytes >= 0n, `total ${d.totalBytes} usable ${d.usableBytes}`);
    },
  }),
  exchange({
    request: DescribeClusterRequest,
    response: DescribeClusterResponse,
    build: () => ({ includeClusterAuthorizedOperations: false }),
    check(res, v, w) {
      assert.deepEqual([res.errorCode, res.errorMessage, res.clusterId, res.controllerId], [ErrorCode.NONE, null, w.clusterId, w.controllerId]);
      if (v >= 1) assert.equal(res.endpointType, 1);
      assert.deepEqual(
        res.brokers.map((b) => [b.brokerId, b.host, b.port]),
        [[nodeId, w.broker.host, w.broker.port]],
      );
    },
  }),
  exchange({
    request: FindCoordinatorRequest,
    response: FindCoordinatorResponse,
    label: 'group',
    build: (v) => (v >= 4 ? { keyType: 0, coordinatorKeys: ['matrix-group', 'matrix-group-2'] } : { key: 'matrix-group', ...(v >= 1 ? { keyType: 0 } : {}) }),
    check(res, v, w) {
      const here = [ErrorCode.NONE, nodeId, w.broker.host, w.broker.port];
      if (v >= 4) {
        assert.deepEqual(
          res.coordinators.map((c) => [c.key, c.errorCode, c.nodeId, c.host, c.port]),
          ['matrix-group', 'matrix-group-2'].map((k) => [k, ...here]),
        );
      } else {
        assert.deepEqual([res.errorCode, res.nodeId, res.host, res.port], here);
      }
    },
  }),
  exchange({
    request: JoinGroupRequest,
    response: JoinGroupResponse,
    async prepare(w, v) {
      if (v < 4) return;
      // v4+: the first join of a dynamic member gets its id with MEMBER_ID_REQUIRED (KIP-394).
      const first = await w.conn.request(JoinGroupRequest, JoinGroupResponse, v, {
        groupId: `matrix-join-v${v}`,
        sessionTimeoutMs: 10_000,
        rebalanceTimeoutMs: 10_000,
        memberId: '',
        groupInstanceId: null,
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: Buffer.from('m') }],
        reason: null,
      });
      assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
      assert.match(first.memberId, /-/);
      joins.set(`join-v${v}`, { memberId: first.memberId, generationId: -1 });
    },
    build: (v) => ({
      groupId: `matrix-join-v${v}`,
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      memberId: joins.get(`join-v${v}`)?.memberId ?? '',
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.from('m') }],
      reason: 'matrix',
    }),
    check(res, v) {
      assert.equal(res.errorCode, ErrorCode.NONE);
      assert.equal(res.generationId, 1);
      assert.equal(res.leader, res.memberId);
      assert.deepEqual(res.members.map((m) => [m.memberId, m.metadata.toString()]), [[res.memberId, 'm']]);
      if (v >= 7) assert.equal(res.protocolName, 'range');
      joins.set(`join-v${v}`, { memberId: res.memberId, generationId: res.generationId });
    },
  }),
  exchange({
    request: SyncGroupRequest,
    response: SyncGroupResponse,
    async prepare(w, v) {
      // A fresh one-member group in CompletingRebalance, joined at the newest version.
      const jv = latest(w, JoinGroupRequest);
      const join = (memberId: string) =>
        w.conn.request(JoinGroupRequest, JoinGroupResponse, jv, {
          groupId: `matrix-sync-v${v}`,
          sessionTimeoutMs: 10_000,
          rebalanceTimeoutMs: 10_000,
          memberId,
          groupInstanceId: null,
          protocolType: 'consumer',
          protocols: [{ name: 'range', metadata: Buffer.from('m') }],
          reason: null,
        });
      let res = await join('');
      if (res.errorCode === ErrorCode.MEMBER_ID_REQUIRED) res = await join(res.memberId);
      joins.set(`sync-v${v}`, { memberId: res.memberId, generationId: res.generationId });
    },
    build: (v) => {
      const j = joins.get(`sync-v${v}`)!;
      return {
        groupId: `matrix-sync-v${v}`,
        generationId: j.generationId,
        memberId: j.memberId,
        groupInstanceId: null,
        protocolType: 'consumer',
        protocolName: 'range',
        assignments: [{ memberId: j.memberId, assignment: Buffer.from(`assignment-v${v}`) }],
      };
    },
    check(res, v) {
      assert.equal(res.errorCode, ErrorCode.NONE);
      assert.equal(res.assignment.toString(), `assignment-v${v}`);
      if (v >= 5) assert.deepEqual([res.protocolType, res.protocolName], ['consumer', 'range']);
    },
  }),
  exchange({
    request: HeartbeatRequest,
    response: HeartbeatResponse,
    async prepare(w, v) {
      joins.set(`hb-v${v}`, await stableMember(w, `matrix-hb-v${v}`));
    },
    build: (v) => ({ groupId: `matrix-hb-v${v}`, generationId: joins.get(`hb-v${v}`)!.generationId, memberId: joins.get(`hb-v${v}`)!.memberId, groupInstanceId: null }),
    async check(res, v, w) {
      assert.equal(res.errorCode, ErrorCode.NONE);
      const stale = await w.conn.request(HeartbeatRequest, HeartbeatResponse, v, { groupId: `matrix-hb-v${v}`, generationId: 99, memberId: joins.get(`hb-v${v}`)!.memberId, groupInstanceId: null });
      assert.equal(stale.errorCode, ErrorCode.ILLEGAL_GENERATION);
    },
  }),
  exchange({
    request: OffsetCommitRequest,
    response: OffsetCommitResponse,
    async prepare(w, v) {
      if (v >= 1) joins.set(`oc-v${v}`, await stableMember(w, `matrix-oc-v${v}`));
    },
    build: (v, w) => {
      const j = joins.get(`oc-v${v}`);
      return {
        groupId: `matrix-oc-v${v}`,
        generationIdOrMemberEpoch: j?.generationId ?? -1,
        memberId: j?.memberId ?? '',
        groupInstanceId: null,
        retentionTimeMs: -1n,
        topics: [{ ...nameOrId(v, w, 10), partitions: [{ partitionIndex: 0, committedOffset: BigInt(100 + v), committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: `meta-v${v}` }] }],
      };
    },
    async check(res, v, w) {
      assert.equal(res.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
      const f = await w.conn.request(OffsetFetchRequest, OffsetFetchResponse, 7, { groupId: `matrix-oc-v${v}`, topics: [{ name: main, partitionIndexes: [0] }], requireStable: true });
      const p = f.topics[0]!.partitions[0]!;
      assert.deepEqual([p.committedOffset, p.metadata], [BigInt(100 + v), `meta-v${v}`]);
    },
  }),
  exchange({
    request: OffsetFetchRequest,
    response: OffsetFetchResponse,
    async prepare(w, v) {
      await commit(w, `matrix-of-v${v}`, BigInt(200 + v));
    },
    build: (v, w) =>
      v >= 8
        ? { groups: [{ groupId: `matrix-of-v${v}`, memberId: null, memberEpoch: -1, topics: [{ ...nameOrId(v, w, 10), partitionIndexes: [0, 1] }] }, { groupId: 'matrix-of-none', memberId: null, memberEpoch: -1, topics: null }], requireStable: true }
        : { groupId: `matrix-of-v${v}`, topics: [{ name: main, partitionIndexes: [0, 1] }] },
    check(res, v) {
      const parts = v >= 8 ? res.groups[0]!.topics[0]!.partitions : res.topics[0]!.partitions;
      assert.deepEqual(
        parts.map((p) => [p.partitionIndex, p.committedOffset, p.metadata, p.errorCode]),
        [
          [0, BigInt(200 + v), 'm', ErrorCode.NONE],
          [1, -1n, '', ErrorCode.NONE],
        ],
      );
      if (v >= 8) assert.deepEqual([res.groups[1]!.groupId, res.groups[1]!.errorCode, res.groups[1]!.topics], ['matrix-of-none', ErrorCode.NONE, []]);
    },
  }),
  exchange({
    request: DescribeGroupsRequest,
    response: DescribeGroupsResponse,
    async prepare(w, v) {
      joins.set(`dg-v${v}`, await stableMember(w, `matrix-dg-v${v}`));
    },
    build: (v) => ({ groups: [`matrix-dg-v${v}`, 'matrix-dg-unknown'], ...(v >= 3 ? { includeAuthorizedOperations: true } : {}) }),
    check(res, v) {
      const [g, unknown] = res.groups;
      assert.deepEqual([g!.errorCode, g!.groupState, g!.protocolType, g!.protocolData], [ErrorCode.NONE, 'Stable', 'consumer', 'range']);
      assert.deepEqual(
        g!.members.map((m) => [m.memberId, m.memberMetadata.toString(), m.memberAssignment.toString()]),
        [[joins.get(`dg-v${v}`)!.memberId, 'sub', 'all']],
      );
      assert.equal(unknown!.errorCode, v >= 6 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.NONE);
      if (v < 6) assert.equal(unknown!.groupState, 'Dead');
    },
  }),
  exchange({
    request: ListGroupsRequest,
    response: ListGroupsResponse,
    build: (v) => (v >= 5 ? { statesFilter: ['stable'], typesFilter: ['classic'] } : v >= 4 ? { statesFilter: ['Stable'] } : {}),
    check(res, v) {
      assert.equal(res.errorCode, ErrorCode.NONE);
      const dg = res.groups.find((g) => g.groupId === 'matrix-dg-v0');
      assert.ok(dg, 'a stable group from DescribeGroups is listed');
      assert.equal(dg.protocolType, 'consumer');
      if (v >= 4) {
        assert.equal(dg.groupState, 'Stable');
        assert.ok(res.groups.every((g) => g.groupState === 'Stable'), 'state filter');
      }
      if (v >= 5) assert.equal(dg.groupType, 'classic');
    },
  }),
  exchange({
    request: LeaveGroupRequest,
    response: LeaveGroupResponse,
    async prepare(w, v) {
      joins.set(`lg-v${v}`, await stableMember(w, `matrix-lg-v${v}`));
    },
    build: (v) => {
      const memberId = joins.get(`lg-v${v}`)!.memberId;
      return v >= 3 ? { groupId: `matrix-lg-v${v}`, members: [{ memberId, groupInstanceId: null, reason: 'matrix' }, { memberId: 'nobody', groupInstanceId: null, reason: null }] } : { groupId: `matrix-lg-v${v}`, memberId };
    },
    async check(res, v, w) {
      assert.equal(res.errorCode, ErrorCode.NONE);
      if (v >= 3) assert.deepEqual(res.members.map((m) => m.errorCode), [ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID]);
      const d = await w.conn.request(DescribeGroupsRequest, DescribeGroupsResponse, 0, { groups: [`matrix-lg-v${v}`] });
      assert.deepEqual([d.groups[0]!.groupState, d.groups[0]!.members.length], ['Empty', 0]);
    },
  }),
  exchange({
    request: OffsetDeleteRequest,
    response: OffsetDeleteResponse,
    async prepare(w, v) {
      await commit(w, `matrix-od-v${v}`, 5n);
    },
    build: (v) => ({ groupId: `matrix-od-v${v}`, topics: [{ name: main, partitions: [{ partitionIndex: 0 }] }] }),
    async check(res, v, w) {
      assert.deepEqual([res.errorCode, res.topics[0]!.partitions[0]!.errorCode], [ErrorCode.NONE, ErrorCode.NONE]);
      const f = await w.conn.request(OffsetFetchRequest, OffsetFetchResponse, 7, { groupId: `matrix-od-v${v}`, topics: [{ name: main, partitionIndexes: [0] }], requireStable: false });
      assert.equal(f.topics[0]!.partitions[0]!.committedOffset, -1n);
    },
  }),
  exchange({
    request: DeleteGroupsRequest,
    response: DeleteGroupsResponse,
    async prepare(w, v) {
      await commit(w, `matrix-del-v${v}`, 7n);
    },
    build: (v) => ({ groupsNames: [`matrix-del-v${v}`, 'matrix-del-unknown', 'matrix-dg-v0'] }),
    async check(res, v, w) {
      assert.deepEqual(
        res.results.map((r) => [r.groupId, r.errorCode]),
        [
          [`matrix-del-v${v}`, ErrorCode.NONE],
          ['matrix-del-unknown', ErrorCode.GROUP_ID_NOT_FOUND],
          ['matrix-dg-v0', ErrorCode.NON_EMPTY_GROUP],
        ],
      );
      const f = await w.conn.request(OffsetFetchRequest, OffsetFetchResponse, 7, { groupId: `matrix-del-v${v}`, topics: [{ name: main, partitionIndexes: [0] }], requireStable: false });
      assert.equal(f.topics[0]!.partitions[0]!.committedOffset, -1n);
    },
  }),
  exchange({
    request: InitProducerIdRequest,
    response: InitProducerIdResponse,
    label: 'idempotent',
    build: () => ({ transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 }),
    check(res) {
      assert.deepEqual([res.errorCode, res.producerEpoch], [ErrorCode.NONE, 0]);
      assert.ok(res.producerId >= 0n);
      assert.ok(!producerIds.has(res.producerId), `producer id ${res.producerId} handed out twice`);
      producerIds.add(res.producerId);
    },
  }),
  exchange({
    request: DescribeProducersRequest,
    response: DescribeProducersResponse,
    async prepare(w) {
      if (idempotent.producerId >= 0n) return;
      assert.equal((await createTopic(w, idemTopic, 1)).errorCode, ErrorCode.NONE);
      const init = await w.conn.request(InitProducerIdRequest, InitProducerIdResponse, latest(w, InitProducerIdRequest), {
        transactionalId: null,
        transactionTimeoutMs: 60_000,
        producerId: -1n,
        producerEpoch: -1,
      });
      assert.equal(init.errorCode, ErrorCode.NONE);
      idempotent.producerId = init.producerId;
      const records = encodeBatch({
        producerId: init.producerId,
        producerEpoch: init.producerEpoch,
        baseSequence: 0,
        baseTimestamp: idempotent.timestamp,
        records: [0, 1, 2].map((i) => ({ value: `idempotent ${i}`, timestamp: idempotent.timestamp })),
      });
      const pv = Math.min(latest(w, ProduceRequest), 12);
      const res = await w.conn.request(ProduceRequest, ProduceResponse, pv, { acks: -1, timeoutMs: 10_000, topicData: [{ name: idemTopic, partitionData: [{ index: 0, records }] }] });
      assert.equal(res.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
    },
    build: () => ({ topics: [{ name: idemTopic, partitionIndexes: [0, 7] }] }),
    check(res) {
      const bigints = (_k: string, x: unknown) => (typeof x === 'bigint' ? String(x) : x);
      assert.equal(res.topics.length, 1);
      const [p0, p7] = res.topics[0]!.partitions;
      assert.deepEqual(
        [p0!.partitionIndex, p0!.errorCode, p0!.activeProducers.map((a) => [a.producerId, a.producerEpoch, a.lastSequence, a.lastTimestamp, a.coordinatorEpoch, a.currentTxnStartOffset])],
        [0, ErrorCode.NONE, [[idempotent.producerId, 0, 2, idempotent.timestamp, -1, -1n]]],
        JSON.stringify(p0, bigints),
      );
      assert.deepEqual([p7!.partitionIndex, p7!.errorCode, p7!.activeProducers], [7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, []]);
    },
  }),
  exchange({
    request: InitProducerIdRequest,
    response: InitProducerIdResponse,
    label: 'transactional',
    build: (v) => ({ transactionalId: `matrix-ipi-v${v}`, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 }),
    async check(res, v, w) {
      assert.deepEqual([res.errorCode, res.producerEpoch], [ErrorCode.NONE, 0]);
      assert.ok(!producerIds.has(res.producerId), `producer id ${res.producerId} handed out twice`);
      producerIds.add(res.producerId);
      // Again: the same producer id, the next epoch (fencing any older producer of the id).
      const again = await w.conn.request(InitProducerIdRequest, InitProducerIdResponse, v, { transactionalId: `matrix-ipi-v${v}`, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
      assert.deepEqual([again.errorCode, again.producerId, again.producerEpoch], [ErrorCode.NONE, res.producerId, 1]);
      const tooLong = await w.conn.request(InitProducerIdRequest, InitProducerIdResponse, v, { transactionalId: `matrix-ipi-v${v}`, transactionTimeoutMs: 900_001, producerId: -1n, producerEpoch: -1 });
      assert.equal(tooLong.errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    },
  }),
  exchange({
    request: AddPartitionsToTxnRequest,
    response: AddPartitionsToTxnResponse,
    async prepare(w, v) {
      txns.set(`apt-v${v}`, await txnProducer(w, `matrix-apt-v${v}`));
    },
    build: (v) => {
      const p = txns.get(`apt-v${v}`)!;
      const topics = [{ name: main, partitions: [0] }, { name: 'matrix-no-such-topic', partitions: [0] }];
      return v < 4
        ? { v3AndBelowTransactionalId: p.id, v3AndBelowProducerId: p.producerId, v3AndBelowProducerEpoch: p.producerEpoch, v3AndBelowTopics: topics.slice(0, 1) }
        : {
            transactions: [
              { transactionalId: p.id, producerId: p.producerId, producerEpoch: p.producerEpoch, verifyOnly: false, topics: topics.slice(0, 1) },
              { transactionalId: p.id, producerId: p.producerId, producerEpoch: p.producerEpoch, verifyOnly: true, topics: [{ name: partsTopic, partitions: [0] }] },
              { transactionalId: 'matrix-apt-unknown', producerId: p.producerId, producerEpoch: p.producerEpoch, verifyOnly: false, topics },
            ],
          };
    },
    async check(res, v, w) {
      const p = txns.get(`apt-v${v}`)!;
      const codes = (topics: typeof res.resultsByTopicV3AndBelow) => topics.map((t) => [t.name, t.resultsByPartition.map((r) => [r.partitionIndex, r.partitionErrorCode])]);
      if (v < 4) {
        assert.deepEqual(codes(res.resultsByTopicV3AndBelow), [[main, [[0, ErrorCode.NONE]]]]);
      } else {
        assert.equal(res.errorCode, ErrorCode.NONE);
        const [added, verified, failed] = res.resultsByTransaction;
        assert.deepEqual(codes(added!.topicResults), [[main, [[0, ErrorCode.NONE]]]]);
        assert.deepEqual(codes(verified!.topicResults), [[partsTopic, [[0, ErrorCode.TRANSACTION_ABORTABLE]]]], 'verifyOnly: not in the transaction, not added');
        assert.deepEqual(codes(failed!.topicResults), [[main, [[0, ErrorCode.OPERATION_NOT_ATTEMPTED]]], ['matrix-no-such-topic', [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]]]);
      }
      const d = await w.conn.request(DescribeTransactionsRequest, DescribeTransactionsResponse, 0, { transactionalIds: [p.id] });
      assert.deepEqual([d.transactionStates[0]!.transactionState, d.transactionStates[0]!.topics], ['Ongoing', [{ topic: main, partitions: [0] }]]);
      await endTxnLatest(w, p, false);
      await txnState(w, p.id, 'CompleteAbort');
    },
  }),
  exchange({
    request: AddOffsetsToTxnRequest,
    response: AddOffsetsToTxnResponse,
    async prepare(w, v) {
      txns.set(`aot-v${v}`, await txnProducer(w, `matrix-aot-v${v}`));
    },
    build: (v) => {
      const p = txns.get(`aot-v${v}`)!;
      return { transactionalId: p.id, producerId: p.producerId, producerEpoch: p.producerEpoch, groupId: `matrix-aot-v${v}` };
    },
    async check(res, v, w) {
      assert.equal(res.errorCode, ErrorCode.NONE);
      const p = txns.get(`aot-v${v}`)!;
      const stale = await w.conn.request(AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, v, { transactionalId: p.id, producerId: p.producerId, producerEpoch: p.producerEpoch + 1, groupId: 'g' });
      assert.equal(stale.errorCode, v < 2 ? ErrorCode.INVALID_PRODUCER_EPOCH : ErrorCode.PRODUCER_FENCED);
      const d = await w.conn.request(DescribeTransactionsRequest, DescribeTransactionsResponse, 0, { transactionalIds: [p.id] });
      assert.deepEqual(d.transactionStates[0]!.topics.map((t) => t.topic), ['__consumer_offsets']);
      await endTxnLatest(w, p, false);
      await txnState(w, p.id, 'CompleteAbort');
    },
  }),
  exchange({
    request: EndTxnRequest,
    response: EndTxnResponse,
    async prepare(w, v) {
      const p = await txnProducer(w, `matrix-et-v${v}`);
      await addMain(w, p);
      txns.set(`et-v${v}`, p);
    },
    build: (v) => {
      const p = txns.get(`et-v${v}`)!;
      return { transactionalId: p.id, producerId: p.producerId, producerEpoch: p.producerEpoch, committed: true };
    },
    async check(res, v, w) {
      const p = txns.get(`et-v${v}`)!;
      assert.equal(res.errorCode, ErrorCode.NONE);
      // v5 (transactions v2) bumps the epoch and says so; earlier versions answer no producer id.
      if (v >= 5) assert.deepEqual([res.producerId, res.producerEpoch], [p.producerId, p.producerEpoch + 1]);
      await txnState(w, p.id, 'CompleteCommit');
      const wrongState = await w.conn.request(EndTxnRequest, EndTxnResponse, v, { transactionalId: p.id, producerId: p.producerId, producerEpoch: v >= 5 ? p.producerEpoch + 1 : p.producerEpoch, committed: false });
      assert.equal(wrongState.errorCode, v >= 5 ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE, 'TV2 may abort with nothing open; TV0 may not');
      const unknown = await w.conn.request(EndTxnRequest, EndTxnResponse, v, { transactionalId: 'matrix-et-unknown', producerId: p.producerId, producerEpoch: 0, committed: true });
      assert.equal(unknown.errorCode, ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    },
  }),
  exchange({
    request: TxnOffsetCommitRequest,
    response: TxnOffsetCommitResponse,
    async prepare(w, v) {
      const p = await txnProducer(w, `matrix-toc-v${v}`);
      if (v <= 4) {
        const r = await w.conn.request(AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, latest(w, AddOffsetsToTxnRequest), { transactionalId: p.id, producerId: p.producerId, producerEpoch: p.producerEpoch, groupId: `matrix-toc-v${v}` });
        assert.equal(r.errorCode, ErrorCode.NONE);
      }
      txns.set(`toc-v${v}`, p);
    },
    build: (v, w) => {
      const p = txns.get(`toc-v${v}`)!;
      return {
        transactionalId: p.id,
        groupId: `matrix-toc-v${v}`,
        producerId: p.producerId,
        producerEpoch: p.producerEpoch,
        generationIdOrMemberEpoch: -1,
        memberId: '',
        groupInstanceId: null,
        topics: [{ ...nameOrId(v, w, 6), partitions: [{ partitionIndex: 0, committedOffset: BigInt(300 + v), committedLeaderEpoch: -1, committedMetadata: `txn-v${v}` }] }],
      };
    },
    async check(res, v, w) {
      const p = txns.get(`toc-v${v}`)!;
      assert.equal(res.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
      const fetch = () => w.conn.request(OffsetFetchRequest, OffsetFetchResponse, 7, { groupId: `matrix-toc-v${v}`, topics: [{ name: main, partitionIndexes: [0] }], requireStable: true });
      assert.equal((await fetch()).topics[0]!.partitions[0]!.errorCode, ErrorCode.UNSTABLE_OFFSET_COMMIT, 'pending until the transaction ends');
      await endTxnLatest(w, p, true);
      await txnState(w, p.id, 'CompleteCommit');
      const after = (await fetch()).topics[0]!.partitions[0]!;
      assert.deepEqual([after.errorCode, after.committedOffset, after.metadata], [ErrorCode.NONE, BigInt(300 + v), `txn-v${v}`]);
    },
  }),
  exchange({
    request: DescribeTransactionsRequest,
    response: DescribeTransactionsResponse,
    async prepare(w) {
      txns.set('dt', await txnProducer(w, 'matrix-dt'));
    },
    build: () => ({ transactionalIds: ['matrix-dt', 'matrix-dt-unknown', ''] }),
    check(res) {
      const [known, unknown, empty] = res.transactionStates;
      const p = txns.get('dt')!;
      assert.deepEqual([known!.errorCode, known!.transactionalId, known!.transactionState, known!.producerId, known!.producerEpoch, known!.transactionTimeoutMs, known!.topics], [ErrorCode.NONE, 'matrix-dt', 'Empty', p.producerId, p.producerEpoch, 60_000, []]);
      assert.equal(unknown!.errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
      assert.equal(empty!.errorCode, ErrorCode.INVALID_REQUEST);
    },
  }),
  exchange({
    request: ListTransactionsRequest,
    response: ListTransactionsResponse,
    async prepare(w) {
      if (!txns.has('lt')) txns.set('lt', await txnProducer(w, 'matrix-lt'));
    },
    build: (v) => ({ stateFilters: ['Empty', 'NoSuchState'], producerIdFilters: [], durationFilter: -1n, transactionalIdPattern: v >= 2 ? 'matrix-l.' : null }),
    check(res, v) {
      assert.equal(res.errorCode, ErrorCode.NONE);
      assert.deepEqual(res.unknownStateFilters, ['NoSuchState']);
      const ids = res.transactionStates.map((t) => t.transactionalId);
      assert.ok(ids.includes('matrix-lt'), JSON.stringify(ids));
      assert.ok(res.transactionStates.every((t) => t.transactionState === 'Empty'));
      if (v >= 2) assert.deepEqual(ids, ['matrix-lt'], 'the pattern matches whole ids');
      else assert.ok(ids.includes('matrix-dt'));
    },
  }),
  exchange({
    request: DeleteRecordsRequest,
    response: DeleteRecordsResponse,
    build: (v) => ({ topics: [{ name: main, partitions: [{ partitionIndex: 0, offset: BigInt(v + 1) }] }], timeoutMs: 10_000 }),
    async check(res, v, w) {
      const p = res.topics[0]!.partitions[0]!;
      assert.deepEqual([res.topics[0]!.name, p.partitionIndex, p.errorCode, p.lowWatermark], [main, 0, ErrorCode.NONE, BigInt(v + 1)]);
      assert.equal(await earliestOffset(w), BigInt(v + 1));
    },
  }),
  exchange({
    request: DeleteTopicsRequest,
    response: DeleteTopicsResponse,
    async prepare(w, v) {
      // CreateTopics at this version made it, unless that failed or the range is shorter.
      const name = `matrix-ct-v${v}`;
      const t = await createTopic(w, name, 1);
      assert.ok(t.errorCode === ErrorCode.NONE || t.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS, `create ${name}: ${t.errorCode}`);
      w.topicIds.set(name, (await metadataOf(w, name)).topicId);
    },
    build: (v, w) => (v >= 6 ? { topics: [{ name: null, topicId: w.topicIds.get(`matrix-ct-v${v}`)! }] } : { topicNames: [`matrix-ct-v${v}`] }),
    async check(res, v, w) {
      const r = res.responses[0]!;
      assert.deepEqual([r.name, r.errorCode], [`matrix-ct-v${v}`, ErrorCode.NONE]);
      assert.equal((await metadataOf(w, `matrix-ct-v${v}`)).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'topic still listed');
    },
  }),
  exchange({
    request: ConsumerGroupHeartbeatRequest,
    response: ConsumerGroupHeartbeatResponse,
    // v0: the coordinator generates the member id of a join; v1: the client does (KIP-1082).
    build: (v) => ({
      groupId: `matrix-cgh-v${v}`,
      memberId: v >= 1 ? randomUuid() : '',
      memberEpoch: 0,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: 10_000,
      subscribedTopicNames: [main],
      subscribedTopicRegex: null,
      serverAssignor: 'range',
      topicPartitions: [],
    }),
    async check(res, v, w) {
      assert.equal(res.errorCode, ErrorCode.NONE, res.errorMessage ?? '');
      assert.match(res.memberId ?? '', /^[A-Za-z0-9_-]{22}$/);
      assert.equal(res.memberEpoch, 1);
      assert.deepEqual(res.assignment?.topicPartitions.map((tp) => [tp.topicId, tp.partitions]), [[w.mainTopicId, [0]]]);
      const leave = await w.conn.request(ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, v, { groupId: `matrix-cgh-v${v}`, memberId: res.memberId!, memberEpoch: -1 });
      assert.deepEqual([leave.errorCode, leave.memberEpoch], [ErrorCode.NONE, -1]);
    },
  }),
  exchange({
    request: ConsumerGroupDescribeRequest,
    response: ConsumerGroupDescribeResponse,
    async prepare(w, v) {
      const memberId = randomUuid();
      joins.set(`cgd-v${v}`, { memberId, generationId: 1 });
      const r = await w.conn.request(ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, latest(w, ConsumerGroupHeartbeatRequest), {
        groupId: `matrix-cgd-v${v}`,
        memberId,
        memberEpoch: 0,
        rebalanceTimeoutMs: 10_000,
        subscribedTopicNames: [main],
        topicPartitions: [],
      });
      assert.equal(r.errorCode, ErrorCode.NONE);
    },
    build: (v) => ({ groupIds: [`matrix-cgd-v${v}`, 'matrix-cgd-unknown', 'matrix-dg-v0'], includeAuthorizedOperations: true }),
    check(res, v) {
      const [g, unknown, classic] = res.groups;
      assert.deepEqual([g!.errorCode, g!.groupState, g!.groupEpoch, g!.assignmentEpoch, g!.assignorName], [ErrorCode.NONE, 'Stable', 1, 1, 'uniform']);
      const m = g!.members[0]!;
      assert.deepEqual([m.memberId, m.memberEpoch, m.subscribedTopicNames], [joins.get(`cgd-v${v}`)!.memberId, 1, [main]]);
      assert.deepEqual(m.assignment.topicPartitions.map((tp) => [tp.topicName, tp.partitions]), [[main, [0]]]);
      assert.deepEqual(m.targetAssignment.topicPartitions.map((tp) => [tp.topicName, tp.partitions]), [[main, [0]]]);
      if (v >= 1) assert.equal(m.memberType, 1);
      assert.notEqual(g!.authorizedOperations, -2147483648);
      assert.equal(unknown!.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
      assert.equal(classic!.errorCode, ErrorCode.GROUP_ID_NOT_FOUND, 'a classic group is not described here');
    },
  }),
  exchange({
    request: ShareGroupHeartbeatRequest,
    response: ShareGroupHeartbeatResponse,
    build: (v) => ({ groupId: `matrix-sgh-v${v}`, memberId: randomUuid(), memberEpoch: 0, rackId: null, subscribedTopicNames: [main] }),
    async check(res, v, w) {
      assert.equal(res.errorCode, ErrorCode.NONE, res.errorMessage ?? '');
      assert.deepEqual([res.memberEpoch, res.heartbeatIntervalMs], [1, 5000]);
      assert.deepEqual(res.assignment?.topicPartitions.map((tp) => [tp.topicId, tp.partitions]), [[w.mainTopicId, [0]]]);
      const leave = await w.conn.request(ShareGroupHeartbeatRequest, ShareGroupHeartbeatResponse, v, { groupId: `matrix-sgh-v${v}`, memberId: res.memberId!, memberEpoch: -1 });
      assert.deepEqual([leave.errorCode, leave.memberEpoch], [ErrorCode.NONE, -1]);
    },
  }),
  exchange({
    request: ShareGroupDescribeRequest,
    response: ShareGroupDescribeResponse,
    async prepare(w, v) {
      shareMembers.set(`sgd-v${v}`, await shareMember(w, `matrix-sgd-v${v}`));
    },
    build: (v) => ({ groupIds: [`matrix-sgd-v${v}`, 'matrix-sgd-unknown', 'matrix-dg-v0'], includeAuthorizedOperations: true }),
    check(res, v) {
      const [g, unknown, classic] = res.groups;
      assert.deepEqual([g!.errorCode, g!.groupState, g!.groupEpoch, g!.assignmentEpoch, g!.assignorName], [ErrorCode.NONE, 'Stable', 1, 1, 'simple']);
      const m = g!.members[0]!;
      assert.deepEqual([m.memberId, m.memberEpoch, m.subscribedTopicNames], [shareMembers.get(`sgd-v${v}`)!.memberId, 1, [main]]);
      assert.deepEqual(m.assignment.topicPartitions.map((tp) => [tp.topicName, tp.partitions]), [[main, [0]]]);
      assert.notEqual(g!.authorizedOperations, -2147483648);
      assert.equal(unknown!.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
      assert.equal(classic!.errorCode, ErrorCode.GROUP_ID_NOT_FOUND, 'a classic group is not described here');
    },
  }),
  {
    apiKey: ShareFetchRequest.apiKey,
    label: '',
    async run(w, v) {
      const m = await shareMember(w, `matrix-sf-v${v}`);
      const offset = await produceOne(w, `share fetch v${v}`);
      const res = await shareFetch(w, m, v, 5_000);
      assert.deepEqual([res.errorCode, res.acquisitionLockTimeoutMs], [ErrorCode.NONE, 30_000]);
      const p = res.responses[0]!.partitions[0]!;
      assert.deepEqual([res.responses[0]!.topicId, p.partitionIndex, p.errorCode], [w.mainTopicId, 0, ErrorCode.NONE]);
      assert.deepEqual(p.acquiredRecords.map((a) => [a.firstOffset, a.lastOffset, a.deliveryCount]), [[offset, offset, 1]]);
      assert.deepEqual(recordsOf(p.records).filter((r) => r.offset === offset).map((r) => r.value), [`share fetch v${v}`]);
    },
  },
  {
    apiKey: ShareAcknowledgeRequest.apiKey,
    label: '',
    async run(w, v) {
      const m = await shareMember(w, `matrix-sa-v${v}`);
      const offset = await produceOne(w, `share acknowledge v${v}`);
      const fetched = await shareFetch(w, m, latest(w, ShareFetchRequest), 5_000);
      assert.equal(fetched.responses[0]!.partitions[0]!.acquiredRecords.length, 1);
      const epoch = m.sessionEpoch++;
      const res = await w.conn.request(ShareAcknowledgeRequest, ShareAcknowledgeResponse, v, {
        groupId: m.group,
        memberId: m.memberId,
        shareSessionEpoch: epoch,
        topics: [{ topicId: w.mainTopicId, partitions: [{ partitionIndex: 0, acknowledgementBatches: [{ firstOffset: offset, lastOffset: offset, acknowledgeTypes: [1] }] }] }],
      });
      assert.equal(res.errorCode, ErrorCode.NONE, res.errorMessage ?? '');
      assert.deepEqual(res.responses.map((t) => [t.topicId, t.partitions.map((p) => [p.partitionIndex, p.errorCode])]), [[w.mainTopicId, [[0, ErrorCode.NONE]]]]);
      if (v >= 2) assert.equal(res.acquisitionLockTimeoutMs, 30_000);
      const after = await shareFetch(w, m, latest(w, ShareFetchRequest));
      assert.deepEqual(after.responses.flatMap((t) => t.partitions.flatMap((p) => p.acquiredRecords)), [], 'accepted: not delivered again');
    },
  },
];

// ------------------------------------------------------------------ setup and the runs

let broker: Broker;
let world: World;

async function apiVersionsV0(conn: CodecConnection): Promise<ApiVersionsResponse> {
  return conn.request(ApiVersionsRequest, ApiVersionsResponse, 0, {}, 5_000);
}

before(async () => {
  broker = await startBroker({ nodeId, configs: { 'group.initial.rebalance.delay.ms': 0 } });
  const conn = await CodecConnection.open(broker.host, broker.port);
  const av = await apiVersionsV0(conn);
  assert.equal(av.errorCode, ErrorCode.NONE);
  world = {
    broker,
    conn,
    advertised: new Map(av.apiKeys.map((k) => [k.apiKey, { minVersion: k.minVersion, maxVersion: k.maxVersion }])),
    mainTopicId: ZERO_UUID,
    leaderEpoch: -1,
    clusterId: null,
    controllerId: -1,
    produced: [],
    batchStarts: [],
    baseTimestamp: BigInt(Date.now() - 600_000),
    topicIds: new Map(),
  };
  const created = await createTopic(world, main, 1, { 'retention.ms': mainRetentionMs });
  assert.equal(created.errorCode, ErrorCode.NONE, `create ${main}: ${created.errorMessage}`);
  for (const t of [cfgTopic, partsTopic]) assert.equal((await createTopic(world, t, 1)).errorCode, ErrorCode.NONE);
  const md = await conn.request(MetadataRequest, MetadataResponse, latest(world, MetadataRequest), { topics: [{ name: main }], allowAutoTopicCreation: false });
  world.mainTopicId = md.topics[0]!.topicId;
  world.leaderEpoch = md.topics[0]!.partitions[0]!.leaderEpoch;
  world.clusterId = md.clusterId;
  world.controllerId = md.controllerId;
  assert.notEqual(world.mainTopicId, ZERO_UUID);
}, { timeout: 20_000 });

after(async () => {
  world?.conn.close();
  await broker?.dispose();
}, { timeout: 20_000 });

const apiName = (key: number): string => apis.get(key)?.name ?? `key ${key}`;

test('every advertised API key has a case in the matrix', () => {
  const missing = [...world.advertised.keys()].filter((k) => !cases.some((c) => c.apiKey === k));
  assert.deepEqual(missing.map(apiName), []);
});

test('every advertised version of every API works end to end', { timeout: 30_000 }, async (t) => {
  for (const c of cases) {
    const range = world.advertised.get(c.apiKey);
    if (!range) continue;
    const from = Math.max(range.minVersion, c.minVersion ?? range.minVersion);
    const to = Math.min(range.maxVersion, c.maxVersion ?? range.maxVersion);
    for (let v = from; v <= to; v++) {
      await t.test(`${apiName(c.apiKey)} v${v}${c.label ? ` (${c.label})` : ''}`, { timeout: 10_000 }, async () => {
        if (world.conn.closed) world.conn = await CodecConnection.open(broker.host, broker.port);
        await c.run(world, v);
        const alive = await apiVersionsV0(world.conn);
        assert.equal(alive.errorCode, ErrorCode.NONE, 'ApiVersions v0 after the request');
      });
    }
  }
});

test('ApiVersions at an unsupported version: UNSUPPORTED_VERSION and the supported ranges in a v0 body', { timeout: 10_000 }, async () => {
  const conn = await CodecConnection.open(broker.host, broker.port);
  try {
    const cid = conn.sendRawRequest(ApiVersionsRequest.apiKey, 127);
    const frame = await conn.awaitFrame(cid, 5_000);
    const { bodyOffset } = decodeResponseHeader(frame, ApiVersionsRequest.apiKey, 0);
    const r = new Reader(frame, bodyOffset);
    const res = ApiVersionsResponse.decode(r, 0);
    assert.equal(r.remaining, 0);
    assert.equal(res.errorCode, ErrorCode.UNSUPPORTED_VERSION);
    assert.deepEqual(
      res.apiKeys.map((k) => [k.apiKey, k.minVersion, k.maxVersion]),
      [...world.advertised].map(([k, x]) => [k, x.minVersion, x.maxVersion]),
    );
    assert.equal((await apiVersionsV0(conn)).errorCode, ErrorCode.NONE, 'connection usable afterwards');
  } finally {
    conn.close();
  }
});

test('an unknown API key closes the connection', { timeout: 10_000 }, async () => {
  const conn = await CodecConnection.open(broker.host, broker.port);
  try {
    const unknown = 32_000;
    assert.equal(apis.has(unknown), false);
    conn.sendRawRequest(unknown, 0, Buffer.alloc(8));
    assert.equal(await conn.waitClosed(5_000), true, 'connection still open after an unknown API key');
  } finally {
    conn.close();
  }
});
