/** Consumer configuration: Kafka's consumer properties in camelCase, with units; validated at construction. */
import { boolOption, intOption, resolveClientConfig, type ClientConfig, type ResolvedClientConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { builtInAssignors, type Assignor, type RawAssignor } from './assignors.js';
import type { Deserializer } from './deserializers.js';
import type { IsolationLevel } from './records.js';

/**
 * The consumer's limits and timings. They belong with the others in limits.ts; they sit here
 * until the consumer settles (they are exported from the package as consumerDefaults).
 */
export const consumerDefaults = Object.freeze({
  /** session.timeout.ms (Kafka 3.0+: 45000): no heartbeat for this long and the coordinator drops the member. */
  sessionTimeoutMs: 45_000,
  /** heartbeat.interval.ms. */
  heartbeatIntervalMs: 3_000,
  /** max.poll.interval.ms: sent as the rebalance timeout (how long a rejoin may take). */
  maxPollIntervalMs: 300_000,
  /** auto.commit.interval.ms. */
  autoCommitIntervalMs: 5_000,
  /** fetch.min.bytes. */
  fetchMinBytes: 1,
  /** fetch.max.bytes. */
  fetchMaxBytes: 52_428_800,
  /** fetch.max.wait.ms. */
  fetchMaxWaitMs: 500,
  /** max.partition.fetch.bytes. */
  maxPartitionFetchBytes: 1_048_576,
  /** default.api.timeout.ms: commits, committed offsets, offset lookups. */
  defaultApiTimeoutMs: 60_000,
});

export type AutoOffsetReset = 'earliest' | 'latest' | 'none';

export interface ConsumerConfig<K = Buffer | null, V = Buffer | null> extends ClientConfig {
  /** key.deserializer (default: the bytes as they are). */
  keyDeserializer?: Deserializer<K>;
  /** value.deserializer (default: the bytes as they are). */
  valueDeserializer?: Deserializer<V>;
  /** group.id: needed for subscribe() and for commits. */
  groupId?: string;
  /** group.instance.id: static membership (KIP-345). */
  groupInstanceId?: string;
  /** group.protocol: 'classic' (JoinGroup/SyncGroup, client-side assignors) or 'consumer' (KIP-848, the broker assigns). */
  groupProtocol?: 'classic' | 'consumer';
  /** auto.offset.reset (default 'latest'). */
  autoOffsetReset?: AutoOffsetReset;
  /** enable.auto.commit (default true when groupId is set). */
  enableAutoCommit?: boolean;
  autoCommitIntervalMs?: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  maxPollIntervalMs?: number;
  /** partition.assignment.strategy, in preference order (default ['range', 'cooperative-sticky'], as Java). */
  partitionAssignmentStrategy?: ReadonlyArray<'range' | 'roundrobin' | 'cooperative-sticky' | Assignor | RawAssignor>;
  /** isolation.level (default 'read_uncommitted'). */
  isolationLevel?: IsolationLevel;
  fetchMinBytes?: number;
  fetchMaxBytes?: number;
  fetchMaxWaitMs?: number;
  maxPartitionFetchBytes?: number;
  defaultApiTimeoutMs?: number;
  /** Incremental fetch sessions (KIP-227), default on. */
  fetchSessions?: boolean;
}

export interface ResolvedConsumerConfig {
  client: ResolvedClientConfig;
  keyDeserializer: Deserializer<unknown> | undefined;
  valueDeserializer: Deserializer<unknown> | undefined;
  groupId: string | undefined;
  groupInstanceId: string | null;
  groupProtocol: 'classic' | 'consumer';
  autoOffsetReset: AutoOffsetReset;
  enableAutoCommit: boolean;
  autoCommitIntervalMs: number;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  maxPollIntervalMs: number;
  assignors: Array<Assignor | RawAssignor>;
  isolationLevel: IsolationLevel;
  fetchMinBytes: number;
  fetchMaxBytes: number;
  fetchMaxWaitMs: number;
  maxPartitionFetchBytes: number;
  defaultApiTimeoutMs: number;
  fetchSessions: boolean;
}

const int32Max = 2_147_483_647;

function oneOf<T extends string>(config: object, option: string, allowed: readonly T[], fallback: T): T {
  const v = (config as Record<string, unknown>)[option];
  if (v === undefined) return fallback;
  if (!allowed.includes(v as T)) throw new ConfigError(option, `expected one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

function optionalString(config: object, option: string): string | undefined {
  const v = (config as Record<string, unknown>)[option];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw new ConfigError(option, `expected a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}

function deserializerOption(config: object, option: string): Deserializer<unknown> | undefined {
  const v = (config as Record<string, unknown>)[option];
  if (v === undefined) return undefined;
  if (typeof v !== 'function') throw new ConfigError(option, 'expected a function (bytes, topic) => value');
  return v as Deserializer<unknown>;
}

export function resolveConsumerConfig<K, V>(config: ConsumerConfig<K, V>): ResolvedConsumerConfig {
  // Consumers never create topics by asking for their metadata (allow.auto.create.topics is a consumer
  // setting in Kafka too, but subscribing to a topic that does not exist yet should not create it).
  const client = { ...resolveClientConfig(config), allowAutoTopicCreation: boolOption(config, 'allowAutoTopicCreation', false) };
  const d = consumerDefaults;
  const groupId = optionalString(config, 'groupId');
  const groupInstanceId = optionalString(config, 'groupInstanceId') ?? null;
  const strategies = config.partitionAssignmentStrategy ?? ['range', 'cooperative-sticky'];
  if (!Array.isArray(strategies) || strategies.length === 0) throw new ConfigError('partitionAssignmentStrategy', 'expected a non-empty list');
  const assignors = strategies.map((s: unknown) => {
    if (typeof s === 'string') {
      const a = builtInAssignors.get(s);
      if (!a) throw new ConfigError('partitionAssignmentStrategy', `unknown assignor ${JSON.stringify(s)} (range, roundrobin, cooperative-sticky or an Assignor object)`);
      return a;
    }
    const a = s as Assignor | RawAssignor;
    if (typeof a?.name !== 'string' || a.name === '' || typeof a.assign !== 'function' || (a.rebalanceProtocol !== 'eager' && a.rebalanceProtocol !== 'cooperative')) {
      throw new ConfigError('partitionAssignmentStrategy', 'a custom assignor needs name, rebalanceProtocol and assign()');
    }
    if ('raw' in a && (a.raw !== true || typeof a.metadata !== 'function' || a.rebalanceProtocol !== 'eager')) {
      throw new ConfigError('partitionAssignmentStrategy', `raw assignor ${JSON.stringify(a.name)} needs raw: true, metadata() and rebalanceProtocol 'eager'`);
    }
    return a;
  });
  const r: ResolvedConsumerConfig = {
    client,
    keyDeserializer: deserializerOption(config, 'keyDeserializer'),
    valueDeserializer: deserializerOption(config, 'valueDeserializer'),
    groupId,
    groupInstanceId,
    groupProtocol: oneOf(config, 'groupProtocol', ['classic', 'consumer'] as const, 'classic'),
    autoOffsetReset: oneOf(config, 'autoOffsetReset', ['earliest', 'latest', 'none'] as const, 'latest'),
    enableAutoCommit: boolOption(config, 'enableAutoCommit', groupId !== undefined) && groupId !== undefined,
    autoCommitIntervalMs: intOption(config, 'autoCommitIntervalMs', d.autoCommitIntervalMs, 1, int32Max),
    sessionTimeoutMs: intOption(config, 'sessionTimeoutMs', d.sessionTimeoutMs, 1, int32Max),
    heartbeatIntervalMs: intOption(config, 'heartbeatIntervalMs', d.heartbeatIntervalMs, 1, int32Max),
    maxPollIntervalMs: intOption(config, 'maxPollIntervalMs', d.maxPollIntervalMs, 1, int32Max),
    assignors,
    isolationLevel: oneOf(config, 'isolationLevel', ['read_uncommitted', 'read_committed'] as const, 'read_uncommitted'),
    fetchMinBytes: intOption(config, 'fetchMinBytes', d.fetchMinBytes, 0, int32Max),
    fetchMaxBytes: intOption(config, 'fetchMaxBytes', d.fetchMaxBytes, 1, int32Max),
    fetchMaxWaitMs: intOption(config, 'fetchMaxWaitMs', d.fetchMaxWaitMs, 0, int32Max),
    maxPartitionFetchBytes: intOption(config, 'maxPartitionFetchBytes', d.maxPartitionFetchBytes, 1, int32Max),
    defaultApiTimeoutMs: intOption(config, 'defaultApiTimeoutMs', d.defaultApiTimeoutMs, 1, int32Max),
    fetchSessions: boolOption(config, 'fetchSessions', true),
  };
  if (config.enableAutoCommit === true && groupId === undefined) throw new ConfigError('enableAutoCommit', 'needs groupId');
  if (r.groupInstanceId !== null && groupId === undefined) throw new ConfigError('groupInstanceId', 'needs groupId');
  if (r.heartbeatIntervalMs >= r.sessionTimeoutMs) throw new ConfigError('heartbeatIntervalMs', `must be lower than sessionTimeoutMs (${r.sessionTimeoutMs})`);
  if (client.requestTimeoutMs <= r.fetchMaxWaitMs) throw new ConfigError('fetchMaxWaitMs', `must be lower than requestTimeoutMs (${client.requestTimeoutMs})`);
  return r;
}
