/**
 * A segment's transaction index, Kafka's `.txnindex` layout: one 34-byte entry per transaction
 * ABORTED in the segment (the segment holding its ABORT marker), in marker order:
 *
 *   version int16 (0) | producerId int64 | firstOffset int64 | lastOffset int64 | lastStableOffset int64
 *
 * lastOffset is the marker's offset; lastStableOffset is the log's last stable offset once the
 * transaction completed (the first offset of the next still-open transaction of another producer,
 * else lastOffset + 1). A read_committed fetch collects the entries whose range overlaps what it
 * returns; an entry whose lastStableOffset reaches the fetch's upper bound ends the search, as in
 * Kafka's TransactionIndex.collectAbortedTxns.
 *
 * Held in memory as a growable buffer (34 bytes per aborted transaction); the file exists only
 * when there are entries, is written whole when the segment is finalized (roll), at clean close
 * and after a rebuild, and like the other indexes is rebuilt from the log after a crash.
 */
import { assert } from './errors.js';

export const TXN_INDEX_ENTRY_BYTES = 34;
const VERSION = 0;
const EMPTY = Buffer.alloc(0);

export interface AbortedTxn {
  producerId: bigint;
  firstOffset: bigint;
  lastOffset: bigint;
  lastStableOffset: bigint;
}

export class TxnIndex {
  /** Allocated on the first entry: most segments never hold an aborted transaction. */
  private buf: Buffer = EMPTY;
  private count = 0;

  constructor(content?: Buffer) {
    const n = content ? Math.floor(content.length / TXN_INDEX_ENTRY_BYTES) : 0;
    if (content && n > 0) {
      this.buf = Buffer.alloc(n * TXN_INDEX_ENTRY_BYTES);
      content.copy(this.buf, 0, 0, n * TXN_INDEX_ENTRY_BYTES);
      this.count = n;
    }
  }

  /**
   * Parses a `.txnindex` file: whole entries of version 0 with increasing last offsets. Anything
   * else ends the index there (reported in `problem`); the caller logs it and rebuilds or trims.
   */
  static parse(content: Buffer): { index: TxnIndex; problem: string | null } {
    let n = Math.floor(content.length / TXN_INDEX_ENTRY_BYTES);
    let problem: string | null = content.length % TXN_INDEX_ENTRY_BYTES === 0 ? null : `${content.length} bytes is not a whole number of ${TXN_INDEX_ENTRY_BYTES}-byte entries`;
    let prevLast = -1n;
    for (let i = 0; i < n; i++) {
      const at = i * TXN_INDEX_ENTRY_BYTES;
      const version = content.readInt16BE(at);
      const first = content.readBigInt64BE(at + 10);
      const last = content.readBigInt64BE(at + 18);
      let bad: string | null = null;
      if (version !== VERSION) bad = `entry ${i} has version ${version}`;
      else if (last <= prevLast || first > last || first < 0n) bad = `entry ${i} (${first}..${last}) does not follow ${prevLast}`;
      if (bad) {
        problem = bad;
        n = i;
        break;
      }
      prevLast = last;
    }
    return { index: new TxnIndex(content.subarray(0, n * TXN_INDEX_ENTRY_BYTES)), problem };
  }

  get entries(): number {
    return this.count;
  }

  /** The bytes of the file. */
  bytes(): Buffer {
    return this.buf.subarray(0, this.count * TXN_INDEX_ENTRY_BYTES);
  }

  get lastOffset(): bigint {
    return this.count === 0 ? -1n : this.lastOffsetAt(this.count - 1);
  }

  private lastOffsetAt(i: number): bigint {
    return this.buf.readBigInt64BE(i * TXN_INDEX_ENTRY_BYTES + 18);
  }

  entryAt(i: number): AbortedTxn {
    const at = i * TXN_INDEX_ENTRY_BYTES;
    return {
      producerId: this.buf.readBigInt64BE(at + 2),
      firstOffset: this.buf.readBigInt64BE(at + 10),
      lastOffset: this.buf.readBigInt64BE(at + 18),
      lastStableOffset: this.buf.readBigInt64BE(at + 26),
    };
  }

  all(): AbortedTxn[] {
    const out: AbortedTxn[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.entryAt(i));
    return out;
  }

  append(t: AbortedTxn): void {
    assert(t.lastOffset > this.lastOffset, `aborted transaction ending at ${t.lastOffset} does not follow ${this.lastOffset}`);
    if ((this.count + 1) * TXN_INDEX_ENTRY_BYTES > this.buf.length) {
      const bigger = Buffer.alloc(Math.max(4 * TXN_INDEX_ENTRY_BYTES, this.buf.length * 2));
      this.buf.copy(bigger, 0, 0, this.count * TXN_INDEX_ENTRY_BYTES);
      this.buf = bigger;
    }
    const at = this.count * TXN_INDEX_ENTRY_BYTES;
    this.buf.writeInt16BE(VERSION, at);
    this.buf.writeBigInt64BE(t.producerId, at + 2);
    this.buf.writeBigInt64BE(t.firstOffset, at + 10);
    this.buf.writeBigInt64BE(t.lastOffset, at + 18);
    this.buf.writeBigInt64BE(t.lastStableOffset, at + 26);
    this.count++;
  }

  /** Drops the entries of transactions ending at or after `offset` (the log was truncated there). */
  truncate(offset: bigint): boolean {
    let n = this.count;
    while (n > 0 && this.lastOffsetAt(n - 1) >= offset) n--;
    const changed = n !== this.count;
    this.count = n;
    return changed;
  }

  /**
   * Kafka's collectAbortedTxns: adds to `out` every transaction overlapping [fetchOffset,
   * upperBoundOffset) and returns true when the search is complete (an entry's last stable offset
   * reached the upper bound, so no later segment can hold an overlapping transaction). Entries
   * ending before fetchOffset are skipped by binary search: their last stable offset is at most
   * lastOffset + 1 <= fetchOffset, so none of them could end the search.
   */
  collect(fetchOffset: bigint, upperBoundOffset: bigint, out: AbortedTxn[]): boolean {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.lastOffsetAt(mid) < fetchOffset) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.count; i++) {
      const t = this.entryAt(i);
      if (t.lastOffset >= fetchOffset && t.firstOffset < upperBoundOffset) out.push(t);
      if (t.lastStableOffset >= upperBoundOffset) return true;
    }
    return false;
  }
}
