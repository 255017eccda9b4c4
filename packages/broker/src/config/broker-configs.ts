/**
 * Broker-level configs by Kafka's names (server.properties, `--set key=value`).
 * Unknown names are kept and reported as a warning, as Kafka does; known names are type-checked
 * and validated at start-up, and a bad value stops the broker with a message naming the key.
 */
import { atLeast, between, ConfigSource, LONG_MAX, listOf, oneOf, validateValue, type ConfigDef } from './config-def.js';

function def(name: string, type: ConfigDef['type'], dflt: string | null, doc: string, validate?: ConfigDef['validate']): ConfigDef {
  return validate ? { name, type, default: dflt, doc, validate } : { name, type, default: dflt, doc };
}

export const brokerConfigDefs: readonly ConfigDef[] = [
  // identity and listeners
  def('node.id', 'INT', '1', 'The broker id (broker.id is accepted as an alias).', atLeast(0)),
  def('listeners', 'LIST', 'PLAINTEXT://127.0.0.1:9092', 'Where the broker listens.'),
  def('advertised.listeners', 'LIST', null, 'The address clients are told to connect to (defaults to listeners).'),
  def('process.roles', 'LIST', 'broker,controller', 'Roles of this node; Fjord runs both in one process.'),
  def('log.dirs', 'LIST', null, 'The data directory (Fjord uses the first one).'),
  def('log.dir', 'STRING', './fjord-data', 'The data directory, used when log.dirs is not set.'),
  // topics
  def('auto.create.topics.enable', 'BOOLEAN', 'true', 'Create a topic when a client asks for metadata of or produces to an unknown one.'),
  def('num.partitions', 'INT', '1', 'Default partition count of auto-created topics.', atLeast(1)),
  def('default.replication.factor', 'SHORT', '1', 'Default replication factor of auto-created topics.', atLeast(1)),
  def('delete.topic.enable', 'BOOLEAN', 'true', 'Allow DeleteTopics.'),
  def('offsets.topic.num.partitions', 'INT', '50', 'Partitions of __consumer_offsets.', atLeast(1)),
  def('offsets.topic.replication.factor', 'SHORT', '1', 'Replication factor of __consumer_offsets.', atLeast(1)),
  def('offsets.topic.segment.bytes', 'INT', '104857600', 'segment.bytes of __consumer_offsets.', atLeast(1)),
  def('offsets.retention.minutes', 'INT', '10080', 'Committed offsets of a group with no members are removed this long after the group emptied (or after the commit, if later).', atLeast(1)),
  def('offsets.retention.check.interval.ms', 'LONG', '600000', 'How often expired offsets are looked for.', atLeast(1)),
  def('offset.metadata.max.bytes', 'INT', '4096', 'Largest metadata string an offset commit may carry.', atLeast(0)),
  // consumer groups: classic protocol
  def('group.min.session.timeout.ms', 'INT', '6000', 'Smallest session.timeout.ms a classic group member may ask for.', atLeast(0)),
  def('group.max.session.timeout.ms', 'INT', '1800000', 'Largest session.timeout.ms a classic group member may ask for.', atLeast(0)),
  def('group.initial.rebalance.delay.ms', 'INT', '3000', 'How long the first rebalance of an empty classic group waits for more members.', atLeast(0)),
  def('group.max.size', 'INT', '2147483647', 'Most members a classic group may have.', atLeast(1)),
  def('group.coordinator.rebalance.protocols', 'LIST', 'classic,consumer', 'Group protocols the coordinator serves.', listOf('classic', 'consumer')),
  // consumer groups: the consumer protocol (KIP-848)
  def('group.consumer.session.timeout.ms', 'INT', '45000', 'Default session timeout of consumer-protocol members.', atLeast(1)),
  def('group.consumer.min.session.timeout.ms', 'INT', '45000', 'Smallest group.consumer.session.timeout.ms.', atLeast(1)),
  def('group.consumer.max.session.timeout.ms', 'INT', '60000', 'Largest group.consumer.session.timeout.ms.', atLeast(1)),
  def('group.consumer.heartbeat.interval.ms', 'INT', '5000', 'Heartbeat interval given to consumer-protocol members.', atLeast(1)),
  def('group.consumer.min.heartbeat.interval.ms', 'INT', '5000', 'Smallest group.consumer.heartbeat.interval.ms.', atLeast(1)),
  def('group.consumer.max.heartbeat.interval.ms', 'INT', '15000', 'Largest group.consumer.heartbeat.interval.ms.', atLeast(1)),
  def('group.consumer.max.size', 'INT', '2147483647', 'Most members a consumer-protocol group may have.', atLeast(1)),
  def('group.consumer.assignors', 'LIST', 'uniform,range', 'Server-side assignors; the first is the default.', listOf('uniform', 'range')),
  def('group.consumer.migration.policy', 'STRING', 'bidirectional', 'Which upgrades/downgrades between the classic and consumer protocols a non-empty group may make.', oneOf('disabled', 'upgrade', 'downgrade', 'bidirectional')),
  // share groups (KIP-932)
  def('group.share.session.timeout.ms', 'INT', '45000', 'Session timeout of share group members.', atLeast(1)),
  def('group.share.min.session.timeout.ms', 'INT', '45000', 'Smallest group.share.session.timeout.ms.', atLeast(1)),
  def('group.share.max.session.timeout.ms', 'INT', '60000', 'Largest group.share.session.timeout.ms.', atLeast(1)),
  def('group.share.heartbeat.interval.ms', 'INT', '5000', 'Heartbeat interval given to share group members.', atLeast(1)),
  def('group.share.min.heartbeat.interval.ms', 'INT', '5000', 'Smallest group.share.heartbeat.interval.ms.', atLeast(1)),
  def('group.share.max.heartbeat.interval.ms', 'INT', '15000', 'Largest group.share.heartbeat.interval.ms.', atLeast(1)),
  def('group.share.record.lock.duration.ms', 'INT', '30000', 'How long a share group member holds the records it acquired before they are delivered again.', between(1000, 3600000)),
  def('group.share.min.record.lock.duration.ms', 'INT', '15000', 'Smallest group.share.record.lock.duration.ms.', between(1000, 30000)),
  def('group.share.max.record.lock.duration.ms', 'INT', '60000', 'Largest group.share.record.lock.duration.ms.', between(30000, 3600000)),
  def('group.share.delivery.count.limit', 'INT', '5', 'Deliveries of a record to a share group before it is archived.', between(2, 10)),
  def('group.share.partition.max.record.locks', 'INT', '2000', 'Records in flight (acquired or not yet final) per share-partition.', between(100, 10000)),
  def('group.share.max.size', 'INT', '200', 'Most members a share group may have.', atLeast(1)),
  def('group.share.max.share.sessions', 'INT', '2000', 'Share sessions this broker keeps.', atLeast(1)),
  def('group.share.assignors', 'LIST', 'org.apache.kafka.coordinator.group.assignor.SimpleAssignor', 'Server-side assignor of share groups: Kafka\'s SimpleAssignor ("simple"), the only one.', listOf('org.apache.kafka.coordinator.group.assignor.SimpleAssignor', 'simple')),
  def('share.coordinator.state.topic.num.partitions', 'INT', '50', 'Partitions of __share_group_state.', atLeast(1)),
  def('share.coordinator.state.topic.replication.factor', 'SHORT', '1', 'Replication factor of __share_group_state (Kafka: 3; Fjord runs on one node by default).', atLeast(1)),
  def('share.coordinator.state.topic.min.isr', 'SHORT', '1', 'min.insync.replicas of __share_group_state (Kafka: 2; Fjord runs on one node by default).', atLeast(1)),
  def('share.coordinator.state.topic.segment.bytes', 'INT', '104857600', 'segment.bytes of __share_group_state.', atLeast(1)),
  def('share.coordinator.snapshot.update.records.per.snapshot', 'INT', '500', 'ShareUpdate records written for a share-partition between two ShareSnapshot records.', between(0, 500)),
  def('share.coordinator.state.topic.prune.interval.ms', 'INT', '300000', 'How often records no share-partition needs are removed from __share_group_state.', atLeast(1)),
  def('share.coordinator.threads', 'INT', '1', 'Accepted for compatibility; Fjord uses one event loop.', atLeast(1)),
  def('share.coordinator.write.timeout.ms', 'INT', '5000', 'Accepted for compatibility; writes wait for the local log.', atLeast(1)),
  def('share.coordinator.load.buffer.size', 'INT', '5242880', 'Accepted for compatibility; start-up reads in 8 MiB chunks.', atLeast(1)),
  def('share.coordinator.append.linger.ms', 'INT', '5', 'Accepted for compatibility; appends are group-committed by the log.', atLeast(0)),
  // transactions (the transaction coordinator and __transaction_state)
  def('transaction.state.log.num.partitions', 'INT', '50', 'Partitions of __transaction_state.', atLeast(1)),
  def('transaction.state.log.replication.factor', 'SHORT', '1', 'Replication factor of __transaction_state (Kafka: 3; Fjord runs on one node by default).', atLeast(1)),
  def('transaction.state.log.min.isr', 'INT', '1', 'min.insync.replicas of __transaction_state (Kafka: 2; Fjord runs on one node by default).', atLeast(1)),
  def('transaction.state.log.segment.bytes', 'INT', '104857600', 'segment.bytes of __transaction_state.', atLeast(1)),
  def('transaction.state.log.load.buffer.size', 'INT', '5242880', 'Accepted for compatibility; start-up reads __transaction_state in 8 MiB chunks.', atLeast(1)),
  def('transaction.max.timeout.ms', 'INT', '900000', 'Largest transaction.timeout.ms a producer may ask for (InitProducerId answers INVALID_TRANSACTION_TIMEOUT above it).', atLeast(1)),
  def('transactional.id.expiration.ms', 'INT', '604800000', 'A transactional id with no transaction under way is removed this long after its last update.', atLeast(1)),
  def('transaction.abort.timed.out.transaction.cleanup.interval.ms', 'INT', '10000', 'How often transactions open longer than their timeout are aborted (their producer is fenced).', atLeast(1)),
  def('transaction.remove.expired.transaction.cleanup.interval.ms', 'INT', '3600000', 'How often expired transactional ids are removed.', atLeast(1)),
  def('transaction.partition.verification.enable', 'BOOLEAN', 'true', 'Check with the transaction coordinator that a partition is in the producer\'s transaction before appending a transactional batch to it (KIP-890).'),
  // network
  def('socket.request.max.bytes', 'INT', '104857600', 'Largest request frame accepted.', atLeast(1)),
  def('socket.send.buffer.bytes', 'INT', '102400', 'SO_SNDBUF (-1: OS default).'),
  def('socket.receive.buffer.bytes', 'INT', '102400', 'SO_RCVBUF (-1: OS default).'),
  def('queued.max.requests', 'INT', '500', 'Requests a connection may have in flight before the broker stops reading it.', atLeast(1)),
  def('queued.max.request.bytes', 'LONG', '-1', 'Request bytes in flight before the broker stops reading (-1: no limit).'),
  def('connections.max.idle.ms', 'LONG', '600000', 'Idle connections are closed after this long.'),
  def('num.network.threads', 'INT', '3', 'Accepted for compatibility; Fjord uses one event loop.', atLeast(1)),
  def('num.io.threads', 'INT', '8', 'Accepted for compatibility; Fjord uses one event loop.', atLeast(1)),
  def('fetch.max.bytes', 'INT', '57671680', 'Largest fetch response the broker builds.', atLeast(1024)),
  // log defaults (synonyms of topic configs)
  def('log.cleanup.policy', 'LIST', 'delete', 'Default cleanup.policy.', listOf('compact', 'delete')),
  def('compression.type', 'STRING', 'producer', 'Default compression.type.', oneOf('uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer')),
  def('compression.gzip.level', 'INT', '-1', 'Default compression.gzip.level.'),
  def('compression.lz4.level', 'INT', '9', 'Default compression.lz4.level.'),
  def('compression.zstd.level', 'INT', '3', 'Default compression.zstd.level.'),
  def('log.cleaner.delete.retention.ms', 'LONG', '86400000', 'Default delete.retention.ms.', atLeast(0)),
  def('log.segment.delete.delay.ms', 'LONG', '60000', 'Default file.delete.delay.ms.', atLeast(0)),
  def('log.flush.interval.messages', 'LONG', '1', 'Default flush.messages (Fjord: 1, group-committed).', atLeast(1)),
  def('log.flush.interval.ms', 'LONG', null, 'Default flush.ms.'),
  def('log.flush.scheduler.interval.ms', 'LONG', LONG_MAX, 'Default flush.ms when log.flush.interval.ms is unset.'),
  def('log.index.interval.bytes', 'INT', '4096', 'Default index.interval.bytes.', atLeast(0)),
  def('log.local.retention.bytes', 'LONG', '-2', 'Default local.retention.bytes.'),
  def('log.local.retention.ms', 'LONG', '-2', 'Default local.retention.ms.'),
  def('log.cleaner.max.compaction.lag.ms', 'LONG', LONG_MAX, 'Default max.compaction.lag.ms.', atLeast(1)),
  def('message.max.bytes', 'INT', '1048588', 'Default max.message.bytes.', atLeast(0)),
  def('log.message.timestamp.after.max.ms', 'LONG', '3600000', 'Default message.timestamp.after.max.ms.'),
  def('log.message.timestamp.before.max.ms', 'LONG', LONG_MAX, 'Default message.timestamp.before.max.ms.'),
  def('log.message.timestamp.type', 'STRING', 'CreateTime', 'Default message.timestamp.type.', oneOf('CreateTime', 'LogAppendTime')),
  def('log.cleaner.min.cleanable.ratio', 'DOUBLE', '0.5', 'Default min.cleanable.dirty.ratio.'),
  def('log.cleaner.min.compaction.lag.ms', 'LONG', '0', 'Default min.compaction.lag.ms.'),
  def('min.insync.replicas', 'INT', '1', 'Default min.insync.replicas.', atLeast(1)),
  def('log.preallocate', 'BOOLEAN', 'false', 'Default preallocate.'),
  def('log.retention.bytes', 'LONG', '-1', 'Default retention.bytes.'),
  def('log.retention.ms', 'LONG', null, 'Default retention.ms (takes precedence over minutes and hours).'),
  def('log.retention.minutes', 'INT', null, 'Default retention in minutes.'),
  def('log.retention.hours', 'INT', '168', 'Default retention in hours.'),
  def('log.segment.bytes', 'INT', '1073741824', 'Default segment.bytes.', atLeast(14)),
  def('log.index.size.max.bytes', 'INT', '10485760', 'Default segment.index.bytes.', atLeast(4)),
  def('log.roll.jitter.ms', 'LONG', null, 'Default segment.jitter.ms.'),
  def('log.roll.jitter.hours', 'INT', '0', 'Default segment.jitter.ms in hours.'),
  def('log.roll.ms', 'LONG', null, 'Default segment.ms.'),
  def('log.roll.hours', 'INT', '168', 'Default segment.ms in hours.', atLeast(1)),
  def('unclean.leader.election.enable', 'BOOLEAN', 'false', 'Default unclean.leader.election.enable.'),
  // background work
  def('log.retention.check.interval.ms', 'LONG', '300000', 'How often retention runs.', atLeast(1)),
  def('log.cleaner.enable', 'BOOLEAN', 'true', 'Run the log cleaner (compaction).'),
  def('log.cleaner.backoff.ms', 'LONG', '15000', 'Sleep between cleaner runs when there is nothing to clean.', atLeast(0)),
  def('log.flush.offset.checkpoint.interval.ms', 'INT', '60000', 'How often the recovery point is checkpointed.', atLeast(0)),
  def('log.flush.start.offset.checkpoint.interval.ms', 'INT', '60000', 'How often the log start offset is checkpointed.', atLeast(0)),
  // idempotent producers: the producer state each partition keeps
  def('producer.id.expiration.ms', 'INT', '86400000', 'A partition forgets a producer id this long after its last write, unless it has a transaction open.', atLeast(1)),
  def('producer.id.expiration.check.interval.ms', 'INT', '600000', 'How often partitions look for expired producer ids.', atLeast(1)),
];

