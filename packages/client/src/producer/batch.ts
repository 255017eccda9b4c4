/** A producer batch: records for one partition, sent and retried as one RecordBatch. */
import { BatchBuilder, decodeBatch, type BuilderHeader } from '@fjord/protocol/core';
import type { BufferPool } from './buffer-pool.js';

export interface RecordMetadata {
  topic: string;
  partition: number;
  /** The record's offset; -1n with acks=0 or when the broker reported a duplicate without one. */
  offset: bigint;
  /** Create time given or stamped by the producer, or the broker's LogAppendTime. */
  timestamp: number;
}

/**
 * Where one record's outcome goes: a send()'s promise, or a sendBatch()'s DeliveryGroup, which puts
 * the metadata at the record's `slot` (its index in the call). The slot travels beside the delivery
 * (ProducerBatch keeps both), so a sendBatch() call allocates no object per record for it.
 */
export interface Delivery {
  resolve(m: RecordMetadata, slot: number): void;
  reject(e: Error): void;
}

/** The outcome of a sendBatch(): all metadata in order, or the first failure. */
export class DeliveryGroup implements Delivery {
  private readonly results: RecordMetadata[];
  private left: number;
  private settled = false;

  constructor(
    count: number,
    private readonly onDone: (results: RecordMetadata[]) => void,
    private readonly onFail: (e: Error) => void,
  ) {
    this.results = new Array<RecordMetadata>(count);
    this.left = count;
  }

  resolve(m: RecordMetadata, slot: number): void {
    this.results[slot] = m;
    if (--this.left === 0 && !this.settled) {
      this.settled = true;
      this.onDone(this.results);
    }
  }

  reject(e: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.onFail(e);
  }
}

/** Kafka's upper-bound estimate of one record's size in a v2 batch (varint overheads included). */
export function estimateRecordBytes(key: Buffer | null, value: Buffer | null, headers: ReadonlyArray<{ key: string; value: Buffer | null }>): number {
  let n = 21 + (key?.length ?? 0) + (value?.length ?? 0);
  // An indexed loop: for…of allocated an iterator result per record (~40 B, most of them for no headers).
  for (let i = 0; i < headers.length; i++) n += 10 + Buffer.byteLength(headers[i]!.key) + (headers[i]!.value?.length ?? 0);
  return n;
}

/**
 * Buffers of acknowledged batches, kept for new batches to write into (as the Java producer's
 * BufferPool keeps batch.size buffers). Batch buffers mostly grow past 4 KiB, beyond what Node
 * carves from its shared slab, so each new one was memory outside the JS heap, and allocating them
 * at the producer's rate made V8 run a full collection every few dozen megabytes. Newest first (the
 * one most likely still in the CPU cache).
 *
 * They count against bufferMemoryBytes with the records' reservations, as Java's free list counts
 * against buffer.memory: a buffer is kept only while reserved plus spare bytes stay within the
 * limit, and `fit()` (which the BufferPool calls after each reservation) drops the oldest spares
 * once new reservations leave them no room.
 */
export class SpareBatchBuffers {
  private readonly spares: Buffer[] = [];
  private bytes = 0;

  constructor(private readonly pool: Pick<BufferPool, 'limitBytes' | 'used'>) {}

  take(): Buffer | undefined {
    const b = this.spares.pop();
    if (b !== undefined) this.bytes -= b.length;
    return b;
  }

  give(b: Buffer): void {
    if (this.pool.used + this.bytes + b.length > this.pool.limitBytes) return;
    this.spares.push(b);
    this.bytes += b.length;
  }

  /** Drops the oldest spares until reserved plus spare bytes are within the limit again. */
  fit(): void {
    while (this.bytes > 0 && this.pool.used + this.bytes > this.pool.limitBytes) this.bytes -= this.spares.shift()!.length;
  }

  get size(): number {
    return this.spares.length;
  }

  /** Bytes held as spares. */
  get spareBytes(): number {
    return this.bytes;
  }
}

/** RecordBatch v2 header bytes. */
export const batchOverheadBytes = 61;

/**
 * Records are written into the batch's bytes as they are appended (BatchBuilder), so an appended
 * record keeps no object alive until its acknowledgement: only its delivery callbacks and timestamp.
 */
