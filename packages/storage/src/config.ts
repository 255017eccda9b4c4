/**
 * Topic-level log settings, Kafka's names in camelCase with units in the names, Kafka's defaults
 * except flush.messages (Fjord: 1, group-committed; see README "Durability").
 */
import { neverMs, segmentBytesMax, segmentBytesMin } from './limits.js';

export interface CleanupPolicy {
  delete: boolean;
  compact: boolean;
}

export interface LogConfig {
  /** segment.bytes */
  segmentBytes: number;
  /** segment.ms */
  segmentMs: number;
  /** segment.jitter.ms */
  segmentJitterMs: number;
  /** segment.index.bytes: max size of one offset or time index; the segment rolls when either is full. */
  segmentIndexBytes: number;
  /** index.interval.bytes */
  indexIntervalBytes: number;
  /** retention.ms; -1 = infinite. */
  retentionMs: number;
  /** retention.bytes; -1 = infinite. */
  retentionBytes: number;
  /** cleanup.policy */
  cleanupPolicy: CleanupPolicy;
  /** delete.retention.ms: how long tombstones survive after their batch was first cleaned. */
  deleteRetentionMs: number;
  /** min.cleanable.dirty.ratio */
  minCleanableDirtyRatio: number;
  /** min.compaction.lag.ms */
  minCompactionLagMs: number;
  /** max.compaction.lag.ms (Long.MAX = never forces a clean) */
  maxCompactionLagMs: number;
  /** file.delete.delay.ms: deleted segment files linger (renamed *.deleted) this long. */
  fileDeleteDelayMs: number;
  /**
   * flush.messages. 1 (Fjord's default): every append is fdatasync'ed, group-committed, before
   * waitForDurable resolves. N > 1: a sync is started after N records; waitForDurable no longer waits.
   */
  flushMessages: number;
  /** flush.ms (Long.MAX = never). Only matters when flushMessages > 1: then a sync at least every flushMs. */
  flushMs: number;
  /** max.message.bytes (validated by the broker; storage uses it only as a hint). */
  maxMessageBytes: number;
  /** message.timestamp.type */
  messageTimestampType: 'CreateTime' | 'LogAppendTime';
  /** preallocate: accepted and ignored. */
  preallocate: boolean;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export const defaultLogConfig: Readonly<LogConfig> = Object.freeze({
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * DAY_MS,
  segmentJitterMs: 0,
  segmentIndexBytes: 10 * 1024 * 1024,
  indexIntervalBytes: 4096,
  retentionMs: 7 * DAY_MS,
  retentionBytes: -1,
  cleanupPolicy: Object.freeze({ delete: true, compact: false }),
  deleteRetentionMs: DAY_MS,
  minCleanableDirtyRatio: 0.5,
  minCompactionLagMs: 0,
  maxCompactionLagMs: neverMs,
  fileDeleteDelayMs: 60_000,
  flushMessages: 1,
  flushMs: neverMs,
  maxMessageBytes: 1048588,
  messageTimestampType: 'CreateTime',
  preallocate: false,
});

/** Parses Kafka's cleanup.policy list ("delete", "compact", "compact,delete"). */
export function parseCleanupPolicy(value: string): CleanupPolicy {
  const parts = value.split(',').map((s) => s.trim().toLowerCase());
  return { delete: parts.includes('delete'), compact: parts.includes('compact') };
}

/**
 * Fills missing or non-finite fields from the defaults and clamps the ones whose range storage
 * depends on (a NaN from an unparsable config must not reach the roll or index arithmetic).
 */
export function normalizeLogConfig(partial: Partial<LogConfig> | undefined, base: LogConfig = defaultLogConfig): LogConfig {
  const c: LogConfig = { ...base, ...(partial ?? {}) };
  for (const k of Object.keys(base) as (keyof LogConfig)[]) {
    const v = c[k];
    if (typeof base[k] === 'number' && (typeof v !== 'number' || Number.isNaN(v))) {
      (c as unknown as Record<string, unknown>)[k] = base[k];
    }
  }
  c.segmentBytes = Math.min(segmentBytesMax, Math.max(segmentBytesMin, Math.floor(c.segmentBytes)));
  c.segmentIndexBytes = Math.max(4, Math.floor(c.segmentIndexBytes));
  c.indexIntervalBytes = Math.max(0, Math.floor(c.indexIntervalBytes));
  c.segmentJitterMs = Math.max(0, c.segmentJitterMs);
  if (c.segmentMs <= 0) c.segmentMs = base.segmentMs;
  if (!c.cleanupPolicy) c.cleanupPolicy = { ...base.cleanupPolicy };
  return c;
}

/**
 * True when waitForDurable must wait for an fdatasync covering the offset (group commit): the
 * topic flushes after every message (flush.messages <= 1) or continuously (flush.ms <= 0).
 * Kafka flushes when either threshold is reached, so flush.ms only relaxes anything once
 * flush.messages is raised above 1.
 */
export function isGroupCommit(c: LogConfig): boolean {
  return c.flushMessages <= 1 || c.flushMs <= 0;
}
