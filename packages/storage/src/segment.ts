/**
 * One segment: `<base>.log` plus its `.index` and `.timeindex`, named by the 20-digit base offset.
 *
 * Memory per segment is a handful of fields; the in-memory indexes exist for the active segment
 * (and one being finalized) and otherwise only while cached (SegmentResources, LRU by bytes).
 * File descriptors are opened on demand and reference-counted, so a read in flight keeps its fd
 * even when retention, compaction or truncation retires the segment meanwhile.
 */
import { StorageError } from './errors.js';
import type { FileSystem } from './fs-port.js';
import { OffsetIndex } from './offset-index.js';
import { TimeIndex } from './time-index.js';
import { TxnIndex } from './txn-index.js';

export const LOG_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';
export const TXN_INDEX_SUFFIX = '.txnindex';
export const DELETED_SUFFIX = '.deleted';
export const CLEANED_SUFFIX = '.cleaned';
export const SWAP_SUFFIX = '.swap';

/** Kafka's file name: the base offset zero-padded to 20 digits. */
export function segmentFileName(baseOffset: bigint, suffix: string): string {
  return baseOffset.toString().padStart(20, '0') + suffix;
}

/** The base offset a segment file name encodes, or null when the name is not one. */
export function parseSegmentFileName(name: string, suffix: string): bigint | null {
  if (!name.endsWith(suffix)) return null;
  const stem = name.slice(0, name.length - suffix.length);
  if (!/^\d{20}$/.test(stem)) return null;
  return BigInt(stem);
}

export class Segment {
  logPath: string;
  indexPath: string;
  timeIndexPath: string;
  txnIndexPath: string;
  /** Bytes of whole, valid batches; reads never go past it. */
  sizeBytes: number;
  /** Largest batch maxTimestamp in the segment, -1n when unknown or none. */
  maxTimestamp = -1n;
  /** Last offset of the batch holding maxTimestamp (Kafka's "shallow" offset of the max timestamp). */
  offsetOfMaxTimestamp = -1n;
  /** maxTimestamp was computed from the batches (append, scan) or checked against them. */
  maxTimestampVerified = false;
  /** maxTimestamp of the first batch (Kafka's rolling-based timestamp); null when not loaded yet. */
  rollingBaseTimestamp: bigint | null = null;
  createdMs: number;
  lastModifiedMs: number;
  bytesSinceLastIndexEntry = 0;
  /** In memory for the active segment, and for inactive ones while cached. */
  offsetIndex: OffsetIndex | null = null;
  timeIndex: TimeIndex | null = null;
  /** The in-memory indexes hold entries the files do not. */
  indexesDirty = false;
  /**
   * Aborted transactions whose marker is in this segment (Kafka's .txnindex); null while only on
   * disk (loaded on the first read_committed fetch that needs it). A segment without a
   * `.txnindex` file has none.
   */
  txnIndex: TxnIndex | null = new TxnIndex();
  /** The `.txnindex` file exists. */
  txnIndexOnDisk = false;
  /** The in-memory transaction index holds entries its file does not. */
  txnIndexDirty = false;
  /** Bytes appended since the last fdatasync of this file. */
  unsyncedBytes = 0;

  // File descriptor state, managed by SegmentResources.
  fd: number | null = null;
  fdWritable = false;
  /** Fds replaced while reads still used them (a segment re-activated by truncation); closed at the last release. */
  staleFds: number[] = [];
  refs = 0;
  opening: Promise<number> | null = null;
  indexLoading: Promise<void> | null = null;
  /** Active or being finalized: fd and indexes are never evicted. */
  pinned = false;
  /** Removed from its log (deleted, replaced, truncated away, or the log closed): close the fd at the last release. */
  retired = false;

  constructor(
    readonly dir: string,
    readonly baseOffset: bigint,
    sizeBytes: number,
    nowMs: number,
  ) {
    this.logPath = `${dir}/${segmentFileName(baseOffset, LOG_SUFFIX)}`;
    this.indexPath = `${dir}/${segmentFileName(baseOffset, INDEX_SUFFIX)}`;
    this.timeIndexPath = `${dir}/${segmentFileName(baseOffset, TIME_INDEX_SUFFIX)}`;
    this.txnIndexPath = `${dir}/${segmentFileName(baseOffset, TXN_INDEX_SUFFIX)}`;
    this.sizeBytes = sizeBytes;
    this.createdMs = nowMs;
    this.lastModifiedMs = nowMs;
  }

