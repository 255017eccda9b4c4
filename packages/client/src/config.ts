/** Client configuration shared by producer and admin (and later the consumer), with validation. */
import { ConfigError } from './errors.js';
import { clientDefaults } from './limits.js';
import { safeLogger, type Logger } from './logger.js';
import type { Connection, SocketFactory } from './connection/connection.js';

export interface ClientConfig {
  /** 'host:port' addresses to bootstrap from; any one that answers is enough. */
  bootstrapServers: string | readonly string[];
  clientId?: string;
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
  reconnectBackoffMs?: number;
  reconnectBackoffMaxMs?: number;
  retryBackoffMs?: number;
  retryBackoffMaxMs?: number;
  backoffJitterRatio?: number;
  metadataMaxAgeMs?: number;
  connectionInFlightRequestsMax?: number;
  connectionQueuedRequestsMax?: number;
  responseFrameBytesMax?: number;
  /** Ask the broker to create unknown topics on metadata requests (allow.auto.create.topics, default true). */
  allowAutoTopicCreation?: boolean;
  logger?: Logger;
  /** Hook for TLS (issue 7): how to open the byte stream to a broker. */
  socketFactory?: SocketFactory;
  /** Hook for SASL (issue 7): runs on every new connection after ApiVersions. */
  authenticate?: (connection: Connection) => Promise<void>;
  /** Randomness for jitter and partition choice; injectable for replayable tests. */
  random?: () => number;
}

export interface BrokerAddress {
  host: string;
  port: number;
}

export interface ResolvedClientConfig {
  bootstrap: BrokerAddress[];
  clientId: string;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  reconnectBackoffMs: number;
  reconnectBackoffMaxMs: number;
  retryBackoffMs: number;
  retryBackoffMaxMs: number;
  backoffJitterRatio: number;
  metadataMaxAgeMs: number;
  connectionInFlightRequestsMax: number;
  connectionQueuedRequestsMax: number;
  responseFrameBytesMax: number;
  allowAutoTopicCreation: boolean;
  logger: Logger;
  socketFactory: SocketFactory | undefined;
  authenticate: ((connection: Connection) => Promise<void>) | undefined;
  random: () => number;
}

/** An integer option in [min, max], or its default when undefined. */
export function intOption(config: object, option: string, fallback: number, min: number, max: number): number {
  const v = (config as Record<string, unknown>)[option];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ConfigError(option, `expected an integer, got ${JSON.stringify(v)}`);
  if (v < min || v > max) throw new ConfigError(option, `${v} is outside ${min}..${max}`);
  return v;
}

export function boolOption(config: object, option: string, fallback: boolean): boolean {
  const v = (config as Record<string, unknown>)[option];
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new ConfigError(option, `expected a boolean, got ${JSON.stringify(v)}`);
  return v;
}

export function parseAddress(s: string, option = 'bootstrapServers'): BrokerAddress {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(s.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) throw new ConfigError(option, `${JSON.stringify(s)} is not host:port`);
  return { host: m[1]!, port };
}

const int32Max = 2_147_483_647;

export function resolveClientConfig(config: ClientConfig): ResolvedClientConfig {
  if (typeof config !== 'object' || config === null) throw new ConfigError('config', 'expected an object');
  const servers = config.bootstrapServers;
  const list = typeof servers === 'string' ? servers.split(',') : servers;
  if (!Array.isArray(list) || list.length === 0) throw new ConfigError('bootstrapServers', 'expected at least one host:port');
  const d = clientDefaults;
  const jitter = config.backoffJitterRatio ?? d.backoffJitterRatio;
  if (typeof jitter !== 'number' || !(jitter >= 0 && jitter < 1)) throw new ConfigError('backoffJitterRatio', `expected a number in [0, 1), got ${JSON.stringify(jitter)}`);
  const clientId = config.clientId ?? 'fjord-client';
  if (typeof clientId !== 'string') throw new ConfigError('clientId', 'expected a string');
  const r: ResolvedClientConfig = {
    bootstrap: list.map((s) => parseAddress(String(s))),
    clientId,
    requestTimeoutMs: intOption(config, 'requestTimeoutMs', d.requestTimeoutMs, 1, int32Max),
    connectTimeoutMs: intOption(config, 'connectTimeoutMs', d.connectTimeoutMs, 1, int32Max),
    reconnectBackoffMs: intOption(config, 'reconnectBackoffMs', d.reconnectBackoffMs, 0, int32Max),
    reconnectBackoffMaxMs: intOption(config, 'reconnectBackoffMaxMs', d.reconnectBackoffMaxMs, 0, int32Max),
    retryBackoffMs: intOption(config, 'retryBackoffMs', d.retryBackoffMs, 0, int32Max),
    retryBackoffMaxMs: intOption(config, 'retryBackoffMaxMs', d.retryBackoffMaxMs, 0, int32Max),
    backoffJitterRatio: jitter,
    metadataMaxAgeMs: intOption(config, 'metadataMaxAgeMs', d.metadataMaxAgeMs, 0, int32Max),
    connectionInFlightRequestsMax: intOption(config, 'connectionInFlightRequestsMax', d.connectionInFlightRequestsMax, 1, 100_000),
    connectionQueuedRequestsMax: intOption(config, 'connectionQueuedRequestsMax', d.connectionQueuedRequestsMax, 0, 10_000_000),
    responseFrameBytesMax: intOption(config, 'responseFrameBytesMax', d.responseFrameBytesMax, 64, int32Max),
    allowAutoTopicCreation: boolOption(config, 'allowAutoTopicCreation', true),
    logger: safeLogger(config.logger),
    socketFactory: config.socketFactory,
    authenticate: config.authenticate,
    random: config.random ?? Math.random,
  };
  if (r.reconnectBackoffMaxMs < r.reconnectBackoffMs) throw new ConfigError('reconnectBackoffMaxMs', `must be >= reconnectBackoffMs (${r.reconnectBackoffMs})`);
  if (r.retryBackoffMaxMs < r.retryBackoffMs) throw new ConfigError('retryBackoffMaxMs', `must be >= retryBackoffMs (${r.retryBackoffMs})`);
  return r;
}
