/**
 * Walking the batches of a segment file without decoding records.
 *
 * - scanFile: sequential, chunked, CRC-verified walk for recovery, index rebuilds and the cleaner
 *   (the validation itself is protocol's scanBatches, applied to each chunk).
 * - findBatch: the read path's header-only walk from an index position to the first batch that
 *   satisfies a predicate; reads small windows and never the batch bodies it skips.
 */
import {
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MIN_BATCH_LENGTH,
  readBatchHeader,
  scanBatches,
  type BatchHeader,
} from '@fjord/protocol';
import { StorageError } from './errors.js';
import { readFully, type FileSystem } from './fs-port.js';
import { readScanWindowBytes, recordBatchBytesMax, scanChunkBytes } from './limits.js';

export interface FileBatch {
  /** Byte position of the batch in the file. */
  position: number;
  size: number;
  header: BatchHeader;
  /** The batch's bytes are chunk[chunkPos, chunkPos + size); the chunk is reused after the callback returns. */
  chunk: Buffer;
  chunkPos: number;
}

export interface FileScanResult {
  /** Position just past the last valid, accepted batch. */
  validEnd: number;
  /** end: every byte was valid; torn: a partial batch at validEnd; corrupt: bad bytes at validEnd; stopped: the visitor said stop. */
  stop: 'end' | 'torn' | 'corrupt' | 'stopped';
  reason?: string;
  bytesRead: number;
  batches: number;
}

/**
 * Visits each valid batch in [start, end) in order. The visitor returns a string to reject the
 * batch as corrupt (e.g. offsets going backwards), false to stop before it, or nothing to go on.
 */
export async function scanFile(
  fsys: FileSystem,
  fd: number,
  start: number,
  end: number,
  opts: { verifyCrc: boolean; chunkBytes?: number },
  visit: (b: FileBatch) => string | boolean | void,
): Promise<FileScanResult> {
  const chunkBytes = opts.chunkBytes ?? scanChunkBytes;
  let pos = start;
  let bytesRead = 0;
  let batches = 0;
  let need = 0;
  let chunk = Buffer.allocUnsafe(Math.max(BATCH_HEADER_BYTES, Math.min(chunkBytes, end - start)));
  while (pos < end) {
    const want = Math.min(Math.max(chunkBytes, need), end - pos);
    if (want > chunk.length) chunk = Buffer.allocUnsafe(want);
    const n = await readFully(fsys, fd, chunk, 0, want, pos);
    bytesRead += n;
    let verdict: { kind: 'reject'; at: number; reason: string } | { kind: 'stop'; at: number } | null = null;
    const r = scanBatches(
      chunk,
      0,
      n,
      (span) => {
        const v = visit({ position: pos + span.pos, size: span.size, header: span.header, chunk, chunkPos: span.pos });
        if (typeof v === 'string') verdict = { kind: 'reject', at: pos + span.pos, reason: v };
        else if (v === false) verdict = { kind: 'stop', at: pos + span.pos };
        else {
          batches++;
          return true;
        }
        return false;
      },
      { verifyCrc: opts.verifyCrc, maxBatchBytes: recordBatchBytesMax },
    );
    const v = verdict as { kind: 'reject'; at: number; reason: string } | { kind: 'stop'; at: number } | null;
    if (v?.kind === 'reject') return { validEnd: v.at, stop: 'corrupt', reason: v.reason, bytesRead, batches };
    if (v?.kind === 'stop') return { validEnd: v.at, stop: 'stopped', bytesRead, batches };
    if (r.stop === 'corrupt') return { validEnd: pos + r.validEnd, stop: 'corrupt', reason: r.reason ?? 'corrupt batch', bytesRead, batches };
    const reachedEnd = pos + n >= end || n < want;
    if (r.stop === 'end') {
      pos += n;
      if (n < want) return { validEnd: pos, stop: 'torn', reason: 'file shorter than expected', bytesRead, batches };
      need = 0;
      continue;
    }
    // incomplete: the next batch does not fit in what was read.
    pos += r.validEnd;
    if (reachedEnd) return { validEnd: pos, stop: 'torn', reason: r.reason ?? 'partial batch', bytesRead, batches };
    need = r.nextBatchSize ?? BATCH_HEADER_BYTES;
    if (r.validEnd === 0 && need <= want) need = want * 2; // cannot happen with a sane length; guarantees progress
  }
  return { validEnd: pos, stop: 'end', bytesRead, batches };
}

