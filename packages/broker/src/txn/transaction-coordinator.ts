/**
 * The transaction coordinator (issue 4), after Kafka's TransactionCoordinator,
 * TransactionStateManager and TransactionMarkerChannelManager: transactional ids, their producer
 * ids and epochs, and their transactions, stored in __transaction_state.
 *
 * Every state change is a two-step transition (transaction-metadata.ts): checked and marked
 * pending synchronously, written to the id's partition of __transaction_state, applied once
 * durable. A request that finds a transition pending gets CONCURRENT_TRANSACTIONS, as in Kafka.
 *
 * Ending a transaction: EndTxn writes PrepareCommit/PrepareAbort and is answered; the coordinator
 * then writes a COMMIT/ABORT marker into every partition of the transaction (Kafka sends
 * WriteTxnMarkers to the partition leaders; on one node they are local appends, and the markers
 * for __consumer_offsets go through the group coordinator, which settles the transaction's
 * offsets), then writes CompleteCommit/CompleteAbort. A restart replays __transaction_state:
 * PrepareCommit/PrepareAbort transactions get their markers written again, Ongoing ones stay open
 * until they time out.
 *
 * Transactions v2 (KIP-890 part 2, transaction.version 2) is implemented: EndTxn v5 bumps the
 * epoch and answers the new producer id/epoch, a Produce v12+ or TxnOffsetCommit v5+ adds its
 * partition to the transaction itself. Whether the feature is finalized (so clients use it) is
 * TRANSACTION_VERSION_FINALIZED (transaction-version.ts).
 *
 * Not implemented: two-phase commit (KIP-939: InitProducerId v6 is not advertised), moving
 * partitions of __transaction_state between brokers (one node leads them all).
 */
import { ErrorCode } from '@fjord/protocol';
import type { BrokerConfig } from '../config/broker-configs.js';
import type { Clock } from '../broker-context.js';
import type { GroupCoordinator } from '../group/coordinator.js';
import { CoordinatorWriteError, InternalTopic, OFFSETS_TOPIC } from '../group/internal-topic.js';
import type { Logger } from '../logger.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import type { ReplicaManager } from '../partition/replica-manager.js';
import type { TopicManager } from '../topics/topic-manager.js';
import { ProducerIdManager } from './producer-ids.js';
import { readRecord, tombstone, TRANSACTION_STATE_TOPIC, transactionStateTopicSpec, transitRecord } from './transaction-log.js';
import {
  EPOCH_MAX,
  isEpochExhausted,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  splitTpKey,
  tpKey,
  TransactionMetadata,
  TxnInvariantError,
  type TopicPartitionKey,
  type TxnTransit,
} from './transaction-metadata.js';
import { isTxnStateName, supportsEpochBump, TV_0, TV_2, TxnState, type TxnStateName } from './transaction-state.js';
import { TRANSACTION_VERSION_FINALIZED } from './transaction-version.js';

export interface InitProducerIdInput {
  transactionalId: string | null;
  transactionTimeoutMs: number;
  /** The producer's current id and epoch (v3+, KIP-360), when it sent both. */
  expected: { producerId: bigint; producerEpoch: number } | undefined;
}

export interface ProducerIdAndEpoch {
  errorCode: number;
  producerId: bigint;
  producerEpoch: number;
}

