/**
 * Turns one partition's Fetch answer into the records a consumer returns. Pure and synchronous.
 *
 * Batches are decoded with @fjord/protocol's decodeBatchRecords (CRC checked, any codec), which
 * hands each record's fields to a visitor that makes the ConsumerRecord at once. Records before
 * the fetch offset (a compressed batch is returned whole) are dropped; control batches (transaction
 * markers) are never returned but still move the position past them. With read_committed the
 * aborted transactions are filtered as the Java client's CompletedFetch does: the broker's list is
 * sorted by first offset (Kafka lists them in abort order), a producer becomes "aborted" once a
 * batch at or past its first offset is reached, its transactional batches are skipped, and its
 * ABORT marker ends that.
 */
import {
  BASE_OFFSET_OFFSET,
  BATCH_LENGTH_OFFSET,
  CONTROL_FLAG_MASK,
  LAST_OFFSET_DELTA_OFFSET,
  ControlRecordType,
  LOG_OVERHEAD,
  MIN_BATCH_LENGTH,
  TIMESTAMP_TYPE_MASK,
  TRANSACTIONAL_FLAG_MASK,
  batchLastOffset,
  decodeBatch,
  decodeBatchRecords,
  readBatchHeader,
  readControlRecordType,
  type BatchHeader,
  type RecordFields,
  type RecordVisitor,
} from '@fjord/protocol/core';

export type IsolationLevel = 'read_uncommitted' | 'read_committed';

export interface ConsumerRecord<K = Buffer | null, V = Buffer | null> {
  topic: string;
  partition: number;
  offset: bigint;
  /** ms since the epoch: the producer's create time, or the broker's append time (timestampType). */
  timestamp: number;
  timestampType: 'CreateTime' | 'LogAppendTime';
  /** Bytes (views of the fetched data), or what keyDeserializer / valueDeserializer made of them. */
  key: K;
  value: V;
  /** In the order written; a name may repeat. */
  headers: Array<[string, Buffer | null]>;
  leaderEpoch: number;
}

export interface AbortedTransaction {
  producerId: bigint;
  firstOffset: bigint;
}

export interface PartitionRecords {
  records: ConsumerRecord[];
  /** Where the next fetch of this partition starts: past every whole batch looked at (markers and aborted batches included). */
  nextOffset: bigint;
  /** Whole batches found; 0 with bytes present means the first batch did not fit in the answer. */
  batchCount: number;
}

/**
 * Where a fetch after these bytes starts, and how many whole batches they hold, from the batch
 * headers alone (the same figures decodePartitionRecords gives): the fetch loop uses it to fetch
 * again at once and leaves the records to be decoded when the application takes them.
 */
export function scanPartitionRecords(data: Buffer | null, fetchOffset: bigint): { nextOffset: bigint; batchCount: number; corrupt: boolean } {
  let nextOffset = fetchOffset;
  let batchCount = 0;
  if (data === null) return { nextOffset, batchCount, corrupt: false };
  let pos = 0;
  // Reads the three header fields it needs (a full header read makes five BigInts).
  while (data.length - pos >= LOG_OVERHEAD + MIN_BATCH_LENGTH) {
    const batchLength = data.readInt32BE(pos + BATCH_LENGTH_OFFSET);
    if (batchLength < MIN_BATCH_LENGTH) return { nextOffset, batchCount, corrupt: true }; // decodePartitionRecords names the fault
    const size = LOG_OVERHEAD + batchLength;
    if (size > data.length - pos) break;
    const lastOffset = data.readBigInt64BE(pos + BASE_OFFSET_OFFSET) + BigInt(data.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET));
    pos += size;
    batchCount++;
    if (lastOffset >= fetchOffset) nextOffset = lastOffset + 1n;
  }
  return { nextOffset, batchCount, corrupt: false };
}

