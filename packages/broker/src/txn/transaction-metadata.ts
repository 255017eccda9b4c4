/**
 * One transactional id's state, with Kafka's two-step transitions (TransactionMetadata): a
 * prepare* call checks the transition, marks it pending and returns the new state as a
 * TxnTransit; the coordinator writes that to __transaction_state and, once it is durable, calls
 * completeTransitionTo(). While a transition is pending no other may start (the coordinator
 * answers CONCURRENT_TRANSACTIONS), so every state a client learns is on disk first.
 *
 * Pure and synchronous: no I/O, no clock (times are passed in). A transition the state machine
 * forbids is a coordinator bug and throws TxnInvariantError.
 */
import { ErrorCode } from '@fjord/protocol';
import { supportsEpochBump, TV_0, validPreviousStates, type TxnStateName } from './transaction-state.js';

export const NO_PRODUCER_ID = -1n;
export const NO_PRODUCER_EPOCH = -1;
export const EPOCH_MAX = 32767;

/** Kafka never hands out Short.MAX_VALUE - 1 or above, so fencing can always bump once more. */
export function isEpochExhausted(epoch: number): boolean {
  return epoch >= EPOCH_MAX - 1;
}

/** A broken invariant of the transaction state machine: crashes rather than becoming an error code. */
export class TxnInvariantError extends Error {
  override readonly name = 'TxnInvariantError';
}

/** "topic:partition" (topic names cannot contain ':'). */
export type TopicPartitionKey = string;

export function tpKey(topic: string, partition: number): TopicPartitionKey {
  return `${topic}:${partition}`;
}

export function splitTpKey(k: TopicPartitionKey): { topic: string; partition: number } {
  const i = k.lastIndexOf(':');
  return { topic: k.slice(0, i), partition: Number(k.slice(i + 1)) };
}

/** The state a transition leads to, as it is written to __transaction_state. */
export interface TxnTransit {
  producerId: bigint;
  prevProducerId: bigint;
  nextProducerId: bigint;
  producerEpoch: number;
  lastProducerEpoch: number;
  txnTimeoutMs: number;
  state: TxnStateName;
  topicPartitions: ReadonlySet<TopicPartitionKey>;
  txnStartTimestamp: number;
  txnLastUpdateTimestamp: number;
  clientTransactionVersion: number;
}

export interface TransactionMetadataInit {
  transactionalId: string;
  producerId: bigint;
  prevProducerId: bigint;
  nextProducerId: bigint;
  producerEpoch: number;
  lastProducerEpoch: number;
  txnTimeoutMs: number;
  state: TxnStateName;
  topicPartitions: Iterable<TopicPartitionKey>;
  txnStartTimestamp: number;
  txnLastUpdateTimestamp: number;
  clientTransactionVersion: number;
}

type Overrides = Partial<Omit<TxnTransit, 'state' | 'prevProducerId'>>;

export class TransactionMetadata {
  readonly transactionalId: string;
  // Set by setFields() (from the constructor on).
  producerId!: bigint;
  prevProducerId!: bigint;
  nextProducerId!: bigint;
  producerEpoch!: number;
  lastProducerEpoch!: number;
  txnTimeoutMs!: number;
  state: TxnStateName;
  topicPartitions!: Set<TopicPartitionKey>;
  txnStartTimestamp!: number;
  txnLastUpdateTimestamp!: number;
  clientTransactionVersion!: number;
  /** The state a transition under way leads to (its record is being written). */
  pendingState: TxnStateName | undefined;
  /** A fencing bump whose record failed to be written: the next fence does not bump again. */
  hasFailedEpochFence = false;

  constructor(init: TransactionMetadataInit) {
    this.transactionalId = init.transactionalId;
    this.state = init.state;
    this.setFields(init);
  }

  /** Takes every stored field but the id and the state from `f` (loaded, or the completed transition). */
  private setFields(f: Omit<TransactionMetadataInit, 'transactionalId' | 'state'>): void {
    this.producerId = f.producerId;
    this.prevProducerId = f.prevProducerId;
    this.nextProducerId = f.nextProducerId;
    this.producerEpoch = f.producerEpoch;
    this.lastProducerEpoch = f.lastProducerEpoch;
    this.txnTimeoutMs = f.txnTimeoutMs;
    this.topicPartitions = new Set(f.topicPartitions);
    this.txnStartTimestamp = f.txnStartTimestamp;
    this.txnLastUpdateTimestamp = f.txnLastUpdateTimestamp;
    this.clientTransactionVersion = f.clientTransactionVersion;
  }