export interface TransactionCoordinatorDeps {
  config: BrokerConfig;
  topics: TopicManager;
  replicas: ReplicaManager;
  metadata: MetadataStore;
  groups: GroupCoordinator;
  clock: Clock;
  logger: Logger;
  /** The finalized transaction.version (tests pin it); TRANSACTION_VERSION_FINALIZED by default. */
  transactionVersion?: number;
  /** Replaces setTimeout for the marker and completion retries (tests). */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * How a transactional write that is not an AddPartitionsToTxn is checked against the transaction
 * (Kafka's TransactionSupportedOperation): old clients only understand INVALID_TXN_STATE, newer
 * ones TRANSACTION_ABORTABLE, and TV2 clients let the write add its partition.
 */
export type TxnOperation = 'defaultError' | 'genericErrorSupported' | 'addPartition';

/** Produce v12+ (KIP-890) adds partitions itself when transaction.version 2 is finalized; v11 understands TRANSACTION_ABORTABLE. */
export function produceTxnOperation(produceVersion: number, transactionVersion: number): TxnOperation {
  if (produceVersion > 11 && supportsEpochBump(transactionVersion)) return 'addPartition';
  return produceVersion > 10 ? 'genericErrorSupported' : 'defaultError';
}

/** TxnOffsetCommit v5+ replaces AddOffsetsToTxn with TV2; v4 understands TRANSACTION_ABORTABLE. */
export function txnOffsetCommitTxnOperation(apiVersion: number, transactionVersion: number): TxnOperation {
  if (apiVersion > 4 && supportsEpochBump(transactionVersion)) return 'addPartition';
  return apiVersion > 3 ? 'genericErrorSupported' : 'defaultError';
}

/** What a transaction marker carries (ReplicaManager.writeTxnMarker). */
export interface TxnMarker {
  producerId: bigint;
  producerEpoch: number;
  coordinatorEpoch: number;
  commit: boolean;
  /** The transaction's version: 2 (KIP-890) when the marker carries a bumped epoch. */
  transactionVersion: number;
}

export interface DescribedTransaction {
  errorCode: number;
  transactionalId: string;
  transactionState: string;
  transactionTimeoutMs: number;
  transactionStartTimeMs: bigint;
  producerId: bigint;
  producerEpoch: number;
  topics: Array<{ topic: string; partitions: number[] }>;
}

export interface ListedTransactions {
  errorCode: number;
  unknownStateFilters: string[];
  transactionStates: Array<{ transactionalId: string; producerId: bigint; transactionState: string }>;
}

const fail = (errorCode: number): ProducerIdAndEpoch => ({ errorCode, producerId: NO_PRODUCER_ID, producerEpoch: NO_PRODUCER_EPOCH });

const RETRY_BACKOFF_MS_MIN = 50;
const RETRY_BACKOFF_MS_MAX = 5_000;

export class TransactionCoordinator {
  readonly producerIds: ProducerIdManager;
  readonly topic: InternalTopic;
  /** Every transactional id this coordinator knows (on one node it leads every partition of __transaction_state). */
  private readonly txns = new Map<string, TransactionMetadata>();
  private state: 'loading' | 'active' | 'stopped' = 'loading';
  private readonly timers: NodeJS.Timeout[] = [];
  /** Marker writing under way, by transactional id (shutdown waits for none of it: a restart resumes it). */
  private readonly completing = new Map<string, Promise<void>>();
  /** Aborts of timed-out transactions under way. */
  private readonly aborting = new Set<Promise<unknown>>();
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly deps: TransactionCoordinatorDeps) {
    this.producerIds = new ProducerIdManager(deps.metadata);
    this.topic = new InternalTopic(transactionStateTopicSpec, deps);
    this.sleep = deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms).unref()));
  }

  /** The finalized transaction.version: what timeouts and fencing use, and whether TV2 writes add partitions. */
  get transactionVersion(): number {
    return this.deps.transactionVersion ?? TRANSACTION_VERSION_FINALIZED;
  }

  private now(): number {
    return this.deps.clock.now();
  }

  partitionFor(transactionalId: string): number {
    return this.topic.partitionFor(transactionalId);
  }

  /** The coordinator epoch markers carry: the leader epoch of the id's partition of __transaction_state. */
  private coordinatorEpoch(transactionalId: string): number {
    return this.deps.replicas.partition(TRANSACTION_STATE_TOPIC, this.partitionFor(transactionalId))?.leaderEpoch ?? 0;
  }

  // ---- lifecycle ----

  /**
   * Replays __transaction_state (if it exists), resumes the markers of transactions that were
   * preparing to commit or abort, and starts the timeout and expiration timers.
   */
  async load(): Promise<{ records: number; transactionalIds: number; resumed: number; ms: number }> {
    const started = this.now();
    let records = 0;
    let skipped = 0;
    for await (const chunk of this.topic.readAll()) {
      for (const r of chunk) {
        records++;
        let read;
        try {
          read = readRecord(r.key, r.value);
        } catch (err) {
          if (++skipped <= 5) this.deps.logger.warn(`skipping an unreadable ${TRANSACTION_STATE_TOPIC} record`, { partition: r.partition, offset: r.offset, error: err });
          continue;
        }
        if (read === undefined) continue;
        if (read.metadata === undefined) this.txns.delete(read.transactionalId);
        else this.txns.set(read.transactionalId, read.metadata);
      }
    }
    this.state = 'active';
    let resumed = 0;
    for (const meta of this.txns.values()) {
      if (meta.state !== 'PrepareCommit' && meta.state !== 'PrepareAbort') continue;
      resumed++;
      const complete = meta.prepareComplete(this.now());
      this.sendMarkers(meta, meta.state === 'PrepareCommit', complete);
    }
    const cfg = this.deps.config;
    const abortEvery = cfg.getInt('transaction.abort.timed.out.transaction.cleanup.interval.ms');
    const expireEvery = cfg.getInt('transaction.remove.expired.transaction.cleanup.interval.ms');
    this.timers.push(setInterval(() => this.abortTimedOutTransactions(), abortEvery));
    this.timers.push(setInterval(() => void this.removeExpiredTransactionalIds(), expireEvery));
    for (const t of this.timers) t.unref();
    return { records, transactionalIds: this.txns.size, resumed, ms: this.now() - started };
  }

  /** Stops the timers and any marker writing; what is not complete is resumed by the next start. */
  shutdown(): void {
    this.state = 'stopped';
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
  }

  /** Transactions whose markers are being written (tests wait for them). */
  async settled(): Promise<void> {
    while (this.completing.size > 0 || this.aborting.size > 0) await Promise.all([...this.completing.values(), ...this.aborting]);
  }

  /** Kafka's getTransactionState: the id's metadata, or the error a request for it gets. */
  private lookup(transactionalId: string): { errorCode: number } | { meta: TransactionMetadata | undefined } {
    if (this.state === 'loading') return { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS };
    if (this.state === 'stopped') return { errorCode: ErrorCode.NOT_COORDINATOR };
    return { meta: this.txns.get(transactionalId) };
  }

  /** The metadata of a transactional id, for tests and admin views. */
  metadataOf(transactionalId: string): TransactionMetadata | undefined {
    return this.txns.get(transactionalId);
  }

  // ---- writing __transaction_state ----

  /**
   * Writes a prepared transition and, once durable, applies it (Kafka's appendTransactionToLog).
   * On failure the pending state is dropped, so the id is usable again, and the error is mapped
   * as Kafka maps append errors for clients.
   */
  private async appendToLog(meta: TransactionMetadata, t: TxnTransit, keepPendingOnRetriable = false): Promise<number> {
    let code = 0;
    try {
      if (!this.topic.exists()) await this.topic.ensure();
      const { durable } = this.topic.appendNow(this.partitionFor(meta.transactionalId), [transitRecord(meta.transactionalId, t, this.transactionVersion)]);
      await durable;
    } catch (err) {
      code = appendErrorCode(err);
      this.deps.logger.warn('transaction state not stored', { transactionalId: meta.transactionalId, state: t.state, errorCode: code, error: err });
    }
    if (this.state === 'stopped') return ErrorCode.NOT_COORDINATOR;
    if (this.txns.get(meta.transactionalId) !== meta) return ErrorCode.NOT_COORDINATOR;
    if (code === 0) {
      meta.completeTransitionTo(t);
      return 0;
    }
    if (!(keepPendingOnRetriable && code === ErrorCode.COORDINATOR_NOT_AVAILABLE)) meta.pendingState = undefined;
    return code;
  }

  // ---- InitProducerId ----

  async initProducerId(req: InitProducerIdInput): Promise<ProducerIdAndEpoch> {
    const id = req.transactionalId;
    if (id === null) {
      // No transactional id: any producer gets a new id at epoch 0 (an idempotent producer).
      try {
        return { errorCode: 0, producerId: await this.producerIds.generate(), producerEpoch: 0 };
      } catch (err) {
        this.deps.logger.error('producer id allocation failed', { error: err });
        return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      }
    }
    if (id === '') return fail(ErrorCode.INVALID_REQUEST);
    if (!this.validTimeout(req.transactionTimeoutMs)) return fail(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    const found = this.lookup(id);
    if ('errorCode' in found) return fail(found.errorCode);
    try {
      if (!this.topic.exists()) await this.topic.ensure();
    } catch (err) {
      return fail(appendErrorCode(err));
    }
    // A new id, or a new producer id for an exhausted epoch, is allocated before the synchronous
    // part below (allocation may wait for a block); an id allocated and not used is skipped, as in Kafka.
    let spare: bigint | undefined;
    const before = this.txns.get(id);
    if (before === undefined || before.isProducerEpochExhausted) {
      try {
        spare = await this.producerIds.generate();
      } catch (err) {
        this.deps.logger.error('producer id allocation failed', { error: err });
        return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      }
    }
    const again = this.lookup(id);
    if ('errorCode' in again) return fail(again.errorCode);
    let meta = again.meta;
    if (meta === undefined) {
      meta = TransactionMetadata.fresh(id, spare!, req.transactionTimeoutMs, this.now());
      spare = undefined;
      this.txns.set(id, meta);
    }
    const prepared = this.prepareInitProducerIdTransit(meta, req.transactionTimeoutMs, req.expected, spare);
    if (typeof prepared === 'number') return fail(prepared);
    if (prepared.state === 'PrepareEpochFence') {
      // Abort the ongoing transaction first; the producer retries on CONCURRENT_TRANSACTIONS and then gets the bumped epoch.
      const r = await this.endTransaction(id, prepared.producerId, prepared.producerEpoch, false, false, this.transactionVersion);
      return fail(r.errorCode !== 0 ? r.errorCode : ErrorCode.CONCURRENT_TRANSACTIONS);
    }
    const code = await this.appendToLog(meta, prepared);
    if (code !== 0) return fail(code);
    this.deps.logger.info('initialized transactional id', { transactionalId: id, producerId: prepared.producerId, producerEpoch: prepared.producerEpoch, partition: this.partitionFor(id) });
    return { errorCode: 0, producerId: prepared.producerId, producerEpoch: prepared.producerEpoch };
  }

  private validTimeout(ms: number): boolean {
    return ms > 0 && ms <= this.deps.config.getInt('transaction.max.timeout.ms');
  }

  /** Kafka's prepareInitProducerIdTransit: an error code, or the transition to write. */
  private prepareInitProducerIdTransit(meta: TransactionMetadata, timeoutMs: number, expected: InitProducerIdInput['expected'], spare: bigint | undefined): TxnTransit | number {
    // Fence the caller unless: the id was just created; it names the current producer id (its
    // epoch is checked when bumping); or it names the previous one with an exhausted epoch (a
    // retry of a rotation it never heard about).
    const validProducerId = (e: NonNullable<typeof expected>) =>
      meta.producerEpoch === NO_PRODUCER_EPOCH || e.producerId === meta.producerId || (e.producerId === meta.prevProducerId && isEpochExhausted(e.producerEpoch));
    if (meta.pendingTransitionInProgress) return ErrorCode.CONCURRENT_TRANSACTIONS;
    if (expected !== undefined && !validProducerId(expected)) return ErrorCode.PRODUCER_FENCED;
    switch (meta.state) {
      case 'PrepareAbort':
      case 'PrepareCommit':
        return ErrorCode.CONCURRENT_TRANSACTIONS;
      case 'CompleteAbort':
      case 'CompleteCommit':
      case 'Empty':
        if (meta.isProducerEpochExhausted && (expected === undefined || expected.producerEpoch === meta.producerEpoch)) {
          // The id was not exhausted when the spare was allocated: let the producer retry.
          if (spare === undefined) return ErrorCode.CONCURRENT_TRANSACTIONS;
          return meta.prepareProducerIdRotation(spare, timeoutMs, this.now(), expected !== undefined);
        }
        return meta.prepareIncrementProducerEpoch(timeoutMs, expected?.producerEpoch, this.now());
      case 'Ongoing':
        // This epoch is never returned: the transaction is aborted and the producer retries,
        // which bumps the epoch again (or rotates the producer id if fencing exhausted it).
        return meta.prepareFenceProducerEpoch();
      case 'Dead':
      case 'PrepareEpochFence':
        throw new TxnInvariantError(`${meta.transactionalId} found in state ${meta.state}, which is never entered this way`);
    }
  }

  // ---- AddPartitionsToTxn / AddOffsetsToTxn ----

  /**
   * Adds partitions to the producer's transaction (Kafka's handleAddPartitionsToTransaction);
   * 0 or the error code for all of them. Partitions already in the ongoing transaction cost no write.
   */
  async addPartitions(transactionalId: string, producerId: bigint, producerEpoch: number, partitions: readonly TopicPartitionKey[], clientTransactionVersion: number): Promise<number> {
    if (!transactionalId) return ErrorCode.INVALID_REQUEST;
    const found = this.lookup(transactionalId);
    if ('errorCode' in found) return found.errorCode;
    const meta = found.meta;
    if (meta === undefined || meta.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (meta.producerEpoch !== producerEpoch) return ErrorCode.PRODUCER_FENCED;
    if (meta.pendingTransitionInProgress) return ErrorCode.CONCURRENT_TRANSACTIONS;
    if (meta.state === 'PrepareCommit' || meta.state === 'PrepareAbort') return ErrorCode.CONCURRENT_TRANSACTIONS;
    if (meta.state === 'Ongoing' && partitions.every((k) => meta.topicPartitions.has(k))) return 0;
    const t = meta.prepareAddPartitions(partitions, this.now(), clientTransactionVersion);
    return this.appendToLog(meta, t);
  }

  /**
   * AddPartitionsToTxn v4+ with verifyOnly (Kafka's handleVerifyPartitionsInTransaction): whether
   * each partition is in the producer's transaction, without adding it. No write.
   */
  verifyPartitions(transactionalId: string, producerId: bigint, producerEpoch: number, partitions: readonly TopicPartitionKey[]): Map<TopicPartitionKey, number> {
    const all = (code: number) => new Map(partitions.map((k) => [k, code]));
    if (!transactionalId) return all(ErrorCode.INVALID_REQUEST);
    const found = this.lookup(transactionalId);
    if ('errorCode' in found) return all(found.errorCode);
    const meta = found.meta;
    if (meta === undefined || meta.producerId !== producerId) return all(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    if (meta.producerEpoch !== producerEpoch) return all(ErrorCode.PRODUCER_FENCED);
    // A pending transition is not checked: partitions enter the set when their addition is durable
    // and leave it when their marker is.
    if (meta.state === 'PrepareCommit' || meta.state === 'PrepareAbort') return all(ErrorCode.CONCURRENT_TRANSACTIONS);
    return new Map(partitions.map((k) => [k, meta.topicPartitions.has(k) ? 0 : ErrorCode.TRANSACTION_ABORTABLE]));
  }

  /**
   * Whether a transactional batch may be appended to the partition (Kafka's transaction
   * verification, KIP-890 part 1; the Produce handler calls this for each transactional batch):
   * 0, or the error code to answer the Produce with for that partition. The partition must be in
   * the producer's ongoing transaction at its current epoch; with transactions v2 (Produce v12+
   * and transaction.version 2) the produce adds the partition itself.
   *
   * The codes are those Kafka's produce path gives: PRODUCER_FENCED becomes INVALID_PRODUCER_EPOCH,
   * a partition not in the transaction is INVALID_TXN_STATE for Produce v0-10 and
   * TRANSACTION_ABORTABLE from v11, and a coordinator that cannot answer yet (loading, busy with
   * the transaction's end) becomes NOT_ENOUGH_REPLICAS, which every client retries. Transactional
   * records without a transactional id are TRANSACTIONAL_ID_AUTHORIZATION_FAILED, as Kafka
   * answers such a Produce. Synchronous unless the partition has to be added (TV2).
   */
  verifyTransactionalProduce(transactionalId: string | null, producerId: bigint, producerEpoch: number, topic: string, partition: number, produceVersion: number): number | Promise<number> {
    if (transactionalId === null) return ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    if (!this.deps.config.getBool('transaction.partition.verification.enable')) return 0;
    const op = produceTxnOperation(produceVersion, this.transactionVersion);
    const r = this.verifyOrAdd(transactionalId, producerId, producerEpoch, tpKey(topic, partition), op);
    return typeof r === 'number' ? produceVerificationCode(r) : r.then(produceVerificationCode);
  }

  /**
   * The same check for a TxnOffsetCommit, for the group's partition of __consumer_offsets (Kafka
   * verifies the coordinator's transactional write like a produce): with TV2 (v5+) the commit adds
   * that partition, as AddOffsetsToTxn did.
   */
  verifyTxnOffsetCommit(transactionalId: string, producerId: bigint, producerEpoch: number, offsetsPartition: number, apiVersion: number): number | Promise<number> {
    if (!this.deps.config.getBool('transaction.partition.verification.enable')) return 0;
    const op = txnOffsetCommitTxnOperation(apiVersion, this.transactionVersion);
    const r = this.verifyOrAdd(transactionalId, producerId, producerEpoch, tpKey(OFFSETS_TOPIC, offsetsPartition), op);
    const map = (code: number) => verificationCode(code, op);
    return typeof r === 'number' ? map(r) : r.then(map);
  }

  private verifyOrAdd(transactionalId: string, producerId: bigint, producerEpoch: number, k: TopicPartitionKey, op: TxnOperation): number | Promise<number> {
    if (op === 'addPartition') {
      const r = this.addPartitionsSyncIfPresent(transactionalId, producerId, producerEpoch, k);
      return r ?? this.addPartitions(transactionalId, producerId, producerEpoch, [k], TV_2);
    }
    const code = this.verifyPartitions(transactionalId, producerId, producerEpoch, [k]).get(k)!;
    return verificationCode(code, op);
  }

  /** The answer of addPartitions when it needs no write (so the produce path stays synchronous), else undefined. */
  private addPartitionsSyncIfPresent(transactionalId: string, producerId: bigint, producerEpoch: number, k: TopicPartitionKey): number | undefined {
    const found = this.lookup(transactionalId);
    if ('errorCode' in found) return found.errorCode;
    const meta = found.meta;
    if (meta === undefined || meta.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (meta.producerEpoch !== producerEpoch) return ErrorCode.PRODUCER_FENCED;
    if (meta.pendingTransitionInProgress || meta.state === 'PrepareCommit' || meta.state === 'PrepareAbort') return ErrorCode.CONCURRENT_TRANSACTIONS;
    if (meta.state === 'Ongoing' && meta.topicPartitions.has(k)) return 0;
    return undefined;
  }

  // ---- EndTxn ----

  /** EndTxn from a client: `clientTransactionVersion` is TV2 for EndTxn v5+. */
  endTxn(transactionalId: string, producerId: bigint, producerEpoch: number, commit: boolean, clientTransactionVersion: number): Promise<ProducerIdAndEpoch> {
    return this.endTransaction(transactionalId, producerId, producerEpoch, commit, true, clientTransactionVersion);
  }

  private async endTransaction(transactionalId: string, producerId: bigint, producerEpoch: number, commit: boolean, isFromClient: boolean, tv: number): Promise<ProducerIdAndEpoch> {
    if (!transactionalId) return fail(ErrorCode.INVALID_REQUEST);
    const found = this.lookup(transactionalId);
    if ('errorCode' in found) return fail(found.errorCode);
    const meta = found.meta;
    if (meta === undefined) return fail(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    const prepared = supportsEpochBump(tv) ? this.prepareEndV2(meta, producerId, producerEpoch, commit, isFromClient, tv) : this.prepareEndV1(meta, producerId, producerEpoch, commit, isFromClient);
    if ('answer' in prepared) return prepared.answer;
    const { transit, isEpochFence } = prepared;
    const code = await this.appendToLog(meta, transit);
    if (code !== 0) {
      if (isEpochFence && this.txns.get(transactionalId) === meta) {
        // The bumped epoch was never returned, so the next fence need not bump again.
        meta.hasFailedEpochFence = true;
        this.deps.logger.warn('fencing a producer epoch was not stored', { transactionalId, producerEpoch: transit.producerEpoch, errorCode: code });
      }
      return fail(code);
    }
    // The PrepareCommit/PrepareAbort record is durable: answer, then write the markers.
    const v2 = supportsEpochBump(tv);
    const samePid = meta.producerId === producerId;
    const epochOk = v2 ? meta.producerEpoch === producerEpoch || meta.producerEpoch === producerEpoch + 1 : meta.producerEpoch === producerEpoch;
    if (!samePid) return fail(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    if (!epochOk) return fail(ErrorCode.PRODUCER_FENCED);
    if (meta.pendingTransitionInProgress) return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
    if (meta.state !== (commit ? 'PrepareCommit' : 'PrepareAbort')) return fail(ErrorCode.INVALID_TXN_STATE);
    const complete = meta.prepareComplete(this.now());
    this.sendMarkers(meta, commit, complete);
    return v2 ? { errorCode: 0, producerId: complete.producerId, producerEpoch: complete.producerEpoch } : fail(0);
  }

  /** Kafka's endTransactionWithTV1: the epoch must match exactly; a completed transaction answers a retry. */
  private prepareEndV1(meta: TransactionMetadata, producerId: bigint, producerEpoch: number, commit: boolean, isFromClient: boolean): { answer: ProducerIdAndEpoch } | { transit: TxnTransit; isEpochFence: boolean } {
    const answer = (code: number) => ({ answer: fail(code) });
    if (meta.producerId !== producerId) return answer(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    // Clients may not bump the epoch; the coordinator's own fencing abort comes with a higher one.
    if ((isFromClient && producerEpoch !== meta.producerEpoch) || producerEpoch < meta.producerEpoch) return answer(ErrorCode.PRODUCER_FENCED);
    if (meta.pendingTransitionInProgress && meta.pendingState !== 'PrepareEpochFence') return answer(ErrorCode.CONCURRENT_TRANSACTIONS);
    switch (meta.state) {
      case 'Ongoing': {
        const next = commit ? 'PrepareCommit' : 'PrepareAbort';
        let isEpochFence = false;
        if (next === 'PrepareAbort' && meta.pendingState === 'PrepareEpochFence') {
          // Clear the fence to make way for PrepareAbort, which carries the bumped epoch.
          isEpochFence = true;
          meta.pendingState = undefined;
          meta.producerEpoch = producerEpoch;
          meta.lastProducerEpoch = NO_PRODUCER_EPOCH;
        }
        return { transit: meta.prepareAbortOrCommit(next, TV_0, NO_PRODUCER_ID, this.now(), false), isEpochFence };
      }
      case 'CompleteCommit':
        return answer(commit ? 0 : this.invalidTransition(meta, commit));
      case 'CompleteAbort':
        return answer(!commit ? 0 : this.invalidTransition(meta, commit));
      case 'PrepareCommit':
        return answer(commit ? ErrorCode.CONCURRENT_TRANSACTIONS : this.invalidTransition(meta, commit));
      case 'PrepareAbort':
        return answer(!commit ? ErrorCode.CONCURRENT_TRANSACTIONS : this.invalidTransition(meta, commit));
      case 'Empty':
        return answer(this.invalidTransition(meta, commit));
      case 'Dead':
      case 'PrepareEpochFence':
        throw new TxnInvariantError(`${meta.transactionalId} found in state ${meta.state}, which is never entered this way`);
    }
  }

  /**
   * Kafka's endTransaction for transactions v2: every EndTxn bumps the epoch, so a retry is
   * recognised by the epoch being one behind; an abort is accepted with no transaction open.
   *
   *                  abort: retry  current    commit: retry  current
   *   Empty          FENCED        bump       FENCED         INVALID_TXN_STATE
   *   CompleteAbort  ok            bump       INVALID        INVALID
   *   CompleteCommit INVALID       bump       ok             INVALID
   */
  private prepareEndV2(meta: TransactionMetadata, producerId: bigint, producerEpoch: number, commit: boolean, isFromClient: boolean, tv: number): { answer: ProducerIdAndEpoch } | { transit: TxnTransit; isEpochFence: boolean } {
    const answer = (code: number) => ({ answer: fail(code) });
    const isEpochFence = meta.pendingState === 'PrepareEpochFence';
    // A retry of an EndTxn whose epoch bump overflowed into a new producer id.
    const retryOnOverflow = !isEpochFence && meta.prevProducerId === producerId && producerEpoch === EPOCH_MAX - 1 && meta.producerEpoch === 0;
    const retryOnEpochBump = !isEpochFence && meta.producerEpoch === producerEpoch + 1;
    let validEpoch: boolean;
    if (isEpochFence) {
      validEpoch = (!isFromClient || producerEpoch === meta.producerEpoch) && producerEpoch >= meta.producerEpoch;
    } else {
      switch (meta.state) {
        case 'PrepareCommit':
        case 'PrepareAbort':
          validEpoch = retryOnEpochBump;
          break;
        case 'CompleteCommit':
        case 'CompleteAbort':
          validEpoch = retryOnEpochBump || retryOnOverflow || producerEpoch === meta.producerEpoch;
          break;
        default:
          validEpoch = producerEpoch === meta.producerEpoch;
      }
    }
    const isRetry = retryOnEpochBump || retryOnOverflow;
    const current = { answer: { errorCode: 0, producerId: meta.producerId, producerEpoch: meta.producerEpoch } };
    const complete = (next: 'PrepareCommit' | 'PrepareAbort', noPartitionAdded: boolean): { transit: TxnTransit; isEpochFence: boolean } | { answer: ProducerIdAndEpoch } => {
      // An exhausted epoch gets a new producer id with this bump (not when fencing).
      let nextProducerId = NO_PRODUCER_ID;
      if (!isEpochFence && meta.isProducerEpochExhausted) {
        const id = this.producerIds.tryGenerateNow();
        if (id === undefined) return answer(ErrorCode.CONCURRENT_TRANSACTIONS);
        nextProducerId = id;
      }
      if (next === 'PrepareAbort' && isEpochFence) {
        meta.pendingState = undefined;
        meta.producerEpoch = producerEpoch;
        meta.lastProducerEpoch = NO_PRODUCER_EPOCH;
      }
      return { transit: meta.prepareAbortOrCommit(next, tv, nextProducerId, this.now(), noPartitionAdded), isEpochFence };
    };
    if (meta.producerId !== producerId && !retryOnOverflow) return answer(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    if (!validEpoch) return answer(ErrorCode.PRODUCER_FENCED);
    if (meta.pendingTransitionInProgress && meta.pendingState !== 'PrepareEpochFence') return answer(ErrorCode.CONCURRENT_TRANSACTIONS);
    switch (meta.state) {
      case 'Ongoing':
        return complete(commit ? 'PrepareCommit' : 'PrepareAbort', false);
      case 'CompleteCommit':
        if (commit) return isRetry ? current : answer(this.invalidTransition(meta, commit));
        return isRetry ? answer(this.invalidTransition(meta, commit)) : complete('PrepareAbort', true);
      case 'CompleteAbort':
        if (!commit) return isRetry ? current : complete('PrepareAbort', true);
        return answer(this.invalidTransition(meta, commit));
      case 'PrepareCommit':
        return answer(commit ? ErrorCode.CONCURRENT_TRANSACTIONS : this.invalidTransition(meta, commit));
      case 'PrepareAbort':
        return answer(!commit ? ErrorCode.CONCURRENT_TRANSACTIONS : this.invalidTransition(meta, commit));
      case 'Empty':
        return !commit ? complete('PrepareAbort', true) : answer(this.invalidTransition(meta, commit));
      case 'Dead':
      case 'PrepareEpochFence':
        throw new TxnInvariantError(`${meta.transactionalId} found in state ${meta.state}, which is never entered this way`);
    }
  }

  private invalidTransition(meta: TransactionMetadata, commit: boolean): number {
    this.deps.logger.warn('EndTxn in a state that does not allow it', { transactionalId: meta.transactionalId, state: meta.state, result: commit ? 'COMMIT' : 'ABORT' });
    return ErrorCode.INVALID_TXN_STATE;
  }

  // ---- markers (Kafka's TransactionMarkerChannelManager, local) ----

  /**
   * Writes the COMMIT/ABORT marker into every partition of the transaction, then the completed
   * state. A partition whose topic is gone is skipped (as Kafka skips partitions without a
   * leader); a failed write is retried until it succeeds or the coordinator stops (a restart then
   * resumes from PrepareCommit/PrepareAbort).
   */
  private sendMarkers(meta: TransactionMetadata, commit: boolean, complete: TxnTransit): void {
    const id = meta.transactionalId;
    const run = (async () => {
      // TV2 markers carry the bumped epoch, and the partitions check that it is one.
      const marker = { producerId: meta.producerId, producerEpoch: meta.producerEpoch, coordinatorEpoch: this.coordinatorEpoch(id), commit, transactionVersion: meta.clientTransactionVersion };
      await Promise.all(
        [...meta.topicPartitions].map(async (k) => {
          for (let backoff = RETRY_BACKOFF_MS_MIN; this.state === 'active'; backoff = Math.min(backoff * 2, RETRY_BACKOFF_MS_MAX)) {
            const code = await this.writeMarker(k, marker);
            // Done, or never to be done: the partition is gone (Kafka skips partitions without a
            // leader), or it has moved past this producer epoch or coordinator epoch (Kafka stops
            // sending such a marker).
            if (code === 0 || code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION || code === ErrorCode.INVALID_PRODUCER_EPOCH || code === ErrorCode.TRANSACTION_COORDINATOR_FENCED) {
              if (code !== 0) this.deps.logger.warn('transaction marker not needed in this partition', { transactionalId: id, partition: k, errorCode: code });
              if (this.txns.get(id) === meta) meta.removePartition(k);
              return;
            }
            this.deps.logger.warn('transaction marker not written, retrying', { transactionalId: id, partition: k, errorCode: code });
            await this.sleep(backoff);
          }
        }),
      );
      // Kafka's maybeWriteTxnCompletion: CompleteCommit/CompleteAbort, retried while the log is unavailable.
      for (let backoff = RETRY_BACKOFF_MS_MIN; this.state === 'active' && this.txns.get(id) === meta; backoff = Math.min(backoff * 2, RETRY_BACKOFF_MS_MAX)) {
        const code = await this.appendToLog(meta, complete, true);
        if (code === 0) return;
        if (code !== ErrorCode.COORDINATOR_NOT_AVAILABLE) {
          this.deps.logger.error('completing a transaction failed; it completes when the coordinator is loaded again', { transactionalId: id, errorCode: code });
          return;
        }
        await this.sleep(backoff);
      }
    })().catch((err: unknown) => {
      if (err instanceof TxnInvariantError) throw err;
      this.deps.logger.error('writing transaction markers failed', { transactionalId: id, error: err });
    });
    const tracked = run.finally(() => {
      if (this.completing.get(id) === tracked) this.completing.delete(id);
    });
    this.completing.set(id, tracked);
  }

  private async writeMarker(k: TopicPartitionKey, m: TxnMarker): Promise<number> {
    const { topic, partition } = splitTpKey(k);
    try {
      if (topic === OFFSETS_TOPIC) return await this.deps.groups.completeTransaction(partition, m);
      const p = this.deps.replicas.partition(topic, partition);
      if (!p) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      return await this.deps.replicas.writeTxnMarker(p, m);
    } catch (err) {
      this.deps.logger.warn('transaction marker append failed', { partition: k, error: err });
      return ErrorCode.KAFKA_STORAGE_ERROR;
    }
  }

  // ---- timeouts and expiration ----

  /**
   * Aborts every transaction open longer than its timeout, fencing the producer's epoch as Kafka
   * does (the producer learns it with its next request). Returns how many it started aborting.
   */
  abortTimedOutTransactions(): number {
    if (this.state !== 'active') return 0;
    const now = this.now();
    let n = 0;
    for (const meta of [...this.txns.values()]) {
      if (meta.pendingTransitionInProgress || meta.state !== 'Ongoing' || meta.txnStartTimestamp + meta.txnTimeoutMs >= now) continue;
      const fence = meta.prepareFenceProducerEpoch();
      n++;
      const id = meta.transactionalId;
      this.deps.logger.info('aborting a timed-out transaction', { transactionalId: id, producerId: meta.producerId, timeoutMs: meta.txnTimeoutMs });
      const done = this.endTransaction(id, fence.producerId, fence.producerEpoch, false, false, this.transactionVersion).then((r) => {
        if (r.errorCode === 0) this.deps.logger.info('rolled back a timed-out transaction', { transactionalId: id });
        else this.deps.logger.warn('rolling back a timed-out transaction failed', { transactionalId: id, errorCode: r.errorCode });
      });
      this.aborting.add(done);
      void done.finally(() => this.aborting.delete(done));
    }
    return n;
  }

  /**
   * transactional.id.expiration.ms: ids with no transaction under way and no update for that long
   * are removed (a tombstone in __transaction_state). Returns how many were removed.
   */
  async removeExpiredTransactionalIds(): Promise<number> {
    if (this.state !== 'active') return 0;
    const now = this.now();
    const expirationMs = this.deps.config.getInt('transactional.id.expiration.ms');
    const byPartition = new Map<number, Array<{ meta: TransactionMetadata; epoch: number }>>();
    for (const meta of this.txns.values()) {
      if (meta.pendingTransitionInProgress || !TxnState[meta.state].expirationAllowed || meta.txnLastUpdateTimestamp > now - expirationMs) continue;
      meta.prepareDead();
      const p = this.partitionFor(meta.transactionalId);
      const list = byPartition.get(p) ?? [];
      list.push({ meta, epoch: meta.producerEpoch });
      byPartition.set(p, list);
    }
    let removed = 0;
    await Promise.all(
      [...byPartition].map(async ([p, list]) => {
        let ok = true;
        try {
          await this.topic.appendNow(p, list.map((e) => tombstone(e.meta.transactionalId))).durable;
        } catch (err) {
          ok = false;
          this.deps.logger.warn('expiring transactional ids not stored', { partition: p, error: err });
        }
        for (const { meta, epoch } of list) {
          if (ok && this.txns.get(meta.transactionalId) === meta && meta.pendingState === 'Dead' && meta.producerEpoch === epoch) {
            this.txns.delete(meta.transactionalId);
            removed++;
          } else {
            meta.pendingState = undefined;
          }
        }
      }),
    );
    if (removed > 0) this.deps.logger.info('expired transactional ids', { count: removed });
    return removed;
  }

  // ---- DescribeTransactions / ListTransactions ----

  describe(transactionalId: string): DescribedTransaction {
    const out: DescribedTransaction = { errorCode: 0, transactionalId, transactionState: '', transactionTimeoutMs: 0, transactionStartTimeMs: -1n, producerId: -1n, producerEpoch: -1, topics: [] };
    if (transactionalId === '') return { ...out, errorCode: ErrorCode.INVALID_REQUEST };
    const found = this.lookup(transactionalId);
    if ('errorCode' in found) return { ...out, errorCode: this.state === 'loading' ? found.errorCode : ErrorCode.COORDINATOR_NOT_AVAILABLE };
    const meta = found.meta;
    // An id being expired is described as gone.
    if (meta === undefined || meta.state === 'Dead') return { ...out, errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND };
    const byTopic = new Map<string, number[]>();
    for (const k of meta.topicPartitions) {
      const { topic, partition } = splitTpKey(k);
      const list = byTopic.get(topic);
      if (list) list.push(partition);
      else byTopic.set(topic, [partition]);
    }
    return {
      errorCode: 0,
      transactionalId,
      transactionState: meta.state,
      transactionTimeoutMs: meta.txnTimeoutMs,
      transactionStartTimeMs: BigInt(meta.txnStartTimestamp),
      producerId: meta.producerId,
      producerEpoch: meta.producerEpoch,
      topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
    };
  }

  /**
   * ListTransactions: state names Kafka does not know are returned in unknownStateFilters (and
   * match nothing); durationMs >= 0 keeps transactions that started more than that long ago
   * (KIP-994); the pattern (v2, KIP-1152) must match the whole transactional id.
   */
  list(stateFilters: readonly string[], producerIdFilters: readonly bigint[], durationMs: bigint, pattern: RegExp | undefined): ListedTransactions {
    if (this.state !== 'active') return { errorCode: this.state === 'loading' ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.COORDINATOR_NOT_AVAILABLE, unknownStateFilters: [], transactionStates: [] };
    const states = new Set<TxnStateName>();
    const unknownStateFilters: string[] = [];
    for (const s of stateFilters) {
      if (isTxnStateName(s)) states.add(s);
      else unknownStateFilters.push(s);
    }
    const pids = new Set(producerIdFilters);
    const now = BigInt(this.now());
    const transactionStates = [];
    for (const meta of this.txns.values()) {
      // Dead is transient: the id is being removed.
      if (meta.state === 'Dead') continue;
      if (pids.size > 0 && !pids.has(meta.producerId)) continue;
      if (stateFilters.length > 0 && !states.has(meta.state)) continue;
      if (durationMs >= 0n && now - BigInt(meta.txnStartTimestamp) <= durationMs) continue;
      if (pattern && !pattern.test(meta.transactionalId)) continue;
      transactionStates.push({ transactionalId: meta.transactionalId, producerId: meta.producerId, transactionState: meta.state });
    }
    return { errorCode: 0, unknownStateFilters, transactionStates };
  }

  /** The number of Ongoing/Prepare* transactions (tests, admin views). */
  openTransactions(): number {
    let n = 0;
    for (const m of this.txns.values()) if (m.state === 'Ongoing' || m.state === 'PrepareCommit' || m.state === 'PrepareAbort') n++;
    return n;
  }
}

/** Kafka's appendTransactionToLog error mapping, for errors of the __transaction_state append. */
function appendErrorCode(err: unknown): number {
  if (err instanceof CoordinatorWriteError) {
    switch (err.errorCode) {
      case ErrorCode.NOT_COORDINATOR:
        return ErrorCode.NOT_COORDINATOR;
      case ErrorCode.MESSAGE_TOO_LARGE:
      case ErrorCode.RECORD_LIST_TOO_LARGE:
        return ErrorCode.UNKNOWN_SERVER_ERROR;
      default:
        return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
  }
  // A durable phase that failed (fsync): the log went offline, so this broker no longer leads it.
  return ErrorCode.NOT_COORDINATOR;
}

/** AddPartitionsToTxnManager's mapping for a write checked without adding its partition. */
function verificationCode(code: number, op: TxnOperation): number {
  if (code === ErrorCode.PRODUCER_FENCED) return ErrorCode.INVALID_PRODUCER_EPOCH;
  if (code === ErrorCode.TRANSACTION_ABORTABLE && op === 'defaultError') return ErrorCode.INVALID_TXN_STATE;
  return code;
}

/**
 * ReplicaManager's mapping for a produce: verification errors older clients would not retry
 * become NOT_ENOUGH_REPLICAS, which they do (and which does not refresh metadata).
 */
function produceVerificationCode(code: number): number {
  switch (code) {
    case ErrorCode.PRODUCER_FENCED:
      return ErrorCode.INVALID_PRODUCER_EPOCH;
    case ErrorCode.CONCURRENT_TRANSACTIONS:
    case ErrorCode.NETWORK_EXCEPTION:
    case ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
    case ErrorCode.COORDINATOR_NOT_AVAILABLE:
    case ErrorCode.NOT_COORDINATOR:
      return ErrorCode.NOT_ENOUGH_REPLICAS;
    default:
      return code;
  }
}
