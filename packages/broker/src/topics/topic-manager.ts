/**
 * Topic lifecycle: create (explicit or automatic), delete, add partitions, change configs.
 * Validation follows Kafka's rules and error codes; results are returned as data
 * ({ errorCode, errorMessage }), never thrown, so one bad topic in a request does not
 * affect the others.
 */
import { ErrorCode, randomUuid } from '@fjord/protocol';
import { dynamicConfigProblem, type BrokerConfig } from '../config/broker-configs.js';
import { effectiveTopicConfig, validateTopicOverrides } from '../config/resolve.js';
import type { MetadataStore, PartitionState, TopicState } from '../metadata/metadata-store.js';
import type { ReplicaManager } from '../partition/replica-manager.js';
import type { Logger } from '../logger.js';
import { limits } from '../limits.js';
import { collisionKey, topicNameProblem } from './topic-names.js';

export interface TopicResult {
  errorCode: number;
  errorMessage: string | null;
}

export interface CreateTopicSpec {
  name: string;
  /** -1: num.partitions */
  numPartitions: number;
  /** -1: default.replication.factor */
  replicationFactor: number;
  /** Explicit assignment: partition index -> broker ids. */
  assignments: Array<{ partitionIndex: number; brokerIds: number[] }>;
  configs: Record<string, string | null>;
}

export interface CreatedTopic extends TopicResult {
  topic?: TopicState;
  numPartitions: number;
  replicationFactor: number;
}

const ok: TopicResult = { errorCode: 0, errorMessage: null };
const fail = (errorCode: number, errorMessage: string): TopicResult => ({ errorCode, errorMessage });

export class TopicManager {
  /** Creations in flight, so two concurrent requests for one name do not both succeed. */
  private readonly creating = new Set<string>();
  /**
   * Operations on one topic name run one at a time (create, delete, add partitions, configs), as
   * Kafka's controller applies them: each validates against the state the previous one left.
   */
  private readonly locks = new Map<string, Promise<unknown>>();

