/**
 * The producer. send() places a record in its partition's open batch (KIP-480 sticky partitioning
 * for unkeyed records, murmur2 for keyed ones); a batch becomes ready when full (batchBytes), after
 * lingerMs, on flush() or close(). The sender drains ready batches, one per partition per request,
 * grouped by leader into Produce requests on each broker's pipelined connection.
 *
 * Ordering and idempotence: at most maxInFlightPerPartition batches of a partition are in flight
 * (1 without idempotence, so a retry cannot overtake). With idempotence (default) the producer gets
 * a producer id from InitProducerId, and each batch carries its partition's next sequence number,
 * assigned once: a retry resends the same bytes, so the broker drops what it already has. When a
 * batch fails retriably, the partition holds new batches back until every failed one has been
 * resent in sequence order, one at a time. OUT_OF_ORDER_SEQUENCE_NUMBER for a batch behind a failed
 * one is the expected echo of that failure and is retried; for the next expected sequence it is
 * fatal for the batch, and the producer takes a new producer id and renumbers what is left.
 *
 * Memory: records reserve bufferMemoryBytes until acknowledged; send() waits (a promise, not an
 * exception) when it is full, and ready() lets a writer wait for room without sending.
 */
import { ErrorCode } from '@fjord/protocol/core';
import { ProduceResponse } from '@fjord/protocol/generated/produce.js';
import { Cluster } from '../cluster.js';
import { backoffMs } from '../connection/backoff.js';
import { ClosedError, ConfigError, KafkaError, TimeoutError, isRetriable, kafkaError } from '../errors.js';
import { staleMetadataErrors, type TopicInfo } from '../metadata/metadata.js';
import { BufferPool } from './buffer-pool.js';
import { DeliveryGroup, ProducerBatch, SpareBatchBuffers, batchOverheadBytes, estimateRecordBytes, type Delivery, type RecordMetadata } from './batch.js';
import { resolveProducerConfig, type ProducerConfig, type ResolvedProducerConfig } from './config.js';
import { StickyPartitioner, keyPartition } from './partitioner.js';
import { TransactionManager, TransactionStateError, isFatalTxnError, txnV1MaxVersions } from './transaction-manager.js';
import { initProducerIdApi, produceApi } from '../apis.js';

export { TransactionStateError };

export type { RecordMetadata };

export type HeaderValue = Buffer | string | null;

/** Record bytes as the producer takes them without serializers. */
export type Bytes = Buffer | Uint8Array | string | null;

export interface ProducerRecord<K = Bytes, V = Bytes> {
  topic: string;
  key?: K | null;
  value: V;
  /** An object (one value per name) or a list of [name, value] pairs (names may repeat, order kept). */
  headers?: Record<string, HeaderValue> | ReadonlyArray<readonly [string, HeaderValue]>;
  /** Explicit partition; otherwise the partitioner decides. */
  partition?: number;
  /** Create time in ms since the epoch (number, bigint or Date); default: now. */
  timestamp?: number | bigint | Date;
}

/** A record that cannot be sent as given (bad partition, wrong types). Not retriable. */
export class InvalidRecordError extends Error {
  override readonly name = 'InvalidRecordError';
  readonly retriable = false;
}

class PartitionQueue {
  /** Batches not in flight, oldest (lowest sequence) first; the last may be open. */
  readonly queued: ProducerBatch[] = [];
  readonly inFlight: ProducerBatch[] = [];
  nextSequence = 0;
  /** The sequence the broker expects next (end of the last acknowledged batch). */
  ackedSequence = 0;
  /** Failed batches are being resent: one in flight at a time, nothing new until they are through. */
  retrying = false;
  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}
}

const int32Wrap = 0x80000000;

/** Whether a record of `bytes` goes into the open batch `b`. */
function fits(b: ProducerBatch | undefined, bytes: number, batchBytes: number): boolean {
  return b !== undefined && !b.closed && b.bytes + bytes <= batchBytes;
}

const noHeaders: ReadonlyArray<{ key: string; value: Buffer | null }> = Object.freeze([]);

export class Producer<K = Bytes, V = Bytes> {
  readonly config: ResolvedProducerConfig;
  private readonly cluster: Cluster;
  private readonly pool: BufferPool;
  /** Buffers of acknowledged batches, for new ones. */
  private readonly spareBuffers: SpareBatchBuffers;
  private readonly sticky: StickyPartitioner;
  /** Every partition queue (iterated by the sender), and the same queues by topic and partition (looked up per record). */
  private readonly queues: PartitionQueue[] = [];
  private readonly queuesByTopic = new Map<string, PartitionQueue[]>();
  private producerId = -1n;
  private producerEpoch = -1;
  private initializing: Promise<void> | undefined;
  private needsNewProducerId = false;
  private fatal: Error | undefined;
  /** Appends waiting for metadata or memory, in send order. */
  private slowAppends = 0;
  private appendChain: Promise<void> = Promise.resolve();
  /** The Prepared that enqueue() borrows (one object per record was ~90 B of garbage each). */
  private spare: Prepared | undefined = new Prepared();
  private flushing = 0;
  private closed = false;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAtMs = Infinity;
  private drainScheduled = false;
  private readonly requestsInFlight = new Set<Promise<void>>();
  private readonly txn: TransactionManager | undefined;
  private txnState: 'uninitialized' | 'ready' | 'inTransaction' | 'ending' = 'uninitialized';
  /** Partitions added to the current transaction, and those waiting for AddPartitionsToTxn. */
  private readonly txnPartitions = new Set<string>();
  private readonly txnPending = new Map<string, { topic: string; partition: number }>();
  private txnAdding = false;
  private txnOffsetsAdded = false;
  /** A failure inside the current transaction: it can only be aborted. */
  private txnError: Error | undefined;

