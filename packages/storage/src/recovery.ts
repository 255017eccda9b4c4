/**
 * Loading a partition directory (Kafka's LogLoader): leftovers of interrupted work are resolved,
 * segments are checked cheaply (clean shutdown) or scanned with CRC verification from the
 * recovery point (crash), a torn or corrupt tail is cut off and everything after it removed, and
 * indexes that cannot be trusted are rebuilt.
 *
 * Rules, in order:
 *  1. `*.tmp`, `*.deleted`, `*.cleaned` files are deleted (unfinished writes, deletions, cleanings).
 *  2. `X.log.swap` (a finished cleaning whose swap was interrupted) replaces every segment whose
 *     base offset lies in [X, last offset of the swap file]; its indexes are rebuilt.
 *  3. Index files without a `.log` are deleted.
 *  4. Unclean shutdown: every segment from the one holding the recovery point on is scanned
 *     (CRC, offsets increasing, inside the segment's range); indexes are rebuilt from the scan.
 *     Clean shutdown: each segment's index files are checked (whole entries, last entry inside the
 *     log file and the segment's offset range); a bad one makes that segment be scanned. The last
 *     segment is always checked from its last index entry to its end (a bounded scan).
 *  5. The first torn or corrupt batch ends the log: the file is truncated there (logged with file
 *     and byte position) and every later segment is deleted.
 *  6. Producer state: the latest readable snapshot at or below the first segment to scan (any
 *     one up to the log end after a clean shutdown), then every batch after it replayed from its
 *     header: in the recovery scan itself for scanned segments, by a header walk for the others.
 *     A scanned segment whose whole range the replay covers gets its transaction index rebuilt.
 *     When the replay started before the active segment and no snapshot is at its base, one is
 *     written there.
 */
import { BATCH_HEADER_BYTES } from '@fjord/protocol';
import { LEADER_EPOCH_CHECKPOINT, parseEpochEntries, readSmallFile, type EpochEntry } from './checkpoint.js';
import type { Clock } from './clock.js';
import { LeaderEpochCache } from './leader-epoch-cache.js';
import { OffsetIndex, OFFSET_INDEX_ENTRY_BYTES } from './offset-index.js';
import {
  CLEANED_SUFFIX,
  DELETED_SUFFIX,
  INDEX_SUFFIX,
  LOG_SUFFIX,
  parseSegmentFileName,
  Segment,
  segmentFileName,
  SWAP_SUFFIX,
  TIME_INDEX_SUFFIX,
} from './segment.js';
import { readFirstBatchMaxTimestamp, readLastIndexEntry, scanSegment, type SegmentContext } from './segment-io.js';
import { TimeIndex, TIME_INDEX_ENTRY_BYTES } from './time-index.js';
import { scanFile, walkToEnd } from './scan.js';
import { replaceFile } from './fs-port.js';
import type { ProducerStateManager } from './producer-state.js';
import { loadLatestSnapshot, producerBatchOf, replayBatch, replayFile, replaySegments, snapshotOffsets, snapshotPath } from './producer-state-io.js';
import { TXN_INDEX_SUFFIX } from './segment.js';
import { loadTxnIndex } from './segment-io.js';
import { TxnIndex, type AbortedTxn } from './txn-index.js';

export interface LoadParams {
  dir: string;
  ctx: SegmentContext;
  clock: Clock;
  hadCleanShutdown: boolean;
  recoveryPoint: bigint | undefined;
  logStartOffset: bigint | undefined;
  /** Filled with the partition's producer state (empty on entry). */
  producerState: ProducerStateManager;
}

export interface LoadedLog {
  segments: Segment[];
  nextOffset: bigint;
  logStartOffset: bigint;
  recoveryPoint: bigint;
  epochCache: LeaderEpochCache;
  /** The active segment's read/write fd (already adopted and pinned). */
  activeFd: number;
  /** Inactive segments whose indexes were rebuilt in memory and must be written before the recovery point passes them. */
  rebuilt: Segment[];
  /** Anything was scanned or repaired (the caller syncs before trusting the recovery point). */
  repaired: boolean;
  /** Offsets of the producer state snapshot files left on disk, ascending. */
  snapshotOffsets: bigint[];
  /** The snapshot file at the log end holds exactly the loaded state (nothing replayed after it). */
  snapshotAtEnd: boolean;
}

