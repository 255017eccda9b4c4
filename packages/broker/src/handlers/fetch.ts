/**
 * Fetch (key 1), v0-18 (v0-3 from the 2024 schemas). Serves whole record batches straight from the
 * log: no decoding, no per-record work; the chunks read from disk (or, at the log end, from the
 * storage's in-memory tail) go to the socket as they are. Disk reads land in buffers leased from
 * the broker's ReadBufferPool, given back once the socket has taken the response (afterWrite).
 *
 * - Long poll: answers once min.bytes are available, on an error, or after max.wait.ms; it wakes
 *   on the append that satisfies it (Partition.watch), not on a polling timer.
 * - Byte limits: per partition (partitionMaxBytes) and per response (maxBytes, capped by the
 *   broker's fetch.max.bytes); the first partition with data may exceed both by one batch so a
 *   consumer always makes progress (KIP-74).
 * - Fetch sessions (KIP-227): see partition/fetch-sessions.ts.
 * - isolation_level read_committed (v4+): bounded by the last stable offset (the first offset of
 *   an open transaction, else the high watermark), with the aborted transactions that overlap the
 *   returned batches (from the segments' transaction indexes) so the client drops their records;
 *   control batches are returned as stored, clients skip them. lastStableOffset is reported at
 *   every isolation level, as Kafka does.
 * - v13+ addresses topics by id (UNKNOWN_TOPIC_ID); currentLeaderEpoch is checked (KIP-320);
 *   lastFetchedEpoch yields divergingEpoch when the log diverged (KIP-595).
 * Not yet: follower fetches (replicaId >= 0) are served like consumers; preferred read replica (KIP-392).
 * Versions 0-3 return the stored magic-2 batches as they are: Fjord stores only magic 2 and does
 * not down-convert (Kafka 4 dropped those versions; librdkafka, KafkaJS and kafka-python read
 * magic 2 at any version, a strict pre-0.11 client would not).
 */
import { ErrorCode, FetchRequest, FetchResponse, ZERO_UUID } from '@fjord/protocol';
import type { ReadBufferLease, ReadResult } from '@fjord/storage';
import type { BrokerContext } from '../broker-context.js';
import { limits } from '../limits.js';
import type { Partition } from '../partition/partition.js';
import { FINAL_EPOCH, INITIAL_EPOCH, sessionKey, type FetchSession, type SessionPartition } from '../partition/fetch-sessions.js';
import { defineHandler } from './handler.js';

/** One partition to read: what the request (or its session) asks for. */
type Entry = Pick<SessionPartition, 'topic' | 'topicId' | 'partition' | 'fetchOffset' | 'maxBytes' | 'currentLeaderEpoch' | 'lastFetchedEpoch'> & {
  session?: SessionPartition;
};

interface Result {
  errorCode: number;
  highWatermark: bigint;
  lastStableOffset: bigint;
  /** read_committed: the aborted transactions overlapping `records` (null on an error, as Kafka). */
  abortedTransactions: Array<{ producerId: bigint; firstOffset: bigint }> | null;
  logStartOffset: bigint;
  divergingEpoch: { epoch: number; endOffset: bigint };
  records: Buffer[];
  bytes: number;
  /** Had records to give but none fit its limit (read without minOneBatch). */
  overLimit?: boolean;
}

type Req = FetchRequest;
type PartitionData = FetchResponse['responses'][number]['partitions'][number];