  constructor(config: ProducerConfig<K, V>) {
    this.config = resolveProducerConfig(config);
    this.cluster = new Cluster(this.config.client);
    // Spare batch buffers share bufferMemoryBytes with the records: each reservation trims them.
    this.pool = new BufferPool(this.config.bufferMemoryBytes, () => this.spareBuffers.fit());
    this.spareBuffers = new SpareBatchBuffers(this.pool);
    this.sticky = new StickyPartitioner(this.config.client.random);
    if (this.config.transactionalId !== undefined) this.txn = new TransactionManager(this.cluster, this.config, this.config.transactionalId);
  }

  private log(level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>): void {
    this.config.client.logger({ level, message, fields: { component: 'producer', ...fields } });
  }

  /** Connects to the cluster and (with idempotence) gets a producer id. Optional: send() does it lazily. */
  async connect(): Promise<void> {
    if (this.closed) throw new ClosedError('producer');
    await this.cluster.current();
    if (this.config.idempotent && !this.txn) await this.ensureProducerId();
  }

  // ------------------------------------------------------------------------------------------
  // Transactions

  /** Gets the producer id and epoch for the transactional id, fencing any older producer that uses it. */
  async initTransactions(): Promise<void> {
    const txn = this.requireTxn('initTransactions');
    if (this.txnState !== 'uninitialized') throw new TransactionStateError('initTransactions was already called');
    const { producerId, producerEpoch } = await this.guardFatal(txn.initProducerId());
    this.producerId = producerId;
    this.producerEpoch = producerEpoch;
    this.txnState = 'ready';
    this.log('info', 'producer id', { producerId: String(producerId), producerEpoch, transactionalId: txn.transactionalId });
  }

  beginTransaction(): void {
    this.requireTxn('beginTransaction');
    if (this.fatal) throw this.fatal;
    if (this.txnState !== 'ready') throw new TransactionStateError(`beginTransaction needs a ready producer (state: ${this.txnState}${this.txnState === 'uninitialized' ? '; call initTransactions first' : ''})`);
    this.txnState = 'inTransaction';
    this.txnError = undefined;
  }

