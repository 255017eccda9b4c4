/**
 * ShareFetch and ShareAcknowledge, as Kafka's SharePartitionManager and KafkaApis serve them:
 * share sessions, the share-partitions of every group on this broker, acquisition of records read
 * from the log, acknowledgements (answered once durable in __share_group_state) and long polls.
 *
 * A share-partition is created on the first ShareFetch for it: from its persisted state, or at
 * share.auto.offset.reset's default "latest" (the high watermark), which is then written at once
 * so a restart does not move it. Reads go to the log exactly as Fetch does (whole batches, no
 * decoding); only batch headers are looked at, to know the offsets a read covers.
 */
import { ErrorCode, ZERO_UUID } from '@fjord/protocol';
import type { Clock } from '../broker-context.js';
import type { BrokerConfig } from '../config/broker-configs.js';
import { limits } from '../limits.js';
import type { Logger } from '../logger.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import type { Partition } from '../partition/partition.js';
import type { ReplicaManager } from '../partition/replica-manager.js';
import type { ShareCoordinator } from './share-coordinator.js';
import { AcknowledgeType, SharePartition, type AckBatch, type AckResult, type AcquiredRecords, type LogBatch } from './share-partition.js';
import { FINAL_EPOCH, INITIAL_EPOCH, nextEpoch, partitionKey, ShareSessionCache, type ShareSession } from './share-sessions.js';

export interface SharePartitionManagerDeps {
  config: BrokerConfig;
  replicas: ReplicaManager;
  metadata: MetadataStore;
  clock: Clock;
  logger: Logger;
  state: ShareCoordinator;
  /** Whether a share group of that id exists. */
  isShareGroup(groupId: string): boolean;
}

export interface AckInput {
  topicId: string;
  partition: number;
  batches: AckBatch[];
}

export interface ShareFetchInput {
  groupId: string;
  memberId: string;
  shareSessionEpoch: number;
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  maxRecords: number;
  batchSize: number;
  /** 0 batch-optimized, 1 record-limit (KIP-1206). */
  shareAcquireMode: number;
  isRenewAck: boolean;
  topics: Array<{ topicId: string; partitions: Array<{ partitionIndex: number; acks: AckBatch[] }> }>;
  forgotten: Array<{ topicId: string; partitions: number[] }>;
}

export interface SharePartitionAnswer {
  partitionIndex: number;
  errorCode: number;
  errorMessage: string | null;
  acknowledgeErrorCode: number;
  acknowledgeErrorMessage: string | null;
  records: Buffer[];
  acquiredRecords: AcquiredRecords[];
}

export interface ShareFetchAnswer {
  errorCode: number;
  errorMessage: string | null;
  acquisitionLockTimeoutMs: number;
  responses: Array<{ topicId: string; partitions: SharePartitionAnswer[] }>;
}

export interface ShareAcknowledgeInput {
  groupId: string;
  memberId: string;
  shareSessionEpoch: number;
  isRenewAck: boolean;
  topics: Array<{ topicId: string; partitions: Array<{ partitionIndex: number; acks: AckBatch[] }> }>;
}

export interface ShareAcknowledgeAnswer {
  errorCode: number;
  errorMessage: string | null;
  acquisitionLockTimeoutMs: number;
  responses: Array<{ topicId: string; partitions: Array<{ partitionIndex: number; errorCode: number; errorMessage: string | null }> }>;
}

interface Entry {
  readonly groupId: string;
  readonly topicId: string;
  readonly partition: number;
  readonly sp: SharePartition;
  /** Resolves once the share-partition's initial state is durable. */
  ready: Promise<void>;
  /** Serializes read-and-acquire on this share-partition (Kafka's fetch lock). */
  fetching: Promise<void>;
  /** Bumped whenever records may have become acquirable: long polls compare it. */
  changes: number;
  readonly waiters: Set<() => void>;
}

/** One partition a ShareFetch reads, and what came of it. */
interface Target {
  topicId: string;
  partition: number;
  errorCode: number;
  errorMessage: string | null;
  records: Buffer[];
  acquired: AcquiredRecords[];
  /** The log partition and share-partition, when they exist. */
  p?: Partition;
  entry?: Entry;
}

const entryKey = (groupId: string, topicId: string, partition: number): string => `${groupId}:${topicId}:${partition}`;

