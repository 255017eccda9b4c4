/**
 * Kafka's default partitioner. Keyed records: toPositive(murmur2(key)) % partitionCount over all
 * partitions (the protocol package's murmur2, checked against Java's vectors), as the Java client
 * and librdkafka's murmur2_random. Unkeyed records: KIP-480 sticky partitioning — every unkeyed
 * record of a topic goes to one partition until a new batch would have to be created for it; then
 * a new partition is picked at random among those with a leader (different from the last one when
 * there is a choice).
 */
import { defaultPartition } from '@fjord/protocol/core';

export interface PartitionerArgs {
  topic: string;
  /** The serialized key, or null. */
  key: Buffer | null;
  value: Buffer | null;
  partitionCount: number;
  /** Partitions that currently have a leader. */
  availablePartitions: readonly number[];
}

/** A custom partitioner: return a partition, or undefined to use the default partitioner. */
export type Partitioner = (args: PartitionerArgs) => number | undefined;

export class StickyPartitioner {
  private readonly current = new Map<string, number>();

  constructor(private readonly random: () => number) {}

  /** The partition for an unkeyed record of `topic`. */
  partition(topic: string, partitionCount: number, available: readonly number[]): number {
    const p = this.current.get(topic);
    if (p !== undefined && p < partitionCount && (available.length === 0 || available.includes(p))) return p;
    return this.next(topic, partitionCount, available, p);
  }

  /** KIP-480's onNewBatch: the sticky partition's batch is full or gone; move on. */
  onNewBatch(topic: string, partitionCount: number, available: readonly number[], previous: number): number {
    const p = this.current.get(topic);
    if (p !== undefined && p !== previous) return p;
    return this.next(topic, partitionCount, available, previous);
  }

  private next(topic: string, partitionCount: number, available: readonly number[], previous: number | undefined): number {
    const pool = available.length > 0 ? available : Array.from({ length: partitionCount }, (_, i) => i);
    const choices = pool.length > 1 && previous !== undefined ? pool.filter((x) => x !== previous) : pool;
    const p = choices[Math.floor(this.random() * choices.length) % choices.length]!;
    this.current.set(topic, p);
    return p;
  }
}

/** The keyed part of the default partitioner. */
export function keyPartition(key: Buffer, partitionCount: number): number {
  return defaultPartition(key, partitionCount);
}
