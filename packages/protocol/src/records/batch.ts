/**
 * RecordBatch (magic 2) headers: reading, CRC-32C, in-place rewrites, walking a blob of batches,
 * and the per-batch validation the broker does before an append. Nothing here decodes records;
 * the produce and recovery paths touch each batch's 61-byte header and run one native CRC pass.
 *
 * Layout (big-endian; see ../shared/kafka-protocol/README.md, "RecordBatch (magic 2)"):
 *   0 baseOffset int64 | 8 batchLength int32 | 12 partitionLeaderEpoch int32 | 16 magic int8
 *   17 crc uint32 (CRC-32C of [21, end)) | 21 attributes int16 | 23 lastOffsetDelta int32
 *   27 baseTimestamp int64 | 35 maxTimestamp int64 | 43 producerId int64 | 51 producerEpoch int16
 *   53 baseSequence int32 | 57 recordsCount int32 | 61 records
 */
import { DecodeError } from '../decode-error.js';
import { CompressionType, isKnownCompression } from '../compression/codec.js';
import { onFirstUse } from '../native.js';

const crc32 = onFirstUse<typeof import('@node-rs/crc32')>('@node-rs/crc32');

export { CompressionType } from '../compression/codec.js';

export const LOG_OVERHEAD = 12;
export const BATCH_HEADER_BYTES = 61;
/** Smallest legal batchLength: the header without the log overhead. */
export const MIN_BATCH_LENGTH = BATCH_HEADER_BYTES - LOG_OVERHEAD;

export const BASE_OFFSET_OFFSET = 0;
export const BATCH_LENGTH_OFFSET = 8;
export const PARTITION_LEADER_EPOCH_OFFSET = 12;
export const MAGIC_OFFSET = 16;
export const CRC_OFFSET = 17;
export const ATTRIBUTES_OFFSET = 21;
export const LAST_OFFSET_DELTA_OFFSET = 23;
export const BASE_TIMESTAMP_OFFSET = 27;
export const MAX_TIMESTAMP_OFFSET = 35;
export const PRODUCER_ID_OFFSET = 43;
export const PRODUCER_EPOCH_OFFSET = 51;
export const BASE_SEQUENCE_OFFSET = 53;
export const RECORDS_COUNT_OFFSET = 57;

export const COMPRESSION_CODEC_MASK = 0x07;
export const TIMESTAMP_TYPE_MASK = 0x08;
export const TRANSACTIONAL_FLAG_MASK = 0x10;
export const CONTROL_FLAG_MASK = 0x20;
export const DELETE_HORIZON_FLAG_MASK = 0x40;

export const CURRENT_MAGIC = 2;
/** Values a producer writes when it is not idempotent (and the broker's "no epoch yet"). */
export const NO_PRODUCER_ID = -1n;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
export const NO_PARTITION_LEADER_EPOCH = -1;
export const NO_TIMESTAMP = -1n;

export interface BatchHeader {
  baseOffset: bigint;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: bigint;
  maxTimestamp: bigint;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordsCount: number;
}

/** The Kafka error a bad batch earns, by name (the broker maps names to codes). */
export type BatchErrorName =
  | 'CORRUPT_MESSAGE'
  | 'MESSAGE_TOO_LARGE'
  | 'INVALID_RECORD'
  | 'UNSUPPORTED_FOR_MESSAGE_FORMAT'
  | 'UNSUPPORTED_COMPRESSION_TYPE';

/** A batch's bytes are malformed (bad length, truncated, CRC mismatch). Kafka: CORRUPT_MESSAGE. */
export class CorruptBatchError extends DecodeError {
  readonly kind = 'CORRUPT_MESSAGE' as const;
}

/**
 * The bytes hold a batch of another magic (0 and 1 are the legacy message sets). Kafka itself
 * answers INVALID_RECORD for this on Produce v3+ ("only allowed to contain record batches with
 * magic version 2"); the `kind` here names UNSUPPORTED_FOR_MESSAGE_FORMAT and the broker chooses.
 */
export class UnsupportedMagicError extends DecodeError {
  readonly kind = 'UNSUPPORTED_FOR_MESSAGE_FORMAT' as const;
  constructor(
    readonly magic: number,
    offset: number,
    path = 'RecordBatch.magic',
  ) {
    super(`unsupported record batch magic ${magic}`, offset, path);
  }
}

/** The Kafka error name for a DecodeError thrown by this module (CORRUPT_MESSAGE unless it says otherwise). */
export function batchErrorName(error: DecodeError): BatchErrorName {
  const kind = (error as { kind?: unknown }).kind;
  return kind === 'UNSUPPORTED_FOR_MESSAGE_FORMAT' || kind === 'UNSUPPORTED_COMPRESSION_TYPE' ? kind : 'CORRUPT_MESSAGE';
}