export class SharePartitionManager {
  private readonly entries = new Map<string, Entry>();
  readonly sessions: ShareSessionCache;
  private readonly watchedConnections = new WeakSet<AbortSignal>();

  constructor(private readonly deps: SharePartitionManagerDeps) {
    this.sessions = new ShareSessionCache(() => deps.config.getInt('group.share.max.share.sessions'));
  }

  private lockDurationMs(): number {
    return this.deps.config.getInt('group.share.record.lock.duration.ms');
  }

  shutdown(): void {
    for (const e of this.entries.values()) e.sp.close();
    this.entries.clear();
    this.sessions.clear();
  }

  /** DeleteGroups removed the group: its share-partitions, sessions and persisted state go too. */
  async deleteGroup(groupId: string): Promise<void> {
    for (const [k, e] of this.entries) {
      if (e.groupId !== groupId) continue;
      e.sp.close();
      this.entries.delete(k);
    }
    this.sessions.removeGroup(groupId);
    await this.deps.state.deleteGroup(groupId);
  }

  // ---- ShareFetch ----

  async fetch(req: ShareFetchInput, connection: AbortSignal): Promise<ShareFetchAnswer> {
    const lockMs = this.lockDurationMs();
    const fail = (errorCode: number, errorMessage: string): ShareFetchAnswer => ({ errorCode, errorMessage, acquisitionLockTimeoutMs: lockMs, responses: [] });
    const acks: AckInput[] = [];
    for (const t of req.topics) for (const p of t.partitions) if (p.acks.length > 0) acks.push({ topicId: t.topicId, partition: p.partitionIndex, batches: p.acks });

    // The session (Kafka's SharePartitionManager.newContext).
    let session: ShareSession | undefined;
    const epoch = req.shareSessionEpoch;
    if (epoch === INITIAL_EPOCH) {
      if (acks.length > 0) return fail(ErrorCode.INVALID_REQUEST, 'Acknowledge data present in Initial Fetch Request');
      const wanted: Array<[string, number]> = req.topics.flatMap((t) => t.partitions.map((p) => [t.topicId, p.partitionIndex] as [string, number]));
      session = this.sessions.create(req.groupId, req.memberId, connection, wanted);
      if (!session) return fail(ErrorCode.SHARE_SESSION_LIMIT_REACHED, 'The limit of share sessions has been reached');
      this.watchConnection(connection);
    } else {
      session = this.sessions.get(req.groupId, req.memberId);
      if (!session) return fail(ErrorCode.SHARE_SESSION_NOT_FOUND, `Share session for member ${req.memberId} of group ${req.groupId} not found`);
      if (epoch !== FINAL_EPOCH) {
        if (session.epoch !== epoch) return fail(ErrorCode.INVALID_SHARE_SESSION_EPOCH, `Expected share session epoch ${session.epoch}, got ${epoch}`);
        for (const t of req.topics) {
          for (const p of t.partitions) {
            const k = partitionKey(t.topicId, p.partitionIndex);
            if (!session.partitions.has(k)) session.partitions.set(k, { topicId: t.topicId, partition: p.partitionIndex, requiresUpdate: true });
          }
        }
        for (const f of req.forgotten) for (const p of f.partitions) session.partitions.delete(partitionKey(f.topicId, p));
        session.epoch = nextEpoch(session.epoch);
      }
    }

    const ackResults = await this.acknowledgeAll(req.groupId, req.memberId, acks, req.isRenewAck);
    const ackOnly = (): ShareFetchAnswer => ({ errorCode: 0, errorMessage: null, acquisitionLockTimeoutMs: lockMs, responses: groupByTopic(acks.map((a) => ({ topicId: a.topicId, item: ackAnswer(a.partition, ackResults.get(partitionKey(a.topicId, a.partition))!) }))) });
    if (epoch === FINAL_EPOCH) {
      await this.releaseSession(session);
      return ackOnly();
    }
    // KIP-1222: a renewal fetches nothing, so the time spent fetching does not eat the new lock.
    if (req.isRenewAck) return ackOnly();

    const targets = this.targetsOf(session, epoch);
    const responseMax = Math.max(1, Math.min(req.maxBytes, this.deps.config.getInt('fetch.max.bytes')));
    const deadline = this.deps.clock.now() + Math.min(Math.max(req.maxWaitMs, 0), limits.fetchWaitMsMax);
    // A session without partitions has nothing to wait for (Kafka completes such a fetch at once).
    while (targets.length > 0) {
      const before = this.changeMarks(targets);
      await this.acquireAll(req, targets, responseMax);
      if (targets.some((t) => t.acquired.length > 0 || t.errorCode !== 0) || connection.aborted) break;
      const left = deadline - this.deps.clock.now();
      if (left <= 0) break;
      if (sameMarks(before, this.changeMarks(targets))) await this.waitForChange(targets, left, connection);
    }

    // Full requests answer every session partition; incremental ones those with news (Kafka's
    // ShareSessionContext): data, an error, an acknowledgement result, or new in the session.
    const answers = new Map<string, SharePartitionAnswer>();
    for (const t of targets) {
      const k = partitionKey(t.topicId, t.partition);
      const sp = session.partitions.get(k);
      const news = t.acquired.length > 0 || t.errorCode !== 0 || ackResults.has(k) || sp?.requiresUpdate === true;
      if (epoch !== INITIAL_EPOCH && !news) continue;
      if (sp) sp.requiresUpdate = t.errorCode !== 0;
      const a = ackResults.get(k);
      answers.set(k, {
        partitionIndex: t.partition,
        errorCode: t.errorCode,
        errorMessage: t.errorMessage,
        acknowledgeErrorCode: a?.errorCode ?? 0,
        acknowledgeErrorMessage: a?.errorMessage ?? null,
        records: t.records,
        acquiredRecords: t.acquired,
      });
    }
    for (const a of acks) {
      const k = partitionKey(a.topicId, a.partition);
      if (!answers.has(k)) answers.set(k, ackAnswer(a.partition, ackResults.get(k)!));
    }
    const items = [...answers].map(([k, item]) => ({ topicId: k.slice(0, k.lastIndexOf(':')), item }));
    return { errorCode: 0, errorMessage: null, acquisitionLockTimeoutMs: lockMs, responses: groupByTopic(items) };
  }