  /** A new transactional id: Empty, no epoch yet (InitProducerId bumps it to 0). */
  static fresh(transactionalId: string, producerId: bigint, txnTimeoutMs: number, now: number): TransactionMetadata {
    return new TransactionMetadata({
      transactionalId,
      producerId,
      prevProducerId: NO_PRODUCER_ID,
      nextProducerId: NO_PRODUCER_ID,
      producerEpoch: NO_PRODUCER_EPOCH,
      lastProducerEpoch: NO_PRODUCER_EPOCH,
      txnTimeoutMs,
      state: 'Empty',
      topicPartitions: [],
      txnStartTimestamp: -1,
      txnLastUpdateTimestamp: now,
      clientTransactionVersion: TV_0,
    });
  }

  get pendingTransitionInProgress(): boolean {
    return this.pendingState !== undefined;
  }

  get isProducerEpochExhausted(): boolean {
    return isEpochExhausted(this.producerEpoch);
  }

  /** Ongoing or preparing: a producer id may not be rotated under it. */
  private get hasPendingTransaction(): boolean {
    return this.state === 'Ongoing' || this.state === 'PrepareAbort' || this.state === 'PrepareCommit';
  }

  /** Marks a partition's marker as written while the transaction completes. */
  removePartition(k: TopicPartitionKey): void {
    if (this.state !== 'PrepareCommit' && this.state !== 'PrepareAbort') {
      throw new TxnInvariantError(`${this.transactionalId}: removing a partition whose marker was written in state ${this.state}`);
    }
    this.topicPartitions.delete(k);
  }

  // ---- transitions ----

  /** InitProducerId against an ongoing transaction, or a timeout: bump the epoch to fence the producer, then abort. */
  prepareFenceProducerEpoch(): TxnTransit {
    // Not again after a fence whose record was not written (that epoch was never returned), nor past the maximum.
    const bumped = this.hasFailedEpochFence || this.producerEpoch === EPOCH_MAX ? this.producerEpoch : this.producerEpoch + 1;
    return this.prepareTransitionTo('PrepareEpochFence', { producerEpoch: bumped });
  }

  /**
   * InitProducerId on a completed or empty id: the next epoch. With the producer's own id and
   * epoch (KIP-360): a retry of a bump it never heard about gets the same epoch again; an epoch
   * that is neither current nor last is fenced (PRODUCER_FENCED).
   */
  prepareIncrementProducerEpoch(newTxnTimeoutMs: number, expectedEpoch: number | undefined, now: number): TxnTransit | number {
    if (this.isProducerEpochExhausted) throw new TxnInvariantError(`no producer epochs left for producer id ${this.producerId}`);
    const bumped = this.producerEpoch + 1;
    let producerEpoch: number;
    let lastProducerEpoch: number;
    if (expectedEpoch === undefined) {
      producerEpoch = bumped;
      lastProducerEpoch = NO_PRODUCER_EPOCH;
    } else if (this.producerEpoch === NO_PRODUCER_EPOCH || expectedEpoch === this.producerEpoch) {
      producerEpoch = bumped;
      lastProducerEpoch = this.producerEpoch;
    } else if (expectedEpoch === this.lastProducerEpoch) {
      producerEpoch = this.producerEpoch;
      lastProducerEpoch = this.lastProducerEpoch;
    } else {
      return ErrorCode.PRODUCER_FENCED;
    }
    return this.prepareTransitionTo('Empty', {
      producerEpoch,
      lastProducerEpoch,
      txnTimeoutMs: newTxnTimeoutMs,
      topicPartitions: new Set(),
      txnStartTimestamp: -1,
      txnLastUpdateTimestamp: now,
    });
  }

  /** InitProducerId when the epoch is used up: a new producer id at epoch 0. */
  prepareProducerIdRotation(newProducerId: bigint, newTxnTimeoutMs: number, now: number, recordLastEpoch: boolean): TxnTransit {
    if (this.hasPendingTransaction) throw new TxnInvariantError('cannot rotate producer ids while a transaction is pending');
    return this.prepareTransitionTo('Empty', {
      producerId: newProducerId,
      producerEpoch: 0,
      lastProducerEpoch: recordLastEpoch ? this.producerEpoch : NO_PRODUCER_EPOCH,
      txnTimeoutMs: newTxnTimeoutMs,
      topicPartitions: new Set(),
      txnStartTimestamp: -1,
      txnLastUpdateTimestamp: now,
    });
  }

