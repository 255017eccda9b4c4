/**
 * The partitions this broker hosts and the two hot paths over them: append (Produce) and read
 * (Fetch). Append is split as Redpanda does: the ordered phase (validate, assign offsets, write to
 * the page cache) runs synchronously in request order; the durable phase (group-committed fsync,
 * for acks=all) is awaited afterwards, so a connection can pipeline and still answer in order.
 * Neither path touches individual records unless a topic's compression.type forces a rewrite.
 *
 * Idempotent and transactional producers are checked by the log's producer state (storage,
 * producer-state.ts) in the ordered phase, from batch headers: a duplicate of one of a producer's
 * last 5 batches is answered with the original's offsets and error NONE (as Kafka answers since
 * DUPLICATE_SEQUENCE_NUMBER stopped being sent), a refused append writes nothing.
 */
import {
  CompressionType,
  COMPRESSION_CODEC_MASK,
  DecodeError,
  UnsupportedMagicError,
  batchErrorName,
  ErrorCode,
  decodeBatch,
  encodeBatch,
  encodeControlBatch,
  splitBatches,
  validateBatchForAppend,
  type BatchSpan,
} from '@fjord/protocol';
import { LogManager, type AppendOrigin, type AppendRejection, type PartitionLog } from '@fjord/storage';
import type { BrokerConfig } from '../config/broker-configs.js';
import type { PartitionState, TopicState } from '../metadata/metadata-store.js';
import type { Logger } from '../logger.js';
import type { Clock } from '../broker-context.js';
import { Partition } from './partition.js';
import { toLogConfig, toProduceSettings, type ProduceSettings } from './log-config.js';

export interface AppendResult {
  errorCode: number;
  errorMessage: string | null;
  baseOffset: bigint;
  logAppendTimeMs: bigint;
  logStartOffset: bigint;
  /** Offset the durable phase waits for (acks=all); -1n when nothing was written. */
  lastOffset: bigint;
  recordErrors: Array<{ batchIndex: number; batchIndexErrorMessage: string | null }>;
}

/**
 * A refusal by the producer state: Kafka's code for it. No recordErrors: Kafka lists them only
 * for record validation failures (INVALID_RECORD, INVALID_TIMESTAMP).
 */
function rejected(r: AppendRejection, logStartOffset: bigint): AppendResult {
  return failed(ErrorCode[r.error], r.message, logStartOffset);
}

const failed = (errorCode: number, errorMessage: string | null, logStartOffset = -1n): AppendResult => ({
  errorCode,
  errorMessage,
  baseOffset: -1n,
  logAppendTimeMs: -1n,
  logStartOffset,
  lastOffset: -1n,
  recordErrors: [],
});

export class ReplicaManager {
  private readonly partitions = new Map<string, Partition>();
  private readonly byTopic = new Map<string, Partition[]>();