  /** The session's partitions, rotated by epoch so each gets to go first (Kafka's round robin). */
  private targetsOf(session: ShareSession, epoch: number): Target[] {
    const list = [...session.partitions.values()].map((s): Target => ({ topicId: s.topicId, partition: s.partition, errorCode: 0, errorMessage: null, records: [], acquired: [] }));
    const by = list.length > 1 && epoch > 0 ? epoch % list.length : 0;
    return by === 0 ? list : [...list.slice(by), ...list.slice(0, by)];
  }

  /** One pass over the targets: resolve each, then read and acquire until maxRecords are taken. */
  private async acquireAll(req: ShareFetchInput, targets: Target[], responseMax: number): Promise<void> {
    let remaining = req.maxRecords;
    const perPartitionBytes = Math.max(1, Math.floor(responseMax / Math.max(1, targets.length)));
    for (const t of targets) {
      if (t.errorCode !== 0) continue;
      if (!t.entry) {
        const problem = await this.resolve(req.groupId, t);
        if (problem) continue;
      }
      if (remaining <= 0) continue;
      const e = t.entry!;
      const p = t.p!;
      const acquired = await this.withFetchLock(e, () => this.readAndAcquire(req, e, p, remaining, perPartitionBytes, t));
      for (const a of acquired) remaining -= Number(a.lastOffset - a.firstOffset) + 1;
    }
  }

