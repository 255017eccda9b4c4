/**
 * The consumer. Partitions come from assign() (explicit) or from a classic group (subscribe());
 * one background loop per consumer (re)joins the group when needed, looks up positions (committed
 * offsets, else auto.offset.reset via ListOffsets) and fetches from each partition's leader at the
 * highest Fetch version both sides speak, in an incremental fetch session (KIP-227) per broker.
 *
 * Fetching runs ahead of the application: each partition may hold up to `prefetchBatches` fetched
 * and undelivered batches (2: one being handed out while the next is fetched, as librdkafka's
 * queue does), and partitions that already hold one are fetched again only while all buffered
 * batches together stay under fetchMaxBytes. The fetch loop reads only batch headers (to know where
 * to fetch next); records are decoded and CRC-checked when the application takes the batch, so the
 * next fetch is on the wire meanwhile. Pause and seek drop a partition's buffered batches, nothing
 * else. Positions move
 * when a batch is handed out; what was handed out counts as processed (for auto commit, and for
 * the commit before a revocation) once the application asks for the next batch, so auto commit is
 * at-least-once as in Java, where a poll() commits what the previous poll() returned.
 *
 * Group heartbeats have their own timer (see group.ts): slow processing of a batch never delays
 * them. The rebalance itself runs on the background loop, not inside the application's iteration;
 * a handler still busy with a revoked partition's batch may see its commit for it rejected.
 * max.poll.interval.ms is only the rebalance timeout here: nothing leaves the group because the
 * application is slow.
 */
import { ErrorCode } from '@fjord/protocol/core';
import { FetchRequest, FetchResponse } from '@fjord/protocol/generated/fetch.js';
import { Cluster } from '../cluster.js';
import type { Api, Connection } from '../connection/connection.js';
import { backoffMs } from '../connection/backoff.js';
import { ClosedError, ConfigError, KafkaError, isRetriable, kafkaError } from '../errors.js';
import { staleMetadataErrors } from '../metadata/metadata.js';
import { resolveConsumerConfig, type ConsumerConfig, type ResolvedConsumerConfig } from './config.js';
import { ConsumerProtocolGroup } from './consumer-group.js';
import { FetchSession, type SessionPartition } from './fetch-session.js';
import { ClassicGroup, tpKey, type TopicPartition, type TopicPartitionOffset } from './group.js';
import { DeserializationError } from './deserializers.js';
import { decodePartitionRecords, scanPartitionRecords, type AbortedTransaction, type ConsumerRecord } from './records.js';
import { fetchApi, listOffsetsApi } from '../apis.js';

export type { TopicPartition, TopicPartitionOffset };

/** The records of one partition from one fetch, in offset order. */
export interface ConsumerBatch<K = Buffer | null, V = Buffer | null> {
  topic: string;
  partition: number;
  records: ConsumerRecord<K, V>[];
  highWatermark: bigint;
  lastStableOffset: bigint;
  logStartOffset: bigint;
}

/** Rebalance callbacks; they run on the consumer's loop and are awaited before fetching goes on. */
export interface RebalanceListener {
  /** After every rebalance, with the partitions added (possibly none); seek() here to choose positions. */
  onPartitionsAssigned?(partitions: TopicPartition[]): void | Promise<void>;
  /** Before partitions are taken away (eager: all of them before every rebalance); commit here. Auto commit has already committed. */
  onPartitionsRevoked?(partitions: TopicPartition[]): void | Promise<void>;
  /** The member was dropped and its partitions are already someone else's (default: onPartitionsRevoked). */
  onPartitionsLost?(partitions: TopicPartition[]): void | Promise<void>;
}

type OffsetSpec = 'earliest' | 'latest' | { timestampMs: bigint };

interface PartitionState {
  topic: string;
  partition: number;
  /** Next offset to hand out; undefined until looked up. */
  position: bigint | undefined;
  /** Everything before this was handed out and the application came back for more. */
  processed: bigint | undefined;
  /** Last offset committed by this consumer (auto commit skips unchanged ones). */
  committed: bigint | undefined;
  /** How to find the position when it is undefined (undefined: committed offset, then auto.offset.reset). */
  reset: OffsetSpec | undefined;
  paused: boolean;
  /** Fetched batches waiting in `ready` for the application (at most prefetchBatches). */
  buffered: number;
  /** Where the fetch after the buffered batches starts (meaningful while buffered > 0). */
  bufferedNext: bigint;
  /** Fetching stopped on an error the application must handle (seek() clears it). */
  failed: boolean;
  highWatermark: bigint;
}

/** A partition's fetched bytes, decoded only when the application takes them. */
interface ReadyBatch {
  state: PartitionState;
  fetchOffset: bigint;
  nextOffset: bigint;
  /** The record batches as fetched (counted against fetchMaxBytes while buffered). */
  data: Buffer;
  abortedTransactions: readonly AbortedTransaction[] | null;
  highWatermark: bigint;
  lastStableOffset: bigint;
  logStartOffset: bigint;
}

/** Batches a partition may hold fetched ahead of the application. */
const prefetchBatches = 2;

