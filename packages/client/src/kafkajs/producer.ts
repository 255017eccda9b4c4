/**
 * KafkaJS's producer over @fjord/client's Producer. One send() is one batch of records awaited as a
 * whole; the result is one RecordMetadata per topic-partition written, in KafkaJS's shape.
 *
 * KafkaJS chooses acks and compression per send; @fjord/client's Producer fixes them per instance,
 * so this keeps one Producer per (acks, compression) pair used, created on first use (a
 * transactional producer has exactly one: acks -1, compression of the producer's first send). It
 * sends without linger (lingerMs 0), as KafkaJS does. createPartitioner is honoured: the partitioner
 * hook of the Producer finds the KafkaJS message it is asked about among those being sent.
 */
import { Producer as FjordProducer, type ProducerRecord as FjordRecord, type RecordMetadata as FjordMetadata } from '../producer/producer.js';
import type { CompressionName, ProducerConfig as FjordProducerConfig } from '../producer/config.js';
import type { PartitionerArgs as FjordPartitionerArgs } from '../producer/partitioner.js';
import type { ClientConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { KafkaJSError, KafkaJSNonRetriableError, afterRetries, kafkajsErrors, toKafkaJSError } from './errors.js';
import { Instrumentation, type InstrumentationEvent, type RemoveInstrumentationEventListener } from './events.js';
import { resolveRetry, retryBudgetMs, type KafkaContext, type RetryOptions } from './kafka.js';
import type { Logger } from './logger.js';
import { Partitioners, type ICustomPartitioner, type IHeaders, type Message, type PartitionMetadata } from './partitioners.js';

export const CompressionTypes = { None: 0, GZIP: 1, Snappy: 2, LZ4: 3, ZSTD: 4 } as const;
export type CompressionTypes = (typeof CompressionTypes)[keyof typeof CompressionTypes];

/**
 * KafkaJS's codec registry. @fjord/client compresses and decompresses all five codecs itself, so
 * what is registered here is accepted and not used.
 */
export const CompressionCodecs: Record<number, unknown> = {};

const compressionNames: Record<number, CompressionName> = { 0: 'none', 1: 'gzip', 2: 'snappy', 3: 'lz4', 4: 'zstd' };

export interface ProducerConfig {
  createPartitioner?: ICustomPartitioner;
  retry?: RetryOptions;
  metadataMaxAge?: number;
  allowAutoTopicCreation?: boolean;
  idempotent?: boolean;
  transactionalId?: string;
  transactionTimeout?: number;
  maxInFlightRequests?: number;
}

export interface ProducerRecord {
  topic: string;
  messages: Message[];
  acks?: number;
  /** KafkaJS's broker-side produce timeout; here the request timeout of the Kafka config applies. */
  timeout?: number;
  compression?: CompressionTypes;
}

export interface TopicMessages {
  topic: string;
  messages: Message[];
}

export interface ProducerBatch {
  acks?: number;
  timeout?: number;
  compression?: CompressionTypes;
  topicMessages?: TopicMessages[];
}

export interface RecordMetadata {
  topicName: string;
  partition: number;
  errorCode: number;
  offset?: string;
  timestamp?: string;
  baseOffset?: string;
  logAppendTime?: string;
  logStartOffset?: string;
}

export interface PartitionOffset {
  partition: number;
  offset: string;
}

export interface TopicOffsets {
  topic: string;
  partitions: PartitionOffset[];
}

export interface Offsets {
  topics: TopicOffsets[];
}

export interface Transaction {
  send(record: ProducerRecord): Promise<RecordMetadata[]>;
  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]>;
  sendOffsets(offsets: Offsets & { consumerGroupId: string }): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
  isActive(): boolean;
}

export const producerEvents = {
  CONNECT: 'producer.connect',
  DISCONNECT: 'producer.disconnect',
  REQUEST: 'producer.network.request',
  REQUEST_TIMEOUT: 'producer.network.request_timeout',
  REQUEST_QUEUE_SIZE: 'producer.network.request_queue_size',
} as const;

export type ProducerEvents = typeof producerEvents;

interface Pending {
  topic: string;
  key: Buffer | null;
  value: Buffer | null;
  message: Message;
}

const int32Max = 2_147_483_647;

