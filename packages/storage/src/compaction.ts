/**
 * The log cleaner (cleanup.policy=compact): keeps the latest record per key.
 *
 * Threading: the cleaner runs on the main thread as an async task that yields to the event loop
 * every cleanerYieldBytes of input and around every file write, so appends and fetches interleave
 * with it. A worker_thread was rejected for now: the swap must be atomic with respect to the
 * segment list that appends, reads and retention use on the main thread, so a worker would
 * still need a main-thread handshake per group; the CPU-heavy parts (decompression, CRC) are
 * native calls bounded per batch (max.message.bytes); and on the 2-core target a worker competes
 * with the libuv pool that runs fdatasync and reads. Revisit if profiling shows cleaner slices
 * hurting produce latency.
 *
 * One pass over a log, as Kafka's:
 *  1. The cleanable range is the non-active segments below the high watermark, its dirty part
 *     (from the cleaner checkpoint, firstDirtyOffset) older than min.compaction.lag.ms. It is a
 *     snapshot: the pass only ever covers segments it saw here, and the checkpoint it writes is the
 *     end of the last segment it mapped as that snapshot recorded it, never the log end or the
 *     active segment at the time of the swap (appends roll new segments while the pass runs).
 *  2. An offset map key -> latest offset is built from the dirty part (bounded: at most
 *     cleanerOffsetMapKeysMax keys, checked at segment boundaries).
 *  3. Every segment from the log start to the end of the mapped dirty part is rewritten, small
 *     neighbours merged into one, keeping a record unless a later offset for its key exists in the
 *     map. Records keep their offsets; batches keep base offset, lastOffsetDelta, producer fields,
 *     codec and leader epoch. Control and transactional batches are kept as they are. Records
 *     without a key are dropped (Kafka does the same). A batch holding a tombstone gets a delete
 *     horizon (attribute bit 6, baseTimestamp = now + delete.retention.ms) the first time it is
 *     cleaned; once that horizon has passed the tombstone is dropped.
 *  4. Each rewritten group is swapped in crash-safely: `X.log.cleaned` written and synced, renamed
 *     `X.log.swap` (the commit point, finished at startup if we crash after it), old segments
 *     renamed `.deleted`, new indexes written, `X.log.swap` renamed `X.log`.
 */
import { createHash } from 'node:crypto';
import {
  COMPRESSION_CODEC_MASK,
  CONTROL_FLAG_MASK,
  DELETE_HORIZON_FLAG_MASK,
  TIMESTAMP_TYPE_MASK,
  TRANSACTIONAL_FLAG_MASK,
  decodeBatch,
  encodeBatch,
  encodeEmptyBatch,
  type BatchHeader,
  type Record as KafkaRecord,
} from '@fjord/protocol';
import { LogOfflineError, StorageError } from './errors.js';
import { replaceFile, writeFully } from './fs-port.js';
import { cleanerKeyInlineBytesMax, cleanerOffsetMapKeysMax, cleanerWriteBufferBytes, cleanerYieldBytes, relativeOffsetMax } from './limits.js';
import type { CleanerAccess, PartitionLog } from './partition-log.js';
import { scanFile } from './scan.js';
import { CLEANED_SUFFIX, Segment, segmentFileName, SWAP_SUFFIX, LOG_SUFFIX, TXN_INDEX_SUFFIX } from './segment.js';
import { loadTxnIndex, writeSegmentIndexes } from './segment-io.js';
import { TxnIndex } from './txn-index.js';

export interface CleanableState {
  /** Segments the cleaner may touch, oldest first (never the active one). */
  cleanable: Segment[];
  /**
   * ends[i] is the offset right after cleanable[i]: the next segment's base offset when the state
   * was taken. A pass must use these, not the live segment list, which appends keep extending.
   */
  ends: bigint[];
  /** Index in `cleanable` of the first segment holding dirty (never cleaned) data. */
  dirtyStart: number;
  firstDirtyOffset: bigint;
  cleanBytes: number;
  dirtyBytes: number;
  /** dirty / (clean + dirty); 0 when nothing is cleanable. */
  dirtyRatio: number;
  /** A dirty segment is older than max.compaction.lag.ms: clean whatever the ratio. */
  lagExceeded: boolean;
}

