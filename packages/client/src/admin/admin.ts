/**
 * Admin (subset): topics (create, delete, list, describe), configs (describe), groups (list).
 * Requests that fail as a whole with a retriable error (connection lost, timeout, NOT_CONTROLLER)
 * are retried with backoff within the operation's timeout; per-resource Kafka errors are raised as
 * KafkaError naming the resource (one failure rejects the call, as KafkaJS does; the message says
 * which resources failed).
 */
import {
  CreateTopicsRequest,
  CreateTopicsResponse,
  DeleteTopicsRequest,
  DeleteTopicsResponse,
  DescribeConfigsRequest,
  DescribeConfigsResponse,
  DescribeGroupsRequest,
  DescribeGroupsResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
  ErrorCode,
  ListGroupsRequest,
  ListGroupsResponse,
} from '@fjord/protocol';
import { Cluster, CoordinatorType } from '../cluster.js';
import { intOption, resolveClientConfig, type ClientConfig } from '../config.js';
import type { Api } from '../connection/connection.js';
import { backoffMs } from '../connection/backoff.js';
import { ClosedError, ConfigError, TimeoutError, isRetriable, kafkaError } from '../errors.js';
import type { PartitionInfo } from '../metadata/metadata.js';

const createTopicsApi: Api<CreateTopicsRequest, CreateTopicsResponse> = { request: CreateTopicsRequest, response: CreateTopicsResponse };
const deleteTopicsApi: Api<DeleteTopicsRequest, DeleteTopicsResponse> = { request: DeleteTopicsRequest, response: DeleteTopicsResponse };
const describeConfigsApi: Api<DescribeConfigsRequest, DescribeConfigsResponse> = { request: DescribeConfigsRequest, response: DescribeConfigsResponse };
const describeGroupsApi: Api<DescribeGroupsRequest, DescribeGroupsResponse> = { request: DescribeGroupsRequest, response: DescribeGroupsResponse };
const offsetFetchApi: Api<OffsetFetchRequest, OffsetFetchResponse> = { request: OffsetFetchRequest, response: OffsetFetchResponse };
const listGroupsApi: Api<ListGroupsRequest, ListGroupsResponse> = { request: ListGroupsRequest, response: ListGroupsResponse };

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
  /** Kafka's state name: Stable, PreparingRebalance, CompletingRebalance, Empty, Dead. */
  state: string;
  protocolType: string;
  /** The assignor (consumer groups) chosen for the generation. */
  protocol: string;
  members: Array<{ memberId: string; groupInstanceId: string | null; clientId: string; clientHost: string }>;
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
      const res = await this.run('DescribeGroups', async () => {
        const node = await this.cluster.findCoordinator(CoordinatorType.group, groupId);
        const r = await this.cluster.send(node, describeGroupsApi, { groups: [groupId], includeAuthorizedOperations: false });
        const g = r.groups[0];
        if (g && g.errorCode !== 0) throw kafkaError(g.errorCode, `group ${JSON.stringify(groupId)}`, g.errorMessage);
        return g;
      });
      if (!res) throw kafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `DescribeGroups returned no result for ${JSON.stringify(groupId)}`);
      out.push({
        groupId: res.groupId,
        state: res.groupState,
        protocolType: res.protocolType,
        protocol: res.protocolData,
        members: res.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, clientHost: m.clientHost })),
      });
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
