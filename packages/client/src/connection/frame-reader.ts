/**
 * Cuts a broker's byte stream into response frames, for a socket read through net.connect's
 * `onread` option: the kernel writes straight into the buffers handed out by `buffer()`, so most
 * bytes are never copied (the 'data' path allocates a 64 KiB chunk per read and joins the chunks
 * of a large frame into one more buffer: twice the bytes copied and twice the external memory that
 * drives the garbage collector).
 *
 * - Responses are read into an arena (connectionReadArenaBytes) and handed out as views of it. The
 *   arena is only ever written forward, so a frame handed out is never overwritten. When its free
 *   tail gets under a sixteenth of it, a fresh arena takes over and only the unfinished frame's
 *   bytes move; an old arena lives as long as a frame viewing it does (as socket chunks did).
 * - A frame that does not fit in the arena's free tail and takes more than half an arena gets a
 *   buffer of exactly its size once its 4-byte size is known: the bytes already read are copied
 *   in, and the following reads land in it and stop at its end (the next frame's bytes stay in the
 *   socket). A smaller frame that does not fit moves to a fresh arena instead, so that a run of
 *   medium frames is not copied one by one into buffers of their own.
 *
 * Pure bookkeeping, no I/O: the socket calls buffer() before each read and read() after it.
 */
import { frameSizeBytes } from '@fjord/protocol/core';

export class FrameReader {
  private arena: Buffer;
  /** Start (size prefix) of the first frame in the arena not yet handed out. */
  private start = 0;
  /** End of the bytes read into the arena. */
  private end = 0;
  /** The frame (without its size) being read into a buffer of its own, if any. */
  private large: Buffer | undefined;
  private largeFilled = 0;
  private stopped = false;
  private readonly tailBytesMin: number;
  private readonly readBytesMax: number;

  /**
   * `onFrame` gets each frame without its 4-byte size; `onBadSize` gets a size outside
   * 4..frameBytesMax, after which the reader stops (the stream cannot be cut any more).
   */
  constructor(
    private readonly arenaBytes: number,
    private readonly frameBytesMax: number,
    private readonly onFrame: (frame: Buffer) => void,
    private readonly onBadSize: (size: number) => void,
  ) {
    if (!Number.isInteger(arenaBytes) || arenaBytes < 64) throw new Error(`assertion failed: arena of ${arenaBytes} bytes`);
    this.arena = Buffer.allocUnsafeSlow(arenaBytes);
    this.tailBytesMin = arenaBytes >>> 4;
    this.readBytesMax = arenaBytes >>> 2;
  }

  /**
   * The buffer the next read fills (onread.buffer); never empty. A read into the arena takes at
   * most a quarter of it (64 KiB, Node's own read size): that bounds what is copied when the read
   * turns out to start a large frame.
   */
  buffer(): Buffer {
    if (this.large) return this.large.subarray(this.largeFilled);
    return this.arena.subarray(this.end, Math.min(this.arena.length, this.end + this.readBytesMax));
  }

  /** `bytes` were read into the start of the buffer last given by buffer() (onread.callback). */
  read(bytes: number): void {
    if (this.stopped) return;
    if (this.large) {
      this.largeFilled += bytes;
      if (this.largeFilled < this.large.length) return;
      const frame = this.large;
      this.large = undefined;
      this.onFrame(frame);
      return;
    }
    this.end += bytes;
    this.cut();
    if (!this.stopped) this.makeRoom();
  }

  /** Ignores every later read (the connection is closed). */
  stop(): void {
    this.stopped = true;
  }

  /** Hands out every whole frame in the arena. */
  private cut(): void {
    const a = this.arena;
    while (this.end - this.start >= frameSizeBytes) {
      const size = a.readInt32BE(this.start);
      if (size < 4 || size > this.frameBytesMax) {
        this.stopped = true;
        this.onBadSize(size);
        return;
      }
      const frameEnd = this.start + frameSizeBytes + size;
      if (frameEnd > this.end) return;
      const frame = a.subarray(this.start + frameSizeBytes, frameEnd);
      this.start = frameEnd;
      this.onFrame(frame);
      if (this.stopped) return;
    }
  }

  /** Makes room for the next read: a buffer for a large frame, or a fresh arena. */
  private makeRoom(): void {
    if (this.end - this.start >= frameSizeBytes) {
      const total = frameSizeBytes + this.arena.readInt32BE(this.start); // checked by cut()
      if (total > this.arena.length - this.start) {
        if (total <= this.arenaBytes >>> 1) {
          this.renewArena();
          return;
        }
        this.readLarge(total);
      }
    }
    // With start at 0 the unfinished frame fits (see above) and a fresh arena would gain nothing.
    if (this.arena.length - this.end < this.tailBytesMin && this.start > 0) this.renewArena();
  }

  private readLarge(total: number): void {
    const large = Buffer.allocUnsafeSlow(total - frameSizeBytes);
    this.largeFilled = this.arena.copy(large, 0, this.start + frameSizeBytes, this.end);
    this.large = large;
    this.end = this.start; // copied out: that space is read into again
  }

  private renewArena(): void {
    const next = Buffer.allocUnsafeSlow(this.arenaBytes);
    this.end = this.arena.copy(next, 0, this.start, this.end);
    this.start = 0;
    this.arena = next;
  }
}