  /** Finds the log partition and share-partition of a target, or sets its error code. */
  private async resolve(groupId: string, t: Target): Promise<boolean> {
    const set = (errorCode: number, errorMessage: string): boolean => {
      t.errorCode = errorCode;
      t.errorMessage = errorMessage;
      return true;
    };
    const topic = t.topicId === ZERO_UUID ? undefined : this.deps.metadata.topicById(t.topicId);
    if (!topic) return set(ErrorCode.UNKNOWN_TOPIC_ID, 'This server does not host this topic ID.');
    const p = this.deps.replicas.partition(topic.name, t.partition);
    if (!p || p.topicId !== t.topicId) return set(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.');
    if (!this.deps.isShareGroup(groupId)) return set(ErrorCode.GROUP_ID_NOT_FOUND, `Share group ${groupId} not found.`);
    try {
      t.entry = await this.entryFor(groupId, t.topicId, t.partition, p);
    } catch (err) {
      return set((err as { errorCode?: number }).errorCode ?? ErrorCode.COORDINATOR_NOT_AVAILABLE, `Share-partition state could not be initialized: ${(err as Error).message}`);
    }
    t.p = p;
    return false;
  }

  private async readAndAcquire(req: ShareFetchInput, e: Entry, p: Partition, remaining: number, maxBytes: number, t: Target): Promise<AcquiredRecords[]> {
    const sp = e.sp;
    if (p.logStartOffset > sp.startOffset) sp.onLogStartOffset(p.logStartOffset);
    if (!sp.canAcquire()) return [];
    const from = sp.nextFetchOffset();
    const hw = p.highWatermark;
    if (from >= hw) return [];
    let chunks: Buffer[];
    try {
      chunks = (await p.log.read(from, maxBytes, { maxOffset: hw, minOneBatch: true })).chunks;
    } catch (err) {
      if ((err as { name?: string }).name === 'OffsetOutOfRangeError') {
        sp.onLogStartOffset(p.logStartOffset);
        return [];
      }
      this.deps.logger.error('share fetch read failed', { partition: p.key, error: err });
      t.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
      t.errorMessage = (err as Error).message;
      return [];
    }
    const spans = batchSpans(chunks);
    if (spans.length === 0) return [];
    const acquired = sp.acquire(req.memberId, remaining, from, spans, { strict: req.shareAcquireMode === 1, batchSize: req.batchSize });
    if (acquired.length === 0) return [];
    t.acquired.push(...acquired);
    t.records.push(...slice(chunks, spans, acquired[0]!.firstOffset, acquired[acquired.length - 1]!.lastOffset));
    return acquired;
  }

  private async withFetchLock<T>(e: Entry, fn: () => Promise<T>): Promise<T> {
    const prev = e.fetching;
    let release!: () => void;
    e.fetching = new Promise<void>((r) => (release = r));
    try {
      await prev;
      return await fn();
    } finally {
      release();
    }
  }

  /** The share-partition, created (and its start offset persisted) on first use. */
  private async entryFor(groupId: string, topicId: string, partition: number, p: Partition): Promise<Entry> {
    const key = entryKey(groupId, topicId, partition);
    let e = this.entries.get(key);
    if (!e) {
      const persisted = this.deps.state.read(groupId, topicId, partition);
      // share.auto.offset.reset=latest (Kafka's default) for a share-partition with no state.
      const start = persisted && persisted.startOffset >= 0n ? persisted.startOffset : p.highWatermark;
      const entry: Entry = { groupId, topicId, partition, sp: undefined as unknown as SharePartition, ready: Promise.resolve(), fetching: Promise.resolve(), changes: 0, waiters: new Set() };
      const host = {
        now: () => this.deps.clock.now(),
        schedule: (delayMs: number, fn: () => void) => {
          const timer = setTimeout(fn, delayMs);
          timer.unref();
          return () => clearTimeout(timer);
        },
        deliveryCountLimit: () => this.deps.config.getInt('group.share.delivery.count.limit'),
        lockDurationMs: () => this.lockDurationMs(),
        maxInFlightRecords: () => this.deps.config.getInt('group.share.partition.max.record.locks'),
        persist: (startOffset: bigint, batches: Parameters<ShareCoordinator['write']>[3]['batches']) => this.deps.state.write(groupId, topicId, partition, { startOffset, leaderEpoch: p.leaderEpoch, batches }),
        changed: () => {
          entry.changes++;
          for (const w of [...entry.waiters]) w();
        },
        warn: (msg: string, fields: Record<string, unknown>) => this.deps.logger.warn(msg, { group: groupId, topicId, partition, ...fields }),
      };
      (entry as { sp: SharePartition }).sp = new SharePartition(host, start, persisted?.batches ?? []);
      if (!persisted) {
        entry.ready = this.deps.state.write(groupId, topicId, partition, { startOffset: start, leaderEpoch: p.leaderEpoch, batches: [] }).catch((err) => {
          if (this.entries.get(key) === entry) this.entries.delete(key);
          entry.sp.close();
          throw err;
        });
      }
      this.entries.set(key, entry);
      e = entry;
    }
    await e.ready;
    return e;
  }

  private changeMarks(targets: readonly Target[]): Array<number | bigint> {
    return targets.flatMap((t) => [t.entry?.changes ?? -1, t.p?.logEndOffset ?? -1n]);
  }

  /** Resolves on an append to a target, records becoming acquirable, the deadline or the connection closing. */
  private waitForChange(targets: readonly Target[], timeoutMs: number, closed: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const undo: Array<() => void> = [];
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(timer);
        for (const u of undo) u();
        closed.removeEventListener('abort', done);
        resolve();
      };
      for (const t of targets) {
        const p = t.p;
        if (p) {
          p.watch(done);
          undo.push(() => p.unwatch(done));
        }
        const e = t.entry;
        if (e) {
          e.waiters.add(done);
          undo.push(() => e.waiters.delete(done));
        }
      }
      timer = setTimeout(done, timeoutMs);
      closed.addEventListener('abort', done, { once: true });
    });
  }

  // ---- ShareAcknowledge ----

  async acknowledge(req: ShareAcknowledgeInput): Promise<ShareAcknowledgeAnswer> {
    const lockMs = this.lockDurationMs();
    const fail = (errorCode: number, errorMessage: string): ShareAcknowledgeAnswer => ({ errorCode, errorMessage, acquisitionLockTimeoutMs: lockMs, responses: [] });
    // Kafka's acknowledgeSessionUpdate: no session can start here.
    if (req.shareSessionEpoch === INITIAL_EPOCH) return fail(ErrorCode.INVALID_SHARE_SESSION_EPOCH, 'ShareAcknowledge cannot open a share session (epoch 0)');
    const session = this.sessions.get(req.groupId, req.memberId);
    if (!session) return fail(ErrorCode.SHARE_SESSION_NOT_FOUND, `Share session for member ${req.memberId} of group ${req.groupId} not found`);
    if (req.shareSessionEpoch !== FINAL_EPOCH) {
      if (session.epoch !== req.shareSessionEpoch) return fail(ErrorCode.INVALID_SHARE_SESSION_EPOCH, `Expected share session epoch ${session.epoch}, got ${req.shareSessionEpoch}`);
      session.epoch = nextEpoch(session.epoch);
    }
    const acks: AckInput[] = req.topics.flatMap((t) => t.partitions.map((p) => ({ topicId: t.topicId, partition: p.partitionIndex, batches: p.acks })));
    const results = await this.acknowledgeAll(req.groupId, req.memberId, acks, req.isRenewAck);
    if (req.shareSessionEpoch === FINAL_EPOCH) await this.releaseSession(session);
    const items = acks.map((a) => {
      const r = results.get(partitionKey(a.topicId, a.partition))!;
      return { topicId: a.topicId, item: { partitionIndex: a.partition, errorCode: r.errorCode, errorMessage: r.errorMessage } };
    });
    return { errorCode: 0, errorMessage: null, acquisitionLockTimeoutMs: lockMs, responses: groupByTopic(items) };
  }

  /** Validates and applies acknowledgements, one result per partition (all or nothing within one). */
  private async acknowledgeAll(groupId: string, memberId: string, acks: readonly AckInput[], allowRenew: boolean): Promise<Map<string, AckResult>> {
    const out = new Map<string, AckResult>();
    await Promise.all(
      acks.map(async (a) => {
        const k = partitionKey(a.topicId, a.partition);
        const problem = ackBatchesProblem(a.batches, allowRenew);
        if (problem) return void out.set(k, { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem });
        const topic = a.topicId === ZERO_UUID ? undefined : this.deps.metadata.topicById(a.topicId);
        if (!topic) return void out.set(k, { errorCode: ErrorCode.UNKNOWN_TOPIC_ID, errorMessage: 'This server does not host this topic ID.' });
        const e = this.entries.get(entryKey(groupId, a.topicId, a.partition));
        if (!e || !this.deps.replicas.partition(topic.name, a.partition)) return void out.set(k, { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'This server does not host this topic-partition.' });
        out.set(k, await e.sp.acknowledge(memberId, a.batches));
      }),
    );
    return out;
  }

  /** Ends a session: the member's acquired records in its partitions become available again. */
  private async releaseSession(session: ShareSession): Promise<void> {
    this.sessions.remove(session);
    await Promise.all(
      [...session.partitions.values()].map(async (sp) => {
        const e = this.entries.get(entryKey(session.groupId, sp.topicId, sp.partition));
        if (!e) return;
        const r = await e.sp.releaseAcquired(session.memberId);
        if (r.errorCode !== 0) this.deps.logger.warn('releasing acquired records failed', { group: session.groupId, member: session.memberId, error: r.errorMessage });
      }),
    );
  }

  private watchConnection(connection: AbortSignal): void {
    if (this.watchedConnections.has(connection)) return;
    this.watchedConnections.add(connection);
    connection.addEventListener(
      'abort',
      () => {
        for (const s of this.sessions.ofConnection(connection)) void this.releaseSession(s);
      },
      { once: true },
    );
  }
}