export const fetch = defineHandler({
  request: FetchRequest,
  response: FetchResponse,
  async handle(ctx, req) {
    const b = ctx.broker;
    const v = ctx.apiVersion;
    const byId = v >= 13;
    const plan = planSession(b, req, v, byId);
    if (typeof plan === 'number') return errorResponse(plan, req.sessionId);
    const { entries, session, responseSessionId } = plan;

    const readCommitted = v >= 4 && req.isolationLevel === 1;
    const responseMax = Math.max(1, Math.min(v >= 3 ? req.maxBytes : 0x7fffffff, b.config.getInt('fetch.max.bytes')));
    const maxWaitMs = Math.min(Math.max(req.maxWaitMs, 0), limits.fetchWaitMsMax);
    const deadline = b.clock.now() + maxWaitMs;

    // The log end offsets seen before each read: an append that lands while the (async) read is
    // in flight has already fired its wake-up, so it is caught here instead of waiting max.wait.ms.
    // A consumer already at the end of every partition has nothing to read: it waits first.
    let ends = logEnds(b, entries);
    let round = req.minBytes > 0 && allAtEnd(b, entries, readCommitted) ? undefined : await readAll(b, entries, responseMax, readCommitted);
    while ((round === undefined || !satisfied(round.results, req.minBytes)) && !ctx.closed.aborted) {
      const left = deadline - b.clock.now();
      if (left <= 0) break;
      if (sameEnds(ends, logEnds(b, entries))) await waitForAppend(b, entries, left, ctx.closed);
      ends = logEnds(b, entries);
      round?.buffers.release(); // that round's chunks are dropped
      round = await readAll(b, entries, responseMax, readCommitted);
    }
    const { results, buffers } = round ?? (await readAll(b, entries, responseMax, readCommitted));

    // Group by topic, keeping request order; an incremental session answers only partitions with news.
    const topics: FetchResponse['responses'] = [];
    let current: FetchResponse['responses'][number] | undefined;
    const incremental = session !== undefined && req.sessionEpoch > INITIAL_EPOCH;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const r = results[i]!;
      if (incremental && !hasNews(e.session!, r)) continue;
      if (e.session) {
        e.session.sentHighWatermark = r.highWatermark;
        e.session.sentLastStableOffset = r.lastStableOffset;
        e.session.sentLogStartOffset = r.logStartOffset;
        if (r.bytes > 0 && session) {
          // Rotate partitions that returned data to the back, so others get the budget next time.
          const k = sessionKey(session.usesTopicIds ? e.topicId : e.topic, e.partition);
          session.partitions.delete(k);
          session.partitions.set(k, e.session);
        }
      }
      const data: PartitionData = {
        partitionIndex: e.partition,
        errorCode: r.errorCode,
        highWatermark: r.highWatermark,
        lastStableOffset: r.lastStableOffset,
        logStartOffset: r.logStartOffset,
        divergingEpoch: r.divergingEpoch,
        currentLeader: NO_LEADER,
        snapshotId: NO_SNAPSHOT,
        abortedTransactions: readCommitted ? r.abortedTransactions : null,
        preferredReadReplica: -1,
        records: r.records,
      };
      const sameTopic = current && (byId ? current.topicId === e.topicId : current.topic === e.topic);
      if (!sameTopic) {
        current = { topic: byId ? '' : e.topic, topicId: byId ? e.topicId : ZERO_UUID, partitions: [] };
        topics.push(current);
      }
      current!.partitions.push(data);
    }
    // A new session already expects epoch 1; an incremental fetch moves the expectation on by one.
    if (incremental && session) session.epoch += 1;
    // The response's chunks are views of these buffers until the socket has taken them.
    ctx.afterWrite(() => buffers.release());
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: responseSessionId, responses: topics, nodeEndpoints: [] };
  },
});

function errorResponse(errorCode: number, sessionId: number): FetchResponse {
  return { throttleTimeMs: 0, errorCode, sessionId: errorCode === ErrorCode.NONE ? sessionId : 0, responses: [], nodeEndpoints: [] };
}

