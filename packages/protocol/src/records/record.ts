/**
 * Records inside a RecordBatch v2: decoding (with decompression) and encoding, plus the control
 * records of transaction markers. This is the slow path: tests, compaction, consumers and the
 * coordinators use it. The broker's produce and fetch paths stay on batch.ts and never get here.
 *
 * Record layout (all varints zig-zag, see varint.ts):
 *   length varint | attributes int8 | timestampDelta varlong | offsetDelta varint
 *   | keyLength varint (-1 = null) | key | valueLength varint (-1 = null) | value
 *   | headersCount varint | headers: keyLength varint, key UTF-8, valueLength varint (-1 = null), value
 */
import { DecodeError, EncodeError } from '../decode-error.js';
import { compress, decompress } from '../compression/index.js';
import { UnsupportedCompressionError, isKnownCompression } from '../compression/codec.js';
import {
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_OFFSET,
  COMPRESSION_CODEC_MASK,
  CONTROL_FLAG_MASK,
  CRC_OFFSET,
  CURRENT_MAGIC,
  CompressionType,
  CorruptBatchError,
  DELETE_HORIZON_FLAG_MASK,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  MIN_BATCH_LENGTH,
  MIN_RECORD_BYTES,
  NO_PARTITION_LEADER_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  NO_TIMESTAMP,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORDS_COUNT_OFFSET,
  TIMESTAMP_TYPE_MASK,
  TRANSACTIONAL_FLAG_MASK,
  batchCrcValid,
  computeBatchCrc,
  readBatchHeader,
  type BatchHeader,
} from './batch.js';
import { decompressedBatchBytesMax } from './limits.js';
import {
  readZigZagVarint,
  readZigZagVarlongNumeric,
  writeZigZagVarint,
  writeZigZagVarlong,
  zigZagVarintSize,
  zigZagVarlongSize,
  type RecordCursor,
} from './varint.js';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

/**
 * One decoded record. `key`, `value` and header values are views of the batch bytes (or of the
 * decompressed buffer), not copies: do not mutate them, and copy them to keep them long after the
 * batch buffer is reused.
 */
export interface Record {
  offset: bigint;
  timestamp: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
  attributes: number;
  offsetDelta: number;
  timestampDelta: bigint;
}

/** Alias for code that also uses TypeScript's built-in `Record<K, V>`. */
export type KafkaRecord = Record;

export interface DecodedBatch {
  header: BatchHeader;
  records: Record[];
}

export interface DecodeBatchOptions {
  /** Cap on the decompressed records section, in bytes (default decompressedBatchBytesMax, 64 MiB). */
  maxDecompressedBytes?: number;
  /** Verify the CRC-32C first (default true). Skip only for bytes validated moments ago. */
  verifyCrc?: boolean;
  /** The batch's header as readBatchHeader(buf, pos) gave it, for a caller that has read it already (not read again). */
  header?: BatchHeader;
}

const PATH = 'RecordBatch';
const MIN_RECORD_BODY_BYTES = MIN_RECORD_BYTES - 1;
const MIN_HEADER_BYTES = 2;

/**
 * One record's fields as decodeBatchRecords reads them. The object is reused for the next record:
 * a visitor reads what it needs from it at once and keeps nothing but the `headers` array (each
 * record gets its own) and the `key`/`value` views.
 */
export interface RecordFields<H> {
  attributes: number;
  offsetDelta: number;
  /** A number when within ±2^53 (any real clock's delta), else a bigint. */
  timestampDelta: number | bigint;
  key: Buffer | null;
  value: Buffer | null;
  /** Made by `header()`, in the order written; a name may repeat. */
  headers: H[];
}

/** Turns decoded records into the caller's own values, with no Record in between. */
export interface RecordVisitor<H> {
  /** One header of the record being read (called before `record` for it). */
  header(key: string, value: Buffer | null): H;
  /** One record; `batch` is its batch's header. */
  record(fields: RecordFields<H>, batch: BatchHeader): void;
}

/**
 * Decodes the batch at `pos`: header, CRC, decompression, every record. Throws DecodeError
 * (CorruptBatchError, UnsupportedMagicError, UnsupportedCompressionError) for anything malformed:
 * every length is checked against the bytes that remain before anything is allocated, and the
 * decompressed size is capped. A batch with recordsCount 0 (kept by compaction) has no payload to
 * decode and yields no records, as in Kafka.
 */