export function readMagic(buf: Buffer, pos: number): number {
  return buf.readInt8(pos + MAGIC_OFFSET);
}

/** Whole batch size, 12 + batchLength. Reads the length field only; no validation. */
export function batchSize(buf: Buffer, pos: number): number {
  return LOG_OVERHEAD + buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
}

/** Reads the 61-byte header at `pos`. DecodeError if fewer than 61 bytes remain or magic != 2. */
export function readBatchHeader(buf: Buffer, pos = 0): BatchHeader {
  if (pos < 0 || buf.length - pos < BATCH_HEADER_BYTES) {
    throw new CorruptBatchError(`record batch header needs ${BATCH_HEADER_BYTES} bytes, ${Math.max(0, buf.length - pos)} remain`, pos, 'RecordBatch');
  }
  const magic = buf.readInt8(pos + MAGIC_OFFSET);
  if (magic !== CURRENT_MAGIC) throw new UnsupportedMagicError(magic, pos + MAGIC_OFFSET);
  return {
    baseOffset: buf.readBigInt64BE(pos + BASE_OFFSET_OFFSET),
    batchLength: buf.readInt32BE(pos + BATCH_LENGTH_OFFSET),
    partitionLeaderEpoch: buf.readInt32BE(pos + PARTITION_LEADER_EPOCH_OFFSET),
    magic,
    crc: buf.readUInt32BE(pos + CRC_OFFSET),
    attributes: buf.readInt16BE(pos + ATTRIBUTES_OFFSET),
    lastOffsetDelta: buf.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET),
    baseTimestamp: buf.readBigInt64BE(pos + BASE_TIMESTAMP_OFFSET),
    maxTimestamp: buf.readBigInt64BE(pos + MAX_TIMESTAMP_OFFSET),
    producerId: buf.readBigInt64BE(pos + PRODUCER_ID_OFFSET),
    producerEpoch: buf.readInt16BE(pos + PRODUCER_EPOCH_OFFSET),
    baseSequence: buf.readInt32BE(pos + BASE_SEQUENCE_OFFSET),
    recordsCount: buf.readInt32BE(pos + RECORDS_COUNT_OFFSET),
  };
}

/** Offset of the batch's last record: baseOffset + lastOffsetDelta. */
export function batchLastOffset(header: BatchHeader): bigint {
  return header.baseOffset + BigInt(header.lastOffsetDelta);
}

export interface BatchAttributes {
  compression: number;
  timestampType: 'create' | 'logAppend';
  isTransactional: boolean;
  isControl: boolean;
  hasDeleteHorizon: boolean;
}

export function decodeAttributes(attributes: number): BatchAttributes {
  return {
    compression: attributes & COMPRESSION_CODEC_MASK,
    timestampType: (attributes & TIMESTAMP_TYPE_MASK) !== 0 ? 'logAppend' : 'create',
    isTransactional: (attributes & TRANSACTIONAL_FLAG_MASK) !== 0,
    isControl: (attributes & CONTROL_FLAG_MASK) !== 0,
    hasDeleteHorizon: (attributes & DELETE_HORIZON_FLAG_MASK) !== 0,
  };
}

function checkSpan(buf: Buffer, pos: number, size: number): void {
  if (!Number.isInteger(pos) || !Number.isInteger(size) || pos < 0 || size < BATCH_HEADER_BYTES || pos + size > buf.length) {
    throw new RangeError(`batch span [${pos}, ${pos + size}) is not inside a ${buf.length}-byte buffer or is under ${BATCH_HEADER_BYTES} bytes`);
  }
}

/** CRC-32C of [pos + 21, pos + size): from attributes to the end of the batch. One native pass. */
export function computeBatchCrc(buf: Buffer, pos: number, size: number): number {
  checkSpan(buf, pos, size);
  return crc32().crc32c(buf.subarray(pos + ATTRIBUTES_OFFSET, pos + size)) >>> 0;
}

/**
 * CRC-32C (Castagnoli), unsigned, of `data`: the checksum of Kafka's on-disk formats besides
 * batches (producer state snapshots). One native pass.
 */
export function crc32cOf(data: Buffer): number {
  return crc32().crc32c(data) >>> 0;
}

/** True when the stored CRC matches. A span that does not fit in `buf` is simply not valid. */
export function batchCrcValid(buf: Buffer, pos: number, size: number): boolean {
  if (!Number.isInteger(pos) || !Number.isInteger(size) || pos < 0 || size < BATCH_HEADER_BYTES || pos + size > buf.length) return false;
  return computeBatchCrc(buf, pos, size) === buf.readUInt32BE(pos + CRC_OFFSET);
}

