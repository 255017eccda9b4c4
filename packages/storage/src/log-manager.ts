/**
 * All partition logs of one data directory (Kafka's log.dirs entry, one per broker here).
 *
 * Layout: `<dataDir>/<topic>-<partition>/` per partition (topic names may contain '-' and '.',
 * so the partition is what follows the LAST '-'), plus Kafka's data-dir files:
 *   recovery-point-offset-checkpoint, log-start-offset-checkpoint, cleaner-offset-checkpoint
 *   (version 0 text format), and `.kafka_cleanshutdown`, present only between a clean shutdown and
 *   the next start. Directories named `*-delete` are deletions in progress, removed at startup.
 *
 * Background work runs through the injected Scheduler: retention every
 * log.retention.check.interval.ms, flush.ms checks, checkpoints every 60 s, the cleaner every
 * log.cleaner.backoff.ms. Tests call the run*Once hooks instead.
 */
import {
  CLEANER_OFFSET_CHECKPOINT,
  CLEAN_SHUTDOWN_FILE,
  LOG_START_OFFSET_CHECKPOINT,
  PARTITION_METADATA_FILE,
  RECOVERY_POINT_CHECKPOINT,
  formatPartitionMetadata,
  formatPartitionOffsets,
  parsePartitionMetadata,
  parsePartitionOffsets,
  readSmallFile,
  writeCheckpoint,
  type PartitionOffset,
} from './checkpoint.js';
import { nodeScheduler, silentLogger, type Clock, type Logger, type Scheduler } from './clock.js';
import { cleanLog, cleanableState, needsCleaning, type CleanStats } from './compaction.js';
import { defaultLogConfig, normalizeLogConfig, type LogConfig } from './config.js';
import { StorageError } from './errors.js';
import { nodeFileSystem, type FileSystem } from './fs-port.js';
import { indexCacheBytesMax, inactiveSegmentFdsMax, logOpenConcurrency, partitionMetadataBytesMax, tailCacheBytesMax, tailCacheLogBytesMax } from './limits.js';
import { TailCacheBudget } from './tail-cache.js';
import { PartitionLog, type HighWatermarkPolicy } from './partition-log.js';
import { SegmentResources } from './segment.js';
import { newStats, type StorageStats } from './stats.js';

export interface LogManagerOptions {
  dataDir: string;
  clock: Clock;
  logger?: Logger;
  /** Config for logs loaded at startup, until the broker calls updateConfig with the topic's own. */
  defaults?: Partial<LogConfig>;
  fs?: FileSystem;
  scheduler?: Scheduler;
  /** log.retention.check.interval.ms (default 300000). */
  retentionCheckIntervalMs?: number;
  /** log.flush.offset.checkpoint.interval.ms (default 60000); also used for the log start and cleaner checkpoints. */
  checkpointIntervalMs?: number;
  /** How often flush.ms deadlines are checked (default 1000). */
  flushCheckIntervalMs?: number;
  /** log.cleaner.enable (default true). */
  cleanerEnabled?: boolean;
  /** log.cleaner.backoff.ms (default 15000). */
  cleanerBackoffMs?: number;
  /** Idle open fds of inactive segments across all logs. */
  openSegmentFdsMax?: number;
  /** Bytes of inactive segments' indexes cached across all logs. */
  indexCacheBytesMax?: number;
  /** Bytes of the newest appends kept in memory across all logs (default limits.tailCacheBytesMax), and per log. */
  tailCacheBytesMax?: number;
  tailCacheLogBytesMax?: number;
  /** A log went offline (fsync failure): the broker must stop serving it. */
  onLogOffline?: (log: PartitionLog, error: Error) => void;
  /** How every log's high watermark moves (default 'log-end'; see HighWatermarkPolicy). */
  highWatermark?: HighWatermarkPolicy;
  /** A log's durable offset advanced (see PartitionLogOptions.onDurable). */
  onLogDurable?: (log: PartitionLog, durableOffset: bigint) => void;
  /** Start the periodic tasks (default true). */
  background?: boolean;
  /** producer.id.expiration.ms (default 86400000): idle producer ids are forgotten after this long. */
  producerIdExpirationMs?: number;
  /** producer.id.expiration.check.interval.ms (default 600000). */
  producerIdExpirationCheckIntervalMs?: number;
}