export interface CleanStats {
  groups: number;
  segmentsBefore: number;
  bytesBefore: number;
  bytesAfter: number;
  recordsRemoved: number;
  tombstonesRemoved: number;
  /** The cleaner checkpoint after this pass. */
  firstDirtyOffset: bigint;
}

export interface CleanerOptions {
  offsetMapKeysMax?: number;
  yieldBytes?: number;
}

/** What is cleanable in `log` at `now`, and how dirty it is. Synchronous, so it is one consistent snapshot. */
export function cleanableState(log: PartitionLog, now: number): CleanableState {
  const a = log.cleanerAccess();
  const segs = a.segments();
  const cfg = a.ctx.config();
  const hw = a.highWatermark();
  const start = a.logStartOffset();
  // Kafka's checkpoint validation: one below the log start or past the log end (a stale file, a
  // log that lost its tail) cannot be trusted, so the whole log counts as dirty again.
  const cp = log.firstDirtyOffset;
  const firstDirty = cp !== null && cp > start && cp <= a.logEndOffset() ? cp : start;
  const cleanable: Segment[] = [];
  const ends: bigint[] = [];
  let dirtyStart = -1;
  for (let i = 0; i < segs.length - 1; i++) {
    const s = segs[i]!;
    const end = segs[i + 1]!.baseOffset;
    if (s.pinned || end > hw) break;
    const dirty = end > firstDirty;
    // min.compaction.lag.ms holds back dirty data only; what is already clean is cleaned again
    // (against newer keys) whatever its age.
    if (dirty && cfg.minCompactionLagMs > 0 && s.largestTimestampMs > now - cfg.minCompactionLagMs) break;
    if (dirty && dirtyStart < 0) dirtyStart = i;
    cleanable.push(s);
    ends.push(end);
  }
  if (dirtyStart < 0) dirtyStart = cleanable.length;
  let cleanBytes = 0;
  let dirtyBytes = 0;
  let lagExceeded = false;
  for (let i = 0; i < cleanable.length; i++) {
    const s = cleanable[i]!;
    if (i < dirtyStart) cleanBytes += s.sizeBytes;
    else {
      dirtyBytes += s.sizeBytes;
      if (cfg.maxCompactionLagMs < Number.MAX_SAFE_INTEGER && s.sizeBytes > 0 && s.largestTimestampMs < now - cfg.maxCompactionLagMs) lagExceeded = true;
    }
  }
  const total = cleanBytes + dirtyBytes;
  return {
    cleanable,
    ends,
    dirtyStart,
    firstDirtyOffset: firstDirty,
    cleanBytes,
    dirtyBytes,
    dirtyRatio: total === 0 ? 0 : dirtyBytes / total,
    lagExceeded,
  };
}

/** True when the log is due for cleaning (dirty ratio reached, or max compaction lag passed). */
export function needsCleaning(log: PartitionLog, now: number): boolean {
  if (!log.config.cleanupPolicy.compact || log.isClosed || log.isOffline) return false;
  const s = cleanableState(log, now);
  if (s.dirtyBytes === 0) return false;
  return s.lagExceeded || s.dirtyRatio >= log.config.minCleanableDirtyRatio;
}

const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A compact identity for a key: short keys as is, long ones by SHA-256 (Kafka uses MD5 digests). */
function keyId(key: Buffer): string {
  if (key.length <= cleanerKeyInlineBytesMax) return 'r' + key.toString('latin1');
  return 'h' + createHash('sha256').update(key).digest('base64');
}