const LEFTOVER_SUFFIXES = ['.tmp', DELETED_SUFFIX, CLEANED_SUFFIX];

export async function loadLog(p: LoadParams): Promise<LoadedLog> {
  const { dir, ctx } = p;
  const fsys = ctx.fs;
  const existed = (await fsys.stat(dir)) !== null;
  await fsys.mkdir(dir);
  if (!existed) {
    const slash = dir.lastIndexOf('/');
    if (slash > 0) await fsys.fsyncDir(dir.slice(0, slash));
  }
  let repaired = false;

  // 1. leftovers
  for (const name of await fsys.readdir(dir)) {
    if (LEFTOVER_SUFFIXES.some((s) => name.endsWith(s))) {
      await fsys.unlink(`${dir}/${name}`);
      ctx.logger.info('removed leftover file', { log: ctx.name, file: `${dir}/${name}` });
    }
  }
  // 2. interrupted swaps
  const forceScan = new Set<bigint>();
  for (const name of await fsys.readdir(dir)) {
    if (name.endsWith(TXN_INDEX_SUFFIX + SWAP_SUFFIX)) continue; // completeSwap installs it
    if (name.endsWith(INDEX_SUFFIX + SWAP_SUFFIX) || name.endsWith(TIME_INDEX_SUFFIX + SWAP_SUFFIX)) {
      await fsys.unlink(`${dir}/${name}`);
      continue;
    }
    const base = parseSegmentFileName(name, LOG_SUFFIX + SWAP_SUFFIX);
    if (base === null) continue;
    await completeSwap(p, base);
    forceScan.add(base);
    repaired = true;
  }
  // A transaction index written for a cleaning that crashed before its commit point.
  for (const name of await fsys.readdir(dir)) {
    if (name.endsWith(TXN_INDEX_SUFFIX + SWAP_SUFFIX)) await fsys.unlink(`${dir}/${name}`);
  }
  // 3. segments, and index files without a log
  const names = await fsys.readdir(dir);
  const bases: bigint[] = [];
  const logNames = new Set<string>();
  for (const name of names) {
    const b = parseSegmentFileName(name, LOG_SUFFIX);
    if (b !== null) {
      bases.push(b);
      logNames.add(name);
    }
  }
  for (const name of names) {
    for (const suffix of [INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX]) {
      const b = parseSegmentFileName(name, suffix);
      if (b !== null && !logNames.has(segmentFileName(b, LOG_SUFFIX))) await fsys.unlink(`${dir}/${name}`);
    }
  }
  bases.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const now = p.clock.now();
  let segments: Segment[] = [];
  for (const b of bases) {
    const seg = new Segment(dir, b, 0, now);
    const st = await fsys.stat(seg.logPath);
    if (!st) continue;
    seg.sizeBytes = st.size;
    seg.lastModifiedMs = st.mtimeMs;
    seg.createdMs = st.mtimeMs;
    if (names.includes(segmentFileName(b, TXN_INDEX_SUFFIX))) {
      seg.txnIndexOnDisk = true;
      seg.txnIndex = null; // loaded when first needed
    }
    segments.push(seg);
  }

  // Leader epochs: the checkpoint, then whatever recovery scans add.
  const epochFile = `${dir}/${LEADER_EPOCH_CHECKPOINT}`;
  let epochEntries: EpochEntry[] = [];
  let epochsLost = false;
  try {
    const text = await readSmallFile(fsys, epochFile);
    if (text !== null) epochEntries = parseEpochEntries(text, epochFile);
  } catch (err) {
    ctx.stats.badCheckpointFiles++;
    ctx.logger.error(`${LEADER_EPOCH_CHECKPOINT} is unreadable; rebuilding the epoch cache by a full scan`, { log: ctx.name, file: epochFile, error: err });
    epochsLost = true;
    repaired = true;
  }
  const epochCache = new LeaderEpochCache(epochEntries);

  // 4. where a full scan starts
  const rp = epochsLost ? -1n : p.hadCleanShutdown ? null : (p.recoveryPoint ?? -1n);
  let scanFrom = segments.length; // index of the first segment to scan
  if (rp !== null) {
    scanFrom = 0;
    for (let i = 0; i < segments.length; i++) if (segments[i]!.baseOffset <= rp) scanFrom = i;
    if (rp < 0n) scanFrom = 0;
  }

  // 6. producer state: the snapshot to start from, and from which offset batches are replayed
  const ps = p.producerState;
  const snapshots = snapshotOffsets(names);
  const firstBase = segments[0]?.baseOffset ?? p.logStartOffset ?? 0n;
  const bound = rp === null || scanFrom >= segments.length ? MAX_OFFSET : segments[scanFrom]!.baseOffset;
  let psFrom: bigint | null = await loadLatestSnapshot(ctx, dir, ps, snapshots, firstBase, bound, now);
  if (psFrom === null) {
    // Kafka's upgrade path: a clean shutdown that left no snapshot at all was written before
    // producer state existed (or holds none), so it starts empty instead of reading the whole log.
    psFrom = p.hadCleanShutdown && snapshots.length === 0 ? null : firstBase;
  }
  const replayFrom = psFrom;
  const replayInto = (seg: Segment | null) => (b: ReturnType<typeof producerBatchOf>) =>
    replayBatch(ps, b, seg ? (t) => appendRebuiltAbort(seg, t) : undefined);

  let nextOffset: bigint | null = null;
  const rebuilt: Segment[] = [];
  /** The state at the last segment's base, when the replay had to start before it and no snapshot is there. */
  let activeBaseSnapshot: { offset: bigint; data: Buffer } | null = null;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const next = segments[i + 1] ?? null;
    const nextBase = next ? next.baseOffset : null;
    const isLast = next === null;
    if (isLast && replayFrom !== null && replayFrom < seg.baseOffset && !snapshots.includes(seg.baseOffset)) {
      activeBaseSnapshot = { offset: seg.baseOffset, data: ps.encodeSnapshot() };
    }
    let mustScan = i >= scanFrom || forceScan.has(seg.baseOffset);
    if (!mustScan) {
      const problem = await cheapCheck(p, seg, nextBase, isLast);
      if (problem) {
        ctx.logger.warn('segment failed its startup check; scanning it', { log: ctx.name, file: seg.logPath, reason: problem });
        ctx.stats.indexesRebuilt++;
        mustScan = true;
      }
    }
    const prevLast = (nextOffset ?? seg.baseOffset) - 1n;
    let outcome: { validEnd: number; stop: string; reason?: string; nextOffset: bigint };
    if (mustScan) {
      repaired = true;
      seg.resetIndexes(ctx.config().segmentIndexBytes);
      // The replay covers the whole segment: its transaction index is rebuilt with it.
      const rebuildTxn = replayFrom !== null && replayFrom <= seg.baseOffset;
      if (rebuildTxn) {
        seg.txnIndex = new TxnIndex();
        seg.txnIndexDirty = true;
      }
      const replay = replayInto(rebuildTxn ? seg : null);
      const fd = await fsys.open(seg.logPath, 'r');
      try {
        const s = await scanSegment(ctx, seg, fd, 0, prevLast < seg.baseOffset - 1n ? seg.baseOffset - 1n : prevLast, nextBase, (b) => {
          const h = b.header;
          epochCache.assign(h.partitionLeaderEpoch, h.baseOffset);
          if (replayFrom !== null && h.producerId >= 0n && h.baseOffset >= replayFrom) replay(producerBatchOf(h, b.chunk, b.chunkPos));
        });
        outcome = s;
        ctx.stats.recoveredSegments++;
        ctx.stats.bytesScannedAtStartup += s.bytesRead;
      } finally {
        await fsys.close(fd);
      }
      if (!isLast) rebuilt.push(seg);
    } else if (isLast) {
      outcome = await tailCheck(p, seg);
    } else {
      outcome = { validEnd: seg.sizeBytes, stop: 'end', nextOffset: nextBase ?? seg.baseOffset };
    }
    if (!mustScan && replayFrom !== null && outcome.nextOffset > replayFrom && outcome.validEnd > 0) {
      // A segment after the snapshot that recovery did not scan: replay its headers.
      const from = replayFrom > seg.baseOffset && seg.offsetIndex ? seg.offsetIndex.lookup(replayFrom).position : 0;
      const fd = await fsys.open(seg.logPath, 'r');
      try {
        await replayFile(fsys, fd, seg.logPath, from, outcome.validEnd, replayFrom, replayInto(null));
      } finally {
        await fsys.close(fd);
      }
    }
    // Offsets must run on into the next segment: a gap means data in between was lost (a file cut
    // exactly at a batch boundary), and serving what follows would break offset contiguity.
    const gap = nextBase !== null && outcome.validEnd >= seg.sizeBytes && outcome.nextOffset !== nextBase;
    if (outcome.validEnd < seg.sizeBytes || gap) {
      repaired = true;
      ctx.stats.truncatedSegments++;
      if (gap) {
        ctx.logger.warn('log offsets stop short of the next segment; the log ends here', {
          log: ctx.name,
          file: seg.logPath,
          position: seg.sizeBytes,
          endOffset: outcome.nextOffset,
          nextSegmentBase: nextBase,
        });
      } else {
        ctx.logger.warn('truncating log at a torn or corrupt batch', {
          log: ctx.name,
          file: seg.logPath,
          position: outcome.validEnd,
          fileBytes: seg.sizeBytes,
          reason: outcome.reason ?? outcome.stop,
        });
        const fd = await fsys.open(seg.logPath, 'r+');
        try {
          await fsys.ftruncate(fd, outcome.validEnd);
          await fsys.fdatasync(fd);
        } finally {
          await fsys.close(fd);
        }
        seg.sizeBytes = outcome.validEnd;
      }
      if (!seg.offsetIndex) {
        // A clean-start tail check found the damage: the scan rebuilt nothing, so rebuild now.
        seg.resetIndexes(ctx.config().segmentIndexBytes);
        const fd2 = await fsys.open(seg.logPath, 'r');
        try {
          await scanSegment(ctx, seg, fd2, 0, seg.baseOffset - 1n, null);
        } finally {
          await fsys.close(fd2);
        }
      } else {
        seg.offsetIndex.truncate(outcome.nextOffset, outcome.validEnd);
        seg.timeIndex?.truncate(outcome.nextOffset);
      }
      // Transactions whose marker was cut off are open again.
      if ((await loadTxnIndex(ctx, seg)).truncate(outcome.nextOffset)) seg.txnIndexDirty = true;
      const dropped = segments.slice(i + 1);
      for (const d of dropped) {
        ctx.stats.truncatedSegments++;
        ctx.logger.warn('deleting segment after the truncation point', { log: ctx.name, file: d.logPath });
        await fsys.unlink(d.logPath);
        await fsys.unlink(d.indexPath);
        await fsys.unlink(d.timeIndexPath);
        await fsys.unlink(d.txnIndexPath);
      }
      segments = segments.slice(0, i + 1);
      const idx = rebuilt.indexOf(seg);
      if (idx >= 0) rebuilt.splice(idx, 1);
      nextOffset = outcome.nextOffset;
      break;
    }
    nextOffset = outcome.nextOffset;
  }
  if (repaired) await fsys.fsyncDir(dir);

  // No segment at all (new log, or everything was damaged): start at the log start offset.
  let logStartOffset = p.logStartOffset ?? 0n;
  if (segments.length === 0) {
    segments = [await createSegmentFile(p, logStartOffset < 0n ? 0n : logStartOffset)];
    nextOffset = segments[0]!.baseOffset;
  }
  let leo = nextOffset ?? segments[segments.length - 1]!.baseOffset;
  if (logStartOffset > leo) {
    // The log lost data below its checkpointed start (e.g. a truncation at recovery): restart it
    // empty at the start offset so no offset is ever handed out twice.
    ctx.logger.warn('log end is below the checkpointed log start offset; restarting the log there', {
      log: ctx.name,
      logEndOffset: leo,
      logStartOffset,
    });
    for (const s of segments) {
      await fsys.unlink(s.logPath);
      await fsys.unlink(s.indexPath);
      await fsys.unlink(s.timeIndexPath);
      await fsys.unlink(s.txnIndexPath);
    }
    rebuilt.length = 0;
    segments = [await createSegmentFile(p, logStartOffset)];
    leo = logStartOffset;
    repaired = true;
    ps.clear();
    psFrom = logStartOffset;
    for (const o of snapshots.splice(0)) await fsys.unlink(snapshotPath(dir, o));
  }
  const first = segments[0]!;
  if (logStartOffset < first.baseOffset) logStartOffset = first.baseOffset;

  // The active segment: indexes in memory, read/write fd, first batch timestamp for roll by time.
  const active = segments[segments.length - 1]!;
  if (!active.offsetIndex || !active.timeIndex) await loadActiveIndexes(p, active, leo);
  const activeFd = await fsys.open(active.logPath, 'r+');
  ctx.resources.pin(active);
  ctx.resources.adoptFd(active, activeFd, true);
  active.rollingBaseTimestamp = await readFirstBatchMaxTimestamp(fsys, activeFd, active.sizeBytes, active.logPath);

  epochCache.truncateFromEnd(leo);
  epochCache.truncateFromStart(logStartOffset);

  // The snapshot was past what survived (the log was cut below it): reload from an older one.
  if (psFrom !== null && psFrom > leo) {
    ctx.logger.warn('producer state snapshot is past the recovered log end; rebuilding from an older one', { log: ctx.name, snapshotOffset: psFrom, logEndOffset: leo });
    const older = await loadLatestSnapshot(ctx, dir, ps, snapshots, segments[0]!.baseOffset, leo, now);
    const from = older ?? segments[0]!.baseOffset;
    await replaySegments(ctx, segments, ps, from, leo);
    psFrom = from;
  }
  if (!active.txnIndex) await loadTxnIndex(ctx, active);
  // The replay had to start before the active segment (no snapshot there: a log from before
  // producer state, or a lost snapshot): write the state at its base, so the next crash replays
  // only the active segment. (A clean shutdown writes one at the log end.)
  if (activeBaseSnapshot && activeBaseSnapshot.offset === active.baseOffset && psFrom !== null && psFrom <= active.baseOffset) {
    await writeSnapshotFile(p, activeBaseSnapshot.offset, activeBaseSnapshot.data);
    snapshots.push(activeBaseSnapshot.offset);
    snapshots.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
  const kept = await tidySnapshots(p, snapshots, segments, leo);
  const recoveryPoint = p.hadCleanShutdown && !repaired ? leo : minBig(p.recoveryPoint ?? 0n, leo);
  const snapshotAtEnd = psFrom === leo && kept.includes(leo);
  return { segments, nextOffset: leo, logStartOffset, recoveryPoint, epochCache, activeFd, rebuilt, repaired, snapshotOffsets: kept, snapshotAtEnd };
}

