/**
 * Produce (key 0), v0-13 (v0-2 from the 2024 schemas; only magic-2 record batches are stored, older
 * message formats get UNSUPPORTED_FOR_MESSAGE_FORMAT). acks 0, 1 and -1 (all).
 *
 * The ordered phase (validate headers + CRC, assign offsets, write) runs synchronously for every
 * partition before the first await, so pipelined produce requests on one connection append in
 * order; this handler is registered as pipelined. With acks=all the response waits for the durable
 * phase (group-committed fdatasync per the topic's flush policy), bounded by timeoutMs. Each
 * partition's durable phase starts as soon as its append is written, so its fdatasync runs on the
 * thread pool while the next partitions of the request are still being validated and written.
 * acks=0 sends no response; on an error it closes the connection, as Kafka does, so the client
 * notices. v13 addresses topics by id (KIP-516).
 * Idempotent and transactional batches are checked against the partition's producer state in the
 * ordered phase (ReplicaManager.append): a retried batch is answered NONE with its original base
 * offset and not stored again; OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH and
 * INVALID_TXN_STATE refuse the partition's append without writing anything. With acks=all a
 * duplicate still waits for its original to be durable.
 * A transactional batch is first checked with the transaction coordinator (KIP-890 part 1,
 * TransactionCoordinator.verifyTransactionalProduce): its partition must be in the producer's
 * ongoing transaction. With transactions v2 the produce adds the partition itself; the coordinator
 * must write that down before the batch may be appended, so such a request holds its connection
 * (no later request on it starts) until the addition is durable, then appends, as Kafka holds it.
 */
import { ATTRIBUTES_OFFSET, BATCH_HEADER_BYTES, ErrorCode, MAGIC_OFFSET, PRODUCER_EPOCH_OFFSET, PRODUCER_ID_OFFSET, ProduceRequest, ProduceResponse, TRANSACTIONAL_FLAG_MASK, ZERO_UUID } from '@fjord/protocol';
import type { BrokerContext } from '../broker-context.js';
import type { TopicState } from '../metadata/metadata-store.js';
import { limits } from '../limits.js';
import { INTERNAL_TOPICS } from '../topics/topic-names.js';
import type { AppendResult } from '../partition/replica-manager.js';
import type { Partition } from '../partition/partition.js';
import { CLOSE_CONNECTION, defineHandler, NO_RESPONSE, type HandlerResult, type RequestContext } from './handler.js';

type PartitionResponse = ProduceResponse['responses'][number]['partitionResponses'][number];

export const produce = defineHandler({
  request: ProduceRequest,
  response: ProduceResponse,
  handle(ctx, req) {
    const b = ctx.broker;
    const byId = ctx.apiVersion >= 13;
    const acksValid = req.acks === 0 || req.acks === 1 || req.acks === -1;
    // The transaction coordinator's verdict on each partition's transactional batches, first: with
    // transactions v2 it may have to write the partition into the transaction before the append.
    const targets = req.topicData.map((topic) => {
      const state = byId ? b.metadata.topicById(topic.topicId) : b.metadata.topic(topic.name);
      return topic.partitionData.map((pd) => {
        const hosted = state && pd.index >= 0 && pd.index < state.partitions.length ? b.replicas.partition(state.name, pd.index) : undefined;
        const partition = hosted && hosted.topicId === state!.topicId ? hosted : undefined;
        const verdict = acksValid && partition && !INTERNAL_TOPICS.has(partition.topic) ? verifyTransactional(b, req.transactionalId, partition, pd.records as Buffer | null, ctx.apiVersion) : ErrorCode.NONE;
        return { state, partition, verdict };
      });
    });
    const waiting = targets.flat().filter((t) => typeof t.verdict !== 'number');
    if (waiting.length === 0) return appendAll(ctx, req, targets as Target[][]);
    // Hold this connection's next requests until the additions are durable, then append in order.
    const ready = Promise.all(
      waiting.map(async (t) => {
        t.verdict = await (t.verdict as Promise<number>).catch(() => ErrorCode.COORDINATOR_NOT_AVAILABLE);
      }),
    );
    // The hold ends once this request's ordered phase has run (not when `ready` settles: the
    // connection's next produce would then be appended first).
    const appended = ready.then(() => ({ result: appendAll(ctx, req, targets as Target[][]) }));
    ctx.holdConnection(appended);
    return appended.then((a) => a.result);
  },
});

interface Target {
  state: TopicState | undefined;
  partition: Partition | undefined;
  verdict: number;
}