/** Kafka's KafkaApis.validateAcknowledgementBatches: a problem makes the partition INVALID_REQUEST. */
export function ackBatchesProblem(batches: readonly AckBatch[], allowRenew: boolean): string | undefined {
  const maxType = allowRenew ? AcknowledgeType.RENEW : AcknowledgeType.REJECT;
  let prevEnd = -1n;
  for (const b of batches) {
    if (b.firstOffset > b.lastOffset) return 'First offset of an acknowledgement batch is after its last offset';
    if (b.firstOffset < prevEnd) return 'Acknowledgement batches overlap or are out of order';
    if (b.acknowledgeTypes.length === 0) return 'Acknowledgement batch without acknowledge types';
    if (b.acknowledgeTypes.length > 1 && b.lastOffset - b.firstOffset !== BigInt(b.acknowledgeTypes.length - 1)) return 'Acknowledge types do not match the offsets of the batch';
    if (b.acknowledgeTypes.some((t) => t < 0 || t > maxType)) return `Invalid acknowledge type: ${b.acknowledgeTypes.join(',')}`;
    prevEnd = b.lastOffset;
  }
  return undefined;
}

function ackAnswer(partition: number, r: AckResult): SharePartitionAnswer {
  return { partitionIndex: partition, errorCode: 0, errorMessage: null, acknowledgeErrorCode: r.errorCode, acknowledgeErrorMessage: r.errorMessage, records: [], acquiredRecords: [] };
}

