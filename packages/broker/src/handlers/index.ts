/**
 * Every API the broker serves, one handler file per API key. This list is the registry: ApiVersions
 * advertises exactly these keys and version ranges.
 */
import { ApiKey } from '@fjord/protocol';
import type { BrokerConfig } from '../config/broker-configs.js';
import { groupProtocolEnabled } from '../group/group.js';
import type { Handler } from './handler.js';
import { HandlerRegistry } from './registry.js';
import { alterConfigs } from './alter-configs.js';
import { apiVersions } from './api-versions.js';
import { createPartitions } from './create-partitions.js';
import { createTopics } from './create-topics.js';
import { deleteRecords } from './delete-records.js';
import { deleteTopics } from './delete-topics.js';
import { describeCluster } from './describe-cluster.js';
import { describeConfigs } from './describe-configs.js';
import { describeLogDirs } from './describe-log-dirs.js';
import { describeProducers } from './describe-producers.js';
import { fetch } from './fetch.js';
import { findCoordinator } from './find-coordinator.js';
import { incrementalAlterConfigs } from './incremental-alter-configs.js';
import { listOffsets } from './list-offsets.js';
import { metadata } from './metadata.js';
import { offsetForLeaderEpoch } from './offset-for-leader-epoch.js';
import { produce } from './produce.js';
import { joinGroup } from './join-group.js';
import { syncGroup } from './sync-group.js';
import { heartbeat } from './heartbeat.js';
import { leaveGroup } from './leave-group.js';
import { offsetCommit } from './offset-commit.js';
import { offsetFetch } from './offset-fetch.js';
import { listGroups } from './list-groups.js';
import { describeGroups } from './describe-groups.js';
import { deleteGroups } from './delete-groups.js';
import { offsetDelete } from './offset-delete.js';
import { initProducerId } from './init-producer-id.js';
import { addPartitionsToTxn } from './add-partitions-to-txn.js';
import { addOffsetsToTxn } from './add-offsets-to-txn.js';
import { endTxn } from './end-txn.js';
import { txnOffsetCommit } from './txn-offset-commit.js';
import { describeTransactions } from './describe-transactions.js';
import { listTransactions } from './list-transactions.js';
import { consumerGroupHeartbeat } from './consumer-group-heartbeat.js';
import { consumerGroupDescribe } from './consumer-group-describe.js';
import { shareGroupHeartbeat } from './share-group-heartbeat.js';
import { shareGroupDescribe } from './share-group-describe.js';
import { shareFetch } from './share-fetch.js';
import { shareAcknowledge } from './share-acknowledge.js';

export const handlers: readonly Handler[] = [
  produce,
  fetch,
  listOffsets,
  metadata,
  offsetCommit,
  offsetFetch,
  findCoordinator,
  joinGroup,
  heartbeat,
  leaveGroup,
  syncGroup,
  describeGroups,
  listGroups,
  apiVersions,
  createTopics,
  deleteTopics,
  deleteRecords,
  deleteGroups,
  initProducerId,
  offsetForLeaderEpoch,
  addPartitionsToTxn,
  addOffsetsToTxn,
  endTxn,
  txnOffsetCommit,
  describeConfigs,
  alterConfigs,
  describeLogDirs,
  createPartitions,
  incrementalAlterConfigs,
  offsetDelete,
  describeCluster,
  describeProducers,
  describeTransactions,
  listTransactions,
  consumerGroupHeartbeat,
  consumerGroupDescribe,
  shareGroupHeartbeat,
  shareGroupDescribe,
  shareFetch,
  shareAcknowledge,
];

let instance: HandlerRegistry | undefined;

/** The registry, built on first use (handlers import it lazily, e.g. ApiVersions). */
export function registry(): HandlerRegistry {
  instance ??= new HandlerRegistry(handlers, [ApiKey.Produce]);
  return instance;
}

/**
 * API keys the configuration turns off, left out of ApiVersions as Kafka leaves them out:
 * ConsumerGroupHeartbeat and ConsumerGroupDescribe unless group.coordinator.rebalance.protocols
 * lists "consumer" (a client then falls back to, or fails with a clear error about, the classic
 * protocol rather than learning it at its first heartbeat).
 */
export function disabledApiKeys(config: BrokerConfig): ReadonlySet<number> {
  return groupProtocolEnabled(config, 'consumer') ? NONE : CONSUMER_PROTOCOL_KEYS;
}

const NONE: ReadonlySet<number> = new Set();
const CONSUMER_PROTOCOL_KEYS: ReadonlySet<number> = new Set([ApiKey.ConsumerGroupHeartbeat, ApiKey.ConsumerGroupDescribe]);