const isControl = (h: BatchHeader): boolean => (h.attributes & CONTROL_FLAG_MASK) !== 0;
const isTransactional = (h: BatchHeader): boolean => (h.attributes & TRANSACTIONAL_FLAG_MASK) !== 0;

/**
 * Cleans `log` once (whatever its dirty ratio; callers check needsCleaning). Returns null when
 * there was nothing to clean or the log changed under it (closed, truncated), else what it did.
 */
export async function cleanLog(log: PartitionLog, now: number, opts: CleanerOptions = {}): Promise<CleanStats | null> {
  const a = log.cleanerAccess();
  if (!a.isUsable()) return null;
  const truncations = a.truncations();
  const state = cleanableState(log, now);
  if (state.dirtyBytes === 0) return null;
  const keysMax = opts.offsetMapKeysMax ?? cleanerOffsetMapKeysMax;
  const yieldBytes = opts.yieldBytes ?? cleanerYieldBytes;

  // 2. offset map over the dirty part
  const map = new Map<string, bigint>();
  let mappedEnd = state.dirtyStart;
  for (let i = state.dirtyStart; i < state.cleanable.length; i++) {
    if (i > state.dirtyStart && map.size >= keysMax) break;
    const seg = state.cleanable[i]!;
    const ok = await withFd(a, seg, async (fd) => {
      let sinceYield = 0;
      let pos = 0;
      while (pos < seg.sizeBytes) {
        const res = await scanFile(a.ctx.fs, fd, pos, seg.sizeBytes, { verifyCrc: true }, (b) => {
          if (sinceYield >= yieldBytes) return false;
          sinceYield += b.size;
          const h = b.header;
          if (isControl(h) || isTransactional(h) || h.recordsCount === 0) return undefined;
          const { records } = decodeBatch(b.chunk, b.chunkPos, { verifyCrc: false });
          for (const r of records) if (r.key) map.set(keyId(r.key), r.offset);
          return undefined;
        });
        if (res.stop === 'stopped') {
          pos = res.validEnd;
          sinceYield = 0;
          await yieldToLoop();
          continue;
        }
        if (res.stop !== 'end') {
          a.ctx.logger.error('cleaner found a bad batch; skipping this log', { log: a.ctx.name, file: seg.logPath, position: res.validEnd, reason: res.reason });
          return false;
        }
        break;
      }
      return true;
    });
    if (!ok) return null;
    mappedEnd = i + 1;
  }
  // The end of the last segment mapped, from the snapshot: the offset map covers exactly
  // [firstDirtyOffset, endOffset), and that is all this pass may checkpoint as clean. (Reading it
  // from the live segment list here would skip whatever rolled while the map was being built.)
  const endOffset = state.ends[mappedEnd - 1]!;
  const mapUpTo = endOffset;

  // 3-4. rewrite groups of segments [0, mappedEnd)
  const targets = state.cleanable.slice(0, mappedEnd);
  const groups = groupSegments(targets, state.ends, a.ctx.config().segmentBytes);
  const stats: CleanStats = {
    groups: 0,
    segmentsBefore: targets.length,
    bytesBefore: 0,
    bytesAfter: 0,
    recordsRemoved: 0,
    tombstonesRemoved: 0,
    firstDirtyOffset: state.firstDirtyOffset,
  };
  for (const group of groups) {
    const result = await cleanGroup(a, group, map, mapUpTo, now, yieldBytes, stats, truncations);
    if (!result) return stats.groups > 0 ? stats : null;
    stats.groups++;
  }
  log.firstDirtyOffset = endOffset;
  stats.firstDirtyOffset = endOffset;
  a.ctx.logger.info('cleaned log', {
    log: a.ctx.name,
    segments: stats.segmentsBefore,
    groups: stats.groups,
    bytesBefore: stats.bytesBefore,
    bytesAfter: stats.bytesAfter,
    recordsRemoved: stats.recordsRemoved,
    tombstonesRemoved: stats.tombstonesRemoved,
    firstDirtyOffset: endOffset,
  });
  return stats;
}