export const brokerConfigByName: ReadonlyMap<string, ConfigDef> = new Map(brokerConfigDefs.map((d) => [d.name, d]));

/**
 * Broker configs that AlterConfigs may change at run time (Kafka's dynamic broker configs): the
 * broker-level defaults of topic configs. Everything else is read-only, set in server.properties
 * or with --set, as for a Kafka broker.
 */
export const dynamicBrokerConfigs: ReadonlySet<string> = new Set([
  'log.cleanup.policy',
  'compression.type',
  'compression.gzip.level',
  'compression.lz4.level',
  'compression.zstd.level',
  'log.cleaner.delete.retention.ms',
  'log.segment.delete.delay.ms',
  'log.flush.interval.messages',
  'log.flush.interval.ms',
  'log.index.interval.bytes',
  'log.local.retention.bytes',
  'log.local.retention.ms',
  'log.cleaner.max.compaction.lag.ms',
  'message.max.bytes',
  'log.message.timestamp.after.max.ms',
  'log.message.timestamp.before.max.ms',
  'log.message.timestamp.type',
  'log.cleaner.min.cleanable.ratio',
  'log.cleaner.min.compaction.lag.ms',
  'min.insync.replicas',
  'log.preallocate',
  'log.retention.bytes',
  'log.retention.ms',
  'log.retention.minutes',
  'log.retention.hours',
  'log.segment.bytes',
  'log.index.size.max.bytes',
  'log.roll.jitter.ms',
  'log.roll.jitter.hours',
  'log.roll.ms',
  'log.roll.hours',
  'unclean.leader.election.enable',
]);

