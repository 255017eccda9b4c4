/** @fjord/storage: the partition log on disk. See README.md for files, guarantees and recovery rules. */
export { PartitionLog, AppendRejectedError, producerIdExpirationMsDefault } from './partition-log.js';
export type {
  PartitionLogOptions,
  AppendOptions,
  AppendResult,
  AppendRejection,
  ActiveProducer,
  ReadOptions,
  ReadResult,
  TimestampAndOffset,
  HighWatermarkPolicy,
} from './partition-log.js';
export { LogManager, parseLogDirName } from './log-manager.js';
export { ReadBufferPool, ReadBufferLease } from './read-buffers.js';
export type { ReadBufferPoolOptions } from './read-buffers.js';
export type { LogManagerOptions, FailedLog } from './log-manager.js';
export { defaultLogConfig, normalizeLogConfig, parseCleanupPolicy, isGroupCommit } from './config.js';
export type { LogConfig, CleanupPolicy } from './config.js';
export { cleanLog, cleanableState, needsCleaning } from './compaction.js';
export type { CleanStats, CleanableState, CleanerOptions } from './compaction.js';
export { retentionDecision } from './retention.js';
export type { RetentionDecision, RetentionInput, RetentionSegment } from './retention.js';
export { UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET } from './leader-epoch-cache.js';
export type { AppendOrigin, ProducerErrorName } from './producer-state.js';
export type { AbortedTxn } from './txn-index.js';
export {
  StorageError,
  LogOfflineError,
  LogClosedError,
  LogTruncatedError,
  RecordBatchTooLargeError,
  OffsetOutOfRangeError,
  AssertionFailure,
} from './errors.js';
export { CheckpointFormatError } from './checkpoint.js';
export { systemClock, nodeScheduler, silentLogger } from './clock.js';
export type { Clock, Scheduler, Logger } from './clock.js';
export { nodeFileSystem } from './fs-port.js';
export type { FileSystem, FileStat, OpenFlags } from './fs-port.js';
export type { StorageStats } from './stats.js';
export * as storageLimits from './limits.js';
