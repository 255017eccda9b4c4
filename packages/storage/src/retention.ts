/**
 * Which segments retention deletes (cleanup.policy=delete), as Kafka decides it: whole segments
 * from the oldest, first those whose largest timestamp is older than retention.ms, then the
 * oldest while the log is larger than retention.bytes, then those wholly below the log start
 * offset (DeleteRecords; applies whatever the policy). Only segments that end at or below the high
 * watermark qualify. Pure, so it is tested on its own.
 */

export interface RetentionSegment {
  baseOffset: bigint;
  sizeBytes: number;
  /** Largest record timestamp, or the file's last modification when no record has one. */
  largestTimestampMs: number;
  /** First offset after the segment: the next segment's base, or the log end offset for the last. */
  endOffset: bigint;
}

export interface RetentionInput {
  segments: readonly RetentionSegment[];
  deletePolicy: boolean;
  retentionMs: number;
  retentionBytes: number;
  nowMs: number;
  logStartOffset: bigint;
  highWatermark: bigint;
}

export interface RetentionDecision {
  /** How many segments, from the oldest, to delete. May include the last (active) one: roll first. */
  count: number;
  reason: 'retention.ms' | 'retention.bytes' | 'log-start-offset' | null;
}

export function retentionDecision(input: RetentionInput): RetentionDecision {
  const segs = input.segments;
  let count = 0;
  let reason: RetentionDecision['reason'] = null;
  // A segment qualifies only when it is non-empty (or not the last) and all of it is below the high watermark.
  const eligible = (i: number): boolean => {
    const s = segs[i]!;
    const last = i === segs.length - 1;
    if (last && s.sizeBytes === 0) return false;
    return s.endOffset <= input.highWatermark;
  };
  if (input.deletePolicy && input.retentionMs >= 0) {
    while (count < segs.length && eligible(count) && input.nowMs - segs[count]!.largestTimestampMs > input.retentionMs) count++;
    if (count > 0) reason = 'retention.ms';
  }
  if (input.deletePolicy && input.retentionBytes >= 0) {
    let total = 0;
    for (let i = count; i < segs.length; i++) total += segs[i]!.sizeBytes;
    let diff = total - input.retentionBytes;
    const before = count;
    while (count < segs.length && eligible(count) && diff - segs[count]!.sizeBytes >= 0) {
      diff -= segs[count]!.sizeBytes;
      count++;
    }
    if (count > before) reason = 'retention.bytes';
  }
  const before = count;
  // Below the log start offset: the segment after it starts at or below it (never the last one).
  while (count < segs.length - 1 && segs[count + 1]!.baseOffset <= input.logStartOffset && eligible(count)) count++;
  if (count > before) reason = 'log-start-offset';
  return { count, reason };
}
