/**
 * Admin: topics (create, delete, list, describe, partitions), configs (describe, alter, incremental
 * alter), offsets and records (list offsets, delete records), groups (list, describe, offsets,
 * alter/reset offsets, lag, delete), log dirs, transactions and producers.
 *
 * Routing follows Kafka's AdminClient: topic changes go to the controller, broker configs to that
 * broker, partition requests to each partition's leader (one request per leader), group requests to
 * the group coordinator, DescribeTransactions to the transaction coordinator, and ListTransactions
 * and DescribeLogDirs to every broker. Requests that fail as a whole with a retriable error (connection lost, timeout, NOT_CONTROLLER)
 * are retried with backoff within the operation's timeout; per-resource Kafka errors are raised as
 * KafkaError naming the resource (one failure rejects the call, as KafkaJS does; the message says
 * which resources failed).
 */
import { KafkaError, errorName, ErrorCode } from '@fjord/protocol/core';
import { DescribeLogDirsRequest } from '@fjord/protocol/generated/describe-log-dirs.js';
import { ListOffsetsRequest } from '@fjord/protocol/generated/list-offsets.js';
import { OffsetCommitRequest } from '@fjord/protocol/generated/offset-commit.js';
import { OffsetFetchRequest } from '@fjord/protocol/generated/offset-fetch.js';
import { Cluster, CoordinatorType } from '../cluster.js';
import { intOption, resolveClientConfig, type ClientConfig } from '../config.js';
import type { Api, Connection } from '../connection/connection.js';
import type { TopicPartition } from '../consumer/consumer.js';
import { backoffMs } from '../connection/backoff.js';
import { ClosedError, ConfigError, TimeoutError, isRetriable, kafkaError } from '../errors.js';
import type { PartitionInfo } from '../metadata/metadata.js';
import { resetTarget, validateResetTo, type ResetTo } from './reset-offsets.js';
import { decodeAssignment, encodeAssignment, encodeSubscription } from '../consumer/group.js';
import { alterConfigsApi, consumerGroupDescribeApi, createPartitionsApi, createTopicsApi, deleteGroupsApi, deleteRecordsApi, deleteTopicsApi, describeConfigsApi, describeGroupsApi, describeLogDirsApi, describeProducersApi, describeTransactionsApi, incrementalAlterConfigsApi, listGroupsApi, listOffsetsApi, listTransactionsApi, offsetCommitApi, offsetDeleteApi, offsetFetchApi } from '../apis.js';

export interface AdminConfig extends ClientConfig {
  /** Default time limit of one admin operation, retries included (default.api.timeout.ms: 60000). */
  apiTimeoutMs?: number;
}

export interface NewTopic {
  name: string;
  /** Default: the broker's num.partitions. */
  numPartitions?: number;
  /** Default: the broker's default.replication.factor. */
  replicationFactor?: number;
  configs?: Record<string, string>;
}

export interface TopicDescription {
  name: string;
  topicId: string;
  isInternal: boolean;
  partitions: PartitionInfo[];
}

/** Kafka's ConfigResource types. */
export type ConfigResource = { type: 'topic'; name: string; keys?: string[] } | { type: 'broker'; name: string; keys?: string[] };

export interface GroupDescription {
  groupId: string;
  /** 'classic' (JoinGroup/SyncGroup) or 'consumer' (KIP-848, described with ConsumerGroupDescribe). */
  type: 'classic' | 'consumer';
  /** Kafka's state name: Stable, PreparingRebalance, CompletingRebalance, Empty, Dead. */
  state: string;
  protocolType: string;
  /** The assignor (consumer groups) chosen for the generation. */
  protocol: string;
  /** `assignment`: the partitions a member holds (decoded from a consumer group's assignment; [] for other protocol types). */
  members: GroupMemberDescription[];
}

export interface GroupMemberDescription {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  assignment: Array<{ topic: string; partition: number }>;
  /**
   * The member's protocol metadata and assignment as the group holds them (a classic group's
   * JoinGroup and SyncGroup bytes, whatever the protocol type). For a KIP-848 group, which has no
   * such bytes, Kafka's ConsumerProtocolSubscription and ConsumerProtocolAssignment (version 0) of
   * the member's subscribed topics and assignment.
   */
  metadataBytes: Buffer;
  assignmentBytes: Buffer;
}

export interface CommittedOffset {
  topic: string;
  partition: number;
  /** -1n when the group has no committed offset for the partition. */
  offset: bigint;
  leaderEpoch: number;
  metadata: string | null;
}

export interface ConfigEntry {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  isSensitive: boolean;
  /** Kafka's ConfigSource id (1 topic, 4 static broker, 5 default, ...). */
  source: number;
}

/** What ListOffsets looks up: the log start, the log end, the record with the highest timestamp (KIP-734), or the first offset at or after a time (ms). */
export type OffsetSpec = 'earliest' | 'latest' | 'max-timestamp' | { timestamp: number };

/** A new, higher partition count for a topic (createPartitions). */
export interface NewPartitions {
  topic: string;
  count: number;
}

/** A topic's or broker's whole set of dynamic configs (legacy AlterConfigs: keys not named revert to their defaults). */
export interface AlterConfigsResource {
  type: 'topic' | 'broker';
  /** Topic name, or broker id ('' for the cluster-wide broker default). */
  name: string;
  configs: Record<string, string>;
}

/** One IncrementalAlterConfigs operation (KIP-339); append/subtract apply to list configs. */
export interface ConfigOperation {
  name: string;
  op: 'set' | 'delete' | 'append' | 'subtract';
  /** Required except for 'delete'. */
  value?: string;
}

export interface IncrementalAlterConfigsResource {
  type: 'topic' | 'broker';
  name: string;
  ops: ConfigOperation[];
}

export interface ListOffsetsResult {
  topic: string;
  partition: number;
  /** -1n when nothing matches (a timestamp after every record). */
  offset: bigint;
  /** The record's timestamp for timestamp lookups, -1n otherwise. */
  timestamp: bigint;
  leaderEpoch: number;
}

/** resetGroupOffsets' target (kafka-consumer-groups.sh --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by). */
export type ResetOffsetsTo = ResetTo;

export interface ResetOffsetsResult {
  topic: string;
  partition: number;
  /** The committed offset before the reset, null when there was none. */
  previous: bigint | null;
  offset: bigint;
}

export interface PartitionLag {
  topic: string;
  partition: number;
  /** null when the group has no committed offset for the partition. */
  committed: bigint | null;
  logEndOffset: bigint;
  /** logEndOffset - committed, or null without a committed offset. */
  lag: bigint | null;
}

export interface DeleteRecordsResult {
  topic: string;
  partition: number;
  /** The partition's new log start offset. */
  lowWatermark: bigint;
}