/** Why these dynamic values cannot be applied (unknown, not dynamic, bad value), or undefined. */
export function dynamicConfigProblem(values: Readonly<Record<string, string | null>>): { code: 'INVALID_CONFIG' | 'INVALID_REQUEST'; message: string } | undefined {
  const notDynamic = Object.keys(values).filter((k) => brokerConfigByName.has(k) && !dynamicBrokerConfigs.has(k));
  if (notDynamic.length > 0) return { code: 'INVALID_REQUEST', message: `Cannot update these configs dynamically: ${notDynamic.join(', ')} (set them in server.properties or with --set)` };
  for (const [k, v] of Object.entries(values)) {
    const def = brokerConfigByName.get(k);
    if (!def) return { code: 'INVALID_CONFIG', message: `Unknown broker config name: ${k}` };
    if (v === null) return { code: 'INVALID_REQUEST', message: `Null value not supported for : ${k}` };
    const problem = validateValue(def, v);
    if (problem) return { code: 'INVALID_CONFIG', message: `Invalid value ${v} for configuration ${k}: ${problem}` };
  }
  return undefined;
}

/** Where a broker config value comes from, most specific first. */
export type ConfigLayer = 'broker' | 'default' | 'static' | 'builtin';

/** Kafka's ConfigSource for each layer, as DescribeConfigs reports it. */
export const layerSource: Readonly<Record<ConfigLayer, number>> = {
  broker: ConfigSource.DYNAMIC_BROKER_CONFIG,
  default: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
  static: ConfigSource.STATIC_BROKER_CONFIG,
  builtin: ConfigSource.DEFAULT_CONFIG,
};

