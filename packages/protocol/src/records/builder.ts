/**
 * BatchBuilder: writes records into a RecordBatch v2 as they are appended (a producer's open batch),
 * so that a record leaves no object behind once appended and its bytes are copied once. build()
 * fills the header, compresses the records if asked and computes the CRC. The output is
 * byte-for-byte what encodeBatch() makes of the same records (tested).
 */
import { compress } from '../compression/index.js';
import { isKnownCompression } from '../compression/codec.js';
import { EncodeError } from '../decode-error.js';
import {
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_OFFSET,
  CompressionType,
  CRC_OFFSET,
  CURRENT_MAGIC,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  NO_PARTITION_LEADER_EPOCH,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORDS_COUNT_OFFSET,
  TRANSACTIONAL_FLAG_MASK,
  computeBatchCrc,
} from './batch.js';
import { writeZigZagVarint, writeZigZagVarlong, zigZagVarintSize, zigZagVarlongSize } from './varint.js';

export interface BuilderHeader {
  key: string;
  value: Buffer | null;
}

export interface BuildOptions {
  compression?: number;
  compressionLevel?: number;
  isTransactional?: boolean;
  producerId?: bigint;
  producerEpoch?: number;
  baseSequence?: number;
}

/** Timestamp deltas within this range take the number path; others go through BigInt. */
const SMALL_DELTA = 0x3fffffff;

export class BatchBuilder {
  private buf: Buffer;
  private pos = BATCH_HEADER_BYTES;
  private built: Buffer | undefined;
  private builtCodec = -1;
  /** Records appended. */
  count = 0;
  /** The first record's timestamp (ms); deltas are relative to it. */
  baseTimestamp = -1;
  maxTimestamp = -1;

  /**
   * `capacityBytes`: the buffer's first size (batch.size); it grows for a record that does not fit.
   * `reuse`: a buffer to write into instead (one a finished builder gave up, see detachBuffer),
   * whatever its size; its old contents are overwritten, never read.
   */
  constructor(capacityBytes: number, reuse?: Buffer) {
    this.buf = reuse !== undefined && reuse.length >= BATCH_HEADER_BYTES + 64 ? reuse : Buffer.allocUnsafe(Math.max(BATCH_HEADER_BYTES + 64, capacityBytes));
  }

  /** Bytes of the batch so far, uncompressed (header included). */
  get sizeBytes(): number {
    return this.pos;
  }

  /** Appends one record. `timestampMs` is a non-negative integer (ms since the epoch). */
  append(timestampMs: number, key: Buffer | null, value: Buffer | null, headers: readonly BuilderHeader[]): void {
    if (this.built) throw new EncodeError('the batch was already built');
    if (this.buf === DETACHED) throw new EncodeError('the builder gave up its buffer');
    if (!Number.isSafeInteger(timestampMs)) throw new EncodeError(`timestamp ${timestampMs} is not an integer number of ms`);
    if (this.count === 0) this.baseTimestamp = timestampMs;
    const delta = timestampMs - this.baseTimestamp;
    const small = delta >= -SMALL_DELTA && delta <= SMALL_DELTA;
    const bigDelta = small ? 0n : BigInt(delta);
    const offsetDelta = this.count;
    let headerBytes = 0;
    for (let i = 0; i < headers.length; i++) {
      const h = headers[i]!;
      const k = Buffer.byteLength(h.key, 'utf8');
      headerBytes += zigZagVarintSize(k) + k + bytesSize(h.value);
    }
    const body =
      1 + (small ? zigZagVarintSize(delta) : zigZagVarlongSize(bigDelta)) + zigZagVarintSize(offsetDelta) + bytesSize(key) + bytesSize(value) + zigZagVarintSize(headers.length) + headerBytes;
    this.ensure(zigZagVarintSize(body) + body);
    const b = this.buf;
    let p = writeZigZagVarint(b, this.pos, body);
    b[p++] = 0; // attributes
    p = small ? writeZigZagVarint(b, p, delta) : writeZigZagVarlong(b, p, bigDelta);
    p = writeZigZagVarint(b, p, offsetDelta);
    p = writeBytes(b, p, key);
    p = writeBytes(b, p, value);
    p = writeZigZagVarint(b, p, headers.length);
    for (let i = 0; i < headers.length; i++) {
      const h = headers[i]!;
      p = writeZigZagVarint(b, p, Buffer.byteLength(h.key, 'utf8'));
      p += b.write(h.key, p, 'utf8');
      p = writeBytes(b, p, h.value);
    }
    this.pos = p;
    this.count++;
    if (timestampMs > this.maxTimestamp) this.maxTimestamp = timestampMs;
  }