  /** Retention's notion of the segment's age: its largest timestamp, else its last modification. */
  get largestTimestampMs(): number {
    return this.maxTimestamp >= 0n ? Number(this.maxTimestamp) : this.lastModifiedMs;
  }

  /** Records one appended (or recovered) batch in the segment's sparse indexes. Kafka's rules. */
  indexBatch(lastOffset: bigint, position: number, size: number, batchMaxTimestamp: bigint, indexIntervalBytes: number): void {
    const oi = this.offsetIndex;
    const ti = this.timeIndex;
    if (!oi || !ti) throw new StorageError('indexes of the active segment are not loaded', this.logPath);
    if (position === 0) this.rollingBaseTimestamp = batchMaxTimestamp;
    if (batchMaxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = batchMaxTimestamp;
      this.offsetOfMaxTimestamp = lastOffset;
    }
    if (this.bytesSinceLastIndexEntry > indexIntervalBytes && !oi.isFull) {
      oi.append(lastOffset, position);
      ti.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp);
      this.bytesSinceLastIndexEntry = 0;
    }
    this.bytesSinceLastIndexEntry += size;
    this.indexesDirty = true;
  }

  /** Called when the segment stops being active: the time index's last entry becomes the segment's max. */
  sealTimeIndex(): void {
    if (this.timeIndex && this.maxTimestamp >= 0n) {
      const before = this.timeIndex.entries;
      this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp, true);
      if (this.timeIndex.entries !== before) this.indexesDirty = true;
    }
  }

  /** Fresh, empty in-memory indexes (new segment or rebuild). */
  resetIndexes(segmentIndexBytes: number): void {
    this.offsetIndex = new OffsetIndex(this.baseOffset, segmentIndexBytes);
    this.timeIndex = new TimeIndex(this.baseOffset, segmentIndexBytes);
    this.maxTimestamp = -1n;
    this.offsetOfMaxTimestamp = -1n;
    this.maxTimestampVerified = true; // from now on computed from the batches themselves
    this.rollingBaseTimestamp = null;
    this.bytesSinceLastIndexEntry = 0;
    this.indexesDirty = true;
  }
}

/**
 * Bounded caches shared by the logs of one LogManager: open fds of inactive segments (LRU, at
 * most fdsMax idle ones) and their loaded indexes (LRU, at most indexBytesMax bytes). Pinned
 * segments are not counted; busy (refs > 0) fds and dirty indexes are never evicted.
 */
export class SegmentResources {
  private readonly fdLru = new Map<Segment, true>();
  private readonly indexLru = new Map<Segment, number>();
  private indexBytes = 0;
  openFds = 0;

  constructor(
    readonly fs: FileSystem,
    readonly fdsMax: number,
    readonly indexBytesMax: number,
  ) {}

  /** Opens (or reuses) the segment's fd and takes a reference; pair with release(). */
  async acquire(seg: Segment): Promise<number> {
    seg.refs++;
    try {
      if (seg.fd !== null) {
        this.touchFd(seg);
        return seg.fd;
      }
      if (!seg.opening) {
        seg.opening = this.fs.open(seg.logPath, 'r').then(
          (fd) => {
            seg.opening = null;
            seg.fd = fd;
            seg.fdWritable = false;
            this.openFds++;
            this.touchFd(seg);
            return fd;
          },
          (err: unknown) => {
            seg.opening = null;
            throw new StorageError('cannot open segment', seg.logPath, { cause: err });
          },
        );
      }
      const fd = await seg.opening;
      return fd;
    } catch (err) {
      seg.refs--;
      throw err;
    }
  }

  release(seg: Segment): void {
    seg.refs--;
    if (seg.refs === 0 && seg.staleFds.length > 0) {
      for (const fd of seg.staleFds.splice(0)) {
        this.openFds--;
        this.fs.close(fd).catch(() => {});
      }
    }
    if (seg.refs === 0 && seg.retired && !seg.pinned) this.closeFd(seg);
    else this.evictFds();
  }

