/**
 * The leader-epoch cache: for each leader epoch, the first offset written in it. Backs
 * OffsetForLeaderEpoch (truncation after leader changes) and is persisted per partition in
 * `leader-epoch-checkpoint`. Entries are few (one per leadership change), so an array is fine.
 */
import type { EpochEntry } from './checkpoint.js';

export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1n;

export class LeaderEpochCache {
  private entries: EpochEntry[];
  /** Changed since the last checkpoint write. */
  dirty = false;

  constructor(entries: readonly EpochEntry[] = []) {
    this.entries = [];
    for (const e of entries) this.assign(e.epoch, e.startOffset);
    this.dirty = false;
  }

  get latestEpoch(): number {
    return this.entries.length === 0 ? UNDEFINED_EPOCH : this.entries[this.entries.length - 1]!.epoch;
  }

  snapshot(): EpochEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }

  /**
   * Records that `epoch` starts at `startOffset`. Only a new, larger epoch is recorded; entries it
   * contradicts (a larger or equal epoch, or a start at or after this one) are dropped, as Kafka does.
   * Returns whether anything changed.
   */
  assign(epoch: number, startOffset: bigint): boolean {
    if (epoch < 0) return false;
    const latest = this.entries[this.entries.length - 1];
    if (latest && latest.epoch === epoch) return false;
    if (latest && epoch < latest.epoch && startOffset >= latest.startOffset) return false;
    const kept = this.entries.filter((e) => e.epoch < epoch && e.startOffset < startOffset);
    kept.push({ epoch, startOffset });
    this.entries = kept;
    this.dirty = true;
    return true;
  }

  /** Drops entries that start at or after endOffset (the log was truncated to endOffset). */
  truncateFromEnd(endOffset: bigint): void {
    const kept = this.entries.filter((e) => e.startOffset < endOffset);
    if (kept.length !== this.entries.length) {
      this.entries = kept;
      this.dirty = true;
    }
  }

  /**
   * The log now starts at startOffset: entries before it are dropped except the last one, which
   * moves to startOffset (its epoch still covers the first remaining offsets).
   */
  truncateFromStart(startOffset: bigint): void {
    let lastBefore = -1;
    for (let i = 0; i < this.entries.length; i++) if (this.entries[i]!.startOffset <= startOffset) lastBefore = i;
    if (lastBefore < 0) return;
    const e = this.entries[lastBefore]!;
    if (lastBefore === 0 && e.startOffset === startOffset) return;
    this.entries = [{ epoch: e.epoch, startOffset }, ...this.entries.slice(lastBefore + 1)];
    this.dirty = true;
  }

  /**
   * Kafka's OffsetForLeaderEpoch answer for `requested`: the largest epoch <= requested and the
   * offset where the next epoch starts (the log end offset for the latest epoch). Unknown when the
   * cache is empty or the request is above every epoch.
   */
  endOffsetFor(requested: number, logEndOffset: bigint): { leaderEpoch: number; endOffset: bigint } {
    const undef = { leaderEpoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    if (requested === UNDEFINED_EPOCH || this.entries.length === 0) return undef;
    if (requested === this.latestEpoch) return { leaderEpoch: requested, endOffset: logEndOffset };
    const higher = this.entries.findIndex((e) => e.epoch > requested);
    if (higher < 0) return undef;
    const next = this.entries[higher]!;
    if (higher === 0) return { leaderEpoch: requested, endOffset: next.startOffset };
    return { leaderEpoch: this.entries[higher - 1]!.epoch, endOffset: next.startOffset };
  }
}