const MAX_OFFSET = 0x7fff_ffff_ffff_ffffn;

function appendRebuiltAbort(seg: Segment, t: AbortedTxn): void {
  const idx = seg.txnIndex!;
  if (t.lastOffset > idx.lastOffset) idx.append(t);
}

async function writeSnapshotFile(p: LoadParams, offset: bigint, data: Buffer): Promise<void> {
  await replaceFile(p.ctx.fs, snapshotPath(p.dir, offset), data);
  await p.ctx.fs.fsyncDir(p.dir);
}

/**
 * Deletes snapshots that can no longer serve (past the log end, below the first segment) and
 * stray ones (not at a segment base) except the latest, as Kafka's removeStraySnapshots. Returns
 * the offsets kept, ascending.
 */
async function tidySnapshots(p: LoadParams, offsets: readonly bigint[], segments: readonly Segment[], leo: bigint): Promise<bigint[]> {
  const bases = new Set(segments.map((s) => s.baseOffset));
  const first = segments[0]!.baseOffset;
  const inRange = offsets.filter((o) => o >= first && o <= leo);
  const latest = inRange[inRange.length - 1];
  const kept: bigint[] = [];
  for (const o of offsets) {
    if (o >= first && o <= leo && (bases.has(o) || o === latest)) kept.push(o);
    else await p.ctx.fs.unlink(snapshotPath(p.dir, o));
  }
  return kept;
}

