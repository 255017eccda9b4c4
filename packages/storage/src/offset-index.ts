/**
 * Sparse offset index, Kafka's on-disk layout: entries of (relative offset int32, file position
 * int32), 8 bytes, big-endian, both strictly increasing. An entry (o, p) means "the batch whose
 * last offset is baseOffset + o starts at byte p" (Kafka indexes a batch by its last offset).
 *
 * Held in memory as a growable buffer; the file is written whole when the segment is finalized
 * (roll), at clean close and after a rebuild. On unclean recovery indexes past the recovery point
 * are rebuilt, so they need not be written on every append.
 */
import { assert } from './errors.js';
import { IndexEntries } from './index-entries.js';
import { relativeOffsetMax } from './limits.js';

export const OFFSET_INDEX_ENTRY_BYTES = 8;

export interface OffsetPosition {
  offset: bigint;
  position: number;
}

export class OffsetIndex extends IndexEntries {
  constructor(baseOffset: bigint, maxIndexBytes: number, content?: Buffer) {
    super(baseOffset, maxIndexBytes, content, OFFSET_INDEX_ENTRY_BYTES);
  }

  relativeOffsetAt(i: number): number {
    return this.buf.readInt32BE(i * OFFSET_INDEX_ENTRY_BYTES);
  }

  positionAt(i: number): number {
    return this.buf.readInt32BE(i * OFFSET_INDEX_ENTRY_BYTES + 4);
  }

  lastEntry(): OffsetPosition | null {
    if (this.count === 0) return null;
    return { offset: this.baseOffset + BigInt(this.relativeOffsetAt(this.count - 1)), position: this.positionAt(this.count - 1) };
  }

  append(offset: bigint, position: number): void {
    const rel = offset - this.baseOffset;
    assert(rel >= 0n && rel <= BigInt(relativeOffsetMax), `offset ${offset} does not fit index based at ${this.baseOffset}`);
    assert(!this.isFull, 'offset index is full');
    const r = Number(rel);
    if (this.count > 0) {
      assert(r > this.relativeOffsetAt(this.count - 1), `offset index entries must increase (${offset})`);
      assert(position > this.positionAt(this.count - 1), `offset index positions must increase (${position})`);
    }
    const at = this.nextEntryPosition();
    this.buf.writeInt32BE(r, at);
    this.buf.writeInt32BE(position, at + 4);
    this.count++;
  }

  /** Largest entry whose offset <= target; (baseOffset, 0) when there is none. */
  lookup(target: bigint): OffsetPosition {
    const rel = target - this.baseOffset;
    if (rel < 0n || this.count === 0) return { offset: this.baseOffset, position: 0 };
    const r = rel > BigInt(relativeOffsetMax) ? relativeOffsetMax : Number(rel);
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.relativeOffsetAt(mid) <= r) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return { offset: this.baseOffset, position: 0 };
    return { offset: this.baseOffset + BigInt(this.relativeOffsetAt(found)), position: this.positionAt(found) };
  }

  /** Removes every entry for offsets >= offset or positions >= position. */
  truncate(offset: bigint, position: number): void {
    while (this.count > 0) {
      const i = this.count - 1;
      if (this.baseOffset + BigInt(this.relativeOffsetAt(i)) >= offset || this.positionAt(i) >= position) this.count--;
      else break;
    }
  }

  /**
   * Checks file content against its segment: whole entries, strictly increasing offsets and
   * positions, every position inside the log file. Returns a reason or null when sound.
   */
  static check(content: Buffer, logSizeBytes: number): string | null {
    if (content.length % OFFSET_INDEX_ENTRY_BYTES !== 0) return `size ${content.length} is not a multiple of ${OFFSET_INDEX_ENTRY_BYTES}`;
    let prevRel = -1;
    let prevPos = -1;
    for (let i = 0; i < content.length; i += OFFSET_INDEX_ENTRY_BYTES) {
      const rel = content.readInt32BE(i);
      const pos = content.readInt32BE(i + 4);
      if (rel <= prevRel || pos <= prevPos) return `entry ${i / OFFSET_INDEX_ENTRY_BYTES} is not increasing`;
      if (pos >= logSizeBytes) return `entry ${i / OFFSET_INDEX_ENTRY_BYTES} points at ${pos}, past the log's ${logSizeBytes} bytes`;
      prevRel = rel;
      prevPos = pos;
    }
    return null;
  }
}
