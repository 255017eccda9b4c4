/**
 * The newest batches of each log, kept in memory so that a consumer reading at the log end (the
 * usual case: it tails the partition) is answered without file I/O. A read from the files costs
 * two or three thread-pool round trips per partition (index, header scan, data), and under load
 * those waits, not the bytes, set a tailing consumer's latency.
 *
 * A log's cache is a run of copies of its latest appends, contiguous in offsets and ending at the
 * log end: [first entry's base, last entry's next). Any append that does not continue it (after a
 * truncation, or one too large to keep) empties it first, so it never holds anything the log does
 * not. Every log's copies count against one budget (per LogManager); the oldest entries, across
 * all logs, go first when it is exceeded, and no log keeps more than its own cap.
 *
 * Reads walk batch headers only (lengths and offsets), exactly as a file read cuts its chunks:
 * whole batches, none ending at or past the read's upper bound, within maxBytes except for a
 * first batch the reader must get whole.
 */
import { BASE_OFFSET_OFFSET, BATCH_LENGTH_OFFSET, LAST_OFFSET_DELTA_OFFSET, LOG_OVERHEAD } from '@fjord/protocol';

interface Entry {
  /** Offset of the first batch in `data`. */
  base: bigint;
  /** Offset after the last batch in `data`. */
  next: bigint;
  data: Buffer;
  /** Evicted or cleared: the budget's queue skips it. */
  gone: boolean;
  owner: TailCache;
}

/** The bytes all caches of one LogManager (or one standalone log) may hold together. */
export class TailCacheBudget {
  usedBytes = 0;
  /** Every live entry in the order added; evictions take from the front. */
  private queue: Entry[] = [];
  private head = 0;

  constructor(
    readonly bytesMax: number,
    /** One log's cap; an append larger than this is not cached. */
    readonly logBytesMax: number,
  ) {}

  /** @internal */
  added(e: Entry): void {
    this.queue.push(e);
    this.usedBytes += e.data.length;
    while (this.usedBytes > this.bytesMax && this.head < this.queue.length) {
      const old = this.queue[this.head++]!;
      if (!old.gone) old.owner.evictOldest(old);
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** @internal */
  released(bytes: number): void {
    this.usedBytes -= bytes;
  }
}

export interface TailRead {
  chunks: Buffer[];
  bytes: number;
  /** Offset after the last batch returned (the start offset when none was). */
  nextOffset: bigint;
}

export class TailCache {
  private entries: Entry[] = [];
  private bytes = 0;

  constructor(private readonly budget: TailCacheBudget) {}

  /** Offsets [start, end) the cache can serve; start === end when empty. */
  get startOffset(): bigint {
    return this.entries.length > 0 ? this.entries[0]!.base : -1n;
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  /**
   * Records an append of the batches in `runs` (in order, offsets [base, next)); copies them. The
   * runs are the batches' bytes as written to the file, headers final.
   */
  append(base: bigint, next: bigint, runs: readonly Buffer[], total: number): void {
    const last = this.entries[this.entries.length - 1];
    if (last !== undefined && last.next !== base) this.clear();
    if (total > this.budget.logBytesMax || total > this.budget.bytesMax) {
      this.clear(); // the cache must end at the log end: without this append it would not
      return;
    }
    const data = Buffer.allocUnsafe(total);
    let at = 0;
    for (const r of runs) at += r.copy(data, at);
    const e: Entry = { base, next, data, gone: false, owner: this };
    this.entries.push(e);
    this.bytes += total;
    while (this.bytes > this.budget.logBytesMax) this.evictOldest(this.entries[0]!);
    this.budget.added(e);
  }

  /** @internal Drops `e` if it is still this cache's oldest entry. */
  evictOldest(e: Entry): void {
    if (this.entries[0] !== e) return;
    this.entries.shift();
    this.drop(e);
  }

  clear(): void {
    for (const e of this.entries) this.drop(e);
    this.entries = [];
  }

  private drop(e: Entry): void {
    e.gone = true;
    this.bytes -= e.data.length;
    this.budget.released(e.data.length);
  }

  /**
   * The whole batches from the one holding `start` on, ending below `upper`, within `maxBytes`
   * (a first batch larger than that only with `minOneBatch`); null when `start` is not cached.
   */
  read(start: bigint, maxBytes: number, upper: bigint, minOneBatch: boolean): TailRead | null {
    const es = this.entries;
    if (es.length === 0 || start < es[0]!.base || start >= es[es.length - 1]!.next) return null;
    let i = es.length - 1;
    while (es[i]!.base > start) i--;
    const chunks: Buffer[] = [];
    let bytes = 0;
    let next = start;
    let skipping = true;
    for (; i < es.length; i++) {
      const d = es[i]!.data;
      let pos = 0;
      let from = 0;
      let stop = false;
      while (pos < d.length) {
        const size = LOG_OVERHEAD + d.readInt32BE(pos + BATCH_LENGTH_OFFSET);
        const last = d.readBigInt64BE(pos + BASE_OFFSET_OFFSET) + BigInt(d.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET));
        if (skipping) {
          if (last < start) {
            pos += size;
            from = pos;
            continue;
          }
          skipping = false;
        }
        if (last >= upper || (bytes + (pos - from) + size > maxBytes && !(minOneBatch && bytes === 0 && pos === from))) {
          stop = true;
          break;
        }
        pos += size;
        next = last + 1n;
      }
      if (pos > from) {
        chunks.push(d.subarray(from, pos));
        bytes += pos - from;
      }
      if (stop) break;
    }
    return { chunks, bytes, nextOffset: next };
  }
}
