/**
 * One partition's log: a list of segments, the last one active.
 *
 * Append is split as in Redpanda: the ordered phase (`append`) is synchronous — offsets are
 * assigned by rewriting each batch's header in place and the request's bytes go to the page cache
 * in one write — and the durable phase (`waitForDurable`) is a group commit: one fdatasync, run on
 * the libuv pool, serves every append waiting when it starts; appends arriving meanwhile share the
 * next one.
 *
 * Reads return whole batches straight from the file (async, into a buffer allocated for that
 * response), bounded by the segment sizes at the moment the read started.
 *
 * Idempotent and transactional producers (producer-state.ts) are checked in the ordered phase from
 * batch headers: a duplicate is answered with the original batch's offsets and not written, a
 * refused append writes nothing. The state is snapshotted at every roll and at close, and the
 * last stable offset (read_committed) and the per-segment transaction indexes come from it.
 */
import {
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_OFFSET,
  CONTROL_FLAG_MASK,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  TIMESTAMP_TYPE_MASK,
  TRANSACTIONAL_FLAG_MASK,
  decodeBatch,
  setBaseOffset,
  setLogAppendTime,
  setPartitionLeaderEpoch,
  type BatchHeader,
  type BatchSpan,
} from '@fjord/protocol';
import { formatEpochEntries, LEADER_EPOCH_CHECKPOINT, writeCheckpoint } from './checkpoint.js';
import { nodeScheduler, silentLogger, type Clock, type Logger, type Scheduler } from './clock.js';
import { isGroupCommit, normalizeLogConfig, type LogConfig } from './config.js';
import {
  LogClosedError,
  LogOfflineError,
  LogTruncatedError,
  OffsetOutOfRangeError,
  RecordBatchTooLargeError,
  StorageError,
  assert,
} from './errors.js';
import { nodeFileSystem, readFully, replaceFile, writeFullySync, type FileSystem } from './fs-port.js';
import { LeaderEpochCache } from './leader-epoch-cache.js';
import { indexCacheBytesMax, inactiveSegmentFdsMax, readRetriesMax, relativeOffsetMax, tailCacheBytesMax, tailCacheLogBytesMax, unwaitedSyncDelayMs } from './limits.js';
import { Mutex } from './mutex.js';
import { loadLog } from './recovery.js';
import { retentionDecision, type RetentionDecision } from './retention.js';
import { findBatch, scanFile } from './scan.js';
import { DELETED_SUFFIX, Segment, SegmentResources } from './segment.js';
import { loadSegmentIndexes, readFirstBatchMaxTimestamp, verifyMaxTimestamp, writeSegmentIndexes, type SegmentContext } from './segment-io.js';
import { newStats, type StorageStats } from './stats.js';
import type { ReadBufferLease } from './read-buffers.js';
import { TailCache, TailCacheBudget } from './tail-cache.js';
import {
  ProducerStateManager,
  firstOffsetOf,
  type AnalyzeResult,
  type AppendOrigin,
  type ProducerBatch,
  type ProducerErrorName,
} from './producer-state.js';
import { loadLatestSnapshot, readMarker, replaySegments, snapshotPath } from './producer-state-io.js';
import { loadTxnIndex } from './segment-io.js';
import type { AbortedTxn } from './txn-index.js';

/** Kafka's producer.id.expiration.ms default: one day. */
export const producerIdExpirationMsDefault = 86_400_000;

/**
 * Who moves the high watermark: 'log-end' (default, one node as Kafka: it follows the log end
 * offset after each append), 'durable' (it follows durableOffset, so consumers only see synced
 * records; pair with onDurable to wake fetches), 'manual' (only updateHighWatermark; replication).
 */
export type HighWatermarkPolicy = 'log-end' | 'durable' | 'manual';

export interface PartitionLogOptions {
  /** The partition's directory (`<data dir>/<topic>-<partition>`); created when missing. */
  dir: string;
  topic: string;
  partition: number;
  topicId?: string;
  config?: Partial<LogConfig>;
  clock: Clock;
  /** From recovery-point-offset-checkpoint; absent = scan everything after an unclean shutdown. */
  recoveryPoint?: bigint;
  /** From log-start-offset-checkpoint. */
  logStartOffset?: bigint;
  /** The data dir had the clean-shutdown marker: trust files after cheap checks. */
  hadCleanShutdown: boolean;
  logger?: Logger;
  fs?: FileSystem;
  scheduler?: Scheduler;
  /** Shared fd/index caches (LogManager); a standalone log gets its own. */
  resources?: SegmentResources;
  /** Shared counters (LogManager); a standalone log gets its own. */
  stats?: StorageStats;
  /** The memory budget of the in-memory tails (LogManager); a standalone log gets its own. */
  tailCache?: TailCacheBudget;
  /** Default 'log-end'. */
  highWatermark?: HighWatermarkPolicy;
  /** Called once when the log goes offline (fsync failure): the broker must stop serving it. */
  onOffline?: (log: PartitionLog, error: Error) => void;
  /**
   * Called after each sync that moved durableOffset (offsets below it survive power loss). On one
   * node the broker can advance the high watermark here so consumers never read records a power
   * loss could take back.
   */
  onDurable?: (log: PartitionLog, durableOffset: bigint) => void;
  /** Persists the log start offset (LogManager writes log-start-offset-checkpoint). */
  onLogStartOffsetChanged?: (log: PartitionLog) => Promise<void>;
  /** producer.id.expiration.ms (default one day): idle producers are forgotten after this long. */
  producerIdExpirationMs?: number;
}

export interface AppendOptions {
  /** The leader epoch written into every batch (partitionLeaderEpoch) and the epoch cache. */
  leaderEpoch: number;
  /** The broker's clock, ms: LogAppendTime and time-based rolling. */
  now: number;
  /**
   * Who appends (default 'client'): client batches get duplicate detection and sequence checks,
   * coordinator appends (transaction markers) epoch and coordinator-epoch checks, replication none.
   */
  origin?: AppendOrigin;
  /** For markers: 2 when the transaction uses KIP-890's epoch bump (TV2). Default 0. */
  transactionVersion?: number;
}

export interface AppendResult {
  firstOffset: bigint;
  lastOffset: bigint;
  /**
   * The append time written into the batches, -1n for CreateTime topics; for a duplicate, the
   * original batch's max timestamp (what Kafka answers).
   */
  logAppendTime: bigint;
  logStartOffset: bigint;
  /** The append repeated one of the producer's last batches: nothing was written, the offsets are the original's. */
  duplicate: boolean;
}

/** An append the producer state refused: nothing was written. */
export interface AppendRejection {
  error: ProducerErrorName;
  message: string;
  /** Index of the batch that was refused. */
  batchIndex: number;
}

/** Thrown by append() (not tryAppend) when the producer state refuses the append. */
export class AppendRejectedError extends Error {
  override readonly name = 'AppendRejectedError';
  constructor(readonly rejection: AppendRejection) {
    super(`${rejection.error}: ${rejection.message}`);
  }
}

/** One producer of DescribeProducers. */
export interface ActiveProducer {
  producerId: bigint;
  producerEpoch: number;
  lastSequence: number;
  lastTimestamp: bigint;
  coordinatorEpoch: number;
  /** -1n when no transaction is open. */
  currentTxnStartOffset: bigint;
}

export interface ReadOptions {
  /** Exclusive upper bound, e.g. the high watermark: batches ending at or past it are not returned. */
  maxOffset?: bigint;
  /** Return the first batch whole even when it is larger than maxBytes (Kafka's minOneMessage). */
  minOneBatch: boolean;
  /** Also list the aborted transactions overlapping what is returned (read_committed). */
  abortedTransactions?: boolean;
  /**
   * Read file bytes into buffers of this lease instead of fresh ones: the chunks returned are then
   * valid only until the lease is released (see read-buffers.ts). Chunks served from the in-memory
   * tail are not the lease's and stay valid.
   */
  buffers?: ReadBufferLease;
}

export interface ReadResult {
  /** Whole batches, as stored; one chunk per segment touched. */
  chunks: Buffer[];
  bytes: number;
  /** Offset after the last batch returned (startOffset when nothing was). */
  nextOffset: bigint;
  logStartOffset: bigint;
  logEndOffset: bigint;
  highWatermark: bigint;
  /** With `abortedTransactions`: those overlapping [startOffset, nextOffset), by marker offset. */
  abortedTransactions?: AbortedTxn[];
}

export interface TimestampAndOffset {
  offset: bigint;
  timestamp: bigint;
  leaderEpoch: number;
}

interface Waiter {
  offset: bigint;
  resolve: () => void;
  reject: (err: Error) => void;
}