/** The ordered phase for every partition (synchronous), each followed at once by the start of its durable phase for acks=all. */
function appendAll(ctx: RequestContext, req: ProduceRequest, targets: Target[][]): HandlerResult<ProduceResponse> | Promise<ProduceResponse> {
  const b = ctx.broker;
  const now = b.clock.now();
  const byId = ctx.apiVersion >= 13;
  const acksValid = req.acks === 0 || req.acks === 1 || req.acks === -1;
  const waits: DurableWait[] = [];
  let anyError = false;
  const responses = req.topicData.map((topic, ti) => {
    const partitionResponses = topic.partitionData.map((pd, pi): PartitionResponse => {
      const { state, partition, verdict } = targets[ti]![pi]!;
      let result: AppendResult;
      if (!acksValid) result = failure(ErrorCode.INVALID_REQUIRED_ACKS);
      else if (!partition) result = failure(byId && !state ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      // The coordinators own their topics: a client's records there would be replayed as state.
      else if (INTERNAL_TOPICS.has(partition.topic)) result = failure(ErrorCode.INVALID_TOPIC_EXCEPTION, `Cannot append to internal topic ${partition.topic}`);
      else if (verdict !== ErrorCode.NONE) result = failure(verdict);
      else result = b.replicas.append(partition, pd.records as Buffer | null, now, ctx.apiVersion);
      if (result.errorCode !== ErrorCode.NONE) anyError = true;
      const out = toResponse(pd.index, result);
      // The durable phase starts now: this partition's fdatasync runs while the next ones append.
      // Settled as a value, never rejected: a later partition's append cannot leave it unhandled.
      if (partition && result.errorCode === ErrorCode.NONE && req.acks === -1) {
        const durable = b.replicas.waitForDurable(partition, result.lastOffset).then(
          () => null,
          (err: Error) => err,
        );
        waits.push({ partition, out, durable });
      }
      return out;
    });
    return { name: byId ? '' : topic.name, topicId: byId ? topic.topicId : ZERO_UUID, partitionResponses };
  });
  const response = { responses, throttleTimeMs: 0, nodeEndpoints: [] };
  if (req.acks === 0) return anyError ? CLOSE_CONNECTION : NO_RESPONSE;
  if (waits.length === 0) return response;
  return awaitDurable(waits, Math.min(Math.max(req.timeoutMs, 0), limits.produceTimeoutMsMax)).then(() => response);
}

/**
 * The transaction coordinator's check of a transactional batch (read from the first batch's header:
 * a partition's batches share their producer, which the producer state enforces). 0 for anything
 * else, including bytes the append will refuse anyway; a promise when the coordinator first has to
 * add the partition to the transaction (transactions v2).
 */
function verifyTransactional(b: BrokerContext, transactionalId: string | null, p: Partition, records: Buffer | null, produceVersion: number): number | Promise<number> {
  if (records === null || records.length < BATCH_HEADER_BYTES || records.readInt8(MAGIC_OFFSET) !== 2) return ErrorCode.NONE;
  if ((records.readInt16BE(ATTRIBUTES_OFFSET) & TRANSACTIONAL_FLAG_MASK) === 0) return ErrorCode.NONE;
  return b.txn.verifyTransactionalProduce(transactionalId, records.readBigInt64BE(PRODUCER_ID_OFFSET), records.readInt16BE(PRODUCER_EPOCH_OFFSET), p.topic, p.index, produceVersion);
}

function failure(errorCode: number, errorMessage: string | null = null): AppendResult {
  return { errorCode, errorMessage, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n, lastOffset: -1n, recordErrors: [] };
}

function toResponse(index: number, r: AppendResult): PartitionResponse {
  return {
    index,
    errorCode: r.errorCode,
    baseOffset: r.baseOffset,
    logAppendTimeMs: r.logAppendTimeMs,
    logStartOffset: r.logStartOffset,
    recordErrors: r.recordErrors,
    errorMessage: r.errorMessage,
    currentLeader: { leaderId: -1, leaderEpoch: -1 },
  };
}

/** A partition of an acks=all request: its durable phase, started, resolving with null or the flush's error. */
interface DurableWait {
  partition: Partition;
  out: PartitionResponse;
  durable: Promise<Error | null>;
}

/**
 * Waits for every partition's durable phase; partitions not durable in time get REQUEST_TIMED_OUT.
 * A wait is not cut short when the connection closes: the sync it waits for is on its way anyway,
 * and a listener per waiting request on the connection's signal would pile up under pipelining.
 */
async function awaitDurable(waits: DurableWait[], timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    await Promise.all(
      waits.map(async (w) => {
        const r = await Promise.race([w.durable, timedOut]);
        if (r === 'timeout') {
          w.out.errorCode = ErrorCode.REQUEST_TIMED_OUT;
          w.out.errorMessage = `Data was written but not flushed within ${timeoutMs} ms`;
        } else if (r !== null) {
          w.out.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
          w.out.errorMessage = `Flush of ${w.partition.key} failed: ${r.message}`;
        }
      }),
    );
  } finally {
    clearTimeout(timer);
  }
}
