/**
 * The newest batches of each log, kept in memory so that a consumer reading at the log end (the
 * usual case: it tails the partition) is answered without file I/O. A read from the files costs
 * two or three thread-pool round trips per partition (index, header scan, data), and under load
 * those waits, not the bytes, set a tailing consumer's latency.
 *
 * A log's cache is a run of its latest appends, contiguous in offsets and ending at the log end:
 * [first entry's base, last entry's next). Any append that does not continue it (after a
 * truncation, or one too large to keep) empties it first, so it never holds anything the log does
 * not. No log keeps more than its own cap of batch bytes.
 *
 * The appended bytes are kept by reference, not copied (a copy of everything produced cost the
 * broker 8% of its produce-path CPU and more GC): the budget (per LogManager) counts the memory
 * actually kept alive, each backing ArrayBuffer once however many entries share it (one produce
 * request's frame serves all its partitions). Buffers whose backing is over an eighth of the
 * budget are copied instead, so one huge request cannot take all of it. When the budget is
 * exceeded the oldest entries, across all logs, go first. The log's append contract makes this
 * safe: the caller does not modify `buf` after append().
 *
 * Reads walk batch headers only (lengths and offsets), exactly as a file read cuts its chunks:
 * whole batches, none ending at or past the read's upper bound, within maxBytes except for a
 * first batch the reader must get whole.
 */
import { BASE_OFFSET_OFFSET, BATCH_LENGTH_OFFSET, LAST_OFFSET_DELTA_OFFSET, LOG_OVERHEAD } from '@fjord/protocol';

/** Gone entries waiting in the budget's queue beyond twice the live ones before it is compacted. */
const queueSlack = 1024;
const EMPTY = Buffer.alloc(0);

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

/** The memory all caches of one LogManager (or one standalone log) may keep alive together. */
export class TailCacheBudget {
  /** Bytes of the backing ArrayBuffers the entries keep alive (each counted once). */
  usedBytes = 0;
  /**
   * Entries in the order added; evictions take from the front. Entries a log dropped by itself
   * (its own cap, a truncation, a close) stay here, marked gone and holding no bytes, until the
   * queue is compacted: it never holds more than twice the live entries plus `queueSlack`.
   */
  private queue: Entry[] = [];
  private head = 0;
  /** Entries not gone (in logs' caches). */
  private live = 0;
  /** Entries per backing ArrayBuffer. */
  private readonly backings = new Map<ArrayBufferLike, number>();

  constructor(
    readonly bytesMax: number,
    /** One log's cap; an append larger than this is not cached. */
    readonly logBytesMax: number,
  ) {}

  /** A buffer to keep for `data`: itself, or a copy when its backing is too large to keep alive. */
  keepable(data: Buffer): Buffer {
    if (data.buffer.byteLength <= this.bytesMax / 8) return data;
    const copy = Buffer.allocUnsafeSlow(data.length);
    data.copy(copy);
    return copy;
  }

  /** @internal Length of the eviction queue, gone entries included (tests: it stays bounded). */
  get queuedEntries(): number {
    return this.queue.length - this.head;
  }

  /** @internal */
  added(e: Entry): void {
    this.queue.push(e);
    this.live++;
    const ab = e.data.buffer;
    const n = this.backings.get(ab) ?? 0;
    if (n === 0) this.usedBytes += ab.byteLength;
    this.backings.set(ab, n + 1);
    while (this.usedBytes > this.bytesMax && this.head < this.queue.length) {
      const old = this.queue[this.head++]!;
      if (!old.gone) old.owner.evictOldest(old);
    }
    // Everything before `head` was evicted, and logs drop their own oldest entries (their cap) far
    // more often than the budget evicts: one compaction keeps the queue bounded for both.
    if (this.queue.length > 2 * this.live + queueSlack) {
      this.queue = this.queue.filter((x, i) => i >= this.head && !x.gone);
      this.head = 0;
    }
  }

  /** @internal */
  released(e: Entry): void {
    this.live--;
    const ab = e.data.buffer;
    const n = this.backings.get(ab)!;
    if (n > 1) this.backings.set(ab, n - 1);
    else {
      this.backings.delete(ab);
      this.usedBytes -= ab.byteLength;
    }
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
   * Records an append of the batches in `runs` (in order, offsets [base, next)): the batches'
   * bytes as written to the file, headers final, kept by reference (see above).
   */
  append(base: bigint, next: bigint, runs: readonly Buffer[], total: number): void {
    const last = this.entries[this.entries.length - 1];
    if (last !== undefined && last.next !== base) this.clear();
    if (total > this.budget.logBytesMax || total > this.budget.bytesMax / 8) {
      this.clear(); // the cache must end at the log end: without this append it would not
      return;
    }
    for (let i = 0; i < runs.length; i++) {
      const data = this.budget.keepable(runs[i]!);
      const runBase = i === 0 ? base : data.readBigInt64BE(BASE_OFFSET_OFFSET);
      const runNext = i + 1 < runs.length ? runs[i + 1]!.readBigInt64BE(BASE_OFFSET_OFFSET) : next;
      const e: Entry = { base: runBase, next: runNext, data, gone: false, owner: this };
      this.entries.push(e);
      this.bytes += data.length;
      this.budget.added(e);
    }
    while (this.bytes > this.budget.logBytesMax) this.evictOldest(this.entries[0]!);
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
    this.budget.released(e);
    e.data = EMPTY; // the budget's queue may keep the entry a while, never its bytes
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
