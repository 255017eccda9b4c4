/**
 * Zstandard via zstd-napi's low-level binding. zstd-napi's high-level `decompress` allocates
 * whatever a frame header's content size claims and returns partial output for a truncated
 * frame, so we drive `ZSTD_decompressStream` ourselves: output grows in chunks up to the caller's
 * limit, a truncated frame is an error, and concatenated frames are accepted (as zstd-jni's
 * stream, which the Java client uses, accepts them).
 *
 * Decoder memory: a frame without a content size makes the decoder allocate its declared window
 * (up to 2^27 bytes by default) whatever its real size. We cap the window at twice `maxBytes`,
 * but never below 2^23 (what level 19 streams use) nor above zstd's default 2^27: a batch's
 * window larger than the batch itself only comes from a hostile or very unusual producer.
 */
import type * as ZstdBinding from 'zstd-napi/binding.js';
import { DecodeError } from '../decode-error.js';
import { onFirstUse } from '../native.js';

const binding = onFirstUse<typeof ZstdBinding>('zstd-napi/binding.js');
const zstd = onFirstUse<typeof import('zstd-napi')>('zstd-napi');

const PATH = 'zstd';
const MIN_CHUNK_BYTES = 128 * 1024;
/** Kafka's default `compression.zstd.level`. */
export const ZSTD_DEFAULT_LEVEL = 3;

let dctx: ZstdBinding.DCtx | undefined;

const WINDOW_LOG_MIN = 23;
const WINDOW_LOG_MAX = 27;

function context(maxBytes: number): ZstdBinding.DCtx {
  const b = binding();
  dctx ??= new b.DCtx();
  // A previous call may have failed mid-frame; start clean.
  dctx.reset(b.ResetDirective.sessionOnly);
  const windowLog = Math.min(WINDOW_LOG_MAX, Math.max(WINDOW_LOG_MIN, Math.ceil(Math.log2(Math.max(maxBytes, 1))) + 1));
  dctx.setParameter(b.DParameter.windowLogMax, windowLog);
  return dctx;
}

/** The content size the first frame declares, or null when absent or unreadable. */
function declaredSize(data: Buffer): number | null {
  try {
    return binding().getFrameContentSize(data);
  } catch {
    return null;
  }
}

/** Decodes one or more zstd frames; throws DecodeError past `maxBytes` of output. */
export function zstdDecompress(data: Buffer, maxBytes: number): Buffer {
  const ctx = context(maxBytes);
  const declared = declaredSize(data);
  if (declared !== null && declared > maxBytes) {
    throw new DecodeError(`zstd: frame declares ${declared} bytes, over the ${maxBytes}-byte limit`, 0, PATH);
  }
  // One buffer of the declared size when the frame states it (and we still verify as we go);
  // otherwise chunks that start at 4x the input and double, never past the limit + 1.
  let chunkBytes = declared !== null ? Math.max(declared, 1) : Math.max(MIN_CHUNK_BYTES, data.length * 4);
  const chunks: Buffer[] = [];
  let total = 0;
  let input = data;
  let consumedTotal = 0;
  for (;;) {
    const room = maxBytes + 1 - total;
    const out = Buffer.allocUnsafe(Math.min(chunkBytes, room));
    let ret: number;
    let produced: number;
    let consumed: number;
    try {
      [ret, produced, consumed] = ctx.decompressStream(out, input);
    } catch (cause) {
      // zstd's own words: "Unknown frame descriptor", "Frame requires too much memory...", etc.
      throw new DecodeError(`zstd: ${cause instanceof Error ? cause.message : 'corrupt frame'}`, consumedTotal, PATH, { cause });
    }
    if (produced > 0) chunks.push(out.subarray(0, produced));
    total += produced;
    consumedTotal += consumed;
    input = input.subarray(consumed);
    if (total > maxBytes) throw new DecodeError(`zstd: decompressed data exceeds the ${maxBytes}-byte limit`, consumedTotal, PATH);
    const outputFull = produced === out.length;
    if (ret === 0 && input.length === 0) break; // last frame complete and flushed
    if (input.length === 0 && !outputFull) throw new DecodeError('zstd: frame is truncated', consumedTotal, PATH);
    if (produced === 0 && consumed === 0 && !outputFull) throw new DecodeError('zstd: decoder made no progress', consumedTotal, PATH);
    if (outputFull) chunkBytes = Math.min(chunkBytes * 2, 64 * 1024 * 1024);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

export function zstdCompress(data: Buffer, level: number = ZSTD_DEFAULT_LEVEL): Buffer {
  return zstd().compress(data, { compressionLevel: level });
}
