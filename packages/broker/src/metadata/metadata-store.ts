/**
 * Cluster metadata: topics, their ids, partitions (leader, epochs, replicas) and config overrides.
 *
 * MetadataStore is the narrow interface the broker depends on. One node uses LocalMetadataStore,
 * a JSON document in the data dir written atomically (temp file, fsync, rename, fsync dir);
 * a cluster will use an etcd-backed implementation of the same interface.
 */
export interface PartitionState {
  partition: number;
  leader: number;
  leaderEpoch: number;
  partitionEpoch: number;
  replicas: number[];
  isr: number[];
}

export interface TopicState {
  name: string;
  topicId: string;
  partitions: PartitionState[];
  /** Config overrides set on the topic (Kafka names, string values). */
  configs: Record<string, string>;
  createdAtMs: number;
}

export interface MetadataSnapshot {
  clusterId: string;
  topics: TopicState[];
  /** Dynamic broker configs by scope: '' is the cluster-wide default, a node id that broker's own. */
  brokerConfigs?: Record<string, Record<string, string>>;
  /** The first producer id not yet handed out (a decimal string: int64). */
  nextProducerId?: string;
}

export interface MetadataStore {
  readonly clusterId: string;
  topic(name: string): TopicState | undefined;
  topicById(topicId: string): TopicState | undefined;
  topics(): IterableIterator<TopicState>;
  createTopic(topic: TopicState): Promise<void>;
  deleteTopic(name: string): Promise<void>;
  addPartitions(name: string, partitions: PartitionState[]): Promise<void>;
  setTopicConfigs(name: string, configs: Record<string, string>): Promise<void>;
  /** Dynamic broker configs of a scope ('' cluster default, or a node id). */
  brokerConfigs(scope: string): Record<string, string>;
  setBrokerConfigs(scope: string, configs: Record<string, string>): Promise<void>;
  /**
   * Reserves `count` producer ids, durably, and returns the first (Kafka's controller hands out
   * blocks of 1,000 through AllocateProducerIds). Ids are never handed out twice, whatever crashes.
   */
  allocateProducerIds(count: number): Promise<bigint>;
  close(): Promise<void>;
}
