/**
 * A share group (KIP-932): members that heartbeat with ShareGroupHeartbeat, a group epoch that
 * moves when membership, subscriptions or the subscribed topics change, a target assignment
 * computed by the server-side assignor at that epoch, and each member's current assignment.
 * Share groups have no revocation: a member takes the target assignment (and the assignment
 * epoch) on its next heartbeat. States are Kafka's: Empty (no members) and Stable.
 *
 * Its records in __consumer_offsets are Kafka's (internal/group-coordinator, types 10-14):
 * ShareGroupMemberMetadata, ShareGroupMetadata, ShareGroupTargetAssignmentMetadata,
 * ShareGroupTargetAssignmentMember and ShareGroupCurrentMemberAssignment. `replay` applies one
 * of them; ShareGroups writes them and replays them at start-up.
 */
import {
  ErrorCode,
  ShareGroupCurrentMemberAssignmentKey,
  ShareGroupCurrentMemberAssignmentValue,
  ShareGroupMemberMetadataKey,
  ShareGroupMemberMetadataValue,
  ShareGroupMetadataKey,
  ShareGroupMetadataValue,
  ShareGroupStatePartitionMetadataKey,
  ShareGroupStatePartitionMetadataValue,
  ShareGroupTargetAssignmentMemberKey,
  ShareGroupTargetAssignmentMemberValue,
  ShareGroupTargetAssignmentMetadataKey,
  ShareGroupTargetAssignmentMetadataValue,
  type DescribeGroupsResponseDescribedGroup,
} from '@fjord/protocol';
import type { Group, OffsetRequester } from './group.js';
import { encodeRecord, type CoordinatorRecord } from './records.js';
import type { ShareAssignment } from './share-assignor.js';

/** Record types (the key's int16) of share groups in __consumer_offsets. */
export const ShareRecordType = {
  MEMBER_METADATA: 10,
  GROUP_METADATA: 11,
  TARGET_ASSIGNMENT_METADATA: 12,
  TARGET_ASSIGNMENT_MEMBER: 13,
  CURRENT_MEMBER_ASSIGNMENT: 14,
  STATE_PARTITION_METADATA: 15,
} as const;

export const SHARE_RECORD_TYPES: ReadonlySet<number> = new Set(Object.values(ShareRecordType));

/** Kafka's MemberState.STABLE: share members have no other state. */
const MEMBER_STATE_STABLE = 0;

export interface ShareMember {
  memberId: string;
  rackId: string | null;
  clientId: string;
  clientHost: string;
  subscribedTopicNames: string[];
  memberEpoch: number;
  previousMemberEpoch: number;
  assigned: ShareAssignment;
}

/** What a share group needs from its coordinator. */
export interface ShareGroupHost {
  now(): number;
}

interface Snapshot {
  groupEpoch: number;
  assignmentEpoch: number;
  metadataHash: bigint;
  members: Map<string, ShareMember>;
  target: Map<string, ShareAssignment>;
  emptySince: number;
}

export class ShareGroup implements Group {
  readonly type = 'share' as const;
  groupEpoch = 0;
  assignmentEpoch = 0;
  /** Hash of the subscribed topics' ids and partition counts when the group epoch last moved. */
  metadataHash = 0n;
  members = new Map<string, ShareMember>();
  /** memberId -> target assignment at assignmentEpoch */
  target = new Map<string, ShareAssignment>();
  private emptySince: number;
  private readonly sessionTimers = new Map<string, () => void>();

  constructor(
    readonly groupId: string,
    readonly partition: number,
    private readonly host: ShareGroupHost,
  ) {
    this.emptySince = host.now();
  }

  // ---- Group ----

  stateName(): string {
    return this.members.size === 0 ? 'Empty' : 'Stable';
  }

  protocolType(): string {
    return 'share';
  }

  isEmpty(): boolean {
    return this.members.size === 0;
  }

  stateTimestamp(): number {
    return this.emptySince;
  }

  /** Share groups keep no committed offsets: Kafka answers "not a consumer group". */
  validateOffsetCommit(_req: OffsetRequester): number {
    return ErrorCode.GROUP_ID_NOT_FOUND;
  }

  validateOffsetFetch(): number {
    return ErrorCode.GROUP_ID_NOT_FOUND;
  }

  isSubscribedTo(topic: string): boolean {
    for (const m of this.members.values()) if (m.subscribedTopicNames.includes(topic)) return true;
    return false;
  }

