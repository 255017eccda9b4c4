// Test data shared by the client matrix: deterministic keyed records with headers and explicit
// timestamps, the expected partition/offset of each, and an exact comparison with a client's read-back.
import { keyPartition } from './murmur2.js';

export type Header = [string, string | null];

/** A record as the test drivers exchange it (JSON between TypeScript, Python and kcat). */
export interface TestRecord {
  key: string | null;
  value: string | null;
  headers: Header[];
  /** Explicit create time; absent = the client stamps it. */
  timestamp?: number;
  /** Explicit partition; absent = the client's partitioner decides. */
  partition?: number;
}

/** A record as read back by a consumer. */
export interface ReadRecord {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  headers: Header[];
  timestamp: number;
  /** Optional: digest form used for large values (see python drivers' "digest" option). */
  value_len?: number;
  value_sha256?: string;
}

/** What a read-back record must equal. A timestamp range is for clients that cannot set one. */
export interface ExpectedRecord {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  headers: Header[];
  timestamp: number | { min: number; max: number };
}

const filler = 'abcdefghijklmnopqrstuvwxyz0123456789-ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/**
 * `count` keyed records. Keys repeat (so per-key order matters), values vary in length and include
 * non-ASCII UTF-8, headers vary in number (none, one, a repeated name, an empty value). Values contain
 * no tab or newline, so kcat can produce them from "key<TAB>value" lines.
 */
export function makeRecords(
  count: number,
  { tag, baseTimestamp, keySpace = 263 }: { tag: string; baseTimestamp: number; keySpace?: number },
): TestRecord[] {
  const out: TestRecord[] = [];
  for (let i = 0; i < count; i++) {
    const key = `key-${(i * 7919) % keySpace}`;
    const len = (i * 37) % 300;
    let pad = '';
    while (pad.length < len) pad += filler;
    const value = `${tag}|${i}|${i % 13 === 0 ? 'fjord-ø-✓|' : ''}${pad.slice(0, len)}`;
    const headers: Header[] = [];
    if (i % 10 !== 0) {
      headers.push(['trace', `t-${i}`]);
      if (i % 5 === 0) headers.push(['trace', 'dup']);
      headers.push(['n', String(i)]);
      if (i % 3 === 0) headers.push(['empty', '']);
    }
    out.push({ key, value, headers, timestamp: baseTimestamp + i * 10 });
  }
  return out;
}

/**
 * Expected layout when every record is keyed and partitioned with Kafka's murmur2 partitioner (or has
 * an explicit partition): offsets are assigned per partition in production order, starting at `startOffsets`.
 */
export function expectLayout(
  records: readonly TestRecord[],
  numPartitions: number,
  overrides: { headers?: Header[]; timestamp?: { min: number; max: number }; startOffsets?: number[] } = {},
): ExpectedRecord[] {
  const next = Array.from({ length: numPartitions }, (_, p) => overrides.startOffsets?.[p] ?? 0);
  return records.map((r) => {
    const partition = r.partition ?? (r.key === null ? -1 : keyPartition(r.key, numPartitions));
    if (partition < 0) throw new Error('expectLayout needs keyed records or explicit partitions');
    const offset = next[partition]!;
    next[partition] = offset + 1;
    return {
      partition,
      offset,
      key: r.key,
      value: r.value,
      headers: overrides.headers ?? r.headers,
      timestamp: overrides.timestamp ?? r.timestamp ?? { min: 0, max: Number.MAX_SAFE_INTEGER },
    };
  });
}

function fmt(r: unknown): string {
  const s = JSON.stringify(r);
  return s.length > 400 ? `${s.slice(0, 400)}...` : s;
}

/**
 * Compare a consumer's records with the expectation, exactly: same count, and per (partition, offset)
 * the same key, value, headers (order included) and timestamp. Returns a list of human-readable
 * problems (empty = equal); at most `limit` are listed.
 */
export function diffRecords(expected: readonly ExpectedRecord[], actual: readonly ReadRecord[], limit = 8): string[] {
  const problems: string[] = [];
  const byPos = new Map<string, ReadRecord>();
  for (const r of actual) {
    const pos = `${r.partition}@${r.offset}`;
    if (byPos.has(pos)) problems.push(`duplicate record at partition ${r.partition} offset ${r.offset}`);
    byPos.set(pos, r);
  }
  if (actual.length !== expected.length) problems.push(`expected ${expected.length} records, read ${actual.length}`);
  for (const e of expected) {
    if (problems.length >= limit) break;
    const pos = `${e.partition}@${e.offset}`;
    const a = byPos.get(pos);
    if (!a) {
      problems.push(`missing partition ${e.partition} offset ${e.offset}: expected ${fmt(e)}`);
      continue;
    }
    byPos.delete(pos);
    const fields: string[] = [];
    if (a.key !== e.key) fields.push(`key ${fmt(a.key)} != ${fmt(e.key)}`);
    if (a.value !== e.value) fields.push(`value ${fmt(a.value)} != ${fmt(e.value)}`);
    if (JSON.stringify(a.headers) !== JSON.stringify(e.headers))
      fields.push(`headers ${fmt(a.headers)} != ${fmt(e.headers)}`);
    if (typeof e.timestamp === 'number') {
      if (a.timestamp !== e.timestamp) fields.push(`timestamp ${a.timestamp} != ${e.timestamp}`);
    } else if (!(a.timestamp >= e.timestamp.min && a.timestamp <= e.timestamp.max)) {
      fields.push(`timestamp ${a.timestamp} not in [${e.timestamp.min}, ${e.timestamp.max}]`);
    }
    if (fields.length > 0) problems.push(`partition ${e.partition} offset ${e.offset}: ${fields.join('; ')}`);
  }
  for (const extra of byPos.values()) {
    if (problems.length >= limit) break;
    problems.push(`unexpected record at partition ${extra.partition} offset ${extra.offset}: ${fmt(extra)}`);
  }
  return problems;
}

/** Group read records by topic. */
export function byTopic(records: readonly ReadRecord[]): Map<string, ReadRecord[]> {
  const out = new Map<string, ReadRecord[]>();
  for (const r of records) {
    let list = out.get(r.topic);
    if (!list) out.set(r.topic, (list = []));
    list.push(r);
  }
  return out;
}
