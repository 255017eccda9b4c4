/**
 * Storage failures, one class per failure mode (STYLE: errors). Operational faults carry the file
 * they concern and the underlying `cause`. Broken invariants are not here: they are assertions.
 */

/** An I/O fault or an unrecoverable file. `file` names the file when one is involved. */
export class StorageError extends Error {
  override readonly name: string = 'StorageError';
  constructor(
    message: string,
    readonly file?: string,
    options?: { cause?: unknown },
  ) {
    super(file ? `${message} (${file})` : message, options);
  }
}

/**
 * An fsync (or a rollback after a failed write) failed. As in Kafka the log goes offline: every
 * later operation fails with this error and the broker must stop serving the partition.
 */
export class LogOfflineError extends StorageError {
  override readonly name = 'LogOfflineError';
}

/** The log was closed or deleted while the operation was pending or before it started. */
export class LogClosedError extends StorageError {
  override readonly name = 'LogClosedError';
}

/** A waiter's offsets were removed by truncateTo before they became durable. */
export class LogTruncatedError extends StorageError {
  override readonly name = 'LogTruncatedError';
}

/**
 * The batches of one append are larger than segment.bytes (Kafka's RecordBatchTooLargeException;
 * the broker answers RECORD_LIST_TOO_LARGE / MESSAGE_TOO_LARGE).
 */
export class RecordBatchTooLargeError extends StorageError {
  override readonly name = 'RecordBatchTooLargeError';
}

/**
 * An expected failure, not an I/O fault: the requested offset lies outside the log. The broker
 * maps it to OFFSET_OUT_OF_RANGE.
 */
export class OffsetOutOfRangeError extends Error {
  override readonly name = 'OffsetOutOfRangeError';
  constructor(
    readonly offset: bigint,
    readonly logStartOffset: bigint,
    readonly logEndOffset: bigint,
    what = 'offset',
  ) {
    super(`${what} ${offset} is outside the log's range [${logStartOffset}, ${logEndOffset}]`);
  }
}

/** Crashes on a broken invariant (STYLE: assertions are never caught and turned into a code). */
export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new AssertionFailure(message);
}

export class AssertionFailure extends Error {
  override readonly name = 'AssertionFailure';
}
