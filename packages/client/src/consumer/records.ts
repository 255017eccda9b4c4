/**
 * Turns one partition's Fetch answer into the records a consumer returns. Pure and synchronous.
 *
 * Batches are decoded with @fjord/protocol's decodeBatch (CRC checked, any codec). Records before
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
  readBatchHeader,
  readControlRecordType,
} from '@fjord/protocol';

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
    const decoded = decodeBatch(data, start);
    const timestampType = (header.attributes & TIMESTAMP_TYPE_MASK) !== 0 ? 'LogAppendTime' : 'CreateTime';
    for (const r of decoded.records) {
      if (r.offset < fetchOffset) continue;
      records.push({
        topic,
        partition,
        offset: r.offset,
        timestamp: Number(r.timestamp),
        timestampType,
        key: r.key,
        value: r.value,
        headers: r.headers.map((h) => [h.key, h.value]),
        leaderEpoch: header.partitionLeaderEpoch,
      });
    }
  }
  return { records, nextOffset, batchCount };
}
