// An independent implementation of the Java client's murmur2 (Utils.murmur2) and its default
// partitioner for keyed records: toPositive(murmur2(key)) % numPartitions. Written from the
// algorithm, not shared with the broker, so the partitioner test does not test code against itself.

const seed = 0x9747b28c;
const m = 0x5bd1e995;
const r = 24;

/** Kafka's murmur2 as a signed 32-bit integer (what Java's Utils.murmur2 returns). */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (seed ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const tail = length & ~3;
  const rest = length % 4;
  if (rest === 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The Java client's DefaultPartitioner/BuiltInPartitioner for a non-null key. */
export function keyPartition(key: Uint8Array | string, numPartitions: number): number {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  return (murmur2(bytes) & 0x7fffffff) % numPartitions;
}

/**
 * Hash vectors of the Java implementation (org.apache.kafka.common.utils.UtilsTest#testMurmur2).
 * The partitioner test checks this implementation against them before trusting it.
 */
export const murmur2Vectors: ReadonlyArray<readonly [string, number]> = [
  ['21', -973932308],
  ['foobar', -790332482],
  ['a-little-bit-long-string', -985981536],
  ['a-little-bit-longer-string', -1486304829],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
  ['abc', 479470107],
];
