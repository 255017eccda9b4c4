/**
 * A coordinator's internal topic (__consumer_offsets, __share_group_state): created on first use,
 * appended to with records answered once durable, and read back whole at start-up. A key belongs
 * to partition abs(javaHashCode(key)) % partitions, as in Kafka, so that in a cluster a group (or
 * share-partition state) moves with that partition's leadership.
 */
import { CONTROL_FLAG_MASK, ControlRecordType, ErrorCode, TRANSACTIONAL_FLAG_MASK, decodeBatch, encodeBatch, readControlRecordType, splitBatches } from '@fjord/protocol';
import type { BrokerConfig } from '../config/broker-configs.js';
import type { Logger } from '../logger.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import type { ReplicaManager } from '../partition/replica-manager.js';
import type { TopicManager } from '../topics/topic-manager.js';
import type { Clock } from '../broker-context.js';
import type { CoordinatorRecord } from './records.js';

export const OFFSETS_TOPIC = '__consumer_offsets';

/** Java's String.hashCode over UTF-16 code units, as Kafka hashes group ids. */
export function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** Kafka's Utils.abs: Math.abs, except that Integer.MIN_VALUE maps to 0. */
function kafkaAbs(n: number): number {
  return n === -2147483648 ? 0 : Math.abs(n);
}