/** Resolves the request's session semantics into the list of partitions to read. */
function planSession(
  b: BrokerContext,
  req: Req,
  v: number,
  byId: boolean,
): number | { entries: Entry[]; session?: FetchSession; responseSessionId: number } {
  const now = b.clock.now();
  const sessionId = v >= 7 ? req.sessionId : 0;
  const epoch = v >= 7 ? req.sessionEpoch : FINAL_EPOCH;
  const requested = toEntries(b, req, byId);

  if (epoch === FINAL_EPOCH || epoch === INITIAL_EPOCH) {
    if (sessionId !== 0) b.fetchSessions.remove(sessionId);
    if (epoch === FINAL_EPOCH) return { entries: requested, responseSessionId: 0 };
    const session = b.fetchSessions.create(now, byId);
    if (!session) return { entries: requested, responseSessionId: 0 };
    for (const e of requested) {
      e.session = newSessionPartition(e);
      session.partitions.set(sessionKey(byId ? e.topicId : e.topic, e.partition), e.session);
    }
    return { entries: requested, session, responseSessionId: session.id };
  }

  const found = b.fetchSessions.lookup(sessionId, epoch, now);
  if (typeof found === 'number') return found;
  const session = found;
  for (const e of requested) {
    const k = sessionKey(byId ? e.topicId : e.topic, e.partition);
    const existing = session.partitions.get(k);
    if (existing) {
      existing.fetchOffset = e.fetchOffset;
      existing.maxBytes = e.maxBytes;
      existing.currentLeaderEpoch = e.currentLeaderEpoch;
      existing.lastFetchedEpoch = e.lastFetchedEpoch;
    } else {
      session.partitions.set(k, newSessionPartition(e));
    }
  }
  for (const f of req.forgottenTopicsData ?? []) {
    const key = byId ? f.topicId : f.topic;
    for (const p of f.partitions) session.partitions.delete(sessionKey(key, p));
  }
  const entries: Entry[] = [...session.partitions.values()].map((s) => ({
    topic: s.topic,
    topicId: s.topicId,
    partition: s.partition,
    fetchOffset: s.fetchOffset,
    maxBytes: s.maxBytes,
    currentLeaderEpoch: s.currentLeaderEpoch,
    lastFetchedEpoch: s.lastFetchedEpoch,
    session: s,
  }));
  return { entries, session, responseSessionId: session.id };
}

function toEntries(b: BrokerContext, req: Req, byId: boolean): Entry[] {
  const out: Entry[] = [];
  for (const t of req.topics) {
    const name = byId ? (b.metadata.topicById(t.topicId)?.name ?? '') : t.topic;
    // Before v13 topics go by name only: ids are not compared, so a topic re-created under the
    // same name is simply that topic (those versions have no UNKNOWN_TOPIC_ID).
    const topicId = byId ? t.topicId : ZERO_UUID;
    for (const p of t.partitions) {
      out.push({
        topic: name,
        topicId,
        partition: p.partition,
        fetchOffset: p.fetchOffset,
        maxBytes: p.partitionMaxBytes,
        currentLeaderEpoch: p.currentLeaderEpoch,
        lastFetchedEpoch: p.lastFetchedEpoch,
      });
    }
  }
  return out;
}

function newSessionPartition(e: Entry): SessionPartition {
  return {
    topic: e.topic,
    topicId: e.topicId,
    partition: e.partition,
    fetchOffset: e.fetchOffset,
    maxBytes: e.maxBytes,
    currentLeaderEpoch: e.currentLeaderEpoch,
    lastFetchedEpoch: e.lastFetchedEpoch,
    logStartOffset: -1n,
    sentHighWatermark: -2n,
    sentLastStableOffset: -2n,
    sentLogStartOffset: -2n,
  };
}

function hasNews(s: SessionPartition, r: Result): boolean {
  return (
    r.bytes > 0 ||
    r.errorCode !== ErrorCode.NONE ||
    r.highWatermark !== s.sentHighWatermark ||
    r.lastStableOffset !== s.sentLastStableOffset ||
    r.logStartOffset !== s.sentLogStartOffset
  );
}

function satisfied(results: Result[], minBytes: number): boolean {
  let bytes = 0;
  for (const r of results) {
    if (r.errorCode !== ErrorCode.NONE) return true;
    bytes += r.bytes;
  }
  return bytes >= Math.max(minBytes, 0) || results.length === 0;
}

/** Shared by every partition of every response: the encoder only reads them. */
const NO_DIVERGENCE = { epoch: -1, endOffset: -1n };
const NO_LEADER = { leaderId: -1, leaderEpoch: -1 };
const NO_SNAPSHOT = { endOffset: -1n, epoch: -1 };
/** Shared by every result with nothing in it: responses only read them. */
const NO_RECORDS: Buffer[] = [];
const NO_ABORTED: Array<{ producerId: bigint; firstOffset: bigint }> = [];

function errorResult(errorCode: number, p?: Partition): Result {
  const hw = p ? p.highWatermark : -1n;
  return {
    errorCode,
    highWatermark: hw,
    lastStableOffset: p ? p.lastStableOffset : -1n,
    abortedTransactions: errorCode === ErrorCode.NONE ? NO_ABORTED : null,
    logStartOffset: p ? p.logStartOffset : -1n,
    divergingEpoch: NO_DIVERGENCE,
    records: NO_RECORDS,
    bytes: 0,
  };
}