export function decodeBatch(buf: Buffer, pos = 0, options: DecodeBatchOptions = {}): DecodedBatch {
  const records: Record[] = [];
  const header = decodeBatchRecords(buf, pos, options, {
    header: (key, value) => ({ key, value }),
    record(f, batch) {
      const timestampDelta = BigInt(f.timestampDelta);
      const logAppendTime = (batch.attributes & TIMESTAMP_TYPE_MASK) !== 0;
      records.push({
        offset: batch.baseOffset + BigInt(f.offsetDelta),
        timestamp: logAppendTime ? batch.maxTimestamp : batch.baseTimestamp + timestampDelta,
        key: f.key,
        value: f.value,
        headers: f.headers,
        attributes: f.attributes,
        offsetDelta: f.offsetDelta,
        timestampDelta,
      });
    },
  });
  return { header, records };
}

/**
 * decodeBatch for callers with their own record shape (the consumer's): the same checks, CRC,
 * decompression and errors, but each record goes to `visitor` as it is read and nothing else is
 * made per record. Returns the batch header.
 */
export function decodeBatchRecords<H>(buf: Buffer, pos: number, options: DecodeBatchOptions, visitor: RecordVisitor<H>): BatchHeader {
  const header = options.header ?? readBatchHeader(buf, pos);
  if (header.batchLength < MIN_BATCH_LENGTH) {
    throw new CorruptBatchError(`batchLength ${header.batchLength} is under ${MIN_BATCH_LENGTH}`, pos + BATCH_LENGTH_OFFSET, `${PATH}.batchLength`);
  }
  const size = LOG_OVERHEAD + header.batchLength;
  if (size > buf.length - pos) throw new CorruptBatchError(`batch of ${size} bytes is truncated to ${buf.length - pos}`, pos, PATH);
  if ((options.verifyCrc ?? true) && !batchCrcValid(buf, pos, size)) throw new CorruptBatchError('CRC mismatch', pos + CRC_OFFSET, `${PATH}.crc`);
  const codec = header.attributes & COMPRESSION_CODEC_MASK;
  if (!isKnownCompression(codec)) throw new UnsupportedCompressionError(codec, pos + ATTRIBUTES_OFFSET, `${PATH}.attributes`);
  const count = header.recordsCount;
  if (count < 0) throw new CorruptBatchError(`negative record count ${count}`, pos + RECORDS_COUNT_OFFSET, `${PATH}.recordsCount`);
  if (count === 0) return header;

  const payload = buf.subarray(pos + BATCH_HEADER_BYTES, pos + size);
  const data = codec === CompressionType.none ? payload : decompress(codec, payload, options.maxDecompressedBytes ?? decompressedBatchBytesMax);
  // Each record takes at least 7 bytes; reject an absurd count before reading any.
  if (count > data.length / MIN_RECORD_BYTES) {
    throw new CorruptBatchError(`${count} records cannot fit in ${data.length} bytes`, pos + RECORDS_COUNT_OFFSET, `${PATH}.recordsCount`);
  }
  // Error offsets are positions in `buf` for uncompressed batches, in the decompressed data otherwise.
  const origin = codec === CompressionType.none ? { at: pos + BATCH_HEADER_BYTES, path: `${PATH}.records` } : { at: 0, path: `${PATH}.records(decompressed)` };
  readRecords(data, header, origin, visitor);
  return header;
}

function readRecords<H>(data: Buffer, header: BatchHeader, origin: { at: number; path: string }, visitor: RecordVisitor<H>): void {
  const count = header.recordsCount;
  const cursor: RecordCursor = { buf: data, pos: 0, end: data.length };
  const fields: RecordFields<H> = { attributes: 0, offsetDelta: 0, timestampDelta: 0, key: null, value: null, headers: [] };
  let i = 0;
  try {
    for (; i < count; i++) {
      readRecord(data, cursor, fields, visitor);
      visitor.record(fields, header);
    }
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    const message = e.message.replace(/ at byte \d+$/, '');
    throw new CorruptBatchError(message, origin.at + e.offset, `${origin.path}[${i}]`, { cause: e });
  }
  if (cursor.pos !== data.length) {
    throw new CorruptBatchError(`${data.length - cursor.pos} bytes remain after ${count} records`, origin.at + cursor.pos, origin.path);
  }
}

function readLength(c: RecordCursor, what: string, nullable: boolean): number {
  const at = c.pos;
  const n = readZigZagVarint(c);
  if (n < (nullable ? -1 : 0)) throw new DecodeError(`${what} length ${n} is invalid`, at);
  if (n > c.end - c.pos) throw new DecodeError(`${what} of ${n} bytes overruns its record`, at);
  return n;
}