function writeCrc(buf: Buffer, pos: number, size: number): void {
  buf.writeUInt32BE(computeBatchCrc(buf, pos, size), pos + CRC_OFFSET);
}

/** Sets baseOffset. It is outside the CRC, so the CRC stays valid. */
export function setBaseOffset(buf: Buffer, pos: number, offset: bigint): void {
  buf.writeBigInt64BE(offset, pos + BASE_OFFSET_OFFSET);
}

/** Sets partitionLeaderEpoch. It is outside the CRC, so the CRC stays valid. */
export function setPartitionLeaderEpoch(buf: Buffer, pos: number, epoch: number): void {
  buf.writeInt32BE(epoch, pos + PARTITION_LEADER_EPOCH_OFFSET);
}

/**
 * Marks the batch LogAppendTime with `timestampMs` as its maxTimestamp, as Kafka's
 * `setMaxTimestamp(LOG_APPEND_TIME, now)` does (readers then take every record's timestamp from
 * maxTimestamp), and recomputes the CRC: both fields are inside it. Other attribute bits are kept.
 */
export function setLogAppendTime(buf: Buffer, pos: number, size: number, timestampMs: bigint): void {
  checkSpan(buf, pos, size);
  const attributes = buf.readInt16BE(pos + ATTRIBUTES_OFFSET);
  buf.writeInt16BE(attributes | TIMESTAMP_TYPE_MASK, pos + ATTRIBUTES_OFFSET);
  buf.writeBigInt64BE(timestampMs, pos + MAX_TIMESTAMP_OFFSET);
  writeCrc(buf, pos, size);
}

export interface BatchSpan {
  pos: number;
  size: number;
  header: BatchHeader;
}

/**
 * Splits the records blob of a produce request (or a fetch of whole batches) into batches laid
 * back to back, reading headers only. Throws:
 *  - UnsupportedMagicError for a batch whose magic is not 2 (checked as soon as the magic byte
 *    is present, so legacy message sets are recognised even when their sizes are small);
 *  - CorruptBatchError for a batchLength under 49 or a partial trailing batch.
 * CRCs are not checked here; validateBatchForAppend does that.
 *
 * Kafka differs on one point: its batch iterator silently ignores a partial trailing batch and the
 * log trims those bytes. We reject instead; no client sends one in a produce request.
 */
export function splitBatches(buf: Buffer): BatchSpan[] {
  const spans: BatchSpan[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const remaining = buf.length - pos;
    if (remaining < LOG_OVERHEAD) throw new CorruptBatchError(`partial batch: ${remaining} trailing bytes`, pos, 'RecordBatch');
    const batchLength = buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
    if (remaining > MAGIC_OFFSET && batchLength > MAGIC_OFFSET - LOG_OVERHEAD) {
      const magic = buf.readInt8(pos + MAGIC_OFFSET);
      if (magic !== CURRENT_MAGIC) throw new UnsupportedMagicError(magic, pos + MAGIC_OFFSET);
    }
    if (batchLength < MIN_BATCH_LENGTH) {
      throw new CorruptBatchError(`batchLength ${batchLength} is under the minimum ${MIN_BATCH_LENGTH}`, pos + BATCH_LENGTH_OFFSET, 'RecordBatch.batchLength');
    }
    const size = LOG_OVERHEAD + batchLength;
    if (size > remaining) throw new CorruptBatchError(`partial batch: ${size} bytes declared, ${remaining} present`, pos, 'RecordBatch');
    spans.push({ pos, size, header: readBatchHeader(buf, pos) });
    pos += size;
  }
  return spans;
}

export interface ScanOptions {
  /** Check each batch's CRC (default true). */
  verifyCrc?: boolean;
  /** Treat a batch larger than this as corrupt instead of waiting for more bytes (default: none). */
  maxBatchBytes?: number;
}

/**
 * Why a scan stopped:
 *  - end         every byte of [start, end) was whole, valid batches
 *  - incomplete  the last batch runs past `end` (a torn tail, or just the end of a read chunk:
 *                `nextBatchSize` says how many bytes that batch needs when its length is readable)
 *  - corrupt     bad length, magic or CRC at `validEnd`
 *  - stopped     the callback returned false
 */
export type ScanStop = 'end' | 'incomplete' | 'corrupt' | 'stopped';

export interface ScanResult {
  /** Position just past the last valid batch visited; everything from here on is unverified. */
  validEnd: number;
  batchCount: number;
  stop: ScanStop;
  reason?: string;
  nextBatchSize?: number;
}