function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

async function createSegmentFile(p: LoadParams, base: bigint): Promise<Segment> {
  const seg = new Segment(p.dir, base, 0, p.clock.now());
  const fd = await p.ctx.fs.open(seg.logPath, 'w');
  await p.ctx.fs.close(fd);
  seg.resetIndexes(p.ctx.config().segmentIndexBytes);
  await p.ctx.fs.fsyncDir(p.dir);
  return seg;
}

/**
 * Clean-shutdown check of one segment: both index files present and made of whole entries, the
 * last offset-index entry inside the log file and the segment's range, the last time-index entry
 * inside the range, and (inactive segments) whole batch headers from the last index entry to the
 * end of the file. Also loads the segment's max timestamp (retention).
 */
async function cheapCheck(p: LoadParams, seg: Segment, nextBase: bigint | null, isLast: boolean): Promise<string | null> {
  const fsys = p.ctx.fs;
  const oi = await readLastIndexEntry(fsys, seg.indexPath, OFFSET_INDEX_ENTRY_BYTES);
  const ti = await readLastIndexEntry(fsys, seg.timeIndexPath, TIME_INDEX_ENTRY_BYTES);
  if (!oi || !ti) return 'index file missing';
  if (oi.size % OFFSET_INDEX_ENTRY_BYTES !== 0) return `offset index size ${oi.size} is not a multiple of ${OFFSET_INDEX_ENTRY_BYTES}`;
  if (ti.size % TIME_INDEX_ENTRY_BYTES !== 0) return `time index size ${ti.size} is not a multiple of ${TIME_INDEX_ENTRY_BYTES}`;
  if (oi.last) {
    const rel = oi.last.readInt32BE(0);
    const pos = oi.last.readInt32BE(4);
    if (rel < 0 || pos < 0 || pos + BATCH_HEADER_BYTES > seg.sizeBytes) return `last offset index entry points at ${pos}, past the log's ${seg.sizeBytes} bytes`;
    if (nextBase !== null && seg.baseOffset + BigInt(rel) >= nextBase) return 'last offset index entry is past the next segment';
  }
  if (ti.last) {
    const ts = ti.last.readBigInt64BE(0);
    const rel = ti.last.readInt32BE(8);
    if (rel < 0) return 'last time index entry has a negative offset';
    const off = seg.baseOffset + BigInt(rel);
    if (nextBase !== null && off >= nextBase) return 'last time index entry is past the next segment';
    seg.maxTimestamp = ts;
    seg.offsetOfMaxTimestamp = off;
  }
  if (isLast) return null; // the last segment gets the CRC-verified tail check
  // The log file must end with a whole batch: walk the headers from the last index entry (a few KiB).
  const from = oi.last ? oi.last.readInt32BE(4) : 0;
  const fd = await fsys.open(seg.logPath, 'r');
  try {
    const w = await walkToEnd(fsys, fd, from, seg.sizeBytes);
    p.ctx.stats.tailBytesScannedAtStartup += w.bytesRead;
    if (w.problem) return w.problem;
    if (nextBase !== null) {
      if (w.lastOffset === null && seg.sizeBytes === 0) return `empty segment before the next segment at ${nextBase}`;
      if (w.lastOffset !== null && w.lastOffset + 1n !== nextBase) return `last batch ends at ${w.lastOffset}, the next segment starts at ${nextBase}`;
    }
  } finally {
    await fsys.close(fd);
  }
  return null;
}