  /** AddPartitionsToTxn / AddOffsetsToTxn (or, with TV2, a produce): Ongoing with the partitions added. */
  prepareAddPartitions(added: Iterable<TopicPartitionKey>, now: number, clientTransactionVersion: number): TxnTransit {
    const starts = this.state === 'Empty' || this.state === 'CompleteAbort' || this.state === 'CompleteCommit';
    const topicPartitions = new Set(this.topicPartitions);
    for (const k of added) topicPartitions.add(k);
    return this.prepareTransitionTo('Ongoing', {
      topicPartitions,
      txnStartTimestamp: starts ? now : this.txnStartTimestamp,
      txnLastUpdateTimestamp: now,
      clientTransactionVersion,
    });
  }

  /**
   * EndTxn: PrepareCommit or PrepareAbort. With TV2 the epoch is bumped (the markers carry it, so
   * a late produce of the old epoch is fenced); an exhausted epoch brings a new producer id, which
   * completion switches to.
   */
  prepareAbortOrCommit(newState: 'PrepareCommit' | 'PrepareAbort', clientTransactionVersion: number, nextProducerId: bigint, now: number, noPartitionAdded: boolean): TxnTransit {
    let producerEpoch = this.producerEpoch;
    let lastProducerEpoch = this.lastProducerEpoch;
    if (supportsEpochBump(clientTransactionVersion)) {
      // An abort at the maximum epoch (a broken state) goes through without overflowing, so the id can recover.
      if (!(this.producerEpoch === EPOCH_MAX && newState === 'PrepareAbort')) producerEpoch = this.producerEpoch + 1;
      lastProducerEpoch = this.producerEpoch;
    }
    return this.prepareTransitionTo(newState, {
      producerEpoch,
      lastProducerEpoch,
      // TV2 may abort with no partition added: the start time is then the update time.
      txnStartTimestamp: noPartitionAdded ? now : this.txnStartTimestamp,
      nextProducerId,
      txnLastUpdateTimestamp: now,
      clientTransactionVersion,
    });
  }

  /** Every marker is written: CompleteCommit or CompleteAbort (TV2: on a new producer id if the epoch ran out). */
  prepareComplete(now: number): TxnTransit {
    // The state change was written, so a failed fence is behind us.
    this.hasFailedEpochFence = false;
    const rotate = supportsEpochBump(this.clientTransactionVersion) && this.nextProducerId !== NO_PRODUCER_ID;
    return this.prepareTransitionTo(this.state === 'PrepareCommit' ? 'CompleteCommit' : 'CompleteAbort', {
      producerId: rotate ? this.nextProducerId : this.producerId,
      producerEpoch: rotate ? 0 : this.producerEpoch,
      nextProducerId: NO_PRODUCER_ID,
      topicPartitions: new Set(),
      txnLastUpdateTimestamp: now,
    });
  }

  /** transactional.id.expiration.ms: the id is removed (a tombstone is written). */
  prepareDead(): TxnTransit {
    return this.prepareTransitionTo('Dead', { topicPartitions: new Set() });
  }

  private prepareTransitionTo(state: TxnStateName, o: Overrides): TxnTransit {
    if (this.pendingState !== undefined) {
      throw new TxnInvariantError(`${this.transactionalId}: transition to ${state} while ${this.pendingState} is pending`);
    }
    const t: TxnTransit = {
      producerId: o.producerId ?? this.producerId,
      prevProducerId: this.producerId,
      nextProducerId: o.nextProducerId ?? this.nextProducerId,
      producerEpoch: o.producerEpoch ?? this.producerEpoch,
      lastProducerEpoch: o.lastProducerEpoch ?? this.lastProducerEpoch,
      txnTimeoutMs: o.txnTimeoutMs ?? this.txnTimeoutMs,
      state,
      topicPartitions: o.topicPartitions ?? new Set(this.topicPartitions),
      txnStartTimestamp: o.txnStartTimestamp ?? this.txnStartTimestamp,
      txnLastUpdateTimestamp: o.txnLastUpdateTimestamp ?? this.txnLastUpdateTimestamp,
      clientTransactionVersion: o.clientTransactionVersion ?? this.clientTransactionVersion,
    };
    if (t.producerId < 0n) throw new TxnInvariantError(`illegal new producer id ${t.producerId}`);
    // The epoch is -1 only for an id that was never initialised, until it is removed.
    if (state !== 'Dead' && t.producerEpoch < 0) throw new TxnInvariantError(`illegal new producer epoch ${t.producerEpoch}`);
    if (!validPreviousStates[state].has(this.state)) {
      throw new TxnInvariantError(`${this.transactionalId}: ${state} cannot follow ${this.state}`);
    }
    this.pendingState = state;
    return t;
  }