/**
 * Reads every partition, in request order for the budgets: responseMax shrinks as partitions
 * return bytes, and only the first partition with data may exceed its limit by one batch (KIP-74,
 * as Kafka's minOneMessage). When the partitions' limits together fit in responseMax the budget
 * cannot bind, so the reads run concurrently (a partition read from the files is two or three
 * thread-pool round trips; in turn, eight partitions cost eight times that); only when a partition
 * ahead of the first with data returned nothing because its first batch is over its limit (it
 * would have been given that batch) are they read again in turn.
 *
 * File bytes are read into `buffers`, leased from the broker's pool: the results' chunks are valid
 * until it is released.
 */
async function readAll(b: BrokerContext, entries: Entry[], responseMax: number, readCommitted: boolean): Promise<{ results: Result[]; buffers: ReadBufferLease }> {
  if (entries.length > 1) {
    let total = 0;
    for (const e of entries) total += Math.max(0, e.maxBytes);
    if (total <= responseMax) {
      const buffers = b.readBuffers.lease();
      const reads = entries.map((e) => readOne(b, e, Math.max(0, e.maxBytes), false, readCommitted, buffers));
      // Reads answered from the in-memory tail are already done: wait only when one is not.
      const results = reads.some((r) => r instanceof Promise) ? await Promise.all(reads) : (reads as Result[]);
      const firstWithData = results.findIndex((r) => r.bytes > 0);
      const ahead = firstWithData < 0 ? results : results.slice(0, firstWithData);
      if (!ahead.some((r) => r.overLimit)) return { results, buffers };
      buffers.release();
    }
  }
  const buffers = b.readBuffers.lease();
  const results: Result[] = [];
  let budget = responseMax;
  let first = true;
  for (const e of entries) {
    const read = readOne(b, e, Math.max(0, Math.min(e.maxBytes, budget)), first, readCommitted, buffers);
    const r = read instanceof Promise ? await read : read;
    if (r.bytes > 0) first = false;
    budget -= r.bytes;
    results.push(r);
  }
  return { results, buffers };
}

/**
 * One partition's read within `limit` bytes (`minOneBatch`: its first batch whole even if larger).
 * Synchronous when nothing needs waiting for: an error, nothing to read, or a read the in-memory
 * tail answers (a consumer at the log end); a promise only when the files must be read.
 */