/**
 * The last segment after a clean shutdown: load its indexes fully, then verify the batches from
 * the last index entry to the end of the file (bounded by index.interval.bytes plus one batch).
 * This finds the log end offset and catches a torn tail.
 */
async function tailCheck(p: LoadParams, seg: Segment): Promise<{ validEnd: number; stop: string; reason?: string; nextOffset: bigint }> {
  const { ctx } = p;
  const fsys = ctx.fs;
  const cfg = ctx.config();
  const oiBuf = await fsys.readFile(seg.indexPath);
  const tiBuf = await fsys.readFile(seg.timeIndexPath);
  const problem = OffsetIndex.check(oiBuf, seg.sizeBytes) ?? TimeIndex.check(tiBuf, seg.baseOffset, null);
  const fd = await fsys.open(seg.logPath, 'r');
  try {
    if (problem) {
      ctx.logger.warn('active segment index is inconsistent; rebuilding it', { log: ctx.name, file: seg.indexPath, reason: problem });
      ctx.stats.indexesRebuilt++;
      ctx.stats.recoveredSegments++;
      seg.resetIndexes(cfg.segmentIndexBytes);
      const s = await scanSegment(ctx, seg, fd, 0, seg.baseOffset - 1n, null);
      ctx.stats.bytesScannedAtStartup += s.bytesRead;
      return s;
    }
    seg.offsetIndex = new OffsetIndex(seg.baseOffset, Math.max(cfg.segmentIndexBytes, oiBuf.length), oiBuf);
    seg.timeIndex = new TimeIndex(seg.baseOffset, Math.max(cfg.segmentIndexBytes, tiBuf.length), tiBuf);
    const lastOi = seg.offsetIndex.lastEntry();
    const lastTi = seg.timeIndex.lastEntry();
    if (lastTi) {
      seg.maxTimestamp = lastTi.timestamp;
      seg.offsetOfMaxTimestamp = lastTi.offset;
    }
    const from = lastOi ? lastOi.position : 0;
    let prevLast = seg.baseOffset - 1n;
    const res = await scanFile(fsys, fd, from, seg.sizeBytes, { verifyCrc: true }, (b) => {
      const h = b.header;
      const last = h.baseOffset + BigInt(h.lastOffsetDelta);
      if (h.baseOffset < seg.baseOffset || h.baseOffset <= prevLast) return `batch base offset ${h.baseOffset} does not follow ${prevLast}`;
      if (lastOi && b.position === lastOi.position && last !== lastOi.offset) return `batch at ${b.position} ends at ${last}, the index says ${lastOi.offset}`;
      if (h.maxTimestamp > seg.maxTimestamp) {
        seg.maxTimestamp = h.maxTimestamp;
        seg.offsetOfMaxTimestamp = last;
      }
      prevLast = last;
      return undefined;
    });
    // The index was complete at close, so the bytes since its last entry are those from the last
    // indexed batch to the end: the next entry lands where a rebuild would put it.
    seg.bytesSinceLastIndexEntry = res.validEnd - from;
    ctx.stats.tailBytesScannedAtStartup += res.bytesRead;
    seg.indexesDirty = false;
    if (res.stop !== 'end' && res.validEnd === from && from > 0) {
      // The indexed batch itself is bad: the index cannot be trusted either.
      ctx.stats.indexesRebuilt++;
      seg.resetIndexes(cfg.segmentIndexBytes);
      const s = await scanSegment(ctx, seg, fd, 0, seg.baseOffset - 1n, null);
      ctx.stats.recoveredSegments++;
      ctx.stats.bytesScannedAtStartup += s.bytesRead;
      return s;
    }
    return { validEnd: res.validEnd, stop: res.stop, ...(res.reason ? { reason: res.reason } : {}), nextOffset: prevLast >= seg.baseOffset ? prevLast + 1n : seg.baseOffset };
  } finally {
    await fsys.close(fd);
  }
}

