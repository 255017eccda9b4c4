import { DecodeError } from '../decode-error.js';

/** Largest string the wire format allows (int16 length; compact strings are held to the same limit, as Kafka does). */
const stringBytesMax = 0x7fff;

/**
 * Bounds-checked big-endian reader over `buf[start, end)`.
 *
 * Every read checks against `end` and throws `DecodeError` with the byte offset; lengths and counts
 * are checked against the remaining bytes before anything is allocated. Bytes and records come back
 * as zero-copy `subarray` slices of the input, so the input must not be reused while they are alive.
 *
 * Field paths are not tracked here (that would cost on every read); generated decoders catch a
 * DecodeError and rethrow it with the path of the field they were reading.
 */
export class Reader {
  pos: number;
  end: number;
  /** Created on the first 64-bit read: DataView's accessors are much faster than Buffer's bigint reads. */
  private view: DataView | undefined;

  constructor(
    readonly buf: Buffer,
    start = 0,
    end: number = buf.length,
  ) {
    if (start < 0 || end > buf.length || start > end) {
      throw new RangeError(`Reader: bad range [${start}, ${end}) for a buffer of ${buf.length} bytes`);
    }
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** A DecodeError at the current position. */
  error(reason: string): DecodeError {
    return new DecodeError(reason, this.pos);
  }

  private need(n: number): void {
    if (this.pos + n > this.end) {
      throw new DecodeError(`need ${n} bytes but only ${this.end - this.pos} remain`, this.pos);
    }
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  readInt8(): number {
    this.need(1);
    const v = this.buf[this.pos++]!;
    return (v << 24) >> 24;
  }

  readBool(): boolean {
    this.need(1);
    return this.buf[this.pos++] !== 0;
  }

  readInt16(): number {
    this.need(2);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return ((b[p]! << 24) | (b[p + 1]! << 16)) >> 16;
  }

  readUInt16(): number {
    this.need(2);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return (b[p]! << 8) | b[p + 1]!;
  }

  readInt32(): number {
    this.need(4);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
  }

  readUInt32(): number {
    return this.readInt32() >>> 0;
  }

  readInt64(): bigint {
    this.need(8);
    const view = (this.view ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length));
    const v = view.getBigInt64(this.pos);
    this.pos += 8;
    return v;
  }

  readFloat64(): number {
    this.need(8);
    const view = (this.view ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length));
    const v = view.getFloat64(this.pos);
    this.pos += 8;
    return v;
  }

  /** A uuid in Kafka's display form (22 characters of URL-safe base64). */
  readUuid(): string {
    this.need(16);
    const v = this.buf.toString('base64url', this.pos, this.pos + 16);
    this.pos += 16;
    return v;
  }

