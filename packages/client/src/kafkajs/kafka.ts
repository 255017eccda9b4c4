/**
 * `new Kafka(config)`: KafkaJS's entry point. It checks the config at once (ConfigError naming the
 * KafkaJS option) and hands producers, consumers and admins a shared context; each of those builds
 * its @fjord/client counterpart on connect(), once the broker list (an array, or KafkaJS's async
 * function) is known.
 */
import type * as tls from 'node:tls';
import { Admin as FjordAdmin } from '../admin/admin.js';
import type { ClientConfig } from '../config.js';
import { ConfigError, TimeoutError } from '../errors.js';
import type { LogEntry } from '../logger.js';
import { KafkaJSConnectionError, KafkaJSNonRetriableError, afterRetries } from './errors.js';
import { consoleLogCreator, createLogger, fjordLoggerFor, logLevel, type Logger, type logCreator } from './logger.js';
import { KafkaJSAdmin, type AdminConfig } from './admin.js';
import { KafkaJSConsumer, type ConsumerConfig } from './consumer.js';
import { KafkaJSProducer, type ProducerConfig } from './producer.js';
import type { ISocketFactory, Mechanism, SASLOptions } from './types.js';

export interface RetryOptions {
  maxRetryTime?: number;
  initialRetryTime?: number;
  factor?: number;
  multiplier?: number;
  retries?: number;
  restartOnFailure?: (e: Error) => Promise<boolean>;
}

export type BrokersFunction = () => string[] | Promise<string[]>;

export interface KafkaConfig {
  brokers: string[] | BrokersFunction;
  clientId?: string;
  connectionTimeout?: number;
  authenticationTimeout?: number;
  reauthenticationThreshold?: number;
  requestTimeout?: number;
  enforceRequestTimeout?: boolean;
  retry?: RetryOptions;
  logLevel?: logLevel;
  logCreator?: logCreator;
  /** Not supported yet: only false or undefined (typed as KafkaJS's, so that configs compile). */
  ssl?: tls.ConnectionOptions | boolean;
  /** Not supported yet: only undefined. */
  sasl?: SASLOptions | Mechanism;
  /** Not supported: KafkaJS's net.Socket factory has no counterpart here. */
  socketFactory?: ISocketFactory;
}

/** KafkaJS's retry defaults. */
export const retryDefaults = { retries: 5, initialRetryTime: 300, maxRetryTime: 30_000, factor: 0.2, multiplier: 2 };

export type ResolvedRetry = typeof retryDefaults & { restartOnFailure?: (e: Error) => Promise<boolean> };

export function resolveRetry(retry: RetryOptions | undefined, base: ResolvedRetry = retryDefaults, option = 'retry'): ResolvedRetry {
  if (retry === undefined || retry === null) return base;
  if (typeof retry !== 'object') throw new ConfigError(option, 'expected an object');
  const r = { ...base, ...Object.fromEntries(Object.entries(retry).filter(([, v]) => v !== undefined)) } as ResolvedRetry;
  for (const k of ['retries', 'initialRetryTime', 'maxRetryTime'] as const) {
    if (typeof r[k] !== 'number' || !(r[k] >= 0)) throw new ConfigError(`${option}.${k}`, `expected a number >= 0, got ${JSON.stringify(r[k])}`);
  }
  if (r.restartOnFailure !== undefined && typeof r.restartOnFailure !== 'function') throw new ConfigError(`${option}.restartOnFailure`, 'expected a function');
  return r;
}

/** The delay before retry number `attempt` (0-based), as KafkaJS computes it: random ±factor, times multiplier per attempt, capped. */
export function retryDelayMs(r: ResolvedRetry, attempt: number): number {
  let t = r.initialRetryTime;
  for (let i = 0; i < attempt; i++) t = Math.min(t * r.multiplier, r.maxRetryTime);
  const jitter = t * r.factor * (Math.random() * 2 - 1);
  return Math.max(0, Math.min(Math.ceil(t + jitter), r.maxRetryTime));
}

/** Roughly how long KafkaJS keeps retrying one operation: the sum of its backoffs. */
export function retryBudgetMs(r: ResolvedRetry): number {
  let total = 0;
  let t = r.initialRetryTime;
  for (let i = 0; i < Math.min(r.retries, 1000) && total < 3_600_000; i++) {
    total += t;
    t = Math.min(t * r.multiplier, r.maxRetryTime);
  }
  return Math.ceil(total);
}

const int32Max = 2_147_483_647;

/** What every client of one Kafka instance shares. */
export class KafkaContext {
  readonly clientId: string;
  readonly connectionTimeout: number;
  readonly requestTimeout: number;
  readonly retry: ResolvedRetry;
  readonly rootLogger: Logger;