/** The active segment was not scanned and its indexes are not in memory (clean start with a sound index): load them. */
async function loadActiveIndexes(p: LoadParams, seg: Segment, _leo: bigint): Promise<void> {
  const cfg = p.ctx.config();
  seg.resetIndexes(cfg.segmentIndexBytes);
  const fd = await p.ctx.fs.open(seg.logPath, 'r');
  try {
    await scanSegment(p.ctx, seg, fd, 0, seg.baseOffset - 1n, null);
  } finally {
    await p.ctx.fs.close(fd);
  }
}

/**
 * Finishes an interrupted cleaning swap: the `.swap` file was complete (it was synced before
 * being renamed), so it replaces every segment whose base offset falls in its range.
 */
async function completeSwap(p: LoadParams, base: bigint): Promise<void> {
  const { ctx, dir } = p;
  const fsys = ctx.fs;
  const swapPath = `${dir}/${segmentFileName(base, LOG_SUFFIX + SWAP_SUFFIX)}`;
  const fd = await fsys.open(swapPath, 'r');
  let last = base - 1n;
  let validEnd = 0;
  let size = 0;
  try {
    size = (await fsys.fstat(fd)).size;
    const res = await scanFile(fsys, fd, 0, size, { verifyCrc: true }, (b) => {
      const l = b.header.baseOffset + BigInt(b.header.lastOffsetDelta);
      if (b.header.baseOffset <= last) return 'offsets not increasing';
      last = l;
      return undefined;
    });
    validEnd = res.validEnd;
  } finally {
    await fsys.close(fd);
  }
  if (validEnd < size) {
    ctx.logger.warn('swap file has a bad tail; truncating it', { log: ctx.name, file: swapPath, position: validEnd });
    const wfd = await fsys.open(swapPath, 'r+');
    try {
      await fsys.ftruncate(wfd, validEnd);
      await fsys.fdatasync(wfd);
    } finally {
      await fsys.close(wfd);
    }
  }
  for (const name of await fsys.readdir(dir)) {
    const b = parseSegmentFileName(name, LOG_SUFFIX);
    if (b === null || b < base || b > (last < base ? base : last)) continue;
    await fsys.unlink(`${dir}/${name}`);
    await fsys.unlink(`${dir}/${segmentFileName(b, INDEX_SUFFIX)}`);
    await fsys.unlink(`${dir}/${segmentFileName(b, TIME_INDEX_SUFFIX)}`);
    await fsys.unlink(`${dir}/${segmentFileName(b, TXN_INDEX_SUFFIX)}`);
  }
  await fsys.unlink(`${dir}/${segmentFileName(base, INDEX_SUFFIX)}`);
  await fsys.unlink(`${dir}/${segmentFileName(base, TIME_INDEX_SUFFIX)}`);
  await fsys.unlink(`${dir}/${segmentFileName(base, TXN_INDEX_SUFFIX)}`);
  // The cleaner wrote the merged transaction index before its commit point.
  const txnSwap = `${dir}/${segmentFileName(base, TXN_INDEX_SUFFIX + SWAP_SUFFIX)}`;
  if (await fsys.stat(txnSwap)) await fsys.rename(txnSwap, `${dir}/${segmentFileName(base, TXN_INDEX_SUFFIX)}`);
  await fsys.rename(swapPath, `${dir}/${segmentFileName(base, LOG_SUFFIX)}`);
  await fsys.fsyncDir(dir);
  ctx.stats.swapsCompleted++;
  ctx.logger.info('completed an interrupted compaction swap', { log: ctx.name, file: swapPath, lastOffset: last });
}