export class KafkaJSProducer {
  readonly events = producerEvents;
  private readonly instrumentation: Instrumentation<typeof producerEvents>;
  private readonly log: Logger;
  private readonly partition: (args: { topic: string; partitionMetadata: PartitionMetadata[]; message: Message }) => number;
  private readonly idempotent: boolean;
  private readonly transactionalId: string | undefined;
  private readonly producers = new Map<string, FjordProducer>();
  /** Messages handed to a Producer and not yet partitioned, for the partitioner hook. */
  private readonly pending: Pending[] = [];
  private readonly metadataCache = new Map<string, { count: number; available: readonly number[]; list: PartitionMetadata[] }>();
  private base: ClientConfig | undefined;
  private connecting: Promise<void> | undefined;
  private connected = false;
  private txnInitialized = false;
  private txnActive = false;

  constructor(
    private readonly context: KafkaContext,
    private readonly config: ProducerConfig,
  ) {
    if (typeof config !== 'object' || config === null) throw new ConfigError('producer', 'expected an object');
    this.log = context.rootLogger.namespace('Producer');
    this.instrumentation = new Instrumentation(producerEvents, this.log);
    const create = config.createPartitioner ?? Partitioners.DefaultPartitioner;
    if (typeof create !== 'function') throw new ConfigError('createPartitioner', 'expected a function returning a partitioner');
    this.partition = create();
    if (typeof this.partition !== 'function') throw new ConfigError('createPartitioner', 'the function did not return a partitioner function');
    this.transactionalId = config.transactionalId;
    if (this.transactionalId !== undefined && (typeof this.transactionalId !== 'string' || this.transactionalId === '')) throw new ConfigError('transactionalId', 'expected a non-empty string');
    if (config.idempotent !== undefined && typeof config.idempotent !== 'boolean') throw new ConfigError('idempotent', 'expected a boolean');
    // KafkaJS's default is not idempotent (unlike @fjord/client's Producer); a transactional id implies it.
    this.idempotent = config.idempotent === true || this.transactionalId !== undefined;
    const retry = resolveRetry(config.retry, context.retry);
    if (this.idempotent && retry.retries < 1) throw new ConfigError('retry.retries', 'an idempotent producer needs retries > 0');
  }

  logger(): Logger {
    return this.log;
  }

  on(eventName: string, listener: (event: InstrumentationEvent<any>) => unknown): RemoveInstrumentationEventListener {
    return this.instrumentation.on(eventName, listener);
  }

  isIdempotent(): boolean {
    return this.idempotent;
  }

  async connect(): Promise<void> {
    if (this.connected) return;
    this.connecting ??= kafkajsErrors(async () => {
      const retry = resolveRetry(this.config.retry, this.context.retry);
      const base = await this.context.clientConfig('Producer', retry);
      // Fails here, as KafkaJS's connect() does, when no broker answers.
      await this.context.probe(base, retry);
      this.base = base;
      await this.producerFor(-1, 0).connect();
      this.connected = true;
      this.instrumentation.emit(producerEvents.CONNECT, null);
    }).finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  async disconnect(): Promise<void> {
    const all = [...this.producers.values()];
    this.producers.clear();
    this.base = undefined;
    await Promise.all(all.map((p) => p.close().catch(() => {})));
    if (this.connected) {
      this.connected = false;
      this.instrumentation.emit(producerEvents.DISCONNECT, null);
    }
  }

  private producerFor(acks: number, compression: number): FjordProducer {
    const key = this.transactionalId !== undefined ? 'txn' : `${acks}|${compression}`;
    let p = this.producers.get(key);
    if (p) return p;
    if (!this.base) throw new KafkaJSError('The producer is disconnected', { retriable: false });
    const retry = resolveRetry(this.config.retry, this.context.retry);
    const budget = Math.max(100, retryBudgetMs(retry));
    const c: FjordProducerConfig = {
      ...this.base,
      acks: acks === -1 ? 'all' : (acks as 0 | 1),
      compression: compressionNames[compression]!,
      lingerMs: 0,
      idempotent: this.idempotent,
      retries: this.idempotent ? int32Max : Math.min(retry.retries, int32Max),
      maxBlockMs: Math.min(budget, int32Max),
      deliveryTimeoutMs: Math.min(this.context.requestTimeout + budget, int32Max),
      allowAutoTopicCreation: this.config.allowAutoTopicCreation ?? true,
      partitioner: (args) => this.partitionFor(args),
    };
    if (this.config.maxInFlightRequests !== undefined && this.config.maxInFlightRequests !== null) {
      c.maxInFlightPerPartition = Math.min(this.config.maxInFlightRequests, this.idempotent ? 5 : 1000);
    }
    if (this.config.metadataMaxAge !== undefined) c.metadataMaxAgeMs = this.config.metadataMaxAge;
    if (this.transactionalId !== undefined) {
      c.transactionalId = this.transactionalId;
      c.transactionTimeoutMs = this.config.transactionTimeout ?? 60_000;
    }
    p = new FjordProducer(c);
    this.producers.set(key, p);
    return p;
  }

  /** The Producer's partitioner hook: run KafkaJS's partitioner on the message being appended. */
  private partitionFor(args: FjordPartitionerArgs): number {
    const i = this.pending.findIndex((m) => m.topic === args.topic && m.key === args.key && m.value === args.value);
    const message: Message = i >= 0 ? this.pending.splice(i, 1)[0]!.message : { key: args.key, value: args.value };
    return this.partition({ topic: args.topic, partitionMetadata: this.partitionMetadata(args), message });
  }

  /** KafkaJS's partition list for a topic, rebuilt only when the partition count or the leaderless set changes. */
  private partitionMetadata(args: FjordPartitionerArgs): PartitionMetadata[] {
    const cached = this.metadataCache.get(args.topic);
    if (cached && cached.count === args.partitionCount && cached.available === args.availablePartitions) return cached.list;
    const available = new Set(args.availablePartitions);
    const list: PartitionMetadata[] = Array.from({ length: args.partitionCount }, (_, id) => ({
      partitionErrorCode: 0,
      partitionId: id,
      // The Producer's hook tells which partitions have a leader, not which broker it is.
      leader: available.size === 0 || available.has(id) ? 0 : -1,
      replicas: [],
      isr: [],
      offlineReplicas: [],
    }));
    this.metadataCache.set(args.topic, { count: args.partitionCount, available: args.availablePartitions, list });
    return list;
  }

  async send(record: ProducerRecord): Promise<RecordMetadata[]> {
    if (typeof record !== 'object' || record === null) throw new KafkaJSNonRetriableError('Invalid ProducerRecord: expected an object');
    const { topic, messages, ...rest } = record;
    return this.sendBatch({ ...rest, topicMessages: [{ topic, messages }] });
  }

  async sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    if (this.transactionalId !== undefined && !this.txnActive) throw new KafkaJSNonRetriableError('Transactional producers can only send inside a transaction: use producer.transaction()');
    return this.sendOn(batch);
  }

