/**
 * Helpers for the generated codecs (src/generated). Not part of the package's public surface.
 * Everything here is either on a cold path (errors, unknown tagged fields) or a small leaf.
 */
import { DecodeError, EncodeError } from './decode-error.js';
import type { Records, TaggedField } from './message-codec.js';
import type { Reader } from './primitives/reader.js';
import { Writer } from './primitives/writer.js';

export const EMPTY_BUFFER: Buffer = Buffer.alloc(0);
/**
 * Stands for a struct left undefined in an encode input: every field takes its default. Typed
 * `never` so that it fits any struct's input type (it has no properties, all of which are optional).
 */
export const EMPTY_INPUT: never = Object.freeze({}) as never;
/** Stands for an array left undefined in an encode input. */
export const EMPTY_ARRAY: readonly never[] = Object.freeze([]);
export const NO_TAGGED_FIELDS: readonly TaggedField[] = Object.freeze([]);

// ---------------------------------------------------------------------------------------------
// Decode errors: rebuilt with the field path on the way out (only when something failed).

function reasonOf(e: DecodeError): string {
  const suffix = e.path ? ` at byte ${e.offset} (${e.path})` : ` at byte ${e.offset}`;
  return e.message.endsWith(suffix) ? e.message.slice(0, -suffix.length) : e.message;
}

function joinPath(segment: string, inner: string): string {
  if (!inner) return segment;
  return inner.startsWith('[') ? segment + inner : `${segment}.${inner}`;
}

/**
 * Rethrows an error raised while decoding field `fields[field]` (element `index` of it when it is
 * an array) with that field prepended to the path. Anything that is not a DecodeError is a bug in a
 * decoder; it is still turned into a DecodeError (so callers only ever see one type), with the
 * original as `cause` and a message starting with "internal".
 */
export function decodeFailure(e: unknown, r: Reader, fields: readonly string[], field: number, index: number): DecodeError {
  const name = fields[field] ?? '?';
  const segment = index >= 0 ? `${name}[${index}]` : name;
  if (e instanceof DecodeError) return new DecodeError(reasonOf(e), e.offset, joinPath(segment, e.path));
  const message = e instanceof Error ? e.message : String(e);
  return new DecodeError(`internal decoder error: ${message}`, r.pos, segment, { cause: e });
}

/** The outermost rethrow: prefixes the message name. */
export function decodeFailureTop(e: unknown, r: Reader, messageName: string): DecodeError {
  if (e instanceof DecodeError) return new DecodeError(reasonOf(e), e.offset, joinPath(messageName, e.path));
  const message = e instanceof Error ? e.message : String(e);
  return new DecodeError(`internal decoder error: ${message}`, r.pos, messageName, { cause: e });
}

export function checkDecodeVersion(r: Reader, name: string, version: number, min: number, max: number): void {
  if (!Number.isInteger(version) || version < min || version > max) {
    throw new DecodeError(`${name} has no version ${version} (versions ${min}-${max})`, r.pos, name);
  }
}

export function checkEncodeVersion(name: string, version: number, min: number, max: number): void {
  if (!Number.isInteger(version) || version < min || version > max) {
    throw new EncodeError(`${name} has no version ${version} (versions ${min}-${max})`);
  }
}

// ---------------------------------------------------------------------------------------------
// Tagged fields

/**
 * Most unknown tagged fields one struct may carry. Each costs two bytes of input but an object
 * and a slice in memory, so without a limit a frame full of them would decode to ~50 times its
 * size. Kafka defines at most a handful of tags per struct.
 */
export const unknownTaggedFieldsMax = 64;

/** Reads an unknown tagged field's payload (a zero-copy slice) and appends it. */
export function pushTagged(r: Reader, list: TaggedField[] | undefined, tag: number, size: number): TaggedField[] {
  if (list !== undefined && list.length >= unknownTaggedFieldsMax) {
    throw r.error(`more than ${unknownTaggedFieldsMax} unknown tagged fields`);
  }
  const data = r.readRaw(size);
  if (list === undefined) return [{ tag, data }];
  list.push({ tag, data });
  return list;
}