function readBytes(data: Buffer, c: RecordCursor, what: string): Buffer | null {
  const n = readLength(c, what, true);
  if (n < 0) return null;
  const out = data.subarray(c.pos, c.pos + n);
  c.pos += n;
  return out;
}

/** Reads one record into `f` (its headers through `visitor.header`). */
function readRecord<H>(data: Buffer, c: RecordCursor, f: RecordFields<H>, visitor: RecordVisitor<H>): void {
  const start = c.pos;
  const bodyBytes = readZigZagVarint(c);
  if (bodyBytes < MIN_RECORD_BODY_BYTES || bodyBytes > c.end - c.pos) {
    throw new DecodeError(`record length ${bodyBytes} is invalid for the ${c.end - c.pos} bytes left`, start);
  }
  const outerEnd = c.end;
  const recordEnd = c.pos + bodyBytes;
  c.end = recordEnd;
  f.attributes = data.readInt8(c.pos++);
  f.timestampDelta = readZigZagVarlongNumeric(c);
  f.offsetDelta = readZigZagVarint(c);
  f.key = readBytes(data, c, 'key');
  f.value = readBytes(data, c, 'value');
  const headerCount = readZigZagVarint(c);
  if (headerCount < 0 || headerCount > (recordEnd - c.pos) / MIN_HEADER_BYTES) {
    throw new DecodeError(`header count ${headerCount} is invalid`, c.pos);
  }
  const headers: H[] = headerCount === 0 ? [] : new Array<H>(headerCount);
  for (let h = 0; h < headerCount; h++) {
    const keyLength = readLength(c, 'header key', false);
    const headerKey = data.toString('utf8', c.pos, c.pos + keyLength);
    c.pos += keyLength;
    headers[h] = visitor.header(headerKey, readBytes(data, c, 'header value'));
  }
  f.headers = headers;
  if (c.pos !== recordEnd) throw new DecodeError(`record declares ${bodyBytes} bytes but its fields take ${bodyBytes - (recordEnd - c.pos)}`, start);
  c.end = outerEnd;
}

// ---------------------------------------------------------------------------------------------
// Encoding

export type BytesInput = Buffer | string | null | undefined;

export interface EncodeRecordInput {
  key?: Buffer | string | null;
  value?: Buffer | string | null;
  headers?: Array<{ key: string; value: Buffer | string | null }>;
  /** Record timestamp; defaults to the batch's baseTimestamp, or -1 (no timestamp). */
  timestamp?: bigint;
  /** Defaults to the record's index. Must increase strictly (compaction keeps gaps). */
  offsetDelta?: number;
}

export interface EncodeBatchInput {
  baseOffset?: bigint;
  partitionLeaderEpoch?: number;
  /** A CompressionType id (default none). */
  compression?: number;
  /** gzip or zstd level; see compress(). */
  compressionLevel?: number;
  timestampType?: 'create' | 'logAppend';
  isTransactional?: boolean;
  isControl?: boolean;
  producerId?: bigint;
  producerEpoch?: number;
  baseSequence?: number;
  /** Defaults to the first record's timestamp (Kafka's builder does the same). */
  baseTimestamp?: bigint;
  /** Sets attribute bit 6; baseTimestamp then holds this and record timestamps are relative to it. */
  deleteHorizonMs?: bigint;
  /**
   * Overrides lastOffsetDelta (default: the last record's offsetDelta). Compaction uses it to keep
   * a v2 batch's original offset range when its last records were removed, as Kafka's cleaner does.
   */
  lastOffsetDelta?: number;
  records: EncodeRecordInput[];
}

interface PreparedRecord {
  attributes: number;
  timestampDelta: bigint;
  offsetDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Array<{ key: Buffer; value: Buffer | null }>;
  bodyBytes: number;
}

function toBytes(x: BytesInput): Buffer | null {
  if (x === null || x === undefined) return null;
  return typeof x === 'string' ? Buffer.from(x, 'utf8') : x;
}

function bytesFieldSize(b: Buffer | null): number {
  return b === null ? 1 : zigZagVarintSize(b.length) + b.length;
}

function checkInt(value: number, bits: 16 | 32, what: string): void {
  const max = bits === 16 ? 0x7fff : 0x7fffffff;
  if (!Number.isInteger(value) || value < -max - 1 || value > max) throw new EncodeError(`${what} ${value} is not an int${bits}`);
}

