/**
 * Producer state on disk: Kafka's snapshot files (`<20-digit offset>.snapshot`, the state of
 * every producer just before that offset) and the header walks that rebuild the state from the
 * log after a snapshot. Shared by loading (recovery.ts) and truncation (partition-log.ts).
 */
import {
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_OFFSET,
  CONTROL_FLAG_MASK,
  ControlRecordType,
  DecodeError,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MIN_BATCH_LENGTH,
  TRANSACTIONAL_FLAG_MASK,
  decodeBatch,
  readBatchHeader,
  readControlRecordType,
  readEndTxnMarker,
  type BatchHeader,
} from '@fjord/protocol';
import { StorageError } from './errors.js';
import { readFully, type FileSystem } from './fs-port.js';
import { CorruptSnapshotError, SNAPSHOT_SUFFIX, type ProducerBatch, type ProducerStateManager } from './producer-state.js';
import { parseSegmentFileName, segmentFileName, type Segment } from './segment.js';
import type { SegmentContext } from './segment-io.js';
import type { AbortedTxn } from './txn-index.js';

const walkWindowBytes = 64 * 1024;

export function snapshotPath(dir: string, offset: bigint): string {
  return `${dir}/${segmentFileName(offset, SNAPSHOT_SUFFIX)}`;
}

