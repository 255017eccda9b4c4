/**
 * KafkaJS's admin over @fjord/client's Admin. Results take KafkaJS's shapes: offsets as strings,
 * topic metadata as { name, partitions: [{ partitionId, leader, replicas, isr, ... }] }, config
 * entries with configName / configValue. Errors are KafkaJS errors (KafkaJSProtocolError with
 * Kafka's error name as `type`).
 */
import { Admin as FjordAdmin, type GroupDescription as FjordGroupDescription } from '../admin/admin.js';
import { ConfigError, ErrorCode, KafkaError } from '../errors.js';
import { KafkaJSAggregateError, KafkaJSCreateTopicError, KafkaJSDeleteGroupsError, KafkaJSDeleteTopicRecordsError, KafkaJSNonRetriableError, KafkaJSProtocolError, kafkajsErrors, type DeleteTopicRecordsPartitionError } from './errors.js';
import { Instrumentation, type InstrumentationEvent, type RemoveInstrumentationEventListener } from './events.js';
import { resolveRetry, retryBudgetMs, type KafkaContext, type ResolvedRetry, type RetryOptions } from './kafka.js';
import type { Logger } from './logger.js';
import { toPartitionMetadata, type PartitionMetadata } from './partitioners.js';
import type { ConsumerGroupState } from './types.js';

export interface AdminConfig {
  retry?: RetryOptions;
}

export const ConfigResourceTypes = { UNKNOWN: 0, TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 } as const;
export type ConfigResourceTypes = (typeof ConfigResourceTypes)[keyof typeof ConfigResourceTypes];

// Kafka's ACL codes by KafkaJS's names. This client has no ACL calls yet (the broker has no
// security yet); the enums exist so that code naming them imports and compiles.
export const AclResourceTypes = { UNKNOWN: 0, ANY: 1, TOPIC: 2, GROUP: 3, CLUSTER: 4, TRANSACTIONAL_ID: 5, DELEGATION_TOKEN: 6 } as const;
export type AclResourceTypes = (typeof AclResourceTypes)[keyof typeof AclResourceTypes];
export const AclOperationTypes = {
  UNKNOWN: 0,
  ANY: 1,
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
} as const;
export type AclOperationTypes = (typeof AclOperationTypes)[keyof typeof AclOperationTypes];
export const AclPermissionTypes = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const;
export type AclPermissionTypes = (typeof AclPermissionTypes)[keyof typeof AclPermissionTypes];
export const ResourcePatternTypes = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const;
export type ResourcePatternTypes = (typeof ResourcePatternTypes)[keyof typeof ResourcePatternTypes];

export const ConfigSource = {
  UNKNOWN: 0,
  TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
  DYNAMIC_BROKER_LOGGER_CONFIG: 6,
} as const;
export type ConfigSource = (typeof ConfigSource)[keyof typeof ConfigSource];

export interface ITopicConfig {
  topic: string;
  numPartitions?: number;
  replicationFactor?: number;
  replicaAssignment?: unknown[];
  configEntries?: Array<{ name: string; value: string }>;
}

export interface ITopicMetadata {
  name: string;
  partitions: PartitionMetadata[];
}

export interface SeekEntry {
  partition: number;
  offset: string;
}

export interface MemberDescription {
  clientHost: string;
  clientId: string;
  memberId: string;
  memberAssignment: Buffer;
  memberMetadata: Buffer;
}

export interface GroupDescription {
  groupId: string;
  members: MemberDescription[];
  protocol: string;
  protocolType: string;
  /** Kafka's state name (a KIP-848 group described here can also be Assigning or Reconciling). */
  state: ConsumerGroupState;
}

export interface ConfigEntries {
  configName: string;
  configValue: string;
  isDefault: boolean;
  configSource: number;
  isSensitive: boolean;
  readOnly: boolean;
  configSynonyms: Array<{ configName: string; configValue: string; configSource: number }>;
}

