/**
 * The few admin steps the load generator needs: version negotiation (ApiVersions), CreateTopics,
 * and waiting in Metadata until every partition has a leader. Topics are addressed by name, so
 * Produce and Fetch stay at or below the last versions that carry names (12), OffsetCommit and
 * OffsetFetch at 9. The group and transaction APIs are optional: a broker without them still runs
 * the other workloads (their version is then undefined, and the workloads that need them refuse to
 * start).
 */
import {
  AddPartitionsToTxnRequest,
  ApiVersionsRequest,
  ApiVersionsResponse,
  CreateTopicsRequest,
  CreateTopicsResponse,
  EndTxnRequest,
  ErrorCode,
  FetchRequest,
  FindCoordinatorRequest,
  FindCoordinatorResponse,
  HeartbeatRequest,
  InitProducerIdRequest,
  JoinGroupRequest,
  LeaveGroupRequest,
  ListOffsetsRequest,
  ListOffsetsResponse,
  MetadataRequest,
  MetadataResponse,
  OffsetCommitRequest,
  OffsetFetchRequest,
  ProduceRequest,
  SyncGroupRequest,
  errorName,
} from '@fjord/protocol';
import { KafkaConnection } from './connection.mjs';

/** Highest version the load generator uses per API (the last versions that address topics by name). */
const versionsMax = {
  Produce: 12,
  Fetch: 12,
  Metadata: 12,
  CreateTopics: 7,
  ListOffsets: 9,
  FindCoordinator: 6,
  JoinGroup: 9,
  SyncGroup: 5,
  Heartbeat: 4,
  LeaveGroup: 5,
  OffsetCommit: 9,
  OffsetFetch: 9,
  // Transactions as a client before KIP-890 part 2 does them (explicit AddPartitionsToTxn, no epoch
  // bump per EndTxn): InitProducerId v5 and EndTxn v5 opt in to "transaction version 2", and
  // AddPartitionsToTxn v4+ is broker-to-broker.
  InitProducerId: 4,
  AddPartitionsToTxn: 3,
  EndTxn: 4,
};
const codecs = {
  Produce: ProduceRequest,
  Fetch: FetchRequest,
  Metadata: MetadataRequest,
  CreateTopics: CreateTopicsRequest,
  ListOffsets: ListOffsetsRequest,
  FindCoordinator: FindCoordinatorRequest,
  JoinGroup: JoinGroupRequest,
  SyncGroup: SyncGroupRequest,
  Heartbeat: HeartbeatRequest,
  LeaveGroup: LeaveGroupRequest,
  OffsetCommit: OffsetCommitRequest,
  OffsetFetch: OffsetFetchRequest,
  InitProducerId: InitProducerIdRequest,
  AddPartitionsToTxn: AddPartitionsToTxnRequest,
  EndTxn: EndTxnRequest,
};
/** APIs a broker may lack: the workloads that need them check `versions` themselves. */
const optional = new Set(['FindCoordinator', 'JoinGroup', 'SyncGroup', 'Heartbeat', 'LeaveGroup', 'OffsetCommit', 'OffsetFetch', 'InitProducerId', 'AddPartitionsToTxn', 'EndTxn']);

export class BenchError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'BenchError';
  }
}

export function parseHostPort(s) {
  const i = s.lastIndexOf(':');
  if (i < 0) throw new BenchError(`expected HOST:PORT, got ${s}`);
  return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
}

/** Connects and negotiates: returns `{ conn, versions }` with the version to use per API name. */
export async function openClient(bootstrap, options = {}) {
  const { host, port } = parseHostPort(bootstrap);
  const conn = await KafkaConnection.connect(host, port, options);
  const av = await conn.request(ApiVersionsRequest, ApiVersionsResponse, 3, {
    clientSoftwareName: 'fjord-bench',
    clientSoftwareVersion: '0.1.0',
  });
  if (av.errorCode !== ErrorCode.NONE) throw new BenchError(`ApiVersions: ${errorName(av.errorCode)}`);
  const versions = {};
  for (const [name, codec] of Object.entries(codecs)) {
    const b = av.apiKeys.find((k) => k.apiKey === codec.apiKey);
    const v = b ? Math.min(b.maxVersion, codec.maxVersion, versionsMax[name]) : -1;
    if (!b || v < Math.max(b.minVersion, codec.minVersion)) {
      if (optional.has(name)) continue;
      throw new BenchError(b ? `no common version for ${name}` : `the broker does not support ${name}`);
    }
    versions[name] = v;
  }
  return { conn, versions };
}

