import { EncodeError } from '../decode-error.js';

/** Buffers handed to `writeRaw` at or above this size are linked into the output, not copied. */
export const rawByReferenceBytesMin = 4096;
/** `writeLinked` links buffers from this size; below it a copy is cheaper than one more chunk to write. */
export const linkedBytesMin = 256;
/** Size of the first slab when none is given. Small: most responses are small. */
const slabBytesDefault = 1024;
/** Slabs double up to this size; a single write larger than it gets a slab of its own size. */
const slabBytesMax = 256 * 1024;

const UUID_PATTERN = /^[A-Za-z0-9_-]{22}$/;
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/**
 * Growable big-endian output for the Kafka wire format.
 *
 * Bytes go into a preallocated slab; when it is full the written part becomes a chunk and a new
 * slab is taken (no copying of what was written). Record batches (`writeLinked`, from 256 bytes)
 * and other large buffers passed to `writeRaw` (from 4 KiB) become chunks of their own and are
 * never copied, so a response can be sent with one `writev` of `toChunks()`.
 *
 * Positions (`length`, `reserveInt32`) are absolute byte offsets from the start of the output.
 */
export class Writer {
  private slab: Buffer;
  /** Over `slab`: V8 compiles DataView's int64/float64 accessors to plain stores (Buffer's bigint writes allocate). */
  private view: DataView;
  /** Next write position in `slab`. */
  private pos = 0;
  /** Start of the bytes in `slab` not yet moved to `chunks`. */
  private start = 0;
  private chunks: Buffer[] = [];
  /** Total bytes in `chunks`. */
  private committed = 0;

  constructor(initialBytes: number = slabBytesDefault) {
    this.slab = Buffer.allocUnsafe(Math.max(64, initialBytes));
    this.view = new DataView(this.slab.buffer, this.slab.byteOffset, this.slab.length);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.committed + this.pos - this.start;
  }

  /** Forget everything written; keeps the current slab for reuse. Only safe once earlier chunks are no longer in use. */
  reset(): void {
    this.chunks = [];
    this.committed = 0;
    this.pos = 0;
    this.start = 0;
  }

  private ensure(n: number): void {
    if (this.pos + n > this.slab.length) this.grow(n);
  }

  private grow(n: number): void {
    this.flush();
    const size = Math.max(n, Math.min(this.slab.length * 2, slabBytesMax));
    this.slab = Buffer.allocUnsafe(size);
    this.view = new DataView(this.slab.buffer, this.slab.byteOffset, this.slab.length);
    this.pos = 0;
    this.start = 0;
  }

  /** Moves the pending slab bytes into `chunks` (by reference). */
  private flush(): void {
    if (this.pos > this.start) {
      this.chunks.push(this.slab.subarray(this.start, this.pos));
      this.committed += this.pos - this.start;
      this.start = this.pos;
    }
  }

  /** The output as a list of buffers, in order, for `socket.writev`/`cork`. The writer stays usable. */
  toChunks(): Buffer[] {
    this.flush();
    return this.chunks;
  }

  /** The output as one buffer (concatenates if there is more than one chunk). */
  toBuffer(): Buffer {
    const chunks = this.toChunks();
    if (chunks.length === 1) return chunks[0]!;
    return Buffer.concat(chunks, this.committed);
  }

  writeInt8(v: number): void {
    this.ensure(1);
    this.slab[this.pos++] = v;
  }

  writeBool(v: boolean): void {
    this.ensure(1);
    this.slab[this.pos++] = v ? 1 : 0;
  }

  writeInt16(v: number): void {
    this.ensure(2);
    const b = this.slab;
    const p = this.pos;
    b[p] = v >>> 8;
    b[p + 1] = v;
    this.pos = p + 2;
  }

  writeUInt16(v: number): void {
    this.writeInt16(v);
  }

  writeInt32(v: number): void {
    this.ensure(4);
    const b = this.slab;
    const p = this.pos;
    b[p] = v >>> 24;
    b[p + 1] = v >>> 16;
    b[p + 2] = v >>> 8;
    b[p + 3] = v;
    this.pos = p + 4;
  }

  writeUInt32(v: number): void {
    this.writeInt32(v);
  }

  writeInt64(v: bigint): void {
    if (v > INT64_MAX || v < INT64_MIN) throw new EncodeError(`${v} does not fit in an int64`);
    this.ensure(8);
    this.view.setBigInt64(this.pos, v);
    this.pos += 8;
  }

