import { DecodeError } from '../decode-error.js';

/**
 * Compression codec ids as stored in bits 0-2 of a RecordBatch's attributes
 * (Kafka's `CompressionType.id`). Ids 5-7 are unassigned.
 */
export const CompressionType = {
  none: 0,
  gzip: 1,
  snappy: 2,
  lz4: 3,
  zstd: 4,
} as const;

export type CompressionCodec = (typeof CompressionType)[keyof typeof CompressionType];

const NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

/** The Kafka name of a codec id (`compression.type` values), or `unknown(<id>)`. */
export function compressionName(codec: number): string {
  return NAMES[codec] ?? `unknown(${codec})`;
}

export function isKnownCompression(codec: number): codec is CompressionCodec {
  return Number.isInteger(codec) && codec >= 0 && codec <= 4;
}

/**
 * A batch names a codec this build cannot decode (ids 5-7). The broker answers
 * UNSUPPORTED_COMPRESSION_TYPE; the `kind` field carries that name.
 */
export class UnsupportedCompressionError extends DecodeError {
  readonly kind = 'UNSUPPORTED_COMPRESSION_TYPE' as const;
  constructor(
    readonly codec: number,
    offset = 0,
    path = '',
  ) {
    super(`unsupported compression codec ${codec}`, offset, path);
  }
}