function checkInt64(value: bigint, what: string): void {
  if (value !== BigInt.asIntN(64, value)) throw new EncodeError(`${what} ${value} is not an int64`);
}

function prepare(input: EncodeBatchInput, baseTimestamp: bigint): { prepared: PreparedRecord[]; maxTimestamp: bigint; lastDelta: number } {
  let maxTimestamp = NO_TIMESTAMP;
  let lastDelta = -1;
  const prepared = input.records.map((r, i): PreparedRecord => {
    const timestamp = r.timestamp ?? input.baseTimestamp ?? NO_TIMESTAMP;
    checkInt64(timestamp, 'record timestamp');
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    const offsetDelta = r.offsetDelta ?? i;
    checkInt(offsetDelta, 32, 'offsetDelta');
    if (offsetDelta <= lastDelta) throw new EncodeError(`offsetDelta ${offsetDelta} of record ${i} does not increase (previous ${lastDelta})`);
    lastDelta = offsetDelta;
    const timestampDelta = timestamp - baseTimestamp;
    checkInt64(timestampDelta, 'timestamp delta');
    const key = toBytes(r.key);
    const value = toBytes(r.value);
    const headers = (r.headers ?? []).map((h) => ({ key: Buffer.from(h.key, 'utf8'), value: toBytes(h.value) }));
    let bodyBytes = 1 + zigZagVarlongSize(timestampDelta) + zigZagVarintSize(offsetDelta) + bytesFieldSize(key) + bytesFieldSize(value) + zigZagVarintSize(headers.length);
    for (const h of headers) bodyBytes += bytesFieldSize(h.key) + bytesFieldSize(h.value);
    if (bodyBytes > 0x7fffffff - BATCH_HEADER_BYTES) throw new EncodeError(`record ${i} is too large`);
    return { attributes: 0, timestampDelta, offsetDelta, key, value, headers, bodyBytes };
  });
  return { prepared, maxTimestamp, lastDelta };
}

function writeBytesField(out: Buffer, pos: number, b: Buffer | null): number {
  if (b === null) return writeZigZagVarint(out, pos, -1);
  pos = writeZigZagVarint(out, pos, b.length);
  return pos + b.copy(out, pos);
}

function writeRecords(prepared: PreparedRecord[]): Buffer {
  let total = 0;
  for (const r of prepared) total += zigZagVarintSize(r.bodyBytes) + r.bodyBytes;
  if (total > 0x7fffffff - BATCH_HEADER_BYTES) throw new EncodeError(`records take ${total} bytes, more than a batch can hold`);
  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  for (const r of prepared) {
    pos = writeZigZagVarint(out, pos, r.bodyBytes);
    out[pos++] = r.attributes;
    pos = writeZigZagVarlong(out, pos, r.timestampDelta);
    pos = writeZigZagVarint(out, pos, r.offsetDelta);
    pos = writeBytesField(out, pos, r.key);
    pos = writeBytesField(out, pos, r.value);
    pos = writeZigZagVarint(out, pos, r.headers.length);
    for (const h of r.headers) {
      pos = writeBytesField(out, pos, h.key);
      pos = writeBytesField(out, pos, h.value);
    }
  }
  if (pos !== total) throw new Error(`assertion failed: wrote ${pos} of ${total} record bytes`);
  return out;
}

/** The header fields a writer chooses; length, magic and CRC follow from the bytes. */
type HeaderFields = Omit<BatchHeader, 'batchLength' | 'magic' | 'crc'>;