export interface LogDirDescription {
  brokerId: number;
  path: string;
  /** Kafka's error name for the directory (e.g. KAFKA_STORAGE_ERROR), null when it is healthy. */
  error: string | null;
  /** -1n when the broker does not report it (DescribeLogDirs < v4). */
  totalBytes: bigint;
  usableBytes: bigint;
  partitions: Array<{ topic: string; partition: number; sizeBytes: bigint; offsetLag: bigint }>;
}

export interface TransactionListing {
  transactionalId: string;
  producerId: bigint;
  /** Kafka's state name: Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort, Dead, PrepareEpochFence. */
  state: string;
  /** The broker (transaction coordinator) that reported it. */
  brokerId: number;
}

export interface TransactionDescription {
  transactionalId: string;
  state: string;
  producerId: bigint;
  producerEpoch: number;
  timeoutMs: number;
  /** ms since the epoch; -1n when no transaction is open. */
  startTimestamp: bigint;
  /** The partitions of the open transaction. */
  partitions: TopicPartition[];
}

export interface ProducerState {
  producerId: bigint;
  producerEpoch: number;
  lastSequence: number;
  lastTimestamp: bigint;
  coordinatorEpoch: number;
  /** First offset of the producer's open transaction, -1n when none is open. */
  currentTxnStartOffset: bigint;
}

export interface PartitionProducers {
  topic: string;
  partition: number;
  producers: ProducerState[];
}

const configOps = { set: 0, delete: 1, append: 2, subtract: 3 } as const;
const isolationLevels = { read_uncommitted: 0, read_committed: 1 } as const;
/** ListOffsets' special timestamps. */
const offsetSpecTimestamps = { earliest: -2n, latest: -1n, 'max-timestamp': -3n } as const;
/** Codes with which a group refuses an OffsetCommit from outside the group (generation -1, no member id) while it has members. */
const activeGroupErrors: ReadonlySet<number> = new Set([ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.ILLEGAL_GENERATION, ErrorCode.REBALANCE_IN_PROGRESS, ErrorCode.FENCED_INSTANCE_ID, ErrorCode.STALE_MEMBER_EPOCH]);

/** A Kafka result of one item: `code` 0 with a value, or an error to raise naming `what`. */
interface ItemResult<R> {
  what: string;
  code: number;
  message: string | null;
  value?: R;
}

const resourceTypes = { topic: 2, broker: 4 } as const;

export class Admin {
  private readonly cluster: Cluster;
  private readonly apiTimeoutMs: number;
  private closed = false;

  constructor(config: AdminConfig) {
    // Admin metadata requests never create topics (as Kafka's AdminClient): describing a topic must not make it exist.
    const client = { ...resolveClientConfig(config), allowAutoTopicCreation: false };
    this.apiTimeoutMs = intOption(config, 'apiTimeoutMs', 60_000, 1, 2_147_483_647);
    this.cluster = new Cluster(client);
  }

  async connect(): Promise<void> {
    await this.run('connect', () => this.cluster.refresh());
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cluster.close();
  }

  /** Creates topics; resolves when the controller has created them all (TOPIC_ALREADY_EXISTS rejects unless ifNotExists). */
  async createTopics(topics: NewTopic[], options: { timeoutMs?: number; validateOnly?: boolean; ifNotExists?: boolean } = {}): Promise<void> {
    if (!Array.isArray(topics) || topics.length === 0) throw new ConfigError('topics', 'expected a non-empty list');
    for (const t of topics) {
      if (typeof t?.name !== 'string' || t.name === '') throw new ConfigError('topics[].name', 'expected a non-empty string');
      if (t.numPartitions !== undefined && (!Number.isInteger(t.numPartitions) || t.numPartitions < 1)) throw new ConfigError('topics[].numPartitions', `${t.name}: expected an integer >= 1, got ${String(t.numPartitions)}`);
      if (t.replicationFactor !== undefined && (!Number.isInteger(t.replicationFactor) || t.replicationFactor < 1)) throw new ConfigError('topics[].replicationFactor', `${t.name}: expected an integer >= 1, got ${String(t.replicationFactor)}`);
    }
    const timeoutMs = options.timeoutMs ?? this.apiTimeoutMs;
    const res = await this.run('CreateTopics', () => this.toController(createTopicsApi, {
      topics: topics.map((t) => ({
        name: t.name,
        numPartitions: t.numPartitions ?? -1,
        replicationFactor: t.replicationFactor ?? -1,
        assignments: [],
        configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
      })),
      timeoutMs,
      validateOnly: options.validateOnly ?? false,
    }), timeoutMs);
    this.raise(res.topics.filter((t) => !(options.ifNotExists && t.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS)).map((t) => ({ what: `topic ${JSON.stringify(t.name)}`, code: t.errorCode, message: t.errorMessage })));
    for (const t of topics) this.cluster.want(t.name);
  }

  async deleteTopics(names: string[], options: { timeoutMs?: number } = {}): Promise<void> {
    if (!Array.isArray(names) || names.length === 0 || names.some((n) => typeof n !== 'string' || n === '')) throw new ConfigError('names', 'expected a non-empty list of topic names');
    const timeoutMs = options.timeoutMs ?? this.apiTimeoutMs;
    const res = await this.run('DeleteTopics', () => this.toController(deleteTopicsApi, { topicNames: names, topics: names.map((name) => ({ name })), timeoutMs }), timeoutMs);
    this.raise(res.responses.map((t) => ({ what: `topic ${JSON.stringify(t.name)}`, code: t.errorCode, message: t.errorMessage })));
  }

  /** Names of all topics (internal ones only with includeInternal). */
  async listTopics(options: { includeInternal?: boolean } = {}): Promise<string[]> {
    const m = await this.run('Metadata', () => this.cluster.refresh(true));
    return [...m.topics.values()].filter((t) => options.includeInternal || !t.isInternal).map((t) => t.name).sort();
  }

  /** Partitions, leaders and replicas of the given topics; an unknown topic rejects with UNKNOWN_TOPIC_OR_PARTITION. */
  async describeTopics(names: string[]): Promise<TopicDescription[]> {
    for (const n of names) this.cluster.want(n);
    const m = await this.run('Metadata', () => this.cluster.refresh());
    this.raise(names.filter((n) => m.topicErrors.has(n)).map((n) => ({ what: `topic ${JSON.stringify(n)}`, code: m.topicErrors.get(n)!, message: null })));
    return names.map((n) => {
      const t = m.topics.get(n)!;
      return { name: t.name, topicId: t.topicId, isInternal: t.isInternal, partitions: t.partitions };
    });
  }

  /** Broker and cluster identity as the metadata reports them. */
  async describeCluster(): Promise<{ clusterId: string | null; controllerId: number; brokers: Array<{ nodeId: number; host: string; port: number; rack: string | null }> }> {
    const m = await this.run('Metadata', () => this.cluster.refresh());
    return { clusterId: m.clusterId, controllerId: m.controllerId, brokers: [...m.brokers.values()] };
  }