/** Starts reading a tagged field's payload: limits the reader to it; returns the previous end. */
export function beginTagged(r: Reader, size: number): number {
  if (size > r.end - r.pos) {
    throw r.error(`tagged field of ${size} bytes but only ${r.end - r.pos} remain`);
  }
  const previousEnd = r.end;
  r.end = r.pos + size;
  return previousEnd;
}

/** Ends a tagged field's payload: it must have been read exactly. */
export function endTagged(r: Reader, previousEnd: number): void {
  if (r.pos !== r.end) throw r.error(`tagged field has ${r.end - r.pos} unread bytes`);
  r.end = previousEnd;
}

/** Unknown tagged fields in ascending tag order (the input is left as it is). */
export function sortTagged(list: readonly TaggedField[] | undefined): readonly TaggedField[] {
  if (list === undefined || list.length === 0) return NO_TAGGED_FIELDS;
  if (list.length === 1) return list;
  for (let i = 1; i < list.length; i++) {
    if (list[i]!.tag < list[i - 1]!.tag) return [...list].sort((a, b) => a.tag - b.tag);
  }
  return list;
}

/**
 * Writes the unknown tagged fields of `sorted`, from index `i`, whose tag is below `beforeTag`;
 * returns the next index. `knownTag` (or -1) is a tag this version knows: an unknown field with
 * that tag would be written twice, so it is refused.
 */
export function writeUnknownTagged(
  w: Writer,
  sorted: readonly TaggedField[],
  i: number,
  beforeTag: number,
  knownTag: number,
): number {
  while (i < sorted.length && sorted[i]!.tag < beforeTag) {
    const f = sorted[i]!;
    if (!Number.isInteger(f.tag) || f.tag < 0) throw new EncodeError(`invalid tag ${f.tag} in unknownTaggedFields`);
    w.writeUnsignedVarint(f.tag);
    w.writeUnsignedVarint(f.data.length);
    w.writeRaw(f.data);
    i++;
  }
  if (i < sorted.length && sorted[i]!.tag === knownTag) {
    throw new EncodeError(`unknownTaggedFields has tag ${knownTag}, which is a known field in this version`);
  }
  return i;
}

const writerPool: Writer[] = [];

/** A scratch writer for a tagged field's payload (its size is written before it). */
export function acquireWriter(): Writer {
  const w = writerPool.pop();
  if (w === undefined) return new Writer(256);
  w.reset();
  return w;
}

/** Writes `tag`, the payload size and the payload from a scratch writer, and returns the writer to the pool. */
export function writeTaggedFrom(w: Writer, tag: number, payload: Writer): void {
  w.writeUnsignedVarint(tag);
  w.writeUnsignedVarint(payload.length);
  w.writeFrom(payload);
  payload.reset();
  if (writerPool.length < 16) writerPool.push(payload);
}

// ---------------------------------------------------------------------------------------------
// Encode checks

/** A field that does not exist in `version` holds a value that is not its default (Kafka's rule). */
export function unsupportedField(struct: string, field: string, version: number): EncodeError {
  return new EncodeError(`${struct}.${field} is not supported in version ${version} and holds a non-default value`);
}

export function nullField(struct: string, field: string, version: number): EncodeError {
  return new EncodeError(`${struct}.${field} is not nullable in version ${version} but is null`);
}

// ---------------------------------------------------------------------------------------------
// Records

function recordsLength(records: Buffer | readonly Buffer[]): number {
  if (Buffer.isBuffer(records)) return records.length;
  let n = 0;
  for (const b of records as readonly Buffer[]) n += b.length;
  return n;
}

/**
 * Writes a records field: a Buffer, or chunks written back to back. Chunks of `linkedBytesMin` bytes
 * or more are linked, not copied (`Writer.writeLinked`): the caller must not modify them until the
 * output has been sent.
 */
export function writeRecords(w: Writer, records: Records, flexible: boolean): void {
  if (records === null) {
    if (flexible) w.writeUnsignedVarint(0);
    else w.writeInt32(-1);
    return;
  }
  const n = recordsLength(records);
  if (flexible) w.writeUnsignedVarint(n + 1);
  else w.writeInt32(n);
  if (Buffer.isBuffer(records)) w.writeLinked(records);
  else for (const b of records as readonly Buffer[]) w.writeLinked(b);
}