const EMPTY: Buffer[] = [];
/** Makes `-delete` directory names unique within a process (with the clock for across restarts). */
let deleteCounter = 0;

export class PartitionLog {
  readonly dir: string;
  readonly topic: string;
  readonly partition: number;
  topicId: string | undefined;
  readonly stats: StorageStats;

  private cfg: LogConfig;
  private groupCommit: boolean;
  /** A deferred sync for appends nobody waits for is armed (see scheduleUnwaitedSync). */
  private unwaitedSyncArmed = false;
  private unwaitedAfterSync = false;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly fs: FileSystem;
  private readonly scheduler: Scheduler;
  private readonly resources: SegmentResources;
  /** The newest appends in memory, so reads at the log end need no file I/O (tail-cache.ts). */
  private readonly tail: TailCache;
  private readonly ctx: SegmentContext;
  private readonly onOffline: ((log: PartitionLog, error: Error) => void) | undefined;
  private readonly onLogStartOffsetChanged: ((log: PartitionLog) => Promise<void>) | undefined;
  private readonly onDurable: ((log: PartitionLog, durableOffset: bigint) => void) | undefined;
  private readonly hwPolicy: HighWatermarkPolicy;

  /** Replaced, never mutated, so a read can hold a snapshot. Never empty; the last is active. */
  private segments: Segment[] = [];
  private nextOffset = 0n;
  private startOffset = 0n;
  private hw = 0n;
  private rp = 0n;
  /** Offsets below this are covered by an fdatasync. */
  private durable = 0n;
  private epochs = new LeaderEpochCache();

  private waiters: Waiter[] = [];
  private syncRunning = false;
  private syncAgain = false;
  private syncIdleWaiters: Array<() => void> = [];
  private pendingFinalize: Segment[] = [];
  private dirDirty = false;
  private recordsSinceSync = 0;
  private lastSyncMs: number;
  private offlineError: LogOfflineError | null = null;
  private closed = false;
  private truncating = false;
  private truncations = 0;
  private readonly lock = new Mutex();
  /** Cleaner state: where the dirty (never cleaned) part of the log starts; null = log start. */
  firstDirtyOffset: bigint | null = null;
  /** Counters for tests and metrics. */
  readonly counters = { appends: 0, syncs: 0, rolls: 0, segmentsDeleted: 0, duplicates: 0, producerSnapshots: 0 };
  /** Idempotent/transactional producers of this partition. */
  private readonly producers: ProducerStateManager;
  /** Offsets of the producer state snapshot files on disk, ascending. */
  private snapshotOffsets: bigint[] = [];
  /** Snapshots taken at rolls, written by the sync loop before the recovery point passes them. */
  private pendingSnapshots: Array<{ offset: bigint; data: Buffer }> = [];
  /** The log end offset at which a snapshot (written or pending) holds the current state; -1n when none does. */
  private snapshotEnd = -1n;

  private constructor(o: PartitionLogOptions, cfg: LogConfig, resources: SegmentResources, stats: StorageStats) {
    this.dir = o.dir;
    this.topic = o.topic;
    this.partition = o.partition;
    this.topicId = o.topicId;
    this.cfg = cfg;
    this.groupCommit = isGroupCommit(cfg);
    this.clock = o.clock;
    this.logger = o.logger ?? silentLogger;
    this.fs = o.fs ?? nodeFileSystem;
    this.scheduler = o.scheduler ?? nodeScheduler;
    this.resources = resources;
    this.tail = new TailCache(o.tailCache ?? new TailCacheBudget(tailCacheBytesMax, tailCacheLogBytesMax));
    this.stats = stats;
    this.onOffline = o.onOffline;
    this.onLogStartOffsetChanged = o.onLogStartOffsetChanged;
    this.onDurable = o.onDurable;
    this.hwPolicy = o.highWatermark ?? 'log-end';
    this.producers = new ProducerStateManager({ name: `${o.topic}-${o.partition}`, expirationMs: o.producerIdExpirationMs ?? producerIdExpirationMsDefault });
    this.lastSyncMs = o.clock.now();
    this.ctx = {
      fs: this.fs,
      logger: this.logger,
      resources,
      stats,
      config: () => this.cfg,
      name: `${o.topic}-${o.partition}`,
    };
  }

  /** Opens (creating, loading or recovering) the log in `dir`. */
  static async open(o: PartitionLogOptions): Promise<PartitionLog> {
    const cfg = normalizeLogConfig(o.config);
    const fsys = o.fs ?? nodeFileSystem;
    const resources = o.resources ?? new SegmentResources(fsys, inactiveSegmentFdsMax, indexCacheBytesMax);
    const stats = o.stats ?? newStats();
    const log = new PartitionLog(o, cfg, resources, stats);
    let loaded: Awaited<ReturnType<typeof loadLog>>;
    try {
      loaded = await loadLog({
        dir: o.dir,
        ctx: log.ctx,
        clock: o.clock,
        hadCleanShutdown: o.hadCleanShutdown,
        recoveryPoint: o.recoveryPoint,
        logStartOffset: o.logStartOffset,
        producerState: log.producers,
      });
    } catch (err) {
      if (err instanceof StorageError) throw err;
      const file = (err as NodeJS.ErrnoException).path ?? o.dir;
      throw new StorageError(`cannot load log ${o.topic}-${o.partition}: ${(err as Error).message}`, file, { cause: err });
    }
    log.segments = loaded.segments;
    log.nextOffset = loaded.nextOffset;
    log.startOffset = loaded.logStartOffset;
    log.epochs = loaded.epochCache;
    log.setHighWatermark(loaded.nextOffset);
    log.rp = loaded.recoveryPoint;
    log.durable = loaded.nextOffset;
    log.snapshotOffsets = loaded.snapshotOffsets;
    if (loaded.snapshotAtEnd) log.snapshotEnd = loaded.nextOffset;
    if (loaded.repaired) {
      // Recovered data may still be only in the page cache (kill -9): make it and the rebuilt
      // indexes durable before the recovery point moves past them.
      for (const seg of loaded.rebuilt) {
        await writeSegmentIndexes(fsys, seg);
        const fd = await resources.acquire(seg);
        try {
          await fsys.fdatasync(fd);
        } finally {
          resources.release(seg);
        }
        resources.cacheIndexes(seg);
      }
      const active = log.active;
      if (active.fd !== null) await fsys.fdatasync(active.fd);
      await fsys.fsyncDir(o.dir);
      log.rp = loaded.nextOffset;
    }
    if (log.epochs.dirty || loaded.repaired) await log.writeEpochCheckpoint();
    stats.logsLoaded++;
    return log;
  }

  // ---------------------------------------------------------------------------------------------
  // Getters

