/** Counters a LogManager (or a standalone log) exposes, so tests can assert what startup did. */
export interface StorageStats {
  logsLoaded: number;
  /** Segments fully scanned (CRC-verified, indexes rebuilt) while loading. */
  recoveredSegments: number;
  /** Bytes read by those full scans. 0 after a clean shutdown. */
  bytesScannedAtStartup: number;
  /** Bytes read by the cheap tail check of each log's last segment (from its last index entry). */
  tailBytesScannedAtStartup: number;
  /** Indexes found missing or inconsistent and rebuilt (at startup or on first use). */
  indexesRebuilt: number;
  /** Segments whose torn or corrupt tail was cut off (plus segments removed after them). */
  truncatedSegments: number;
  /** Checkpoint or metadata files that did not parse. */
  badCheckpointFiles: number;
  /** Interrupted compaction swaps completed at startup. */
  swapsCompleted: number;
  /** Logs that went offline after an I/O failure. */
  offlineLogs: number;
}

export function newStats(): StorageStats {
  return {
    logsLoaded: 0,
    recoveredSegments: 0,
    bytesScannedAtStartup: 0,
    tailBytesScannedAtStartup: 0,
    indexesRebuilt: 0,
    truncatedSegments: 0,
    badCheckpointFiles: 0,
    swapsCompleted: 0,
    offlineLogs: 0,
  };
}
