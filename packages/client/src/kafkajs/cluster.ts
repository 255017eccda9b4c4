/**
 * The `cluster` that KafkaJS hands to partition assigner factories, over a @fjord/client Admin.
 *
 * Custom assigners read topic metadata from it, so it keeps metadata as KafkaJS does: a cache of the
 * target topics (the subscription, plus any added with addTargetTopic), loaded by refreshMetadata()
 * and read synchronously by findTopicPartitionMetadata(). The consumer refreshes it just before it
 * calls an assigner's assign(), as KafkaJS's group leader does.
 *
 * KafkaJS's broker-level methods (connect, findBroker, findGroupCoordinator, fetchTopicsOffset, ...)
 * are not offered. Calling one throws a KafkaJSNonRetriableError that names it.
 */
import type { Admin as FjordAdmin, TopicDescription } from '../admin/admin.js';
import { ErrorCode, KafkaError } from '../errors.js';
import { KafkaJSError, KafkaJSNonRetriableError, KafkaJSTopicMetadataNotLoaded, kafkajsErrors } from './errors.js';
import { toPartitionMetadata, type PartitionMetadata } from './partitioners.js';
import type { BrokerMetadata, Cluster } from './types.js';

const unsupported = ['connect', 'disconnect', 'removeBroker', 'findBroker', 'findControllerBroker', 'findGroupCoordinator', 'findGroupCoordinatorMetadata', 'fetchTopicsOffset'];

export class AssignerCluster implements Cluster {
  private readonly targets = new Set<string>();
  private loaded: BrokerMetadata | undefined;
  /** The targets `loaded` was asked for (a topic that does not exist is asked for, and left out). */
  private loadedFor = new Set<string>();
  private expiresAt = 0;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly admin: () => FjordAdmin,
    private readonly connected: () => boolean,
    private readonly metadataMaxAge: number,
  ) {}

  isConnected(): boolean {
    return this.connected();
  }

  getNodeIds(): number[] {
    return (this.loaded?.brokers ?? []).map((b) => b.nodeId);
  }

  /** Fresh metadata of every topic (the cache is left as it is). */
  async metadata(): Promise<BrokerMetadata> {
    return this.load(undefined);
  }

  async refreshMetadata(): Promise<void> {
    this.loading ??= (async () => {
      const asked = [...this.targets];
      this.loaded = await this.load(asked);
      this.loadedFor = new Set(asked);
      this.expiresAt = Date.now() + this.metadataMaxAge;
    })().finally(() => (this.loading = undefined));
    await this.loading;
  }

  /** Adds `topics` to the targets and loads the metadata afresh (the consumer, before assign()). */
  async refreshMetadataFor(topics: readonly string[]): Promise<void> {
    for (const t of topics) this.targets.add(t);
    await this.refreshMetadata();
  }

  async refreshMetadataIfNecessary(): Promise<void> {
    if (!this.loaded || Date.now() >= this.expiresAt || [...this.targets].some((t) => !this.loadedFor.has(t))) await this.refreshMetadata();
  }

  async addTargetTopic(topic: string): Promise<void> {
    return this.addMultipleTargetTopics([topic]);
  }

  async addMultipleTargetTopics(topics: string[]): Promise<void> {
    const before = this.targets.size;
    for (const t of topics) this.targets.add(t);
    if (this.targets.size !== before || !this.loaded) await this.refreshMetadata();
  }

  findTopicPartitionMetadata(topic: string): PartitionMetadata[] {
    if (!this.loaded) throw new KafkaJSTopicMetadataNotLoaded('Topic metadata not loaded', { topic });
    return this.loaded.topicMetadata.find((t) => t.topic === topic)?.partitionMetadata ?? [];
  }

  findLeaderForPartitions(topic: string, partitions: number[]): { [leader: string]: number[] } {
    const metadata = this.findTopicPartitionMetadata(topic);
    const out: { [leader: string]: number[] } = {};
    for (const id of partitions) {
      const p = metadata.find((m) => m.partitionId === Number(id));
      if (!p) continue;
      if (p.leader < 0) throw new KafkaJSError('Invalid partition metadata', { retriable: true });
      (out[p.leader] ??= []).push(p.partitionId);
    }
    return out;
  }

  defaultOffset({ fromBeginning }: { fromBeginning: boolean }): number {
    return fromBeginning ? -2 : -1;
  }

  /** Brokers and the partitions of `topics` (every topic when undefined); topics that do not exist are left out. */
  private async load(topics: string[] | undefined): Promise<BrokerMetadata> {
    return kafkajsErrors(async () => {
      const admin = this.admin();
      const all = async (): Promise<string[]> => admin.listTopics({ includeInternal: true });
      const describe = async (names: string[]): Promise<TopicDescription[]> => (names.length > 0 ? admin.describeTopics(names) : []);
      const cluster = await admin.describeCluster();
      let described: TopicDescription[];
      try {
        described = await describe(topics ?? (await all()));
      } catch (e) {
        // A target that does not exist (yet): describe the others.
        if (!(e instanceof KafkaError && e.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)) throw e;
        const existing = new Set(await all());
        described = await describe((topics ?? []).filter((t) => existing.has(t)));
      }
      return {
        brokers: cluster.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, ...(b.rack === null ? {} : { rack: b.rack }) })),
        topicMetadata: described.map((d) => ({ topicErrorCode: 0, topic: d.name, partitionMetadata: d.partitions.map(toPartitionMetadata) })),
      };
    });
  }
}

for (const name of unsupported) {
  Object.defineProperty(AssignerCluster.prototype, name, {
    value(): never {
      throw new KafkaJSNonRetriableError(`cluster.${name}() is not available to partition assigners in @fjord/client/kafkajs`);
    },
  });
}