function assemble(fields: HeaderFields, payload: Buffer): Buffer {
  checkInt64(fields.baseOffset, 'baseOffset');
  checkInt(fields.partitionLeaderEpoch, 32, 'partitionLeaderEpoch');
  checkInt64(fields.producerId, 'producerId');
  checkInt(fields.producerEpoch, 16, 'producerEpoch');
  checkInt(fields.baseSequence, 32, 'baseSequence');
  checkInt64(fields.baseTimestamp, 'baseTimestamp');
  const size = BATCH_HEADER_BYTES + payload.length;
  if (size - LOG_OVERHEAD > 0x7fffffff) throw new EncodeError(`batch of ${size} bytes is too large`);
  const out = Buffer.allocUnsafe(size);
  out.writeBigInt64BE(fields.baseOffset, BASE_OFFSET_OFFSET);
  out.writeInt32BE(size - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
  out.writeInt32BE(fields.partitionLeaderEpoch, PARTITION_LEADER_EPOCH_OFFSET);
  out.writeInt8(CURRENT_MAGIC, MAGIC_OFFSET);
  out.writeInt16BE(fields.attributes, ATTRIBUTES_OFFSET);
  out.writeInt32BE(fields.lastOffsetDelta, LAST_OFFSET_DELTA_OFFSET);
  out.writeBigInt64BE(fields.baseTimestamp, BASE_TIMESTAMP_OFFSET);
  out.writeBigInt64BE(fields.maxTimestamp, MAX_TIMESTAMP_OFFSET);
  out.writeBigInt64BE(fields.producerId, PRODUCER_ID_OFFSET);
  out.writeInt16BE(fields.producerEpoch, PRODUCER_EPOCH_OFFSET);
  out.writeInt32BE(fields.baseSequence, BASE_SEQUENCE_OFFSET);
  out.writeInt32BE(fields.recordsCount, RECORDS_COUNT_OFFSET);
  payload.copy(out, BATCH_HEADER_BYTES);
  out.writeUInt32BE(computeBatchCrc(out, 0, size), CRC_OFFSET);
  return out;
}

function attributesOf(input: { compression?: number; timestampType?: 'create' | 'logAppend'; isTransactional?: boolean; isControl?: boolean }, hasDeleteHorizon: boolean): number {
  const codec = input.compression ?? CompressionType.none;
  if (!isKnownCompression(codec)) throw new EncodeError(`unknown compression codec ${codec}`);
  return (
    codec |
    (input.timestampType === 'logAppend' ? TIMESTAMP_TYPE_MASK : 0) |
    (input.isTransactional ? TRANSACTIONAL_FLAG_MASK : 0) |
    (input.isControl ? CONTROL_FLAG_MASK : 0) |
    (hasDeleteHorizon ? DELETE_HORIZON_FLAG_MASK : 0)
  );
}

/**
 * Encodes a RecordBatch v2 with a correct CRC. Reads no clock: records without a timestamp get
 * `baseTimestamp` or -1. Defaults follow a non-idempotent producer: baseOffset 0, producer id,
 * epoch, sequence and partition leader epoch -1. At least one record is required (see
 * encodeEmptyBatch for the header-only batches compaction keeps).
 */
export function encodeBatch(input: EncodeBatchInput): Buffer {
  if (input.records.length === 0) throw new EncodeError('a record batch needs at least one record (see encodeEmptyBatch)');
  const firstTimestamp = input.records[0]?.timestamp ?? input.baseTimestamp ?? NO_TIMESTAMP;
  const baseTimestamp = input.deleteHorizonMs ?? input.baseTimestamp ?? firstTimestamp;
  checkInt64(baseTimestamp, 'baseTimestamp');
  const { prepared, maxTimestamp, lastDelta } = prepare(input, baseTimestamp);
  const lastOffsetDelta = input.lastOffsetDelta ?? lastDelta;
  checkInt(lastOffsetDelta, 32, 'lastOffsetDelta');
  if (lastOffsetDelta < lastDelta) throw new EncodeError(`lastOffsetDelta ${lastOffsetDelta} is below the last record's offsetDelta ${lastDelta}`);
  const attributes = attributesOf(input, input.deleteHorizonMs !== undefined);
  const body = writeRecords(prepared);
  const codec = attributes & COMPRESSION_CODEC_MASK;
  const payload = codec === CompressionType.none ? body : compress(codec, body, input.compressionLevel);
  return assemble(
    {
      baseOffset: input.baseOffset ?? 0n,
      partitionLeaderEpoch: input.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH,
      attributes,
      lastOffsetDelta,
      baseTimestamp,
      maxTimestamp,
      producerId: input.producerId ?? NO_PRODUCER_ID,
      producerEpoch: input.producerEpoch ?? NO_PRODUCER_EPOCH,
      baseSequence: input.baseSequence ?? NO_SEQUENCE,
      recordsCount: prepared.length,
    },
    payload,
  );
}

export interface EmptyBatchInput {
  baseOffset: bigint;
  lastOffsetDelta: number;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  /** Written as both baseTimestamp and maxTimestamp. */
  timestamp: bigint;
  partitionLeaderEpoch?: number;
  timestampType?: 'create' | 'logAppend';
  isTransactional?: boolean;
  isControl?: boolean;
  deleteHorizonMs?: bigint;
}

/**
 * A header-only batch with recordsCount 0, as Kafka's MemoryRecords.writeEmptyHeader writes when
 * compaction removes every record of a batch whose producer state must survive. Uncompressed.
 */
export function encodeEmptyBatch(input: EmptyBatchInput): Buffer {
  checkInt(input.lastOffsetDelta, 32, 'lastOffsetDelta');
  checkInt64(input.timestamp, 'timestamp');
  return assemble(
    {
      baseOffset: input.baseOffset,
      partitionLeaderEpoch: input.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH,
      attributes: attributesOf(input, input.deleteHorizonMs !== undefined),
      lastOffsetDelta: input.lastOffsetDelta,
      baseTimestamp: input.deleteHorizonMs ?? input.timestamp,
      maxTimestamp: input.timestamp,
      producerId: input.producerId,
      producerEpoch: input.producerEpoch,
      baseSequence: input.baseSequence,
      recordsCount: 0,
    },
    Buffer.alloc(0),
  );
}

// ---------------------------------------------------------------------------------------------
// Control records (transaction markers)

/** Control record types (the int16 after the key's version). 2-6 appear only in KRaft logs. */
export const ControlRecordType = {
  ABORT: 0,
  COMMIT: 1,
  LEADER_CHANGE: 2,
  SNAPSHOT_HEADER: 3,
  SNAPSHOT_FOOTER: 4,
  KRAFT_VERSION: 5,
  KRAFT_VOTERS: 6,
} as const;

const CONTROL_KEY_VERSION = 0;
const END_TXN_MARKER_VERSION = 0;

export interface ControlBatchInput {
  type: 'COMMIT' | 'ABORT';
  coordinatorEpoch: number;
  producerId: bigint;
  producerEpoch: number;
  baseOffset: bigint;
  timestamp: bigint;
  partitionLeaderEpoch: number;
}

/**
 * A transaction marker batch as Kafka's MemoryRecords.withEndTransactionMarker writes it:
 * transactional + control attributes, uncompressed, CreateTime, no sequence, one record whose key
 * is int16 version 0 + int16 type and whose value is int16 version 0 + int32 coordinatorEpoch.
 */
export function encodeControlBatch(input: ControlBatchInput): Buffer {
  checkInt(input.coordinatorEpoch, 32, 'coordinatorEpoch');
  const key = Buffer.alloc(4);
  key.writeInt16BE(CONTROL_KEY_VERSION, 0);
  key.writeInt16BE(ControlRecordType[input.type], 2);
  const value = Buffer.alloc(6);
  value.writeInt16BE(END_TXN_MARKER_VERSION, 0);
  value.writeInt32BE(input.coordinatorEpoch, 2);
  return encodeBatch({
    baseOffset: input.baseOffset,
    partitionLeaderEpoch: input.partitionLeaderEpoch,
    isTransactional: true,
    isControl: true,
    producerId: input.producerId,
    producerEpoch: input.producerEpoch,
    baseSequence: NO_SEQUENCE,
    baseTimestamp: input.timestamp,
    records: [{ key, value, timestamp: input.timestamp }],
  });
}

/**
 * The type of a control record (ControlRecordType). As Kafka's ControlRecordType.parse: the key
 * needs at least 4 bytes and a non-negative version; only the first 4 bytes are read, so later
 * key versions stay readable. Unknown types are returned as is; callers skip them.
 */
export function readControlRecordType(record: { key: Buffer | null }): number {
  const key = record.key;
  if (key === null || key.length < 4) throw new DecodeError(`control record key needs 4 bytes, has ${key?.length ?? 'null'}`, 0, 'ControlRecord.key');
  const version = key.readInt16BE(0);
  if (version < 0) throw new DecodeError(`control record key version ${version} is invalid`, 0, 'ControlRecord.key.version');
  return key.readInt16BE(2);
}

/** The value of an ABORT/COMMIT marker: int16 version, int32 coordinatorEpoch (later bytes ignored). */
export function readEndTxnMarker(record: { value: Buffer | null }): { version: number; coordinatorEpoch: number } {
  const value = record.value;
  if (value === null || value.length < 6) throw new DecodeError(`end transaction marker needs 6 bytes, has ${value?.length ?? 'null'}`, 0, 'EndTxnMarker');
  const version = value.readInt16BE(0);
  if (version < 0) throw new DecodeError(`end transaction marker version ${version} is invalid`, 0, 'EndTxnMarker.version');
  return { version, coordinatorEpoch: value.readInt32BE(2) };
}
