/**
 * KafkaJS's error classes, by the names and fields KafkaJS 2.x code checks (`name`, `retriable`,
 * `type`, `code`, `broker`, `retryCount`), and the mapping from @fjord/client's errors to them.
 * The original error is always kept as `cause`.
 */
import { ClosedError, ConfigError, ConnectionError, KafkaError, ProtocolError, TimeoutError, UnsupportedVersionError } from '../errors.js';

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

type ProtocolErrorLike = KafkaError | { message: string; type?: string; code?: number; retriable?: boolean };

/** A Kafka error code from the broker: `type` is Kafka's error name (UNKNOWN_TOPIC_OR_PARTITION), `code` its number. */
export class KafkaJSProtocolError extends KafkaJSError {
  override name = 'KafkaJSProtocolError';
  readonly type: string;
  readonly code: number;
  /** From this client's KafkaError, or as KafkaJS from any error-like value or a message (whose `type` and `code` stay undefined, as in KafkaJS). */
  constructor(e: ProtocolErrorLike | string, metadata: { retriable?: boolean } = {}) {
    const like: Partial<Exclude<ProtocolErrorLike, KafkaError>> = typeof e === 'string' ? { message: e } : e;
    const type = e instanceof KafkaError ? e.name : like.type;
    super(like.message ?? String(e), { retriable: metadata.retriable ?? like.retriable ?? true, cause: e instanceof Error ? e : undefined });
    this.type = type as string;
    this.code = like.code as number;
  }
}

