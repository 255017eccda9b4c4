/**
 * Synchronous compression for RecordBatch payloads (everything after `recordsCount`).
 *
 * What each codec writes here:
 *   gzip    a single gzip member (node:zlib), level -1 (zlib's default, 6) unless given
 *   snappy  snappy-java "xerial" framing, 32 KiB blocks, as the Java producer
 *   lz4     one LZ4 frame, independent 64 KiB blocks, no checksums, as the Java producer
 *   zstd    one zstd frame at level 3 (Kafka's default) unless given
 * Decoding accepts what every mainstream client writes; see snappy.ts and lz4.ts.
 *
 * `decompress` never allocates more than `maxBytes` (plus one working chunk) whatever the input
 * claims, and throws DecodeError for anything malformed or over the limit.
 */
import { constants as zlibConstants, gunzipSync, gzipSync } from 'node:zlib';
import { DecodeError, EncodeError } from '../decode-error.js';
import { CompressionType, UnsupportedCompressionError, compressionName } from './codec.js';
import { lz4Compress, lz4Decompress } from './lz4.js';
import { snappyCompress, snappyDecompress } from './snappy.js';
import { zstdCompress, zstdDecompress } from './zstd.js';

export { UnsupportedCompressionError, compressionName, isKnownCompression } from './codec.js';
export type { CompressionCodec } from './codec.js';
export { xxhash32 } from './xxhash32.js';

/** Kafka sizes are int32; no decompressed payload can usefully exceed this. */
const ABSOLUTE_MAX_BYTES = 0x7fffffff;

/**
 * Compresses `data` with `codec` (a CompressionType id). `level` applies to gzip (1-9, -1 =
 * default) and zstd (Kafka accepts -131072..22); snappy and lz4 ignore it (lz4-napi has one level).
 */
export function compress(codec: number, data: Buffer, level?: number): Buffer {
  switch (codec) {
    case CompressionType.none:
      return data;
    case CompressionType.gzip:
      return gzipSync(data, { level: level ?? zlibConstants.Z_DEFAULT_COMPRESSION });
    case CompressionType.snappy:
      return snappyCompress(data);
    case CompressionType.lz4:
      return lz4Compress(data);
    case CompressionType.zstd:
      return zstdCompress(data, level);
    default:
      throw new EncodeError(`cannot compress with codec ${compressionName(codec)}`);
  }
}

/**
 * Decompresses `data` written with `codec`. Throws UnsupportedCompressionError (a DecodeError)
 * for codec ids 5-7 and DecodeError for corrupt input or output past `maxBytes`.
 * For codec none the input itself is returned; other results may also share memory with `data`.
 */
export function decompress(codec: number, data: Buffer, maxBytes: number): Buffer {
  if (!Number.isInteger(maxBytes) || maxBytes < 0) throw new RangeError(`maxBytes must be a non-negative integer, got ${maxBytes}`);
  const limit = Math.min(maxBytes, ABSOLUTE_MAX_BYTES);
  switch (codec) {
    case CompressionType.none:
      if (data.length > limit) throw new DecodeError(`payload exceeds the ${limit}-byte limit`, 0, 'none');
      return data;
    case CompressionType.gzip:
      return gunzip(data, limit);
    case CompressionType.snappy:
      return snappyDecompress(data, limit);
    case CompressionType.lz4:
      return lz4Decompress(data, limit);
    case CompressionType.zstd:
      return zstdDecompress(data, limit);
    default:
      throw new UnsupportedCompressionError(codec);
  }
}

function gunzip(data: Buffer, limit: number): Buffer {
  let out: Buffer;
  try {
    // maxOutputLength makes zlib stop (RangeError) instead of growing past the limit.
    out = gunzipSync(data, { maxOutputLength: Math.max(limit, 1) });
  } catch (cause) {
    const tooLarge = (cause as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
    throw new DecodeError(tooLarge ? `gzip: decompressed data exceeds the ${limit}-byte limit` : 'gzip: corrupt stream', 0, 'gzip', { cause });
  }
  if (out.length > limit) throw new DecodeError(`gzip: decompressed data exceeds the ${limit}-byte limit`, 0, 'gzip');
  return out;
}
