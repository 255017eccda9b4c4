/**
 * What a request handler can reach. Broker implements it; tests may provide their own.
 */
import type { ReadBufferPool } from '@fjord/storage';
import type { BrokerConfig } from './config/broker-configs.js';
import type { MetadataStore } from './metadata/metadata-store.js';
import type { Logger } from './logger.js';
import type { ReplicaManager } from './partition/replica-manager.js';
import type { TopicManager } from './topics/topic-manager.js';
import type { FetchSessionCache } from './partition/fetch-sessions.js';
import type { GroupCoordinator } from './group/coordinator.js';
import type { TransactionCoordinator } from './txn/transaction-coordinator.js';

export interface Clock {
  now(): number;
}

export interface BrokerEndpoint {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface BrokerContext {
  readonly nodeId: number;
  readonly clusterId: string;
  readonly config: BrokerConfig;
  readonly metadata: MetadataStore;
  readonly topics: TopicManager;
  readonly replicas: ReplicaManager;
  readonly fetchSessions: FetchSessionCache;
  /** Fetch reads the files into these and gives them back once the response is written. */
  readonly readBuffers: ReadBufferPool;
  readonly groups: GroupCoordinator;
  readonly txn: TransactionCoordinator;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly dataDir: string;
  /** The endpoint clients are told to use (advertised.listeners). */
  endpoint(): BrokerEndpoint;
  /** The node that acts as controller (this one, on a single node). */
  controllerId(): number;
}
