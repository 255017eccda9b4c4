/**
 * What the offset index and the time index share: fixed-size entries in a buffer that starts at
 * `indexInitialBytes` and doubles, up to the entries `segment.index.bytes` allows.
 */
import { indexInitialBytes } from './limits.js';

export abstract class IndexEntries {
  protected buf: Buffer;
  protected count: number;
  readonly maxEntries: number;

  /** `content` is the file's bytes (already validated) or nothing for a new index. */
  constructor(
    readonly baseOffset: bigint,
    maxIndexBytes: number,
    content: Buffer | undefined,
    private readonly entryBytes: number,
  ) {
    this.maxEntries = Math.max(1, Math.floor(maxIndexBytes / entryBytes));
    const n = content ? Math.floor(content.length / entryBytes) : 0;
    this.count = n;
    this.buf = Buffer.alloc(Math.max(n * entryBytes, Math.min(indexInitialBytes, this.maxEntries * entryBytes)));
    if (content) content.copy(this.buf, 0, 0, n * entryBytes);
  }

  get entries(): number {
    return this.count;
  }

  get isFull(): boolean {
    return this.count >= this.maxEntries;
  }

  /** Bytes held in memory (for the cache's accounting). */
  get memoryBytes(): number {
    return this.buf.length;
  }

  /** The bytes of the file. */
  bytes(): Buffer {
    return this.buf.subarray(0, this.count * this.entryBytes);
  }

  /**
   * The byte position of entry `count`, with the buffer grown to hold it: doubled up to
   * `maxEntries`, or by exactly one entry past it (the time index's final entry).
   */
  protected nextEntryPosition(): number {
    const at = this.count * this.entryBytes;
    const need = at + this.entryBytes;
    if (need > this.buf.length) {
      const next = Buffer.alloc(Math.max(need, Math.min(this.buf.length * 2, this.maxEntries * this.entryBytes)));
      this.buf.copy(next, 0, 0, at);
      this.buf = next;
    }
    return at;
  }
}