/** A partition directory that could not be loaded; the rest of the broker keeps running. */
export interface FailedLog {
  topic: string;
  partition: number;
  dir: string;
  error: Error;
}

/** Splits `<topic>-<partition>` at the last '-'; null for anything else. */
export function parseLogDirName(name: string): { topic: string; partition: number } | null {
  const i = name.lastIndexOf('-');
  if (i <= 0) return null;
  const p = name.slice(i + 1);
  if (!/^\d{1,9}$/.test(p)) return null;
  const topic = name.slice(0, i);
  if (!/^[a-zA-Z0-9._-]+$/.test(topic)) return null;
  return { topic, partition: Number(p) };
}

const key = (topic: string, partition: number): string => `${topic}-${partition}`;

export class LogManager {
  readonly dataDir: string;
  readonly stats: StorageStats;
  /** The previous shutdown left the clean marker (and every checkpoint parsed). */
  readonly hadCleanShutdown: boolean;
  readonly failedLogs: FailedLog[] = [];

  private readonly logs = new Map<string, PartitionLog>();
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly fs: FileSystem;
  private readonly scheduler: Scheduler;
  private readonly resources: SegmentResources;
  private readonly tailCache: TailCacheBudget;
  private defaults: LogConfig;
  private readonly opts: LogManagerOptions;
  private readonly cancels: Array<() => void> = [];
  private checkpointChain: Promise<void> = Promise.resolve();
  private cleaning: Promise<unknown> | null = null;
  private stopping = false;
  private stopped = false;

  private constructor(o: LogManagerOptions, hadCleanShutdown: boolean, stats: StorageStats) {
    this.opts = o;
    this.dataDir = o.dataDir;
    this.clock = o.clock;
    this.logger = o.logger ?? silentLogger;
    this.fs = o.fs ?? nodeFileSystem;
    this.scheduler = o.scheduler ?? nodeScheduler;
    this.resources = new SegmentResources(this.fs, o.openSegmentFdsMax ?? inactiveSegmentFdsMax, o.indexCacheBytesMax ?? indexCacheBytesMax);
    this.tailCache = new TailCacheBudget(o.tailCacheBytesMax ?? tailCacheBytesMax, o.tailCacheLogBytesMax ?? tailCacheLogBytesMax);
    this.defaults = normalizeLogConfig(o.defaults ?? defaultLogConfig);
    this.hadCleanShutdown = hadCleanShutdown;
    this.stats = stats;
  }