  async describeConfigs(resources: ConfigResource[]): Promise<Array<{ resource: ConfigResource; entries: ConfigEntry[] }>> {
    for (const r of resources) if (!(r?.type in resourceTypes) || typeof r.name !== 'string') throw new ConfigError('resources', `expected {type: 'topic'|'broker', name}, got ${JSON.stringify(r)}`);
    const res = await this.run('DescribeConfigs', () =>
      this.cluster.sendAny(describeConfigsApi, {
        resources: resources.map((r) => ({ resourceType: resourceTypes[r.type], resourceName: r.name, configurationKeys: r.keys ?? null })),
        includeSynonyms: false,
        includeDocumentation: false,
      }),
    );
    this.raise(res.results.map((r) => ({ what: `config resource ${r.resourceType}:${JSON.stringify(r.resourceName)}`, code: r.errorCode, message: r.errorMessage })));
    return res.results.map((r, i) => ({
      resource: resources[i]!,
      entries: r.configs.map((c) => ({ name: c.name, value: c.value, readOnly: c.readOnly, isDefault: c.isDefault || c.configSource === 5, isSensitive: c.isSensitive, source: c.configSource })),
    }));
  }

  /** Groups known to every broker (on one node: that node). */
  async listGroups(): Promise<Array<{ groupId: string; protocolType: string; state: string; type: string }>> {
    const m = await this.run('Metadata', () => this.cluster.current());
    const out: Array<{ groupId: string; protocolType: string; state: string; type: string }> = [];
    for (const nodeId of m.brokers.keys()) {
      const res = await this.run('ListGroups', () => this.cluster.send(nodeId, listGroupsApi, { statesFilter: [], typesFilter: [] }));
      this.raise([{ what: `ListGroups on broker ${nodeId}`, code: res.errorCode, message: null }]);
      for (const g of res.groups) out.push({ groupId: g.groupId, protocolType: g.protocolType, state: g.groupState, type: g.groupType });
    }
    return out.sort((a, b) => a.groupId.localeCompare(b.groupId));
  }