export class ProducerBatch {
  private readonly builder: BatchBuilder;
  private readonly deliveries: Delivery[] = [];
  /** Each record's slot for its delivery (its index in a sendBatch() call; 0 for send()). */
  private readonly slots: number[] = [];
  private readonly timestamps: number[] = [];
  /** Estimated encoded bytes (records plus batch header). */
  bytes = batchOverheadBytes;
  /** Bytes reserved in the buffer pool for this batch's records. */
  reservedBytes = 0;
  /** No more records go in (full, or drained). */
  closed = false;
  /** Holds records of a sendBatch() call: sent as soon as its partition can send, without lingerMs. */
  sendNow = false;
  encoded: Buffer | undefined;
  baseSequence = -1;
  producerId = -1n;
  producerEpoch = -1;
  attempts = 0;
  retryAtMs = 0;
  done = false;
  private completed = false;
  private completionPromise: Promise<void> | undefined;
  private resolveCompletion: (() => void) | undefined;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly createdAtMs: number,
    readonly deliveryDeadlineMs: number,
    capacityBytes: number,
    reuse?: Buffer,
  ) {
    this.builder = new BatchBuilder(capacityBytes, reuse);
  }

  /** The buffer the records were written into, for a new batch: only once nothing reads this one's bytes. */
  detachBuffer(): Buffer {
    this.encoded = undefined;
    return this.builder.detachBuffer();
  }

  /** Settles once every record's outcome is known (made on demand: flush() asks, most batches are never asked). */
  get completion(): Promise<void> {
    if (this.completed) return Promise.resolve();
    this.completionPromise ??= new Promise((r) => (this.resolveCompletion = r));
    return this.completionPromise;
  }

  private complete(): void {
    this.completed = true;
    this.resolveCompletion?.();
  }

  get count(): number {
    return this.deliveries.length;
  }

  add(timestampMs: number, key: Buffer | null, value: Buffer | null, headers: readonly BuilderHeader[], bytes: number, delivery: Delivery, slot: number): void {
    this.builder.append(timestampMs, key, value, headers);
    this.timestamps.push(timestampMs);
    this.deliveries.push(delivery);
    this.slots.push(slot);
    this.bytes += bytes;
    this.reservedBytes += bytes;
  }

  /** Encodes once; retries resend the same bytes (same producer id, epoch and sequence). */
  encode(compression: number, compressionLevel: number | undefined, isTransactional = false): Buffer {
    this.encoded ??= this.builder.build({
      compression,
      compressionLevel,
      isTransactional,
      producerId: this.producerId,
      producerEpoch: this.producerEpoch,
      baseSequence: this.baseSequence,
    });
    return this.encoded;
  }

  /**
   * Splits a built batch the broker refused as too large into two halves that carry its records,
   * deliveries, buffer reservation and sequence range (the first half starts at its base sequence,
   * the second right after), so nothing is renumbered. This batch completes when both halves have.
   */
  split(): [ProducerBatch, ProducerBatch] {
    if (this.encoded === undefined || this.count < 2) throw new Error('assertion failed: only a built batch of 2+ records is split');
    const { records } = decodeBatch(this.encoded);
    const half = Math.ceil(records.length / 2);
    const halves = [0, 1].map((h) => {
      const from = h === 0 ? 0 : half;
      const to = h === 0 ? half : records.length;
      let bytes = 0;
      for (let i = from; i < to; i++) bytes += estimateRecordBytes(records[i]!.key, records[i]!.value, records[i]!.headers);
      const b = new ProducerBatch(this.topic, this.partition, this.createdAtMs, this.deliveryDeadlineMs, bytes + batchOverheadBytes);
      for (let i = from; i < to; i++) {
        const r = records[i]!;
        b.add(Number(r.timestamp), r.key, r.value, r.headers, estimateRecordBytes(r.key, r.value, r.headers), this.deliveries[i]!, this.slots[i]!);
      }
      b.closed = true;
      b.producerId = this.producerId;
      b.producerEpoch = this.producerEpoch;
      b.baseSequence = this.baseSequence < 0 ? -1 : (this.baseSequence + from) % 0x80000000;
      // A resend: kept in sequence order among retries (and one in flight at a time) until written.
      b.attempts = this.attempts + 1;
      return b;
    }) as [ProducerBatch, ProducerBatch];
    // The reservation moves with the records, whole (release() must free exactly what was reserved).
    halves[1].reservedBytes = this.reservedBytes - halves[0].reservedBytes;
    this.done = true;
    void Promise.all(halves.map((b) => b.completion)).then(() => this.complete());
    return halves;
  }

  succeed(baseOffset: bigint, logAppendTimeMs: bigint): void {
    if (this.done) return;
    this.done = true;
    const appendTime = logAppendTimeMs >= 0n ? Number(logAppendTimeMs) : -1;
    // One BigInt per record (the running offset), not two (BigInt(i) and the sum).
    let offset = baseOffset;
    for (let i = 0; i < this.deliveries.length; i++) {
      this.deliveries[i]!.resolve(
        {
          topic: this.topic,
          partition: this.partition,
          offset: baseOffset < 0n ? -1n : offset,
          timestamp: appendTime >= 0 ? appendTime : this.timestamps[i]!,
        },
        this.slots[i]!,
      );
      if (baseOffset >= 0n) offset++;
    }
    this.complete();
  }

  fail(e: Error): void {
    if (this.done) return;
    this.done = true;
    for (const d of this.deliveries) d.reject(e);
    this.complete();
  }
}
