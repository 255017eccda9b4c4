/**
 * Limits of the broker, in one place, with units in their names. Where Kafka has a config for a
 * limit, the config wins and these are only the fall-backs; the rest are Fjord's own.
 */
export const limits = {
  /** Largest request frame when socket.request.max.bytes is not set (Kafka's default, 100 MiB). */
  requestFrameBytesMax: 104_857_600,
  /** Requests a connection may have in flight before the broker stops reading it (queued.max.requests). */
  connectionInflightRequestsMax: 500,
  /** Unsent response bytes on one connection before the broker stops reading it. */
  connectionWriteBufferBytesMax: 64 * 1024 * 1024,
  /** Longest a Fetch may wait (max.wait.ms is capped to this). */
  fetchWaitMsMax: 30_000,
  /** Longest a produce with acks=all may wait for durability before REQUEST_TIMED_OUT (timeout.ms is capped). */
  produceTimeoutMsMax: 300_000,
  /** Fetch sessions kept per broker (max.incremental.fetch.session.cache.slots). */
  fetchSessionsMax: 1000,
  /** Partitions one CreateTopics/CreatePartitions request may create. */
  partitionsPerTopicMax: 10_000,
} as const;