  private async sendOn(batch: ProducerBatch): Promise<RecordMetadata[]> {
    if (typeof batch !== 'object' || batch === null) throw new KafkaJSNonRetriableError('Invalid ProducerBatch: expected an object');
    const acks = batch.acks ?? -1;
    if (acks !== -1 && acks !== 0 && acks !== 1) throw new KafkaJSNonRetriableError(`Invalid acks ${JSON.stringify(acks)}: expected -1, 0 or 1`);
    if (this.idempotent && acks !== -1) throw new KafkaJSNonRetriableError("Not requiring ack for all messages invalidates the idempotent producer's EoS guarantees");
    const compression = batch.compression ?? CompressionTypes.None;
    if (compressionNames[compression] === undefined) throw new KafkaJSNonRetriableError(`Compression type ${JSON.stringify(compression)} is not supported`);
    const topicMessages = batch.topicMessages ?? [];
    if (!Array.isArray(topicMessages)) throw new KafkaJSNonRetriableError('Invalid topicMessages: expected an array');
    const records: Array<{ record: FjordRecord; pending: Pending | undefined }> = [];
    for (const tm of topicMessages) {
      if (typeof tm?.topic !== 'string' || tm.topic === '') throw new KafkaJSNonRetriableError(`Invalid topic ${JSON.stringify(tm?.topic)}`);
      if (!Array.isArray(tm.messages)) throw new KafkaJSNonRetriableError(`Invalid messages array [${String(tm.messages)}] for topic "${tm.topic}"`);
      for (const m of tm.messages) records.push(toFjordRecord(tm.topic, m));
    }
    if (!this.connected && !this.connecting) await this.connect();
    else await this.connecting;
    let producer: FjordProducer;
    try {
      producer = this.producerFor(acks, compression);
    } catch (e) {
      throw toKafkaJSError(e);
    }
    const sends = records.map(({ record, pending }) => {
      if (pending) this.pending.push(pending);
      const p = producer.send(record);
      // Whatever happens, the message is no longer waiting for the partitioner.
      return p.finally(() => {
        if (!pending) return;
        const i = this.pending.indexOf(pending);
        if (i >= 0) this.pending.splice(i, 1);
      });
    });
    const settled = await Promise.allSettled(sends);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      const retry = resolveRetry(this.config.retry, this.context.retry);
      throw afterRetries(failed.reason, retry.retries, retry.maxRetryTime);
    }
    // With acks 0 the broker answers nothing, and KafkaJS reports nothing.
    if (acks === 0) return [];
    return toRecordMetadata(settled.map((s) => (s as PromiseFulfilledResult<FjordMetadata>).value));
  }

  /** Starts a transaction (the first one also initializes the transactional id, fencing older producers). */
  async transaction(): Promise<Transaction> {
    if (this.transactionalId === undefined) throw new KafkaJSNonRetriableError('Must provide transactional id for transactional producer');
    if (this.txnActive) throw new KafkaJSNonRetriableError('There is already an ongoing transaction for this producer. Please end the transaction before beginning another.');
    if (!this.connected) await this.connect();
    const producer = this.producerFor(-1, 0);
    await kafkajsErrors(async () => {
      if (!this.txnInitialized) {
        await producer.initTransactions();
        this.txnInitialized = true;
      }
      producer.beginTransaction();
    });
    this.txnActive = true;
    let active = true;
    const requireActive = (): void => {
      if (!active) throw new KafkaJSNonRetriableError('Transaction is not active');
    };
    const end = async (commit: boolean): Promise<void> => {
      requireActive();
      await kafkajsErrors(() => (commit ? producer.commitTransaction() : producer.abortTransaction()));
      active = false;
      this.txnActive = false;
    };
    return {
      send: async (record) => {
        requireActive();
        const { topic, messages, ...rest } = record;
        return this.sendOn({ ...rest, topicMessages: [{ topic, messages }] });
      },
      sendBatch: async (batch) => {
        requireActive();
        return this.sendOn(batch);
      },
      sendOffsets: async ({ consumerGroupId, topics }) => {
        requireActive();
        const offsets = (topics ?? []).flatMap((t) => t.partitions.map((p) => ({ topic: t.topic, partition: p.partition, offset: BigInt(p.offset) })));
        await kafkajsErrors(() => producer.sendOffsetsToTransaction(offsets, consumerGroupId));
      },
      commit: () => end(true),
      abort: () => end(false),
      isActive: () => active,
    };
  }
}

