/**
 * KafkaJS's two partitioners, as they behave (KafkaJS 2.x):
 * - DefaultPartitioner: keyed messages go to toPositive(murmur2(key)) % partitions with Java's
 *   murmur2 (the same partition as the Java client, librdkafka's murmur2_random and @fjord/client);
 * - LegacyPartitioner (KafkaJS 1.x's default): the same formula with KafkaJS 1.x's murmur2, which
 *   multiplies in floating point and walks the key in ceil(length / 4) words, so most keys land
 *   elsewhere than with Java's hash.
 * Both send unkeyed messages round-robin over the partitions that have a leader, from a random
 * starting point per topic, and honour message.partition.
 */
import { randomInt } from 'node:crypto';
import { defaultPartition } from '@fjord/protocol/core';

export interface PartitionMetadata {
  partitionErrorCode: number;
  partitionId: number;
  leader: number;
  replicas: number[];
  isr: number[];
  offlineReplicas?: number[];
}

/** A partition of @fjord/client's metadata in KafkaJS's shape. */
export function toPartitionMetadata(p: { errorCode: number; partition: number; leader: number; replicas: number[]; isr: number[] }): PartitionMetadata {
  return { partitionErrorCode: p.errorCode, partitionId: p.partition, leader: p.leader, replicas: p.replicas, isr: p.isr, offlineReplicas: [] };
}

export type IHeaders = Record<string, Buffer | string | Array<Buffer | string> | undefined>;

export interface Message {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  partition?: number;
  headers?: IHeaders;
  /** Create time in ms since the epoch, as a string. */
  timestamp?: string;
}

export interface PartitionerArgs {
  topic: string;
  partitionMetadata: PartitionMetadata[];
  message: Message;
}

export type ICustomPartitioner = () => (args: PartitionerArgs) => number;

function keyBytes(key: Buffer | string): Buffer {
  return Buffer.isBuffer(key) ? key : Buffer.from(String(key));
}

/** KafkaJS 1.x's murmur2: Java's constants, but `*` on doubles and a loop over ceil(length / 4) words. */
export function legacyMurmur2(data: Buffer): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = 0x9747b28c ^ length;
  const byte = (i: number): number => (data[i] ?? 0) & 0xff;
  for (let i = 0; i < length / 4; i++) {
    const at = i * 4;
    let k = byte(at) + (byte(at + 1) << 8) + (byte(at + 2) << 16) + (byte(at + 3) << 24);
    k *= m;
    k ^= k >>> 24;
    k *= m;
    h *= m;
    h ^= k;
  }
  const tail = length & ~3;
  const rest = length % 4;
  if (rest >= 3) h ^= byte(tail + 2) << 16;
  if (rest >= 2) h ^= byte(tail + 1) << 8;
  if (rest >= 1) {
    h ^= byte(tail);
    h *= m;
  }
  h ^= h >>> 13;
  h *= m;
  h ^= h >>> 15;
  return h;
}

function roundRobinPartitioner(keyed: (key: Buffer, count: number) => number): ICustomPartitioner {
  return () => {
    const counters = new Map<string, number>();
    return ({ topic, partitionMetadata, message }) => {
      if (message.partition !== null && message.partition !== undefined) return message.partition;
      const count = partitionMetadata.length;
      if (message.key !== null && message.key !== undefined) return keyed(keyBytes(message.key), count);
      const next = (counters.get(topic) ?? randomInt(0, 2 ** 31)) + 1;
      counters.set(topic, next & 0x7fffffff);
      const available = partitionMetadata.filter((p) => p.leader >= 0);
      if (available.length > 0) return available[(next & 0x7fffffff) % available.length]!.partitionId;
      return (next & 0x7fffffff) % count;
    };
  };
}

const DefaultPartitioner: ICustomPartitioner = roundRobinPartitioner((key, count) => defaultPartition(key, count));
const LegacyPartitioner: ICustomPartitioner = roundRobinPartitioner((key, count) => (legacyMurmur2(key) & 0x7fffffff) % count);

export const Partitioners = {
  DefaultPartitioner,
  LegacyPartitioner,
  /** KafkaJS's old name for DefaultPartitioner. */
  JavaCompatiblePartitioner: DefaultPartitioner,
};
