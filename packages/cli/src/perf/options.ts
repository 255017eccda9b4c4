/** Flag values for `fjord perf`: every number is checked against its range and a bad one names the flag. */
import { CliError, enumFlag, intFlag, stringFlag, type Flags } from '../flags.js';
import type { Acks, CompressionName } from '@fjord/client';

/** When neither --num-records nor --duration-ms is given, both of these apply. */
export const defaultNumRecords = 100_000;
export const defaultDurationMs = 60_000;

export interface Bounds {
  /** Stop after this many records (undefined: no count bound). */
  numRecords: number | undefined;
  /** Stop after this long (undefined: no time bound). */
  durationMs: number | undefined;
}

/** A positive rate in records/s (decimals allowed); `allowUnlimited` also takes -1. */
export function rateFlag(flags: Flags, name: string, max: number, allowUnlimited: boolean): number | undefined {
  const raw = stringFlag(flags, name);
  if (raw === undefined) return undefined;
  const v = /^-?\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : NaN;
  if (allowUnlimited && v === -1) return -1;
  if (!(v > 0 && v <= max)) {
    throw new CliError(`--${name} expects ${allowUnlimited ? '-1 (unlimited) or ' : ''}records/s above 0 and at most ${max}, got '${raw}'`);
  }
  return v;
}

export function acksFlag(flags: Flags): Acks | undefined {
  const raw = stringFlag(flags, 'acks');
  if (raw === undefined) return undefined;
  if (raw === 'all' || raw === '-1') return 'all';
  if (raw === '0') return 0;
  if (raw === '1') return 1;
  throw new CliError(`--acks expects one of 0, 1, all, -1, got '${raw}'`);
}

const codecs = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

export function compressionFlag(flags: Flags): CompressionName | undefined {
  return enumFlag(flags, 'compression', codecs);
}

/** --num-records and --duration-ms; with neither, both defaults apply, so a run always ends. */
export function boundsFlags(flags: Flags): Bounds {
  const numRecords = intFlag(flags, 'num-records', { min: 1, max: 1_000_000_000 });
  const durationMs = intFlag(flags, 'duration-ms', { min: 1, max: 86_400_000 });
  if (numRecords === undefined && durationMs === undefined) return { numRecords: defaultNumRecords, durationMs: defaultDurationMs };
  return { numRecords, durationMs };
}

/** The topic: --topic, or the one positional argument. */
export function topicFlag(flags: Flags, command: string): string {
  const positional = flags._;
  if (positional.length > 1 || (positional.length === 1 && flags.topic !== undefined)) {
    throw new CliError(`unexpected argument '${positional.at(-1)}' (see fjord perf ${command} --help)`);
  }
  const topic = stringFlag(flags, 'topic') ?? positional[0];
  if (topic === undefined || topic === '') throw new CliError(`fjord perf ${command} needs --topic TOPIC`);
  if (topic.length > 249 || !/^[a-zA-Z0-9._-]+$/.test(topic)) {
    throw new CliError(`--topic '${topic}' is not a valid topic name (up to 249 of a-z A-Z 0-9 . _ -)`);
  }
  return topic;
}

/** Flags that take no value but come in an on/off pair. */
export function onOff(flags: Flags, name: string): boolean | undefined {
  const on = flags[name] === true;
  const off = flags[`no-${name}`] === true;
  if (on && off) throw new CliError(`--${name} and --no-${name} cannot both be given`);
  return on ? true : off ? false : undefined;
}