export interface DescribeConfigResponse {
  resources: Array<{ configEntries: ConfigEntries[]; errorCode: number; errorMessage: string | null; resourceName: string; resourceType: number }>;
  throttleTime: number;
}

export const adminEvents = {
  CONNECT: 'admin.connect',
  DISCONNECT: 'admin.disconnect',
  REQUEST: 'admin.network.request',
  REQUEST_TIMEOUT: 'admin.network.request_timeout',
  REQUEST_QUEUE_SIZE: 'admin.network.request_queue_size',
} as const;

export type AdminEvents = typeof adminEvents;

/** @fjord/client's group description in KafkaJS's shape (assignments and metadata are not reported: empty buffers). */
export function toGroupDescription(g: FjordGroupDescription): GroupDescription {
  return {
    groupId: g.groupId,
    members: g.members.map((m) => ({ clientHost: m.clientHost, clientId: m.clientId, memberId: m.memberId, memberAssignment: m.assignmentBytes, memberMetadata: m.metadataBytes })),
    protocol: g.protocol,
    protocolType: g.protocolType,
    state: g.state as ConsumerGroupState,
  };
}

function resourceType(type: number, option: string): 'topic' | 'broker' {
  if (type === ConfigResourceTypes.TOPIC) return 'topic';
  if (type === ConfigResourceTypes.BROKER) return 'broker';
  throw new KafkaJSNonRetriableError(`${option}: resource type ${type} is not supported (TOPIC or BROKER)`);
}

function offsetOf(s: string | number | bigint, what: string): bigint {
  try {
    return BigInt(s);
  } catch {
    throw new KafkaJSNonRetriableError(`Invalid offset ${JSON.stringify(s)} for ${what}`);
  }
}

export class KafkaJSAdmin {
  readonly events = adminEvents;
  private readonly instrumentation: Instrumentation<typeof adminEvents>;
  private readonly log: Logger;
  private readonly apiTimeoutMs: number;
  private readonly retry: ResolvedRetry;
  private admin: FjordAdmin | undefined;

  constructor(
    private readonly context: KafkaContext,
    config: AdminConfig,
  ) {
    if (typeof config !== 'object' || config === null) throw new ConfigError('admin', 'expected an object');
    this.log = context.rootLogger.namespace('Admin');
    this.instrumentation = new Instrumentation(adminEvents, this.log);
    this.retry = resolveRetry(config.retry, context.retry);
    this.apiTimeoutMs = retryBudgetMs(this.retry) + context.requestTimeout;
  }

  logger(): Logger {
    return this.log;
  }

  on(eventName: string, listener: (event: InstrumentationEvent<any>) => unknown): RemoveInstrumentationEventListener {
    return this.instrumentation.on(eventName, listener);
  }

  async connect(): Promise<void> {
    if (this.admin) return;
    await kafkajsErrors(async () => {
      const base = await this.context.clientConfig('Admin', this.retry);
      await this.context.probe(base, this.retry);
      this.admin = new FjordAdmin({ ...base, apiTimeoutMs: this.apiTimeoutMs });
    });
    this.instrumentation.emit(adminEvents.CONNECT, null);
  }

  async disconnect(): Promise<void> {
    const a = this.admin;
    if (!a) return;
    this.admin = undefined;
    await a.close().catch(() => {});
    this.instrumentation.emit(adminEvents.DISCONNECT, null);
  }

  private async use<T>(f: (a: FjordAdmin) => Promise<T>): Promise<T> {
    if (!this.admin) await this.connect();
    return kafkajsErrors(() => f(this.admin!));
  }

  async listTopics(): Promise<string[]> {
    return this.use((a) => a.listTopics({ includeInternal: true }));
  }

