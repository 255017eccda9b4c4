/**
 * Every bound the storage layer enforces, with its unit in its name (STYLE habit 3). Hitting a
 * limit gives a typed error or backpressure, never silent growth.
 */

/** Positions in a segment and in its offset index are int32, so a segment never exceeds this. */
export const segmentBytesMax = 0x7fff_ffff;
/** Kafka's lower bound for segment.bytes (LOG_OVERHEAD + 2). */
export const segmentBytesMin = 14;
/** Offsets inside a segment are stored relative to its base offset as int32. */
export const relativeOffsetMax = 0x7fff_ffff;

/**
 * A batch header announcing more bytes than this is treated as corrupt during recovery and
 * scans, so a flipped length byte cannot make us allocate gigabytes. Kafka's message.max.bytes
 * default is ~1 MiB; this is far above any sane setting.
 */
export const recordBatchBytesMax = 128 * 1024 * 1024;

/** Sequential scans (recovery, cleaner) read files in chunks of this size. */
export const scanChunkBytes = 1024 * 1024;
/** A read's header-only scan from an index entry reads windows of this size. */
export const readScanWindowBytes = 16 * 1024;
/** Reads retried when a truncation raced with them (replication only). */
export const readRetriesMax = 3;

/** Open read file descriptors for inactive segments, per LogManager (or per standalone log). */
export const inactiveSegmentFdsMax = 256;
/** Bytes of offset/time index data of inactive segments kept in memory (LRU). */
export const indexCacheBytesMax = 32 * 1024 * 1024;
/**
 * Bytes of the newest appends kept in memory for reads at the log end (tail-cache.ts), per
 * LogManager (or per standalone log), and per log. A tailing consumer's fetch is then answered
 * without file I/O; the oldest copies go first across all logs.
 *
 * The per-log cap is small on purpose: a tailing consumer asks for the last few batches within
 * milliseconds of their append, and every byte kept longer keeps its produce request alive. At
 * 1 MiB per log, a broker taking ~200 MB/s of acks=all produce kept enough requests alive past
 * young collections to run a full collection every ~80 ms: 30% more broker CPU than with 32 KiB.
 */
export const tailCacheBytesMax = 64 * 1024 * 1024;
export const tailCacheLogBytesMax = 32 * 1024;
/**
 * Bytes of unused read buffers kept for reuse by a ReadBufferPool (read-buffers.ts): the broker's
 * Fetch reads into them and gives them back once the response is written.
 */
export const readBufferPoolIdleBytesMax = 32 * 1024 * 1024;
/** First allocation of an in-memory index; it doubles up to segment.index.bytes. */
export const indexInitialBytes = 4 * 1024;

/** Checkpoint files larger than this are refused as corrupt rather than read into memory. */
export const checkpointFileBytesMax = 64 * 1024 * 1024;
/** partition.metadata is two short lines. */
export const partitionMetadataBytesMax = 4 * 1024;

/** Logs opened concurrently at startup (each one awaits its own file I/O). */
export const logOpenConcurrency = 8;

/** Distinct keys the cleaner's offset map may hold in one pass (each costs ~100 bytes). */
export const cleanerOffsetMapKeysMax = 1_000_000;
/** Keys longer than this are replaced by their SHA-256 digest in the cleaner's offset map. */
export const cleanerKeyInlineBytesMax = 32;
/** The cleaner yields to the event loop after processing this many bytes. */
export const cleanerYieldBytes = 256 * 1024;
/** The cleaner buffers this many bytes of retained batches before each write. */
export const cleanerWriteBufferBytes = 1024 * 1024;

/** Kafka's Long.MAX_VALUE configs (flush.ms, max.compaction.lag.ms) arrive as JS numbers: this or above means "never". */
export const neverMs = Number.MAX_SAFE_INTEGER;

/**
 * Under flush.messages=1, an append nobody waits for (acks=0/1) is synced at most this long after
 * it was written, together with everything else appended meanwhile; an acks=all waiter starts a
 * sync at once. Syncing every acks=1 append immediately cost up to a third of produce throughput
 * and filled libuv's thread pool with fdatasyncs that delayed fetch reads (bench/README.md).
 */
export const unwaitedSyncDelayMs = 10;

/**
 * Batches remembered per producer id for duplicate detection (Kafka's NUM_BATCHES_TO_RETAIN): an
 * idempotent producer keeps at most 5 requests in flight per partition, so a retry is always one
 * of its last 5 batches.
 */
export const producerBatchesRetained = 5;