  /** Registers an fd opened elsewhere (the active segment's read/write fd). */
  adoptFd(seg: Segment, fd: number, writable: boolean): void {
    seg.fd = fd;
    seg.fdWritable = writable;
    this.openFds++;
    if (!seg.pinned) this.touchFd(seg);
  }

  /** Gives the segment a new fd (read/write for re-activation); the old one closes once unused. */
  replaceFd(seg: Segment, fd: number, writable: boolean): void {
    const old = seg.fd;
    if (old !== null) {
      if (seg.refs === 0) {
        this.openFds--;
        this.fs.close(old).catch(() => {});
      } else seg.staleFds.push(old);
    }
    seg.fd = fd;
    seg.fdWritable = writable;
    this.openFds++;
    if (!seg.pinned) this.touchFd(seg);
  }

  pin(seg: Segment): void {
    seg.pinned = true;
    this.fdLru.delete(seg);
    const b = this.indexLru.get(seg);
    if (b !== undefined) {
      this.indexLru.delete(seg);
      this.indexBytes -= b;
    }
  }

  /** The segment became inactive: its fd and (clean) indexes become evictable. */
  unpin(seg: Segment): void {
    seg.pinned = false;
    if (seg.retired) {
      if (seg.refs === 0) this.closeFd(seg);
      seg.offsetIndex = null;
      seg.timeIndex = null;
      return;
    }
    if (seg.fd !== null) this.touchFd(seg);
    if (seg.offsetIndex && seg.timeIndex) this.cacheIndexes(seg);
    this.evictFds();
  }

  /** The segment left its log: close the fd once no read uses it, drop its indexes. */
  retire(seg: Segment): void {
    seg.retired = true;
    this.fdLru.delete(seg);
    const b = this.indexLru.get(seg);
    if (b !== undefined) {
      this.indexLru.delete(seg);
      this.indexBytes -= b;
    }
    if (!seg.pinned) {
      seg.offsetIndex = null;
      seg.timeIndex = null;
    }
    if (seg.refs === 0 && !seg.pinned) this.closeFd(seg);
  }

  /** Registers freshly loaded indexes of an inactive segment in the LRU. */
  cacheIndexes(seg: Segment): void {
    if (seg.pinned || seg.retired || !seg.offsetIndex || !seg.timeIndex) return;
    const bytes = seg.offsetIndex.memoryBytes + seg.timeIndex.memoryBytes;
    const old = this.indexLru.get(seg);
    if (old !== undefined) {
      this.indexLru.delete(seg);
      this.indexBytes -= old;
    }
    this.indexLru.set(seg, bytes);
    this.indexBytes += bytes;
    this.evictIndexes();
  }

  touchIndexes(seg: Segment): void {
    const b = this.indexLru.get(seg);
    if (b === undefined) return;
    this.indexLru.delete(seg);
    this.indexLru.set(seg, b);
  }

  get cachedIndexBytes(): number {
    return this.indexBytes;
  }

  private touchFd(seg: Segment): void {
    if (seg.pinned) return;
    this.fdLru.delete(seg);
    this.fdLru.set(seg, true);
    this.evictFds();
  }

  private evictFds(): void {
    if (this.fdLru.size <= this.fdsMax) return;
    for (const seg of this.fdLru.keys()) {
      if (this.fdLru.size <= this.fdsMax) break;
      if (seg.refs === 0) this.closeFd(seg);
    }
  }

  private evictIndexes(): void {
    if (this.indexBytes <= this.indexBytesMax) return;
    for (const [seg, bytes] of this.indexLru) {
      if (this.indexBytes <= this.indexBytesMax) break;
      if (seg.indexesDirty || seg.indexLoading) continue;
      this.indexLru.delete(seg);
      this.indexBytes -= bytes;
      seg.offsetIndex = null;
      seg.timeIndex = null;
    }
  }

  private closeFd(seg: Segment): void {
    this.fdLru.delete(seg);
    const fd = seg.fd;
    if (fd === null) return;
    seg.fd = null;
    seg.fdWritable = false;
    this.openFds--;
    // Closing is fire-and-forget: an error closing a read fd loses nothing.
    this.fs.close(fd).catch(() => {});
  }
}
