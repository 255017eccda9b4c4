/**
 * Topic-level configs (Kafka's TopicConfig names and defaults) and the broker configs that
 * back each of them. Fjord's one deliberate difference from Kafka's defaults: flush.messages
 * defaults to 1, meaning every append is flushed (group-committed with the appends that arrive
 * with it) before acks=all is answered. See packages/storage/README.md.
 */
import { atLeast, between, LONG_MAX, listOf, oneOf, type ConfigDef } from './config-def.js';

/** A broker config that supplies a topic config's value, with the unit conversion into the topic's unit. */
export interface Synonym {
  readonly name: string;
  readonly toTopicValue: (brokerValue: string) => string;
}

export interface TopicConfigDef extends ConfigDef {
  /** Broker configs, most specific first (e.g. log.retention.ms, then .minutes, then .hours). */
  readonly synonyms: readonly Synonym[];
}

const same = (name: string): Synonym => ({ name, toTopicValue: (v) => v });
const scaled = (name: string, factor: number): Synonym => ({
  name,
  toTopicValue: (v) => (BigInt(v) * BigInt(factor)).toString(),
});

const compressionTypes = ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'];

function def(
  name: string,
  type: ConfigDef['type'],
  dflt: string | null,
  synonyms: Synonym[],
  doc: string,
  validate?: ConfigDef['validate'],
): TopicConfigDef {
  return validate ? { name, type, default: dflt, synonyms, doc, validate } : { name, type, default: dflt, synonyms, doc };
}

export const topicConfigDefs: readonly TopicConfigDef[] = [
  def('cleanup.policy', 'LIST', 'delete', [same('log.cleanup.policy')],
    'The retention policy for old segments: "delete", "compact" or both ("compact,delete").',
    listOf('compact', 'delete')),
  def('compression.type', 'STRING', 'producer', [same('compression.type')],
    'Final compression of the topic; "producer" keeps what the producer sent.', oneOf(...compressionTypes)),
  def('compression.gzip.level', 'INT', '-1', [same('compression.gzip.level')], 'gzip level when compression.type is gzip.'),
  def('compression.lz4.level', 'INT', '9', [same('compression.lz4.level')], 'lz4 level when compression.type is lz4.', between(1, 17)),
  def('compression.zstd.level', 'INT', '3', [same('compression.zstd.level')], 'zstd level when compression.type is zstd.', between(-131072, 22)),
  def('delete.retention.ms', 'LONG', '86400000', [same('log.cleaner.delete.retention.ms')],
    'How long tombstones are kept in compacted topics.', atLeast(0)),
  def('file.delete.delay.ms', 'LONG', '60000', [same('log.segment.delete.delay.ms')],
    'Time to wait before deleting a file from the filesystem.', atLeast(0)),
  def('flush.messages', 'LONG', '1', [same('log.flush.interval.messages')],
    'Number of messages between forced fsyncs. Fjord defaults to 1 (every acks=all append is on disk when answered; appends that arrive together share one fsync).',
    atLeast(1)),
  def('flush.ms', 'LONG', LONG_MAX, [same('log.flush.interval.ms'), same('log.flush.scheduler.interval.ms')],
    'Maximum time between forced fsyncs.', atLeast(0)),
  def('follower.replication.throttled.replicas', 'LIST', '', [same('follower.replication.throttled.replicas')], 'Replicas throttled on the follower side.'),
  def('index.interval.bytes', 'INT', '4096', [same('log.index.interval.bytes')], 'Bytes between offset index entries.', atLeast(0)),
  def('leader.replication.throttled.replicas', 'LIST', '', [same('leader.replication.throttled.replicas')], 'Replicas throttled on the leader side.'),
  def('local.retention.bytes', 'LONG', '-2', [same('log.local.retention.bytes')], 'Local retention size with tiered storage (-2: retention.bytes).'),
  def('local.retention.ms', 'LONG', '-2', [same('log.local.retention.ms')], 'Local retention time with tiered storage (-2: retention.ms).'),
  def('max.compaction.lag.ms', 'LONG', LONG_MAX, [same('log.cleaner.max.compaction.lag.ms')],
    'Maximum time a message remains ineligible for compaction.', atLeast(1)),
  def('max.message.bytes', 'INT', '1048588', [same('message.max.bytes')],
    'Largest record batch size allowed.', atLeast(0)),
  def('message.timestamp.after.max.ms', 'LONG', '3600000', [same('log.message.timestamp.after.max.ms')],
    'Maximum allowed time a CreateTime timestamp may be ahead of the broker.', atLeast(0)),
  def('message.timestamp.before.max.ms', 'LONG', LONG_MAX, [same('log.message.timestamp.before.max.ms')],
    'Maximum allowed time a CreateTime timestamp may be behind the broker.', atLeast(0)),
  def('message.timestamp.type', 'STRING', 'CreateTime', [same('log.message.timestamp.type')],
    'CreateTime or LogAppendTime.', oneOf('CreateTime', 'LogAppendTime')),
  def('min.cleanable.dirty.ratio', 'DOUBLE', '0.5', [same('log.cleaner.min.cleanable.ratio')],
    'Minimum dirty share of the log before it is compacted.', between(0, 1)),
  def('min.compaction.lag.ms', 'LONG', '0', [same('log.cleaner.min.compaction.lag.ms')],
    'Minimum time a message remains uncompacted.', atLeast(0)),
  def('min.insync.replicas', 'INT', '1', [same('min.insync.replicas')],
    'Minimum replicas that must acknowledge an acks=all write.', atLeast(1)),
  def('preallocate', 'BOOLEAN', 'false', [same('log.preallocate')], 'Preallocate segment files (ignored by Fjord).'),
  def('remote.storage.enable', 'BOOLEAN', 'false', [], 'Tiered storage (not supported by Fjord; must stay false).',
    (v) => (v === 'false' ? undefined : 'Tiered storage is not supported by Fjord')),
  def('retention.bytes', 'LONG', '-1', [same('log.retention.bytes')], 'Maximum partition size before old segments are deleted (-1: no limit).'),
  def('retention.ms', 'LONG', '604800000',
    [same('log.retention.ms'), scaled('log.retention.minutes', 60_000), scaled('log.retention.hours', 3_600_000)],
    'Maximum age of a segment before it is deleted (-1: no limit).', atLeast(-1)),
  def('segment.bytes', 'INT', '1073741824', [same('log.segment.bytes')], 'Segment file size.', atLeast(14)),
  def('segment.index.bytes', 'INT', '10485760', [same('log.index.size.max.bytes')], 'Maximum offset index size.', atLeast(4)),
  def('segment.jitter.ms', 'LONG', '0', [same('log.roll.jitter.ms'), scaled('log.roll.jitter.hours', 3_600_000)],
    'Random jitter subtracted from segment.ms.', atLeast(0)),
  def('segment.ms', 'LONG', '604800000', [same('log.roll.ms'), scaled('log.roll.hours', 3_600_000)],
    'Time after which a segment is rolled.', atLeast(1)),
  def('unclean.leader.election.enable', 'BOOLEAN', 'false', [same('unclean.leader.election.enable')],
    'Whether out-of-sync replicas may become leader.'),
];

export const topicConfigByName: ReadonlyMap<string, TopicConfigDef> = new Map(topicConfigDefs.map((d) => [d.name, d]));

/** The broker config that reports a topic config's default in DescribeConfigs (Kafka shows the least specific synonym). */
export function defaultSynonymName(def: TopicConfigDef): string | undefined {
  return def.synonyms[def.synonyms.length - 1]?.name;
}