/**
 * Consecutive segments whose total size fits one segment and whose offsets fit int32 relative
 * offsets. ends[i] is where segs[i] ends (CleanableState.ends).
 */
function groupSegments(segs: readonly Segment[], ends: readonly bigint[], maxBytes: number): Segment[][] {
  const groups: Segment[][] = [];
  let cur: Segment[] = [];
  let bytes = 0;
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!;
    const first = cur[0];
    if (first && (bytes + s.sizeBytes > maxBytes || ends[i]! - 1n - first.baseOffset > BigInt(relativeOffsetMax))) {
      groups.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(s);
    bytes += s.sizeBytes;
  }
  if (cur.length > 0) groups.push(cur);
  return groups;
}

async function withFd<T>(a: CleanerAccess, seg: Segment, fn: (fd: number) => Promise<T>): Promise<T> {
  const fd = await a.ctx.resources.acquire(seg);
  try {
    return await fn(fd);
  } finally {
    a.ctx.resources.release(seg);
  }
}

interface Output {
  fd: number;
  pos: number;
  pending: Buffer[];
  pendingBytes: number;
}

async function flushOutput(a: CleanerAccess, out: Output): Promise<void> {
  if (out.pendingBytes === 0) return;
  const buf = out.pending.length === 1 ? out.pending[0]! : Buffer.concat(out.pending, out.pendingBytes);
  await writeFully(a.ctx.fs, out.fd, buf, out.pos);
  out.pos += out.pendingBytes;
  out.pending = [];
  out.pendingBytes = 0;
}

/** Rewrites one group into `<base>.log.cleaned` and swaps it in. Returns false when it gave up. */
async function cleanGroup(
  a: CleanerAccess,
  group: Segment[],
  map: Map<string, bigint>,
  mapUpTo: bigint,
  now: number,
  yieldBytes: number,
  stats: CleanStats,
  truncations: number,
): Promise<boolean> {
  const fsys = a.ctx.fs;
  const cfg = a.ctx.config();
  const first = group[0]!;
  const dir = first.dir;
  const cleanedPath = `${dir}/${segmentFileName(first.baseOffset, LOG_SUFFIX + CLEANED_SUFFIX)}`;
  await fsys.unlink(cleanedPath);
  const fd = await fsys.open(cleanedPath, 'wx+');
  const seg = new Segment(dir, first.baseOffset, 0, now);
  seg.resetIndexes(cfg.segmentIndexBytes);
  a.ctx.resources.pin(seg);
  a.ctx.resources.adoptFd(seg, fd, true);
  const out: Output = { fd, pos: 0, pending: [], pendingBytes: 0 };
  let prevLast = first.baseOffset - 1n;
  let swapped = false;
  const sizes = group.map((g) => g.sizeBytes);
  try {
    for (const old of group) {
      stats.bytesBefore += old.sizeBytes;
      const ok = await withFd(a, old, async (ofd) => {
        let pos = 0;
        let sinceYield = 0;
        while (pos < old.sizeBytes) {
          const res = await scanFile(fsys, ofd, pos, old.sizeBytes, { verifyCrc: true }, (b) => {
            if (sinceYield >= yieldBytes || out.pendingBytes >= cleanerWriteBufferBytes) return false;
            sinceYield += b.size;
            // The group's very last batch always keeps at least its header, so the cleaned segment
            // ends exactly where the next one starts (startup treats a gap there as lost data).
            const groupLast = old === group[group.length - 1] && b.position + b.size === old.sizeBytes;
            const kept = retainBatch(b.chunk, b.chunkPos, b.size, b.header, map, mapUpTo, now, cfg.deleteRetentionMs, stats, groupLast);
            if (!kept) return undefined;
            const h = b.header;
            const last = h.baseOffset + BigInt(h.lastOffsetDelta);
            if (h.baseOffset <= prevLast) return `offsets go backwards at ${h.baseOffset}`;
            const maxTs = kept.readBigInt64BE(35);
            seg.indexBatch(last, out.pos + out.pendingBytes, kept.length, maxTs, cfg.indexIntervalBytes);
            out.pending.push(kept);
            out.pendingBytes += kept.length;
            prevLast = last;
            return undefined;
          });
          if (res.stop === 'stopped') {
            pos = res.validEnd;
            sinceYield = 0;
            await flushOutput(a, out);
            await yieldToLoop();
            continue;
          }
          if (res.stop !== 'end') {
            a.ctx.logger.error('cleaner found a bad batch; leaving this log as it is', { log: a.ctx.name, file: old.logPath, position: res.validEnd, reason: res.reason });
            return false;
          }
          break;
        }
        return true;
      });
      if (!ok) return false;
    }
    await flushOutput(a, out);
    await fsys.fdatasync(fd);
    seg.sizeBytes = out.pos;
    seg.sealTimeIndex();
    seg.lastModifiedMs = Math.max(...group.map((g) => g.lastModifiedMs));
    if (seg.maxTimestamp < 0n) seg.lastModifiedMs = Math.max(...group.map((g) => g.largestTimestampMs));
    swapped = await swapIn(a, group, sizes, truncations, seg, cleanedPath);
    if (swapped) stats.bytesAfter += seg.sizeBytes;
    return swapped;
  } finally {
    if (!swapped) {
      a.ctx.resources.retire(seg);
      a.ctx.resources.unpin(seg);
      await fsys.unlink(cleanedPath).catch(() => {});
    }
  }
}

