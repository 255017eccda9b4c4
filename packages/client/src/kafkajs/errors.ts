/**
 * KafkaJS's error classes, by the names and fields KafkaJS 2.x code checks (`name`, `retriable`,
 * `type`, `code`, `broker`, `retryCount`), and the mapping from @fjord/client's errors to them.
 * The original error is always kept as `cause`.
 */
import { ClosedError, ConfigError, ConnectionError, KafkaError, ProtocolError, TimeoutError } from '../errors.js';

export class KafkaJSError extends Error {
  override name = 'KafkaJSError';
  readonly retriable: boolean;
  readonly helpUrl?: string;
  constructor(e: Error | string, metadata: { retriable?: boolean; cause?: unknown } = {}) {
    super(typeof e === 'string' ? e : e.message, metadata.cause !== undefined ? { cause: metadata.cause } : typeof e === 'string' ? {} : { cause: e });
    this.retriable = metadata.retriable ?? true;
  }
}

export class KafkaJSNonRetriableError extends KafkaJSError {
  override name = 'KafkaJSNonRetriableError';
  constructor(e: Error | string, metadata: { cause?: unknown } = {}) {
    super(e, { ...metadata, retriable: false });
  }
}

/** A Kafka error code from the broker: `type` is Kafka's error name (UNKNOWN_TOPIC_OR_PARTITION), `code` its number. */
export class KafkaJSProtocolError extends KafkaJSError {
  override name = 'KafkaJSProtocolError';
  readonly type: string;
  readonly code: number;
  constructor(e: KafkaError | { message: string; type: string; code: number; retriable: boolean }, metadata: { retriable?: boolean } = {}) {
    const type = e instanceof KafkaError ? e.name : e.type;
    super(e.message, { retriable: metadata.retriable ?? e.retriable, cause: e instanceof Error ? e : undefined });
    this.type = type;
    this.code = e.code;
  }
}

export class KafkaJSOffsetOutOfRange extends KafkaJSProtocolError {
  override name = 'KafkaJSOffsetOutOfRange';
  constructor(
    e: KafkaError,
    readonly topic?: string,
    readonly partition?: number,
  ) {
    super(e);
  }
}

export class KafkaJSNumberOfRetriesExceeded extends KafkaJSNonRetriableError {
  override name = 'KafkaJSNumberOfRetriesExceeded';
  readonly retryCount: number;
  readonly retryTime: number;
  constructor(e: Error, metadata: { retryCount: number; retryTime: number }) {
    super(e, { cause: e });
    this.retryCount = metadata.retryCount;
    this.retryTime = metadata.retryTime;
  }
}

export class KafkaJSConnectionError extends KafkaJSError {
  override name = 'KafkaJSConnectionError';
  readonly broker: string | undefined;
  constructor(e: Error | string, metadata: { broker?: string; cause?: unknown } = {}) {
    super(e, { cause: metadata.cause });
    this.broker = metadata.broker;
  }
}

export class KafkaJSRequestTimeoutError extends KafkaJSError {
  override name = 'KafkaJSRequestTimeoutError';
}

export class KafkaJSTimeout extends KafkaJSNonRetriableError {
  override name = 'KafkaJSTimeout';
}

export class KafkaJSNotImplemented extends KafkaJSNonRetriableError {
  override name = 'KafkaJSNotImplemented';
}

export class KafkaJSDeleteGroupsError extends KafkaJSError {
  override name = 'KafkaJSDeleteGroupsError';
  constructor(
    e: Error | string,
    readonly groups: Array<{ groupId: string; errorCode: number; error?: KafkaJSProtocolError }> = [],
  ) {
    super(e);
  }
}

export class KafkaJSAggregateError extends Error {
  override name = 'KafkaJSAggregateError';
  constructor(
    message: string,
    readonly errors: Error[],
  ) {
    super(message);
  }
}

/** Whether `e` is one of these classes (KafkaJS's isKafkaJSError). */
export function isKafkaJSError(e: unknown): e is KafkaJSError {
  return e instanceof KafkaJSError;
}

/** @fjord/client's error (or anything thrown) as the KafkaJS error a KafkaJS user would catch. */
export function toKafkaJSError(e: unknown): Error {
  if (e instanceof KafkaJSError) return e;
  if (e instanceof KafkaError) return e.name === 'OFFSET_OUT_OF_RANGE' ? new KafkaJSOffsetOutOfRange(e) : new KafkaJSProtocolError(e);
  if (e instanceof ConnectionError) return new KafkaJSConnectionError(e, { broker: e.address, cause: e });
  if (e instanceof TimeoutError) {
    // A retriable Kafka error that outlived its time limit is what KafkaJS reports after its retries.
    if (e.cause instanceof KafkaError) return new KafkaJSProtocolError(e.cause);
    return e.operation.includes('request') ? new KafkaJSRequestTimeoutError(e, { cause: e }) : new KafkaJSTimeout(e, { cause: e });
  }
  if (e instanceof ProtocolError) return new KafkaJSError(e, { cause: e });
  if (e instanceof ConfigError || e instanceof ClosedError) return new KafkaJSNonRetriableError(e, { cause: e });
  if (e instanceof Error) {
    const retriable = (e as { retriable?: unknown }).retriable;
    return typeof retriable === 'boolean' ? new KafkaJSError(e, { retriable, cause: e }) : e;
  }
  return new KafkaJSError(String(e));
}

/**
 * What KafkaJS throws when an operation fails after its retries: a retriable failure (the client
 * gave up retrying it) comes wrapped in KafkaJSNumberOfRetriesExceeded with the KafkaJS error as
 * `cause`; anything else as toKafkaJSError makes it.
 */
export function afterRetries(e: unknown, retryCount: number, retryTime: number): Error {
  const k = toKafkaJSError(e);
  if (k instanceof KafkaJSError && k.retriable) return new KafkaJSNumberOfRetriesExceeded(k, { retryCount, retryTime });
  return k;
}

/** Runs `f`, turning what it throws into KafkaJS errors. */
export async function kafkajsErrors<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw toKafkaJSError(e);
  }
}