  constructor(private readonly config: KafkaConfig) {
    if (typeof config !== 'object' || config === null) throw new ConfigError('config', 'expected an object');
    if (config.ssl !== undefined && config.ssl !== false) throw new ConfigError('ssl', 'TLS is not supported by @fjord/client/kafkajs yet; connect without ssl (plaintext) or use the KafkaJS package for now');
    if (config.sasl !== undefined) throw new ConfigError('sasl', 'SASL authentication is not supported by @fjord/client/kafkajs yet; connect without sasl or use the KafkaJS package for now');
    if (config.socketFactory !== undefined) throw new ConfigError('socketFactory', 'a KafkaJS socketFactory is not supported; @fjord/client has its own socketFactory hook');
    const b = config.brokers;
    if (typeof b !== 'function' && (!Array.isArray(b) || b.length === 0 || b.some((x) => typeof x !== 'string'))) throw new ConfigError('brokers', 'expected a non-empty array of "host:port" strings or a function returning one');
    this.clientId = config.clientId ?? 'kafkajs';
    if (typeof this.clientId !== 'string') throw new ConfigError('clientId', 'expected a string');
    this.connectionTimeout = positiveInt(config.connectionTimeout, 'connectionTimeout', 1000);
    this.requestTimeout = positiveInt(config.requestTimeout, 'requestTimeout', 30_000);
    this.retry = resolveRetry(config.retry);
    const level = config.logLevel ?? logLevel.INFO;
    if (!Object.values(logLevel).includes(level)) throw new ConfigError('logLevel', `expected one of logLevel's values (0, 1, 2, 4, 5), got ${JSON.stringify(level)}`);
    const creator = config.logCreator ?? consoleLogCreator;
    if (typeof creator !== 'function') throw new ConfigError('logCreator', 'expected a function');
    this.rootLogger = createLogger(creator, level);
  }

  /** The broker list, calling KafkaJS's brokers function when one was given. */
  async brokers(): Promise<string[]> {
    const b = this.config.brokers;
    if (typeof b !== 'function') return [...b];
    let list: unknown;
    try {
      list = await b();
    } catch (e) {
      throw new KafkaJSConnectionError(`Failed to discover brokers: ${(e as Error)?.message ?? String(e)}`, { cause: e });
    }
    if (!Array.isArray(list) || list.length === 0 || list.some((x) => typeof x !== 'string')) throw new KafkaJSNonRetriableError('The brokers function did not return a non-empty array of "host:port" strings');
    return list as string[];
  }

  /**
   * What KafkaJS's connect() does: reach a broker within the retry budget (each attempt bounded by
   * connectionTimeout), else reject as KafkaJS does after its retries.
   */
  async probe(base: ClientConfig, retry: ResolvedRetry): Promise<void> {
    const budgetMs = retryBudgetMs(retry) + (Math.min(retry.retries, 100) + 1) * this.connectionTimeout;
    const a = new FjordAdmin({ ...base, logger: () => {}, apiTimeoutMs: Math.min(Math.max(budgetMs, 1), int32Max) });
    try {
      await a.connect();
    } catch (e) {
      // KafkaJS: KafkaJSNumberOfRetriesExceeded whose cause is the KafkaJSConnectionError.
      const brokers = Array.isArray(base.bootstrapServers) ? base.bootstrapServers.join(',') : String(base.bootstrapServers);
      const cause = e instanceof TimeoutError ? new KafkaJSConnectionError(`Connection error: no broker of ${brokers} answered within ${budgetMs} ms`, { broker: brokers, cause: e }) : e;
      throw afterRetries(cause, retry.retries, retry.maxRetryTime);
    } finally {
      await a.close().catch(() => {});
    }
  }

  /** @fjord/client's common options for one client of this Kafka instance. */
  async clientConfig(namespace: string, retry: ResolvedRetry, tap?: (entry: LogEntry) => void): Promise<ClientConfig> {
    return {
      bootstrapServers: await this.brokers(),
      clientId: this.clientId,
      connectTimeoutMs: this.connectionTimeout,
      requestTimeoutMs: this.requestTimeout,
      retryBackoffMs: Math.min(retry.initialRetryTime, int32Max),
      retryBackoffMaxMs: Math.min(Math.max(retry.maxRetryTime, retry.initialRetryTime), int32Max),
      backoffJitterRatio: Math.min(Math.max(retry.factor, 0), 0.99),
      logger: fjordLoggerFor(this.rootLogger.namespace(namespace), tap),
    };
  }
}

function positiveInt(v: unknown, option: string, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > int32Max) throw new ConfigError(option, `expected a positive integer (ms), got ${JSON.stringify(v)}`);
  return v;
}

export class Kafka {
  private readonly context: KafkaContext;

  constructor(config: KafkaConfig) {
    this.context = new KafkaContext(config);
  }

  producer(config: ProducerConfig = {}): KafkaJSProducer {
    return new KafkaJSProducer(this.context, config);
  }

  consumer(config: ConsumerConfig): KafkaJSConsumer {
    return new KafkaJSConsumer(this.context, config);
  }

  admin(config: AdminConfig = {}): KafkaJSAdmin {
    return new KafkaJSAdmin(this.context, config);
  }

  logger(): Logger {
    return this.context.rootLogger;
  }
}