/** Offsets of the snapshot files among `names`, ascending. */
export function snapshotOffsets(names: readonly string[]): bigint[] {
  const out: bigint[] = [];
  for (const n of names) {
    const o = parseSegmentFileName(n, SNAPSHOT_SUFFIX);
    if (o !== null) out.push(o);
  }
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Loads the latest readable snapshot with an offset in [min, max] into `ps`. A snapshot that
 * does not parse or fails its CRC is deleted (logged) and the next older one tried, as Kafka
 * does. Returns its offset, or null (the state is then empty). `offsets` loses what was deleted.
 */
export async function loadLatestSnapshot(
  ctx: SegmentContext,
  dir: string,
  ps: ProducerStateManager,
  offsets: bigint[],
  min: bigint,
  max: bigint,
  nowMs: number,
): Promise<bigint | null> {
  for (let i = offsets.length - 1; i >= 0; i--) {
    const o = offsets[i]!;
    if (o > max || o < min) continue;
    const file = snapshotPath(dir, o);
    try {
      ps.loadSnapshot(await ctx.fs.readFile(file), file, nowMs);
      return o;
    } catch (err) {
      if (!(err instanceof CorruptSnapshotError) && (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      ctx.logger.warn('producer state snapshot is unreadable; deleting it and trying an older one', { log: ctx.name, file, error: err });
      await ctx.fs.unlink(file);
      offsets.splice(i, 1);
    }
  }
  ps.clear();
  return null;
}

/** The producer-state view of a stored batch; `buf[pos..]` holds the whole batch when it is a control batch. */
export function producerBatchOf(h: BatchHeader, buf: Buffer | null, pos: number): ProducerBatch {
  const b: ProducerBatch = {
    producerId: h.producerId,
    producerEpoch: h.producerEpoch,
    baseSequence: h.baseSequence,
    lastOffsetDelta: h.lastOffsetDelta,
    firstOffset: h.baseOffset,
    maxTimestamp: h.maxTimestamp,
    isTransactional: (h.attributes & TRANSACTIONAL_FLAG_MASK) !== 0,
  };
  if ((h.attributes & CONTROL_FLAG_MASK) !== 0) b.marker = buf ? readMarker(buf, pos) : null;
  return b;
}

/**
 * The end-transaction marker a control batch holds: null when it holds no record (emptied by
 * compaction) or another control type, which change no producer state.
 */
export function readMarker(buf: Buffer, pos: number): ProducerBatch['marker'] {
  try {
    const { records } = decodeBatch(buf, pos, { verifyCrc: false });
    const r = records[0];
    if (!r) return null;
    const type = readControlRecordType(r);
    if (type !== ControlRecordType.ABORT && type !== ControlRecordType.COMMIT) return null;
    return { commit: type === ControlRecordType.COMMIT, coordinatorEpoch: readEndTxnMarker(r).coordinatorEpoch, timestamp: r.timestamp };
  } catch (err) {
    if (err instanceof DecodeError) return null;
    throw err;
  }
}

/** Replays one stored batch into `ps` without checks (Kafka loads producer state as a replica would). */
export function replayBatch(ps: ProducerStateManager, b: ProducerBatch, onAbort?: (t: AbortedTxn) => void): void {
  ps.apply(ps.analyze([b], 'replication'), onAbort);
}

/**
 * Walks the batch headers of `[start, end)` in an open segment file and replays every batch
 * with a producer id whose base offset is at least `fromOffset`. Reads 64 KiB windows; only
 * control batches are read whole (to decode their marker). The bytes were validated when they
 * were appended or recovered, so a malformed header is a StorageError naming the file.
 */
export async function replayFile(
  fsys: FileSystem,
  fd: number,
  file: string,
  start: number,
  end: number,
  fromOffset: bigint,
  visit: (b: ProducerBatch) => void,
): Promise<number> {
  const win = Buffer.allocUnsafe(walkWindowBytes);
  let winStart = 0;
  let winLen = 0;
  let pos = start;
  let bytesRead = 0;
  while (pos + LOG_OVERHEAD <= end) {
    if (pos < winStart || pos + BATCH_HEADER_BYTES > winStart + winLen) {
      winStart = pos;
      winLen = await readFully(fsys, fd, win, 0, Math.min(win.length, end - pos), pos);
      bytesRead += winLen;
      if (winLen < Math.min(BATCH_HEADER_BYTES, end - pos)) throw new StorageError(`short read at position ${pos}`, file);
    }
    const at = pos - winStart;
    const batchLength = win.readInt32BE(at + BATCH_LENGTH_OFFSET);
    const size = LOG_OVERHEAD + batchLength;
    if (batchLength < MIN_BATCH_LENGTH || pos + size > end || win.readInt8(at + MAGIC_OFFSET) !== 2) throw new StorageError(`malformed batch header at position ${pos}`, file);
    const h = readBatchHeader(win, at);
    if (h.producerId >= 0n && h.baseOffset >= fromOffset) {
      let body: Buffer | null = null;
      let bodyPos = 0;
      if ((h.attributes & CONTROL_FLAG_MASK) !== 0) {
        if (at + size <= winLen) {
          body = win;
          bodyPos = at;
        } else {
          body = Buffer.allocUnsafe(size);
          if ((await readFully(fsys, fd, body, 0, size, pos)) < size) throw new StorageError(`short read of a control batch at ${pos}`, file);
        }
      }
      visit(producerBatchOf(h, body, bodyPos));
    }
    pos += size;
  }
  return bytesRead;
}

/**
 * Rebuilds `ps` from offset `from` to `to` (exclusive) by walking the segments' headers (a
 * truncation, or a load whose snapshot turned out to be past the log end). Segment files are
 * opened through the shared fd cache.
 */
export async function replaySegments(ctx: SegmentContext, segments: readonly Segment[], ps: ProducerStateManager, from: bigint, to: bigint): Promise<number> {
  let bytes = 0;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const next = segments[i + 1];
    if (next && next.baseOffset <= from) continue;
    if (seg.baseOffset >= to) break;
    const fd = await ctx.resources.acquire(seg);
    try {
      const startPos = seg.offsetIndex && from > seg.baseOffset ? seg.offsetIndex.lookup(from).position : 0;
      bytes += await replayFile(ctx.fs, fd, seg.logPath, startPos, seg.sizeBytes, from, (b) => {
        if (b.firstOffset < to) replayBatch(ps, b);
      });
    } finally {
      ctx.resources.release(seg);
    }
  }
  return bytes;
}