function toBuffer(v: Buffer | string | null | undefined, what: string): Buffer | null {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return v;
  if (typeof v === 'string') return Buffer.from(v);
  const u = v as unknown;
  if (u instanceof Uint8Array) return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
  throw new KafkaJSNonRetriableError(`Invalid ${what}: expected a Buffer, string or null`);
}

function toHeaders(h: IHeaders | undefined): Array<[string, Buffer | null]> {
  const out: Array<[string, Buffer | null]> = [];
  if (h === undefined || h === null) return out;
  if (typeof h !== 'object') throw new KafkaJSNonRetriableError('Invalid message headers: expected an object');
  for (const [name, v] of Object.entries(h)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) out.push([name, toBuffer(one, `header ${JSON.stringify(name)}`)]);
  }
  return out;
}

function toFjordRecord(topic: string, m: Message): { record: FjordRecord; pending: Pending | undefined } {
  if (typeof m !== 'object' || m === null) throw new KafkaJSNonRetriableError(`Invalid message for topic "${topic}": expected an object`);
  if (m.value === undefined) throw new KafkaJSNonRetriableError(`Invalid message without value for topic "${topic}"`);
  const key = toBuffer(m.key, 'message key');
  const value = toBuffer(m.value, 'message value');
  const record: FjordRecord = { topic, key, value, headers: toHeaders(m.headers) };
  if (m.partition !== undefined && m.partition !== null) record.partition = m.partition;
  if (m.timestamp !== undefined && m.timestamp !== null) {
    const ts = Number(m.timestamp);
    if (!Number.isInteger(ts) || ts < 0) throw new KafkaJSNonRetriableError(`Invalid message timestamp ${JSON.stringify(m.timestamp)}: expected milliseconds as a string`);
    record.timestamp = ts;
  }
  return { record, pending: record.partition === undefined ? { topic, key, value, message: m } : undefined };
}

/** One entry per topic-partition written, with the first offset this send got there. */
function toRecordMetadata(results: FjordMetadata[]): RecordMetadata[] {
  const byPartition = new Map<string, RecordMetadata & { first: bigint }>();
  for (const r of results) {
    const k = `${r.topic}\u0000${r.partition}`;
    const e = byPartition.get(k);
    if (!e) byPartition.set(k, { topicName: r.topic, partition: r.partition, errorCode: 0, baseOffset: String(r.offset), logAppendTime: '-1', logStartOffset: '-1', first: r.offset });
    else if (r.offset >= 0n && (e.first < 0n || r.offset < e.first)) {
      e.first = r.offset;
      e.baseOffset = String(r.offset);
    }
  }
  return [...byPartition.values()].map(({ first: _first, ...m }) => m);
}