export class Consumer<K = Buffer | null, V = Buffer | null> implements AsyncIterable<ConsumerBatch<K, V>> {
  readonly config: ResolvedConsumerConfig;
  private readonly cluster: Cluster;
  private group: ClassicGroup | undefined;
  private readonly parts = new Map<string, PartitionState>();
  private subscription: string[] | undefined;
  private listener: RebalanceListener = {};
  private readonly ready: ReadyBatch[] = [];
  private bufferedBytes = 0;
  /** Connections with a Fetch in flight (closed by close()). */
  private readonly fetching = new Set<Connection>();
  private readonly errors: Error[] = [];
  private readonly sessions = new Map<number, FetchSession>();
  private inHand: Array<{ state: PartitionState; next: bigint }> = [];
  private loop: Promise<void> | undefined;
  private wakers: Array<() => void> = [];
  /** A wake-up for fetched batches is held back until the next Fetch is sent (wakeAfterNextFetch). */
  private wakeDeferred = false;
  private autoCommitTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** The group requireGroup() made for commits without membership, if it is the current one. */
  private commitOnlyGroup: ClassicGroup | undefined;

  constructor(config: ConsumerConfig<K, V>, listener?: RebalanceListener) {
    this.config = resolveConsumerConfig(config);
    this.cluster = new Cluster(this.config.client);
    if (listener) this.listener = listener;
  }

  private log(level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>): void {
    this.config.client.logger({ level, message, fields: { component: 'consumer', ...fields } });
  }

  // ------------------------------------------------------------------------------------------
  // What to consume

  /** Joins the group (groupId) with these topics; partitions arrive through rebalances. */
  subscribe(topics: readonly string[], listener?: RebalanceListener): void {
    this.checkOpen();
    const groupId = this.config.groupId;
    if (groupId === undefined) throw new ConfigError('groupId', 'subscribe() needs a groupId');
    if (this.subscription === undefined && this.parts.size > 0) throw new ConfigError('subscribe', 'this consumer uses assign(); subscribe() and assign() do not mix');
    if (!Array.isArray(topics) || topics.length === 0 || topics.some((t) => typeof t !== 'string' || t === '')) throw new ConfigError('topics', 'expected a non-empty list of topic names');
    if (listener) this.listener = listener;
    this.subscription = [...new Set(topics)].sort();
    for (const t of this.subscription) this.cluster.want(t);
    if (!this.group || this.commitOnlyGroup) {
      // A group made earlier only for commit()/committed() (see requireGroup) gives way to a member.
      this.commitOnlyGroup?.stop();
      this.commitOnlyGroup = undefined;
      const Group = this.config.groupProtocol === 'consumer' ? ConsumerProtocolGroup : ClassicGroup;
      this.group = new Group(this.cluster, this.config, groupId, {
        subscription: () => this.subscription ?? [],
        owned: () => [...this.parts.values()].map((s) => ({ topic: s.topic, partition: s.partition })),
        partitionCounts: (ts) => this.partitionCounts(ts),
        revoke: (ps) => this.onRevoke(ps, false),
        lose: (ps) => this.onRevoke(ps, true),
        assign: (ps) => this.onAssign(ps),
        wake: () => this.wake(),
      });
    } else {
      this.group.rejoinNeeded = true;
    }
    this.wake();
  }

  /** Consumes exactly these partitions, without group membership (commits still go to groupId if set). */
  assign(partitions: readonly TopicPartition[]): void {
    this.checkOpen();
    if (this.subscription !== undefined) throw new ConfigError('assign', 'this consumer uses subscribe(); subscribe() and assign() do not mix');
    for (const p of partitions) if (typeof p?.topic !== 'string' || !Number.isInteger(p.partition) || p.partition < 0) throw new ConfigError('partitions', `expected {topic, partition}, got ${JSON.stringify(p)}`);
    const keep = new Set(partitions.map((p) => tpKey(p.topic, p.partition)));
    for (const [k, s] of this.parts) if (!keep.has(k)) this.removePartition(k, s);
    for (const p of partitions) {
      this.cluster.want(p.topic);
      this.addPartition(p.topic, p.partition);
    }
    this.wake();
  }

  /** The partitions this consumer holds now. */
  assignment(): TopicPartition[] {
    return [...this.parts.values()].map((s) => ({ topic: s.topic, partition: s.partition }));
  }

  /** The member id and generation in the group (classic protocol), or undefined without a group. */
  groupMetadata(): { groupId: string; memberId: string; generationId: number } | undefined {
    return this.group && { groupId: this.group.groupId, memberId: this.group.memberId, generationId: this.group.generationId };
  }

  private addPartition(topic: string, partition: number): PartitionState {
    const k = tpKey(topic, partition);
    let s = this.parts.get(k);
    if (!s) {
      s = { topic, partition, position: undefined, processed: undefined, committed: undefined, reset: undefined, paused: false, buffered: 0, bufferedNext: -1n, failed: false, highWatermark: -1n };
      this.parts.set(k, s);
    }
    return s;
  }

  private removePartition(k: string, s: PartitionState): void {
    this.parts.delete(k);
    this.dropBuffered(s);
  }

  private dropBuffered(s: PartitionState): void {
    if (s.buffered === 0) return;
    s.buffered = 0;
    for (let i = this.ready.length - 1; i >= 0; i--) {
      const r = this.ready[i]!;
      if (r.state !== s) continue;
      this.bufferedBytes -= r.data.length;
      this.ready.splice(i, 1);
    }
  }

  /** Where this partition's next fetch starts: after its buffered batches, else its position. */
  private fetchPosition(s: PartitionState): bigint | undefined {
    return s.buffered > 0 ? s.bufferedNext : s.position;
  }