/**
 * Walks batches in [start, end) without decoding records, for log recovery and index rebuilds.
 * Never throws on bad data: it stops and reports where valid data ends. `fn` sees each valid batch
 * (header read, CRC checked unless disabled) and may return false to stop after it.
 */
export function scanBatches(
  buf: Buffer,
  start: number,
  end: number,
  fn: (span: BatchSpan) => boolean | void,
  options: ScanOptions = {},
): ScanResult {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > buf.length || start > end) {
    throw new RangeError(`scan range [${start}, ${end}) is not inside a ${buf.length}-byte buffer`);
  }
  const verifyCrc = options.verifyCrc ?? true;
  const maxBatchBytes = options.maxBatchBytes ?? Number.POSITIVE_INFINITY;
  let pos = start;
  let batchCount = 0;
  const stop = (why: ScanStop, reason?: string, nextBatchSize?: number): ScanResult => {
    const result: ScanResult = { validEnd: pos, batchCount, stop: why };
    if (reason !== undefined) result.reason = reason;
    if (nextBatchSize !== undefined) result.nextBatchSize = nextBatchSize;
    return result;
  };
  while (pos < end) {
    const remaining = end - pos;
    if (remaining < LOG_OVERHEAD) return stop('incomplete', `${remaining} trailing bytes`);
    const batchLength = buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
    if (batchLength < MIN_BATCH_LENGTH) return stop('corrupt', `batchLength ${batchLength} is under ${MIN_BATCH_LENGTH}`);
    const size = LOG_OVERHEAD + batchLength;
    if (size > maxBatchBytes) return stop('corrupt', `batch of ${size} bytes is over the ${maxBatchBytes}-byte limit`);
    if (remaining > MAGIC_OFFSET) {
      const magic = buf.readInt8(pos + MAGIC_OFFSET);
      if (magic !== CURRENT_MAGIC) return stop('corrupt', `magic ${magic}`);
    }
    if (size > remaining) return stop('incomplete', `batch of ${size} bytes, ${remaining} present`, size);
    if (verifyCrc && !batchCrcValid(buf, pos, size)) return stop('corrupt', 'CRC mismatch');
    const span: BatchSpan = { pos, size, header: readBatchHeader(buf, pos) };
    pos += size;
    batchCount++;
    if (fn(span) === false) return stop('stopped');
  }
  return stop('end');
}

export interface AppendLimits {
  /** max.message.bytes: the largest batch, in bytes including the 12-byte log overhead. */
  maxMessageBytes: number;
  /**
   * 'client' (default) applies the checks Kafka makes only for producer appends: baseOffset 0,
   * recordsCount >= 1 and equal to lastOffsetDelta + 1, no control batches, a sequence when a
   * producer id is set. 'replication' skips them (followers append the leader's batches as is).
   */
  origin?: 'client' | 'replication';
}

export interface ValidBatch {
  ok: true;
  header: BatchHeader;
  size: number;
  lastOffsetDelta: number;
  recordsCount: number;
  baseTimestamp: bigint;
  maxTimestamp: bigint;
  compression: number;
  timestampType: 'create' | 'logAppend';
  isTransactional: boolean;
  isControl: boolean;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
}

export interface InvalidBatch {
  ok: false;
  error: BatchErrorName;
  message: string;
}

export type ValidationResult = ValidBatch | InvalidBatch;

/** The smallest possible record: 7 one-byte fields (length .. headersCount). */
export const MIN_RECORD_BYTES = 7;

function invalid(error: BatchErrorName, message: string): InvalidBatch {
  return { ok: false, error, message };
}

/**
 * Validates one batch before it is appended, in Kafka's order (UnifiedLog.analyzeAndValidateRecords,
 * then LogValidator.validateBatch). Per-batch work only: header reads and one native CRC pass over
 * the batch; it neither decompresses nor iterates records.
 *
 * Checked: span and batchLength agree; magic 2; (client) baseOffset 0; size <= maxMessageBytes
 * (Kafka compares the whole batch, log overhead included, with max.message.bytes); CRC-32C; a
 * known codec; (client) recordsCount >= 1, lastOffsetDelta == recordsCount - 1 (Kafka checks this
 * for every client batch, compressed or not), no control batch, baseSequence >= 0 when a producer
 * id is set; for uncompressed batches, recordsCount small enough to fit in the bytes present.
 *
 * Deliberately skipped, relying on the CRC (which the producer computed over exactly these bytes)
 * and on the header: Kafka's LogValidator decompresses and walks every record to check that
 *  - the records parse and their number equals recordsCount (INVALID_RECORD otherwise),
 *  - inner offsets are 0..n-1 (Kafka silently re-compresses the batch when they are not),
 *  - records of compacted topics have keys (INVALID_RECORD),
 *  - CreateTime timestamps lie within message.timestamp.before/after.max.ms (INVALID_TIMESTAMP),
 *    and a producer did not claim LogAppendTime (INVALID_TIMESTAMP);
 * and it recomputes maxTimestamp from the records where we trust the header. Kafka also converts
 * or re-compresses when the topic's compression.type differs from the batch's; Fjord stores the
 * client's bytes. Timestamp policy and compacted-topic keys are topic configuration, so the
 * broker applies what it can from the returned header fields.
 */