  /** True when every topic was created; false when one already existed (the others are created). */
  async createTopics(options: { topics: ITopicConfig[]; validateOnly?: boolean; waitForLeaders?: boolean; timeout?: number }): Promise<boolean> {
    const topics = options?.topics;
    if (!Array.isArray(topics) || topics.length === 0) throw new KafkaJSNonRetriableError(`Invalid topics array ${String(topics)}`);
    for (const t of topics) {
      if (typeof t?.topic !== 'string' || t.topic === '') throw new KafkaJSNonRetriableError(`Invalid topics array, the topic names have to be a valid string`);
      if (t.replicaAssignment !== undefined && t.replicaAssignment.length > 0) throw new KafkaJSNonRetriableError('replicaAssignment is not supported by @fjord/client/kafkajs yet');
    }
    if (new Set(topics.map((t) => t.topic)).size !== topics.length) throw new KafkaJSNonRetriableError('Invalid topics array, it cannot have multiple entries for the same topic');
    return this.use(async (a) => {
      const existing = new Set(await a.listTopics({ includeInternal: true }));
      const fresh = topics.filter((t) => !existing.has(t.topic));
      let raced = false;
      if (fresh.length > 0) {
        // One CreateTopics per topic (the broker treats a request's topics independently anyway),
        // so that each refusal is known by topic: KafkaJS rejects with a KafkaJSAggregateError of
        // one KafkaJSCreateTopicError per refused topic.
        const results = await Promise.allSettled(
          fresh.map((t) =>
            a.createTopics(
              [
                {
                  name: t.topic,
                  ...(t.numPartitions !== undefined && t.numPartitions !== -1 ? { numPartitions: t.numPartitions } : {}),
                  ...(t.replicationFactor !== undefined && t.replicationFactor !== -1 ? { replicationFactor: t.replicationFactor } : {}),
                  ...(t.configEntries ? { configs: Object.fromEntries(t.configEntries.map((e) => [e.name, e.value])) } : {}),
                },
              ],
              { validateOnly: options.validateOnly === true, timeoutMs: options.timeout ?? 5000 },
            ),
          ),
        );
        const refused: KafkaJSCreateTopicError[] = [];
        for (const [i, r] of results.entries()) {
          if (r.status === 'fulfilled') continue;
          const e: unknown = r.reason;
          // Created meanwhile by someone else: KafkaJS answers false.
          if (e instanceof KafkaError && e.code === ErrorCode.TOPIC_ALREADY_EXISTS) raced = true;
          else if (e instanceof KafkaError) refused.push(new KafkaJSCreateTopicError(e, fresh[i]!.topic));
          // KafkaJS sends any count and the broker refuses it; this client's Admin checks first.
          else if (e instanceof ConfigError && e.option === 'topics[].numPartitions') refused.push(new KafkaJSCreateTopicError(new KafkaError(ErrorCode.INVALID_PARTITIONS, e.message), fresh[i]!.topic));
          else if (e instanceof ConfigError && e.option === 'topics[].replicationFactor') refused.push(new KafkaJSCreateTopicError(new KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR, e.message), fresh[i]!.topic));
          else throw e;
        }
        if (refused.length > 0) throw new KafkaJSAggregateError('Topic creation errors', refused);
        if (options.validateOnly !== true && options.waitForLeaders !== false) await this.waitForLeaders(a, fresh.map((t) => t.topic));
      }
      return fresh.length === topics.length && !raced;
    });
  }

  private async waitForLeaders(a: FjordAdmin, names: string[]): Promise<void> {
    const deadline = Date.now() + this.apiTimeoutMs;
    for (;;) {
      const described = await a.describeTopics(names).catch(() => []);
      if (described.length === names.length && described.every((d) => d.partitions.length > 0 && d.partitions.every((p) => p.leader >= 0))) return;
      if (Date.now() > deadline) throw new KafkaError(ErrorCode.LEADER_NOT_AVAILABLE, `topics ${names.join(', ')} have no leader after ${this.apiTimeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async deleteTopics(options: { topics: string[]; timeout?: number }): Promise<void> {
    const topics = options?.topics;
    if (!Array.isArray(topics) || topics.some((t) => typeof t !== 'string')) throw new KafkaJSNonRetriableError(`Invalid topics array ${String(topics)}`);
    await this.use((a) => a.deleteTopics(topics, { timeoutMs: options.timeout ?? 5000 }));
  }

  async createPartitions(options: { topicPartitions: Array<{ topic: string; count: number; assignments?: number[][] }>; validateOnly?: boolean; timeout?: number }): Promise<boolean> {
    const list = options?.topicPartitions;
    if (!Array.isArray(list) || list.length === 0) throw new KafkaJSNonRetriableError(`Invalid topic partitions array ${String(list)}`);
    if (list.some((t) => t.assignments !== undefined && t.assignments.length > 0)) throw new KafkaJSNonRetriableError('assignments in createPartitions are not supported by @fjord/client/kafkajs yet');
    await this.use((a) => a.createPartitions(list.map((t) => ({ topic: t.topic, count: t.count })), { validateOnly: options.validateOnly === true, timeoutMs: options.timeout ?? 5000 }));
    return true;
  }

  async fetchTopicMetadata(options: { topics?: string[] } = {}): Promise<{ topics: ITopicMetadata[] }> {
    return this.use(async (a) => {
      const names = options?.topics && options.topics.length > 0 ? options.topics : await a.listTopics({ includeInternal: true });
      const described = await a.describeTopics(names);
      return {
        topics: described.map((d) => ({
          name: d.name,
          partitions: d.partitions.map(toPartitionMetadata),
        })),
      };
    });
  }

  private async partitionsOf(a: FjordAdmin, topic: string): Promise<number[]> {
    const [d] = await a.describeTopics([topic]);
    return (d?.partitions ?? []).map((p) => p.partition);
  }

  /** Per partition: `low` (log start), `high` and `offset` (the last stable offset, as KafkaJS reads it read_committed). */
  async fetchTopicOffsets(topic: string): Promise<Array<SeekEntry & { high: string; low: string }>> {
    if (typeof topic !== 'string' || topic === '') throw new KafkaJSNonRetriableError(`Invalid topic ${String(topic)}`);
    return this.use(async (a) => {
      const ps = await this.partitionsOf(a, topic);
      const [low, high] = await Promise.all([
        a.listOffsets(ps.map((partition) => ({ topic, partition, spec: 'earliest' as const })), { isolationLevel: 'read_committed' }),
        a.listOffsets(ps.map((partition) => ({ topic, partition, spec: 'latest' as const })), { isolationLevel: 'read_committed' }),
      ]);
      const lowOf = new Map(low.map((o) => [o.partition, o.offset]));
      return high
        .map((o) => ({ partition: o.partition, offset: String(o.offset), high: String(o.offset), low: String(lowOf.get(o.partition) ?? -1n) }))
        .sort((x, y) => x.partition - y.partition);
    });
  }

  /** The first offset at or after `timestamp` per partition (the high watermark where there is none, as KafkaJS). */
  async fetchTopicOffsetsByTimestamp(topic: string, timestamp?: number): Promise<SeekEntry[]> {
    if (typeof topic !== 'string' || topic === '') throw new KafkaJSNonRetriableError(`Invalid topic ${String(topic)}`);
    return this.use(async (a) => {
      const ps = await this.partitionsOf(a, topic);
      const [byTime, high] = await Promise.all([
        a.listOffsets(ps.map((partition) => ({ topic, partition, spec: timestamp === undefined ? ('latest' as const) : { timestamp } })), { isolationLevel: 'read_committed' }),
        a.listOffsets(ps.map((partition) => ({ topic, partition, spec: 'latest' as const })), { isolationLevel: 'read_committed' }),
      ]);
      const highOf = new Map(high.map((o) => [o.partition, o.offset]));
      return byTime.map((o) => ({ partition: o.partition, offset: String(o.offset >= 0n ? o.offset : (highOf.get(o.partition) ?? -1n)) })).sort((x, y) => x.partition - y.partition);
    });
  }

  /** Committed offsets of a group: every partition of `topics` ('-1' where none), or every topic it has offsets for. */
  async fetchOffsets(options: { groupId: string; topics?: string[]; resolveOffsets?: boolean }): Promise<Array<{ topic: string; partitions: Array<SeekEntry & { metadata: string | null }> }>> {
    const { groupId, topics } = options ?? ({} as { groupId: string });
    if (typeof groupId !== 'string' || groupId === '') throw new KafkaJSNonRetriableError(`Invalid groupId ${String(groupId)}`);
    if (topics !== undefined && !Array.isArray(topics)) throw new KafkaJSNonRetriableError(`Expected topic array, got ${String(topics)}`);
    return this.use(async (a) => {
      const committed = await a.listGroupOffsets(groupId, topics && topics.length > 0 ? { topics } : {});
      const byTopic = new Map<string, Map<number, { offset: bigint; metadata: string | null }>>();
      for (const t of topics ?? []) byTopic.set(t, new Map((await this.partitionsOf(a, t)).map((p) => [p, { offset: -1n, metadata: null }])));
      for (const c of committed) {
        if (topics && topics.length > 0 && !byTopic.has(c.topic)) continue;
        let m = byTopic.get(c.topic);
        if (!m) byTopic.set(c.topic, (m = new Map()));
        // KafkaJS reports absent metadata as null; brokers answer newer OffsetFetch versions with ''.
        m.set(c.partition, { offset: c.offset, metadata: c.metadata === '' ? null : c.metadata });
      }
      if (options.resolveOffsets) {
        // As KafkaJS: the sentinels -2 (earliest) and -1 (latest, also "none") become the log's offsets.
        for (const [topic, m] of byTopic) {
          for (const [sentinel, spec] of [[-2n, 'earliest'], [-1n, 'latest']] as const) {
            const list = [...m].filter(([, v]) => v.offset === sentinel).map(([p]) => p);
            if (list.length === 0) continue;
            for (const o of await a.listOffsets(list.map((partition) => ({ topic, partition, spec })))) m.get(o.partition)!.offset = o.offset;
          }
        }
      }
      return [...byTopic].map(([topic, m]) => ({
        topic,
        partitions: [...m].sort(([x], [y]) => x - y).map(([partition, v]) => ({ partition, offset: String(v.offset), metadata: v.metadata })),
      }));
    });
  }

  /** Moves a group's committed offsets of a topic to its beginning (earliest) or end. The group must have no members. */
  async resetOffsets(options: { groupId: string; topic: string; earliest?: boolean }): Promise<void> {
    const { groupId, topic } = options ?? ({} as { groupId: string; topic: string });
    if (typeof groupId !== 'string' || groupId === '') throw new KafkaJSNonRetriableError(`Invalid groupId ${String(groupId)}`);
    if (typeof topic !== 'string' || topic === '') throw new KafkaJSNonRetriableError(`Invalid topic ${String(topic)}`);
    await this.use((a) => a.resetGroupOffsets(groupId, { topics: [topic], to: options.earliest ? 'earliest' : 'latest' }));
  }

  /** Sets a group's committed offsets for partitions of one topic. The group must have no members. */
  async setOffsets(options: { groupId: string; topic: string; partitions: SeekEntry[] }): Promise<void> {
    const { groupId, topic, partitions } = options ?? ({} as { groupId: string; topic: string; partitions: SeekEntry[] });
    if (typeof groupId !== 'string' || groupId === '') throw new KafkaJSNonRetriableError(`Invalid groupId ${String(groupId)}`);
    if (typeof topic !== 'string' || topic === '') throw new KafkaJSNonRetriableError(`Invalid topic ${String(topic)}`);
    if (!Array.isArray(partitions) || partitions.length === 0) throw new KafkaJSNonRetriableError('Invalid partitions');
    const offsets = partitions.map((p) => ({ topic, partition: p.partition, offset: offsetOf(p.offset, `${topic}-${p.partition}`) }));
    await this.use((a) => a.alterGroupOffsets(groupId, offsets));
  }

  /** Deletes records before the given offsets ('-1': everything up to the high watermark). */
  async deleteTopicRecords(options: { topic: string; partitions: SeekEntry[] }): Promise<void> {
    const { topic, partitions } = options ?? ({} as { topic: string; partitions: SeekEntry[] });
    if (typeof topic !== 'string' || topic === '') throw new KafkaJSNonRetriableError(`Invalid topic ${String(topic)}`);
    if (!Array.isArray(partitions) || partitions.length === 0) throw new KafkaJSNonRetriableError('Invalid partitions');
    await this.use(async (a) => {
      const wanted = partitions.map((p) => ({ partition: p.partition, offset: offsetOf(p.offset, `${topic}-${p.partition}`), asked: p.offset }));
      const toEnd = wanted.filter((w) => w.offset === -1n);
      const ends = toEnd.length > 0 ? await a.listOffsets(toEnd.map((w) => ({ topic, partition: w.partition, spec: 'latest' as const }))) : [];
      const endOf = new Map(ends.map((o) => [o.partition, o.offset]));
      // One call per partition, so that each refusal is known by partition: KafkaJS's
      // KafkaJSDeleteTopicRecordsError lists each refused partition, its offset and its error.
      const results = await Promise.allSettled(wanted.map((w) => a.deleteRecords([{ topic, partition: w.partition, beforeOffset: w.offset === -1n ? (endOf.get(w.partition) ?? 0n) : w.offset }])));
      const refused: DeleteTopicRecordsPartitionError[] = [];
      for (const [i, r] of results.entries()) {
        if (r.status === 'fulfilled') continue;
        if (!(r.reason instanceof KafkaError)) throw r.reason;
        refused.push({ partition: wanted[i]!.partition, offset: String(wanted[i]!.asked), error: new KafkaJSProtocolError(r.reason) });
      }
      // KafkaJS's retrier hands a refusal that is not retriable back wrapped, with the list as `cause`.
      if (refused.length > 0) {
        const e = new KafkaJSDeleteTopicRecordsError({ topic, partitions: refused });
        throw e.retriable ? e : new KafkaJSNonRetriableError(e, { cause: e });
      }
    });
  }

  async describeCluster(): Promise<{ brokers: Array<{ nodeId: number; host: string; port: number }>; controller: number | null; clusterId: string }> {
    return this.use(async (a) => {
      const c = await a.describeCluster();
      return { brokers: c.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port })), controller: c.controllerId < 0 ? null : c.controllerId, clusterId: c.clusterId ?? '' };
    });
  }

  /** Configs of topics and brokers. Synonyms are not reported (configSynonyms is always empty). */
  async describeConfigs(options: { resources: Array<{ type: number; name: string; configNames?: string[] }>; includeSynonyms?: boolean }): Promise<DescribeConfigResponse> {
    const resources = options?.resources;
    if (!Array.isArray(resources) || resources.length === 0) throw new KafkaJSNonRetriableError(`Invalid resources array ${String(resources)}`);
    const wanted = resources.map((r) => ({ type: resourceType(r.type, 'describeConfigs'), name: r.name, ...(r.configNames && r.configNames.length > 0 ? { keys: r.configNames } : {}) }));
    return this.use(async (a) => {
      const res = await a.describeConfigs(wanted);
      return {
        resources: res.map((r, i) => ({
          configEntries: r.entries.map((e) => ({
            configName: e.name,
            configValue: e.value ?? '',
            isDefault: e.isDefault,
            configSource: e.source,
            isSensitive: e.isSensitive,
            readOnly: e.readOnly,
            configSynonyms: [],
          })),
          errorCode: 0,
          errorMessage: null,
          resourceName: r.resource.name,
          resourceType: resources[i]!.type,
        })),
        throttleTime: 0,
      };
    });
  }

  /** Kafka's legacy AlterConfigs: each resource's dynamic configs become exactly those given. */
  async alterConfigs(options: { validateOnly?: boolean; resources: Array<{ type: number; name: string; configEntries: Array<{ name: string; value: string }> }> }): Promise<{ resources: Array<{ errorCode: number; errorMessage: string | null; resourceName: string; resourceType: number }>; throttleTime: number }> {
    const resources = options?.resources;
    if (!Array.isArray(resources) || resources.length === 0) throw new KafkaJSNonRetriableError(`Invalid resources array ${String(resources)}`);
    const list = resources.map((r) => ({ type: resourceType(r.type, 'alterConfigs'), name: r.name, configs: Object.fromEntries((r.configEntries ?? []).map((e) => [e.name, e.value])) }));
    await this.use((a) => a.alterConfigs(list, { validateOnly: options.validateOnly === true }));
    return { resources: resources.map((r) => ({ errorCode: 0, errorMessage: null, resourceName: r.name, resourceType: r.type })), throttleTime: 0 };
  }

  async listGroups(): Promise<{ groups: Array<{ groupId: string; protocolType: string }> }> {
    return this.use(async (a) => ({ groups: (await a.listGroups()).map((g) => ({ groupId: g.groupId, protocolType: g.protocolType })) }));
  }

  async describeGroups(groupIds: string[]): Promise<{ groups: GroupDescription[] }> {
    return this.use(async (a) => ({ groups: (await a.describeGroups(groupIds)).map(toGroupDescription) }));
  }

  /** Deletes groups one by one; if any fails, rejects with KafkaJSDeleteGroupsError listing every group's result. */
  async deleteGroups(groupIds: string[]): Promise<Array<{ groupId: string; errorCode: number; error?: KafkaJSProtocolError }>> {
    if (!Array.isArray(groupIds) || groupIds.some((g) => typeof g !== 'string' || g === '')) throw new KafkaJSNonRetriableError(`Invalid groupIds array ${String(groupIds)}`);
    if (!this.admin) await this.connect();
    const results: Array<{ groupId: string; errorCode: number; error?: KafkaJSProtocolError }> = [];
    for (const groupId of groupIds) {
      try {
        await this.admin!.deleteGroups([groupId]);
        results.push({ groupId, errorCode: 0 });
      } catch (e) {
        if (!(e instanceof KafkaError)) throw await kafkajsErrors(() => Promise.reject(e)).catch((x: unknown) => x);
        results.push({ groupId, errorCode: e.code, error: new KafkaJSProtocolError(e) });
      }
    }
    if (results.some((r) => r.errorCode !== 0)) throw new KafkaJSDeleteGroupsError('Error in DeleteGroups', results);
    return results;
  }

  async describeAcls(): Promise<never> {
    throw new KafkaJSNonRetriableError('ACLs are not supported by @fjord/client/kafkajs yet (describeAcls)');
  }

  async createAcls(): Promise<never> {
    throw new KafkaJSNonRetriableError('ACLs are not supported by @fjord/client/kafkajs yet (createAcls)');
  }

  async deleteAcls(): Promise<never> {
    throw new KafkaJSNonRetriableError('ACLs are not supported by @fjord/client/kafkajs yet (deleteAcls)');
  }

  async alterPartitionReassignments(): Promise<never> {
    throw new KafkaJSNonRetriableError('partition reassignment is not supported by @fjord/client/kafkajs yet (alterPartitionReassignments)');
  }

  async listPartitionReassignments(): Promise<never> {
    throw new KafkaJSNonRetriableError('partition reassignment is not supported by @fjord/client/kafkajs yet (listPartitionReassignments)');
  }
}