  /** DescribeGroups does not describe share groups (ShareGroupDescribe does); this is its "Dead" shape. */
  describe(): Omit<DescribeGroupsResponseDescribedGroup, 'authorizedOperations' | 'errorCode' | 'errorMessage'> {
    return { groupId: this.groupId, groupState: this.stateName(), protocolType: 'share', protocolData: '', members: [] };
  }

  /** Kafka's ShareGroup.createGroupTombstoneRecords. */
  tombstones(): CoordinatorRecord[] {
    const groupId = this.groupId;
    const out: CoordinatorRecord[] = [];
    for (const memberId of this.members.keys()) out.push(encodeRecord(ShareGroupCurrentMemberAssignmentKey, { groupId, memberId }, ShareGroupCurrentMemberAssignmentValue, 0, null));
    for (const memberId of new Set([...this.members.keys(), ...this.target.keys()])) out.push(encodeRecord(ShareGroupTargetAssignmentMemberKey, { groupId, memberId }, ShareGroupTargetAssignmentMemberValue, 0, null));
    out.push(encodeRecord(ShareGroupTargetAssignmentMetadataKey, { groupId }, ShareGroupTargetAssignmentMetadataValue, 0, null));
    for (const memberId of this.members.keys()) out.push(encodeRecord(ShareGroupMemberMetadataKey, { groupId, memberId }, ShareGroupMemberMetadataValue, 0, null));
    out.push(encodeRecord(ShareGroupStatePartitionMetadataKey, { groupId }, ShareGroupStatePartitionMetadataValue, 0, null));
    out.push(encodeRecord(ShareGroupMetadataKey, { groupId }, ShareGroupMetadataValue, 0, null));
    return out;
  }

  close(): void {
    for (const cancel of this.sessionTimers.values()) cancel();
    this.sessionTimers.clear();
  }

  // ---- members ----

  setSessionTimer(memberId: string, cancel: () => void): void {
    this.sessionTimers.get(memberId)?.();
    this.sessionTimers.set(memberId, cancel);
  }

  clearSessionTimer(memberId: string): void {
    this.sessionTimers.get(memberId)?.();
    this.sessionTimers.delete(memberId);
  }

  addMember(m: ShareMember): void {
    this.members.set(m.memberId, m);
  }

  removeMember(memberId: string): void {
    this.members.delete(memberId);
    this.target.delete(memberId);
    this.clearSessionTimer(memberId);
    if (this.members.size === 0) this.emptySince = this.host.now();
  }

  /** Names of the topics any member subscribes to. */
  subscribedTopicNames(): Set<string> {
    const out = new Set<string>();
    for (const m of this.members.values()) for (const t of m.subscribedTopicNames) out.add(t);
    return out;
  }

  snapshot(): Snapshot {
    return {
      groupEpoch: this.groupEpoch,
      assignmentEpoch: this.assignmentEpoch,
      metadataHash: this.metadataHash,
      members: new Map([...this.members].map(([k, m]) => [k, { ...m, subscribedTopicNames: [...m.subscribedTopicNames], assigned: copyAssignment(m.assigned) }])),
      target: new Map([...this.target].map(([k, a]) => [k, copyAssignment(a)])),
      emptySince: this.emptySince,
    };
  }

  restore(s: Snapshot): void {
    this.groupEpoch = s.groupEpoch;
    this.assignmentEpoch = s.assignmentEpoch;
    this.metadataHash = s.metadataHash;
    this.members = s.members;
    this.target = s.target;
    this.emptySince = s.emptySince;
    for (const id of [...this.sessionTimers.keys()]) if (!this.members.has(id)) this.clearSessionTimer(id);
  }

  // ---- records ----

  metadataRecord(): CoordinatorRecord {
    return encodeRecord(ShareGroupMetadataKey, { groupId: this.groupId }, ShareGroupMetadataValue, 0, { epoch: this.groupEpoch, metadataHash: this.metadataHash });
  }

  memberMetadataRecord(m: ShareMember): CoordinatorRecord {
    return encodeRecord(ShareGroupMemberMetadataKey, { groupId: this.groupId, memberId: m.memberId }, ShareGroupMemberMetadataValue, 0, {
      rackId: m.rackId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      subscribedTopicNames: m.subscribedTopicNames,
    });
  }