  /** Adds consumed offsets of `groupId` to the transaction: they are committed if and only if it commits. */
  async sendOffsetsToTransaction(offsets: ReadonlyArray<{ topic: string; partition: number; offset: bigint | number }>, groupId: string): Promise<void> {
    const txn = this.requireTxn('sendOffsetsToTransaction');
    this.requireInTransaction('sendOffsetsToTransaction');
    if (typeof groupId !== 'string' || groupId === '') throw new ConfigError('groupId', 'expected a non-empty string');
    const list = offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: BigInt(o.offset) }));
    await this.guardFatal(txn.addOffsets(this.producerId, this.producerEpoch, groupId));
    this.txnOffsetsAdded = true;
    await this.guardFatal(txn.commitOffsets(this.producerId, this.producerEpoch, groupId, list));
  }

  /** Flushes, then commits. If a send of this transaction failed, rejects with that error: abort instead. */
  async commitTransaction(): Promise<void> {
    const txn = this.requireTxn('commitTransaction');
    this.requireInTransaction('commitTransaction');
    await this.flush();
    if (this.txnError) throw new TransactionStateError(`the transaction cannot commit (a send failed: ${this.txnError.message}); abort it`, { cause: this.txnError });
    await this.endTransaction(txn, true);
  }

  /** Fails records not yet sent, waits for those in flight, and aborts. */
  async abortTransaction(): Promise<void> {
    const txn = this.requireTxn('abortTransaction');
    this.requireInTransaction('abortTransaction');
    const err = new TransactionStateError('the transaction was aborted');
    for (const q of this.queues) for (const b of q.queued.splice(0)) this.finish(b, () => b.fail(err));
    this.txnPending.clear();
    await this.flush().catch(() => {});
    await this.endTransaction(txn, false);
  }

  private async endTransaction(txn: TransactionManager, committed: boolean): Promise<void> {
    this.txnState = 'ending';
    try {
      if (this.txnPartitions.size > 0 || this.txnOffsetsAdded) await this.guardFatal(txn.endTxn(this.producerId, this.producerEpoch, committed));
    } catch (e) {
      if (!this.fatal) this.txnState = 'inTransaction';
      throw e;
    }
    this.txnPartitions.clear();
    this.txnOffsetsAdded = false;
    this.txnError = undefined;
    this.txnState = 'ready';
  }

  private requireTxn(op: string): TransactionManager {
    if (!this.txn) throw new TransactionStateError(`${op} needs a transactionalId in the producer config`);
    if (this.closed) throw new ClosedError('producer');
    if (this.fatal) throw this.fatal;
    return this.txn;
  }

  private requireInTransaction(op: string): void {
    if (this.txnState !== 'inTransaction') throw new TransactionStateError(`${op} outside a transaction (state: ${this.txnState})`);
  }

  private async guardFatal<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (e) {
      if (isFatalTxnError(e)) this.fatal = e as Error;
      throw e;
    }
  }

  /**
   * Sends one record; resolves with its partition and offset once acknowledged (acks 1/all) or
   * written (acks 0). Waits for buffer room and topic metadata for at most maxBlockMs.
   */
  send(record: ProducerRecord<K, V>): Promise<RecordMetadata> {
    return new Promise<RecordMetadata>((resolve, reject) => this.enqueue(record, { resolve, reject }, 0));
  }

  /**
   * Sends several records (in order); resolves with their metadata, in the same order, when all are
   * acknowledged; rejects with the first failure. One promise for the whole call.
   */
  sendBatch(records: readonly ProducerRecord<K, V>[]): Promise<RecordMetadata[]> {
    if (!Array.isArray(records)) return Promise.reject(new InvalidRecordError('sendBatch expects an array of records'));
    if (records.length === 0) return Promise.resolve([]);
    return new Promise<RecordMetadata[]>((resolve, reject) => {
      const group = new DeliveryGroup(records.length, resolve, reject);
      for (let i = 0; i < records.length; i++) this.enqueue(records[i]!, group, i);
    });
  }

  /** Validates and appends one record, or queues it behind earlier ones waiting for metadata or room. Never throws. */
  private enqueue(record: ProducerRecord<K, V>, delivery: Delivery, slot: number): void {
    if (this.closed) return delivery.reject(new ClosedError('producer'));
    if (this.fatal) return delivery.reject(this.fatal);
    if (this.txn && this.txnState !== 'inTransaction') return delivery.reject(new TransactionStateError(`a transactional producer sends only inside a transaction (state: ${this.txnState})`));
    // The common path borrows one Prepared and gives it back once the record is in its batch. A
    // serializer or partitioner that sends from inside this call finds none to borrow and gets its own.
    const prepared = this.spare ?? new Prepared();
    this.spare = undefined;
    try {
      this.prepare(record, prepared);
    } catch (e) {
      this.spare = prepared;
      return delivery.reject(e as Error);
    }
    const topic = this.cluster.metadata?.topics.get(prepared.topic);
    if (this.slowAppends === 0 && topic && this.pool.tryReserve(prepared.bytes)) {
      try {
        this.append(prepared, topic, delivery, slot);
      } catch (e) {
        this.pool.release(prepared.bytes);
        delivery.reject(e as Error);
      }
      prepared.clear();
      this.spare = prepared;
      return;
    }
    this.enqueueSlow(prepared, delivery, slot); // keeps it
  }

  /**
   * Queues an append behind earlier ones until the topic's metadata and buffer room are there (at
   * most maxBlockMs). Its own method so that enqueue's common path allocates no closure context.
   */
  private enqueueSlow(prepared: Prepared, delivery: Delivery, slot: number): void {
    this.slowAppends++;
    const deadline = this.config.now() + this.config.maxBlockMs;
    this.appendChain = this.appendChain
      .then(async () => {
        const t = await this.cluster.topic(prepared.topic, Math.max(0, deadline - this.config.now()), this.config.maxBlockMs);
        await this.pool.reserve(prepared.bytes, Math.max(0, deadline - this.config.now()));
        if (this.closed) {
          this.pool.release(prepared.bytes);
          throw new ClosedError('producer');
        }
        try {
          this.append(prepared, t, delivery, slot);
        } catch (e) {
          this.pool.release(prepared.bytes);
          throw e;
        }
      })
      .catch((e: Error) => delivery.reject(e))
      .finally(() => {
        this.slowAppends--;
      });
  }

  /** Resolves when the buffer has room for `bytes` more (backpressure for writers that do not await each send). */
  ready(bytes = 1): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError('producer'));
    const want = Math.min(bytes, this.config.bufferMemoryBytes);
    // Records still waiting for metadata or room hold no reservation yet: wait for them first, or a
    // writer looping on ready() would queue without bound behind them.
    if (this.slowAppends > 0) return this.appendChain.then(() => this.pool.whenRoom(want, this.config.maxBlockMs));
    return this.pool.whenRoom(want, this.config.maxBlockMs);
  }

  /** Bytes of records buffered and not yet acknowledged. */
  get bufferedBytes(): number {
    return this.pool.used;
  }

  /** Sends everything buffered now, without waiting for lingerMs; resolves when all of it has completed (acknowledged or failed). */
  async flush(): Promise<void> {
    await this.appendChain;
    const pending: Promise<void>[] = [];
    for (const q of this.queues) for (const b of [...q.inFlight, ...q.queued]) pending.push(b.completion);
    if (pending.length === 0) return;
    this.flushing++;
    this.scheduleDrain();
    try {
      await Promise.all(pending);
    } finally {
      this.flushing--;
    }
  }

  /** Flushes (for at most timeoutMs, default deliveryTimeoutMs) and closes connections; unsent records then fail with ClosedError. */
  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.closed) return;
    const timeoutMs = options.timeoutMs ?? this.config.deliveryTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.flush().catch(() => {}), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    this.closed = true;
    clearTimeout(this.wakeTimer);
    const err = new ClosedError('producer');
    this.pool.failAll(err);
    for (const q of this.queues) for (const b of [...q.inFlight.splice(0), ...q.queued.splice(0)]) this.finish(b, () => b.fail(err));
    this.cluster.close();
  }

  // ------------------------------------------------------------------------------------------
  // Appending

  /** Validates `record` and fills `out` with what append() needs. */
  private prepare(record: ProducerRecord<K, V>, out: Prepared): void {
    if (typeof record !== 'object' || record === null) throw new InvalidRecordError('record must be an object');
    if (typeof record.topic !== 'string' || record.topic === '') throw new InvalidRecordError('record.topic must be a non-empty string');
    const key = toBytes(this.serialize('key', record.key, record.topic), 'key');
    const value = toBytes(this.serialize('value', record.value, record.topic), 'value');
    const headers = toHeaders(record.headers);
    let timestamp: number;
    const ts = record.timestamp;
    if (ts === undefined) timestamp = this.config.now();
    else if (typeof ts === 'number' && Number.isSafeInteger(ts) && ts >= 0) timestamp = ts;
    else if (typeof ts === 'bigint' && ts >= 0n && ts <= BigInt(Number.MAX_SAFE_INTEGER)) timestamp = Number(ts);
    else if (ts instanceof Date && !Number.isNaN(ts.getTime()) && ts.getTime() >= 0) timestamp = ts.getTime();
    else throw new InvalidRecordError(`record.timestamp must be a non-negative integer (ms), bigint or Date, got ${String(ts)}`);
    if (record.partition !== undefined && (!Number.isInteger(record.partition) || record.partition < 0)) {
      throw new InvalidRecordError(`record.partition must be a non-negative integer, got ${String(record.partition)}`);
    }
    const bytes = estimateRecordBytes(key, value, headers);
    const limit = Math.min(this.config.maxRequestBytes, this.config.bufferMemoryBytes);
    if (bytes + batchOverheadBytes > limit) {
      const which = limit === this.config.maxRequestBytes ? 'maxRequestBytes' : 'bufferMemoryBytes';
      throw new KafkaError(ErrorCode.MESSAGE_TOO_LARGE, `record of about ${bytes + batchOverheadBytes} bytes for topic ${JSON.stringify(record.topic)} exceeds ${which} (${limit})`);
    }
    out.topic = record.topic;
    out.partition = record.partition;
    out.key = key;
    out.value = value;
    out.headers = headers;
    out.timestamp = timestamp;
    out.bytes = bytes;
  }

  private serialize(what: 'key' | 'value', v: unknown, topic: string): unknown {
    const serializer = what === 'key' ? this.config.keySerializer : this.config.valueSerializer;
    if (!serializer || v === undefined || v === null) return v; // null stays null (a tombstone), as with Kafka's serializers
    try {
      return serializer(v, topic);
    } catch (e) {
      throw new InvalidRecordError(`${what}Serializer failed for topic ${JSON.stringify(topic)}: ${(e as Error).message}`, { cause: e });
    }
  }

  private append(p: Prepared, topic: TopicInfo, delivery: Delivery, slot: number): void {
    const count = topic.partitions.length;
    let partition = p.partition;
    let sticky = false;
    if (partition === undefined && this.config.partitioner) {
      partition = this.config.partitioner({ topic: p.topic, key: p.key, value: p.value, partitionCount: count, availablePartitions: topic.available });
      if (partition !== undefined && (!Number.isInteger(partition) || partition < 0)) throw new InvalidRecordError(`partitioner returned ${String(partition)} for topic ${p.topic}`);
    }
    if (partition === undefined) {
      if (p.key !== null) partition = keyPartition(p.key, count);
      else {
        partition = this.sticky.partition(p.topic, count, topic.available);
        sticky = true;
      }
    }
    if (partition >= count) throw new InvalidRecordError(`partition ${partition} of topic ${JSON.stringify(p.topic)} does not exist (it has ${count})`);
    let q = this.queue(p.topic, partition);
    let open = q.queued.at(-1);
    // A partition that cannot send now (its in-flight limit reached, or older batches waiting) lets
    // its open batch keep filling up to batchMaxBytes: fewer, larger batches under load, while a
    // lightly loaded partition still sends batches of batchBytes or at lingerMs. So does a
    // sendBatch() call, whatever acks: nothing of it is sent before the call has appended it all,
    // so a first batch closed at batchBytes only split the call. At acks=all every batch costs the
    // broker a durable write of its partition (Fjord's fdatasync, Kafka's replicas catching up)
    // before the call can resolve: one batch per partition per call instead of two cut Fjord's
    // syncs by a quarter and its CPU by a sixth. At acks=1, where a partition has one batch in
    // flight (no idempotence to keep retries in order), the rest of the call waited a round trip
    // behind its small first batch (bench/README.md).
    const ofCall = delivery instanceof DeliveryGroup;
    const limit = ofCall || this.blocked(q) ? this.config.batchMaxBytes : this.config.batchBytes;
    if (!fits(open, p.bytes, limit) && sticky) {
      partition = this.sticky.onNewBatch(p.topic, count, topic.available, partition);
      q = this.queue(p.topic, partition);
      open = q.queued.at(-1);
    }
    let batch: ProducerBatch;
    if (open && fits(open, p.bytes, limit)) batch = open;
    else {
      if (open) open.closed = true;
      const now = this.config.now();
      // Room for about four records to start with (grown as needed): with lingerMs 0 most batches hold
      // one record, and a batch.size buffer for each was 16 KiB of garbage per record.
      const capacity = Math.max(p.bytes + batchOverheadBytes, Math.min(this.config.batchBytes, 4 * p.bytes + batchOverheadBytes));
      batch = new ProducerBatch(p.topic, partition, now, now + this.config.deliveryTimeoutMs, capacity, this.spareBuffers.take());
      q.queued.push(batch);
      // With lingerMs 0 the drain below sends it; a timer per batch would be garbage per record.
      if (this.config.lingerMs > 0) this.scheduleWake(now + this.config.lingerMs);
    }
    batch.add(p.timestamp, p.key, p.value, p.headers, p.bytes, delivery, slot);
    // A sendBatch() call hands over all it has at once: lingering for more would only delay it.
    if (ofCall) batch.sendNow = true;
    if (batch.sendNow || batch.bytes >= this.config.batchBytes || this.config.lingerMs === 0 || q.queued.length > 1 || this.flushing > 0) this.scheduleDrain();
  }

  /** Whether a batch appended to now would wait behind others or behind the in-flight limit. */
  private blocked(q: PartitionQueue): boolean {
    return q.queued.length > 1 || q.inFlight.length >= this.inFlightLimit(q);
  }

  /** Batches of the partition that may be in flight at once: one while a resend is on its way through. */
  private inFlightLimit(q: PartitionQueue): number {
    return q.retrying ? 1 : this.config.maxInFlightPerPartition;
  }

  private queue(topic: string, partition: number): PartitionQueue {
    // Looked up per record: by topic, then by index (no key string built per record).
    let list = this.queuesByTopic.get(topic);
    if (!list) this.queuesByTopic.set(topic, (list = []));
    let q = list[partition];
    if (!q) {
      q = new PartitionQueue(topic, partition);
      list[partition] = q;
      this.queues.push(q);
    }
    return q;
  }

  // ------------------------------------------------------------------------------------------
  // Sending

  /** Called per record: the callback is made once, as a closure here would allocate a context per call. */
  private scheduleDrain(): void {
    if (this.drainScheduled || this.closed) return;
    this.drainScheduled = true;
    setImmediate(this.drainNow);
  }

  private readonly drainNow = (): void => {
    this.drainScheduled = false;
    try {
      this.drain();
    } catch (e) {
      // A bug here must not vanish as an unhandled exception in a timer; fail loudly but safely.
      this.log('error', 'sender failed', { error: (e as Error).stack });
      this.fatal = e as Error;
    }
  };

  private scheduleWake(atMs: number): void {
    if (this.closed || atMs >= this.wakeAtMs) return;
    clearTimeout(this.wakeTimer);
    this.wakeAtMs = atMs;
    this.wakeTimer = setTimeout(() => {
      this.wakeAtMs = Infinity;
      this.wakeTimer = undefined;
      this.scheduleDrain();
    }, Math.max(0, atMs - this.config.now()));
  }

  private drain(): void {
    if (this.closed) return;
    const c = this.config;
    if (this.txn && this.producerId < 0n) return; // initTransactions sets it
    if (c.idempotent && !this.txn && (this.producerId < 0n || this.needsNewProducerId)) {
      if (this.needsNewProducerId && this.queues.some((q) => q.inFlight.length > 0)) return; // wait for them
      this.ensureProducerId().then(
        () => this.scheduleDrain(),
        (e: Error) => this.failEverything(e),
      );
      return;
    }
    const now = c.now();
    const meta = this.cluster.metadata;
    const byNode = new Map<number, ProducerBatch[]>();
    let needMetadata = false;
    let nextWake = Infinity;
    for (const q of this.queues) {
      this.expire(q, now);
      while (q.queued.length > 0 && q.inFlight.length < this.inFlightLimit(q)) {
        const b = q.queued[0]!;
        const readyAt = b.attempts > 0 ? b.retryAtMs : b.closed || b.sendNow || q.queued.length > 1 || this.flushing > 0 ? 0 : b.createdAtMs + c.lingerMs;
        if (readyAt > now) {
          nextWake = Math.min(nextWake, readyAt);
          break;
        }
        const leader = meta?.topics.get(q.topic)?.partitions[q.partition]?.leader ?? -1;
        if (leader < 0) {
          needMetadata = true;
          nextWake = Math.min(nextWake, now + c.client.retryBackoffMs);
          break;
        }
        if (this.txn) {
          const key = `${q.topic}\u0000${q.partition}`;
          if (!this.txnPartitions.has(key)) {
            this.txnPending.set(key, { topic: q.topic, partition: q.partition });
            break;
          }
        }
        q.queued.shift();
        b.closed = true;
        if (b.encoded === undefined && c.idempotent) {
          b.producerId = this.producerId;
          b.producerEpoch = this.producerEpoch;
          b.baseSequence = q.nextSequence;
          q.nextSequence = (q.nextSequence + b.count) % int32Wrap;
        }
        q.inFlight.push(b);
        let list = byNode.get(leader);
        if (!list) byNode.set(leader, (list = []));
        list.push(b);
      }
      if (q.queued.length > 0) nextWake = Math.min(nextWake, q.queued[0]!.deliveryDeadlineMs);
    }
    // Metadata the fast path of send() reads is refreshed in the background once older than metadataMaxAgeMs.
    if (needMetadata || (meta && Date.now() - meta.fetchedAtMs > c.client.metadataMaxAgeMs)) this.refreshMetadata();
    if (this.txnPending.size > 0 && !this.txnAdding) this.addPendingPartitions();
    for (const [nodeId, batches] of byNode) this.sendRequests(nodeId, batches);
    if (nextWake < Infinity) this.scheduleWake(nextWake);
  }

  /** AddPartitionsToTxn for partitions with batches waiting; then they may be sent. */
  private addPendingPartitions(): void {
    const txn = this.txn!;
    const pending = [...this.txnPending];
    this.txnPending.clear();
    this.txnAdding = true;
    this.guardFatal(txn.addPartitions(this.producerId, this.producerEpoch, pending.map(([, p]) => p)))
      .then(
        () => {
          for (const [k] of pending) this.txnPartitions.add(k);
        },
        (e: Error) => {
          this.log('warn', 'AddPartitionsToTxn failed', { error: e.message });
          this.txnError ??= e;
          for (const [, p] of pending) for (const b of this.queue(p.topic, p.partition).queued.splice(0)) this.finish(b, () => b.fail(e));
        },
      )
      .finally(() => {
        this.txnAdding = false;
        this.scheduleDrain();
      })
      .catch((e: Error) => this.log('error', 'AddPartitionsToTxn handling failed', { error: e.stack }));
  }

  /** Fails queued batches past their delivery timeout (in-flight ones wait for their response). */
  private expire(q: PartitionQueue, now: number): void {
    while (q.queued.length > 0 && q.queued[0]!.deliveryDeadlineMs <= now) {
      const b = q.queued.shift()!;
      if (b.baseSequence >= 0) this.needsNewProducerId = true; // a hole in the sequence
      this.finish(b, () => b.fail(new TimeoutError(`delivery of ${b.count} record(s) to ${b.topic}-${b.partition}`, this.config.deliveryTimeoutMs)));
    }
  }

  /**
   * One request holds at most one batch per partition (a Produce response has one result per
   * partition), so the k-th drained batch of each partition goes in the k-th request; requests on
   * one connection are answered in order, which keeps each partition's batches in order. A request
   * is also split when it would exceed maxRequestBytes.
   */
  private sendRequests(nodeId: number, batches: ProducerBatch[]): void {
    const rounds: ProducerBatch[][] = [];
    const seen = new Map<string, number>();
    for (const b of batches) {
      const k = `${b.topic}\u0000${b.partition}`;
      const round = seen.get(k) ?? 0;
      seen.set(k, round + 1);
      (rounds[round] ??= []).push(b);
    }
    for (const round of rounds) {
      let group: ProducerBatch[] = [];
      let bytes = 0;
      for (const b of round) {
        const buf = b.encode(this.config.compression, this.config.compressionLevel, this.txn !== undefined);
        if (group.length > 0 && bytes + buf.length > this.config.maxRequestBytes) {
          this.sendRequest(nodeId, group);
          group = [];
          bytes = 0;
        }
        group.push(b);
        bytes += buf.length;
      }
      if (group.length > 0) this.sendRequest(nodeId, group);
    }
  }

  private sendRequest(nodeId: number, batches: ProducerBatch[]): void {
    const c = this.config;
    const meta = this.cluster.metadata;
    const topics = new Map<string, ProducerBatch[]>();
    for (const b of batches) {
      let l = topics.get(b.topic);
      if (!l) topics.set(b.topic, (l = []));
      l.push(b);
    }
    const body = {
      transactionalId: this.txn?.transactionalId ?? null,
      acks: c.acks,
      timeoutMs: c.client.requestTimeoutMs,
      topicData: [...topics].map(([name, list]) => ({
        name,
        topicId: meta?.topics.get(name)?.topicId,
        partitionData: list.map((b) => ({ index: b.partition, records: b.encoded! })),
      })),
    };
    const expectResponse = c.acks !== 0;
    const p = this.cluster
      .send(nodeId, produceApi, body, this.txn ? { expectResponse, maxVersion: txnV1MaxVersions.produce } : { expectResponse })
      .then(
        (res) => (expectResponse ? this.onResponse(batches, res as ProduceResponse) : batches.forEach((b) => this.onSuccess(b, -1n, -1n))),
        (e: Error) => {
          this.log('warn', 'produce request failed', { nodeId, error: e.message, batches: batches.length });
          this.refreshMetadata();
          for (const b of batches) this.onFailure(b, e);
        },
      )
      .catch((e: Error) => {
        this.log('error', 'produce response handling failed', { error: e.stack });
        for (const b of batches) this.finish(b, () => b.fail(e));
      })
      .finally(() => {
        this.requestsInFlight.delete(p);
        this.scheduleDrain();
      });
    this.requestsInFlight.add(p);
  }

  private onResponse(batches: ProducerBatch[], res: ProduceResponse): void {
    const meta = this.cluster.metadata;
    const byKey = new Map<string, ProduceResponse['responses'][number]['partitionResponses'][number]>();
    for (const t of res.responses) {
      let name = t.name;
      if (!name && meta) for (const [n, info] of meta.topics) if (info.topicId === t.topicId) name = n;
      for (const p of t.partitionResponses) byKey.set(`${name}\u0000${p.index}`, p);
    }
    const acked: Array<{ b: ProducerBatch; p: ProduceResponse['responses'][number]['partitionResponses'][number] }> = [];
    let unblocked = false;
    for (const b of batches) {
      const p = byKey.get(`${b.topic}\u0000${b.partition}`);
      if (!p) {
        this.onFailure(b, kafkaError(ErrorCode.NETWORK_EXCEPTION, `Produce response from the broker had no result for ${b.topic}-${b.partition}`));
        continue;
      }
      if (p.errorCode === ErrorCode.NONE || p.errorCode === ErrorCode.DUPLICATE_SEQUENCE_NUMBER) {
        if (this.acknowledged(b)) unblocked = true;
        acked.push({ b, p });
      } else this.onFailure(b, kafkaError(p.errorCode, `producing to ${b.topic}-${b.partition}`, p.errorMessage), p.errorCode);
    }
    // Batches that waited behind these (their partition at its in-flight limit: one batch at acks=1
    // without idempotence) go out now, before the senders hear of these: the broker appends them
    // while the application's continuations (often the next sendBatch(), a thousand appends) run
    // here. Completing first put all of that between a response and the next request, the broker
    // idle meanwhile. Below the limit nothing waited, and a drain here would only send the next
    // call's records in smaller batches than the scheduled drain does (bench/README.md).
    if (unblocked) this.drainNow();
    for (const { b, p } of acked) {
      const written = p.errorCode === ErrorCode.NONE;
      this.finish(b, () => b.succeed(written ? p.baseOffset : -1n, written ? p.logAppendTimeMs : -1n));
      // Sent once and answered: the broker has read the request, so the socket is done with the
      // batch's bytes. A batch sent more than once may still sit in the queue of a connection
      // given up on, so its buffer is left to the garbage collector.
      if (b.attempts === 0) this.spareBuffers.give(b.detachBuffer());
    }
  }

  /**
   * Takes an answered batch out of flight: the partition's sequence and retry state move on. True
   * when batches of the partition were waiting for the room this frees.
   */
  private acknowledged(b: ProducerBatch): boolean {
    const q = this.queue(b.topic, b.partition);
    const waited = q.queued.length > 0 && q.inFlight.length >= this.inFlightLimit(q);
    removeFrom(q.inFlight, b);
    if (b.baseSequence >= 0) q.ackedSequence = (b.baseSequence + b.count) % int32Wrap;
    if (q.retrying && !q.queued.some((x) => x.attempts > 0) && !q.inFlight.some((x) => x.attempts > 0)) q.retrying = false;
    return waited;
  }

  private onSuccess(b: ProducerBatch, baseOffset: bigint, logAppendTimeMs: bigint): void {
    this.acknowledged(b);
    this.finish(b, () => b.succeed(baseOffset, logAppendTimeMs));
  }

  private onFailure(b: ProducerBatch, e: Error, code?: number): void {
    const q = this.queue(b.topic, b.partition);
    removeFrom(q.inFlight, b);
    if (this.closed) return this.finish(b, () => b.fail(e));
    if (code !== undefined && staleMetadataErrors.has(code)) this.refreshMetadata();
    if ((code === ErrorCode.MESSAGE_TOO_LARGE || code === ErrorCode.RECORD_LIST_TOO_LARGE) && b.count > 1 && b.encoded !== undefined && this.config.now() < b.deliveryDeadlineMs) {
      // As the Java producer: a batch the broker finds too large is split in two and resent (the
      // topic's max.message.bytes may be below what this producer batches).
      const halves = b.split();
      for (const h of halves) h.encode(this.config.compression, this.config.compressionLevel, this.txn !== undefined);
      requeue(q, b, halves);
      this.log('info', 'splitting a batch the broker refused as too large', { topic: b.topic, partition: b.partition, records: b.count, bytes: b.encoded.length, error: e.message });
      return;
    }
    let retriable = isRetriable(e);
    if (code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER) retriable = b.baseSequence !== q.ackedSequence;
    if (isFatalTxnError(e)) retriable = false; // fenced: retrying cannot help
    const now = this.config.now();
    if (retriable && b.attempts < this.config.retries && now < b.deliveryDeadlineMs) {
      b.attempts++;
      b.retryAtMs = now + backoffMs(b.attempts - 1, { initialMs: this.config.client.retryBackoffMs, maxMs: this.config.client.retryBackoffMaxMs, jitterRatio: this.config.client.backoffJitterRatio, random: this.config.client.random });
      requeue(q, b, [b]);
      this.log('debug', 'retrying batch', { topic: b.topic, partition: b.partition, attempt: b.attempts, error: e.message });
      return;
    }
    if (this.txn) {
      if (isFatalTxnError(e)) this.fatal = e;
      this.txnError ??= e;
    } else if (this.config.idempotent && b.baseSequence >= 0 && (code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER || code === ErrorCode.UNKNOWN_PRODUCER_ID || code === ErrorCode.INVALID_PRODUCER_EPOCH || !retriable || b.attempts >= this.config.retries || now >= b.deliveryDeadlineMs)) {
      this.needsNewProducerId = true;
    }
    this.finish(b, () => b.fail(now >= b.deliveryDeadlineMs && retriable ? new TimeoutError(`delivery of ${b.count} record(s) to ${b.topic}-${b.partition}`, this.config.deliveryTimeoutMs, { cause: e }) : e));
  }

  private finish(b: ProducerBatch, settle: () => void): void {
    if (b.done) return;
    settle();
    this.pool.release(b.reservedBytes);
  }

  private refreshMetadata(): void {
    this.cluster.refresh().then(
      () => this.scheduleDrain(),
      (e: Error) => this.log('warn', 'metadata refresh failed', { error: e.message }),
    );
  }

  /** InitProducerId (for a new id, or a fresh one after a fatal sequence error), then renumbers unsent batches. */
  private ensureProducerId(): Promise<void> {
    if (!this.needsNewProducerId && this.producerId >= 0n) return Promise.resolve();
    this.initializing ??= this.initProducerId().finally(() => {
      this.initializing = undefined;
    });
    return this.initializing;
  }

  private async initProducerId(): Promise<void> {
    const c = this.config;
    const deadline = c.now() + c.maxBlockMs;
    for (let attempt = 0; ; attempt++) {
      let error: Error;
      try {
        const res = await this.cluster.sendAny(initProducerIdApi, { transactionalId: null, transactionTimeoutMs: c.transactionTimeoutMs, producerId: -1n, producerEpoch: -1 });
        if (res.errorCode === 0) {
          this.producerId = res.producerId;
          this.producerEpoch = res.producerEpoch;
          this.resetSequences();
          this.log('info', 'producer id', { producerId: String(res.producerId), producerEpoch: res.producerEpoch });
          return;
        }
        error = kafkaError(res.errorCode, 'InitProducerId');
      } catch (e) {
        error = e as Error;
      }
      if (!isRetriable(error) || this.closed) throw error;
      if (c.now() >= deadline) throw new TimeoutError('InitProducerId', c.maxBlockMs, { cause: error });
      await this.cluster.sleep(backoffMs(attempt, { initialMs: c.client.retryBackoffMs, maxMs: c.client.retryBackoffMaxMs, jitterRatio: c.client.backoffJitterRatio, random: c.client.random }));
    }
  }

  private resetSequences(): void {
    if (!this.needsNewProducerId) return;
    this.needsNewProducerId = false;
    for (const q of this.queues) {
      q.nextSequence = 0;
      q.ackedSequence = 0;
      q.retrying = false;
      for (const b of q.queued) {
        b.encoded = undefined;
        b.baseSequence = -1;
      }
    }
  }

  private failEverything(e: Error): void {
    this.log('error', 'producer failed', { error: e.message });
    for (const q of this.queues) for (const b of q.queued.splice(0)) this.finish(b, () => b.fail(e));
    if (!isRetriable(e)) this.fatal = e;
  }
}

