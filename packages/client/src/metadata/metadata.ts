/** The metadata cache's data: brokers and, per topic, its partitions' leaders. Pure data, no I/O. */
import { ErrorCode } from '@fjord/protocol/core';

export interface BrokerInfo {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface PartitionInfo {
  partition: number;
  /** -1 when there is no leader right now. */
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  errorCode: number;
}

export interface TopicInfo {
  name: string;
  topicId: string;
  isInternal: boolean;
  /** Indexed by partition number. */
  partitions: PartitionInfo[];
  /** Partitions with a leader, for unkeyed records (Kafka's availablePartitionsForTopic). */
  available: number[];
}

/**
 * Error codes that mean the cached metadata is stale (Kafka's InvalidMetadataException family):
 * the request is retried after a metadata refresh.
 */
export const staleMetadataErrors: ReadonlySet<number> = new Set([
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.KAFKA_STORAGE_ERROR,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH,
  ErrorCode.UNKNOWN_TOPIC_ID,
  ErrorCode.INCONSISTENT_TOPIC_ID,
  ErrorCode.NOT_CONTROLLER,
]);