  targetMetadataRecord(): CoordinatorRecord {
    return encodeRecord(ShareGroupTargetAssignmentMetadataKey, { groupId: this.groupId }, ShareGroupTargetAssignmentMetadataValue, 0, {
      assignmentEpoch: this.assignmentEpoch,
      assignmentTimestamp: BigInt(this.host.now()),
    });
  }

  targetMemberRecord(memberId: string): CoordinatorRecord {
    return encodeRecord(ShareGroupTargetAssignmentMemberKey, { groupId: this.groupId, memberId }, ShareGroupTargetAssignmentMemberValue, 0, {
      topicPartitions: toList(this.target.get(memberId) ?? new Map()),
    });
  }

  currentAssignmentRecord(m: ShareMember): CoordinatorRecord {
    return encodeRecord(ShareGroupCurrentMemberAssignmentKey, { groupId: this.groupId, memberId: m.memberId }, ShareGroupCurrentMemberAssignmentValue, 0, {
      memberEpoch: m.memberEpoch,
      previousMemberEpoch: m.previousMemberEpoch,
      state: MEMBER_STATE_STABLE,
      assignedPartitions: toList(m.assigned),
    });
  }

  /** Records that remove one member (leave or session expiry). */
  memberTombstones(memberId: string): CoordinatorRecord[] {
    const groupId = this.groupId;
    return [
      encodeRecord(ShareGroupCurrentMemberAssignmentKey, { groupId, memberId }, ShareGroupCurrentMemberAssignmentValue, 0, null),
      encodeRecord(ShareGroupTargetAssignmentMemberKey, { groupId, memberId }, ShareGroupTargetAssignmentMemberValue, 0, null),
      encodeRecord(ShareGroupMemberMetadataKey, { groupId, memberId }, ShareGroupMemberMetadataValue, 0, null),
    ];
  }

  /** Applies one record read back from __consumer_offsets. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  replay(recordType: number, key: any, value: any): void {
    const memberId = key.memberId as string | undefined;
    switch (recordType) {
      case ShareRecordType.GROUP_METADATA:
        if (value) {
          this.groupEpoch = value.epoch;
          this.metadataHash = value.metadataHash;
        }
        return;
      case ShareRecordType.MEMBER_METADATA: {
        if (value === null) {
          this.removeMember(memberId!);
          return;
        }
        const m = this.members.get(memberId!) ?? { memberId: memberId!, rackId: null, clientId: '', clientHost: '', subscribedTopicNames: [], memberEpoch: 0, previousMemberEpoch: 0, assigned: new Map() };
        m.rackId = value.rackId;
        m.clientId = value.clientId;
        m.clientHost = value.clientHost;
        m.subscribedTopicNames = [...value.subscribedTopicNames];
        this.addMember(m);
        return;
      }
      case ShareRecordType.TARGET_ASSIGNMENT_METADATA:
        if (value) this.assignmentEpoch = value.assignmentEpoch;
        return;
      case ShareRecordType.TARGET_ASSIGNMENT_MEMBER:
        if (value === null) this.target.delete(memberId!);
        else this.target.set(memberId!, fromList(value.topicPartitions));
        return;
      case ShareRecordType.CURRENT_MEMBER_ASSIGNMENT: {
        const m = this.members.get(memberId!);
        if (!m || value === null) return;
        m.memberEpoch = value.memberEpoch;
        m.previousMemberEpoch = value.previousMemberEpoch;
        m.assigned = fromList(value.assignedPartitions);
        return;
      }
      default:
      // ShareGroupStatePartitionMetadata: share-partition state is initialized on first fetch here.
    }
  }
}

export function copyAssignment(a: ShareAssignment): ShareAssignment {
  return new Map([...a].map(([t, ps]) => [t, [...ps]]));
}

export function assignmentsEqual(a: ShareAssignment, b: ShareAssignment): boolean {
  if (a.size !== b.size) return false;
  for (const [t, ps] of a) {
    const other = b.get(t);
    if (!other || other.length !== ps.length || ps.some((p, i) => other[i] !== p)) return false;
  }
  return true;
}

export function toList(a: ShareAssignment): Array<{ topicId: string; partitions: number[] }> {
  return [...a].map(([topicId, partitions]) => ({ topicId, partitions: [...partitions] }));
}

function fromList(list: ReadonlyArray<{ topicId: string; partitions: readonly number[] }>): ShareAssignment {
  return new Map(list.map((t) => [t.topicId, [...t.partitions].sort((x, y) => x - y)]));
}