/** Kafka's old names still accepted in server.properties. */
const aliases: Record<string, string> = { 'broker.id': 'node.id' };

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * The broker's static configuration: defaults overlaid by server.properties and --set values.
 * Values are kept as Kafka-style strings; typed getters parse them.
 */
export class BrokerConfig {
  private readonly values = new Map<string, string>();
  readonly unknownKeys: string[] = [];

  constructor(entries: Iterable<[string, string]> = []) {
    for (const [rawKey, rawValue] of entries) this.set(rawKey, rawValue);
  }

  /** Sets a static value, validating known keys; throws ConfigError naming the key. */
  set(rawKey: string, rawValue: string): void {
    const key = aliases[rawKey] ?? rawKey;
    const value = rawValue.trim();
    const def = brokerConfigByName.get(key);
    if (def) {
      const problem = validateValue(def, value);
      if (problem) throw new ConfigError(`Invalid value '${value}' for configuration ${rawKey}: ${problem}`);
    } else if (!this.unknownKeys.includes(key)) {
      this.unknownKeys.push(key);
    }
    this.values.set(key, value);
  }

  /** The value set explicitly (file or --set), or undefined. */
  explicit(key: string): string | undefined {
    return this.values.get(key);
  }

  /** Dynamic values (AlterConfigs on a broker resource): this broker's own, and the cluster-wide default. */
  private dynamicBroker: Readonly<Record<string, string>> = {};
  private dynamicDefault: Readonly<Record<string, string>> = {};