export interface FoundBatch {
  position: number;
  size: number;
  header: BatchHeader;
}

/**
 * Header-only walk from `start` (a batch boundary, usually an index position) to `end`: returns
 * the first batch for which `match` is true, or null. Data before `end` was validated when it was
 * appended or recovered, so a malformed header here is a StorageError naming the file.
 */
export async function findBatch(
  fsys: FileSystem,
  fd: number,
  file: string,
  start: number,
  end: number,
  match: (h: BatchHeader) => boolean,
): Promise<FoundBatch | null> {
  const window = Buffer.allocUnsafe(readScanWindowBytes);
  let winStart = 0;
  let winLen = 0;
  let pos = start;
  while (pos + LOG_OVERHEAD <= end) {
    if (pos < winStart || pos + BATCH_HEADER_BYTES > winStart + winLen) {
      winStart = pos;
      winLen = await readFully(fsys, fd, window, 0, Math.min(window.length, end - pos), pos);
      if (winLen < Math.min(BATCH_HEADER_BYTES, end - pos)) throw new StorageError(`short read at position ${pos}`, file);
    }
    const at = pos - winStart;
    const batchLength = window.readInt32BE(at + BATCH_LENGTH_OFFSET);
    const size = LOG_OVERHEAD + batchLength;
    if (batchLength < MIN_BATCH_LENGTH || pos + size > end || window.readInt8(at + MAGIC_OFFSET) !== 2) {
      throw new StorageError(`malformed batch header at position ${pos}`, file);
    }
    const header = readBatchHeader(window, at);
    if (match(header)) return { position: pos, size, header };
    pos += size;
  }
  return null;
}

/**
 * Header-only walk from `start` (a batch boundary) to `end`: checks that whole batches end exactly
 * at `end`. Reads the region in one go when it is small (the usual case: from a segment's last
 * index entry to its end). Returns the last batch's last offset, or a problem.
 */
export async function walkToEnd(
  fsys: FileSystem,
  fd: number,
  start: number,
  end: number,
): Promise<{ lastOffset: bigint | null; bytesRead: number; problem: string | null }> {
  let bytesRead = 0;
  let lastOffset: bigint | null = null;
  let pos = start;
  let buf = Buffer.allocUnsafe(Math.max(BATCH_HEADER_BYTES, Math.min(end - start, 64 * 1024)));
  let bufStart = 0;
  let bufLen = 0;
  while (pos < end) {
    if (end - pos < BATCH_HEADER_BYTES) return { lastOffset, bytesRead, problem: `${end - pos} trailing bytes at position ${pos}` };
    if (pos < bufStart || pos + BATCH_HEADER_BYTES > bufStart + bufLen) {
      if (buf.length < BATCH_HEADER_BYTES) buf = Buffer.allocUnsafe(BATCH_HEADER_BYTES);
      bufStart = pos;
      bufLen = await readFully(fsys, fd, buf, 0, Math.min(buf.length, end - pos), pos);
      bytesRead += bufLen;
      if (bufLen < BATCH_HEADER_BYTES) return { lastOffset, bytesRead, problem: `short read at position ${pos}` };
    }
    const at = pos - bufStart;
    const batchLength = buf.readInt32BE(at + BATCH_LENGTH_OFFSET);
    if (batchLength < MIN_BATCH_LENGTH || buf.readInt8(at + MAGIC_OFFSET) !== 2) return { lastOffset, bytesRead, problem: `malformed batch header at position ${pos}` };
    const size = LOG_OVERHEAD + batchLength;
    if (pos + size > end) return { lastOffset, bytesRead, problem: `batch at position ${pos} runs past the end of the file` };
    const h = readBatchHeader(buf, at);
    lastOffset = h.baseOffset + BigInt(h.lastOffsetDelta);
    pos += size;
  }
  return { lastOffset, bytesRead, problem: null };
}