/**
 * The batch to keep for `buf[pos, pos+size)` (itself, a re-encoded smaller batch, or an empty
 * header for an idempotent producer's batch), or null to drop it.
 */
function retainBatch(
  buf: Buffer,
  pos: number,
  size: number,
  h: BatchHeader,
  map: Map<string, bigint>,
  mapUpTo: bigint,
  now: number,
  deleteRetentionMs: number,
  stats: CleanStats,
  keepHeader: boolean,
): Buffer | null {
  const copy = (): Buffer => Buffer.from(buf.subarray(pos, pos + size));
  if (isControl(h) || isTransactional(h) || h.recordsCount === 0) return copy();
  const horizon = (h.attributes & DELETE_HORIZON_FLAG_MASK) !== 0 ? h.baseTimestamp : null;
  const { records } = decodeBatch(buf, pos, { verifyCrc: false });
  const kept: KafkaRecord[] = [];
  let tombstones = 0;
  for (const r of records) {
    if (!r.key) {
      stats.recordsRemoved++;
      continue;
    }
    const latest = r.offset < mapUpTo ? map.get(keyId(r.key)) : undefined;
    if (latest !== undefined && r.offset < latest) {
      stats.recordsRemoved++;
      continue;
    }
    if (r.value === null) {
      if (horizon !== null && now >= Number(horizon)) {
        stats.recordsRemoved++;
        stats.tombstonesRemoved++;
        continue;
      }
      tombstones++;
    }
    kept.push(r);
  }
  const needsHorizon = tombstones > 0 && horizon === null;
  if (kept.length === records.length && !needsHorizon) return copy();
  const newHorizon = needsHorizon ? BigInt(now + deleteRetentionMs) : horizon;
  const logAppend = (h.attributes & TIMESTAMP_TYPE_MASK) !== 0;
  if (kept.length === 0) {
    if (h.producerId < 0n && !keepHeader) return null;
    // Keep the header so the producer's sequence state survives (Kafka keeps such empty batches),
    // or so the segment keeps its offset range.
    return encodeEmptyBatch({
      baseOffset: h.baseOffset,
      lastOffsetDelta: h.lastOffsetDelta,
      producerId: h.producerId,
      producerEpoch: h.producerEpoch,
      baseSequence: h.baseSequence,
      timestamp: h.maxTimestamp,
      partitionLeaderEpoch: h.partitionLeaderEpoch,
      timestampType: logAppend ? 'logAppend' : 'create',
      ...(newHorizon !== null ? { deleteHorizonMs: newHorizon } : {}),
    });
  }
  const out = encodeBatch({
    baseOffset: h.baseOffset,
    partitionLeaderEpoch: h.partitionLeaderEpoch,
    compression: h.attributes & COMPRESSION_CODEC_MASK,
    timestampType: logAppend ? 'logAppend' : 'create',
    producerId: h.producerId,
    producerEpoch: h.producerEpoch,
    baseSequence: h.baseSequence,
    lastOffsetDelta: h.lastOffsetDelta,
    ...(newHorizon !== null ? { deleteHorizonMs: newHorizon } : {}),
    records: kept.map((r) => ({
      key: r.key,
      value: r.value,
      headers: r.headers.map((x) => ({ key: x.key, value: x.value })),
      timestamp: r.timestamp,
      offsetDelta: r.offsetDelta,
    })),
  });
  return out;
}

