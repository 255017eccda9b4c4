/**
 * File work on one segment shared by loading, the live log and the cleaner: rebuilding indexes by
 * a CRC-verified scan, writing index files atomically, loading them lazily for inactive segments.
 */
import { BATCH_HEADER_BYTES, readBatchHeader } from '@fjord/protocol';
import type { Logger } from './clock.js';
import type { LogConfig } from './config.js';
import { StorageError } from './errors.js';
import { readFully, replaceFile, type FileSystem } from './fs-port.js';
import { relativeOffsetMax } from './limits.js';
import { OffsetIndex } from './offset-index.js';
import { findBatch, scanFile, type FileBatch, type FileScanResult } from './scan.js';
import type { Segment, SegmentResources } from './segment.js';
import type { StorageStats } from './stats.js';
import { TimeIndex } from './time-index.js';
import { TxnIndex } from './txn-index.js';

export interface SegmentContext {
  fs: FileSystem;
  logger: Logger;
  resources: SegmentResources;
  stats: StorageStats;
  config(): LogConfig;
  /** topic-partition, for log lines. */
  name: string;
}

export interface SegmentScan extends FileScanResult {
  /** Offset after the last valid batch (baseOffset when the segment holds none). */
  nextOffset: bigint;
}

/**
 * Scans the segment's file from `from` (a batch boundary; 0 rebuilds everything) with CRC
 * verification, feeding each valid batch to its indexes. Batches must have increasing offsets
 * inside [segment base, nextSegmentBase); the first that does not is reported as corrupt.
 * `onBatch` sees each accepted batch (the leader-epoch cache and the producer state use it).
 */
export async function scanSegment(
  ctx: SegmentContext,
  seg: Segment,
  fd: number,
  from: number,
  prevLastOffset: bigint,
  nextSegmentBase: bigint | null,
  onBatch?: (b: FileBatch) => void,
): Promise<SegmentScan> {
  const interval = ctx.config().indexIntervalBytes;
  let prevLast = prevLastOffset;
  const fileSize = (await ctx.fs.fstat(fd)).size;
  const res = await scanFile(ctx.fs, fd, from, fileSize, { verifyCrc: true }, (b) => {
    const h = b.header;
    const last = h.baseOffset + BigInt(h.lastOffsetDelta);
    if (h.baseOffset < seg.baseOffset) return `batch base offset ${h.baseOffset} is below the segment base ${seg.baseOffset}`;
    if (h.baseOffset <= prevLast) return `batch base offset ${h.baseOffset} does not follow the previous last offset ${prevLast}`;
    if (last - seg.baseOffset > BigInt(relativeOffsetMax)) return `offset ${last} does not fit a segment based at ${seg.baseOffset}`;
    if (nextSegmentBase !== null && last >= nextSegmentBase) return `offset ${last} overlaps the next segment at ${nextSegmentBase}`;
    const maxTs = h.maxTimestamp;
    seg.indexBatch(last, b.position, b.size, maxTs, interval);
    onBatch?.(b);
    prevLast = last;
    return undefined;
  });
  return { ...res, nextOffset: prevLast + 1n };
}

/** Writes the index files from memory (whole-file, atomic). The caller fsyncs the directory. */
export async function writeSegmentIndexes(fsys: FileSystem, seg: Segment): Promise<void> {
  await writeTxnIndex(fsys, seg);
  const oi = seg.offsetIndex;
  const ti = seg.timeIndex;
  if (!oi || !ti) return;
  await replaceFile(fsys, seg.indexPath, Buffer.from(oi.bytes()));
  await replaceFile(fsys, seg.timeIndexPath, Buffer.from(ti.bytes()));
  seg.indexesDirty = false;
}

/**
 * Writes the segment's transaction index when it changed: the whole file (atomic) when it has
 * entries, no file when it has none (Kafka creates `.txnindex` files only for aborted transactions).
 */
export async function writeTxnIndex(fsys: FileSystem, seg: Segment): Promise<void> {
  const t = seg.txnIndex;
  if (!t || !seg.txnIndexDirty) return;
  if (t.entries > 0) {
    await replaceFile(fsys, seg.txnIndexPath, Buffer.from(t.bytes()));
    seg.txnIndexOnDisk = true;
  } else if (seg.txnIndexOnDisk) {
    await fsys.unlink(seg.txnIndexPath);
    seg.txnIndexOnDisk = false;
  }
  seg.txnIndexDirty = false;
}

/**
 * The segment's transaction index, loaded from its file on first use. A file that does not
 * parse keeps its valid prefix (logged): the entries cannot be rebuilt without the producer
 * state that preceded the segment.
 */