  /** The transition's record is durable: apply it (after checking it is the one that was prepared). */
  completeTransitionTo(t: TxnTransit): void {
    const to = this.pendingState;
    if (to === undefined) throw new TxnInvariantError(`${this.transactionalId}: completing a transition to ${t.state} that is not pending`);
    if (to !== t.state) this.transitionFailure(t);
    const subset = (a: ReadonlySet<string>, b: ReadonlySet<string>) => [...a].every((k) => b.has(k));
    switch (to) {
      case 'Empty': // InitProducerId
        if ((this.producerEpoch !== t.producerEpoch && !this.validEpochBump(t)) || t.topicPartitions.size > 0 || t.txnStartTimestamp !== -1) this.transitionFailure(t);
        break;
      case 'Ongoing': // AddPartitions
        if (!this.validProducerEpoch(t) || !subset(this.topicPartitions, t.topicPartitions) || this.txnTimeoutMs !== t.txnTimeoutMs) this.transitionFailure(t);
        break;
      case 'PrepareAbort':
      case 'PrepareCommit': {
        // TV2 lets Empty, CompleteCommit and CompleteAbort abort, with a new start time.
        const emptyAbort = to === 'PrepareAbort' && supportsEpochBump(t.clientTransactionVersion) && (this.state === 'Empty' || this.state === 'CompleteCommit' || this.state === 'CompleteAbort');
        const samePartitions = this.topicPartitions.size === t.topicPartitions.size && subset(this.topicPartitions, t.topicPartitions);
        if (!this.validProducerEpoch(t) || !samePartitions || this.txnTimeoutMs !== t.txnTimeoutMs || (this.txnStartTimestamp !== t.txnStartTimestamp && !emptyAbort)) this.transitionFailure(t);
        break;
      }
      case 'CompleteAbort':
      case 'CompleteCommit':
        if (!this.validProducerEpoch(t) || this.txnTimeoutMs !== t.txnTimeoutMs || t.txnStartTimestamp === -1) this.transitionFailure(t);
        break;
      case 'PrepareEpochFence':
        // Fencing goes straight on to PrepareAbort; a fence is never stored.
        this.transitionFailure(t);
        break;
      case 'Dead':
        throw new TxnInvariantError(`${this.transactionalId}: Dead is never completed, the id is removed instead`);
    }
    this.setFields(t);
    this.pendingState = undefined;
    this.state = to;
  }

  /** Kafka's validProducerEpoch: TV2 bumps on prepare and may rotate the id on completion. */
  private validProducerEpoch(t: TxnTransit): boolean {
    const v2 = supportsEpochBump(t.clientTransactionVersion);
    if (v2 && (t.state === 'CompleteCommit' || t.state === 'CompleteAbort') && t.producerEpoch === 0) {
      return t.lastProducerEpoch === this.lastProducerEpoch && t.prevProducerId === this.producerId;
    }
    if (v2 && (t.state === 'PrepareCommit' || t.state === 'PrepareAbort')) {
      return t.lastProducerEpoch === this.producerEpoch && t.producerId === this.producerId;
    }
    return t.producerEpoch === this.producerEpoch && t.producerId === this.producerId;
  }

  private validEpochBump(t: TxnTransit): boolean {
    return t.producerEpoch === this.producerEpoch + 1 || (t.producerEpoch === 0 && t.producerId !== this.producerId);
  }

  private transitionFailure(t: TxnTransit): never {
    throw new TxnInvariantError(`${this.transactionalId}: unexpected transition from ${this.state} to ${JSON.stringify({ ...t, topicPartitions: [...t.topicPartitions] }, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
  }
}
