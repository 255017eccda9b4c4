/**
 * Zig-zag varints as records use them (Kafka's ByteUtils.readVarint/readVarlong): the signed
 * value is zig-zag mapped, then written 7 bits per byte, low group first, high bit = more.
 * At most 5 bytes for an int32 and 10 for an int64. Flexible protocol versions use *unsigned*
 * varints instead; those belong to the primitives, not here.
 *
 * Readers advance a cursor and throw DecodeError rather than read past `cursor.end`.
 * Like Kafka, bits beyond 32 (64) in the last byte are dropped rather than rejected.
 */
import { DecodeError } from '../decode-error.js';

/** A read position in `buf`, never to pass `end`. */
export interface RecordCursor {
  buf: Uint8Array;
  pos: number;
  end: number;
}

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const BIG_INT32_MIN = -0x80000000n;
const BIG_INT32_MAX = 0x7fffffffn;

export function readZigZagVarint(c: RecordCursor): number {
  const { buf, end } = c;
  let pos = c.pos;
  let raw = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (pos >= end) throw new DecodeError('varint runs past the end of its data', pos);
    const b = buf[pos++]!;
    raw |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) {
      c.pos = pos;
      return (raw >>> 1) ^ -(raw & 1);
    }
  }
  throw new DecodeError('varint is longer than 5 bytes', c.pos);
}

export function readZigZagVarlong(c: RecordCursor): bigint {
  const { buf, end } = c;
  let pos = c.pos;
  // Timestamp deltas are usually 1-3 bytes: decode up to 28 bits with numbers first.
  let raw = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (pos >= end) throw new DecodeError('varlong runs past the end of its data', pos);
    const b = buf[pos++]!;
    raw |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) {
      c.pos = pos;
      return BigInt((raw >>> 1) ^ -(raw & 1));
    }
  }
  let big = BigInt(raw);
  for (let shift = 28n; shift < 70n; shift += 7n) {
    if (pos >= end) throw new DecodeError('varlong runs past the end of its data', pos);
    const b = buf[pos++]!;
    big |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) {
      c.pos = pos;
      big = BigInt.asUintN(64, big);
      return (big >> 1n) ^ -(big & 1n);
    }
  }
  throw new DecodeError('varlong is longer than 10 bytes', c.pos);
}

/**
 * readZigZagVarlong as a number when the value is a safe integer (within ±2^53, as every real
 * timestamp delta is), so the common case makes no BigInt; a bigint otherwise.
 */
export function readZigZagVarlongNumeric(c: RecordCursor): number | bigint {
  const { buf, end } = c;
  let pos = c.pos;
  let raw = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (pos >= end) break;
    const b = buf[pos++]!;
    raw |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) {
      c.pos = pos;
      return (raw >>> 1) ^ -(raw & 1);
    }
  }
  // Longer than 4 bytes (or truncated: the full reader names the fault).
  const big = readZigZagVarlong(c);
  const n = Number(big);
  return Number.isSafeInteger(n) ? n : big;
}

function checkInt32(value: number): void {
  if (!Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
    throw new RangeError(`varint value ${value} is not an int32`);
  }
}

/** Bytes `writeZigZagVarint` uses for `value` (an int32). */
export function zigZagVarintSize(value: number): number {
  checkInt32(value);
  let v = ((value << 1) ^ (value >> 31)) >>> 0;
  let n = 1;
  while (v > 0x7f) {
    v >>>= 7;
    n++;
  }
  return n;
}

/** Writes `value` (an int32) at `pos`; returns the position after it. */
export function writeZigZagVarint(buf: Uint8Array, pos: number, value: number): number {
  checkInt32(value);
  let v = ((value << 1) ^ (value >> 31)) >>> 0;
  while (v > 0x7f) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

function zigZag64(value: bigint): bigint {
  if (value !== BigInt.asIntN(64, value)) throw new RangeError(`varlong value ${value} is not an int64`);
  return BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
}

/** Bytes `writeZigZagVarlong` uses for `value` (an int64). */
export function zigZagVarlongSize(value: bigint): number {
  if (value >= BIG_INT32_MIN && value <= BIG_INT32_MAX) return zigZagVarintSize(Number(value));
  let v = zigZag64(value);
  let n = 1;
  while (v > 0x7fn) {
    v >>= 7n;
    n++;
  }
  return n;
}

/** Writes `value` (an int64) at `pos`; returns the position after it. */
export function writeZigZagVarlong(buf: Uint8Array, pos: number, value: bigint): number {
  // For values in int32 range the 64-bit zig-zag form equals the 32-bit one.
  if (value >= BIG_INT32_MIN && value <= BIG_INT32_MAX) return writeZigZagVarint(buf, pos, Number(value));
  let v = zigZag64(value);
  while (v > 0x7fn) {
    buf[pos++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  buf[pos++] = Number(v);
  return pos;
}