function readOne(b: BrokerContext, e: Entry, limit: number, minOneBatch: boolean, readCommitted: boolean, buffers: ReadBufferLease): Result | Promise<Result> {
  const p = hostedPartition(b, e);
  if (!p || otherTopicId(e, p)) {
    const unknownId = e.topic === '' || (e.topicId !== ZERO_UUID && p !== undefined);
    return errorResult(unknownId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  }
  if (e.currentLeaderEpoch >= 0 && e.currentLeaderEpoch !== p.leaderEpoch) {
    return errorResult(e.currentLeaderEpoch < p.leaderEpoch ? ErrorCode.FENCED_LEADER_EPOCH : ErrorCode.UNKNOWN_LEADER_EPOCH, p);
  }
  const hw = p.highWatermark;
  if (e.lastFetchedEpoch >= 0) {
    const end = p.log.endOffsetForEpoch(e.lastFetchedEpoch);
    if (end.leaderEpoch !== e.lastFetchedEpoch || end.endOffset < e.fetchOffset) {
      return { ...errorResult(ErrorCode.NONE, p), divergingEpoch: { epoch: end.leaderEpoch, endOffset: end.endOffset } };
    }
  }
  if (e.fetchOffset < p.logStartOffset || e.fetchOffset > p.logEndOffset) return errorResult(ErrorCode.OFFSET_OUT_OF_RANGE, p);
  const lso = p.lastStableOffset;
  const upper = readCommitted ? lso : hw;
  const mayBeOverLimit = e.fetchOffset < upper && !minOneBatch;
  if (!(e.fetchOffset < upper && (limit > 0 || minOneBatch))) return readResult(p, hw, lso, null, mayBeOverLimit);
  let read: ReadResult | Promise<ReadResult>;
  try {
    read = p.log.readNow(e.fetchOffset, limit, { maxOffset: upper, minOneBatch, abortedTransactions: readCommitted, buffers });
  } catch (err) {
    return readFailed(b, p, err);
  }
  if (!(read instanceof Promise)) return readResult(p, hw, lso, read, mayBeOverLimit);
  return read.then(
    (r) => readResult(p, hw, lso, r, mayBeOverLimit),
    (err: unknown) => readFailed(b, p, err),
  );
}

/**
 * True when every partition is readable and the fetch is at its end (the high watermark, or the
 * last stable offset for read_committed): each read would return no bytes and no error.
 */
function allAtEnd(b: BrokerContext, entries: Entry[], readCommitted: boolean): boolean {
  if (entries.length === 0) return false;
  for (const e of entries) {
    const p = hostedPartition(b, e);
    if (!p || otherTopicId(e, p)) return false;
    if ((e.currentLeaderEpoch >= 0 && e.currentLeaderEpoch !== p.leaderEpoch) || e.lastFetchedEpoch >= 0) return false;
    if (e.fetchOffset !== (readCommitted ? p.lastStableOffset : p.highWatermark) || e.fetchOffset < p.logStartOffset) return false;
  }
  return true;
}

/** `mayBeOverLimit`: there was something to read and the reader did not have to get a first batch. */
function readResult(p: Partition, hw: bigint, lso: bigint, read: ReadResult | null, mayBeOverLimit: boolean): Result {
  const bytes = read ? read.bytes : 0;
  let aborted: Result['abortedTransactions'] = NO_ABORTED;
  if (read?.abortedTransactions && read.abortedTransactions.length > 0) {
    // Sorted by first offset (Kafka lists them in marker order): the Java client and librdkafka
    // sort them themselves, but KafkaJS 2.2.4 assumes this order and otherwise lets aborted
    // records of interleaved transactions through.
    aborted = read.abortedTransactions.map((t) => ({ producerId: t.producerId, firstOffset: t.firstOffset })).sort((x, y) => (x.firstOffset < y.firstOffset ? -1 : x.firstOffset > y.firstOffset ? 1 : 0));
  }
  return {
    errorCode: ErrorCode.NONE,
    highWatermark: hw,
    lastStableOffset: lso,
    abortedTransactions: aborted,
    logStartOffset: p.logStartOffset,
    divergingEpoch: NO_DIVERGENCE,
    records: read ? read.chunks : NO_RECORDS,
    bytes,
    overLimit: bytes === 0 && mayBeOverLimit,
  };
}

function readFailed(b: BrokerContext, p: Partition, err: unknown): Result {
  if ((err as { name?: string }).name === 'OffsetOutOfRangeError') return errorResult(ErrorCode.OFFSET_OUT_OF_RANGE, p);
  b.logger.error('fetch read failed', { partition: p.key, error: err });
  return errorResult(ErrorCode.KAFKA_STORAGE_ERROR, p);
}

/** The partition an entry names, if this broker hosts it ('' is a topic id no topic has). */
function hostedPartition(b: BrokerContext, e: Entry): Partition | undefined {
  return e.topic === '' ? undefined : b.replicas.partition(e.topic, e.partition);
}

/** True when the entry names its topic by an id that is not this partition's topic's (a recreated topic). */
function otherTopicId(e: Entry, p: Partition): boolean {
  return e.topicId !== ZERO_UUID && p.topicId !== e.topicId;
}

function logEnds(b: BrokerContext, entries: Entry[]): bigint[] {
  return entries.map((e) => hostedPartition(b, e)?.logEndOffset ?? -1n);
}

function sameEnds(a: bigint[], b: bigint[]): boolean {
  return a.every((x, i) => x === b[i]);
}

/** Resolves on the first append to any of the partitions, the deadline, or the connection closing. */
function waitForAppend(b: BrokerContext, entries: Entry[], timeoutMs: number, closed: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const watched: Partition[] = [];
    let timer: NodeJS.Timeout | undefined;
    const done = (): void => {
      clearTimeout(timer);
      for (const p of watched) p.unwatch(done);
      closed.removeEventListener('abort', done);
      resolve();
    };
    for (const e of entries) {
      const p = hostedPartition(b, e);
      if (p) {
        p.watch(done);
        watched.push(p);
      }
    }
    timer = setTimeout(done, timeoutMs);
    closed.addEventListener('abort', done, { once: true });
  });
}