  /** Describes classic-protocol groups (through each group's coordinator). A group that does not exist is returned in state Dead, as Kafka does. */
  async describeGroups(groupIds: string[]): Promise<GroupDescription[]> {
    if (!Array.isArray(groupIds) || groupIds.some((g) => typeof g !== 'string' || g === '')) throw new ConfigError('groupIds', 'expected a list of non-empty group ids');
    const out: GroupDescription[] = [];
    for (const groupId of groupIds) {
      const d = await this.run('DescribeGroups', async (): Promise<GroupDescription> => {
        const node = await this.cluster.findCoordinator(CoordinatorType.group, groupId);
        const conn = await this.cluster.connectionTo(node);
        const r = await conn.send(describeGroupsApi, { groups: [groupId], includeAuthorizedOperations: false });
        const g = r.groups[0];
        if (!g) throw kafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `DescribeGroups returned no result for ${JSON.stringify(groupId)}`);
        const classicMissing = g.errorCode === ErrorCode.GROUP_ID_NOT_FOUND || (g.errorCode === 0 && g.groupState === 'Dead');
        // DescribeGroups knows classic groups only; a KIP-848 group is described by ConsumerGroupDescribe.
        if (classicMissing && conn.versionOf(consumerGroupDescribeApi.request.apiKey) >= 0) {
          const c = (await conn.send(consumerGroupDescribeApi, { groupIds: [groupId], includeAuthorizedOperations: false })).groups[0];
          if (c && c.errorCode === 0) {
            return {
              groupId,
              type: 'consumer',
              state: c.groupState,
              protocolType: 'consumer',
              protocol: c.assignorName,
              members: c.members.map((m) => ({
                memberId: m.memberId,
                groupInstanceId: m.instanceId,
                clientId: m.clientId,
                clientHost: m.clientHost,
                assignment: m.assignment.topicPartitions.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topicName, partition }))),
                metadataBytes: encodeSubscription({ topics: m.subscribedTopicNames, userData: null, ownedPartitions: [], generationId: -1, rackId: null }, 0),
                assignmentBytes: encodeAssignment({ assignedPartitions: m.assignment.topicPartitions.map((t) => ({ topic: t.topicName, partitions: t.partitions })), userData: null }, 0),
              })),
            };
          }
        }
        if (g.errorCode !== 0) throw kafkaError(g.errorCode, `group ${JSON.stringify(groupId)}`, g.errorMessage);
        return {
          groupId: g.groupId,
          type: 'classic',
          state: g.groupState,
          protocolType: g.protocolType,
          protocol: g.protocolData,
          members: g.members.map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            clientId: m.clientId,
            clientHost: m.clientHost,
            assignment: g.protocolType === 'consumer' ? assignmentOf(m.memberAssignment) : [],
            metadataBytes: m.memberMetadata,
            assignmentBytes: m.memberAssignment,
          })),
        };
      });
      out.push(d);
    }
    return out;
  }

  /** Committed offsets of a group (all its partitions, or those of `topics`). */
  async listGroupOffsets(groupId: string, options: { topics?: string[] } = {}): Promise<CommittedOffset[]> {
    if (typeof groupId !== 'string' || groupId === '') throw new ConfigError('groupId', 'expected a non-empty string');
    const topics = options.topics;
    let partitionsOf: Map<string, { topicId: string; partitions: number[] }> | undefined;
    if (topics) {
      partitionsOf = new Map();
      for (const d of await this.describeTopics(topics)) partitionsOf.set(d.name, { topicId: d.topicId, partitions: d.partitions.map((p) => p.partition) });
    }
    return this.run('OffsetFetch', async () => {
      const node = await this.cluster.findCoordinator(CoordinatorType.group, groupId);
      const conn = await this.cluster.connectionTo(node);
      const v = conn.versionOf(OffsetFetchRequest.apiKey);
      const list = partitionsOf ? [...partitionsOf].map(([name, t]) => ({ name, topicId: t.topicId, partitionIndexes: t.partitions })) : null;
      const out: CommittedOffset[] = [];
      const idToName = new Map([...(this.cluster.metadata?.topics.values() ?? [])].map((t) => [t.topicId, t.name]));
      if (v >= 8) {
        // v8+ (KIP-709) batches groups; v10 names topics by id.
        const r = await conn.send(offsetFetchApi, { groups: [{ groupId, memberId: null, memberEpoch: -1, topics: list }], requireStable: true });
        const g = r.groups[0];
        if (!g) throw kafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `OffsetFetch returned no result for group ${JSON.stringify(groupId)}`);
        if (g.errorCode !== 0) throw kafkaError(g.errorCode, `group ${JSON.stringify(groupId)}`);
        if (v >= 10 && g.topics.some((t) => !t.name && !idToName.has(t.topicId))) await this.cluster.refresh(true).then((m) => m.topics.forEach((t) => idToName.set(t.topicId, t.name)));
        for (const t of g.topics) for (const p of t.partitions) {
          const topic = t.name || idToName.get(t.topicId) || t.topicId;
          if (p.errorCode !== 0) throw kafkaError(p.errorCode, `group ${JSON.stringify(groupId)} ${topic}-${p.partitionIndex}`);
          out.push({ topic, partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata: p.metadata });
        }
      } else {
        const r = await conn.send(offsetFetchApi, { groupId, topics: list?.map((t) => ({ name: t.name, partitionIndexes: t.partitionIndexes })) ?? null, requireStable: v >= 7 });
        if (r.errorCode !== 0) throw kafkaError(r.errorCode, `group ${JSON.stringify(groupId)}`);
        for (const t of r.topics) for (const p of t.partitions) {
          if (p.errorCode !== 0) throw kafkaError(p.errorCode, `group ${JSON.stringify(groupId)} ${t.name}-${p.partitionIndex}`);
          out.push({ topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata: p.metadata });
        }
      }
      return out.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
    });
  }

  /** Raises the partition count of topics (never lowers it: INVALID_PARTITIONS). Sent to the controller. */
  async createPartitions(topics: NewPartitions[], options: { validateOnly?: boolean; timeoutMs?: number } = {}): Promise<void> {
    if (!Array.isArray(topics) || topics.length === 0) throw new ConfigError('topics', 'expected a non-empty list of { topic, count }');
    for (const t of topics) {
      checkName('topics[].topic', t?.topic);
      if (!Number.isInteger(t.count) || t.count < 1) throw new ConfigError('topics[].count', `${t.topic}: expected an integer >= 1, got ${String(t.count)}`);
    }
    const timeoutMs = options.timeoutMs ?? this.apiTimeoutMs;
    const res = await this.run('CreatePartitions', () => this.toController(createPartitionsApi, {
      topics: topics.map((t) => ({ name: t.topic, count: t.count, assignments: null })),
      timeoutMs,
      validateOnly: options.validateOnly ?? false,
    }), timeoutMs);
    this.raise(res.results.map((t) => ({ what: `topic ${JSON.stringify(t.name)}`, code: t.errorCode, message: t.errorMessage })));
    for (const t of topics) this.cluster.want(t.topic);
  }

  /**
   * Replaces the dynamic configs of each resource with `configs` (Kafka's legacy AlterConfigs: a key
   * not given goes back to its default). Topics go to the controller, a broker id to that broker.
   */
  async alterConfigs(resources: AlterConfigsResource[], options: { validateOnly?: boolean } = {}): Promise<void> {
    checkResources(resources);
    for (const r of resources) {
      if (typeof r.configs !== 'object' || r.configs === null || Object.entries(r.configs).some(([k, v]) => k === '' || typeof v !== 'string')) {
        throw new ConfigError('resources[].configs', `${r.type} ${JSON.stringify(r.name)}: expected an object of non-empty names to string values`);
      }
    }
    const results = await this.perConfigTarget('AlterConfigs', resources, async (node, rs) => {
      const body = { resources: rs.map((r) => ({ resourceType: resourceTypes[r.type], resourceName: r.name, configs: Object.entries(r.configs).map(([name, value]) => ({ name, value })) })), validateOnly: options.validateOnly ?? false };
      return (node === undefined ? await this.toController(alterConfigsApi, body) : await this.cluster.send(node, alterConfigsApi, body)).responses;
    });
    this.raise(results.map((r) => ({ what: `config resource ${r.resourceType}:${JSON.stringify(r.resourceName)}`, code: r.errorCode, message: r.errorMessage })));
  }

  /** Applies set/delete/append/subtract operations to configs (KIP-339); other configs are left as they are. */
  async incrementalAlterConfigs(resources: IncrementalAlterConfigsResource[], options: { validateOnly?: boolean } = {}): Promise<void> {
    checkResources(resources);
    for (const r of resources) {
      if (!Array.isArray(r.ops) || r.ops.length === 0) throw new ConfigError('resources[].ops', `${r.type} ${JSON.stringify(r.name)}: expected a non-empty list of operations`);
      for (const o of r.ops) {
        checkName('resources[].ops[].name', o?.name);
        if (!Object.hasOwn(configOps, o.op)) throw new ConfigError('resources[].ops[].op', `${o.name}: expected 'set', 'delete', 'append' or 'subtract', got ${String(o.op)}`);
        if (o.op !== 'delete' && typeof o.value !== 'string') throw new ConfigError('resources[].ops[].value', `${o.name}: ${o.op} needs a string value`);
      }
    }
    const results = await this.perConfigTarget('IncrementalAlterConfigs', resources, async (node, rs) => {
      const body = {
        resources: rs.map((r) => ({ resourceType: resourceTypes[r.type], resourceName: r.name, configs: r.ops.map((o) => ({ name: o.name, configOperation: configOps[o.op], value: o.op === 'delete' ? null : o.value! })) })),
        validateOnly: options.validateOnly ?? false,
      };
      return (node === undefined ? await this.toController(incrementalAlterConfigsApi, body) : await this.cluster.send(node, incrementalAlterConfigsApi, body)).responses;
    });
    this.raise(results.map((r) => ({ what: `config resource ${r.resourceType}:${JSON.stringify(r.resourceName)}`, code: r.errorCode, message: r.errorMessage })));
  }

  /** Offsets by spec (earliest, latest, max-timestamp, or the first at/after a timestamp), asked of each partition's leader. */
  async listOffsets(partitions: Array<TopicPartition & { spec: OffsetSpec }>, options: { isolationLevel?: 'read_uncommitted' | 'read_committed' } = {}): Promise<ListOffsetsResult[]> {
    checkPartitions('partitions', partitions);
    for (const p of partitions) {
      const s = p.spec;
      const ok = typeof s === 'string' ? Object.hasOwn(offsetSpecTimestamps, s) : typeof s === 'object' && s !== null && Number.isSafeInteger(s.timestamp) && s.timestamp >= 0;
      if (!ok) throw new ConfigError('partitions[].spec', `${p.topic}-${p.partition}: expected 'earliest', 'latest', 'max-timestamp' or { timestamp: ms >= 0 }, got ${JSON.stringify(s)}`);
    }
    const level = options.isolationLevel ?? 'read_uncommitted';
    if (!Object.hasOwn(isolationLevels, level)) throw new ConfigError('isolationLevel', `expected 'read_uncommitted' or 'read_committed', got ${String(level)}`);
    return this.perLeader('ListOffsets', partitions, async (conn, ps) => {
      const v = conn.versionOf(ListOffsetsRequest.apiKey);
      if (v < 7 && ps.some((p) => p.spec === 'max-timestamp')) throw kafkaError(ErrorCode.UNSUPPORTED_VERSION, `ListOffsets max-timestamp needs v7+, ${conn.address} speaks v${v}`);
      const res = await conn.send(listOffsetsApi, {
        replicaId: -1,
        isolationLevel: isolationLevels[level],
        topics: byTopic(ps).map(([name, tps]) => ({ name, partitions: tps.map((p) => ({ partitionIndex: p.partition, currentLeaderEpoch: -1, timestamp: typeof p.spec === 'string' ? offsetSpecTimestamps[p.spec] : BigInt(p.spec.timestamp), maxNumOffsets: 1 })) })),
      });
      return res.topics.flatMap((t) => t.partitions.map((p) => ({
        topic: t.name,
        partition: p.partitionIndex,
        code: p.errorCode,
        message: null,
        // v0 answers with a list of offsets (the first is the one asked for).
        value: { topic: t.name, partition: p.partitionIndex, offset: v === 0 ? (p.oldStyleOffsets[0] ?? -1n) : p.offset, timestamp: v === 0 ? -1n : p.timestamp, leaderEpoch: v >= 4 ? p.leaderEpoch : -1 },
      })));
    });
  }

  /** Deletes empty groups (NON_EMPTY_GROUP while members are in, GROUP_ID_NOT_FOUND for unknown ones). */
  async deleteGroups(groupIds: string[]): Promise<void> {
    if (!Array.isArray(groupIds) || groupIds.length === 0) throw new ConfigError('groupIds', 'expected a non-empty list of group ids');
    for (const g of groupIds) checkName('groupIds[]', g);
    await this.perCoordinator('DeleteGroups', CoordinatorType.group, [...new Set(groupIds)], async (node, ids) => {
      const res = await this.cluster.send(node, deleteGroupsApi, { groupsNames: ids });
      return res.results.map((r) => ({ key: r.groupId, what: `group ${JSON.stringify(r.groupId)}`, code: r.errorCode, message: r.errorMessage, value: undefined }));
    });
  }

  /** Removes a group's committed offsets for some partitions (KIP-496; refused with GROUP_SUBSCRIBED_TO_TOPIC while a member consumes the topic). */
  async deleteGroupOffsets(groupId: string, partitions: TopicPartition[]): Promise<void> {
    checkName('groupId', groupId);
    checkPartitions('partitions', partitions);
    const group = `group ${JSON.stringify(groupId)}`;
    const results = await this.run('OffsetDelete', async () => {
      const node = await this.cluster.findCoordinator(CoordinatorType.group, groupId);
      const res = await this.cluster.send(node, offsetDeleteApi, { groupId, topics: byTopic(partitions).map(([name, ps]) => ({ name, partitions: ps.map((p) => ({ partitionIndex: p.partition })) })) });
      if (res.errorCode !== 0) throw kafkaError(res.errorCode, group);
      return res.topics.flatMap((t) => t.partitions.map((p) => ({ what: `${group} ${t.name}-${p.partitionIndex}`, code: p.errorCode, message: null })));
    });
    this.raise(results);
  }

  /**
   * Commits offsets for a group from outside it (OffsetCommit with generation -1 and no member id,
   * as kafka-consumer-groups.sh does). Kafka accepts that only while the group has no members.
   */
  async alterGroupOffsets(groupId: string, offsets: Array<TopicPartition & { offset: bigint; metadata?: string | null }>): Promise<void> {
    checkName('groupId', groupId);
    checkPartitions('offsets', offsets);
    for (const o of offsets) {
      if (typeof o.offset !== 'bigint' || o.offset < 0n) throw new ConfigError('offsets[].offset', `${o.topic}-${o.partition}: expected a bigint >= 0n, got ${typeof o.offset === 'bigint' ? `${o.offset}n` : String(o.offset)}`);
      if (o.metadata !== undefined && o.metadata !== null && typeof o.metadata !== 'string') throw new ConfigError('offsets[].metadata', `${o.topic}-${o.partition}: expected a string or null`);
    }
    const topics = await this.topicInfo(offsets);
    const group = `group ${JSON.stringify(groupId)}`;
    const results = await this.run('OffsetCommit', async () => {
      const node = await this.cluster.findCoordinator(CoordinatorType.group, groupId);
      const conn = await this.cluster.connectionTo(node);
      // v10 names topics by id.
      const byId = conn.versionOf(OffsetCommitRequest.apiKey) >= 10;
      const res = await conn.send(offsetCommitApi, {
        groupId,
        generationIdOrMemberEpoch: -1,
        memberId: '',
        groupInstanceId: null,
        retentionTimeMs: -1n,
        topics: byTopic(offsets).map(([name, ps]) => ({
          name,
          topicId: topics.get(name)!.topicId,
          partitions: ps.map((p) => ({ partitionIndex: p.partition, committedOffset: p.offset, committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: p.metadata === undefined ? '' : p.metadata })),
        })),
      });
      const idToName = new Map([...topics.values()].map((t) => [t.topicId, t.name]));
      const out = res.topics.flatMap((t) => t.partitions.map((p) => ({ what: `${group} ${byId ? (idToName.get(t.topicId) ?? t.topicId) : t.name}-${p.partitionIndex}`, code: p.errorCode, message: null as string | null })));
      const retriable = out.find((r) => r.code !== 0 && new KafkaError(r.code).retriable);
      if (retriable) throw kafkaError(retriable.code, retriable.what);
      return out;
    });
    const active = results.find((r) => activeGroupErrors.has(r.code));
    if (active) throw kafkaError(active.code, `${group} must be empty (inactive, no running consumer) to alter its offsets`, 'it has active members');
    this.raise(results);
  }

  /**
   * Moves a group's committed offsets as kafka-consumer-groups.sh --reset-offsets does: to the
   * earliest or latest offset, an offset, the first offset at a time, or shifted from the committed
   * one (offsets and shifts clamped into the log). Returns what was and what is (or, with dryRun,
   * would be) committed; the group must be empty unless dryRun.
   */
  async resetGroupOffsets(groupId: string, options: { topics: Array<string | TopicPartition>; to: ResetOffsetsTo; dryRun?: boolean }): Promise<ResetOffsetsResult[]> {
    checkName('groupId', groupId);
    if (!Array.isArray(options?.topics) || options.topics.length === 0) throw new ConfigError('topics', 'expected a non-empty list of topic names or { topic, partition }');
    for (const t of options.topics) if (typeof t !== 'string') checkPartitions('topics', [t]);
    validateResetTo(options.to);
    const to = options.to;
    for (const t of options.topics) if (typeof t === 'string') checkName('topics[]', t);
    const partitions = await this.expandPartitions(options.topics);
    const committed = new Map<string, bigint>();
    for (const c of await this.listGroupOffsets(groupId, { topics: [...new Set(partitions.map((p) => p.topic))] })) if (c.offset >= 0n) committed.set(key(c), c.offset);
    const spec = (s: OffsetSpec) => partitions.map((p) => ({ ...p, spec: s }));
    const [earliest, latest, byTime] = await Promise.all([
      this.listOffsets(spec('earliest')),
      this.listOffsets(spec('latest')),
      typeof to === 'object' && 'timestamp' in to ? this.listOffsets(spec({ timestamp: to.timestamp })) : Promise.resolve([]),
    ]);
    const at = (list: ListOffsetsResult[]) => new Map(list.map((r) => [key(r), r.offset]));
    const [e, l, t] = [at(earliest), at(latest), at(byTime)];
    const out = partitions.map((p) => {
      const k = key(p);
      const previous = committed.get(k) ?? null;
      const marks = { earliest: e.get(k)!, latest: l.get(k)!, byTimestamp: t.get(k) ?? -1n };
      return { topic: p.topic, partition: p.partition, previous, offset: resetTarget(to, marks, previous, `${p.topic}-${p.partition}`) };
    });
    if (options.dryRun !== true) await this.alterGroupOffsets(groupId, out.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.offset })));
    return out;
  }

  /**
   * Lag of a group per partition: the log end offset minus the committed offset, for every partition
   * of the topics it has committed offsets for (or of `topics`). Partitions without a commit have lag null.
   */
  async groupLag(groupId: string, options: { topics?: string[] } = {}): Promise<PartitionLag[]> {
    checkName('groupId', groupId);
    if (options.topics !== undefined) {
      if (!Array.isArray(options.topics)) throw new ConfigError('topics', 'expected a list of topic names');
      for (const t of options.topics) checkName('topics[]', t);
    }
    const committedList = await this.listGroupOffsets(groupId, options.topics ? { topics: options.topics } : {});
    const topics = options.topics ?? [...new Set(committedList.map((c) => c.topic))];
    if (topics.length === 0) return [];
    const committed = new Map(committedList.filter((c) => c.offset >= 0n).map((c) => [key(c), c.offset]));
    const partitions = await this.expandPartitions(topics);
    const ends = await this.listOffsets(partitions.map((p) => ({ ...p, spec: 'latest' as const })));
    const end = new Map(ends.map((r) => [key(r), r.offset]));
    return partitions.map((p) => {
      const c = committed.get(key(p)) ?? null;
      const logEndOffset = end.get(key(p))!;
      return { topic: p.topic, partition: p.partition, committed: c, logEndOffset, lag: c === null ? null : logEndOffset - c };
    });
  }

  /** Deletes records below `beforeOffset` (-1n: the high watermark) on each partition's leader; returns the new low watermarks. */
  async deleteRecords(partitions: Array<TopicPartition & { beforeOffset: bigint }>, options: { timeoutMs?: number } = {}): Promise<DeleteRecordsResult[]> {
    checkPartitions('partitions', partitions);
    for (const p of partitions) {
      if (typeof p.beforeOffset !== 'bigint' || p.beforeOffset < -1n) throw new ConfigError('partitions[].beforeOffset', `${p.topic}-${p.partition}: expected a bigint >= 0n (or -1n for the high watermark), got ${typeof p.beforeOffset === 'bigint' ? `${p.beforeOffset}n` : String(p.beforeOffset)}`);
    }
    const timeoutMs = options.timeoutMs ?? this.apiTimeoutMs;
    return this.perLeader('DeleteRecords', partitions, async (conn, ps) => {
      const res = await conn.send(deleteRecordsApi, { topics: byTopic(ps).map(([name, tps]) => ({ name, partitions: tps.map((p) => ({ partitionIndex: p.partition, offset: p.beforeOffset })) })), timeoutMs });
      return res.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, code: p.errorCode, message: null, value: { topic: t.name, partition: p.partitionIndex, lowWatermark: p.lowWatermark } })));
    }, timeoutMs);
  }

  /** Log directories of every broker (or of `brokerIds`) with the size of each partition they hold. */
  async describeLogDirs(brokerIds?: number[]): Promise<LogDirDescription[]> {
    if (brokerIds !== undefined && (!Array.isArray(brokerIds) || brokerIds.some((b) => !Number.isInteger(b) || b < 0))) throw new ConfigError('brokerIds', 'expected a list of broker ids (integers >= 0)');
    const out: LogDirDescription[] = [];
    for (const brokerId of await this.brokerIds(brokerIds)) {
      const res = await this.run('DescribeLogDirs', async () => {
        const conn = await this.cluster.connectionTo(brokerId);
        const v = conn.versionOf(DescribeLogDirsRequest.apiKey);
        const r = await conn.send(describeLogDirsApi, { topics: null });
        if (v >= 3 && r.errorCode !== 0) throw kafkaError(r.errorCode, `DescribeLogDirs on broker ${brokerId}`);
        return { r, v };
      });
      for (const d of res.r.results) {
        out.push({
          brokerId,
          path: d.logDir,
          error: d.errorCode === 0 ? null : errorName(d.errorCode),
          totalBytes: res.v >= 4 ? d.totalBytes : -1n,
          usableBytes: res.v >= 4 ? d.usableBytes : -1n,
          partitions: d.topics
            .flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, sizeBytes: p.partitionSize, offsetLag: p.offsetLag })))
            .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition),
        });
      }
    }
    return out;
  }

  /** Transactional ids known to every broker's transaction coordinator, optionally filtered by state and producer id (KIP-664). */
  async listTransactions(options: { states?: string[]; producerIds?: bigint[] } = {}): Promise<TransactionListing[]> {
    if (options.states !== undefined && (!Array.isArray(options.states) || options.states.some((s) => typeof s !== 'string' || s === ''))) throw new ConfigError('states', 'expected a list of state names');
    if (options.producerIds !== undefined && (!Array.isArray(options.producerIds) || options.producerIds.some((p) => typeof p !== 'bigint' || p < 0n))) throw new ConfigError('producerIds', 'expected a list of producer ids (bigint >= 0n)');
    const out: TransactionListing[] = [];
    for (const brokerId of await this.brokerIds()) {
      const res = await this.run('ListTransactions', async () => {
        const r = await this.cluster.send(brokerId, listTransactionsApi, { stateFilters: options.states ?? [], producerIdFilters: options.producerIds ?? [], durationFilter: -1n, transactionalIdPattern: null });
        if (r.errorCode !== 0) throw kafkaError(r.errorCode, `ListTransactions on broker ${brokerId}`);
        return r;
      });
      for (const t of res.transactionStates) out.push({ transactionalId: t.transactionalId, producerId: t.producerId, state: t.transactionState, brokerId });
    }
    return out.sort((a, b) => a.transactionalId.localeCompare(b.transactionalId));
  }

  /** State of transactional ids, asked of each one's transaction coordinator (TRANSACTIONAL_ID_NOT_FOUND for an unknown id). */
  async describeTransactions(transactionalIds: string[]): Promise<TransactionDescription[]> {
    if (!Array.isArray(transactionalIds) || transactionalIds.length === 0) throw new ConfigError('transactionalIds', 'expected a non-empty list of transactional ids');
    for (const id of transactionalIds) checkName('transactionalIds[]', id);
    const found = await this.perCoordinator('DescribeTransactions', CoordinatorType.transaction, [...new Set(transactionalIds)], async (node, ids) => {
      const res = await this.cluster.send(node, describeTransactionsApi, { transactionalIds: ids });
      return res.transactionStates.map((s) => ({
        key: s.transactionalId,
        what: `transactional id ${JSON.stringify(s.transactionalId)}`,
        code: s.errorCode,
        message: null,
        value: {
          transactionalId: s.transactionalId,
          state: s.transactionState,
          producerId: s.producerId,
          producerEpoch: s.producerEpoch,
          timeoutMs: s.transactionTimeoutMs,
          startTimestamp: s.transactionStartTimeMs,
          partitions: s.topics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition }))).sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition),
        },
      }));
    });
    return transactionalIds.map((id) => found.get(id)!);
  }

  /** Producers each partition's leader remembers (id, epoch, last sequence, open transaction). */
  async describeProducers(partitions: TopicPartition[]): Promise<PartitionProducers[]> {
    checkPartitions('partitions', partitions);
    return this.perLeader('DescribeProducers', partitions, async (conn, ps) => {
      const res = await conn.send(describeProducersApi, { topics: byTopic(ps).map(([name, tps]) => ({ name, partitionIndexes: tps.map((p) => p.partition) })) });
      return res.topics.flatMap((t) => t.partitions.map((p) => ({
        topic: t.name,
        partition: p.partitionIndex,
        code: p.errorCode,
        message: p.errorMessage,
        value: {
          topic: t.name,
          partition: p.partitionIndex,
          producers: p.activeProducers.map((s) => ({ producerId: s.producerId, producerEpoch: s.producerEpoch, lastSequence: s.lastSequence, lastTimestamp: s.lastTimestamp, coordinatorEpoch: s.coordinatorEpoch, currentTxnStartOffset: s.currentTxnStartOffset })),
        },
      })));
    });
  }

  /** Metadata of the topics of `partitions`; an unknown topic or partition number raises UNKNOWN_TOPIC_OR_PARTITION (not retried). */
  private async topicInfo(partitions: readonly TopicPartition[]): Promise<Map<string, TopicDescription>> {
    const names = [...new Set(partitions.map((p) => p.topic))];
    const out = new Map((await this.describeTopics(names)).map((d) => [d.name, d]));
    this.raise(partitions.filter((p) => p.partition >= out.get(p.topic)!.partitions.length).map((p) => ({ what: `partition ${p.topic}-${p.partition}`, code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: null })));
    return out;
  }

  /** Topic names become all their partitions; explicit partitions are checked to exist. Sorted, without duplicates. */
  private async expandPartitions(topics: Array<string | TopicPartition>): Promise<TopicPartition[]> {
    const named = topics.filter((t): t is string => typeof t === 'string');
    const explicit = topics.filter((t): t is TopicPartition => typeof t !== 'string');
    const info = await this.topicInfo([...named.map((topic) => ({ topic, partition: 0 })), ...explicit]);
    const all = [...named.flatMap((n) => info.get(n)!.partitions.map((p) => ({ topic: n, partition: p.partition }))), ...explicit.map((p) => ({ topic: p.topic, partition: p.partition }))];
    const seen = new Map(all.map((p) => [key(p), p]));
    return [...seen.values()].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  /**
   * One request per partition leader (all in parallel), results in the order of `items`. A
   * retriable partition error (a moved leader) retries the whole operation after a metadata
   * refresh; other partition errors are raised naming the partition.
   */
  private async perLeader<T extends TopicPartition, R>(what: string, items: T[], send: (conn: Connection, items: T[]) => Promise<Array<TopicPartition & Omit<ItemResult<R>, 'what'>>>, timeoutMs = this.apiTimeoutMs): Promise<R[]> {
    await this.topicInfo(items);
    let attempt = 0;
    const results = await this.run(what, async () => {
      const m = attempt++ === 0 ? await this.cluster.current() : await this.cluster.refresh();
      const groups = new Map<number, T[]>();
      for (const it of items) {
        const leader = m.topics.get(it.topic)?.partitions[it.partition]?.leader ?? -1;
        if (leader < 0) throw kafkaError(ErrorCode.LEADER_NOT_AVAILABLE, `partition ${it.topic}-${it.partition}`);
        groups.set(leader, [...(groups.get(leader) ?? []), it]);
      }
      const answers = (await Promise.all([...groups].map(async ([node, its]) => send(await this.cluster.connectionTo(node), its)))).flat();
      const retry = answers.find((a) => a.code !== 0 && new KafkaError(a.code).retriable);
      if (retry) throw kafkaError(retry.code, `${what} ${retry.topic}-${retry.partition}`, retry.message);
      return answers;
    }, timeoutMs);
    this.raise(results.map((r) => ({ what: `partition ${r.topic}-${r.partition}`, code: r.code, message: r.message })));
    const byKey = new Map(results.map((r) => [key(r), r.value as R]));
    return items.map((it) => {
      const r = byKey.get(key(it));
      if (r === undefined) throw kafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `${what} returned no result for ${it.topic}-${it.partition}`);
      return r;
    });
  }

  /**
   * Keys (group or transactional ids) sent to their coordinators, one request per coordinator.
   * Keys answered with a retriable error (NOT_COORDINATOR, loading) are looked up and sent again
   * within the operation's timeout; the rest are done. Other errors are raised naming the key.
   */
  private async perCoordinator<R>(what: string, keyType: number, keys: string[], send: (node: number, keys: string[]) => Promise<Array<{ key: string } & ItemResult<R>>>): Promise<Map<string, R>> {
    const pending = new Set(keys);
    const done = new Map<string, R>();
    const failed: Array<ItemResult<R>> = [];
    await this.run(what, async () => {
      const byNode = new Map<number, string[]>();
      for (const k of pending) {
        const node = await this.cluster.findCoordinator(keyType, k);
        byNode.set(node, [...(byNode.get(node) ?? []), k]);
      }
      let retry: ItemResult<R> | undefined;
      for (const [node, ks] of byNode) {
        for (const r of await send(node, ks)) {
          if (!pending.has(r.key)) continue;
          if (r.code !== 0 && new KafkaError(r.code).retriable) retry = r;
          else {
            pending.delete(r.key);
            if (r.code === 0) done.set(r.key, r.value as R);
            else failed.push(r);
          }
        }
      }
      if (pending.size > 0) throw kafkaError(retry?.code ?? ErrorCode.UNKNOWN_SERVER_ERROR, `${what}: ${retry?.what ?? `no answer for ${[...pending].join(', ')}`}`, retry?.message);
    });
    this.raise(failed);
    return done;
  }

  /**
   * Config resources split by destination: topics and the cluster-wide broker default ('') to the
   * controller (node undefined), a broker id to that broker; results concatenated.
   */
  private async perConfigTarget<T extends { type: 'topic' | 'broker'; name: string }, R>(what: string, resources: T[], send: (node: number | undefined, rs: T[]) => Promise<R[]>): Promise<R[]> {
    const brokers = resources.filter((r) => r.type === 'broker' && r.name !== '').map((r) => Number(r.name));
    if (brokers.length > 0) await this.brokerIds([...new Set(brokers)]);
    const groups = new Map<number | undefined, T[]>();
    for (const r of resources) {
      const node = r.type === 'broker' && r.name !== '' ? Number(r.name) : undefined;
      groups.set(node, [...(groups.get(node) ?? []), r]);
    }
    const out: R[] = [];
    for (const [node, rs] of groups) out.push(...(await this.run(what, () => send(node, rs))));
    return out;
  }

  /** The given broker ids (each must be in the cluster), or every broker. */
  private async brokerIds(ids?: number[]): Promise<number[]> {
    const m = await this.run('Metadata', () => this.cluster.current());
    if (ids === undefined) return [...m.brokers.keys()].sort((a, b) => a - b);
    const unknown = ids.filter((id) => !m.brokers.has(id));
    if (unknown.length > 0) throw new ConfigError('brokerIds', `no broker ${unknown.join(', ')} in the cluster (brokers: ${[...m.brokers.keys()].join(', ')})`);
    return ids;
  }

  private async toController<Req, Res>(api: Api<Req, Res>, body: Parameters<Cluster['sendAny']>[1]): Promise<Res> {
    const m = await this.cluster.current();
    if (m.controllerId >= 0 && m.brokers.has(m.controllerId)) return this.cluster.send(m.controllerId, api, body as never);
    return this.cluster.sendAny(api, body as never);
  }

  private raise(results: Array<{ what: string; code: number; message: string | null }>): void {
    const failed = results.filter((r) => r.code !== ErrorCode.NONE);
    if (failed.length === 0) return;
    const first = failed[0]!;
    const others = failed.length > 1 ? ` (and ${failed.length - 1} more: ${failed.slice(1).map((f) => f.what).join(', ')})` : '';
    throw kafkaError(first.code, `${first.what}${others}`, first.message);
  }

  /** Runs `op`, retrying retriable failures with backoff until `timeoutMs` has passed. */
  private async run<T>(what: string, op: () => Promise<T>, timeoutMs = this.apiTimeoutMs): Promise<T> {
    if (this.closed) throw new ClosedError('admin');
    const c = this.cluster.config;
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await withDeadline(op(), deadline, what, timeoutMs);
      } catch (e) {
        if (!isRetriable(e) || this.closed || Date.now() >= deadline) {
          if (isRetriable(e) && !(e instanceof TimeoutError)) throw new TimeoutError(`${what} (retried ${attempt} times)`, timeoutMs, { cause: e });
          throw e;
        }
        c.logger({ level: 'debug', message: 'admin retry', fields: { what, attempt, error: (e as Error).message } });
        if ((e as { code?: number }).code === ErrorCode.NOT_CONTROLLER) await this.cluster.refresh().catch(() => {});
        await this.cluster.sleep(Math.min(Math.max(0, deadline - Date.now()), backoffMs(attempt, { initialMs: c.retryBackoffMs, maxMs: c.retryBackoffMaxMs, jitterRatio: c.backoffJitterRatio, random: c.random })));
      }
    }
  }
}