  /** Unsigned varint of at most 5 bytes whose value fits in 32 bits. */
  readUnsignedVarint(): number {
    const b = this.buf;
    const end = this.end;
    let p = this.pos;
    let result = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (p >= end) throw new DecodeError('truncated varint', p);
      const byte = b[p++]!;
      result |= (byte & 0x7f) << shift;
      if (byte < 0x80) {
        this.pos = p;
        return result >>> 0;
      }
    }
    if (p >= end) throw new DecodeError('truncated varint', p);
    const last = b[p++]!;
    if (last > 0x0f) throw new DecodeError('varint is longer than 5 bytes or exceeds 32 bits', this.pos);
    this.pos = p;
    return (result | (last << 28)) >>> 0;
  }

  /** Zig-zag varint (int32), as used inside records. */
  readVarint(): number {
    const u = this.readUnsignedVarint();
    return (u >>> 1) ^ -(u & 1);
  }

  /** Zig-zag varlong (int64) of at most 10 bytes, as used inside records. */
  readVarlong(): bigint {
    const b = this.buf;
    const end = this.end;
    const start = this.pos;
    let p = start;
    // Fast path: up to 7 bytes (49 bits) fit exactly in a double.
    let lo = 0;
    let mul = 1;
    for (let i = 0; i < 7; i++) {
      if (p >= end) throw new DecodeError('truncated varlong', p);
      const byte = b[p++]!;
      lo += (byte & 0x7f) * mul;
      if (byte < 0x80) {
        this.pos = p;
        const half = Math.floor(lo / 2);
        return BigInt(lo % 2 === 0 ? half : -half - 1);
      }
      mul *= 0x80;
    }
    let big = BigInt(lo);
    let shift = 49n;
    for (let i = 7; i < 10; i++) {
      if (p >= end) throw new DecodeError('truncated varlong', p);
      const byte = b[p++]!;
      big |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) {
        this.pos = p;
        big = BigInt.asUintN(64, big);
        return (big >> 1n) ^ -(big & 1n);
      }
      shift += 7n;
    }
    throw new DecodeError('varlong is longer than 10 bytes', start);
  }

  /** Like `readVarlong` but as a number; a DecodeError if it is not a safe integer. */
  readVarlongNumber(): number {
    const at = this.pos;
    const v = this.readVarlong();
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new DecodeError('varlong does not fit in a safe integer', at);
    }
    return Number(v);
  }

  private utf8(n: number, at: number): string {
    if (n > stringBytesMax) throw new DecodeError(`string length ${n} is out of range`, at);
    if (this.pos + n > this.end) {
      throw new DecodeError(`string of ${n} bytes but only ${this.end - this.pos} remain`, at);
    }
    const p = this.pos;
    this.pos = p + n;
    return this.buf.toString('utf8', p, p + n);
  }

  /** int16 length + UTF-8; null (-1) is an error. */
  readString(): string {
    const at = this.pos;
    const n = this.readInt16();
    if (n < 0) throw new DecodeError(n === -1 ? 'non-nullable string is null' : `invalid string length ${n}`, at);
    return this.utf8(n, at);
  }

  readNullableString(): string | null {
    const at = this.pos;
    const n = this.readInt16();
    if (n === -1) return null;
    if (n < 0) throw new DecodeError(`invalid string length ${n}`, at);
    return this.utf8(n, at);
  }

  readCompactString(): string {
    const at = this.pos;
    const n = this.readUnsignedVarint() - 1;
    if (n < 0) throw new DecodeError('non-nullable string is null', at);
    return this.utf8(n, at);
  }

  readCompactNullableString(): string | null {
    const at = this.pos;
    const n = this.readUnsignedVarint() - 1;
    if (n < 0) return null;
    return this.utf8(n, at);
  }

  private slice(n: number, at: number): Buffer {
    if (this.pos + n > this.end) {
      throw new DecodeError(`${n} bytes announced but only ${this.end - this.pos} remain`, at);
    }
    const p = this.pos;
    this.pos = p + n;
    return this.buf.subarray(p, p + n);
  }

  /** `n` raw bytes as a zero-copy slice. */
  readRaw(n: number): Buffer {
    return this.slice(n, this.pos);
  }

  /** int32 length + bytes (zero-copy); null (-1) is an error. */
  readBytes(): Buffer {
    const at = this.pos;
    const n = this.readInt32();
    if (n < 0) throw new DecodeError(n === -1 ? 'non-nullable bytes are null' : `invalid bytes length ${n}`, at);
    return this.slice(n, at);
  }

  readNullableBytes(): Buffer | null {
    const at = this.pos;
    const n = this.readInt32();
    if (n === -1) return null;
    if (n < 0) throw new DecodeError(`invalid bytes length ${n}`, at);
    return this.slice(n, at);
  }

  readCompactBytes(): Buffer {
    const at = this.pos;
    const n = this.readUnsignedVarint() - 1;
    if (n < 0) throw new DecodeError('non-nullable bytes are null', at);
    return this.slice(n, at);
  }

  readCompactNullableBytes(): Buffer | null {
    const at = this.pos;
    const n = this.readUnsignedVarint() - 1;
    if (n < 0) return null;
    return this.slice(n, at);
  }

  /**
   * int32 element count of an array; -1 means null (a DecodeError unless `nullable`).
   * `count * elementBytesMin` must fit in the remaining bytes, so a forged count cannot make the
   * caller allocate; when an element can be empty (`elementBytesMin` 0) the count is capped instead.
   */
  readArrayLength(elementBytesMin: number, nullable: boolean): number {
    const at = this.pos;
    const n = this.readInt32();
    if (n < 0) {
      if (n === -1 && nullable) return -1;
      throw new DecodeError(n === -1 ? 'non-nullable array is null' : `invalid array length ${n}`, at);
    }
    this.checkCount(n, elementBytesMin, at);
    return n;
  }

  /** Compact (unsigned varint count + 1) form of `readArrayLength`. */
  readCompactArrayLength(elementBytesMin: number, nullable: boolean): number {
    const at = this.pos;
    const n = this.readUnsignedVarint() - 1;
    if (n < 0) {
      if (nullable) return -1;
      throw new DecodeError('non-nullable array is null', at);
    }
    this.checkCount(n, elementBytesMin, at);
    return n;
  }

  private checkCount(n: number, elementBytesMin: number, at: number): void {
    if (elementBytesMin > 0) {
      if (n * elementBytesMin > this.end - this.pos) {
        throw new DecodeError(
          `array of ${n} elements needs at least ${n * elementBytesMin} bytes but only ${this.end - this.pos} remain`,
          at,
        );
      }
    } else if (n > emptyElementsMax) {
      throw new DecodeError(`array of ${n} possibly empty elements exceeds the limit of ${emptyElementsMax}`, at);
    }
  }
}

/** Limit on the count of an array whose elements can encode to zero bytes. */
export const emptyElementsMax = 4096;