export function validateBatchForAppend(buf: Buffer, span: BatchSpan, limits: AppendLimits): ValidationResult {
  const { pos, size } = span;
  if (!Number.isInteger(pos) || !Number.isInteger(size) || pos < 0 || size < LOG_OVERHEAD || pos + size > buf.length) {
    return invalid('CORRUPT_MESSAGE', `batch span [${pos}, ${pos + size}) lies outside the ${buf.length}-byte records`);
  }
  if (size > MAGIC_OFFSET) {
    const magic = buf.readInt8(pos + MAGIC_OFFSET);
    if (magic !== CURRENT_MAGIC) return invalid('UNSUPPORTED_FOR_MESSAGE_FORMAT', `record batch magic ${magic} is not supported; only magic 2`);
  }
  if (size < BATCH_HEADER_BYTES) return invalid('CORRUPT_MESSAGE', `batch of ${size} bytes is under the ${BATCH_HEADER_BYTES}-byte header`);
  const batchLength = buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
  if (LOG_OVERHEAD + batchLength !== size) return invalid('CORRUPT_MESSAGE', `batchLength ${batchLength} disagrees with the ${size}-byte batch`);
  // splitBatches already parsed this header from the same bytes: do not parse it twice per batch.
  const header = span.header;
  const fromClient = (limits.origin ?? 'client') === 'client';
  if (fromClient && header.baseOffset !== 0n) {
    return invalid('INVALID_RECORD', `the baseOffset of a produced record batch should be 0, but it is ${header.baseOffset}`);
  }
  if (size > limits.maxMessageBytes) {
    return invalid('MESSAGE_TOO_LARGE', `the record batch is ${size} bytes, over the maximum of ${limits.maxMessageBytes} (max.message.bytes)`);
  }
  if (computeBatchCrc(buf, pos, size) !== header.crc) {
    return invalid('CORRUPT_MESSAGE', 'record batch CRC mismatch');
  }
  const attrs = decodeAttributes(header.attributes);
  if (!isKnownCompression(attrs.compression)) {
    return invalid('UNSUPPORTED_COMPRESSION_TYPE', `unknown compression codec ${attrs.compression}`);
  }
  if (header.recordsCount < 0) return invalid('INVALID_RECORD', `negative record count ${header.recordsCount}`);
  if (header.lastOffsetDelta < 0) return invalid('INVALID_RECORD', `negative lastOffsetDelta ${header.lastOffsetDelta}`);
  if (fromClient) {
    if (header.recordsCount === 0) return invalid('INVALID_RECORD', 'record batch has no records');
    if (header.lastOffsetDelta !== header.recordsCount - 1) {
      return invalid('INVALID_RECORD', `inconsistent batch offset range [0, ${header.lastOffsetDelta}] and count of records ${header.recordsCount}`);
    }
    if (attrs.isControl) return invalid('INVALID_RECORD', 'clients are not allowed to write control records');
    if (header.producerId >= 0n && header.baseSequence < 0) {
      return invalid('INVALID_RECORD', `invalid sequence number ${header.baseSequence} in record batch with producerId ${header.producerId}`);
    }
  }
  if (attrs.compression === CompressionType.none && header.recordsCount > (size - BATCH_HEADER_BYTES) / MIN_RECORD_BYTES) {
    return invalid('INVALID_RECORD', `${header.recordsCount} records cannot fit in ${size - BATCH_HEADER_BYTES} bytes`);
  }
  return {
    ok: true,
    header,
    size,
    lastOffsetDelta: header.lastOffsetDelta,
    recordsCount: header.recordsCount,
    baseTimestamp: header.baseTimestamp,
    maxTimestamp: header.maxTimestamp,
    compression: attrs.compression,
    timestampType: attrs.timestampType,
    isTransactional: attrs.isTransactional,
    isControl: attrs.isControl,
    producerId: header.producerId,
    producerEpoch: header.producerEpoch,
    baseSequence: header.baseSequence,
  };
}