  setDynamic(scope: 'broker' | 'default', values: Readonly<Record<string, string>>): void {
    if (scope === 'broker') this.dynamicBroker = { ...values };
    else this.dynamicDefault = { ...values };
  }

  dynamic(scope: 'broker' | 'default', key: string): string | undefined {
    return (scope === 'broker' ? this.dynamicBroker : this.dynamicDefault)[key];
  }

  dynamicEntries(scope: 'broker' | 'default'): Readonly<Record<string, string>> {
    return scope === 'broker' ? this.dynamicBroker : this.dynamicDefault;
  }

  /**
   * Where a broker config's value comes from, most specific first, as Kafka reports synonyms:
   * dynamic for this broker, dynamic cluster default, static (file or --set), default.
   */
  layers(key: string): Array<{ value: string; source: ConfigLayer }> {
    const out: Array<{ value: string; source: ConfigLayer }> = [];
    const b = this.dynamicBroker[key];
    if (b !== undefined) out.push({ value: b, source: 'broker' });
    const d = this.dynamicDefault[key];
    if (d !== undefined) out.push({ value: d, source: 'default' });
    const s = this.values.get(key);
    if (s !== undefined) out.push({ value: s, source: 'static' });
    const builtin = brokerConfigByName.get(key)?.default;
    if (builtin != null) out.push({ value: builtin, source: 'builtin' });
    return out;
  }

  /** The effective value: dynamic, else explicit, else the default; undefined when none exists. */
  get(key: string): string | undefined {
    return this.dynamicBroker[key] ?? this.dynamicDefault[key] ?? this.values.get(key) ?? brokerConfigByName.get(key)?.default ?? undefined;
  }

  getString(key: string): string {
    const v = this.get(key);
    if (v === undefined) throw new ConfigError(`Missing required configuration ${key}`);
    return v;
  }

  getInt(key: string): number {
    return Number(this.getString(key));
  }

  getBool(key: string): boolean {
    return this.getString(key) === 'true';
  }

  explicitEntries(): IterableIterator<[string, string]> {
    return this.values.entries();
  }
}

/** Parses a Java-style .properties file: `key=value` or `key: value`, `#`/`!` comments, `\` continuations. */
export function parseProperties(text: string, fileName = 'properties'): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.trimStart();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i]!.trimStart();
    const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (!m) throw new ConfigError(`${fileName}:${i + 1}: expected key=value, got '${line}'`);
    out.push([m[1]!, m[2]!.trim()]);
  }
  return out;
}