function withDeadline<T>(p: Promise<T>, deadline: number, what: string, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, timeoutMs)), Math.max(0, deadline - Date.now()));
  });
  p.catch(() => {}); // the race's loser must not become an unhandled rejection
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function key(p: TopicPartition): string {
  return `${p.topic}\u0000${p.partition}`;
}

/** Items grouped by topic, in first-seen order. */
function byTopic<T extends TopicPartition>(items: readonly T[]): Array<[string, T[]]> {
  const m = new Map<string, T[]>();
  for (const it of items) m.set(it.topic, [...(m.get(it.topic) ?? []), it]);
  return [...m];
}

function checkName(option: string, v: unknown): asserts v is string {
  if (typeof v !== 'string' || v === '') throw new ConfigError(option, `expected a non-empty string, got ${JSON.stringify(v)}`);
}

function checkPartitions(option: string, ps: unknown): asserts ps is TopicPartition[] {
  if (!Array.isArray(ps) || ps.length === 0) throw new ConfigError(option, 'expected a non-empty list of { topic, partition }');
  for (const p of ps as Array<Partial<TopicPartition> | null>) {
    checkName(`${option}[].topic`, p?.topic);
    if (!Number.isInteger(p!.partition) || p!.partition! < 0) throw new ConfigError(`${option}[].partition`, `${p!.topic}: expected an integer >= 0, got ${String(p!.partition)}`);
  }
  const seen = new Set<string>();
  for (const p of ps as TopicPartition[]) {
    if (seen.has(key(p))) throw new ConfigError(option, `${p.topic}-${p.partition} is listed twice`);
    seen.add(key(p));
  }
}

function checkResources(resources: unknown): void {
  if (!Array.isArray(resources) || resources.length === 0) throw new ConfigError('resources', 'expected a non-empty list of resources');
  for (const r of resources as Array<{ type?: unknown; name?: unknown } | null>) {
    if (r === null || typeof r !== 'object' || !(r.type === 'topic' || r.type === 'broker')) throw new ConfigError('resources[].type', `expected 'topic' or 'broker', got ${JSON.stringify(r?.type)}`);
    if (r.type === 'topic') checkName('resources[].name', r.name);
    else if (typeof r.name !== 'string' || !(r.name === '' || /^\d+$/.test(r.name))) throw new ConfigError('resources[].name', `a broker resource is a broker id or '' (the cluster default), got ${JSON.stringify(r.name)}`);
  }
}

/** A classic consumer group member's partitions (ConsumerProtocolAssignment); [] when empty or not decodable. */
function assignmentOf(bytes: Buffer): Array<{ topic: string; partition: number }> {
  try {
    return decodeAssignment(bytes);
  } catch {
    return [];
  }
}