/** A record validated and turned into bytes, on its way into a batch. */
class Prepared {
  topic = '';
  partition: number | undefined = undefined;
  key: Buffer | null = null;
  value: Buffer | null = null;
  headers: ReadonlyArray<{ key: string; value: Buffer | null }> = noHeaders;
  timestamp = 0;
  bytes = 0;

  /** Drops the references to the record's bytes, so a spare keeps nothing of the application's alive. */
  clear(): void {
    this.key = null;
    this.value = null;
    this.headers = noHeaders;
  }
}

/**
 * Puts `batches` (a failed batch `b`, or the halves it was split into) back into the queue in
 * sequence order among the other resends, ahead of everything not yet sent; until they are through,
 * the partition has one batch in flight.
 */
function requeue(q: PartitionQueue, b: ProducerBatch, batches: ProducerBatch[]): void {
  let i = 0;
  while (i < q.queued.length && q.queued[i]!.attempts > 0 && seqBefore(q.queued[i]!, b)) i++;
  q.queued.splice(i, 0, ...batches);
  q.retrying = true;
}

function seqBefore(a: ProducerBatch, b: ProducerBatch): boolean {
  return a.baseSequence >= 0 && b.baseSequence >= 0 ? a.baseSequence < b.baseSequence : a.createdAtMs <= b.createdAtMs;
}

function removeFrom<T>(list: T[], x: T): void {
  const i = list.indexOf(x);
  if (i >= 0) list.splice(i, 1);
}

function toBytes(v: unknown, what: string): Buffer | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  throw new InvalidRecordError(`record.${what} must be a Buffer, Uint8Array, string or null, got ${typeof v}`);
}

function toHeaders(h: ProducerRecord<unknown, unknown>['headers']): ReadonlyArray<{ key: string; value: Buffer | null }> {
  if (h === undefined || h === null) return noHeaders;
  const entries = Array.isArray(h) ? (h as ReadonlyArray<readonly [string, HeaderValue]>) : Object.entries(h as Record<string, HeaderValue>);
  return entries.map((e) => {
    if (!Array.isArray(e) || typeof e[0] !== 'string') throw new InvalidRecordError('record.headers entries must be [name, value] with a string name');
    return { key: e[0], value: toBytes(e[1], `headers[${JSON.stringify(e[0])}]`) };
  });
}

export { ConfigError };
