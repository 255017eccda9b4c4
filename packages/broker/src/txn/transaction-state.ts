/**
 * The states of a transactional id, as Kafka's TransactionState: the id each is stored under in
 * __transaction_state (TransactionLogValue.TransactionStatus), the name DescribeTransactions and
 * ListTransactions report, and the states each may be entered from.
 *
 *   Empty ──AddPartitions/AddOffsets──▶ Ongoing ──EndTxn(commit)──▶ PrepareCommit ──markers──▶ CompleteCommit
 *     ▲                                  │  │                                                      │
 *     │                                  │  └──EndTxn(abort), timeout, fencing──▶ PrepareAbort ──markers──▶ CompleteAbort
 *     │                                  └──InitProducerId / timeout: PrepareEpochFence (never stored) ──▶ PrepareAbort
 *     └───────────── InitProducerId (epoch bump) from Empty, CompleteCommit, CompleteAbort ◀────────────────────┘
 *
 * With transactions v2 (KIP-890) an EndTxn(abort) may also go from Empty, CompleteCommit or
 * CompleteAbort to PrepareAbort. Dead is the transient state of an expiring transactional id.
 */
export type TxnStateName = 'Empty' | 'Ongoing' | 'PrepareCommit' | 'PrepareAbort' | 'CompleteCommit' | 'CompleteAbort' | 'Dead' | 'PrepareEpochFence';

export interface TxnStateInfo {
  readonly name: TxnStateName;
  readonly id: number;
  /** Whether transactional.id.expiration.ms may remove an id in this state. */
  readonly expirationAllowed: boolean;
}

export const TxnState = {
  Empty: { name: 'Empty', id: 0, expirationAllowed: true },
  Ongoing: { name: 'Ongoing', id: 1, expirationAllowed: false },
  PrepareCommit: { name: 'PrepareCommit', id: 2, expirationAllowed: false },
  PrepareAbort: { name: 'PrepareAbort', id: 3, expirationAllowed: false },
  CompleteCommit: { name: 'CompleteCommit', id: 4, expirationAllowed: true },
  CompleteAbort: { name: 'CompleteAbort', id: 5, expirationAllowed: true },
  Dead: { name: 'Dead', id: 6, expirationAllowed: false },
  PrepareEpochFence: { name: 'PrepareEpochFence', id: 7, expirationAllowed: false },
} as const satisfies Record<TxnStateName, TxnStateInfo>;

/** The states a transition into the key state may start from (Kafka's validPreviousStates). */
export const validPreviousStates: Readonly<Record<TxnStateName, ReadonlySet<TxnStateName>>> = {
  Empty: new Set(['Empty', 'CompleteCommit', 'CompleteAbort']),
  Ongoing: new Set(['Ongoing', 'Empty', 'CompleteCommit', 'CompleteAbort']),
  PrepareCommit: new Set(['Ongoing']),
  PrepareAbort: new Set(['Ongoing', 'PrepareEpochFence', 'Empty', 'CompleteCommit', 'CompleteAbort']),
  CompleteCommit: new Set(['PrepareCommit']),
  CompleteAbort: new Set(['PrepareAbort']),
  Dead: new Set(['Empty', 'CompleteAbort', 'CompleteCommit']),
  PrepareEpochFence: new Set(['Ongoing']),
};

const byId = new Map<number, TxnStateName>(Object.values(TxnState).map((s) => [s.id, s.name]));

/** The state stored under `id`, or undefined for an id this broker does not know. */
export function txnStateFromId(id: number): TxnStateName | undefined {
  return byId.get(id);
}

export function isTxnStateName(name: string): name is TxnStateName {
  return Object.prototype.hasOwnProperty.call(TxnState, name);
}

/**
 * Transaction versions (the transaction.version feature): 0 and 1 are the classic protocol (1
 * writes flexible __transaction_state values); 2 is KIP-890 part 2 (the epoch is bumped by every
 * EndTxn, produce adds partitions implicitly).
 */
export const TV_0 = 0;
export const TV_1 = 1;
export const TV_2 = 2;

export function supportsEpochBump(tv: number): boolean {
  return tv >= TV_2;
}

/** Kafka's TransactionVersion.transactionVersionForEndTxn: EndTxn v5 is sent only by TV2 clients. */
export function tvForEndTxn(apiVersion: number): number {
  return apiVersion > 4 ? TV_2 : TV_0;
}

/** Kafka's TransactionVersion.transactionVersionForAddPartitionsToTxn (v5 is only sent for TV2 produces). */
export function tvForAddPartitionsToTxn(apiVersion: number): number {
  return apiVersion > 4 ? TV_2 : TV_0;
}
