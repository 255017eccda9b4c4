/**
 * Sparse time index, Kafka's on-disk layout: entries of (timestamp int64, relative offset int32),
 * 12 bytes, big-endian, both non-decreasing; an entry (t, o) says "the largest timestamp in the
 * segment up to the batch ending at baseOffset + o is t". Appended next to offset-index entries
 * when the max timestamp grew, and once more when the segment stops being active, so the last
 * entry always holds the segment's largest timestamp (what retention by time reads).
 */
import { assert } from './errors.js';
import { IndexEntries } from './index-entries.js';
import { relativeOffsetMax } from './limits.js';

export const TIME_INDEX_ENTRY_BYTES = 12;

export interface TimestampOffset {
  timestamp: bigint;
  offset: bigint;
}

export class TimeIndex extends IndexEntries {
  constructor(baseOffset: bigint, maxIndexBytes: number, content?: Buffer) {
    super(baseOffset, maxIndexBytes, content, TIME_INDEX_ENTRY_BYTES);
  }

  timestampAt(i: number): bigint {
    return this.buf.readBigInt64BE(i * TIME_INDEX_ENTRY_BYTES);
  }

  relativeOffsetAt(i: number): number {
    return this.buf.readInt32BE(i * TIME_INDEX_ENTRY_BYTES + 8);
  }

  lastEntry(): TimestampOffset | null {
    if (this.count === 0) return null;
    return { timestamp: this.timestampAt(this.count - 1), offset: this.baseOffset + BigInt(this.relativeOffsetAt(this.count - 1)) };
  }

  /**
   * Appends (timestamp, offset) when timestamp is larger than the last entry's; `force` ignores
   * the full check (the final entry written when the segment stops being active).
   */
  maybeAppend(timestamp: bigint, offset: bigint, force = false): void {
    if (timestamp < 0n) return;
    if (this.count > 0 && timestamp <= this.timestampAt(this.count - 1)) return;
    if (!force && this.isFull) return;
    const rel = offset - this.baseOffset;
    assert(rel >= 0n && rel <= BigInt(relativeOffsetMax), `offset ${offset} does not fit time index based at ${this.baseOffset}`);
    const r = Number(rel);
    if (this.count > 0 && r < this.relativeOffsetAt(this.count - 1)) return;
    const at = this.nextEntryPosition();
    this.buf.writeBigInt64BE(timestamp, at);
    this.buf.writeInt32BE(r, at + 8);
    this.count++;
  }

  /** Largest entry whose timestamp <= target; (-1, baseOffset) when there is none. */
  lookup(target: bigint): TimestampOffset {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timestampAt(mid) <= target) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return { timestamp: -1n, offset: this.baseOffset };
    return { timestamp: this.timestampAt(found), offset: this.baseOffset + BigInt(this.relativeOffsetAt(found)) };
  }

  /** Removes entries for offsets >= offset. */
  truncate(offset: bigint): void {
    while (this.count > 0 && this.baseOffset + BigInt(this.relativeOffsetAt(this.count - 1)) >= offset) this.count--;
  }

  /** Whole entries, non-decreasing timestamps and offsets, offsets below `endOffset` (exclusive). */
  static check(content: Buffer, baseOffset: bigint, endOffset: bigint | null): string | null {
    if (content.length % TIME_INDEX_ENTRY_BYTES !== 0) return `size ${content.length} is not a multiple of ${TIME_INDEX_ENTRY_BYTES}`;
    let prevTs = -1n;
    let prevRel = -1;
    for (let i = 0; i < content.length; i += TIME_INDEX_ENTRY_BYTES) {
      const ts = content.readBigInt64BE(i);
      const rel = content.readInt32BE(i + 8);
      if (ts < prevTs || rel < prevRel || rel < 0) return `entry ${i / TIME_INDEX_ENTRY_BYTES} is not increasing`;
      if (endOffset !== null && baseOffset + BigInt(rel) >= endOffset) return `entry ${i / TIME_INDEX_ENTRY_BYTES} is past the segment's end offset ${endOffset}`;
      prevTs = ts;
      prevRel = rel;
    }
    return null;
  }
}
