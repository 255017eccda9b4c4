/**
 * One partition this broker leads: its log, its leader epoch, and the waiters (long-poll fetches)
 * to wake when data is appended. On one node the high watermark follows the log end offset.
 */
import type { PartitionLog } from '@fjord/storage';
import type { ProduceSettings } from './log-config.js';

export class Partition {
  private readonly watchers = new Set<() => void>();

  constructor(
    readonly topic: string,
    readonly index: number,
    public topicId: string,
    readonly log: PartitionLog,
    public leaderEpoch: number,
    public settings: ProduceSettings,
  ) {}

  get key(): string {
    return `${this.topic}-${this.index}`;
  }

  get highWatermark(): bigint {
    return this.log.highWatermark;
  }

  /** The last stable offset: read_committed consumers read below it (= the high watermark without open transactions). */
  get lastStableOffset(): bigint {
    return this.log.lastStableOffset;
  }

  get logStartOffset(): bigint {
    return this.log.logStartOffset;
  }

  get logEndOffset(): bigint {
    return this.log.logEndOffset;
  }

  /** Registers a callback for the next append, until unwatch(fn). */
  watch(fn: () => void): void {
    this.watchers.add(fn);
  }

  unwatch(fn: () => void): void {
    this.watchers.delete(fn);
  }

  notifyAppend(): void {
    if (this.watchers.size === 0) return;
    for (const fn of [...this.watchers]) fn();
  }
}