  /**
   * The finished batch (baseOffset 0, as a producer sends it). The records are compressed once, on
   * the first call; each call writes the header (producer id, epoch, sequence: a producer renumbers
   * unsent batches after a new producer id) and the CRC into the same buffer and returns it.
   * Appending ends with the first call.
   */
  build(options: BuildOptions = {}): Buffer {
    if (this.buf === DETACHED) throw new EncodeError('the builder gave up its buffer');
    if (this.count === 0) throw new EncodeError('a record batch needs at least one record');
    const codec = options.compression ?? CompressionType.none;
    if (!isKnownCompression(codec)) throw new EncodeError(`unknown compression codec ${codec}`);
    if (this.built === undefined || this.builtCodec !== codec) {
      if (codec === CompressionType.none) this.built = this.buf.subarray(0, this.pos);
      else {
        const payload = compress(codec, this.buf.subarray(BATCH_HEADER_BYTES, this.pos), options.compressionLevel);
        this.built = Buffer.allocUnsafe(BATCH_HEADER_BYTES + payload.length);
        payload.copy(this.built, BATCH_HEADER_BYTES);
      }
      this.builtCodec = codec;
    }
    const out = this.built;
    const size = out.length;
    if (size - LOG_OVERHEAD > 0x7fffffff) throw new EncodeError(`batch of ${size} bytes is too large`);
    // int64 fields from numbers where they are safe integers: writeBigInt64BE makes several BigInts per call.
    writeSafeInt64BE(out, 0, BASE_OFFSET_OFFSET);
    out.writeInt32BE(size - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
    out.writeInt32BE(NO_PARTITION_LEADER_EPOCH, PARTITION_LEADER_EPOCH_OFFSET);
    out.writeInt8(CURRENT_MAGIC, MAGIC_OFFSET);
    out.writeInt16BE(codec | (options.isTransactional ? TRANSACTIONAL_FLAG_MASK : 0), ATTRIBUTES_OFFSET);
    out.writeInt32BE(this.count - 1, LAST_OFFSET_DELTA_OFFSET);
    writeSafeInt64BE(out, this.baseTimestamp, BASE_TIMESTAMP_OFFSET);
    writeSafeInt64BE(out, this.maxTimestamp, MAX_TIMESTAMP_OFFSET);
    const pid = options.producerId ?? -1n;
    if (pid >= -SAFE_BIG && pid <= SAFE_BIG) writeSafeInt64BE(out, Number(pid), PRODUCER_ID_OFFSET);
    else out.writeBigInt64BE(pid, PRODUCER_ID_OFFSET);
    out.writeInt16BE(options.producerEpoch ?? -1, PRODUCER_EPOCH_OFFSET);
    out.writeInt32BE(options.baseSequence ?? -1, BASE_SEQUENCE_OFFSET);
    out.writeInt32BE(this.count, RECORDS_COUNT_OFFSET);
    out.writeUInt32BE(computeBatchCrc(out, 0, size), CRC_OFFSET);
    return out;
  }

  /**
   * Gives up the buffer the records were written into, for another builder to reuse. The caller
   * vouches that nothing reads this builder's output any more (for a producer: the batch was
   * acknowledged, so the socket has sent its bytes). The builder cannot be used after.
   */
  detachBuffer(): Buffer {
    const b = this.buf;
    this.buf = DETACHED;
    this.built = undefined;
    return b;
  }

  private ensure(bytes: number): void {
    const need = this.pos + bytes;
    if (need <= this.buf.length) return;
    if (need - LOG_OVERHEAD > 0x7fffffff) throw new EncodeError(`a batch of ${need} bytes is too large`);
    // Grow fourfold: a producer batch that outgrows batch.size is usually on its way to 16 times it.
    const grown = Buffer.allocUnsafe(Math.max(need, Math.min(0x7fffffff, this.buf.length * 4)));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }
}

const SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);
const DETACHED = Buffer.alloc(0);

/** Writes a safe integer (|v| <= 2^53 - 1) as a big-endian int64 without going through BigInt. */
function writeSafeInt64BE(out: Buffer, v: number, at: number): void {
  const hi = Math.floor(v / 0x1_0000_0000);
  out.writeInt32BE(hi, at);
  out.writeUInt32BE(v - hi * 0x1_0000_0000, at + 4);
}

function bytesSize(b: Buffer | null): number {
  return b === null ? 1 : zigZagVarintSize(b.length) + b.length;
}

function writeBytes(out: Buffer, pos: number, b: Buffer | null): number {
  if (b === null) return writeZigZagVarint(out, pos, -1);
  pos = writeZigZagVarint(out, pos, b.length);
  return pos + b.copy(out, pos);
}
