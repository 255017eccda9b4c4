// Setup and read-back shortcuts used by several test files. Setup goes through
// confluent-kafka-python (librdkafka's admin client): the most widely deployed client family.
import { createHash } from 'node:crypto';
import { py } from './python.js';
import type { ReadRecord, TestRecord } from './records.js';

export interface TopicSpec {
  name: string;
  num_partitions?: number;
  config?: Record<string, string>;
}

export async function createTopics(bootstrap: string, topics: TopicSpec[]): Promise<void> {
  const res = await py<{ results: Record<string, unknown> }>('ck', 'create_topics', {
    bootstrap,
    topics: topics.map((t) => ({ name: t.name, num_partitions: t.num_partitions ?? 1, replication_factor: 1, config: t.config ?? {} })),
  });
  const failed = Object.entries(res.results).filter(([, e]) => e !== null);
  if (failed.length > 0) throw new Error(`setup: CreateTopics failed: ${JSON.stringify(failed)}`);
}

export interface Delivery {
  i: number;
  partition?: number;
  offset?: number;
  timestamp?: number;
  error: { code: number | null; name: string; str: string } | null;
}

/** Produce with confluent-kafka-python; throws unless every record was acknowledged. */
export async function produceCk(
  bootstrap: string,
  topic: string,
  records: readonly (TestRecord | (Omit<TestRecord, 'value'> & { value: unknown }))[],
  opts: { codec?: string; acks?: string | number; config?: Record<string, unknown>; allowErrors?: boolean } = {},
): Promise<Delivery[]> {
  const res = await py<{ deliveries: Array<Delivery | null>; not_delivered: number }>('ck', 'produce', {
    bootstrap,
    topic,
    records,
    codec: opts.codec ?? 'none',
    acks: opts.acks ?? 'all',
    config: opts.config ?? {},
  });
  const missing = res.deliveries.filter((d) => d === null).length;
  if (missing > 0 || res.not_delivered > 0) throw new Error(`produce to ${topic}: ${missing} records without a delivery report`);
  const deliveries = res.deliveries as Delivery[];
  if (!opts.allowErrors) {
    const bad = deliveries.filter((d) => d.error !== null);
    if (bad.length > 0) throw new Error(`produce to ${topic}: ${bad.length} failed, first: ${JSON.stringify(bad[0])}`);
  }
  return deliveries;
}

/** Read partitions from their start (or `offset`) to the end with confluent-kafka-python. */
export async function consumeCk(
  bootstrap: string,
  assign: Array<{ topic: string; partitions?: number[]; offset?: number | 'beginning' }>,
  opts: { digest?: boolean; config?: Record<string, unknown>; maxSeconds?: number } = {},
): Promise<ReadRecord[]> {
  const res = await py<{ records: ReadRecord[]; eof: boolean; errors: unknown[] }>('ck', 'consume', {
    bootstrap,
    assign,
    digest: opts.digest ?? false,
    config: opts.config ?? {},
    max_seconds: opts.maxSeconds ?? 60,
  });
  if (!res.eof) throw new Error(`consume ${JSON.stringify(assign)}: did not reach the end of every partition; errors: ${JSON.stringify(res.errors).slice(0, 2000)}`);
  return res.records;
}

export async function watermarksCk(bootstrap: string, topic: string, partitions: number[]): Promise<Record<number, [number, number]>> {
  const res = await py<{ watermarks: Record<string, [number, number]> }>('ck', 'offsets', {
    bootstrap,
    queries: [],
    watermarks: partitions.map((partition) => ({ topic, partition })),
  });
  const out: Record<number, [number, number]> = {};
  for (const p of partitions) out[p] = res.watermarks[`${topic}:${p}`]!;
  return out;
}

const bigUnit = '|0123456789abcdefghijklmnopqrstuvwxyz|';
/** Same bytes as test/python/_common.py big_value(seed, length). */
export function bigValue(seed: string, length: number): Buffer {
  const unit = `${seed}${bigUnit}`;
  return Buffer.from(unit.repeat(Math.floor(length / unit.length) + 1).slice(0, length), 'ascii');
}
export function sha256Hex(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Kafka error codes the tests assert. */
export const Err = {
  NONE: 0,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  MESSAGE_TOO_LARGE: 10,
  INVALID_TOPIC_EXCEPTION: 17,
  UNSUPPORTED_VERSION: 35,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REQUEST: 42,
  INVALID_CONFIG: 40,
  INVALID_RECORD: 87,
} as const;

/** librdkafka ConfigSource / Kafka DescribeConfigs config_source values. */
export const ConfigSource = {
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;