export function decodePartitionRecords(
  topic: string,
  partition: number,
  data: Buffer | null,
  fetchOffset: bigint,
  isolation: IsolationLevel,
  aborted: readonly AbortedTransaction[] | null,
): PartitionRecords {
  const records: ConsumerRecord[] = [];
  let nextOffset = fetchOffset;
  let batchCount = 0;
  if (data === null || data.length === 0) return { records, nextOffset, batchCount };
  const readCommitted = isolation === 'read_committed';
  const pendingAborts = readCommitted && aborted ? [...aborted].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0)) : [];
  const abortedProducers = new Set<bigint>();
  let pos = 0;
  while (data.length - pos >= LOG_OVERHEAD + MIN_BATCH_LENGTH) {
    const header = readBatchHeader(data, pos);
    const size = LOG_OVERHEAD + header.batchLength;
    if (size > data.length - pos) break; // a partial batch at the end of the answer (KIP-74): fetched again next time
    const start = pos;
    pos += size;
    batchCount++;
    const lastOffset = batchLastOffset(header);
    if (lastOffset < fetchOffset) continue;
    const isControl = (header.attributes & CONTROL_FLAG_MASK) !== 0;
    const isTransactional = (header.attributes & TRANSACTIONAL_FLAG_MASK) !== 0;
    if (readCommitted && header.producerId >= 0n) {
      while (pendingAborts.length > 0 && pendingAborts[0]!.firstOffset <= lastOffset) abortedProducers.add(pendingAborts.shift()!.producerId);
      if (isControl) {
        const decoded = decodeBatch(data, start);
        const first = decoded.records[0];
        if (first && readControlRecordType(first) === ControlRecordType.ABORT) abortedProducers.delete(header.producerId);
      } else if (isTransactional && abortedProducers.has(header.producerId)) {
        nextOffset = lastOffset + 1n;
        continue;
      }
    }
    nextOffset = lastOffset + 1n;
    if (isControl) continue;
    decodeBatchRecords(data, start, { header }, new ConsumerRecordMaker(topic, partition, header, fetchOffset, records));
  }
  return { records, nextOffset, batchCount };
}

type Header = [string, Buffer | null];

/** `x` as a number when that is exact, else NaN (so that arithmetic on it fails the safe-integer test). */
function exactNumber(x: bigint): number {
  const n = Number(x);
  return Number.isSafeInteger(n) ? n : Number.NaN;
}

/**
 * Makes one batch's ConsumerRecords from the decoder's fields: offsets and timestamps in number
 * arithmetic when exact (one BigInt per record, for the offset), headers made as pairs at once.
 */
class ConsumerRecordMaker implements RecordVisitor<Header> {
  private readonly baseOffset: bigint;
  private readonly baseOffsetNumber: number;
  private readonly baseTimestamp: bigint;
  private readonly baseTimestampNumber: number;
  /** The batch's maxTimestamp for LogAppendTime batches (every record has it), else undefined. */
  private readonly logAppendTime: number | undefined;
  private readonly timestampType: ConsumerRecord['timestampType'];
  private readonly leaderEpoch: number;

  constructor(
    private readonly topic: string,
    private readonly partition: number,
    header: BatchHeader,
    private readonly fetchOffset: bigint,
    private readonly out: ConsumerRecord[],
  ) {
    this.baseOffset = header.baseOffset;
    this.baseOffsetNumber = exactNumber(header.baseOffset);
    this.baseTimestamp = header.baseTimestamp;
    this.baseTimestampNumber = exactNumber(header.baseTimestamp);
    const logAppend = (header.attributes & TIMESTAMP_TYPE_MASK) !== 0;
    this.logAppendTime = logAppend ? Number(header.maxTimestamp) : undefined;
    this.timestampType = logAppend ? 'LogAppendTime' : 'CreateTime';
    this.leaderEpoch = header.partitionLeaderEpoch;
  }

  header(key: string, value: Buffer | null): Header {
    return [key, value];
  }

  record(f: RecordFields<Header>): void {
    const o = this.baseOffsetNumber + f.offsetDelta;
    const offset = Number.isSafeInteger(o) ? BigInt(o) : this.baseOffset + BigInt(f.offsetDelta);
    if (offset < this.fetchOffset) return;
    this.out.push({
      topic: this.topic,
      partition: this.partition,
      offset,
      timestamp: this.logAppendTime ?? this.timestampOf(f.timestampDelta),
      timestampType: this.timestampType,
      key: f.key,
      value: f.value,
      headers: f.headers,
      leaderEpoch: this.leaderEpoch,
    });
  }

  /** Number(baseTimestamp + delta): the float sum of two exact numbers rounds as Number() of the exact sum does. */
  private timestampOf(delta: number | bigint): number {
    if (typeof delta === 'number' && !Number.isNaN(this.baseTimestampNumber)) return this.baseTimestampNumber + delta;
    return Number(this.baseTimestamp + BigInt(delta));
  }
}
