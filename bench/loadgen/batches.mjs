/**
 * Pre-encoded data for producing: a pool of RecordBatch v2 buffers (random, incompressible values,
 * null keys, uncompressed, non-idempotent) and Produce request bodies built from them once, so the
 * generator spends its time on the socket and not on encoding.
 */
import { randomFillSync } from 'node:crypto';
import { ProduceRequest, Writer, encodeBatch } from '@fjord/protocol';

/** Pool size: distinct batches, so the broker does not see the same bytes every time. */
export const batchPoolSizeDefault = 64;

/** `count` batches of `recordsPerBatch` records with `recordBytes`-byte random values. */
export function batchPool({ recordBytes, recordsPerBatch, count = batchPoolSizeDefault, timestampMs = BigInt(Date.now()) }) {
  const pool = [];
  for (let i = 0; i < count; i++) {
    const records = [];
    for (let r = 0; r < recordsPerBatch; r++) {
      const value = Buffer.allocUnsafe(recordBytes);
      randomFillSync(value);
      records.push({ key: null, value, timestamp: timestampMs });
    }
    pool.push(encodeBatch({ records, baseTimestamp: timestampMs }));
  }
  return pool;
}

/**
 * Groups the (topic, partition) pairs into requests of `partitionsPerRequest` partitions, and
 * encodes `variants` bodies per group, each with different batches from the pool. A body is a chunk
 * list: the batches are linked by reference (no copy) and never modified, so one body may be in
 * flight several times at once.
 */
export function produceBodies({ topics, partitionsPerRequest, acks, timeoutMs, version, pool, variants }) {
  const pairs = [];
  for (const t of topics) for (let p = 0; p < t.partitions; p++) pairs.push([t.name, p]);
  const groups = [];
  for (let i = 0; i < pairs.length; i += partitionsPerRequest) groups.push(pairs.slice(i, i + partitionsPerRequest));
  const bodies = [];
  let next = 0;
  for (let v = 0; v < variants; v++) {
    for (const group of groups) {
      const byTopic = new Map();
      for (const [name, index] of group) {
        if (!byTopic.has(name)) byTopic.set(name, []);
        byTopic.get(name).push({ index, records: pool[next++ % pool.length] });
      }
      const w = new Writer(4096);
      ProduceRequest.encode(
        w,
        {
          transactionalId: null,
          acks,
          timeoutMs,
          topicData: [...byTopic].map(([name, partitionData]) => ({ name, partitionData })),
        },
        version,
      );
      const chunks = w.toChunks().slice();
      let bytes = 0;
      for (const c of chunks) bytes += c.length;
      bodies.push({ chunks, bytes, batches: group.length });
    }
  }
  return bodies;
}
