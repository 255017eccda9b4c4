/**
 * Sparse time index, Kafka's on-disk layout: entries of (timestamp int64, relative offset int32),
 * 12 bytes, big-endian, both non-decreasing; an entry (t, o) says "the largest timestamp in the
 * segment up to the batch ending at baseOffset + o is t". Appended next to offset-index entries
 * when the max timestamp grew, and once more when the segment stops being active, so the last
 * entry always holds the segment's largest timestamp (what retention by time reads).
 */
import { assert } from './errors.js';
import { indexInitialBytes, relativeOffsetMax } from './limits.js';

export const TIME_INDEX_ENTRY_BYTES = 12;

export interface TimestampOffset {
  timestamp: bigint;
  offset: bigint;
}

export class TimeIndex {
  private buf: Buffer;
  private count: number;
  readonly maxEntries: number;

  constructor(
    readonly baseOffset: bigint,
    maxIndexBytes: number,
    content?: Buffer,
  ) {
    this.maxEntries = Math.max(1, Math.floor(maxIndexBytes / TIME_INDEX_ENTRY_BYTES));
    const n = content ? Math.floor(content.length / TIME_INDEX_ENTRY_BYTES) : 0;
    this.count = n;
    const cap = Math.max(n * TIME_INDEX_ENTRY_BYTES, Math.min(indexInitialBytes, this.maxEntries * TIME_INDEX_ENTRY_BYTES));
    this.buf = Buffer.alloc(cap);
    if (content) content.copy(this.buf, 0, 0, n * TIME_INDEX_ENTRY_BYTES);
  }

  get entries(): number {
    return this.count;
  }

  get isFull(): boolean {
    return this.count >= this.maxEntries;
  }

  get memoryBytes(): number {
    return this.buf.length;
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.count * TIME_INDEX_ENTRY_BYTES);
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
    this.ensureCapacity();
    this.buf.writeBigInt64BE(timestamp, this.count * TIME_INDEX_ENTRY_BYTES);
    this.buf.writeInt32BE(r, this.count * TIME_INDEX_ENTRY_BYTES + 8);
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

  private ensureCapacity(): void {
    const need = (this.count + 1) * TIME_INDEX_ENTRY_BYTES;
    if (need <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(need, Math.min(this.buf.length * 2, this.maxEntries * TIME_INDEX_ENTRY_BYTES + TIME_INDEX_ENTRY_BYTES)));
    this.buf.copy(next, 0, 0, this.count * TIME_INDEX_ENTRY_BYTES);
    this.buf = next;
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
