/** Producer configuration: names follow Kafka's properties in camelCase, with units. */
import { CompressionType } from '@fjord/protocol/core';
import { boolOption, intOption, resolveClientConfig, type ClientConfig, type ResolvedClientConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { idempotentInFlightMax, producerDefaults } from '../limits.js';
import type { Partitioner } from './partitioner.js';
import type { Serializer } from '../serializers.js';

export type Acks = 0 | 1 | -1 | 'all';
export type CompressionName = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

export interface ProducerConfig<K = unknown, V = unknown> extends ClientConfig {
  /** Turns record keys into bytes (see `serializers`); without it keys must be bytes or strings. */
  keySerializer?: Serializer<K>;
  valueSerializer?: Serializer<V>;
  /** 0: no response; 1: the leader wrote it; 'all' (-1, default): every in-sync replica has it. */
  acks?: Acks;
  compression?: CompressionName;
  /** gzip (1..9) or zstd (-131072..22) level. */
  compressionLevel?: number;
  lingerMs?: number;
  batchBytes?: number;
  /**
   * How far an open batch keeps filling while its partition cannot send (in-flight limit reached,
   * older batches waiting), and how far a sendBatch() call's batches fill. Default
   * min(maxRequestBytes, 64 × batchBytes): 1 MiB with the defaults, about librdkafka's batch.size.
   * Set it to batchBytes for the Java client's fixed batch size.
   */
  batchMaxBytes?: number;
  bufferMemoryBytes?: number;
  maxBlockMs?: number;
  maxRequestBytes?: number;
  deliveryTimeoutMs?: number;
  retries?: number;
  maxInFlightPerPartition?: number;
  /**
   * enable.idempotence. Default: on, unless acks, retries or maxInFlightPerPartition were set to
   * values that exclude it (as the Java client since 3.0). Set true explicitly to get a ConfigError
   * for those instead.
   */
  idempotent?: boolean;
  transactionTimeoutMs?: number;
  /** transactional.id: enables transactions (initTransactions, begin, commit, abort); implies idempotence. */
  transactionalId?: string;
  /** Custom partitioner; returning undefined falls back to the default one. */
  partitioner?: Partitioner;
  /** Clock for record timestamps and timers; injectable for tests. */
  now?: () => number;
}

export interface ResolvedProducerConfig {
  client: ResolvedClientConfig;
  acks: 0 | 1 | -1;
  compression: number;
  compressionLevel: number | undefined;
  lingerMs: number;
  batchBytes: number;
  batchMaxBytes: number;
  bufferMemoryBytes: number;
  maxBlockMs: number;
  maxRequestBytes: number;
  deliveryTimeoutMs: number;
  retries: number;
  maxInFlightPerPartition: number;
  idempotent: boolean;
  transactionTimeoutMs: number;
  transactionalId: string | undefined;
  partitioner: Partitioner | undefined;
  keySerializer: Serializer<unknown> | undefined;
  valueSerializer: Serializer<unknown> | undefined;
  now: () => number;
}

const codecs: Record<CompressionName, number> = {
  none: CompressionType.none,
  gzip: CompressionType.gzip,
  snappy: CompressionType.snappy,
  lz4: CompressionType.lz4,
  zstd: CompressionType.zstd,
};

const int32Max = 2_147_483_647;

export function resolveProducerConfig<K, V>(config: ProducerConfig<K, V>): ResolvedProducerConfig {
  const client = resolveClientConfig(config);
  const d = producerDefaults;
  const acksIn = config.acks ?? 'all';
  if (acksIn !== 0 && acksIn !== 1 && acksIn !== -1 && acksIn !== 'all') throw new ConfigError('acks', `expected 0, 1, -1 or 'all', got ${JSON.stringify(acksIn)}`);
  const acks = acksIn === 'all' ? -1 : acksIn;
  const compressionIn = config.compression ?? 'none';
  const compression = codecs[compressionIn];
  if (compression === undefined || !Object.hasOwn(codecs, compressionIn)) throw new ConfigError('compression', `expected one of ${Object.keys(codecs).join(', ')}, got ${JSON.stringify(compressionIn)}`);
  let compressionLevel: number | undefined;
  if (config.compressionLevel !== undefined) {
    compressionLevel = compressionIn === 'gzip' ? intOption(config, 'compressionLevel', 0, 1, 9) : compressionIn === 'zstd' ? intOption(config, 'compressionLevel', 0, -131072, 22) : undefined;
    if (compressionLevel === undefined) throw new ConfigError('compressionLevel', `not applicable to compression ${compressionIn}`);
  }
  const retries = intOption(config, 'retries', d.retries, 0, int32Max);
  const maxInFlightPerPartition = intOption(config, 'maxInFlightPerPartition', d.maxInFlightPerPartition, 1, 1000);
  const transactionalId = config.transactionalId;
  if (transactionalId !== undefined && (typeof transactionalId !== 'string' || transactionalId === '')) throw new ConfigError('transactionalId', 'expected a non-empty string');
  if (transactionalId !== undefined && config.idempotent === false) throw new ConfigError('idempotent', 'a transactional producer is idempotent; idempotent: false contradicts transactionalId');
  const explicit = config.idempotent !== undefined ? boolOption(config, 'idempotent', true) : transactionalId !== undefined ? true : undefined;
  if (explicit === true) {
    if (acks !== -1) throw new ConfigError('acks', `idempotence requires acks 'all', got ${JSON.stringify(acksIn)}`);
    if (retries === 0) throw new ConfigError('retries', 'idempotence requires retries > 0');
    if (maxInFlightPerPartition > idempotentInFlightMax) throw new ConfigError('maxInFlightPerPartition', `idempotence allows at most ${idempotentInFlightMax}, got ${maxInFlightPerPartition}`);
  }
  const idempotent = explicit ?? (acks === -1 && retries > 0 && maxInFlightPerPartition <= idempotentInFlightMax);
  const partitioner = config.partitioner;
  if (partitioner !== undefined && typeof partitioner !== 'function') throw new ConfigError('partitioner', 'expected a function');
  const r: ResolvedProducerConfig = {
    client,
    acks,
    compression,
    compressionLevel,
    lingerMs: intOption(config, 'lingerMs', d.lingerMs, 0, int32Max),
    batchBytes: intOption(config, 'batchBytes', d.batchBytes, 1, int32Max),
    batchMaxBytes: 0, // set below from batchBytes and maxRequestBytes
    bufferMemoryBytes: intOption(config, 'bufferMemoryBytes', d.bufferMemoryBytes, 1, Number.MAX_SAFE_INTEGER),
    maxBlockMs: intOption(config, 'maxBlockMs', d.maxBlockMs, 0, int32Max),
    maxRequestBytes: intOption(config, 'maxRequestBytes', d.maxRequestBytes, 64, int32Max),
    deliveryTimeoutMs: intOption(config, 'deliveryTimeoutMs', d.deliveryTimeoutMs, 1, int32Max),
    retries,
    // Without idempotence, more than one batch in flight could reorder records on a retry.
    maxInFlightPerPartition: idempotent ? maxInFlightPerPartition : config.maxInFlightPerPartition === undefined ? 1 : maxInFlightPerPartition,
    idempotent,
    transactionTimeoutMs: intOption(config, 'transactionTimeoutMs', d.transactionTimeoutMs, 1, int32Max),
    transactionalId,
    partitioner,
    keySerializer: fnOption(config, 'keySerializer') as Serializer<unknown> | undefined,
    valueSerializer: fnOption(config, 'valueSerializer') as Serializer<unknown> | undefined,
    now: config.now ?? Date.now,
  };
  r.batchMaxBytes = Math.max(r.batchBytes, Math.min(r.maxRequestBytes, 64 * r.batchBytes));
  if (config.batchMaxBytes !== undefined) {
    r.batchMaxBytes = intOption(config, 'batchMaxBytes', r.batchMaxBytes, 1, int32Max);
    if (r.batchMaxBytes < r.batchBytes) throw new ConfigError('batchMaxBytes', `must be >= batchBytes (${r.batchBytes}), got ${r.batchMaxBytes}`);
  }
  if (r.deliveryTimeoutMs < r.lingerMs + client.requestTimeoutMs) {
    throw new ConfigError('deliveryTimeoutMs', `must be >= lingerMs + requestTimeoutMs (${r.lingerMs + client.requestTimeoutMs}), as Kafka requires`);
  }
  return r;
}

function fnOption(config: object, option: string): unknown {
  const v = (config as Record<string, unknown>)[option];
  if (v !== undefined && typeof v !== 'function') throw new ConfigError(option, 'expected a function');
  return v;
}