/** The coordinator could not write its records; the request is answered with this code. */
export class CoordinatorWriteError extends Error {
  constructor(
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

export interface LoadedRecord {
  partition: number;
  offset: bigint;
  timestamp: bigint;
  key: Buffer | null;
  value: Buffer | null;
  /** The batch's producer id (-1 for the coordinator's own records) and transactional flag. */
  producerId: bigint;
  transactional: boolean;
  /** Set on a transaction marker (only returned by readAll({ markers: true })): the transaction's outcome. */
  marker?: 'COMMIT' | 'ABORT';
}

/** A transactional append (TxnOffsetCommit): the batch carries the producer's id and epoch. */
export interface TransactionalAppend {
  producerId: bigint;
  producerEpoch: number;
}

export interface InternalTopicDeps {
  config: BrokerConfig;
  topics: TopicManager;
  replicas: ReplicaManager;
  metadata: MetadataStore;
  clock: Clock;
  logger: Logger;
}

export interface InternalTopicSpec {
  name: string;
  /** Broker configs giving the partition count and replication factor at creation. */
  partitionsConfig: string;
  replicationConfig: string;
  /** Topic configs it is created with. */
  topicConfigs(config: BrokerConfig): Record<string, string>;
}

export const offsetsTopicSpec: InternalTopicSpec = {
  name: OFFSETS_TOPIC,
  partitionsConfig: 'offsets.topic.num.partitions',
  replicationConfig: 'offsets.topic.replication.factor',
  topicConfigs: (cfg) => ({
    'cleanup.policy': 'compact',
    'compression.type': 'producer',
    'segment.bytes': String(cfg.getInt('offsets.topic.segment.bytes')),
  }),
};

const READ_CHUNK_BYTES = 8 * 1024 * 1024;

export class InternalTopic {
  private creating?: Promise<void>;

  constructor(
    readonly spec: InternalTopicSpec,
    private readonly deps: InternalTopicDeps,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  /**
   * Partition count: the topic's (from its metadata record, written once every partition's log
   * exists), else the configured count, which is what creation will use. Never a count of the
   * partitions created so far, or a key looked up during creation would be misplaced.
   */
  get numPartitions(): number {
    const t = this.deps.metadata.topic(this.spec.name);
    return t ? t.partitions.length : this.deps.config.getInt(this.spec.partitionsConfig);
  }

  partitionFor(key: string): number {
    return kafkaAbs(javaStringHash(key)) % this.numPartitions;
  }

  /** True once the topic is fully created (its metadata record is written last). */
  exists(): boolean {
    return this.creating === undefined && this.deps.metadata.topic(this.spec.name) !== undefined;
  }

  /** Creates the topic if it does not exist yet; concurrent callers share one creation. */
  ensure(): Promise<void> {
    if (this.exists()) return Promise.resolve();
    this.creating ??= this.create().finally(() => {
      this.creating = undefined;
    });
    return this.creating;
  }

  private async create(): Promise<void> {
    const cfg = this.deps.config;
    const res = await this.deps.topics.create({
      name: this.spec.name,
      numPartitions: cfg.getInt(this.spec.partitionsConfig),
      replicationFactor: cfg.getInt(this.spec.replicationConfig),
      assignments: [],
      configs: this.spec.topicConfigs(cfg),
    });
    if (res.errorCode !== 0 && res.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS) {
      throw new CoordinatorWriteError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `Cannot create ${this.spec.name}: ${res.errorMessage}`);
    }
  }

  /**
   * Appends records to one partition as one batch, synchronously (records of successive calls
   * land in call order); throws CoordinatorWriteError when the append is refused. Returns the
   * offsets written and a promise that resolves once they are durable (coordinators answer then,
   * like acks=all).
   */
  appendNow(partition: number, records: readonly CoordinatorRecord[], txn?: TransactionalAppend): { firstOffset: bigint; lastOffset: bigint; durable: Promise<void> } {
    const p = this.deps.replicas.partition(this.spec.name, partition);
    if (!p) throw new CoordinatorWriteError(ErrorCode.NOT_COORDINATOR, `${this.spec.name}-${partition} is not hosted here`);
    const now = this.deps.clock.now();
    const ts = BigInt(now);
    const batch = encodeBatch({
      // As Kafka's coordinators write transactional offset commits: the producer's id and epoch, sequence 0.
      ...(txn ? { isTransactional: true, producerId: txn.producerId, producerEpoch: txn.producerEpoch, baseSequence: 0 } : {}),
      records: records.map((r, i) => ({ offsetDelta: i, timestamp: ts, key: r.key, value: r.value, headers: [] })),
    });
    // Kafka's AppendOrigin.COORDINATOR: producer epochs are checked, sequences are not.
    const res = this.deps.replicas.append(p, batch, now, 11, 'coordinator');
    if (res.errorCode !== 0) {
      const tooLarge = res.errorCode === ErrorCode.MESSAGE_TOO_LARGE || res.errorCode === ErrorCode.RECORD_LIST_TOO_LARGE;
      throw new CoordinatorWriteError(tooLarge ? res.errorCode : ErrorCode.COORDINATOR_NOT_AVAILABLE, res.errorMessage ?? 'append failed');
    }
    return { firstOffset: res.lastOffset - BigInt(records.length) + 1n, lastOffset: res.lastOffset, durable: this.deps.replicas.waitForDurable(p, res.lastOffset) };
  }

  /** appendNow as a promise: rejects with CoordinatorWriteError, resolves once durable. */
  append(partition: number, records: readonly CoordinatorRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    try {
      return this.appendNow(partition, records).durable;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Every record of every partition, in offset order per partition, a read chunk at a time (an
   * async step per record would dominate start-up: a busy group leaves millions of commits).
   * Transaction markers are skipped unless `markers` asks for them (the group coordinator needs
   * them to settle transactional offset commits).
   */
  async *readAll(opts: { markers?: boolean } = {}): AsyncGenerator<LoadedRecord[]> {
    for (const p of this.deps.replicas.topicPartitions(this.spec.name)) {
      let offset = p.logStartOffset;
      const end = p.logEndOffset;
      while (offset < end) {
        const r = await p.log.read(offset, READ_CHUNK_BYTES, { minOneBatch: true, maxOffset: end });
        if (r.bytes === 0) break;
        const out: LoadedRecord[] = [];
        for (const chunk of r.chunks) {
          for (const span of splitBatches(chunk)) {
            const b = decodeBatch(chunk, span.pos);
            const producerId = b.header.producerId;
            const transactional = (b.header.attributes & TRANSACTIONAL_FLAG_MASK) !== 0;
            if (b.header.attributes & CONTROL_FLAG_MASK) {
              if (!opts.markers || !transactional) continue;
              for (const rec of b.records) {
                if (rec.offset < offset) continue;
                const type = readControlRecordType(rec);
                if (type !== ControlRecordType.COMMIT && type !== ControlRecordType.ABORT) continue;
                out.push({ partition: p.index, offset: rec.offset, timestamp: rec.timestamp, key: null, value: null, producerId, transactional, marker: type === ControlRecordType.COMMIT ? 'COMMIT' : 'ABORT' });
              }
              continue;
            }
            for (const rec of b.records) {
              if (rec.offset >= offset) out.push({ partition: p.index, offset: rec.offset, timestamp: rec.timestamp, key: rec.key, value: rec.value, producerId, transactional });
            }
          }
        }
        yield out;
        offset = r.nextOffset;
      }
    }
  }
}