export class KafkaJSOffsetOutOfRange extends KafkaJSProtocolError {
  override name = 'KafkaJSOffsetOutOfRange';
  readonly topic: string | undefined;
  readonly partition: number | undefined;
  constructor(e: ProtocolErrorLike | string, metadata: { topic?: string; partition?: number } = {}) {
    super(e);
    this.topic = metadata.topic;
    this.partition = metadata.partition;
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
  /** The socket's error code (ECONNREFUSED, ...), when there is one. */
  readonly code: string | undefined;
  constructor(e: Error | string, metadata: { broker?: string; code?: string; cause?: unknown } = {}) {
    super(e, { cause: metadata.cause });
    this.broker = metadata.broker;
    this.code = metadata.code;
  }
}

export class KafkaJSConnectionClosedError extends KafkaJSConnectionError {
  override name = 'KafkaJSConnectionClosedError';
  readonly host: string | undefined;
  readonly port: number | undefined;
  constructor(e: Error | string, metadata: { host?: string; port?: number; cause?: unknown } = {}) {
    super(e, { broker: `${metadata.host}:${metadata.port}`, cause: metadata.cause });
    this.host = metadata.host;
    this.port = metadata.port;
  }
}

export class KafkaJSRequestTimeoutError extends KafkaJSError {
  override name = 'KafkaJSRequestTimeoutError';
  readonly broker: string | undefined;
  readonly correlationId: number | undefined;
  readonly createdAt: number | undefined;
  readonly sentAt: number | undefined;
  readonly pendingDuration: number | undefined;
  constructor(e: Error | string, metadata: { broker?: string; correlationId?: number; createdAt?: number; sentAt?: number; pendingDuration?: number; cause?: unknown } = {}) {
    super(e, { cause: metadata.cause });
    this.broker = metadata.broker;
    this.correlationId = metadata.correlationId;
    this.createdAt = metadata.createdAt;
    this.sentAt = metadata.sentAt;
    this.pendingDuration = metadata.pendingDuration;
  }
}

export class KafkaJSTimeout extends KafkaJSNonRetriableError {
  override name = 'KafkaJSTimeout';
}

export class KafkaJSLockTimeout extends KafkaJSTimeout {
  override name = 'KafkaJSLockTimeout';
}

export class KafkaJSNotImplemented extends KafkaJSNonRetriableError {
  override name = 'KafkaJSNotImplemented';
}

// The rest of KafkaJS's exported error classes, with its hierarchy and fields, so that an
// application's `instanceof` checks and imports keep working. This client throws the ones named in
// packages/client/README.md; the others exist for code that names them.

export class KafkaJSMemberIdRequired extends KafkaJSProtocolError {
  override name = 'KafkaJSMemberIdRequired';
  readonly memberId: string | undefined;
  constructor(e: ProtocolErrorLike | string, metadata: { memberId?: string } = {}) {
    super(e);
    this.memberId = metadata.memberId;
  }
}

export class KafkaJSMetadataNotLoaded extends KafkaJSError {
  override name = 'KafkaJSMetadataNotLoaded';
}

export class KafkaJSTopicMetadataNotLoaded extends KafkaJSMetadataNotLoaded {
  override name = 'KafkaJSTopicMetadataNotLoaded';
  readonly topic: string | undefined;
  constructor(e: Error | string, metadata: { topic?: string } = {}) {
    super(e);
    this.topic = metadata.topic;
  }
}

export class KafkaJSStaleTopicMetadataAssignment extends KafkaJSError {
  override name = 'KafkaJSStaleTopicMetadataAssignment';
  readonly topic: string | undefined;
  readonly unknownPartitions: number[] | undefined;
  constructor(e: Error | string, metadata: { topic?: string; unknownPartitions?: number[] } = {}) {
    super(e);
    this.topic = metadata.topic;
    this.unknownPartitions = metadata.unknownPartitions;
  }
}

export class KafkaJSServerDoesNotSupportApiKey extends KafkaJSNonRetriableError {
  override name = 'KafkaJSServerDoesNotSupportApiKey';
  readonly apiKey: number | undefined;
  readonly apiName: string | undefined;
  constructor(e: Error | string, metadata: { apiKey?: number; apiName?: string; cause?: unknown } = {}) {
    super(e, { cause: metadata.cause });
    this.apiKey = metadata.apiKey;
    this.apiName = metadata.apiName;
  }
}

export class KafkaJSBrokerNotFound extends KafkaJSError {
  override name = 'KafkaJSBrokerNotFound';
}

export class KafkaJSPartialMessageError extends KafkaJSNonRetriableError {
  override name = 'KafkaJSPartialMessageError';
}

export class KafkaJSSASLAuthenticationError extends KafkaJSNonRetriableError {
  override name = 'KafkaJSSASLAuthenticationError';
}

export class KafkaJSGroupCoordinatorNotFound extends KafkaJSNonRetriableError {
  override name = 'KafkaJSGroupCoordinatorNotFound';
}

export class KafkaJSUnsupportedMagicByteInMessageSet extends KafkaJSNonRetriableError {
  override name = 'KafkaJSUnsupportedMagicByteInMessageSet';
}

/** A bug: an internal assumption that did not hold. */
export class KafkaJSInvariantViolation extends KafkaJSNonRetriableError {
  override name = 'KafkaJSInvariantViolation';
  constructor(e: Error | string) {
    super(`Invariant violated: ${typeof e === 'string' ? e : e.message}. This is likely a bug and should be reported.`);
  }
}

/** KafkaJS names these two 'KafkaJSNonRetriableError' (its own quirk, kept so that `name` checks agree). */
export class KafkaJSInvalidVarIntError extends KafkaJSNonRetriableError {
  override name = 'KafkaJSNonRetriableError';
}

export class KafkaJSInvalidLongError extends KafkaJSNonRetriableError {
  override name = 'KafkaJSNonRetriableError';
}

/** One topic that CreateTopics refused; createTopics() rejects with a KafkaJSAggregateError of these. */
export class KafkaJSCreateTopicError extends KafkaJSProtocolError {
  override name = 'KafkaJSCreateTopicError';
  readonly topic: string | undefined;
  constructor(e: ProtocolErrorLike | string, topic?: string) {
    super(e);
    this.topic = topic;
  }
}

export class KafkaJSAlterPartitionReassignmentsError extends KafkaJSProtocolError {
  override name = 'KafkaJSAlterPartitionReassignmentsError';
  readonly topic: string | undefined;
  readonly partition: number | undefined;
  constructor(e: ProtocolErrorLike | string, topic?: string, partition?: number) {
    super(e);
    this.topic = topic;
    this.partition = partition;
  }
}

export interface DeleteTopicRecordsPartitionError {
  partition: number;
  offset: string;
  error: KafkaJSError;
}

/** deleteTopicRecords() refused for some partitions: `partitions` says which, at which offset, and why. Retriable when every cause is. */
export class KafkaJSDeleteTopicRecordsError extends KafkaJSError {
  override name = 'KafkaJSDeleteTopicRecordsError';
  readonly topic: string | undefined;
  readonly partitions: DeleteTopicRecordsPartitionError[];
  constructor(metadata: { topic?: string; partitions: DeleteTopicRecordsPartitionError[] }) {
    super('Error while deleting records', { retriable: metadata.partitions.filter((p) => p.error != null).every((p) => p.error.retriable === true) });
    this.topic = metadata.topic;
    this.partitions = metadata.partitions;
  }
}

/** Thrown inside KafkaJS's fetch loop when a rebalance interrupts it; exported, never reaches applications. */
export class KafkaJSFetcherRebalanceError extends Error {}

export class KafkaJSNoBrokerAvailableError extends KafkaJSError {
  override name = 'KafkaJSNoBrokerAvailableError';
  constructor() {
    super('No broker available');
  }
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
  if (e instanceof UnsupportedVersionError) return new KafkaJSServerDoesNotSupportApiKey(e, { apiName: e.apiName, cause: e });
  if (e instanceof KafkaError) return e.name === 'OFFSET_OUT_OF_RANGE' ? new KafkaJSOffsetOutOfRange(e) : new KafkaJSProtocolError(e);
  if (e instanceof ConnectionError) {
    const code = (e.cause as { code?: unknown } | undefined)?.code;
    return new KafkaJSConnectionError(e, { broker: e.address, cause: e, ...(typeof code === 'string' ? { code } : {}) });
  }
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