export function recordsIsEmpty(records: Records): boolean {
  return records !== null && recordsLength(records) === 0;
}

// ---------------------------------------------------------------------------------------------
// Arrays of primitives

export function readInt8s(r: Reader, n: number): number[] {
  const a: number[] = [];
  for (let i = 0; i < n; i++) a.push(r.readInt8());
  return a;
}
export function readInt16s(r: Reader, n: number): number[] {
  const a: number[] = [];
  for (let i = 0; i < n; i++) a.push(r.readInt16());
  return a;
}
export function readUInt16s(r: Reader, n: number): number[] {
  const a: number[] = [];
  for (let i = 0; i < n; i++) a.push(r.readUInt16());
  return a;
}
export function readInt32s(r: Reader, n: number): number[] {
  const a: number[] = [];
  for (let i = 0; i < n; i++) a.push(r.readInt32());
  return a;
}
export function readUInt32s(r: Reader, n: number): number[] {
  const a: number[] = [];
  for (let i = 0; i < n; i++) a.push(r.readUInt32());
  return a;
}
export function readInt64s(r: Reader, n: number): bigint[] {
  const a: bigint[] = [];
  for (let i = 0; i < n; i++) a.push(r.readInt64());
  return a;
}
export function readFloat64s(r: Reader, n: number): number[] {
  const a: number[] = [];
  for (let i = 0; i < n; i++) a.push(r.readFloat64());
  return a;
}
export function readBools(r: Reader, n: number): boolean[] {
  const a: boolean[] = [];
  for (let i = 0; i < n; i++) a.push(r.readBool());
  return a;
}
export function readUuids(r: Reader, n: number): string[] {
  const a: string[] = [];
  for (let i = 0; i < n; i++) a.push(r.readUuid());
  return a;
}
export function readStrings(r: Reader, n: number, flexible: boolean): string[] {
  const a: string[] = [];
  if (flexible) for (let i = 0; i < n; i++) a.push(r.readCompactString());
  else for (let i = 0; i < n; i++) a.push(r.readString());
  return a;
}
export function readBytesArray(r: Reader, n: number, flexible: boolean): Buffer[] {
  const a: Buffer[] = [];
  if (flexible) for (let i = 0; i < n; i++) a.push(r.readCompactBytes());
  else for (let i = 0; i < n; i++) a.push(r.readBytes());
  return a;
}

export function writeInt8s(w: Writer, a: readonly number[]): void {
  for (const x of a) w.writeInt8(x);
}
export function writeInt16s(w: Writer, a: readonly number[]): void {
  for (const x of a) w.writeInt16(x);
}
export function writeUInt16s(w: Writer, a: readonly number[]): void {
  for (const x of a) w.writeUInt16(x);
}
export function writeInt32s(w: Writer, a: readonly number[]): void {
  for (const x of a) w.writeInt32(x);
}
export function writeUInt32s(w: Writer, a: readonly number[]): void {
  for (const x of a) w.writeUInt32(x);
}
export function writeInt64s(w: Writer, a: readonly bigint[]): void {
  for (const x of a) w.writeInt64(x);
}
export function writeFloat64s(w: Writer, a: readonly number[]): void {
  for (const x of a) w.writeFloat64(x);
}
export function writeBools(w: Writer, a: readonly boolean[]): void {
  for (const x of a) w.writeBool(x);
}
export function writeUuids(w: Writer, a: readonly string[]): void {
  for (const x of a) w.writeUuid(x);
}
export function writeStrings(w: Writer, a: readonly string[], flexible: boolean): void {
  if (flexible) for (const x of a) w.writeCompactString(x);
  else for (const x of a) w.writeString(x);
}
export function writeBytesArray(w: Writer, a: readonly Buffer[], flexible: boolean): void {
  if (flexible) for (const x of a) w.writeCompactBytes(x);
  else for (const x of a) w.writeBytes(x);
}

/** Writes an array count (-1 / 0 for null). */
export function writeArrayLength(w: Writer, n: number, flexible: boolean): void {
  if (flexible) w.writeUnsignedVarint(n + 1);
  else w.writeInt32(n);
}