  static async open(o: LogManagerOptions): Promise<LogManager> {
    const fsys = o.fs ?? nodeFileSystem;
    const logger = o.logger ?? silentLogger;
    const dataDir = o.dataDir;
    await fsys.mkdir(dataDir);
    const stats = newStats();
    const markerPath = `${dataDir}/${CLEAN_SHUTDOWN_FILE}`;
    let clean = (await fsys.stat(markerPath)) !== null;
    if (clean) {
      // Removed before anything is appended: a crash from now on is an unclean shutdown.
      await fsys.unlink(markerPath);
      await fsys.fsyncDir(dataDir);
    }
    const readOffsets = async (name: string): Promise<Map<string, bigint> | null> => {
      const path = `${dataDir}/${name}`;
      try {
        const text = await readSmallFile(fsys, path);
        if (text === null) return new Map();
        return new Map(parsePartitionOffsets(text, path).map((e) => [key(e.topic, e.partition), e.offset]));
      } catch (err) {
        stats.badCheckpointFiles++;
        logger.error(`checkpoint file ${name} is unreadable`, { file: path, error: err });
        return null;
      }
    };
    const recoveryPoints = await readOffsets(RECOVERY_POINT_CHECKPOINT);
    const logStarts = await readOffsets(LOG_START_OFFSET_CHECKPOINT);
    const cleanerOffsets = await readOffsets(CLEANER_OFFSET_CHECKPOINT);
    if (recoveryPoints === null || logStarts === null || cleanerOffsets === null) {
      // A checkpoint we cannot trust means the files may not be what the last shutdown left.
      logger.error('falling back to a full scan of every log: a data-dir checkpoint is unreadable', { dataDir });
      clean = false;
    }
    const fullScan = recoveryPoints === null || logStarts === null || cleanerOffsets === null;
    const mgr = new LogManager(o, clean, stats);

    const entries = await fsys.readdir(dataDir);
    const toLoad: Array<{ topic: string; partition: number; name: string }> = [];
    for (const name of entries) {
      const path = `${dataDir}/${name}`;
      const st = await fsys.stat(path);
      if (!st?.isDirectory) continue;
      if (name.endsWith('-delete')) {
        await fsys.rmrf(path);
        logger.info('removed a log directory left by an interrupted deletion', { dir: path });
        continue;
      }
      const parsed = parseLogDirName(name);
      if (!parsed) continue;
      toLoad.push({ ...parsed, name });
    }
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < toLoad.length) {
        const item = toLoad[next++]!;
        const k = key(item.topic, item.partition);
        const dir = `${dataDir}/${item.name}`;
        try {
          const topicId = await mgr.readTopicId(dir);
          const rp = fullScan ? undefined : recoveryPoints?.get(k);
          const log = await mgr.openLog(item.topic, item.partition, dir, topicId, mgr.defaults, {
            hadCleanShutdown: clean,
            ...(rp !== undefined ? { recoveryPoint: rp } : {}),
            ...(logStarts?.get(k) !== undefined ? { logStartOffset: logStarts.get(k)! } : {}),
          });
          const dirty = cleanerOffsets?.get(k);
          if (dirty !== undefined) log.firstDirtyOffset = dirty;
          mgr.logs.set(k, log);
        } catch (err) {
          const error = err instanceof Error ? err : new Error(String(err));
          mgr.failedLogs.push({ topic: item.topic, partition: item.partition, dir, error });
          logger.error('cannot load log; it stays offline', { dir, error, file: (err as StorageError).file });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(logOpenConcurrency, toLoad.length) }, worker));
    logger.info('loaded logs', {
      dataDir,
      logs: mgr.logs.size,
      failed: mgr.failedLogs.length,
      cleanShutdown: clean,
      recoveredSegments: stats.recoveredSegments,
      bytesScanned: stats.bytesScannedAtStartup,
    });
    // Startup state is now the baseline: a crash from here on recovers from these points.
    await mgr.checkpoint();
    if (o.background ?? true) mgr.startBackground();
    return mgr;
  }

  private async readTopicId(dir: string): Promise<string | undefined> {
    const path = `${dir}/${PARTITION_METADATA_FILE}`;
    try {
      const text = await readSmallFile(this.fs, path, partitionMetadataBytesMax);
      return text === null ? undefined : parsePartitionMetadata(text, path).topicId;
    } catch (err) {
      this.stats.badCheckpointFiles++;
      this.logger.error('partition.metadata is unreadable; it is rewritten when the broker names the topic id', { file: path, error: err });
      return undefined;
    }
  }

  private openLog(
    topic: string,
    partition: number,
    dir: string,
    topicId: string | undefined,
    config: Partial<LogConfig>,
    extra: { hadCleanShutdown: boolean; recoveryPoint?: bigint; logStartOffset?: bigint },
  ): Promise<PartitionLog> {
    return PartitionLog.open({
      dir,
      topic,
      partition,
      ...(topicId !== undefined ? { topicId } : {}),
      config,
      clock: this.clock,
      logger: this.logger,
      fs: this.fs,
      scheduler: this.scheduler,
      resources: this.resources,
      tailCache: this.tailCache,
      stats: this.stats,
      onOffline: (log, err) => this.opts.onLogOffline?.(log, err),
      ...(this.opts.onLogDurable ? { onDurable: this.opts.onLogDurable } : {}),
      ...(this.opts.highWatermark ? { highWatermark: this.opts.highWatermark } : {}),
      onLogStartOffsetChanged: () => this.writeLogStartCheckpoint(),
      ...(this.opts.producerIdExpirationMs !== undefined ? { producerIdExpirationMs: this.opts.producerIdExpirationMs } : {}),
      ...extra,
    });
  }

  getLog(topic: string, partition: number): PartitionLog | undefined {
    return this.logs.get(key(topic, partition));
  }

  allLogs(): PartitionLog[] {
    return [...this.logs.values()];
  }

  /** Creates the partition's log (or returns the existing one). */
  async createLog(topic: string, partition: number, topicId: string | undefined, config: Partial<LogConfig>): Promise<PartitionLog> {
    if (this.stopping) throw new StorageError('log manager is shutting down');
    const k = key(topic, partition);
    const existing = this.logs.get(k);
    if (existing) {
      if (topicId !== undefined && existing.topicId !== topicId) {
        await writeCheckpoint(this.fs, existing.dir, PARTITION_METADATA_FILE, formatPartitionMetadata(topicId));
        existing.topicId = topicId;
      }
      return existing;
    }
    if (!parseLogDirName(k) || parseLogDirName(k)!.topic !== topic) throw new StorageError(`invalid topic name ${JSON.stringify(topic)}`);
    const dir = `${this.dataDir}/${k}`;
    const existed = (await this.fs.stat(dir)) !== null;
    await this.fs.mkdir(dir);
    if (topicId !== undefined) await writeCheckpoint(this.fs, dir, PARTITION_METADATA_FILE, formatPartitionMetadata(topicId));
    await this.fs.fsyncDir(this.dataDir);
    // A directory we did not load (a failed load, or a leftover) is scanned in full.
    const log = await this.openLog(topic, partition, dir, topicId, config, { hadCleanShutdown: !existed });
    const raced = this.logs.get(k);
    if (raced) {
      await log.close();
      return raced;
    }
    this.logs.set(k, log);
    return log;
  }

  /** Deletes the partition's log and its directory. */
  async deleteLog(topic: string, partition: number): Promise<void> {
    const k = key(topic, partition);
    const log = this.logs.get(k);
    if (!log) return;
    this.logs.delete(k);
    await log.delete();
    await this.checkpoint();
  }

  /** Applies a topic's config to all of its partitions (takes effect at the next roll/retention/flush). */
  updateConfig(topic: string, config: Partial<LogConfig>): void {
    for (const log of this.logs.values()) if (log.topic === topic) log.updateConfig(config);
  }

  /** Config for logs loaded at startup before their topic config is known. */
  setDefaults(config: Partial<LogConfig>): void {
    this.defaults = normalizeLogConfig(config);
  }

  // ---------------------------------------------------------------------------------------------
  // Background work

  private startBackground(): void {
    const every = (ms: number, fn: () => Promise<unknown> | void): void => {
      const loop = (): void => {
        if (this.stopping) return;
        this.cancels.push(
          this.scheduler.schedule(ms, () => {
            Promise.resolve()
              .then(fn)
              .catch((err: unknown) => this.logger.error('background storage task failed', { error: err }))
              .finally(loop);
          }),
        );
      };
      loop();
    };
    every(this.opts.retentionCheckIntervalMs ?? 300_000, () => this.runRetentionOnce());
    every(this.opts.checkpointIntervalMs ?? 60_000, () => this.checkpoint());
    every(this.opts.flushCheckIntervalMs ?? 1_000, () => this.flushDueLogs());
    every(this.opts.producerIdExpirationCheckIntervalMs ?? 600_000, () => {
      this.expireProducersOnce();
    });
    if (this.opts.cleanerEnabled ?? true) every(this.opts.cleanerBackoffMs ?? 15_000, () => this.runCleanerUntilIdle());
  }

  /** Retention on every log; returns the number of segments deleted. */
  async runRetentionOnce(now = this.clock.now()): Promise<number> {
    let n = 0;
    for (const log of this.allLogs()) {
      try {
        n += await log.runRetention(now);
      } catch (err) {
        this.logger.error('retention failed', { log: key(log.topic, log.partition), error: err });
      }
    }
    if (n > 0) await this.checkpoint();
    return n;
  }

  /**
   * Kafka's periodic producer expiration check: every log forgets the producer ids idle for
   * producer.id.expiration.ms that have no open transaction. Returns how many went.
   */
  expireProducersOnce(now = this.clock.now()): number {
    let n = 0;
    for (const log of this.logs.values()) if (!log.isClosed) n += log.removeExpiredProducers(now);
    return n;
  }

  /** Starts flushes whose flush.ms deadline passed (relaxed flush policies only). */
  flushDueLogs(now = this.clock.now()): void {
    for (const log of this.logs.values()) log.flushIfDue(now);
  }

  /**
   * Cleans the dirtiest compacted log due for cleaning (dirty ratio >= min.cleanable.dirty.ratio,
   * or max.compaction.lag.ms passed). Returns what it did, or null when no log was due.
   */
  async runCleanerOnce(now = this.clock.now()): Promise<(CleanStats & { topic: string; partition: number }) | null> {
    if (this.cleaning) await this.cleaning.catch(() => {});
    let best: PartitionLog | null = null;
    let bestRatio = -1;
    for (const log of this.logs.values()) {
      if (!needsCleaning(log, now)) continue;
      const s = cleanableState(log, now);
      const ratio = s.lagExceeded ? 2 : s.dirtyRatio;
      if (ratio > bestRatio) {
        best = log;
        bestRatio = ratio;
      }
    }
    if (!best) return null;
    const log = best;
    const run = cleanLog(log, now);
    this.cleaning = run;
    try {
      const stats = await run;
      if (!stats) return null;
      await this.checkpoint();
      return { ...stats, topic: log.topic, partition: log.partition };
    } finally {
      this.cleaning = null;
    }
  }

  private async runCleanerUntilIdle(): Promise<void> {
    for (let i = 0; i < this.logs.size && !this.stopping; i++) {
      const r = await this.runCleanerOnce();
      if (!r) return;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Checkpoints

  /** Writes the recovery-point, log-start-offset and cleaner-offset checkpoint files. */
  checkpoint(): Promise<void> {
    const run = async (): Promise<void> => {
      const rps: PartitionOffset[] = [];
      const starts: PartitionOffset[] = [];
      const dirty: PartitionOffset[] = [];
      for (const log of this.logs.values()) {
        if (log.isOffline) continue;
        rps.push({ topic: log.topic, partition: log.partition, offset: log.recoveryPoint });
        starts.push({ topic: log.topic, partition: log.partition, offset: log.logStartOffset });
        if (log.firstDirtyOffset !== null) dirty.push({ topic: log.topic, partition: log.partition, offset: log.firstDirtyOffset });
      }
      await writeCheckpoint(this.fs, this.dataDir, RECOVERY_POINT_CHECKPOINT, formatPartitionOffsets(rps));
      await writeCheckpoint(this.fs, this.dataDir, LOG_START_OFFSET_CHECKPOINT, formatPartitionOffsets(starts));
      await writeCheckpoint(this.fs, this.dataDir, CLEANER_OFFSET_CHECKPOINT, formatPartitionOffsets(dirty));
    };
    this.checkpointChain = this.checkpointChain.catch(() => {}).then(run);
    return this.checkpointChain;
  }

  private writeLogStartCheckpoint(): Promise<void> {
    return this.checkpoint();
  }

  /**
   * Clean shutdown: stops background work, closes every log (flush, indexes, epoch checkpoints),
   * writes the checkpoints and then the clean-shutdown marker, so the next start trusts the files.
   */
  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopping = true;
    for (const c of this.cancels.splice(0)) c();
    if (this.cleaning) await this.cleaning.catch(() => {});
    const logs = this.allLogs();
    let next = 0;
    let failures = 0;
    const worker = async (): Promise<void> => {
      while (next < logs.length) {
        const log = logs[next++]!;
        try {
          await log.close();
          if (log.isOffline) failures++;
        } catch (err) {
          failures++;
          this.logger.error('closing log failed', { log: key(log.topic, log.partition), error: err });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(logOpenConcurrency, logs.length) }, worker));
    await this.checkpoint();
    if (failures === 0 && this.failedLogs.length === 0) {
      await writeCheckpoint(this.fs, this.dataDir, CLEAN_SHUTDOWN_FILE, '');
    } else {
      this.logger.warn('not writing the clean shutdown marker: some logs are offline', { failures, failedLogs: this.failedLogs.length });
    }
    this.stopped = true;
  }
}