export async function loadTxnIndex(ctx: SegmentContext, seg: Segment): Promise<TxnIndex> {
  if (seg.txnIndex) return seg.txnIndex;
  let content: Buffer | null = null;
  try {
    content = await ctx.fs.readFile(seg.txnIndexPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new StorageError('cannot read transaction index', seg.txnIndexPath, { cause: err });
  }
  if (seg.txnIndex) return seg.txnIndex; // loaded meanwhile
  let index = new TxnIndex();
  if (content) {
    const parsed = TxnIndex.parse(content);
    if (parsed.problem) ctx.logger.error('transaction index is damaged; using its valid entries', { log: ctx.name, file: seg.txnIndexPath, reason: parsed.problem });
    index = parsed.index;
  }
  seg.txnIndex = index;
  return index;
}

/** Reads the last `entryBytes` of an index file: null when the file is absent, empty, or not whole entries. */
export async function readLastIndexEntry(
  fsys: FileSystem,
  path: string,
  entryBytes: number,
): Promise<{ size: number; last: Buffer | null } | null> {
  const st = await fsys.stat(path);
  if (!st) return null;
  if (st.size % entryBytes !== 0) return { size: st.size, last: null };
  if (st.size === 0) return { size: 0, last: null };
  const fd = await fsys.open(path, 'r');
  try {
    const b = Buffer.alloc(entryBytes);
    const n = await readFully(fsys, fd, b, 0, entryBytes, st.size - entryBytes);
    return { size: st.size, last: n === entryBytes ? b : null };
  } finally {
    await fsys.close(fd);
  }
}

async function readWhole(fsys: FileSystem, path: string): Promise<Buffer | null> {
  const st = await fsys.stat(path);
  if (!st) return null;
  return fsys.readFile(path);
}

/**
 * Loads both index files of a segment into memory, fully checked. When either is missing or
 * inconsistent they are rebuilt by scanning the segment (and written back); the log file itself
 * is never modified here: a bad batch found by that scan only ends the index early.
 */
export async function loadSegmentIndexes(ctx: SegmentContext, seg: Segment, nextSegmentBase: bigint | null): Promise<void> {
  if (seg.offsetIndex && seg.timeIndex) return;
  if (seg.indexLoading) return seg.indexLoading;
  seg.indexLoading = (async () => {
    const cfg = ctx.config();
    const oiBuf = await readWhole(ctx.fs, seg.indexPath);
    const tiBuf = await readWhole(ctx.fs, seg.timeIndexPath);
    let problem: string | null = null;
    if (!oiBuf || !tiBuf) problem = 'index file missing';
    else problem = OffsetIndex.check(oiBuf, seg.sizeBytes) ?? TimeIndex.check(tiBuf, seg.baseOffset, nextSegmentBase);
    if (!problem && oiBuf && tiBuf) {
      seg.offsetIndex = new OffsetIndex(seg.baseOffset, Math.max(cfg.segmentIndexBytes, oiBuf.length), oiBuf);
      seg.timeIndex = new TimeIndex(seg.baseOffset, Math.max(cfg.segmentIndexBytes, tiBuf.length), tiBuf);
      seg.indexesDirty = false;
      // An inactive segment's last time-index entry is its largest timestamp (now fully checked).
      const last = seg.timeIndex.lastEntry();
      if (last && !seg.pinned) {
        seg.maxTimestamp = last.timestamp;
        seg.offsetOfMaxTimestamp = last.offset;
      }
      return;
    }
    await rebuildSegmentIndexes(ctx, seg, nextSegmentBase, problem ?? 'inconsistent');
  })();
  try {
    await seg.indexLoading;
  } finally {
    seg.indexLoading = null;
  }
  ctx.resources.cacheIndexes(seg);
}

/** maxTimestamp of the segment's first batch (Kafka's rolling-based timestamp), -1n when empty. */
export async function readFirstBatchMaxTimestamp(fsys: FileSystem, fd: number, sizeBytes: number, file: string): Promise<bigint> {
  if (sizeBytes === 0) return -1n;
  const b = Buffer.alloc(BATCH_HEADER_BYTES);
  const n = await readFully(fsys, fd, b, 0, BATCH_HEADER_BYTES, 0);
  if (n < BATCH_HEADER_BYTES) throw new StorageError('segment shorter than one batch header', file);
  return readBatchHeader(b, 0).maxTimestamp;
}

/** Rebuilds an inactive segment's indexes (and max timestamp) by a CRC-verified scan, and writes them. */
export async function rebuildSegmentIndexes(ctx: SegmentContext, seg: Segment, nextSegmentBase: bigint | null, reason: string): Promise<void> {
  ctx.logger.warn('rebuilding segment indexes', { log: ctx.name, file: seg.indexPath, reason });
  ctx.stats.indexesRebuilt++;
  seg.resetIndexes(ctx.config().segmentIndexBytes);
  const fd = await ctx.resources.acquire(seg);
  try {
    await scanSegment(ctx, seg, fd, 0, seg.baseOffset - 1n, nextSegmentBase);
  } finally {
    ctx.resources.release(seg);
  }
  seg.sealTimeIndex();
  seg.maxTimestampVerified = true;
  if (!seg.retired) await writeSegmentIndexes(ctx.fs, seg);
}

/**
 * Checks an inactive segment's largest timestamp (from its time index) against the batch it names;
 * rebuilds the indexes when they disagree. Retention calls this before deleting by time.
 */
export async function verifyMaxTimestamp(ctx: SegmentContext, seg: Segment, nextSegmentBase: bigint | null): Promise<void> {
  if (seg.maxTimestampVerified) return;
  await loadSegmentIndexes(ctx, seg, nextSegmentBase);
  if (seg.maxTimestampVerified) return;
  let ok = seg.maxTimestamp < 0n;
  if (!ok) {
    const target = seg.offsetOfMaxTimestamp;
    const start = seg.offsetIndex ? seg.offsetIndex.lookup(target).position : 0;
    const fd = await ctx.resources.acquire(seg);
    try {
      const found = await findBatch(ctx.fs, fd, seg.logPath, start, seg.sizeBytes, (h) => h.baseOffset + BigInt(h.lastOffsetDelta) >= target).catch(() => null);
      ok = found !== null && found.header.baseOffset + BigInt(found.header.lastOffsetDelta) === target && found.header.maxTimestamp === seg.maxTimestamp;
    } finally {
      ctx.resources.release(seg);
    }
  }
  if (!ok) await rebuildSegmentIndexes(ctx, seg, nextSegmentBase, 'the time index names a batch that does not hold the largest timestamp');
  seg.maxTimestampVerified = true;
  ctx.resources.cacheIndexes(seg);
}
