// kcat (librdkafka) driver: metadata (-L), produce (-P), consume with explicit partitions (-C, no
// group) and offset-by-timestamp queries (-Q). Every invocation is bounded by a timeout.
import { describeRun, kcatPath, run, type RunResult } from './proc.js';
import type { Header, ReadRecord, TestRecord } from './records.js';

export type Codec = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

function base(bootstrap: string): string[] {
  // -m: metadata timeout (s); broker.address.family: loopback is IPv4 only here.
  return ['-b', bootstrap, '-m', '10', '-X', 'broker.address.family=v4'];
}

function props(props: Record<string, string | number> = {}): string[] {
  return Object.entries(props).flatMap(([k, v]) => ['-X', `${k}=${v}`]);
}

export async function kcat(args: string[], { stdin, timeoutMs = 60_000 }: { stdin?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return run(kcatPath, args, { timeoutMs, ...(stdin === undefined ? {} : { stdin }) });
}

function mustSucceed(what: string, r: RunResult): RunResult {
  if (r.code !== 0 || r.timedOut) throw new Error(describeRun(what, r));
  return r;
}

export interface KcatMetadata {
  originating_broker: { id: number; name: string };
  query: { topic: string };
  controllerid?: number;
  brokers: Array<{ id: number; name: string }>;
  topics: Array<{
    topic: string;
    error?: string;
    partitions: Array<{ partition: number; leader: number; replicas: Array<{ id: number }>; isrs: Array<{ id: number }>; error?: string }>;
  }>;
}

export async function kcatMetadata(bootstrap: string, topic?: string): Promise<KcatMetadata> {
  const r = mustSucceed(
    'kcat -L',
    await kcat(['-L', '-J', ...base(bootstrap), ...(topic === undefined ? [] : ['-t', topic])], { timeoutMs: 30_000 }),
  );
  return JSON.parse(r.stdout) as KcatMetadata;
}

/**
 * Produce "key<TAB>value" lines. kcat cannot set per-message timestamps or headers: `headers` apply to
 * every message. Keyed messages use librdkafka's Java-compatible partitioner (murmur2_random).
 */
export async function kcatProduce(
  bootstrap: string,
  topic: string,
  records: readonly TestRecord[],
  { codec = 'none', headers = [], partition, config = {}, timeoutMs = 60_000 }: {
    codec?: Codec;
    headers?: Header[];
    partition?: number;
    config?: Record<string, string | number>;
    timeoutMs?: number;
  } = {},
): Promise<RunResult> {
  for (const r of records) {
    if (r.key === null || r.value === null || /[\t\n]/.test(r.key + r.value))
      throw new Error('kcatProduce: keys and values must be non-null and free of tab/newline');
  }
  const args = [
    '-P',
    ...base(bootstrap),
    '-t',
    topic,
    '-K',
    '\\t',
    '-X',
    'topic.partitioner=murmur2_random',
    '-X',
    `compression.codec=${codec}`,
    ...props(config),
    ...headers.flatMap(([k, v]) => ['-H', `${k}=${v}`]),
    ...(partition === undefined ? [] : ['-p', String(partition)]),
  ];
  const stdin = records.map((r) => `${r.key}\t${r.value}\n`).join('');
  return kcat(args, { stdin, timeoutMs });
}

export async function kcatProduceOk(...args: Parameters<typeof kcatProduce>): Promise<void> {
  const r = await kcatProduce(...args);
  mustSucceed(`kcat -P ${args[1]}`, r);
  if (/fail|error/i.test(r.stderr)) throw new Error(describeRun(`kcat -P ${args[1]} reported errors`, r));
}

interface KcatJsonMessage {
  topic: string;
  partition: number;
  offset: number;
  tstype: string;
  ts: number;
  headers?: Array<string | null> | Record<string, string>;
  key: string | null;
  payload: string | null;
}

function headersOf(h: KcatJsonMessage['headers']): Header[] {
  if (h === undefined) return [];
  if (Array.isArray(h)) {
    const out: Header[] = [];
    for (let i = 0; i + 1 < h.length; i += 2) out.push([h[i]!, h[i + 1] ?? null]);
    return out;
  }
  return Object.entries(h);
}

/** Consume from `offset` to the end of each partition (-e), without a group. */
export async function kcatConsume(
  bootstrap: string,
  topic: string,
  {
    partition,
    offset = 'beginning',
    count,
    config = {},
    timeoutMs = 60_000,
  }: { partition?: number; offset?: string | number; count?: number; config?: Record<string, string | number>; timeoutMs?: number } = {},
): Promise<ReadRecord[]> {
  const args = [
    '-C',
    ...base(bootstrap),
    '-t',
    topic,
    '-o',
    String(offset),
    '-e',
    '-J',
    '-q',
    ...props(config),
    ...(partition === undefined ? [] : ['-p', String(partition)]),
    ...(count === undefined ? [] : ['-c', String(count)]),
  ];
  const r = mustSucceed(`kcat -C ${topic}`, await kcat(args, { timeoutMs }));
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const m = JSON.parse(line) as KcatJsonMessage;
      return {
        topic: m.topic,
        partition: m.partition,
        offset: m.offset,
        key: m.key,
        value: m.payload,
        headers: headersOf(m.headers),
        timestamp: m.ts,
      };
    });
}

/** kcat -Q: the first offset with timestamp >= ts, per partition (-1 when there is none). */
export async function kcatQuery(bootstrap: string, topic: string, partition: number, ts: number): Promise<number> {
  const r = mustSucceed('kcat -Q', await kcat(['-Q', ...base(bootstrap), '-t', `${topic}:${partition}:${ts}`], { timeoutMs: 30_000 }));
  const m = /\[(\d+)\]\s+offset\s+(-?\d+)/.exec(r.stdout);
  if (!m) throw new Error(describeRun('kcat -Q: unexpected output', r));
  return Number(m[2]);
}
