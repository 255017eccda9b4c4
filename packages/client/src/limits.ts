/**
 * Every limit and timing default of the client, in one place, with units in the names. Each is a
 * configuration option of the same name (see ClientConfig / ProducerConfig); the Kafka property it
 * mirrors is given where there is one, and the default is Kafka's unless a comment says otherwise.
 */
export const clientDefaults = Object.freeze({
  /** request.timeout.ms: how long a request may wait for its response before the connection is dropped. */
  requestTimeoutMs: 30_000,
  /** socket.connection.setup.timeout.ms: TCP connect plus the ApiVersions handshake. */
  connectTimeoutMs: 10_000,
  /** reconnect.backoff.ms: first delay before reconnecting to a broker that failed. */
  reconnectBackoffMs: 50,
  /** reconnect.backoff.max.ms: cap of the exponential reconnect delay. */
  reconnectBackoffMaxMs: 1_000,
  /** retry.backoff.ms: first delay before retrying a failed request. */
  retryBackoffMs: 100,
  /** retry.backoff.max.ms: cap of the exponential retry delay. */
  retryBackoffMaxMs: 1_000,
  /** Relative jitter applied to every backoff (Kafka uses ±20%). */
  backoffJitterRatio: 0.2,
  /** metadata.max.age.ms: metadata older than this is refreshed before use. */
  metadataMaxAgeMs: 300_000,
  /** Requests written to one connection and not yet answered; more wait in the client. */
  connectionInFlightRequestsMax: 64,
  /** Largest response frame accepted from a broker (a larger size prefix means garbage). */
  responseFrameBytesMax: 256 * 1024 * 1024,
  /** Requests queued on one connection (waiting for an in-flight slot) before send() rejects. */
  connectionQueuedRequestsMax: 10_000,
});

export const producerDefaults = Object.freeze({
  /** linger.ms: how long a non-full batch waits for more records (Kafka 4.0 default: 5). */
  lingerMs: 5,
  /** batch.size: a batch is sent once its records reach this many bytes. */
  batchBytes: 16_384,
  /** buffer.memory: bytes of records waiting to be acknowledged before send() waits for room. */
  bufferMemoryBytes: 32 * 1024 * 1024,
  /** max.block.ms: how long send() may wait for buffer room or for a topic's metadata. */
  maxBlockMs: 60_000,
  /** max.request.size: the largest record (and produce request) the producer sends. */
  maxRequestBytes: 1_048_576,
  /** delivery.timeout.ms: a record fails if not acknowledged within this time of send(). */
  deliveryTimeoutMs: 120_000,
  /** retries (Kafka: Integer.MAX_VALUE; the delivery timeout is the real bound). */
  retries: 2_147_483_647,
  /** max.in.flight.requests.per.connection, applied per partition; idempotence allows at most 5. */
  maxInFlightPerPartition: 5,
  /** transaction.timeout.ms (sent with InitProducerId). */
  transactionTimeoutMs: 60_000,
});

/** Kafka's limit for idempotent producers: the broker keeps the last 5 batches' sequences. */
export const idempotentInFlightMax = 5;

/**
 * Size of the buffers a connection reads small responses into (see connection/frame-reader.ts): the
 * kernel writes socket bytes straight into one, and responses are handed out as views of it. A
 * response larger than half of it gets a buffer of its own. Not an option: it trades a little
 * memory held by old arenas against allocations, and Kafka has no such setting.
 */
export const connectionReadArenaBytes = 256 * 1024;
