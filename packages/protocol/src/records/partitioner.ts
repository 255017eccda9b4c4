/**
 * Kafka's default key partitioning: murmur2 (Kafka's Utils.murmur2, MurmurHash2 32-bit with seed
 * 0x9747b28c) of the serialized key, made positive by masking the sign bit, modulo the partition
 * count. Every Kafka client that "partitions like Java" (librdkafka's murmur2_random, kafkajs's
 * DefaultPartitioner, franz-go's StickyKeyPartitioner) computes the same thing, so a key written
 * by any of them lands where Fjord's own clients expect it.
 */
const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** MurmurHash2 of `data` as Kafka computes it; a signed int32 like Java's `int`. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & 3;
  if (tail > 0) {
    if (tail === 3) h ^= data[whole + 2]! << 16;
    if (tail >= 2) h ^= data[whole + 1]! << 8;
    h ^= data[whole]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's Utils.toPositive: clears the sign bit (not Math.abs, which overflows at int32 min). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** The partition Kafka's default partitioner picks for a non-null key. */
export function defaultPartition(key: Uint8Array, numPartitions: number): number {
  if (!Number.isInteger(numPartitions) || numPartitions < 1 || numPartitions > 0x7fffffff) {
    throw new RangeError(`numPartitions must be a positive int32, got ${numPartitions}`);
  }
  return toPositive(murmur2(key)) % numPartitions;
}
