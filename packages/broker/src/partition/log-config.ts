/** Maps effective topic configs (Kafka names, strings) to the storage layer's LogConfig. */
import type { LogConfig } from '@fjord/storage';

const num = (m: Map<string, string | null>, k: string): number => Number(m.get(k) ?? NaN);

export function toLogConfig(m: Map<string, string | null>): LogConfig {
  const policy = (m.get('cleanup.policy') ?? 'delete').split(',').map((s) => s.trim());
  return {
    segmentBytes: num(m, 'segment.bytes'),
    segmentMs: num(m, 'segment.ms'),
    segmentJitterMs: num(m, 'segment.jitter.ms'),
    segmentIndexBytes: num(m, 'segment.index.bytes'),
    indexIntervalBytes: num(m, 'index.interval.bytes'),
    retentionMs: num(m, 'retention.ms'),
    retentionBytes: num(m, 'retention.bytes'),
    cleanupPolicy: { delete: policy.includes('delete'), compact: policy.includes('compact') },
    deleteRetentionMs: num(m, 'delete.retention.ms'),
    minCleanableDirtyRatio: num(m, 'min.cleanable.dirty.ratio'),
    minCompactionLagMs: num(m, 'min.compaction.lag.ms'),
    maxCompactionLagMs: num(m, 'max.compaction.lag.ms'),
    fileDeleteDelayMs: num(m, 'file.delete.delay.ms'),
    flushMessages: num(m, 'flush.messages'),
    flushMs: num(m, 'flush.ms'),
    maxMessageBytes: num(m, 'max.message.bytes'),
    messageTimestampType: m.get('message.timestamp.type') === 'LogAppendTime' ? 'LogAppendTime' : 'CreateTime',
    preallocate: m.get('preallocate') === 'true',
  };
}

/** Produce-time settings the broker checks itself (not storage's business). */
export interface ProduceSettings {
  maxMessageBytes: number;
  timestampBeforeMaxMs: number;
  timestampAfterMaxMs: number;
  logAppendTime: boolean;
  /** -1: keep the producer's codec; else the codec every batch is rewritten to. */
  compression: number;
  compressionLevel: number | undefined;
  /** cleanup.policy includes compact: every record needs a key. */
  compacted: boolean;
}

const codecs: Record<string, number> = { producer: -1, uncompressed: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

export function toProduceSettings(m: Map<string, string | null>): ProduceSettings {
  const type = m.get('compression.type') ?? 'producer';
  const compression = codecs[type] ?? -1;
  const level =
    type === 'gzip' ? num(m, 'compression.gzip.level') : type === 'lz4' ? num(m, 'compression.lz4.level') : type === 'zstd' ? num(m, 'compression.zstd.level') : undefined;
  return {
    maxMessageBytes: num(m, 'max.message.bytes'),
    timestampBeforeMaxMs: num(m, 'message.timestamp.before.max.ms'),
    timestampAfterMaxMs: num(m, 'message.timestamp.after.max.ms'),
    logAppendTime: m.get('message.timestamp.type') === 'LogAppendTime',
    compression,
    compressionLevel: level === -1 ? undefined : level,
    compacted: (m.get('cleanup.policy') ?? '').split(',').map((x) => x.trim()).includes('compact'),
  };
}