  private constructor(
    readonly logs: LogManager,
    private readonly nodeId: number,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {}

  static async open(opts: {
    dataDir: string;
    nodeId: number;
    config: BrokerConfig;
    topics: Iterable<TopicState>;
    effectiveConfig: (t: TopicState) => Map<string, string | null>;
    logger: Logger;
    clock: Clock;
  }): Promise<ReplicaManager> {
    const logs = await LogManager.open({
      dataDir: opts.dataDir,
      clock: opts.clock,
      logger: opts.logger,
      retentionCheckIntervalMs: opts.config.getInt('log.retention.check.interval.ms'),
      cleanerEnabled: opts.config.getBool('log.cleaner.enable'),
      cleanerBackoffMs: opts.config.getInt('log.cleaner.backoff.ms'),
      checkpointIntervalMs: opts.config.getInt('log.flush.offset.checkpoint.interval.ms'),
      producerIdExpirationMs: opts.config.getInt('producer.id.expiration.ms'),
      producerIdExpirationCheckIntervalMs: opts.config.getInt('producer.id.expiration.check.interval.ms'),
    });
    const rm = new ReplicaManager(logs, opts.nodeId, opts.logger, opts.clock);
    const known = new Set<string>();
    for (const topic of opts.topics) {
      const eff = opts.effectiveConfig(topic);
      for (const p of topic.partitions) {
        known.add(`${topic.name}-${p.partition}`);
        const log = logs.getLog(topic.name, p.partition) ?? (await logs.createLog(topic.name, p.partition, topic.topicId, toLogConfig(eff)));
        log.updateConfig(toLogConfig(eff));
        rm.add(new Partition(topic.name, p.partition, topic.topicId, log, p.leaderEpoch, toProduceSettings(eff)));
      }
    }
    // Directories of topics the metadata does not know (deleted, or created by a request that
    // crashed before its metadata record was written) are removed, as Kafka does.
    for (const log of logs.allLogs()) {
      if (!known.has(`${log.topic}-${log.partition}`)) {
        opts.logger.warn('removing log of unknown topic', { topic: log.topic, partition: log.partition });
        await logs.deleteLog(log.topic, log.partition);
      }
    }
    return rm;
  }

  partition(topic: string, index: number): Partition | undefined {
    return this.byTopic.get(topic)?.[index];
  }

  topicPartitions(topic: string): readonly Partition[] {
    return this.byTopic.get(topic) ?? [];
  }

  all(): IterableIterator<Partition> {
    return this.partitions.values();
  }

  async createTopicLogs(topic: TopicState, eff: Map<string, string | null>): Promise<void> {
    await this.createPartitionLogs(topic, topic.partitions, eff);
  }

  async createPartitionLogs(topic: TopicState, parts: PartitionState[], eff: Map<string, string | null>): Promise<void> {
    const logConfig = toLogConfig(eff);
    const settings = toProduceSettings(eff);
    for (const p of parts) {
      // A log left on disk by an earlier incarnation of the name (not one that is serving) is stale.
      if (this.partitions.has(`${topic.name}-${p.partition}`)) throw new Error(`partition ${topic.name}-${p.partition} is already hosted`);
      const existing = this.logs.getLog(topic.name, p.partition);
      if (existing) await this.logs.deleteLog(topic.name, p.partition);
      const log = await this.logs.createLog(topic.name, p.partition, topic.topicId, logConfig);
      this.add(new Partition(topic.name, p.partition, topic.topicId, log, p.leaderEpoch, settings));
    }
  }

  async deleteTopicLogs(topic: TopicState): Promise<void> {
    const mine = (this.byTopic.get(topic.name) ?? []).filter((p) => p && p.topicId === topic.topicId);
    if (mine.length > 0) this.byTopic.delete(topic.name);
    for (const p of mine) {
      this.partitions.delete(p.key);
      p.notifyAppend(); // wake long polls so they answer with the topic gone
      await this.logs.deleteLog(topic.name, p.index);
    }
  }

  updateTopicConfig(topic: TopicState, eff: Map<string, string | null>): void {
    const logConfig = toLogConfig(eff);
    const settings = toProduceSettings(eff);
    for (const p of this.byTopic.get(topic.name) ?? []) {
      p.log.updateConfig(logConfig);
      p.settings = settings;
    }
  }

  /**
   * The ordered phase of a produce to one partition: validate every batch (header and CRC only),
   * then append. Synchronous, so appends from one connection land in request order. `origin`
   * 'coordinator' is for batches a coordinator writes (Kafka's AppendOrigin.COORDINATOR: producer
   * epochs are checked, sequences are not, no duplicate detection).
   */
  append(partition: Partition, records: Buffer | null, now: number, produceVersion: number, origin: AppendOrigin = 'client'): AppendResult {
    if (records === null || records.length === 0) return failed(ErrorCode.CORRUPT_MESSAGE, 'Produce request has no record batches');
    let batches: BatchSpan[];
    try {
      batches = splitBatches(records);
    } catch (err) {
      return failed(batchErrorCode(err, produceVersion), (err as Error).message, partition.logStartOffset);
    }
    const settings = partition.settings;
    for (let i = 0; i < batches.length; i++) {
      const span = batches[i]!;
      // Kafka's LogValidator makes the producer-only checks (no control batches, a sequence with a
      // producer id, ...) for client appends only.
      const v = validateBatchForAppend(records, span, { maxMessageBytes: settings.maxMessageBytes, origin: origin === 'client' ? 'client' : 'replication' });
      if (!v.ok) {
        const r = failed(ErrorCode[v.error], v.message, partition.logStartOffset);
        r.recordErrors.push({ batchIndex: i, batchIndexErrorMessage: v.message });
        return r;
      }
      const tsProblem = settings.logAppendTime ? undefined : timestampProblem(span, settings, now);
      if (tsProblem) {
        const r = failed(ErrorCode.INVALID_TIMESTAMP, tsProblem, partition.logStartOffset);
        r.recordErrors.push({ batchIndex: i, batchIndexErrorMessage: tsProblem });
        return r;
      }
    }
    let buf = records;
    try {
      // The only per-record work on the produce path, and only where the topic asks for it:
      // compacted topics need a key on every record, as Kafka's LogValidator checks.
      if (settings.compacted) {
        const keyless = batches.findIndex((b) => decodeBatch(records, b.pos).records.some((r) => r.key === null));
        if (keyless >= 0) {
          const r = failed(ErrorCode.INVALID_RECORD, `Compacted topic cannot accept message without key in topic partition ${partition.key}.`, partition.logStartOffset);
          r.recordErrors.push({ batchIndex: keyless, batchIndexErrorMessage: r.errorMessage });
          return r;
        }
      }
      if (settings.compression >= 0) {
        const rewritten = recompress(records, batches, settings);
        if (rewritten) ({ buf, batches } = rewritten);
      }
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      return failed(ErrorCode.CORRUPT_MESSAGE, `Malformed records for ${partition.key}: ${err.message}`, partition.logStartOffset);
    }
    let res;
    try {
      res = partition.log.tryAppend(buf, batches, { leaderEpoch: partition.leaderEpoch, now, origin });
    } catch (err) {
      this.logger.error('append failed', { partition: partition.key, error: err });
      return failed(ErrorCode.KAFKA_STORAGE_ERROR, `Append to ${partition.key} failed: ${(err as Error).message}`, partition.logStartOffset);
    }
    if ('error' in res) return rejected(res, partition.logStartOffset);
    if (res.duplicate) this.logger.debug('duplicate batch answered with its original offsets', { partition: partition.key, baseOffset: res.firstOffset });
    else partition.notifyAppend();
    return {
      errorCode: 0,
      errorMessage: null,
      baseOffset: res.firstOffset,
      logAppendTimeMs: res.logAppendTime,
      logStartOffset: res.logStartOffset,
      lastOffset: res.lastOffset,
      recordErrors: [],
    };
  }

  /**
   * Appends a transaction marker (a COMMIT or ABORT control batch) for the producer, as Kafka's
   * WriteTxnMarkers does on each partition of a transaction, and resolves once it is durable with
   * 0 or an error code. The marker ends the producer's transaction in this partition: the last
   * stable offset may move past it, and an ABORT is recorded for read_committed readers.
   */
  async writeTxnMarker(
    partition: Partition,
    m: {
      producerId: bigint;
      producerEpoch: number;
      coordinatorEpoch: number;
      commit: boolean;
      /** 2 when the transaction bumped the epoch for its marker (KIP-890 TV2); default 0. */
      transactionVersion?: number;
    },
  ): Promise<number> {
    const now = this.clock.now();
    const batch = encodeControlBatch({
      type: m.commit ? 'COMMIT' : 'ABORT',
      producerId: m.producerId,
      producerEpoch: m.producerEpoch,
      coordinatorEpoch: m.coordinatorEpoch,
      baseOffset: 0n, // assigned by the append
      timestamp: BigInt(now),
      partitionLeaderEpoch: partition.leaderEpoch,
    });
    let res;
    try {
      res = partition.log.tryAppend(batch, splitBatches(batch), {
        leaderEpoch: partition.leaderEpoch,
        now,
        origin: 'coordinator',
        transactionVersion: m.transactionVersion ?? 0,
      });
    } catch (err) {
      this.logger.error('transaction marker append failed', { partition: partition.key, error: err });
      return ErrorCode.KAFKA_STORAGE_ERROR;
    }
    // A stale producer epoch (INVALID_PRODUCER_EPOCH) or coordinator epoch
    // (TRANSACTION_COORDINATOR_FENCED): nothing was written.
    if ('error' in res) return ErrorCode[res.error];
    partition.notifyAppend();
    await partition.log.waitForDurable(res.lastOffset);
    return 0;
  }

  /** The durable phase: resolves when the append up to lastOffset is on disk per the topic's flush policy. */
  waitForDurable(partition: Partition, lastOffset: bigint): Promise<void> {
    return partition.log.waitForDurable(lastOffset);
  }

  async shutdown(): Promise<void> {
    await this.logs.shutdown();
  }

  private add(p: Partition): void {
    this.partitions.set(p.key, p);
    const list = this.byTopic.get(p.topic) ?? [];
    list[p.index] = p;
    this.byTopic.set(p.topic, list);
  }

}

/**
 * Kafka 4 rejects a v3+ produce holding an old-format (magic 0/1) batch with INVALID_RECORD;
 * the pre-v3 produce versions (served from the 2024 schemas) carry only old formats, which Fjord
 * does not store: UNSUPPORTED_FOR_MESSAGE_FORMAT.
 */
function batchErrorCode(err: unknown, produceVersion: number): number {
  if (err instanceof UnsupportedMagicError) return produceVersion >= 3 ? ErrorCode.INVALID_RECORD : ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT;
  if (err instanceof DecodeError) return ErrorCode[batchErrorName(err)];
  return ErrorCode.CORRUPT_MESSAGE;
}

function timestampProblem(span: BatchSpan, s: ProduceSettings, now: number): string | undefined {
  const h = span.header;
  if (h.maxTimestamp < 0n) return undefined;
  const max = Number(h.maxTimestamp);
  const first = Number(h.baseTimestamp);
  if (max - now > s.timestampAfterMaxMs)
    return `Timestamp ${max} of a record is out of range: more than message.timestamp.after.max.ms (${s.timestampAfterMaxMs}) ahead of the broker's time ${now}`;
  if (first >= 0 && now - first > s.timestampBeforeMaxMs)
    return `Timestamp ${first} of a record is out of range: more than message.timestamp.before.max.ms (${s.timestampBeforeMaxMs}) behind the broker's time ${now}`;
  return undefined;
}

/** Rewrites batches whose codec differs from the topic's compression.type (the one case with per-record work). */
function recompress(records: Buffer, batches: BatchSpan[], s: ProduceSettings): { buf: Buffer; batches: BatchSpan[] } | undefined {
  const target = s.compression === CompressionType.none ? CompressionType.none : s.compression;
  if (batches.every((b) => (b.header.attributes & COMPRESSION_CODEC_MASK) === target)) return undefined;
  const out: Buffer[] = [];
  for (const span of batches) {
    const { header, records: recs } = decodeBatch(records, span.pos);
    if ((header.attributes & COMPRESSION_CODEC_MASK) === target) {
      out.push(records.subarray(span.pos, span.pos + span.size));
      continue;
    }
    out.push(
      encodeBatch({
        baseOffset: 0n,
        compression: target,
        ...(s.compressionLevel !== undefined ? { compressionLevel: s.compressionLevel } : {}),
        timestampType: 'create',
        isTransactional: (header.attributes & 0x10) !== 0,
        isControl: (header.attributes & 0x20) !== 0,
        producerId: header.producerId,
        producerEpoch: header.producerEpoch,
        baseSequence: header.baseSequence,
        baseTimestamp: header.baseTimestamp,
        records: recs.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp, offsetDelta: r.offsetDelta })),
      }),
    );
  }
  const buf = Buffer.concat(out);
  return { buf, batches: splitBatches(buf) };
}

export type { PartitionLog };
