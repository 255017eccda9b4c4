/**
 * A single-node Fjord broker: metadata store, partition logs, request handlers and the listener.
 * start() returns once the broker accepts connections; stop() shuts down cleanly (stops accepting,
 * closes connections, flushes logs and writes checkpoints so the next start needs no recovery).
 */
import { loadNativeModules } from '@fjord/protocol';
import { ReadBufferPool, type ReadBufferPoolOptions } from '@fjord/storage';
import type { BrokerConfig } from './config/broker-configs.js';
import { ConfigError } from './config/broker-configs.js';
import type { BrokerContext, BrokerEndpoint, Clock } from './broker-context.js';
import { registry } from './handlers/index.js';
import { limits } from './limits.js';
import { consoleLogger, type Logger } from './logger.js';
import { LocalMetadataStore } from './metadata/local-metadata-store.js';
import type { MetadataStore } from './metadata/metadata-store.js';
import { FetchSessionCache } from './partition/fetch-sessions.js';
import { ReplicaManager } from './partition/replica-manager.js';
import { Listener } from './server/listener.js';
import { TopicManager } from './topics/topic-manager.js';
import { effectiveTopicConfig } from './config/resolve.js';
import { GroupCoordinator } from './group/coordinator.js';
import { TransactionCoordinator } from './txn/transaction-coordinator.js';

export interface BrokerOptions {
  config: BrokerConfig;
  logger?: Logger;
  clock?: Clock;
  /** Fetch's reusable read buffers (default: storage's readBufferPoolIdleBytesMax, no poisoning). */
  readBuffers?: ReadBufferPoolOptions;
}