/**
 * Creates topics (existing ones are accepted as they are). `topics`: [{ name, partitions, configs }].
 * Sent in requests of at most 100 topics. Resolves with Map name -> partition count once every
 * partition has a leader.
 */
export async function createTopics(client, topics) {
  const { conn, versions } = client;
  for (let i = 0; i < topics.length; i += 100) {
    const slice = topics.slice(i, i + 100);
    const res = await conn.request(CreateTopicsRequest, CreateTopicsResponse, versions.CreateTopics, {
      topics: slice.map((t) => ({
        name: t.name,
        numPartitions: t.partitions,
        replicationFactor: 1,
        assignments: [],
        configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value: String(value) })),
      })),
      timeoutMs: 30_000,
      validateOnly: false,
    });
    for (const t of res.topics) {
      if (t.errorCode !== ErrorCode.NONE && t.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS) {
        throw new BenchError(`CreateTopics ${t.name}: ${errorName(t.errorCode)} ${t.errorMessage ?? ''}`);
      }
    }
  }
  return waitForLeaders(client, topics.map((t) => t.name));
}

/** Polls Metadata until every partition of every topic has a leader (bounded: 30 s). */
export async function waitForLeaders(client, names, timeoutMs = 30_000) {
  const { conn, versions } = client;
  const deadline = Date.now() + timeoutMs;
  let why = '';
  while (Date.now() < deadline) {
    const md = await conn.request(MetadataRequest, MetadataResponse, versions.Metadata, {
      topics: names.map((name) => ({ name })),
      allowAutoTopicCreation: false,
    });
    const bad = md.topics.find((t) => t.errorCode !== ErrorCode.NONE || t.partitions.some((p) => p.leaderId < 0));
    if (!bad && md.topics.length === names.length) {
      return new Map(md.topics.map((t) => [t.name, t.partitions.length]));
    }
    why = bad ? `${bad.name}: ${errorName(bad.errorCode)}` : `${md.topics.length}/${names.length} topics`;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new BenchError(`topics not ready within ${timeoutMs} ms: ${why}`);
}

/** Latest offsets (high watermarks) of [topic, partitions] pairs, as numbers. */
export async function latestOffsets(client, topics) {
  const { conn, versions } = client;
  const res = await conn.request(ListOffsetsRequest, ListOffsetsResponse, versions.ListOffsets, {
    replicaId: -1,
    isolationLevel: 0,
    topics: topics.map(({ name, partitions }) => ({
      name,
      partitions: Array.from({ length: partitions }, (_, p) => ({ partitionIndex: p, currentLeaderEpoch: -1, timestamp: -1n })),
    })),
    timeoutMs: 10_000,
  });
  const out = new Map();
  for (const t of res.topics) {
    for (const p of t.partitions) {
      if (p.errorCode !== ErrorCode.NONE) throw new BenchError(`ListOffsets ${t.name}-${p.partitionIndex}: ${errorName(p.errorCode)}`);
      out.set(`${t.name}-${p.partitionIndex}`, Number(p.offset));
    }
  }
  return out;
}

/** Throws unless the broker supports every API named (the optional group APIs). */
export function requireApis(client, names) {
  const missing = names.filter((n) => client.versions[n] === undefined);
  if (missing.length) throw new BenchError(`the broker does not support ${missing.join(', ')}`);
}

/**
 * FindCoordinator for a group, as a consumer does first (Kafka and Fjord create __consumer_offsets
 * on the first lookup). Returns { nodeId, host, port }; throws on an error answer.
 */
export async function findGroupCoordinator(client, groupId) {
  const { conn, versions } = client;
  const v = versions.FindCoordinator;
  const res = await conn.request(FindCoordinatorRequest, FindCoordinatorResponse, v, v >= 4 ? { keyType: 0, coordinatorKeys: [groupId] } : { key: groupId, keyType: 0 });
  const c = v >= 4 ? res.coordinators[0] : res;
  if (!c || c.errorCode !== ErrorCode.NONE) throw new BenchError(`FindCoordinator ${groupId}: ${c ? `${errorName(c.errorCode)} ${c.errorMessage ?? ''}` : 'no answer'}`);
  return { nodeId: c.nodeId, host: c.host, port: c.port };
}