  writeFloat64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v);
    this.pos += 8;
  }

  /** A uuid in Kafka's display form (22 characters of URL-safe base64). */
  writeUuid(v: string): void {
    if (!UUID_PATTERN.test(v)) throw new EncodeError(`invalid uuid ${JSON.stringify(v)}`);
    this.ensure(16);
    this.slab.write(v, this.pos, 16, 'base64url');
    this.pos += 16;
  }

  /** Unsigned LEB128-style varint of a uint32 (compact lengths, tags). */
  writeUnsignedVarint(v: number): void {
    this.ensure(5);
    const b = this.slab;
    let p = this.pos;
    let x = v >>> 0;
    while (x >= 0x80) {
      b[p++] = (x & 0x7f) | 0x80;
      x >>>= 7;
    }
    b[p++] = x;
    this.pos = p;
  }

  /** Zig-zag varint of an int32 (record fields). */
  writeVarint(v: number): void {
    this.writeUnsignedVarint(((v << 1) ^ (v >> 31)) >>> 0);
  }

  /** Zig-zag varint of an int64 (record fields); accepts a bigint or a safe integer. */
  writeVarlong(v: bigint | number): void {
    if (typeof v === 'number' && Number.isSafeInteger(v) && v < 2 ** 51 && v > -(2 ** 51)) {
      let x = v < 0 ? -2 * v - 1 : 2 * v;
      this.ensure(10);
      const b = this.slab;
      let p = this.pos;
      while (x >= 0x80) {
        b[p++] = (x % 0x80) | 0x80;
        x = Math.floor(x / 0x80);
      }
      b[p++] = x;
      this.pos = p;
      return;
    }
    const big = typeof v === 'bigint' ? v : BigInt(v);
    let x = BigInt.asUintN(64, (big << 1n) ^ (big >> 63n));
    this.ensure(10);
    const b = this.slab;
    let p = this.pos;
    while (x >= 0x80n) {
      b[p++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    b[p++] = Number(x);
    this.pos = p;
  }

  private writeUtf8(s: string, n: number): void {
    this.ensure(n);
    this.slab.write(s, this.pos, n, 'utf8');
    this.pos += n;
  }

  /** int16 length + UTF-8. */
  writeString(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    if (n > 0x7fff) throw new EncodeError(`string of ${n} bytes is too long for an int16 length`);
    this.writeInt16(n);
    this.writeUtf8(s, n);
  }

  writeNullableString(s: string | null): void {
    if (s === null) this.writeInt16(-1);
    else this.writeString(s);
  }

  /** Unsigned varint (length + 1) + UTF-8. */
  writeCompactString(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    if (n > 0x7fff) throw new EncodeError(`string of ${n} bytes is too long`);
    this.writeUnsignedVarint(n + 1);
    this.writeUtf8(s, n);
  }

  writeCompactNullableString(s: string | null): void {
    if (s === null) this.writeUnsignedVarint(0);
    else this.writeCompactString(s);
  }

  /** int32 length + bytes. */
  writeBytes(b: Uint8Array): void {
    this.writeInt32(b.length);
    this.writeRaw(b);
  }

  writeNullableBytes(b: Uint8Array | null): void {
    if (b === null) this.writeInt32(-1);
    else this.writeBytes(b);
  }

  /** Unsigned varint (length + 1) + bytes. */
  writeCompactBytes(b: Uint8Array): void {
    this.writeUnsignedVarint(b.length + 1);
    this.writeRaw(b);
  }

  writeCompactNullableBytes(b: Uint8Array | null): void {
    if (b === null) this.writeUnsignedVarint(0);
    else this.writeCompactBytes(b);
  }

  /**
   * Appends bytes as they are. A Buffer of `rawByReferenceBytesMin` bytes or more is linked into the
   * output without copying: the caller must not modify it until the output has been sent.
   */
  writeRaw(b: Uint8Array): void {
    const n = b.length;
    if (n >= rawByReferenceBytesMin && Buffer.isBuffer(b)) return this.link(b);
    this.ensure(n);
    this.slab.set(b, this.pos);
    this.pos += n;
  }

  /**
   * Appends a record batch (or run of batches) whose bytes the caller will not modify until the
   * output has been sent: linked by reference from `linkedBytesMin` bytes, so that a response or
   * request of many small batches does not copy them into fresh slabs (each a new allocation V8
   * counts against its next full collection).
   */
  writeLinked(b: Buffer): void {
    if (b.length >= linkedBytesMin) this.link(b);
    else this.writeRaw(b);
  }

  /** Makes `b` a chunk of its own, after what the slab holds so far. */
  private link(b: Buffer): void {
    this.flush();
    this.chunks.push(b);
    this.committed += b.length;
  }

  /** Appends bytes, always copying them (the source may be reused afterwards). */
  writeCopy(b: Uint8Array): void {
    const n = b.length;
    this.ensure(n);
    this.slab.set(b, this.pos);
    this.pos += n;
  }

  /** Appends everything another writer holds, copying it. */
  writeFrom(other: Writer): void {
    for (const chunk of other.toChunks()) this.writeCopy(chunk);
  }

  /** Reserves 4 bytes to be filled later with `setInt32At`; returns their position. */
  reserveInt32(): number {
    this.ensure(4);
    const at = this.length;
    this.pos += 4;
    return at;
  }

  /** Overwrites 4 bytes at an absolute position (normally one returned by `reserveInt32`). */
  setInt32At(position: number, v: number): void {
    if (!Number.isInteger(position) || position < 0 || position + 4 > this.length) {
      throw new RangeError(`setInt32At: position ${position} is outside the ${this.length} bytes written`);
    }
    if (position >= this.committed) {
      this.slab.writeInt32BE(v | 0, this.start + (position - this.committed));
      return;
    }
    // Slow path: the slot is in an earlier chunk (possibly split across two).
    const bytes = [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
    for (let i = 0; i < 4; i++) this.setByteAt(position + i, bytes[i]!);
  }

  private setByteAt(position: number, byte: number): void {
    if (position >= this.committed) {
      this.slab[this.start + (position - this.committed)] = byte;
      return;
    }
    let offset = 0;
    for (const chunk of this.chunks) {
      if (position < offset + chunk.length) {
        chunk[position - offset] = byte;
        return;
      }
      offset += chunk.length;
    }
  }
}
