/**
 * The transaction.version feature (KIP-890, KIP-1022) as ApiVersions advertises it: the levels
 * this broker supports and the one it has finalized. Clients use transactions v2 (EndTxn v5,
 * Produce v12 adding partitions itself) only when the finalized level is 2 or more.
 */
export const TRANSACTION_VERSION_FEATURE = 'transaction.version';
export const TRANSACTION_VERSION_SUPPORTED = { minVersion: 0, maxVersion: 2 } as const;
export const TRANSACTION_VERSION_FINALIZED: number = 2;