  get config(): Readonly<LogConfig> {
    return this.cfg;
  }
  get logStartOffset(): bigint {
    return this.startOffset;
  }
  /** The next offset to assign. */
  get logEndOffset(): bigint {
    return this.nextOffset;
  }
  get highWatermark(): bigint {
    return this.hw;
  }
  /** Everything below this offset, log and indexes, is on disk; recovery scans from its segment. */
  get recoveryPoint(): bigint {
    return this.rp;
  }
  /** Offsets below this were covered by an fdatasync. */
  get durableOffset(): bigint {
    return this.durable;
  }
  get sizeBytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.sizeBytes;
    return n;
  }
  get segmentCount(): number {
    return this.segments.length;
  }
  get latestEpoch(): number {
    return this.epochs.latestEpoch;
  }
  get isOffline(): boolean {
    return this.offlineError !== null;
  }
  get isClosed(): boolean {
    return this.closed;
  }
  /** Base offsets of the segments, oldest first (tests, tools). */
  get segmentBaseOffsets(): bigint[] {
    return this.segments.map((s) => s.baseOffset);
  }

  /**
   * The last stable offset (Kafka's fetchLastStableOffsetMetadata): the first offset of an open
   * transaction, or of an ended one whose marker is not yet below the high watermark, if that is
   * below the high watermark; else the high watermark. read_committed reads stop here.
   */
  get lastStableOffset(): bigint {
    let first = this.producers.firstUnstableOffset();
    if (first < 0n) return this.hw;
    if (first < this.startOffset) first = this.startOffset;
    return first < this.hw ? first : this.hw;
  }

  /** The producers this partition remembers (DescribeProducers). */
  activeProducers(): ActiveProducer[] {
    const out: ActiveProducer[] = [];
    for (const e of this.producers.entries()) {
      out.push({
        producerId: e.producerId,
        producerEpoch: e.epoch,
        lastSequence: e.lastSeq,
        lastTimestamp: e.lastTimestamp,
        coordinatorEpoch: e.coordinatorEpoch,
        currentTxnStartOffset: e.currentTxnFirstOffset,
      });
    }
    return out;
  }

  get producerCount(): number {
    return this.producers.size;
  }

  /** Offsets of the producer state snapshots on disk (tests, tools). */
  get producerSnapshotOffsets(): bigint[] {
    return [...this.snapshotOffsets];
  }

  /**
   * Forgets producers idle for producer.id.expiration.ms with no open transaction (Kafka's
   * periodic producer expiration check). Returns how many went.
   */
  removeExpiredProducers(now: number): number {
    const n = this.producers.removeExpired(now);
    if (n > 0) this.snapshotEnd = -1n;
    return n;
  }

  set producerIdExpirationMs(ms: number) {
    this.producers.expirationMs = ms;
  }

  private get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  /** Sets the high watermark (policy 'manual'; with the others the next append or sync moves it again). Clamped to [log start, log end]. */
  updateHighWatermark(offset: bigint): bigint {
    let v = offset;
    if (v > this.nextOffset) v = this.nextOffset;
    if (v < this.startOffset) v = this.startOffset;
    this.setHighWatermark(v);
    return v;
  }

  /** Moves the high watermark; ended transactions whose markers it passes stop holding the LSO back. */
  private setHighWatermark(v: bigint): void {
    this.hw = v;
    this.producers.onHighWatermark(v);
  }

  updateConfig(config: Partial<LogConfig>): void {
    this.cfg = normalizeLogConfig(config);
    const was = this.groupCommit;
    this.groupCommit = isGroupCommit(this.cfg);
    if (was && !this.groupCommit && this.waiters.length > 0) this.kickSync();
  }

  // ---------------------------------------------------------------------------------------------
  // Ordered phase

  /**
   * append() for callers that handle the producer state's refusals as data (the broker): returns
   * an AppendRejection instead of throwing. The same contract: `buf` is not modified afterwards.
   */
  tryAppend(buf: Buffer, batches: readonly BatchSpan[], opts: AppendOptions): AppendResult | AppendRejection {
    return this.appendInternal(buf, batches, opts);
  }

  /**
   * Appends already-validated batches lying in `buf`: checks them against the producer state
   * (headers only), assigns offsets from the log end offset by rewriting each header in place,
   * stamps the leader epoch (and LogAppendTime when configured), and writes the bytes with one
   * positional write per contiguous run (one for a normal produce request). Rolls first when the
   * segment is full, too old, or its index is full. Synchronous. A duplicate of one of a
   * producer's last batches returns the original's offsets (`duplicate`) and writes nothing; a
   * refusal throws AppendRejectedError (tryAppend returns it instead). The log keeps references
   * to the appended bytes (its in-memory tail, tail-cache.ts): do not modify `buf` afterwards.
   */
  append(buf: Buffer, batches: readonly BatchSpan[], opts: AppendOptions): AppendResult {
    const r = this.appendInternal(buf, batches, opts);
    if ('error' in r) throw new AppendRejectedError(r);
    return r;
  }

  private appendInternal(buf: Buffer, batches: readonly BatchSpan[], opts: AppendOptions): AppendResult | AppendRejection {
    this.checkWritable();
    if (batches.length === 0) throw new StorageError('append called without batches');
    let total = 0;
    let offsetCount = 0n;
    let maxTs = -1n;
    let records = 0;
    for (const b of batches) {
      total += b.size;
      offsetCount += BigInt(b.header.lastOffsetDelta) + 1n;
      if (b.header.maxTimestamp > maxTs) maxTs = b.header.maxTimestamp;
      records += b.header.recordsCount;
    }
    if (total > this.cfg.segmentBytes) {
      throw new RecordBatchTooLargeError(
        `${total} bytes of batches exceed segment.bytes ${this.cfg.segmentBytes} of ${this.topic}-${this.partition}`,
      );
    }
    const logAppendTime = this.cfg.messageTimestampType === 'LogAppendTime' ? BigInt(opts.now) : -1n;
    const firstOffset = this.nextOffset;
    const lastOffset = firstOffset + offsetCount - 1n;
    const analysis = this.analyzeProducers(buf, batches, opts, logAppendTime);
    if (analysis.kind === 'error') return { error: analysis.error, message: analysis.message, batchIndex: analysis.batchIndex };
    if (analysis.kind === 'duplicate') {
      this.counters.duplicates++;
      const d = analysis.batch;
      return { firstOffset: firstOffsetOf(d), lastOffset: d.lastOffset, logAppendTime: d.timestamp, logStartOffset: this.startOffset, duplicate: true };
    }
    this.maybeRoll(total, lastOffset, logAppendTime >= 0n ? logAppendTime : maxTs, opts.now);

    const seg = this.active;
    const startPos = seg.sizeBytes;
    let next = firstOffset;
    for (const b of batches) {
      setBaseOffset(buf, b.pos, next);
      setPartitionLeaderEpoch(buf, b.pos, opts.leaderEpoch);
      if (logAppendTime >= 0n) setLogAppendTime(buf, b.pos, b.size, logAppendTime);
      next += BigInt(b.header.lastOffsetDelta) + 1n;
    }
    const runs = contiguousRuns(buf, batches);
    this.writeRuns(seg, runs, startPos);

    // Bookkeeping only after the bytes are in the file: a failed write changes nothing.
    const interval = this.cfg.indexIntervalBytes;
    let pos = startPos;
    next = firstOffset;
    for (const b of batches) {
      const last = next + BigInt(b.header.lastOffsetDelta);
      seg.indexBatch(last, pos, b.size, logAppendTime >= 0n ? logAppendTime : b.header.maxTimestamp, interval);
      pos += b.size;
      next = last + 1n;
    }
    seg.sizeBytes = pos;
    this.tail.append(firstOffset, next, runs, total);
    seg.unsyncedBytes += total;
    seg.lastModifiedMs = opts.now;
    this.nextOffset = next;
    this.counters.appends++;
    if (analysis.staged.length > 0) this.producers.apply(analysis, (t) => this.recordAbort(seg, t));
    if (this.epochs.assign(opts.leaderEpoch, firstOffset)) this.persistEpochs();
    this.recordsSinceSync += records;
    if (this.hwPolicy === 'log-end') this.setHighWatermark(next);
    // flush.messages=1 syncs every append: at once when an acks=all waiter asks (waitForDurable),
    // else within unwaitedSyncDelayMs, group-committed with whatever else arrives meanwhile.
    if (this.groupCommit) this.scheduleUnwaitedSync();
    else if (this.recordsSinceSync >= this.cfg.flushMessages) this.kickSync();
    return { firstOffset, lastOffset, logAppendTime, logStartOffset: this.startOffset, duplicate: false };
  }

  /**
   * The producer-state check of an append, from the batch headers (a control batch's one record
   * is decoded for its marker): offsets as the append will assign them, max timestamps as stored.
   */
  private analyzeProducers(buf: Buffer, batches: readonly BatchSpan[], opts: AppendOptions, logAppendTime: bigint): AnalyzeResult {
    let pbs: ProducerBatch[] | null = null;
    let next = this.nextOffset;
    for (let i = 0; i < batches.length; i++) {
      const b = batches[i]!;
      const h = b.header;
      if (h.producerId >= 0n) {
        pbs ??= [];
        const pb: ProducerBatch = {
          producerId: h.producerId,
          producerEpoch: h.producerEpoch,
          baseSequence: h.baseSequence,
          lastOffsetDelta: h.lastOffsetDelta,
          firstOffset: next,
          maxTimestamp: logAppendTime >= 0n ? logAppendTime : h.maxTimestamp,
          isTransactional: (h.attributes & TRANSACTIONAL_FLAG_MASK) !== 0,
        };
        if ((h.attributes & CONTROL_FLAG_MASK) !== 0) pb.marker = readMarker(buf, b.pos);
        pbs.push(pb);
      }
      next += BigInt(h.lastOffsetDelta) + 1n;
    }
    return this.producers.analyze(pbs ?? [], opts.origin ?? 'client', opts.transactionVersion ?? 0);
  }

  /** An ABORT marker was appended to `seg`: read_committed fetches must list the transaction. */
  private recordAbort(seg: Segment, t: AbortedTxn): void {
    assert(seg.txnIndex !== null, 'the active segment has no transaction index loaded');
    seg.txnIndex.append(t);
    seg.txnIndexDirty = true;
  }

  private checkWritable(): void {
    if (this.offlineError) throw this.offlineError;
    if (this.closed) throw new LogClosedError(`log ${this.topic}-${this.partition} is closed`);
    if (this.truncating) throw new StorageError(`log ${this.topic}-${this.partition} is being truncated`);
  }

  /** One positional write per run (contiguousRuns); on failure the file is cut back to `startPos`. */
  private writeRuns(seg: Segment, runs: readonly Buffer[], startPos: number): void {
    const fd = seg.fd;
    assert(fd !== null && seg.fdWritable, 'active segment has no writable fd');
    let filePos = startPos;
    try {
      for (const run of runs) {
        writeFullySync(this.fs, fd, run, filePos);
        filePos += run.length;
      }
    } catch (err) {
      // Nothing of this append may ever be served or survive: cut the file back. If even that
      // fails the file's tail is unknown and the log goes offline.
      try {
        this.fs.ftruncateSync(fd, startPos);
      } catch (err2) {
        this.goOffline(new LogOfflineError('write failed and the partial write could not be removed', seg.logPath, { cause: err2 }));
      }
      throw new StorageError(`write of ${filePos - startPos}+ bytes failed`, seg.logPath, { cause: err });
    }
  }

  private maybeRoll(incomingBytes: number, lastOffsetAfter: bigint, incomingMaxTs: bigint, now: number): void {
    const seg = this.active;
    if (seg.sizeBytes === 0) return;
    const cfg = this.cfg;
    let reason: string | null = null;
    if (seg.sizeBytes > cfg.segmentBytes - incomingBytes) reason = 'segment.bytes';
    else if (seg.offsetIndex!.isFull || seg.timeIndex!.isFull) reason = 'segment.index.bytes';
    else if (lastOffsetAfter - seg.baseOffset > BigInt(relativeOffsetMax)) reason = 'relative offset overflow';
    else {
      const base = seg.rollingBaseTimestamp ?? -1n;
      const waited = base >= 0n && incomingMaxTs >= 0n ? Number(incomingMaxTs - base) : now - seg.createdMs;
      if (waited > cfg.segmentMs - this.rollJitterMs(seg)) reason = 'segment.ms';
    }
    if (reason) this.roll(now, reason);
  }

  /** A deterministic jitter in [0, segment.jitter.ms) per segment, so partitions do not roll in lockstep. */
  private rollJitterMs(seg: Segment): number {
    const j = this.cfg.segmentJitterMs;
    if (j <= 0) return 0;
    let h = 2166136261;
    const key = `${this.topic}/${this.partition}/${seg.baseOffset}`;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619) >>> 0;
    return h % Math.min(j, this.cfg.segmentMs);
  }

  /** Starts a new active segment at the log end offset; the old one is finalized by the sync loop. */
  private roll(now: number, reason: string): void {
    const old = this.active;
    old.sealTimeIndex();
    const seg = new Segment(this.dir, this.nextOffset, 0, now);
    let fd: number;
    try {
      fd = this.fs.openSync(seg.logPath, 'wx+');
    } catch (err) {
      throw new StorageError('cannot create segment', seg.logPath, { cause: err });
    }
    seg.resetIndexes(this.cfg.segmentIndexBytes);
    this.resources.pin(seg);
    this.resources.adoptFd(seg, fd, true);
    this.segments = [...this.segments, seg];
    this.pendingFinalize.push(old);
    // Kafka snapshots the producer state at every roll: a restart replays from the newest segment.
    this.pendingSnapshots.push({ offset: seg.baseOffset, data: this.producers.encodeSnapshot() });
    this.snapshotEnd = seg.baseOffset;
    this.dirDirty = true;
    this.counters.rolls++;
    this.logger.debug('rolled segment', { log: this.ctx.name, baseOffset: seg.baseOffset, reason });
    this.kickSync();
  }

  // ---------------------------------------------------------------------------------------------
  // Durable phase

  /**
   * Resolves once `lastOffset` is durable per the topic's flush policy: under group commit after
   * an fdatasync that covers it; with a relaxed policy (flush.messages > 1) right away.
   */
  waitForDurable(lastOffset: bigint): Promise<void> {
    if (this.offlineError) return Promise.reject(this.offlineError);
    if (lastOffset < this.durable) return Promise.resolve();
    if (lastOffset >= this.nextOffset) {
      return Promise.reject(new LogTruncatedError(`offset ${lastOffset} is not in ${this.topic}-${this.partition} (log end ${this.nextOffset})`));
    }
    if (this.closed) return Promise.reject(new LogClosedError(`log ${this.topic}-${this.partition} is closed`));
    if (!this.groupCommit) return Promise.resolve();
    return this.enqueueWaiter(lastOffset);
  }

  private enqueueWaiter(offset: bigint): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ offset, resolve, reject });
      this.kickSync();
    });
  }

  /** Everything appended so far (and the leader-epoch checkpoint) is on disk when this resolves, whatever the flush policy. */
  async flush(): Promise<void> {
    if (this.offlineError) throw this.offlineError;
    if (this.nextOffset > this.durable) await this.enqueueWaiter(this.nextOffset - 1n);
    if (this.pendingFinalize.length > 0 || this.pendingSnapshots.length > 0 || this.syncRunning) {
      this.kickSync();
      await this.syncIdle();
    }
    await this.epochWrites;
    if (this.offlineError) throw this.offlineError;
  }

  /** Called by the LogManager's flush.ms timer. */
  flushIfDue(now: number): void {
    if (this.groupCommit || this.closed || this.offlineError) return;
    if (this.nextOffset > this.durable && now - this.lastSyncMs >= this.cfg.flushMs) this.kickSync();
  }

  private scheduleUnwaitedSync(): void {
    if (this.unwaitedSyncArmed || this.syncRunning) {
      // A running sync loops again for waiters only; unwaited data gets the timer after it.
      if (this.syncRunning) this.unwaitedAfterSync = true;
      return;
    }
    this.unwaitedSyncArmed = true;
    this.scheduler.schedule(unwaitedSyncDelayMs, () => {
      this.unwaitedSyncArmed = false;
      if (this.nextOffset > this.durable) this.kickSync();
    });
  }

  private kickSync(): void {
    if (this.offlineError || this.closedForIo) return;
    if (this.syncRunning) {
      this.syncAgain = true;
      return;
    }
    this.syncRunning = true;
    void this.syncLoop();
  }

  private closedForIo = false;

  private syncIdle(): Promise<void> {
    if (!this.syncRunning) return Promise.resolve();
    return new Promise((r) => this.syncIdleWaiters.push(r));
  }

  private async syncLoop(): Promise<void> {
    try {
      do {
        this.syncAgain = false;
        await this.syncOnce();
      } while (!this.offlineError && (this.syncAgain || this.waiters.length > 0 || this.pendingFinalize.length > 0 || this.pendingSnapshots.length > 0));
    } catch (err) {
      this.goOffline(err instanceof LogOfflineError ? err : new LogOfflineError('fdatasync failed', this.active.logPath, { cause: err }));
    } finally {
      this.syncRunning = false;
      for (const r of this.syncIdleWaiters.splice(0)) r();
      if (this.unwaitedAfterSync) {
        this.unwaitedAfterSync = false;
        if (this.nextOffset > this.durable) this.scheduleUnwaitedSync();
      }
    }
  }

  /**
   * One group commit: finalize rolled segments (indexes written, log synced), fdatasync the active
   * segment, fsync the directory when files were created or renamed. Every waiter whose offset is
   * below the log end offset captured at the start is then released.
   */
  private async syncOnce(): Promise<void> {
    const target = this.nextOffset;
    const records = this.recordsSinceSync;
    const finalize = this.pendingFinalize.splice(0);
    const active = this.active;
    let dirty = this.dirDirty;
    this.dirDirty = false;
    for (const seg of finalize) {
      if (!seg.retired) {
        await writeSegmentIndexes(this.fs, seg);
        dirty = true;
        if (seg.unsyncedBytes > 0 && seg.fd !== null) {
          seg.unsyncedBytes = 0;
          await this.fs.fdatasync(seg.fd);
        }
      }
      this.resources.unpin(seg);
    }
    for (const snap of this.pendingSnapshots.splice(0)) {
      await this.writeSnapshot(snap.offset, snap.data);
      dirty = true;
    }
    if (active.unsyncedBytes > 0 && active.fd !== null && !active.retired) {
      active.unsyncedBytes = 0;
      await this.fs.fdatasync(active.fd);
      this.counters.syncs++;
    }
    if (dirty) await this.fs.fsyncDir(this.dir);
    if (this.offlineError) return;
    // A truncation during this sync lowers the log end: never claim more than what is there.
    const reached = target < this.nextOffset ? target : this.nextOffset;
    const moved = reached > this.durable;
    if (moved) this.durable = reached;
    if (this.pendingFinalize.length === 0 && this.pendingSnapshots.length === 0 && this.durable > this.rp) this.rp = this.durable;
    this.recordsSinceSync = Math.max(0, this.recordsSinceSync - records);
    this.lastSyncMs = this.clock.now();
    if (this.waiters.length > 0) {
      const still: Waiter[] = [];
      for (const w of this.waiters) {
        if (w.offset < this.durable) w.resolve();
        else still.push(w);
      }
      this.waiters = still;
    }
    if (moved && this.hwPolicy === 'durable' && this.durable > this.hw) this.setHighWatermark(this.durable);
    if (moved) this.onDurable?.(this, this.durable);
  }

  /** Writes a producer state snapshot file (atomic; the caller fsyncs the directory). */
  private async writeSnapshot(offset: bigint, data: Buffer): Promise<void> {
    await replaceFile(this.fs, snapshotPath(this.dir, offset), data);
    this.counters.producerSnapshots++;
    if (!this.snapshotOffsets.includes(offset)) {
      this.snapshotOffsets.push(offset);
      this.snapshotOffsets.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    }
  }

  /** Deletes snapshot files below `offset` (their segments are gone) or above it (`above`: truncated away). */
  private async deleteSnapshots(pred: (offset: bigint) => boolean): Promise<void> {
    const gone = this.snapshotOffsets.filter(pred);
    if (gone.length === 0) return;
    this.snapshotOffsets = this.snapshotOffsets.filter((o) => !pred(o));
    for (const o of gone) await this.fs.unlink(snapshotPath(this.dir, o));
  }

  private goOffline(err: LogOfflineError): void {
    if (this.offlineError) return;
    this.offlineError = err;
    this.tail.clear();
    this.stats.offlineLogs++;
    this.logger.error('log is offline after an I/O failure', { log: this.ctx.name, error: err, cause: err.cause });
    for (const w of this.waiters.splice(0)) w.reject(err);
    this.onOffline?.(this, err);
  }

  private epochWrites: Promise<void> = Promise.resolve();

  /** Writes the leader-epoch checkpoint in the background (a leadership change, not every append). */
  private persistEpochs(): void {
    this.epochWrites = this.epochWrites
      .then(() => (this.epochs.dirty && !this.closedForIo ? this.writeEpochCheckpoint() : undefined))
      .catch((err: unknown) => this.goOffline(new LogOfflineError('cannot write the leader epoch checkpoint', `${this.dir}/${LEADER_EPOCH_CHECKPOINT}`, { cause: err })));
  }

  /** Writes the epoch checkpoint now (if changed), ordered after any background write. */
  private async flushEpochs(): Promise<void> {
    this.persistEpochs();
    await this.epochWrites;
    if (this.offlineError) throw this.offlineError;
  }

  private async writeEpochCheckpoint(): Promise<void> {
    this.epochs.dirty = false;
    await writeCheckpoint(this.fs, this.dir, LEADER_EPOCH_CHECKPOINT, formatEpochEntries(this.epochs.snapshot()));
  }

  // ---------------------------------------------------------------------------------------------
  // Reads

  /**
   * Whole batches from the one containing startOffset, up to maxBytes (or the first batch whole
   * when minOneBatch), never past maxOffset nor past what was written when the read started.
   */
  async read(startOffset: bigint, maxBytes: number, opts: ReadOptions): Promise<ReadResult> {
    return this.readNow(startOffset, maxBytes, opts);
  }

  /**
   * read(), answered without waiting when it can be: from the in-memory tail (a consumer at the log
   * end) and with no aborted transactions asked for; otherwise the promise of what read() returns.
   * A log that cannot be read (offline, closed) throws at once.
   */
  readNow(startOffset: bigint, maxBytes: number, opts: ReadOptions): ReadResult | Promise<ReadResult> {
    const cached = this.tailRead(startOffset, maxBytes, opts);
    if (cached === null) return this.readFiles(startOffset, maxBytes, opts);
    return opts.abortedTransactions ? this.withAbortedTransactions(startOffset, maxBytes, opts, cached) : cached;
  }

  private async readFiles(startOffset: bigint, maxBytes: number, opts: ReadOptions): Promise<ReadResult> {
    for (let attempt = 0; ; attempt++) {
      const truncations = this.truncations;
      const result = await this.readOnce(startOffset, maxBytes, opts);
      if (this.truncations === truncations) return result;
      if (attempt >= readRetriesMax) throw new StorageError(`read of ${this.ctx.name} kept racing with truncation`);
    }
  }

  private checkReadable(): void {
    if (this.offlineError) throw this.offlineError;
    if (this.closed) throw new LogClosedError(`log ${this.topic}-${this.partition} is closed`);
  }

  /** Adds the aborted transactions to a tail read; reads the files instead if a truncation raced. */
  private async withAbortedTransactions(startOffset: bigint, maxBytes: number, opts: ReadOptions, result: ReadResult): Promise<ReadResult> {
    const truncations = this.truncations;
    result.abortedTransactions = result.bytes > 0 ? await this.collectAbortedTransactions(this.segments, startOffset, result.nextOffset) : [];
    return this.truncations === truncations ? result : this.readFiles(startOffset, maxBytes, opts);
  }

  /** The in-memory tail's answer without aborted transactions; null when it has none. */
  private tailRead(startOffset: bigint, maxBytes: number, opts: ReadOptions): ReadResult | null {
    this.checkReadable();
    const lso = this.startOffset;
    const leo = this.nextOffset;
    if (startOffset < lso || startOffset >= leo) return null; // readOnce answers out of range and empty reads
    const upper = opts.maxOffset !== undefined && opts.maxOffset < leo ? opts.maxOffset : leo;
    if (startOffset >= upper) return null;
    const t = this.tail.read(startOffset, maxBytes, upper, opts.minOneBatch);
    if (t === null) return null;
    return { chunks: t.chunks, bytes: t.bytes, nextOffset: t.nextOffset, logStartOffset: lso, logEndOffset: leo, highWatermark: this.hw };
  }

  private async readOnce(startOffset: bigint, maxBytes: number, opts: ReadOptions): Promise<ReadResult> {
    this.checkReadable();
    const lso = this.startOffset;
    const leo = this.nextOffset;
    const result: ReadResult = {
      chunks: EMPTY,
      bytes: 0,
      nextOffset: startOffset,
      logStartOffset: lso,
      logEndOffset: leo,
      highWatermark: this.hw,
    };
    if (startOffset < lso || startOffset > leo) throw new OffsetOutOfRangeError(startOffset, lso, leo);
    if (opts.abortedTransactions) result.abortedTransactions = [];
    const upper = opts.maxOffset !== undefined && opts.maxOffset < leo ? opts.maxOffset : leo;
    if (startOffset >= upper) return result;
    const segs = this.segments;
    const active = segs[segs.length - 1]!;
    const activeEnd = active.sizeBytes;
    const chunks: Buffer[] = [];
    let bytes = 0;
    let next = startOffset;
    let i = this.floorSegmentIndex(segs, startOffset);
    let first = true;
    while (i < segs.length && next < upper) {
      const seg = segs[i]!;
      const end = seg === active ? activeEnd : seg.sizeBytes;
      let fd: number;
      try {
        fd = await this.resources.acquire(seg);
      } catch (err) {
        // Retention or compaction removed the segment (and its file) before this read reached it:
        // what was read so far is still valid; with nothing read the start is now out of range.
        if (!seg.retired) throw err;
        if (chunks.length > 0) break;
        throw new OffsetOutOfRangeError(startOffset, this.startOffset, this.nextOffset);
      }
      try {
        let pos = 0;
        let firstSize = 0;
        if (first) {
          const target = next;
          const startPos = await this.indexPosition(seg, segs, i, target);
          const found = await findBatch(this.fs, fd, seg.logPath, startPos, end, (h) => h.baseOffset + BigInt(h.lastOffsetDelta) >= target);
          first = false;
          if (!found) {
            i++;
            continue;
          }
          pos = found.position;
          firstSize = found.size;
        } else if (end > 0) {
          const b = Buffer.allocUnsafe(BATCH_HEADER_BYTES);
          await readFully(this.fs, fd, b, 0, BATCH_HEADER_BYTES, 0);
          firstSize = LOG_OVERHEAD + b.readInt32BE(BATCH_LENGTH_OFFSET);
        }
        if (pos >= end) {
          i++;
          continue;
        }
        const room = maxBytes - bytes;
        let len: number;
        if (firstSize > room) {
          if (!(opts.minOneBatch && bytes === 0)) break;
          len = firstSize;
        } else len = Math.min(room, end - pos);
        const buf = opts.buffers ? opts.buffers.alloc(len) : Buffer.allocUnsafe(len);
        const n = await readFully(this.fs, fd, buf, 0, len, pos);
        const cut = wholeBatches(buf, n, upper);
        if (cut.bytes > 0) {
          chunks.push(buf.subarray(0, cut.bytes));
          bytes += cut.bytes;
          next = cut.nextOffset;
        }
        if (cut.bytes === 0 || pos + cut.bytes < end || cut.stoppedAtUpper) break;
      } finally {
        this.resources.release(seg);
      }
      i++;
    }
    result.chunks = chunks;
    result.bytes = bytes;
    result.nextOffset = next;
    if (opts.abortedTransactions && bytes > 0) result.abortedTransactions = await this.collectAbortedTransactions(segs, startOffset, next);
    return result;
  }

  /**
   * Kafka's collectAbortedTransactions: the aborted transactions overlapping [startOffset,
   * upperBoundOffset), from the transaction indexes of the segment holding startOffset onwards,
   * until an entry shows that no later one can overlap.
   */
  private async collectAbortedTransactions(segs: readonly Segment[], startOffset: bigint, upperBoundOffset: bigint): Promise<AbortedTxn[]> {
    const out: AbortedTxn[] = [];
    for (let i = this.floorSegmentIndex(segs, startOffset); i < segs.length; i++) {
      const seg = segs[i]!;
      const idx = seg.txnIndex ?? (await loadTxnIndex(this.ctx, seg));
      if (idx.collect(startOffset, upperBoundOffset, out)) break;
    }
    return out;
  }

  /** Index of the last segment whose base offset <= offset (0 when offset is below them all). */
  private floorSegmentIndex(segs: readonly Segment[], offset: bigint): number {
    let lo = 0;
    let hi = segs.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (segs[mid]!.baseOffset <= offset) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** File position to start a header walk for `target`: from the (possibly lazily loaded) offset index. */
  private async indexPosition(seg: Segment, segs: readonly Segment[], i: number, target: bigint): Promise<number> {
    if (!seg.offsetIndex) await loadSegmentIndexes(this.ctx, seg, segs[i + 1]?.baseOffset ?? null);
    else this.resources.touchIndexes(seg);
    return seg.offsetIndex ? seg.offsetIndex.lookup(target).position : 0;
  }

  // ---------------------------------------------------------------------------------------------
  // Offsets by time

  /**
   * The first record whose timestamp >= ts (Kafka's ListOffsets by timestamp): the first segment
   * whose largest timestamp reaches ts, its time index, its offset index, a header walk on
   * maxTimestamp, then the one batch found is decoded for the exact record.
   */
  async offsetForTimestamp(ts: bigint): Promise<TimestampAndOffset | null> {
    this.checkReadable();
    const segs = this.segments;
    const lso = this.startOffset;
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i]!;
      if (seg.maxTimestamp < ts || seg.sizeBytes === 0) continue;
      if (!seg.timeIndex || !seg.offsetIndex) await loadSegmentIndexes(this.ctx, seg, segs[i + 1]?.baseOffset ?? null);
      const fromOffset = seg.timeIndex ? seg.timeIndex.lookup(ts).offset : seg.baseOffset;
      const startAt = fromOffset > lso ? fromOffset : lso;
      const startPos = seg.offsetIndex ? seg.offsetIndex.lookup(startAt).position : 0;
      const end = seg.sizeBytes;
      const fd = await this.resources.acquire(seg);
      try {
        let pos = startPos;
        while (pos < end) {
          const found = await findBatch(this.fs, fd, seg.logPath, pos, end, (h) => h.maxTimestamp >= ts && h.baseOffset + BigInt(h.lastOffsetDelta) >= lso);
          if (!found) break;
          const hit = await this.exactRecord(fd, seg, found.position, found.size, (t, o) => t >= ts && o >= lso);
          if (hit) return hit;
          pos = found.position + found.size;
        }
      } finally {
        this.resources.release(seg);
      }
    }
    return null;
  }

  /** The record with the largest timestamp (the first such record when several share it). */
  async offsetOfMaxTimestamp(): Promise<TimestampAndOffset | null> {
    this.checkReadable();
    const segs = this.segments;
    let best: Segment | null = null;
    let bestIndex = -1;
    for (let i = 0; i < segs.length; i++) {
      const s = segs[i]!;
      if (s.maxTimestamp >= 0n && (!best || s.maxTimestamp > best.maxTimestamp)) {
        best = s;
        bestIndex = i;
      }
    }
    if (!best) return null;
    const seg = best;
    const maxTs = seg.maxTimestamp;
    const shallow = seg.offsetOfMaxTimestamp;
    const startPos = await this.indexPosition(seg, segs, bestIndex, shallow);
    const fd = await this.resources.acquire(seg);
    try {
      const found = await findBatch(this.fs, fd, seg.logPath, startPos, seg.sizeBytes, (h) => h.maxTimestamp === maxTs);
      if (!found) return null;
      return await this.exactRecord(fd, seg, found.position, found.size, (t) => t === maxTs);
    } finally {
      this.resources.release(seg);
    }
  }

  /** Decodes one batch and returns its first record matching `pred(timestamp, offset)`. */
  private async exactRecord(
    fd: number,
    seg: Segment,
    position: number,
    size: number,
    pred: (timestamp: bigint, offset: bigint) => boolean,
  ): Promise<TimestampAndOffset | null> {
    const buf = Buffer.allocUnsafe(size);
    const n = await readFully(this.fs, fd, buf, 0, size, position);
    if (n < size) throw new StorageError(`short read of a batch at ${position}`, seg.logPath);
    const { header, records } = decodeBatch(buf, 0);
    const logAppend = (header.attributes & TIMESTAMP_TYPE_MASK) !== 0;
    for (const r of records) {
      const t = logAppend ? header.maxTimestamp : r.timestamp;
      if (pred(t, r.offset)) return { offset: r.offset, timestamp: t, leaderEpoch: header.partitionLeaderEpoch };
    }
    return null;
  }

  // ---------------------------------------------------------------------------------------------
  // Leader epochs

  /** Kafka's OffsetForLeaderEpoch for this log. */
  endOffsetForEpoch(epoch: number): { leaderEpoch: number; endOffset: bigint } {
    return this.epochs.endOffsetFor(epoch, this.nextOffset);
  }

  /** Entries of the leader-epoch cache (tests, tools). */
  epochEntries(): Array<{ epoch: number; startOffset: bigint }> {
    return this.epochs.snapshot();
  }

  // ---------------------------------------------------------------------------------------------
  // Deleting data

  /**
   * DeleteRecords: moves the log start offset to `offset` (checkpointed through
   * onLogStartOffsetChanged) and deletes the segments wholly below it. An offset above the high
   * watermark is an OffsetOutOfRangeError.
   */
  async deleteRecordsBefore(offset: bigint): Promise<{ logStartOffset: bigint }> {
    this.checkReadable();
    if (offset > this.hw || offset < 0n) throw new OffsetOutOfRangeError(offset, this.startOffset, this.hw, 'delete-records offset');
    if (offset > this.startOffset) {
      this.startOffset = offset;
      this.epochs.truncateFromStart(offset);
      await this.onLogStartOffsetChanged?.(this);
      await this.lock.run(() => this.deleteSegmentsPrefix({ count: this.countBelowStart(), reason: 'log-start-offset' }));
    }
    return { logStartOffset: this.startOffset };
  }

  private countBelowStart(): number {
    const segs = this.segments;
    let n = 0;
    while (n < segs.length - 1 && segs[n + 1]!.baseOffset <= this.startOffset) n++;
    return n;
  }

  /**
   * Retention for cleanup.policy=delete (and segments below the log start offset for any policy).
   * Returns the number of segments deleted.
   */
  async runRetention(now: number): Promise<number> {
    if (this.closed || this.offlineError) return 0;
    return this.lock.run(async () => {
      await this.verifyExpiredCandidates(now);
      const decision = retentionDecision({
        segments: this.retentionView(),
        deletePolicy: this.cfg.cleanupPolicy.delete,
        retentionMs: this.cfg.retentionMs,
        retentionBytes: this.cfg.retentionBytes,
        nowMs: now,
        logStartOffset: this.startOffset,
        highWatermark: this.hw,
      });
      if (decision.count === 0) return 0;
      if (decision.count >= this.segments.length) {
        // Kafka rolls an expired active segment so that it can be deleted.
        if (this.truncating) return 0;
        this.roll(now, `retention (${decision.reason})`);
        await this.flush();
      }
      return this.deleteSegmentsPrefix(decision);
    });
  }

  /**
   * Segments about to be deleted by time are judged by their largest timestamp, which a clean start
   * took from the last time-index entry after only a cheap check: fully check (and if need be
   * rebuild) those indexes first, so a damaged index can never make retention delete live data.
   */
  private async verifyExpiredCandidates(now: number): Promise<void> {
    const cfg = this.cfg;
    if (!cfg.cleanupPolicy.delete || cfg.retentionMs < 0) return;
    const segs = this.segments;
    for (let i = 0; i < segs.length - 1; i++) {
      const s = segs[i]!;
      if (now - s.largestTimestampMs <= cfg.retentionMs) break;
      await verifyMaxTimestamp(this.ctx, s, segs[i + 1]!.baseOffset);
    }
  }

  private retentionView(): Array<{ baseOffset: bigint; sizeBytes: number; largestTimestampMs: number; endOffset: bigint }> {
    const segs = this.segments;
    return segs.map((s, i) => ({
      baseOffset: s.baseOffset,
      sizeBytes: s.sizeBytes,
      largestTimestampMs: s.largestTimestampMs,
      endOffset: segs[i + 1]?.baseOffset ?? this.nextOffset,
    }));
  }

  /** Deletes the oldest `count` segments (never the active one, never one still being finalized). Under the lock. */
  private async deleteSegmentsPrefix(decision: RetentionDecision): Promise<number> {
    const segs = this.segments;
    let n = Math.min(decision.count, segs.length - 1);
    for (let i = 0; i < n; i++) {
      if (segs[i]!.pinned) {
        n = i;
        break;
      }
    }
    if (n <= 0) return 0;
    const victims = segs.slice(0, n);
    this.segments = segs.slice(n);
    const newStart = this.segments[0]!.baseOffset;
    const moved = newStart > this.startOffset;
    if (moved) {
      this.startOffset = newStart;
      this.epochs.truncateFromStart(newStart);
    }
    if (this.hw < this.startOffset) this.hw = this.startOffset;
    if (this.firstDirtyOffset !== null && this.firstDirtyOffset < this.startOffset) this.firstDirtyOffset = this.startOffset;
    this.counters.segmentsDeleted += n;
    this.logger.info('deleting segments', {
      log: this.ctx.name,
      reason: decision.reason,
      count: n,
      newLogStartOffset: this.startOffset,
    });
    if (moved) await this.onLogStartOffsetChanged?.(this);
    await this.retireSegmentFiles(victims);
    // A snapshot serves only as a start for replaying the segments after it: those below the
    // first segment have none left. The producers' state itself stays until they expire (Kafka).
    const first = this.segments[0]!.baseOffset;
    await this.deleteSnapshots((o) => o < first);
    return n;
  }

  /**
   * Takes segments out of service: their fds close once no read uses them, their files are
   * renamed `*.deleted` now and unlinked after file.delete.delay.ms (startup deletes leftovers).
   */
  private async retireSegmentFiles(victims: readonly Segment[]): Promise<void> {
    const renamed: string[] = [];
    for (const seg of victims) {
      this.resources.retire(seg);
      for (const key of ['logPath', 'indexPath', 'timeIndexPath', 'txnIndexPath'] as const) {
        const from = seg[key];
        const to = from + DELETED_SUFFIX;
        try {
          await this.fs.rename(from, to);
          seg[key] = to;
          renamed.push(to);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new StorageError('cannot rename segment file for deletion', from, { cause: err });
        }
      }
    }
    await this.fs.fsyncDir(this.dir);
    const unlinkAll = (): void => {
      for (const f of renamed) this.fs.unlink(f).catch((err: unknown) => this.logger.warn('cannot delete file', { file: f, error: err }));
    };
    if (this.cfg.fileDeleteDelayMs <= 0) unlinkAll();
    else this.scheduler.schedule(this.cfg.fileDeleteDelayMs, unlinkAll);
  }

  /**
   * Removes every record at or after `offset` (replication: the follower diverged). A batch that
   * straddles `offset` is removed whole; the new log end offset is the offset after the last batch
   * kept (offset itself unless a batch straddled it), and at least the log start offset.
   * Appends fail while this runs; reads that raced with it are retried.
   */
  async truncateTo(offset: bigint): Promise<void> {
    this.checkWritable();
    await this.lock.run(async () => {
      if (offset >= this.nextOffset) return;
      if (offset < this.startOffset) return this.truncateFullyAndStartAtLocked(offset);
      this.truncating = true;
      try {
        await this.syncIdle();
        const segs = this.segments;
        const i = this.floorSegmentIndex(segs, offset);
        const seg = segs[i]!;
        const nextBase = segs[i + 1]?.baseOffset ?? null;
        // It becomes the active segment: pinned first, so the cache cannot drop its indexes meanwhile.
        this.resources.pin(seg);
        if (!seg.offsetIndex || !seg.timeIndex) await loadSegmentIndexes(this.ctx, seg, nextBase);
        const fd = await this.resources.acquire(seg);
        let cutPos: number;
        let newEnd: bigint;
        try {
          // Start before the batch holding offset - 1 so the walk sees the last batch that stays.
          const startPos = seg.offsetIndex ? seg.offsetIndex.lookup(offset - 1n).position : 0;
          let keptEnd = seg.baseOffset;
          const found = await findBatch(this.fs, fd, seg.logPath, startPos, seg.sizeBytes, (h) => {
            const last = h.baseOffset + BigInt(h.lastOffsetDelta);
            if (last >= offset) return true;
            keptEnd = last + 1n;
            return false;
          });
          cutPos = found ? found.position : seg.sizeBytes;
          // The new end is right after the last batch kept, exactly what a restart would find in
          // the file, but never below the log start offset (offsets there were handed out).
          newEnd = keptEnd > this.startOffset ? keptEnd : this.startOffset;
        } finally {
          this.resources.release(seg);
        }
        const removed = segs.slice(i + 1);
        const wasActive = seg === this.active;
        const txnIndex = await loadTxnIndex(this.ctx, seg);
        // Synchronous switch: from here on nothing reads or appends past the cut.
        if (!wasActive) {
          const wfd = this.fs.openSync(seg.logPath, 'r+');
          this.resources.replaceFd(seg, wfd, true);
          const pendingIdx = this.pendingFinalize.indexOf(seg);
          if (pendingIdx >= 0) this.pendingFinalize.splice(pendingIdx, 1);
        }
        this.fs.ftruncateSync(seg.fd!, cutPos);
        seg.sizeBytes = cutPos;
        seg.offsetIndex?.truncate(newEnd, cutPos);
        seg.timeIndex?.truncate(newEnd);
        seg.indexesDirty = true;
        // Transactions whose marker went are open again (the reloaded producer state says so too).
        if (txnIndex.truncate(newEnd)) seg.txnIndexDirty = true;
        seg.unsyncedBytes = 1; // the new size must reach the disk
        this.segments = segs.slice(0, i + 1);
        this.pendingFinalize = this.pendingFinalize.filter((s) => !removed.includes(s));
        this.nextOffset = newEnd;
        if (this.hw > newEnd) this.hw = newEnd;
        if (this.rp > newEnd) this.rp = newEnd;
        if (this.durable > newEnd) this.durable = newEnd;
        if (this.firstDirtyOffset !== null && this.firstDirtyOffset > newEnd) this.firstDirtyOffset = newEnd;
        this.epochs.truncateFromEnd(newEnd);
        this.truncations++;
        this.tail.clear();
        const err = new LogTruncatedError(`${this.ctx.name} was truncated to ${newEnd}`);
        this.waiters = this.waiters.filter((w) => (w.offset >= newEnd ? (w.reject(err), false) : true));
        for (const r of removed) {
          this.resources.retire(r);
          this.resources.unpin(r);
        }
        await this.retireSegmentFiles(removed);
        await this.refreshActiveState(seg);
        await this.fs.fdatasync(seg.fd!);
        seg.unsyncedBytes = 0;
        await this.flushEpochs();
        await this.reloadProducerState(newEnd);
        this.logger.info('truncated log', { log: this.ctx.name, logEndOffset: newEnd });
      } catch (err) {
        if (err instanceof LogOfflineError) throw err;
        const off = new LogOfflineError('truncation failed', this.active.logPath, { cause: err });
        this.goOffline(off);
        throw off;
      } finally {
        this.truncating = false;
      }
    });
  }

  /**
   * Kafka's truncateAndReload: the producer state at `end` from the latest snapshot at or below
   * it (later ones are deleted) and the batch headers after that snapshot.
   */
  private async reloadProducerState(end: bigint): Promise<void> {
    this.snapshotEnd = -1n;
    this.pendingSnapshots = this.pendingSnapshots.filter((s) => s.offset <= end);
    await this.deleteSnapshots((o) => o > end);
    const first = this.segments[0]!.baseOffset;
    const from = (await loadLatestSnapshot(this.ctx, this.dir, this.producers, this.snapshotOffsets, first, end, this.clock.now())) ?? first;
    await replaySegments(this.ctx, this.segments, this.producers, from, end);
  }

  /** Empties the log and restarts it at `offset` (a follower far behind the leader's log start). */
  async truncateFullyAndStartAt(offset: bigint): Promise<void> {
    this.checkWritable();
    await this.lock.run(() => this.truncateFullyAndStartAtLocked(offset));
  }

  private async truncateFullyAndStartAtLocked(offset: bigint): Promise<void> {
    this.truncating = true;
    try {
      await this.syncIdle();
      const old = this.segments;
      for (const s of old) {
        this.resources.retire(s);
        this.resources.unpin(s);
      }
      this.pendingFinalize = [];
      await this.retireSegmentFiles(old);
      const seg = new Segment(this.dir, offset, 0, this.clock.now());
      const fd = await this.fs.open(seg.logPath, 'wx+');
      seg.resetIndexes(this.cfg.segmentIndexBytes);
      this.resources.pin(seg);
      this.resources.adoptFd(seg, fd, true);
      this.segments = [seg];
      this.nextOffset = offset;
      this.startOffset = offset;
      this.hw = offset;
      this.rp = offset;
      this.durable = offset;
      this.firstDirtyOffset = null;
      this.truncations++;
      this.tail.clear();
      this.producers.clear();
      this.pendingSnapshots = [];
      this.snapshotEnd = -1n;
      await this.deleteSnapshots(() => true);
      const err = new LogTruncatedError(`${this.ctx.name} was emptied and restarted at ${offset}`);
      for (const w of this.waiters.splice(0)) w.reject(err);
      this.epochs.truncateFromEnd(0n);
      await this.fs.fsyncDir(this.dir);
      await this.flushEpochs();
      await this.onLogStartOffsetChanged?.(this);
    } finally {
      this.truncating = false;
    }
  }

  /** After a truncation: the active segment's max timestamp, index spacing and first timestamp, from its indexes and a bounded scan. */
  private async refreshActiveState(seg: Segment): Promise<void> {
    const oi = seg.offsetIndex!;
    const ti = seg.timeIndex!;
    const lastTi = ti.lastEntry();
    seg.maxTimestamp = lastTi ? lastTi.timestamp : -1n;
    seg.offsetOfMaxTimestamp = lastTi ? lastTi.offset : -1n;
    const lastOi = oi.lastEntry();
    const from = lastOi ? lastOi.position : 0;
    const fd = seg.fd!;
    await scanFile(this.fs, fd, from, seg.sizeBytes, { verifyCrc: false }, (b) => {
      const h = b.header;
      if (h.maxTimestamp > seg.maxTimestamp) {
        seg.maxTimestamp = h.maxTimestamp;
        seg.offsetOfMaxTimestamp = h.baseOffset + BigInt(h.lastOffsetDelta);
      }
      return undefined;
    });
    seg.bytesSinceLastIndexEntry = seg.sizeBytes - from;
    seg.rollingBaseTimestamp = await readFirstBatchMaxTimestamp(this.fs, fd, seg.sizeBytes, seg.logPath);
  }

  // ---------------------------------------------------------------------------------------------
  // Lifecycle

  /** Flushes, writes the active segment's indexes and the epoch checkpoint, and releases every fd (after in-flight reads). */
  async close(): Promise<void> {
    if (this.closed) return;
    if (!this.offlineError) {
      try {
        await this.flush();
      } catch {
        // offline: nothing more can be made durable
      }
    }
    await this.lock.run(async () => {
      if (this.closed) return;
      this.closed = true;
      if (!this.offlineError) {
        const active = this.active;
        active.sealTimeIndex();
        await this.syncIdle();
        await writeSegmentIndexes(this.fs, active);
        // Kafka snapshots at close so the next start replays nothing (unless one there holds this state).
        if (this.snapshotEnd !== this.nextOffset) await this.writeSnapshot(this.nextOffset, this.producers.encodeSnapshot());
        await this.fs.fsyncDir(this.dir);
        await this.flushEpochs();
        this.rp = this.nextOffset;
      }
      this.closedForIo = true;
      this.tail.clear();
      const err = new LogClosedError(`log ${this.topic}-${this.partition} is closed`);
      for (const w of this.waiters.splice(0)) w.reject(err);
      for (const s of this.segments) {
        this.resources.retire(s);
        this.resources.unpin(s);
      }
    });
  }

  /**
   * Deletes the log: no flush; the directory is renamed `<dir>.<suffix>-delete` (so a crash
   * midway cannot leave a half-deleted live partition) and removed. Reads in flight keep their fds.
   */
  async delete(): Promise<void> {
    await this.lock.run(async () => {
      this.closed = true;
      this.closedForIo = true;
      this.tail.clear();
      const err = new LogClosedError(`log ${this.topic}-${this.partition} was deleted`);
      for (const w of this.waiters.splice(0)) w.reject(err);
      await this.syncIdle();
      for (const s of this.segments) {
        this.resources.retire(s);
        this.resources.unpin(s);
      }
      const slash = this.dir.lastIndexOf('/');
      const parent = slash > 0 ? this.dir.slice(0, slash) : '.';
      const deleted = `${this.dir}.${this.clock.now().toString(16)}${(deleteCounter++).toString(16)}-delete`;
      await this.fs.rename(this.dir, deleted);
      await this.fs.fsyncDir(parent);
      await this.fs.rmrf(deleted);
    });
  }

  // ---------------------------------------------------------------------------------------------
  // For the cleaner (compaction.ts). Not part of the broker-facing API.

  /** @internal */
  cleanerAccess(): CleanerAccess {
    return {
      ctx: this.ctx,
      lock: this.lock,
      segments: () => this.segments,
      highWatermark: () => this.hw,
      logStartOffset: () => this.startOffset,
      logEndOffset: () => this.nextOffset,
      isUsable: () => !this.closed && !this.offlineError && !this.truncating,
      truncations: () => this.truncations,
      replace: (oldSegs, seg) => this.replaceSegmentsLocked(oldSegs, seg),
      retire: (segs) => this.retireSegmentFiles(segs),
      goOffline: (err) => this.goOffline(err),
    };
  }

  /** Swaps `oldSegs` (contiguous, still in the log) for `seg` in memory. Under the lock; synchronous. */
  private replaceSegmentsLocked(oldSegs: readonly Segment[], seg: Segment): boolean {
    const segs = this.segments;
    const first = segs.indexOf(oldSegs[0]!);
    if (first < 0) return false;
    for (let k = 0; k < oldSegs.length; k++) if (segs[first + k] !== oldSegs[k] || oldSegs[k]!.retired) return false;
    if (first + oldSegs.length >= segs.length) return false; // never the active segment
    this.segments = [...segs.slice(0, first), seg, ...segs.slice(first + oldSegs.length)];
    this.tail.clear(); // it may hold batches the cleaner just removed
    return true;
  }
}

