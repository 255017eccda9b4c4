/**
 * Where resetGroupOffsets moves a partition, as kafka-consumer-groups.sh --reset-offsets decides it:
 * earliest/latest are the log start and end; a timestamp is the first offset at or after it (the
 * log end when there is none); shiftBy is relative to the committed offset (which must exist); and
 * an explicit offset or a shift is clamped into [log start, log end]. Pure: the caller fetches the
 * watermarks and the committed offset.
 */
import { ConfigError } from '../errors.js';

export type ResetTo = 'earliest' | 'latest' | { offset: bigint } | { timestamp: number } | { shiftBy: number };

export interface PartitionMarks {
  /** Log start offset (low watermark). */
  earliest: bigint;
  /** Log end offset (high watermark). */
  latest: bigint;
  /** ListOffsets by timestamp: -1n when no record is at or after it. Only for `{ timestamp }`. */
  byTimestamp?: bigint;
}

/** Checks `to` and throws ConfigError naming what is wrong. */
export function validateResetTo(to: unknown): asserts to is ResetTo {
  if (to === 'earliest' || to === 'latest') return;
  if (typeof to !== 'object' || to === null) throw new ConfigError('to', `expected 'earliest', 'latest', { offset }, { timestamp } or { shiftBy }, got ${String(to)}`);
  const keys = Object.keys(to);
  if (keys.length !== 1) throw new ConfigError('to', `expected exactly one of offset, timestamp, shiftBy, got ${JSON.stringify(keys)}`);
  const t = to as Record<string, unknown>;
  if ('offset' in t && (typeof t['offset'] !== 'bigint' || t['offset'] < 0n)) throw new ConfigError('to.offset', `expected a bigint >= 0n, got ${String(t['offset'])}`);
  if ('timestamp' in t && (!Number.isSafeInteger(t['timestamp']) || (t['timestamp'] as number) < 0)) throw new ConfigError('to.timestamp', `expected ms since the epoch (an integer >= 0), got ${String(t['timestamp'])}`);
  if ('shiftBy' in t && !Number.isSafeInteger(t['shiftBy'])) throw new ConfigError('to.shiftBy', `expected an integer, got ${String(t['shiftBy'])}`);
  if (!('offset' in t || 'timestamp' in t || 'shiftBy' in t)) throw new ConfigError('to', `unknown reset target ${JSON.stringify(keys[0])}`);
}

/** The new committed offset of one partition. `committed` is null when the group has none. */
export function resetTarget(to: ResetTo, marks: PartitionMarks, committed: bigint | null, what: string): bigint {
  const clamp = (o: bigint): bigint => (o < marks.earliest ? marks.earliest : o > marks.latest ? marks.latest : o);
  if (to === 'earliest') return marks.earliest;
  if (to === 'latest') return marks.latest;
  if ('offset' in to) return clamp(to.offset);
  if ('timestamp' in to) {
    const o = marks.byTimestamp ?? -1n;
    return o < 0n ? marks.latest : o;
  }
  if (committed === null) throw new ConfigError('to.shiftBy', `${what} has no committed offset to shift`);
  return clamp(committed + BigInt(to.shiftBy));
}