  private state(tp: TopicPartition, what: string): PartitionState {
    const s = this.parts.get(tpKey(tp?.topic, tp?.partition));
    if (!s) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${what}: ${tp?.topic}-${tp?.partition} is not assigned to this consumer`);
    return s;
  }

  /** Stops fetching these partitions (their buffered records are dropped and fetched again on resume). */
  pause(partitions: readonly TopicPartition[]): void {
    for (const p of partitions) {
      const s = this.state(p, 'pause');
      s.paused = true;
      this.dropBuffered(s);
    }
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const p of partitions) this.state(p, 'resume').paused = false;
    this.wake();
  }

  paused(): TopicPartition[] {
    return [...this.parts.values()].filter((s) => s.paused).map((s) => ({ topic: s.topic, partition: s.partition }));
  }

  /** The next record fetch of this partition starts at `offset`. */
  seek(target: TopicPartition & { offset: bigint | number }): void {
    const s = this.state(target, 'seek');
    const offset = BigInt(target.offset);
    if (offset < 0n) throw new ConfigError('offset', `seek needs an offset >= 0, got ${offset}`);
    this.dropBuffered(s);
    s.position = offset;
    s.reset = undefined;
    s.failed = false;
    this.wake();
  }

  seekToBeginning(partitions: readonly TopicPartition[] = this.assignment()): void {
    this.seekTo(partitions, 'earliest');
  }

  seekToEnd(partitions: readonly TopicPartition[] = this.assignment()): void {
    this.seekTo(partitions, 'latest');
  }

  /** Moves to the first record at or after `timestampMs` (the end when there is none), looked up with ListOffsets. */
  seekToTimestamp(partitions: readonly TopicPartition[], timestampMs: number | bigint | Date): void {
    const ts = timestampMs instanceof Date ? BigInt(timestampMs.getTime()) : BigInt(timestampMs);
    if (ts < 0n) throw new ConfigError('timestampMs', 'expected a time >= 0');
    this.seekTo(partitions, { timestampMs: ts });
  }

  private seekTo(partitions: readonly TopicPartition[], spec: OffsetSpec): void {
    for (const p of partitions) {
      const s = this.state(p, 'seek');
      this.dropBuffered(s);
      s.position = undefined;
      s.reset = spec;
      s.failed = false;
    }
    this.wake();
  }

  /** The offset of the next record this consumer will hand out, once known. */
  position(tp: TopicPartition): bigint | undefined {
    return this.state(tp, 'position').position;
  }

  // ------------------------------------------------------------------------------------------
  // Offsets

  /**
   * Commits, and resolves when the coordinator has stored them: the given offsets, or (without
   * arguments) the position of every assigned partition, i.e. everything handed out so far.
   */
  async commit(offsets?: ReadonlyArray<TopicPartition & { offset: bigint | number; metadata?: string | null }>): Promise<void> {
    this.checkOpen();
    const group = this.requireGroup('commit');
    const list: TopicPartitionOffset[] = offsets
      ? offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: BigInt(o.offset), metadata: o.metadata ?? null }))
      : [...this.parts.values()].filter((s) => s.position !== undefined).map((s) => ({ topic: s.topic, partition: s.partition, offset: s.position! }));
    const deadline = Date.now() + this.config.defaultApiTimeoutMs;
    await this.knowTopics(group, list);
    await group.commit(list, Math.max(1, deadline - Date.now()), (t) => this.topicId(t));
    for (const o of list) {
      const s = this.parts.get(tpKey(o.topic, o.partition));
      if (s) s.committed = o.offset;
    }
  }

  /** commit() without waiting; the outcome goes to `callback` (or the logger). Never rejects. */
  commitAsync(offsets?: Parameters<Consumer['commit']>[0], callback?: (error: Error | undefined) => void): void {
    this.commit(offsets).then(
      () => callback?.(undefined),
      (e: Error) => (callback ? callback(e) : this.log('warn', 'async commit failed', { error: e.message })),
    );
  }

  /** The group's committed offsets (-1n where there is none). */
  async committed(partitions: readonly TopicPartition[]): Promise<Array<TopicPartition & { offset: bigint }>> {
    this.checkOpen();
    const group = this.requireGroup('committed');
    const deadline = Date.now() + this.config.defaultApiTimeoutMs;
    await this.knowTopics(group, partitions);
    const m = await group.committed(partitions, Math.max(1, deadline - Date.now()), this.config.isolationLevel === 'read_committed', (t) => this.topicId(t));
    return partitions.map((p) => ({ topic: p.topic, partition: p.partition, offset: m.get(tpKey(p.topic, p.partition)) ?? -1n }));
  }

  /** First offsets at or after the timestamp (offset -1n where there is none), as Kafka's offsetsForTimes. */
  async offsetsForTimes(partitions: readonly TopicPartition[], timestampMs: number | bigint): Promise<Array<TopicPartition & { offset: bigint }>> {
    const m = await this.listOffsets(partitions, { timestampMs: BigInt(timestampMs) });
    return partitions.map((p) => ({ ...p, offset: m.get(tpKey(p.topic, p.partition)) ?? -1n }));
  }

  async beginningOffsets(partitions: readonly TopicPartition[]): Promise<Array<TopicPartition & { offset: bigint }>> {
    const m = await this.listOffsets(partitions, 'earliest');
    return partitions.map((p) => ({ ...p, offset: m.get(tpKey(p.topic, p.partition)) ?? -1n }));
  }

  async endOffsets(partitions: readonly TopicPartition[]): Promise<Array<TopicPartition & { offset: bigint }>> {
    const m = await this.listOffsets(partitions, 'latest');
    return partitions.map((p) => ({ ...p, offset: m.get(tpKey(p.topic, p.partition)) ?? -1n }));
  }

  private requireGroup(what: string): ClassicGroup {
    if (this.group) return this.group;
    const groupId = this.config.groupId;
    if (groupId === undefined) throw new ConfigError('groupId', `${what} needs a groupId`);
    // assign() with a groupId: commits as a non-member (generation -1), as Kafka allows.
    this.group = new ClassicGroup(this.cluster, this.config, groupId, {
      subscription: () => [],
      owned: () => [],
      partitionCounts: async () => new Map(),
      revoke: async () => {},
      lose: async () => {},
      assign: async () => {},
      wake: () => this.wake(),
    });
    // Never joins, so it sends no heartbeats; it stays open so that commits retry as usual.
    this.group.rejoinNeeded = false;
    this.commitOnlyGroup = this.group;
    return this.group;
  }

  /** Metadata for these topics: OffsetCommit and OffsetFetch v10 name topics by id. */
  private async knowTopics(group: ClassicGroup, partitions: readonly TopicPartition[]): Promise<void> {
    for (const p of partitions) this.cluster.want(p.topic);
    await group.retrying('metadata', this.config.defaultApiTimeoutMs, () => this.cluster.current());
  }

  private topicId(topic: string): string | undefined {
    return this.cluster.metadata?.topics.get(topic)?.topicId;
  }

  // ------------------------------------------------------------------------------------------
  // Iteration

  [Symbol.asyncIterator](): AsyncIterableIterator<ConsumerBatch<K, V>> {
    return this.batches();
  }

  /**
   * Batches as they arrive (one partition each, never empty). The iteration ends when `signal`
   * aborts or the consumer closes; leaving it (break or throw) does not close the consumer and
   * leaves the last batch unprocessed for auto commit (commit() with no argument commits
   * everything handed out, that batch included). A fatal error
   * (offset out of range with autoOffsetReset 'none', a fenced static member, ...) rejects next().
   */
  batches(options: { signal?: AbortSignal } = {}): AsyncIterableIterator<ConsumerBatch<K, V>> {
    const signal = options.signal;
    const it: AsyncIterableIterator<ConsumerBatch<K, V>> = {
      [Symbol.asyncIterator]: () => it,
      next: async () => {
        const b = await this.nextBatch(signal);
        return b ? { value: b, done: false } : { value: undefined, done: true };
      },
      return: async () => ({ value: undefined, done: true }),
    };
    return it;
  }

  /**
   * Calls `eachRecord` for every record (or `eachBatch` for every batch), one at a time, until
   * `signal` aborts (between records) or the consumer closes. A handler that throws stops the run
   * with its error; that batch, like one left when the signal aborts inside it, does not count as
   * processed.
   */
  async run(handlers: { eachRecord?: (record: ConsumerRecord<K, V>) => unknown; eachBatch?: (batch: ConsumerBatch<K, V>) => unknown; signal?: AbortSignal }): Promise<void> {
    const { eachRecord, eachBatch, signal } = handlers;
    if (!eachRecord && !eachBatch) throw new ConfigError('handlers', 'run() needs eachRecord or eachBatch');
    for (;;) {
      const b = await this.nextBatch(signal);
      if (!b) return;
      try {
        if (eachBatch) await eachBatch(b);
        else {
          for (const r of b.records) {
            if (signal?.aborted) {
              this.inHand = []; // stopped inside the batch: it does not count as processed
              return;
            }
            await eachRecord!(r);
          }
        }
      } catch (e) {
        this.inHand = [];
        throw e;
      }
    }
  }

  private async nextBatch(signal: AbortSignal | undefined): Promise<ConsumerBatch<K, V> | undefined> {
    this.markProcessed();
    if (this.closed) return undefined;
    if (this.subscription === undefined && this.parts.size === 0) throw new ConfigError('assign', 'call subscribe() or assign() before consuming');
    this.start();
    for (;;) {
      if (this.closed || signal?.aborted) return undefined;
      const e = this.errors.shift();
      if (e) throw e;
      if (this.group?.fatal) throw this.group.fatal;
      const r = this.takeReady();
      if (r) return r;
      if (this.errors.length > 0) continue;
      await this.waitForWake(signal);
    }
  }

  private markProcessed(): void {
    for (const h of this.inHand) if (this.parts.get(tpKey(h.state.topic, h.state.partition)) === h.state) h.state.processed = h.next;
    this.inHand = [];
  }

  private takeReady(): ConsumerBatch<K, V> | undefined {
    while (this.ready.length > 0) {
      const r = this.ready.shift()!;
      const s = r.state;
      this.bufferedBytes -= r.data.length;
      if (this.parts.get(tpKey(s.topic, s.partition)) !== s) continue; // revoked
      if (s.buffered === 0 || s.paused || s.position !== r.fetchOffset) {
        // Not the batch at the position (cannot happen while dropBuffered() keeps up): refetch from the position.
        this.dropBuffered(s);
        continue;
      }
      s.buffered--;
      let taken: { batch: ConsumerBatch<K, V>; next: bigint };
      try {
        taken = this.deserialize(r);
      } catch (e) {
        // Bytes that do not decode (a CRC mismatch, a corrupt batch): the partition stops at its
        // position until the application seeks, as with a record its deserializer refuses.
        this.dropBuffered(s);
        s.failed = true;
        throw e;
      }
      const { batch, next } = taken;
      s.position = next;
      // A deserialization error cut the batch short: what was fetched after it no longer follows on.
      if (next !== r.nextOffset) this.dropBuffered(s);
      this.wake();
      if (batch.records.length === 0) continue;
      this.inHand.push({ state: s, next });
      return batch;
    }
    return undefined;
  }

  /**
   * Applies the deserializers. A record that fails ends the batch before it: the records before it
   * are handed out and the position stops at it; when it is the first, the partition stops
   * (failed, until a seek) and the error goes to the application.
   */
  private deserialize(ready: ReadyBatch): { batch: ConsumerBatch<K, V>; next: bigint } {
    const s = ready.state;
    const { records } = decodePartitionRecords(s.topic, s.partition, ready.data, ready.fetchOffset, this.config.isolationLevel, ready.abortedTransactions);
    const batch = { topic: s.topic, partition: s.partition, records, highWatermark: ready.highWatermark, lastStableOffset: ready.lastStableOffset, logStartOffset: ready.logStartOffset };
    const kd = this.config.keyDeserializer;
    const vd = this.config.valueDeserializer;
    if (!kd && !vd) return { batch: batch as unknown as ConsumerBatch<K, V>, next: ready.nextOffset };
    // The records were just made for this batch: each takes its deserialized key and value in
    // place (no second object per record), and the array is cut at a record that fails.
    const out = records as unknown as ConsumerRecord<unknown, unknown>[];
    for (let i = 0; i < out.length; i++) {
      const rec = out[i]!;
      let field: 'key' | 'value' = 'key';
      try {
        const key = kd ? kd(rec.key as Buffer | null, rec.topic) : rec.key;
        field = 'value';
        const value = vd ? vd(rec.value as Buffer | null, rec.topic) : rec.value;
        rec.key = key;
        rec.value = value;
      } catch (e) {
        const error = new DeserializationError(rec.topic, rec.partition, rec.offset, field, { cause: e });
        if (i === 0) {
          s.failed = true;
          this.errors.push(error);
        }
        out.length = i;
        return { batch: batch as unknown as ConsumerBatch<K, V>, next: rec.offset };
      }
    }
    return { batch: batch as unknown as ConsumerBatch<K, V>, next: ready.nextOffset };
  }

  /**
   * Wakes the application for fetched batches once the next Fetch is on the wire (fetchFrom), or
   * on the next turn of the event loop if the loop has something else to do first. Woken at once,
   * the application decoded batch after batch (CRC, records) in the microtask queue while the
   * loop's own continuations waited their turn, and the next Fetch went out milliseconds late
   * with both ends idle meanwhile.
   */
  private wakeAfterNextFetch(): void {
    if (this.wakeDeferred) return;
    this.wakeDeferred = true;
    setImmediate(() => this.wakeNow());
  }

  private wakeNow(): void {
    if (!this.wakeDeferred) return;
    this.wakeDeferred = false;
    this.wake();
  }

  private wake(): void {
    const w = this.wakers;
    this.wakers = [];
    for (const f of w) f();
  }

  private waitForWake(signal: AbortSignal | undefined, timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.wakers.push(done);
      signal?.addEventListener('abort', done, { once: true });
      if (timeoutMs !== undefined) timer = setTimeout(done, timeoutMs);
    });
  }

  // ------------------------------------------------------------------------------------------
  // The loop: group, positions, fetches

  private start(): void {
    if (this.loop || this.closed) return;
    this.loop = this.runLoop().catch((e: Error) => {
      // The loop handles its own errors; anything here is a bug, shown to the application.
      this.log('error', 'consumer loop failed', { error: e.stack });
      this.errors.push(e);
      this.wake();
    });
    if (this.config.enableAutoCommit) {
      const tick = (): void => {
        this.autoCommitTimer = setTimeout(() => {
          this.commitProcessed('auto commit').finally(() => {
            if (!this.closed) tick();
          });
        }, this.config.autoCommitIntervalMs);
      };
      tick();
    }
  }

  private async runLoop(): Promise<void> {
    const c = this.config.client;
    let attempt = 0;
    while (!this.closed) {
      try {
        if (this.group && this.subscription) {
          const meta = this.cluster.metadata;
          if (meta) this.group.checkMetadata((t) => meta.topics.get(t)?.partitions.length ?? 0);
          await this.group.ensureActive();
        }
        if (this.closed) break;
        await this.resolvePositions();
        const fetched = await this.fetchOnce();
        attempt = 0;
        if (!fetched) await this.waitForWake(undefined, this.config.fetchMaxWaitMs);
      } catch (e) {
        if (this.closed) break;
        if (this.group?.fatal) {
          this.wake();
          return;
        }
        if (!isRetriable(e)) {
          this.errors.push(e as Error);
          this.wake();
        }
        this.log(isRetriable(e) ? 'debug' : 'warn', 'consumer loop error', { error: (e as Error).message });
        await this.cluster.sleep(backoffMs(attempt++, { initialMs: c.retryBackoffMs, maxMs: c.retryBackoffMaxMs, jitterRatio: c.backoffJitterRatio, random: c.random }));
      }
    }
  }

  private async partitionCounts(topics: readonly string[]): Promise<Map<string, number>> {
    for (const t of topics) this.cluster.want(t);
    const m = await this.cluster.refresh();
    const out = new Map<string, number>();
    for (const t of topics) {
      const info = m.topics.get(t);
      if (info) out.set(t, info.partitions.length);
    }
    return out;
  }

  private async onRevoke(partitions: TopicPartition[], lost: boolean): Promise<void> {
    // The batch the application holds may still be in progress (rebalances run in the background):
    // it is not counted as processed here, so its records go to the next owner again (at-least-once).
    if (!lost && this.config.enableAutoCommit) await this.commitProcessed('commit before revocation', partitions);
    try {
      if (lost && this.listener.onPartitionsLost) await this.listener.onPartitionsLost(partitions);
      else await this.listener.onPartitionsRevoked?.(partitions);
    } catch (e) {
      this.log('error', 'rebalance listener failed', { callback: lost ? 'onPartitionsLost' : 'onPartitionsRevoked', error: (e as Error).message });
    }
    for (const p of partitions) {
      const k = tpKey(p.topic, p.partition);
      const s = this.parts.get(k);
      if (s) this.removePartition(k, s);
    }
  }

  private async onAssign(partitions: TopicPartition[]): Promise<void> {
    for (const p of partitions) this.addPartition(p.topic, p.partition);
    try {
      await this.listener.onPartitionsAssigned?.(partitions);
    } catch (e) {
      this.log('error', 'rebalance listener failed', { callback: 'onPartitionsAssigned', error: (e as Error).message });
    }
  }

  /** Commits processed offsets that changed (auto commit, revocation, close); failures are logged. */
  private async commitProcessed(why: string, only?: TopicPartition[]): Promise<void> {
    const group = this.group;
    if (!group || !this.config.enableAutoCommit) return;
    if (this.subscription && group.generationId < 0) return; // not a member (yet): the coordinator would refuse
    const keys = only ? new Set(only.map((p) => tpKey(p.topic, p.partition))) : undefined;
    const list: TopicPartitionOffset[] = [];
    for (const [k, s] of this.parts) {
      if (keys && !keys.has(k)) continue;
      if (s.processed !== undefined && s.processed !== s.committed) list.push({ topic: s.topic, partition: s.partition, offset: s.processed });
    }
    if (list.length === 0) return;
    try {
      await group.commit(list, this.config.defaultApiTimeoutMs, (t) => this.topicId(t));
      for (const o of list) {
        const s = this.parts.get(tpKey(o.topic, o.partition));
        if (s) s.committed = o.offset;
      }
      this.log('debug', why, { partitions: list.length });
    } catch (e) {
      this.log('warn', `${why} failed`, { error: (e as Error).message });
    }
  }

  /** Positions for partitions without one: the committed offset, else auto.offset.reset (or a seek's target). */
  private async resolvePositions(): Promise<void> {
    let any = false;
    for (const s of this.parts.values()) any ||= s.position === undefined && !s.failed;
    if (!any) return; // the common case, once per fetch round: no array made
    const need = [...this.parts.values()].filter((s) => s.position === undefined && !s.failed);
    const fromCommitted = need.filter((s) => s.reset === undefined);
    if (fromCommitted.length > 0 && this.config.groupId !== undefined) {
      const group = this.requireGroupQuiet();
      const m = await group.committed(fromCommitted, this.config.defaultApiTimeoutMs, this.config.isolationLevel === 'read_committed', (t) => this.topicId(t));
      for (const s of fromCommitted) {
        const o = m.get(tpKey(s.topic, s.partition)) ?? -1n;
        if (s.position !== undefined || s.reset !== undefined || !this.owns(s)) continue;
        if (o >= 0n) {
          s.position = o;
          s.committed = o;
        }
      }
    }
    for (const s of need) {
      if (s.position !== undefined || s.reset !== undefined) continue;
      if (this.config.autoOffsetReset === 'none') {
        s.failed = true;
        this.errors.push(kafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `${s.topic}-${s.partition} has no committed offset and autoOffsetReset is 'none'`));
        this.wake();
        continue;
      }
      s.reset = this.config.autoOffsetReset;
    }
    const bySpec = new Map<string, { spec: OffsetSpec; states: PartitionState[] }>();
    for (const s of need) {
      if (s.position !== undefined || s.reset === undefined || s.failed) continue;
      const k = typeof s.reset === 'string' ? s.reset : `t${s.reset.timestampMs}`;
      (bySpec.get(k) ?? bySpec.set(k, { spec: s.reset, states: [] }).get(k)!).states.push(s);
    }
    for (const { spec, states } of bySpec.values()) {
      const m = await this.listOffsets(states, spec);
      for (const s of states) {
        if (s.reset !== spec || s.position !== undefined || !this.owns(s)) continue;
        const o = m.get(tpKey(s.topic, s.partition));
        if (o === undefined) continue;
        if (o < 0n) {
          s.reset = 'latest'; // no record at or after the timestamp: the end
          continue;
        }
        s.position = o;
        s.reset = undefined;
      }
    }
  }

  private requireGroupQuiet(): ClassicGroup {
    return this.requireGroup('committed offsets');
  }

  private owns(s: PartitionState): boolean {
    return this.parts.get(tpKey(s.topic, s.partition)) === s;
  }

  /** ListOffsets at each partition's leader. Partitions whose leader failed retriably are left out (the caller tries again). */
  private async listOffsets(partitions: readonly TopicPartition[], spec: OffsetSpec): Promise<Map<string, bigint>> {
    for (const p of partitions) this.cluster.want(p.topic);
    const meta = await this.cluster.current();
    const timestamp = spec === 'earliest' ? -2n : spec === 'latest' ? -1n : spec.timestampMs;
    const byLeader = new Map<number, TopicPartition[]>();
    const out = new Map<string, bigint>();
    let refresh = false;
    for (const p of partitions) {
      const leader = meta.topics.get(p.topic)?.partitions[p.partition]?.leader ?? -1;
      if (leader < 0) {
        refresh = true;
        continue;
      }
      (byLeader.get(leader) ?? byLeader.set(leader, []).get(leader)!).push(p);
    }
    await Promise.all(
      [...byLeader].map(async ([nodeId, list]) => {
        const byTopic = new Map<string, number[]>();
        for (const p of list) (byTopic.get(p.topic) ?? byTopic.set(p.topic, []).get(p.topic)!).push(p.partition);
        const res = await this.cluster.send(nodeId, listOffsetsApi, {
          replicaId: -1,
          isolationLevel: this.config.isolationLevel === 'read_committed' ? 1 : 0,
          topics: [...byTopic].map(([name, ps]) => ({ name, partitions: ps.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 })) })),
          timeoutMs: this.config.client.requestTimeoutMs,
        });
        for (const t of res.topics) {
          for (const p of t.partitions) {
            if (p.errorCode === ErrorCode.NONE) {
              out.set(tpKey(t.name, p.partitionIndex), p.offset >= 0n || timestamp >= 0n ? p.offset : (p.oldStyleOffsets[0] ?? -1n));
              continue;
            }
            const e = kafkaError(p.errorCode, `ListOffsets ${t.name}-${p.partitionIndex}`);
            if (staleMetadataErrors.has(p.errorCode)) refresh = true;
            if (!e.retriable) throw e;
          }
        }
      }),
    );
    if (refresh) await this.cluster.refresh().catch(() => {});
    return out;
  }

  /** One fetch round: a Fetch to every leader with fetchable partitions. False when there was nothing to fetch. */
  private async fetchOnce(): Promise<boolean> {
    const meta = await this.cluster.current();
    const byNode = new Map<number, PartitionState[]>();
    let refresh = false;
    for (const s of this.parts.values()) {
      if (s.position === undefined || s.paused || s.failed) continue;
      // Fetch ahead (a partition with a batch waiting) only within prefetchBatches and fetchMaxBytes.
      if (s.buffered > 0 && (s.buffered >= prefetchBatches || this.bufferedBytes >= this.config.fetchMaxBytes)) continue;
      const leader = meta.topics.get(s.topic)?.partitions[s.partition]?.leader ?? -1;
      if (leader < 0) {
        refresh = true;
        continue;
      }
      (byNode.get(leader) ?? byNode.set(leader, []).get(leader)!).push(s);
    }
    if (refresh) await this.cluster.refresh().catch((e: Error) => this.log('debug', 'metadata refresh failed', { error: e.message }));
    // Sessions of brokers with nothing to fetch now are left alone (they resume on the next request).
    if (byNode.size === 0) return false;
    await Promise.all([...byNode].map(([nodeId, list]) => this.fetchFrom(nodeId, list)));
    return true;
  }

  private async fetchFrom(nodeId: number, list: PartitionState[]): Promise<void> {
    const c = this.config;
    const conn = await this.cluster.connectionTo(nodeId);
    const version = conn.versionOf(FetchRequest.apiKey);
    let session = this.sessions.get(nodeId);
    if (!session) this.sessions.set(nodeId, (session = new FetchSession(c.fetchSessions && version >= 7)));
    const wanted = new Map<string, SessionPartition>();
    for (const s of list) {
      wanted.set(tpKey(s.topic, s.partition), { topic: s.topic, topicId: this.topicId(s.topic) ?? '', partition: s.partition, fetchOffset: this.fetchPosition(s)!, maxBytes: c.maxPartitionFetchBytes });
    }
    const req = session.build(wanted);
    const group = <T extends { topic: string; topicId: string }>(ps: T[]): Map<string, T[]> => {
      const m = new Map<string, T[]>();
      for (const p of ps) (m.get(p.topic) ?? m.set(p.topic, []).get(p.topic)!).push(p);
      return m;
    };
    const body = {
      clusterId: null,
      replicaId: -1,
      maxWaitMs: c.fetchMaxWaitMs,
      minBytes: c.fetchMinBytes,
      maxBytes: c.fetchMaxBytes,
      isolationLevel: c.isolationLevel === 'read_committed' ? 1 : 0,
      sessionId: req.sessionId,
      sessionEpoch: req.sessionEpoch,
      topics: [...group(req.toSend)].map(([topic, ps]) => ({
        topic,
        topicId: ps[0]!.topicId,
        partitions: ps.map((p) => ({ partition: p.partition, currentLeaderEpoch: -1, fetchOffset: p.fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: p.maxBytes })),
      })),
      forgottenTopicsData: [...group(req.toForget)].map(([topic, ps]) => ({ topic, topicId: ps[0]!.topicId, partitions: ps.map((p) => p.partition) })),
      rackId: '',
    };
    let res: FetchResponse;
    this.fetching.add(conn);
    const started = Date.now();
    this.log('debug', 'fetch', { nodeId });
    try {
      const sending = conn.send(fetchApi, body, { timeoutMs: c.client.requestTimeoutMs + c.fetchMaxWaitMs });
      this.wakeNow(); // the request is written: the application may take the batches of the last one
      res = await sending;
      this.log('debug', 'fetched', { nodeId, durationMs: Date.now() - started });
    } catch (e) {
      session.reset();
      throw e;
    } finally {
      this.fetching.delete(conn);
    }
    if (res.errorCode !== ErrorCode.NONE) {
      session.reset();
      const e = kafkaError(res.errorCode, `Fetch from broker ${nodeId}`);
      if (res.errorCode === ErrorCode.FETCH_SESSION_ID_NOT_FOUND || res.errorCode === ErrorCode.INVALID_FETCH_SESSION_EPOCH || res.errorCode === ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR) {
        this.log('debug', 'fetch session reset', { nodeId, error: e.name });
        return;
      }
      throw e;
    }
    session.onResponse(req, res.sessionId);
    if (req.full && res.sessionId !== 0) this.log('debug', 'fetch session', { nodeId, sessionId: res.sessionId, partitions: req.inSession.size });
    const names = new Map<string, string>();
    for (const p of req.inSession.values()) names.set(p.topicId, p.topic);
    let refresh = false;
    for (const t of res.responses) {
      const topic = t.topic || names.get(t.topicId) || '';
      for (const p of t.partitions) {
        const k = tpKey(topic, p.partitionIndex);
        const sent = req.inSession.get(k);
        const s = this.parts.get(k);
        if (!sent || !s || this.fetchPosition(s) !== sent.fetchOffset || s.paused || s.failed) continue; // stale: seeked, paused or revoked meanwhile
        if (p.errorCode === ErrorCode.NONE) {
          s.highWatermark = p.highWatermark;
          const data = p.records === null ? null : Buffer.isBuffer(p.records) ? p.records : Buffer.concat(p.records as readonly Buffer[]);
          // Headers only here; the records are decoded when the application takes them, so the
          // next fetch goes out without waiting for that work.
          const scan = scanPartitionRecords(data, sent.fetchOffset);
          // A corrupt header is buffered too: decoding it when taken hands the error to the application.
          if (data !== null && (scan.nextOffset > sent.fetchOffset || scan.corrupt)) {
            s.buffered++;
            s.bufferedNext = scan.nextOffset > sent.fetchOffset ? scan.nextOffset : sent.fetchOffset + 1n;
            this.bufferedBytes += data.length;
            this.ready.push({
              state: s,
              fetchOffset: sent.fetchOffset,
              nextOffset: s.bufferedNext,
              data,
              abortedTransactions: p.abortedTransactions,
              highWatermark: p.highWatermark,
              lastStableOffset: p.lastStableOffset,
              logStartOffset: p.logStartOffset,
            });
            this.wakeAfterNextFetch();
          } else if (data !== null && data.length > 0 && scan.batchCount === 0) {
            this.log('warn', 'a record batch is larger than maxPartitionFetchBytes and the broker sent only part of it', { topic, partition: p.partitionIndex, bytes: data.length });
          }
          continue;
        }
        const e = kafkaError(p.errorCode, `Fetch ${topic}-${p.partitionIndex} at offset ${sent.fetchOffset}`);
        if (p.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
          this.log('info', 'offset out of range', { topic, partition: p.partitionIndex, offset: String(sent.fetchOffset), reset: c.autoOffsetReset });
          if (c.autoOffsetReset === 'none') {
            s.failed = true;
            this.errors.push(e);
            this.wake();
          } else {
            s.position = undefined;
            s.reset = c.autoOffsetReset;
          }
        } else if (staleMetadataErrors.has(p.errorCode) || e.retriable) {
          refresh ||= staleMetadataErrors.has(p.errorCode);
          this.log('debug', 'fetch partition error', { topic, partition: p.partitionIndex, error: e.name });
        } else {
          s.failed = true;
          this.errors.push(e);
          this.wake();
        }
      }
    }
    if (refresh) {
      session.reset();
      await this.cluster.refresh().catch(() => {});
    }
  }

  // ------------------------------------------------------------------------------------------
  // Closing

  private checkOpen(): void {
    if (this.closed) throw new ClosedError('consumer');
  }

  /**
   * Stops fetching, commits what was processed (auto commit), calls onPartitionsRevoked, leaves the
   * group (a static member stays until its session times out, as in Kafka) and closes connections.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.autoCommitTimer);
    this.wake();
    // A long-polling Fetch would hold the loop for up to fetchMaxWaitMs: drop its connection (group
    // requests go over the coordinator connection, so the commit and LeaveGroup below are unaffected).
    for (const conn of this.fetching) conn.close();
    const loop = this.loop;
    if (loop) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([loop, new Promise<void>((r) => (timer = setTimeout(r, this.config.fetchMaxWaitMs + 1_000)))]);
      clearTimeout(timer);
    }
    const group = this.group;
    if (group && this.subscription) {
      if (group.generationId >= 0) {
        await this.commitProcessed('commit on close');
        const owned = this.assignment();
        if (owned.length > 0) {
          try {
            await this.listener.onPartitionsRevoked?.(owned);
          } catch (e) {
            this.log('error', 'rebalance listener failed', { callback: 'onPartitionsRevoked', error: (e as Error).message });
          }
        }
      }
      await group.leave();
    } else if (group) {
      await this.commitProcessed('commit on close');
    }
    group?.stop();
    this.parts.clear();
    this.ready.length = 0;
    this.bufferedBytes = 0;
    this.cluster.close();
  }
}