/** What the cleaner may touch. */
export interface CleanerAccess {
  ctx: SegmentContext;
  lock: Mutex;
  /** The current list (a new array on every change, never mutated in place). */
  segments(): readonly Segment[];
  highWatermark(): bigint;
  logStartOffset(): bigint;
  logEndOffset(): bigint;
  isUsable(): boolean;
  /** Changes whenever the log is truncated: a cleaning that saw another value must not swap. */
  truncations(): number;
  replace(oldSegs: readonly Segment[], seg: Segment): boolean;
  retire(segs: readonly Segment[]): Promise<void>;
  goOffline(err: LogOfflineError): void;
}

/** The batches' bytes as runs of adjacent batches in `buf` (one run for a normal produce request). */
function contiguousRuns(buf: Buffer, batches: readonly BatchSpan[]): Buffer[] {
  const runs: Buffer[] = [];
  let i = 0;
  while (i < batches.length) {
    const runStart = batches[i]!.pos;
    let runEnd = runStart + batches[i]!.size;
    i++;
    while (i < batches.length && batches[i]!.pos === runEnd) {
      runEnd += batches[i]!.size;
      i++;
    }
    runs.push(buf.subarray(runStart, runEnd));
  }
  return runs;
}

/**
 * Trims a read buffer to whole batches below `upper`: walks headers only. Returns the byte length
 * kept and the offset after the last kept batch.
 */
function wholeBatches(buf: Buffer, n: number, upper: bigint): { bytes: number; nextOffset: bigint; stoppedAtUpper: boolean } {
  let pos = 0;
  let next = -1n;
  while (pos + BATCH_HEADER_BYTES <= n) {
    const size = LOG_OVERHEAD + buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
    if (pos + size > n) break;
    const last = buf.readBigInt64BE(pos) + BigInt(buf.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET));
    if (last >= upper) return { bytes: pos, nextOffset: next, stoppedAtUpper: true };
    next = last + 1n;
    pos += size;
  }
  return { bytes: pos, nextOffset: next, stoppedAtUpper: false };
}

export type { BatchHeader };