/** Steps 4a-4h of the swap, under the log's maintenance lock. */
async function swapIn(a: CleanerAccess, group: Segment[], sizes: number[], truncations: number, seg: Segment, cleanedPath: string): Promise<boolean> {
  const fsys = a.ctx.fs;
  const dir = seg.dir;
  const swapPath = `${dir}/${segmentFileName(seg.baseOffset, LOG_SUFFIX + SWAP_SUFFIX)}`;
  return a.lock.run(async () => {
    if (!a.isUsable()) return false;
    const segs = a.segments();
    const at = segs.indexOf(group[0]!);
    if (at < 0 || a.truncations() !== truncations) return false;
    if (group.some((g, k) => segs[at + k] !== g || g.retired || g.pinned || g.sizeBytes !== sizes[k])) return false;
    // Hold the old fds so reads from older snapshots never reopen a renamed path.
    for (const g of group) await a.ctx.resources.acquire(g);
    try {
      // The group's aborted transactions move to the new segment (markers are always kept). Their
      // index is written before the commit point, so startup can finish an interrupted swap.
      const merged = new TxnIndex();
      for (const g of group) for (const t of (await loadTxnIndex(a.ctx, g)).all()) merged.append(t);
      const txnSwapPath = `${dir}/${segmentFileName(seg.baseOffset, TXN_INDEX_SUFFIX + SWAP_SUFFIX)}`;
      if (merged.entries > 0) await replaceFile(fsys, txnSwapPath, Buffer.from(merged.bytes()));
      seg.txnIndex = merged;
      seg.txnIndexDirty = false;
      await fsys.rename(cleanedPath, swapPath);
      await fsys.fsyncDir(dir);
      if (!a.replace(group, seg)) {
        // Cannot happen under the lock; undo rather than leave a swap that startup would apply.
        await fsys.unlink(swapPath);
        await fsys.unlink(txnSwapPath);
        await fsys.fsyncDir(dir);
        return false;
      }
      try {
        await a.retire(group);
        if (merged.entries > 0) {
          await fsys.rename(txnSwapPath, seg.txnIndexPath);
          seg.txnIndexOnDisk = true;
        }
        await writeSegmentIndexes(fsys, seg);
        await fsys.rename(swapPath, seg.logPath);
        await fsys.fsyncDir(dir);
      } catch (err) {
        // The segment list already points at the new segment; its file is under a name startup
        // resolves, but this process cannot go on trusting the directory.
        a.goOffline(new LogOfflineError('compaction swap failed midway', swapPath, { cause: err }));
        throw new StorageError('compaction swap failed midway', swapPath, { cause: err });
      }
    } finally {
      for (const g of group) a.ctx.resources.release(g);
    }
    a.ctx.resources.unpin(seg);
    return true;
  });
}