  private async exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(name) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(name, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(name) === tail) this.locks.delete(name);
    }
  }

  constructor(
    private readonly nodeId: number,
    private readonly config: BrokerConfig,
    private readonly metadata: MetadataStore,
    private readonly replicas: ReplicaManager,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {}

  /** Checks a create request without applying it (also used for validateOnly). */
  validateCreate(spec: CreateTopicSpec): CreatedTopic {
    const problem = topicNameProblem(spec.name);
    const base = { numPartitions: -1, replicationFactor: -1 };
    if (problem) return { ...fail(ErrorCode.INVALID_TOPIC_EXCEPTION, problem), ...base };
    if (this.metadata.topic(spec.name) || this.creating.has(spec.name))
      return { ...fail(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${spec.name}' already exists.`), ...base };
    const key = collisionKey(spec.name);
    for (const t of this.metadata.topics()) {
      if (collisionKey(t.name) === key)
        return { ...fail(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic '${spec.name}' collides with existing topic: ${t.name}`), ...base };
    }
    let numPartitions = spec.numPartitions;
    let replicationFactor = spec.replicationFactor;
    if (spec.assignments.length > 0) {
      if (numPartitions !== -1 || replicationFactor !== -1)
        return { ...fail(ErrorCode.INVALID_REQUEST, 'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.'), ...base };
      const seen = new Set<number>();
      for (const a of spec.assignments) {
        if (a.partitionIndex < 0 || seen.has(a.partitionIndex))
          return { ...fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Invalid partition index ${a.partitionIndex} in the replica assignment.`), ...base };
        seen.add(a.partitionIndex);
        const problemReplica = this.assignmentProblem(a.brokerIds);
        if (problemReplica) return { ...fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, problemReplica), ...base };
      }
      for (let i = 0; i < seen.size; i++) {
        if (!seen.has(i))
          return { ...fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Partitions should be a consecutive 0-based integer sequence, missing partition ${i}.`), ...base };
      }
      numPartitions = spec.assignments.length;
      replicationFactor = spec.assignments[0]!.brokerIds.length;
      if (numPartitions > limits.partitionsPerTopicMax)
        return { ...fail(ErrorCode.INVALID_PARTITIONS, `Number of partitions ${numPartitions} exceeds Fjord's limit of ${limits.partitionsPerTopicMax}.`), ...base };
    } else {
      if (numPartitions === -1) numPartitions = this.config.getInt('num.partitions');
      if (replicationFactor === -1) replicationFactor = this.config.getInt('default.replication.factor');
      if (numPartitions <= 0)
        return { ...fail(ErrorCode.INVALID_PARTITIONS, 'Number of partitions was set to an invalid non-positive value.'), ...base };
      if (numPartitions > limits.partitionsPerTopicMax)
        return { ...fail(ErrorCode.INVALID_PARTITIONS, `Number of partitions ${numPartitions} exceeds Fjord's limit of ${limits.partitionsPerTopicMax}.`), ...base };
      if (replicationFactor <= 0)
        return { ...fail(ErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0, or -1 to use the default value.'), ...base };
      if (replicationFactor > 1)
        return {
          ...fail(ErrorCode.INVALID_REPLICATION_FACTOR,
            `Unable to replicate the partition ${replicationFactor} time(s): The target replication factor of ${replicationFactor} cannot be reached because only 1 broker(s) are registered.`),
          ...base,
        };
    }
    const configProblem = validateTopicOverrides(spec.configs);
    if (configProblem) return { ...fail(ErrorCode.INVALID_CONFIG, configProblem.message), ...base };
    for (const [k, v] of Object.entries(spec.configs)) {
      if (v === null) return { ...fail(ErrorCode.INVALID_CONFIG, `Null value not supported for topic configs: ${k}`), ...base };
    }
    return { ...ok, numPartitions, replicationFactor };
  }

  create(spec: CreateTopicSpec): Promise<CreatedTopic> {
    return this.exclusive(spec.name, () => this.createNow(spec));
  }

  private async createNow(spec: CreateTopicSpec): Promise<CreatedTopic> {
    const checked = this.validateCreate(spec);
    if (checked.errorCode !== 0) return checked;
    this.creating.add(spec.name);
    try {
      const partitions: PartitionState[] = [];
      for (let p = 0; p < checked.numPartitions; p++) partitions.push(this.newPartition(p));
      const configs = Object.fromEntries(Object.entries(spec.configs).filter((e): e is [string, string] => e[1] !== null));
      const topic: TopicState = { name: spec.name, topicId: randomUuid(), partitions, configs, createdAtMs: this.now() };
      // Logs first, then the metadata record: a crash in between leaves orphan dirs that start-up removes.
      await this.replicas.createTopicLogs(topic, this.effectiveConfig(topic));
      await this.metadata.createTopic(topic);
      this.logger.info('topic created', { topic: topic.name, topicId: topic.topicId, partitions: partitions.length });
      return { ...checked, topic };
    } finally {
      this.creating.delete(spec.name);
    }
  }

  /** Kafka's auto-creation on Metadata/Produce for an unknown topic; returns the error code to report. */
  async autoCreate(name: string): Promise<number> {
    if (!this.config.getBool('auto.create.topics.enable')) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    if (topicNameProblem(name)) return ErrorCode.INVALID_TOPIC_EXCEPTION;
    if (this.creating.has(name)) return ErrorCode.LEADER_NOT_AVAILABLE;
    const res = await this.create({ name, numPartitions: -1, replicationFactor: -1, assignments: [], configs: {} });
    if (res.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS) return 0;
    if (res.errorCode !== 0) {
      this.logger.warn('auto-create failed', { topic: name, error: res.errorMessage });
      return res.errorCode === ErrorCode.INVALID_TOPIC_EXCEPTION ? res.errorCode : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    }
    return 0;
  }

  delete(name: string): Promise<TopicResult> {
    return this.exclusive(name, () => this.deleteNow(name));
  }

  private async deleteNow(name: string): Promise<TopicResult> {
    if (!this.config.getBool('delete.topic.enable'))
      return fail(ErrorCode.TOPIC_DELETION_DISABLED, 'Topic deletion is disabled.');
    const topic = this.metadata.topic(name);
    if (!topic) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.');
    // Metadata first: once the record is gone the topic is gone, whatever happens to the files.
    await this.metadata.deleteTopic(name);
    await this.replicas.deleteTopicLogs(topic);
    this.logger.info('topic deleted', { topic: name, topicId: topic.topicId });
    return ok;
  }

  validateCreatePartitions(name: string, count: number, assignments: number[][] | null): TopicResult {
    const topic = this.metadata.topic(name);
    if (!topic) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.');
    const current = topic.partitions.length;
    if (count < current)
      return fail(ErrorCode.INVALID_PARTITIONS, `Topic currently has ${current} partitions, which is higher than the requested ${count}.`);
    if (count === current) return fail(ErrorCode.INVALID_PARTITIONS, `Topic already has ${current} partitions.`);
    if (count > limits.partitionsPerTopicMax)
      return fail(ErrorCode.INVALID_PARTITIONS, `Number of partitions ${count} exceeds Fjord's limit of ${limits.partitionsPerTopicMax}.`);
    if (assignments) {
      if (assignments.length !== count - current)
        return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Increasing the number of partitions by ${count - current} but ${assignments.length} assignments provided.`);
      for (const a of assignments) {
        const p = this.assignmentProblem(a);
        if (p) return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, p);
      }
    }
    return ok;
  }

  createPartitions(name: string, count: number, assignments: number[][] | null): Promise<TopicResult> {
    return this.exclusive(name, () => this.createPartitionsNow(name, count, assignments));
  }

  private async createPartitionsNow(name: string, count: number, assignments: number[][] | null): Promise<TopicResult> {
    const checked = this.validateCreatePartitions(name, count, assignments);
    if (checked.errorCode !== 0) return checked;
    const topic = this.metadata.topic(name)!;
    const added: PartitionState[] = [];
    for (let p = topic.partitions.length; p < count; p++) added.push(this.newPartition(p));
    await this.replicas.createPartitionLogs(topic, added, this.effectiveConfig(topic));
    await this.metadata.addPartitions(name, added);
    this.logger.info('partitions added', { topic: name, partitions: count });
    return ok;
  }

  /** Replaces or patches topic overrides after validation; applies them to the live logs. */
  setConfigs(name: string, overrides: Record<string, string>, validateOnly: boolean): Promise<TopicResult> {
    return this.exclusive(name, () => this.setConfigsNow(name, overrides, validateOnly));
  }

  private async setConfigsNow(name: string, overrides: Record<string, string>, validateOnly: boolean): Promise<TopicResult> {
    const topic = this.metadata.topic(name);
    if (!topic) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${name} does not exist.`);
    const problem = validateTopicOverrides(overrides);
    if (problem) return fail(ErrorCode.INVALID_CONFIG, problem.message);
    if (validateOnly) return ok;
    await this.metadata.setTopicConfigs(name, overrides);
    this.replicas.updateTopicConfig(topic, this.effectiveConfig(topic));
    return ok;
  }

  /**
   * Replaces the dynamic broker configs of a scope ('' for the cluster default, or this node's id)
   * after checking that each may change at run time; every topic's logs pick up the new defaults.
   */
  async setBrokerConfigs(scope: string, values: Record<string, string>, validateOnly: boolean): Promise<TopicResult> {
    if (scope !== '' && scope !== String(this.nodeId))
      return fail(ErrorCode.INVALID_REQUEST, `Unexpected broker id, expected ${this.nodeId} or empty string, but received ${scope}`);
    const problem = dynamicConfigProblem(values);
    if (problem) return fail(ErrorCode[problem.code], problem.message);
    if (validateOnly) return ok;
    await this.metadata.setBrokerConfigs(scope, values);
    this.config.setDynamic(scope === '' ? 'default' : 'broker', values);
    for (const topic of this.metadata.topics()) this.replicas.updateTopicConfig(topic, this.effectiveConfig(topic));
    this.logger.info('dynamic broker configs changed', { scope: scope === '' ? 'cluster default' : `broker ${scope}`, configs: values });
    return ok;
  }

  effectiveConfig(topic: TopicState): Map<string, string | null> {
    return effectiveTopicConfig(topic.configs, this.config);
  }

  private newPartition(partition: number): PartitionState {
    return { partition, leader: this.nodeId, leaderEpoch: 0, partitionEpoch: 0, replicas: [this.nodeId], isr: [this.nodeId] };
  }

  private assignmentProblem(brokerIds: number[]): string | undefined {
    if (brokerIds.length === 0) return 'The manual partition assignment includes an empty replica list.';
    if (new Set(brokerIds).size !== brokerIds.length) return `Duplicate brokers not allowed in replica assignment: ${brokerIds.join(', ')}.`;
    const unknown = brokerIds.find((b) => b !== this.nodeId);
    if (unknown !== undefined) return `The manual partition assignment includes broker ${unknown}, but no such broker is registered.`;
    return undefined;
  }
}