/** Answers grouped by topic, topics and partitions in first-seen order. */
function groupByTopic<T>(items: ReadonlyArray<{ topicId: string; item: T }>): Array<{ topicId: string; partitions: T[] }> {
  const out = new Map<string, T[]>();
  for (const { topicId, item } of items) {
    const list = out.get(topicId) ?? [];
    list.push(item);
    out.set(topicId, list);
  }
  return [...out].map(([topicId, partitions]) => ({ topicId, partitions }));
}

function sameMarks(a: ReadonlyArray<number | bigint>, b: ReadonlyArray<number | bigint>): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

interface Span extends LogBatch {
  chunk: number;
  pos: number;
  size: number;
}

/** Offsets and positions of the batches in a read, from their headers only. */
function batchSpans(chunks: readonly Buffer[]): Span[] {
  const out: Span[] = [];
  chunks.forEach((buf, chunk) => {
    let pos = 0;
    while (pos + 61 <= buf.length) {
      const size = 12 + buf.readInt32BE(pos + 8);
      if (pos + size > buf.length) break;
      const baseOffset = buf.readBigInt64BE(pos);
      out.push({ chunk, pos, size, baseOffset, lastOffset: baseOffset + BigInt(buf.readInt32BE(pos + 23)) });
      pos += size;
    }
  });
  return out;
}

/** The bytes of the batches from the one holding `first` to the one holding `last` (Kafka slices the same way). */
function slice(chunks: readonly Buffer[], spans: readonly Span[], first: bigint, last: bigint): Buffer[] {
  const from = spans.findIndex((s) => s.lastOffset >= first);
  let to = spans.length - 1;
  while (to > from && spans[to]!.baseOffset > last) to--;
  if (from < 0) return [];
  const out: Buffer[] = [];
  for (let c = spans[from]!.chunk; c <= spans[to]!.chunk; c++) {
    const inChunk = spans.filter((s, i) => s.chunk === c && i >= from && i <= to);
    const start = inChunk[0]!.pos;
    const end = inChunk[inChunk.length - 1]!.pos + inChunk[inChunk.length - 1]!.size;
    out.push(chunks[c]!.subarray(start, end));
  }
  return out;
}