/** Parses `HOST:PORT`, `PLAINTEXT://HOST:PORT` or `[v6]:PORT`. */
export function parseHostPort(value: string, what: string): { host: string; port: number } {
  const v = value.replace(/^[A-Za-z_]+:\/\//, '');
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(v);
  if (!m) throw new ConfigError(`${what} must be HOST:PORT, got '${value}'`);
  const port = Number(m[3]);
  if (port > 65535) throw new ConfigError(`${what} port must be 0-65535, got ${port}`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

export class Broker implements BrokerContext {
  readonly nodeId: number;
  readonly config: BrokerConfig;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly dataDir: string;
  readonly fetchSessions = new FetchSessionCache(limits.fetchSessionsMax);
  readonly readBuffers: ReadBufferPool;
  private metadataStore?: MetadataStore;
  private replicaManager?: ReplicaManager;
  private topicManager?: TopicManager;
  private groupCoordinator?: GroupCoordinator;
  private transactionCoordinator?: TransactionCoordinator;
  private listener?: Listener;
  private bound?: { host: string; port: number };
  private advertised?: { host: string; port: number };

  constructor(opts: BrokerOptions) {
    this.config = opts.config;
    this.logger = opts.logger ?? consoleLogger();
    this.clock = opts.clock ?? { now: () => Date.now() };
    this.readBuffers = new ReadBufferPool(opts.readBuffers);
    this.nodeId = this.config.getInt('node.id');
    const dirs = this.config.get('log.dirs');
    this.dataDir = (dirs ? dirs.split(',')[0]!.trim() : undefined) || this.config.getString('log.dir');
  }

  get clusterId(): string {
    return this.metadata.clusterId;
  }
  get metadata(): MetadataStore {
    return this.required(this.metadataStore);
  }
  get replicas(): ReplicaManager {
    return this.required(this.replicaManager);
  }
  get topics(): TopicManager {
    return this.required(this.topicManager);
  }
  get groups(): GroupCoordinator {
    return this.required(this.groupCoordinator);
  }
  get txn(): TransactionCoordinator {
    return this.required(this.transactionCoordinator);
  }

  endpoint(): BrokerEndpoint {
    const a = this.required(this.advertised);
    return { nodeId: this.nodeId, host: a.host, port: a.port, rack: null };
  }

  controllerId(): number {
    return this.nodeId;
  }

  /** The address actually bound (port 0 resolves to a real port). */
  address(): { host: string; port: number } {
    return this.required(this.bound);
  }

  async start(): Promise<void> {
    for (const k of this.config.unknownKeys) this.logger.warn('unknown configuration ignored', { key: k });
    const listen = parseHostPort(this.config.getString('listeners').split(',')[0]!.trim(), 'listeners');
    const started = this.clock.now();
    // The CRC and compression libraries load lazily; a broken installation stops the start here.
    loadNativeModules();
    this.metadataStore = await LocalMetadataStore.open(this.dataDir, this.nodeId);
    this.config.setDynamic('default', this.metadataStore.brokerConfigs(''));
    this.config.setDynamic('broker', this.metadataStore.brokerConfigs(String(this.nodeId)));
    this.replicaManager = await ReplicaManager.open({
      dataDir: this.dataDir,
      nodeId: this.nodeId,
      config: this.config,
      topics: this.metadataStore.topics(),
      effectiveConfig: (t) => effectiveTopicConfig(t.configs, this.config),
      logger: this.logger,
      clock: this.clock,
    });
    this.topicManager = new TopicManager(this.nodeId, this.config, this.metadataStore, this.replicaManager, this.logger, () => this.clock.now());
    this.groupCoordinator = new GroupCoordinator({
      config: this.config,
      topics: this.topicManager,
      replicas: this.replicaManager,
      metadata: this.metadataStore,
      clock: this.clock,
      logger: this.logger,
    });
    const loaded = await this.groupCoordinator.load();
    // Share-partition state (__share_group_state), after the share groups themselves.
    const shareLoaded = await this.groupCoordinator.share.load();
    // Transactions last: a transaction that was completing writes its markers again, some of them
    // through the group coordinator (for the offsets it committed).
    this.transactionCoordinator = new TransactionCoordinator({
      config: this.config,
      topics: this.topicManager,
      replicas: this.replicaManager,
      metadata: this.metadataStore,
      groups: this.groupCoordinator,
      clock: this.clock,
      logger: this.logger,
    });
    const txnLoaded = await this.transactionCoordinator.load();
    const requestMax = this.config.getInt('socket.request.max.bytes');
    this.listener = new Listener(
      this,
      registry(),
      {
        requestFrameBytesMax: requestMax,
        inflightRequestsMax: this.config.getInt('queued.max.requests'),
        writeBufferBytesMax: limits.connectionWriteBufferBytesMax,
        idleMs: this.config.getInt('connections.max.idle.ms'),
      },
    );
    try {
      this.bound = await this.listener.listen(listen.host, listen.port);
    } catch (err) {
      // Leave the data dir as a clean shutdown would, so the next start needs no recovery.
      this.transactionCoordinator.shutdown();
      this.groupCoordinator.shutdown();
      await this.replicaManager.shutdown();
      await this.metadataStore.close();
      throw err;
    }
    const adv = this.config.get('advertised.listeners');
    const advertised = adv ? parseHostPort(adv.split(',')[0]!.trim(), 'advertised.listeners') : { ...this.bound };
    if (advertised.port === 0) advertised.port = this.bound.port;
    if (advertised.host === '0.0.0.0' || advertised.host === '::') advertised.host = '127.0.0.1';
    this.advertised = advertised;
    const stats = this.replicaManager.logs.stats;
    this.logger.info('broker started', {
      nodeId: this.nodeId,
      dataDir: this.dataDir,
      partitions: [...this.replicaManager.all()].length,
      startupMs: this.clock.now() - started,
      cleanShutdown: this.replicaManager.logs.hadCleanShutdown,
      recoveredSegments: stats.recoveredSegments,
      bytesScannedAtStartup: stats.bytesScannedAtStartup,
      groups: loaded.groups,
      committedOffsets: loaded.offsets,
      groupLoadMs: loaded.ms,
      shareStates: shareLoaded.shareStates,
      shareStateLoadMs: shareLoaded.ms,
      transactionalIds: txnLoaded.transactionalIds,
      transactionsResumed: txnLoaded.resumed,
      transactionLoadMs: txnLoaded.ms,
    });
  }

  async stop(): Promise<void> {
    await this.listener?.close();
    this.transactionCoordinator?.shutdown();
    this.groupCoordinator?.shutdown();
    await this.replicaManager?.shutdown();
    await this.metadataStore?.close();
    this.logger.info('broker stopped', { nodeId: this.nodeId });
  }

  private required<T>(v: T | undefined): T {
    if (v === undefined) throw new Error('broker is not started');
    return v;
  }
}
