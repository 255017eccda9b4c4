/**
 * What the coordinator needs from any kind of group: classic (JoinGroup/SyncGroup) or consumer
 * (KIP-848 ConsumerGroupHeartbeat). Offsets are kept by the coordinator for both; each group type
 * decides who may commit and fetch them.
 */
import type { DescribeGroupsResponseDescribedGroup } from '@fjord/protocol';
import type { BrokerConfig } from '../config/broker-configs.js';
import type { CoordinatorRecord } from './records.js';

export type GroupType = 'classic' | 'consumer' | 'share';

/** A member as it asked to commit or fetch offsets. */
export interface OffsetRequester {
  memberId: string;
  groupInstanceId: string | null;
  /** OffsetCommit's generationIdOrMemberEpoch; -1 for a commit from outside the group. */
  generationIdOrMemberEpoch: number;
  apiVersion: number;
  /** TxnOffsetCommit: member fields are optional (v0-2 have none) and a rebalance does not block it. */
  transactional?: boolean;
}

export interface Group {
  readonly type: GroupType;
  readonly groupId: string;
  /** The partition of __consumer_offsets the group's records go to. */
  readonly partition: number;
  /** Kafka's state name, as ListGroups and DescribeGroups report it. */
  stateName(): string;
  /** The protocol type ListGroups reports ("consumer" for both consumer groups and classic consumers). */
  protocolType(): string;
  isEmpty(): boolean;
  /** When the group entered its current state (ms); offsets of an empty group expire from here. */
  stateTimestamp(): number;
  /** 0 when the requester may commit offsets, else a Kafka error code. */
  validateOffsetCommit(req: OffsetRequester): number;
  /** 0 when the requester may fetch offsets (KIP-848 members send their epoch), else an error code. */
  validateOffsetFetch(memberId: string | null, memberEpoch: number, apiVersion: number): number;
  /** Whether a member is subscribed to the topic (OffsetDelete refuses such offsets). */
  isSubscribedTo(topic: string): boolean;
  /** The group as DescribeGroups shows it. */
  describe(): Omit<DescribeGroupsResponseDescribedGroup, 'authorizedOperations' | 'errorCode' | 'errorMessage'>;
  /** Tombstones that remove the group's own records (not its offsets), for DeleteGroups and expiry. */
  tombstones(): CoordinatorRecord[];
  /** Stops the group's timers and answers its parked requests (coordinator shutdown, deletion). */
  close(errorCode: number): void;
}

/** Whether group.coordinator.rebalance.protocols lists the protocol ("classic", "consumer"). */
export function groupProtocolEnabled(config: BrokerConfig, protocol: string): boolean {
  return config
    .getString('group.coordinator.rebalance.protocols')
    .split(',')
    .some((s) => s.trim() === protocol);
}

/** A valid group id for the group APIs: non-empty (Kafka's isGroupIdNotEmpty). */
export function groupIdProblem(groupId: string | null | undefined): string | undefined {
  if (groupId === null || groupId === undefined || groupId === '') return 'The group id must not be empty';
  return undefined;
}
