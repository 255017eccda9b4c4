/**
 * A consumer group of the KIP-848 protocol: its state as Kafka keeps it, the reconciliation of one
 * member towards its target assignment (Kafka's CurrentAssignmentBuilder), and the records that
 * make the state durable.
 *
 * The state changes only by replaying records (ConsumerGroupMetadata, ConsumerGroupMemberMetadata,
 * ConsumerGroupTargetAssignmentMetadata/Member, ConsumerGroupCurrentMemberAssignment,
 * ConsumerGroupRegularExpression), both at start-up and live: an operation builds a record and
 * applies it with the same replay, so what a restarted broker rebuilds is what it served.
 *
 *   group epoch        bumped when a subscription, the membership or subscribed topics' metadata change
 *   assignment epoch   the group epoch the target assignment was computed for
 *   member epoch       where a member's reconciliation stands; it reaches the assignment epoch once
 *                      the member has revoked what it must give up (STABLE), or waits for partitions
 *                      other members still own (UNRELEASED_PARTITIONS)
 *
 * Group states as Kafka names them: Empty (no members), Assigning (group epoch ahead of the
 * assignment epoch), Reconciling (some member not yet at the assignment epoch), Stable, Dead.
 */
import { createHash } from 'node:crypto';
import {
  ConsumerGroupCurrentMemberAssignmentKey,
  ConsumerGroupCurrentMemberAssignmentValue,
  ConsumerGroupMemberMetadataKey,
  ConsumerGroupMemberMetadataValue,
  ConsumerGroupMetadataKey,
  ConsumerGroupMetadataValue,
  ConsumerGroupPartitionMetadataKey,
  ConsumerGroupPartitionMetadataValue,
  ConsumerGroupRegularExpressionKey,
  ConsumerGroupRegularExpressionValue,
  ConsumerGroupTargetAssignmentMemberKey,
  ConsumerGroupTargetAssignmentMemberValue,
  ConsumerGroupTargetAssignmentMetadataKey,
  ConsumerGroupTargetAssignmentMetadataValue,
  ErrorCode,
  type ConsumerGroupDescribeResponseDescribedGroup,
  type DescribeGroupsResponseDescribedGroup,
} from '@fjord/protocol';
import type { TopicState } from '../metadata/metadata-store.js';
import { assignmentsEqual, EMPTY_ASSIGNMENT, type Assignment } from './assignors.js';
import type { Group, OffsetRequester } from './group.js';
import { encodeRecord, RecordType, type CoordinatorRecord } from './records.js';

// ------------------------------------------------------------------------------------- members

/** Kafka's MemberState values, as stored in ConsumerGroupCurrentMemberAssignmentValue.State. */
export const MemberState = {
  STABLE: 0,
  UNREVOKED_PARTITIONS: 1,
  UNRELEASED_PARTITIONS: 2,
  UNKNOWN: 127,
} as const;

/** Epoch -1 leaves the group; -2 is a static member that left and may come back (KIP-345). */
export const LEAVE_GROUP_MEMBER_EPOCH = -1;
export const LEAVE_GROUP_STATIC_MEMBER_EPOCH = -2;

/** A member, immutable: every change makes a new object, so the previous one can be compared. */
export interface ConsumerMember {
  readonly memberId: string;
  readonly instanceId: string | null;
  readonly rackId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  /** Sorted, without duplicates. */
  readonly subscribedTopicNames: readonly string[];
  readonly subscribedTopicRegex: string | null;
  readonly rebalanceTimeoutMs: number;
  readonly serverAssignor: string | null;
  readonly memberEpoch: number;
  readonly previousMemberEpoch: number;
  readonly state: number;
  /** The partitions the member may use now (topic id -> partitions). */
  readonly assigned: Assignment;
  /** The partitions it must give up before it moves to the next epoch. */
  readonly pendingRevocation: Assignment;
}

/** A member as Kafka's ConsumerGroupMember.Builder starts it. */
export function newMember(memberId: string): ConsumerMember {
  return {
    memberId,
    instanceId: null,
    rackId: null,
    clientId: '',
    clientHost: '',
    subscribedTopicNames: [],
    subscribedTopicRegex: null,
    rebalanceTimeoutMs: -1,
    serverAssignor: null,
    memberEpoch: 0,
    previousMemberEpoch: 0,
    state: MemberState.STABLE,
    assigned: EMPTY_ASSIGNMENT,
    pendingRevocation: EMPTY_ASSIGNMENT,
  };
}

export function isReconciledTo(m: ConsumerMember, assignmentEpoch: number): boolean {
  return m.state === MemberState.STABLE && m.memberEpoch === assignmentEpoch;
}

/** Whether the metadata a ConsumerGroupMemberMetadata record carries differs. */
export function memberMetadataEqual(a: ConsumerMember, b: ConsumerMember): boolean {
  return (
    a.instanceId === b.instanceId &&
    a.rackId === b.rackId &&
    a.clientId === b.clientId &&
    a.clientHost === b.clientHost &&
    a.subscribedTopicRegex === b.subscribedTopicRegex &&
    a.rebalanceTimeoutMs === b.rebalanceTimeoutMs &&
    a.serverAssignor === b.serverAssignor &&
    sameNames(a.subscribedTopicNames, b.subscribedTopicNames)
  );
}

export function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export function normalizeNames(names: readonly string[]): string[] {
  return [...new Set(names)].sort();
}

/** The regex a member subscribes with, or undefined ("" means none, as in Kafka). */
export function regexOf(m: ConsumerMember): string | undefined {
  return m.subscribedTopicRegex !== null && m.subscribedTopicRegex !== '' ? m.subscribedTopicRegex : undefined;
}

// ---------------------------------------------------------------------------------- assignments

export interface TopicPartitionsList {
  topicId: string;
  partitions: readonly number[];
}

export function toAssignment(list: readonly TopicPartitionsList[]): Assignment {
  const out = new Map<string, Set<number>>();
  for (const tp of list) {
    if (tp.partitions.length === 0) continue;
    let parts = out.get(tp.topicId);
    if (!parts) out.set(tp.topicId, (parts = new Set()));
    for (const p of tp.partitions) parts.add(p);
  }
  return out;
}

/** Sorted by topic id, partitions ascending: deterministic records and responses. */
export function fromAssignment(a: Assignment): Array<{ topicId: string; partitions: number[] }> {
  return [...a]
    .filter(([, parts]) => parts.size > 0)
    .sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
    .map(([topicId, parts]) => ({ topicId, partitions: [...parts].sort((x, y) => x - y) }));
}

function hasPartition(a: Assignment, topicId: string, partition: number): boolean {
  return a.get(topicId)?.has(partition) ?? false;
}

/** Kafka's isSubset: the owned partitions (null: not reported) are all in `a`. */
export function ownedIsSubset(owned: readonly TopicPartitionsList[] | null, a: Assignment): boolean {
  if (owned === null) return false;
  return owned.every((tp) => tp.partitions.every((p) => hasPartition(a, tp.topicId, p)));
}

// ------------------------------------------------------------------------------- reconciliation

export interface ReconcileInput {
  assignmentEpoch: number;
  /** The member's target assignment. */
  target: Assignment;
  /** The partitions the member reports it owns; null when not reported in this heartbeat. */
  owned: readonly TopicPartitionsList[] | null;
  /** The member that owns a partition now (assigned or pending revocation), if any. */
  ownerOf(topicId: string, partition: number): string | undefined;
}

/**
 * One step of Kafka's CurrentAssignmentBuilder: moves the member towards its target assignment.
 * A partition is given to a member only once no other member owns it; a member keeps its epoch
 * until it has revoked what it must give up (it reports that by no longer listing the partitions
 * it owns). Returns the same object when nothing changes, and undefined when the member is in a
 * state this broker does not know and must be fenced (it rejoins from scratch).
 */
export function reconcile(m: ConsumerMember, input: ReconcileInput): ConsumerMember | undefined {
  switch (m.state) {
    case MemberState.STABLE:
      return m.memberEpoch !== input.assignmentEpoch ? nextAssignment(m, m.memberEpoch, input) : m;
    case MemberState.UNREVOKED_PARTITIONS:
      return ownsAnyOf(input.owned, m.pendingRevocation) ? m : nextAssignment(m, m.memberEpoch, input);
    case MemberState.UNRELEASED_PARTITIONS:
      return nextAssignment(m, m.memberEpoch, input);
    default:
      if (input.owned === null || input.owned.some((tp) => tp.partitions.length > 0)) return undefined;
      return nextAssignment(m, input.assignmentEpoch, input);
  }
}

function ownsAnyOf(owned: readonly TopicPartitionsList[] | null, a: Assignment): boolean {
  if (owned === null) return true;
  return owned.some((tp) => tp.partitions.some((p) => hasPartition(a, tp.topicId, p)));
}

function withEpoch(m: ConsumerMember, epoch: number, state: number, assigned: Assignment, pending: Assignment): ConsumerMember {
  return { ...m, previousMemberEpoch: m.memberEpoch, memberEpoch: epoch, state, assigned, pendingRevocation: pending };
}

function nextAssignment(m: ConsumerMember, memberEpoch: number, input: ReconcileInput): ConsumerMember {
  const newAssigned = new Map<string, Set<number>>();
  const revoke = new Map<string, Set<number>>();
  const toAssign = new Map<string, Set<number>>();
  let unreleased = false;
  for (const topicId of new Set([...input.target.keys(), ...m.assigned.keys()])) {
    const target = input.target.get(topicId) ?? new Set<number>();
    const current = m.assigned.get(topicId) ?? new Set<number>();
    const kept = new Set([...current].filter((p) => target.has(p)));
    const gone = new Set([...current].filter((p) => !kept.has(p)));
    const wanted = new Set<number>();
    for (const p of target) {
      if (kept.has(p)) continue;
      const owner = input.ownerOf(topicId, p);
      // A partition this member itself still holds pending revocation is not someone else's.
      if (owner !== undefined && owner !== m.memberId) unreleased = true;
      else wanted.add(p);
    }
    if (kept.size > 0) newAssigned.set(topicId, kept);
    if (gone.size > 0) revoke.set(topicId, gone);
    if (wanted.size > 0) toAssign.set(topicId, wanted);
  }
  if (revoke.size > 0 && ownsAnyOf(input.owned, revoke)) {
    // The member keeps its epoch and is asked to revoke; it moves on once it no longer owns them.
    return withEpoch(m, memberEpoch, MemberState.UNREVOKED_PARTITIONS, newAssigned, revoke);
  }
  for (const [topicId, parts] of toAssign) {
    const into = newAssigned.get(topicId) ?? newAssigned.set(topicId, new Set()).get(topicId)!;
    for (const p of parts) into.add(p);
  }
  const state = unreleased ? MemberState.UNRELEASED_PARTITIONS : MemberState.STABLE;
  return withEpoch(m, input.assignmentEpoch, state, newAssigned, EMPTY_ASSIGNMENT);
}

// -------------------------------------------------------------------------------------- records

/** A record as built: its decoded form (applied to the group) and its bytes (written to the log). */
export interface GroupRecord {
  readonly recordType: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly key: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly value: any | null;
  readonly bytes: CoordinatorRecord;
}

const REGEX_RECORD_TYPE = ConsumerGroupRegularExpressionKey.recordType;

/** The record types of consumer groups this broker replays. */
export const CONSUMER_GROUP_RECORD_TYPES: ReadonlySet<number> = new Set([
  RecordType.CONSUMER_GROUP_METADATA,
  RecordType.CONSUMER_GROUP_PARTITION_METADATA,
  RecordType.CONSUMER_GROUP_MEMBER_METADATA,
  RecordType.CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA,
  RecordType.CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER,
  RecordType.CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT,
  REGEX_RECORD_TYPE,
]);

export const records = {
  groupEpoch(groupId: string, epoch: number, metadataHash: bigint): GroupRecord {
    const key = { groupId };
    const value: ConsumerGroupMetadataValue = { epoch, metadataHash };
    return { recordType: RecordType.CONSUMER_GROUP_METADATA, key, value, bytes: encodeRecord(ConsumerGroupMetadataKey, key, ConsumerGroupMetadataValue, 0, value) };
  },
  groupEpochTombstone(groupId: string): GroupRecord {
    const key = { groupId };
    return { recordType: RecordType.CONSUMER_GROUP_METADATA, key, value: null, bytes: encodeRecord(ConsumerGroupMetadataKey, key, ConsumerGroupMetadataValue, 0, null) };
  },
  partitionMetadataTombstone(groupId: string): GroupRecord {
    const key = { groupId };
    return { recordType: RecordType.CONSUMER_GROUP_PARTITION_METADATA, key, value: null, bytes: encodeRecord(ConsumerGroupPartitionMetadataKey, key, ConsumerGroupPartitionMetadataValue, 0, null) };
  },
  member(groupId: string, m: ConsumerMember): GroupRecord {
    const key = { groupId, memberId: m.memberId };
    const value: ConsumerGroupMemberMetadataValue = {
      instanceId: m.instanceId,
      rackId: m.rackId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      subscribedTopicNames: [...m.subscribedTopicNames],
      subscribedTopicRegex: m.subscribedTopicRegex,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      serverAssignor: m.serverAssignor,
      classicMemberMetadata: null,
    };
    return { recordType: RecordType.CONSUMER_GROUP_MEMBER_METADATA, key, value, bytes: encodeRecord(ConsumerGroupMemberMetadataKey, key, ConsumerGroupMemberMetadataValue, 0, value) };
  },
  memberTombstone(groupId: string, memberId: string): GroupRecord {
    const key = { groupId, memberId };
    return { recordType: RecordType.CONSUMER_GROUP_MEMBER_METADATA, key, value: null, bytes: encodeRecord(ConsumerGroupMemberMetadataKey, key, ConsumerGroupMemberMetadataValue, 0, null) };
  },
  targetMember(groupId: string, memberId: string, a: Assignment): GroupRecord {
    const key = { groupId, memberId };
    const value: ConsumerGroupTargetAssignmentMemberValue = { topicPartitions: fromAssignment(a) };
    return { recordType: RecordType.CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER, key, value, bytes: encodeRecord(ConsumerGroupTargetAssignmentMemberKey, key, ConsumerGroupTargetAssignmentMemberValue, 0, value) };
  },
  targetMemberTombstone(groupId: string, memberId: string): GroupRecord {
    const key = { groupId, memberId };
    return { recordType: RecordType.CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER, key, value: null, bytes: encodeRecord(ConsumerGroupTargetAssignmentMemberKey, key, ConsumerGroupTargetAssignmentMemberValue, 0, null) };
  },
  targetEpoch(groupId: string, assignmentEpoch: number, timestampMs: number): GroupRecord {
    const key = { groupId };
    const value: ConsumerGroupTargetAssignmentMetadataValue = { assignmentEpoch, assignmentTimestamp: BigInt(timestampMs) };
    return { recordType: RecordType.CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA, key, value, bytes: encodeRecord(ConsumerGroupTargetAssignmentMetadataKey, key, ConsumerGroupTargetAssignmentMetadataValue, 0, value) };
  },
  targetEpochTombstone(groupId: string): GroupRecord {
    const key = { groupId };
    return { recordType: RecordType.CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA, key, value: null, bytes: encodeRecord(ConsumerGroupTargetAssignmentMetadataKey, key, ConsumerGroupTargetAssignmentMetadataValue, 0, null) };
  },
  current(groupId: string, m: ConsumerMember): GroupRecord {
    const key = { groupId, memberId: m.memberId };
    const list = (a: Assignment) => fromAssignment(a).map((tp) => ({ ...tp, assignmentEpochs: null }));
    const value: ConsumerGroupCurrentMemberAssignmentValue = {
      memberEpoch: m.memberEpoch,
      previousMemberEpoch: m.previousMemberEpoch,
      state: m.state,
      assignedPartitions: list(m.assigned),
      partitionsPendingRevocation: list(m.pendingRevocation),
    };
    return { recordType: RecordType.CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT, key, value, bytes: encodeRecord(ConsumerGroupCurrentMemberAssignmentKey, key, ConsumerGroupCurrentMemberAssignmentValue, 0, value) };
  },
  currentTombstone(groupId: string, memberId: string): GroupRecord {
    const key = { groupId, memberId };
    return { recordType: RecordType.CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT, key, value: null, bytes: encodeRecord(ConsumerGroupCurrentMemberAssignmentKey, key, ConsumerGroupCurrentMemberAssignmentValue, 0, null) };
  },
  regex(groupId: string, regularExpression: string, topics: readonly string[], version: bigint, timestampMs: number): GroupRecord {
    const key = { groupId, regularExpression };
    const value: ConsumerGroupRegularExpressionValue = { topics: [...topics].sort(), version, timestamp: BigInt(timestampMs) };
    return { recordType: REGEX_RECORD_TYPE, key, value, bytes: encodeRecord(ConsumerGroupRegularExpressionKey, key, ConsumerGroupRegularExpressionValue, 0, value) };
  },
  regexTombstone(groupId: string, regularExpression: string): GroupRecord {
    const key = { groupId, regularExpression };
    return { recordType: REGEX_RECORD_TYPE, key, value: null, bytes: encodeRecord(ConsumerGroupRegularExpressionKey, key, ConsumerGroupRegularExpressionValue, 0, null) };
  },
};

// ---------------------------------------------------------------------------------------- group

export type ConsumerGroupState = 'Empty' | 'Assigning' | 'Reconciling' | 'Stable' | 'Dead';

export interface ResolvedRegex {
  readonly topics: ReadonlySet<string>;
  readonly version: bigint;
  readonly timestampMs: number;
}

/** What a group needs from the broker: topic metadata, a clock, timers and a log. */
export interface ConsumerGroupHost {
  now(): number;
  topic(name: string): TopicState | undefined;
  topicById(topicId: string): TopicState | undefined;
  /** Runs `fn` after `ms` unless the returned function is called first. */
  schedule(ms: number, fn: () => void): () => void;
  warn(msg: string, fields: Record<string, unknown>): void;
}

/** The state an operation may have to roll back to when its records cannot be written. */
export interface GroupSnapshot {
  readonly groupEpoch: number;
  readonly metadataHash: bigint;
  readonly assignmentEpoch: number;
  readonly members: ReadonlyMap<string, ConsumerMember>;
  readonly target: ReadonlyMap<string, Assignment>;
  readonly regexes: ReadonlyMap<string, ResolvedRegex>;
  readonly partitionMetadataStored: boolean;
  readonly version: number;
}

export class ConsumerGroup implements Group {
  readonly type = 'consumer';
  groupEpoch = 0;
  metadataHash = 0n;
  assignmentEpoch = 0;
  readonly members = new Map<string, ConsumerMember>();
  /** instance id -> member id of static members. */
  readonly staticMembers = new Map<string, string>();
  /** member id -> target assignment. */
  readonly target = new Map<string, Assignment>();
  /** Resolved regular expressions (ConsumerGroupRegularExpression records). */
  readonly regexes = new Map<string, ResolvedRegex>();
  /** When each regex was last matched against the topics (not stored: a restart matches again). */
  readonly regexCheckedAt = new Map<string, number>();
  /** topic id -> partition -> owning member (assigned or pending revocation). */
  private readonly owners = new Map<string, Map<number, string>>();
  /** A ConsumerGroupPartitionMetadata record (Kafka before 4.1) was replayed: deletion removes it too. */
  private partitionMetadataStored = false;
  private state: ConsumerGroupState = 'Empty';
  private stateTime: number;
  /** Bumped on every applied record: an operation rolls back only if nothing came after it. */
  version = 0;
  private live = false;
  /** subscribedTopicNames() and the regexes in use, until a member's subscription or a regex changes. */
  private subscriptions?: { topics: Map<string, number>; regexes: Set<string> };
  private readonly sessionTimers = new Map<string, () => void>();
  private readonly rebalanceTimers = new Map<string, () => void>();

  constructor(
    readonly groupId: string,
    readonly partition: number,
    private readonly host: ConsumerGroupHost,
  ) {
    this.stateTime = host.now();
  }

  // ---- Group ----

  stateName(): string {
    return this.state;
  }

  protocolType(): string {
    return 'consumer';
  }

  isEmpty(): boolean {
    return this.state === 'Empty';
  }

  stateTimestamp(): number {
    return this.stateTime;
  }

  /**
   * Kafka's ConsumerGroup.validateOffsetCommit: anyone may commit with epoch -1 while the group
   * has no members; otherwise the member must exist, use OffsetCommit v9+ (the first version of
   * the new protocol) and send its current epoch.
   */
  validateOffsetCommit(req: OffsetRequester): number {
    if (this.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (req.generationIdOrMemberEpoch < 0 && this.members.size === 0) return 0;
    // TxnOffsetCommit needs no member fields; they are checked only when sent.
    if (req.transactional && req.generationIdOrMemberEpoch === -1 && req.memberId === '' && req.groupInstanceId === null) return 0;
    const m = this.members.get(req.memberId);
    if (!m) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (req.apiVersion < 9 && !req.transactional) return ErrorCode.UNSUPPORTED_VERSION;
    return req.generationIdOrMemberEpoch === m.memberEpoch ? 0 : ErrorCode.STALE_MEMBER_EPOCH;
  }

  /** OffsetFetch v9+: a member id and epoch, when sent, must be the member's current ones. */
  validateOffsetFetch(memberId: string | null, memberEpoch: number): number {
    if (this.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (memberId === null && memberEpoch < 0) return 0;
    const m = memberId === null ? undefined : this.members.get(memberId);
    if (!m) return ErrorCode.UNKNOWN_MEMBER_ID;
    return memberEpoch === m.memberEpoch ? 0 : ErrorCode.STALE_MEMBER_EPOCH;
  }

  isSubscribedTo(topic: string): boolean {
    return this.subscribedTopicNames().has(topic);
  }

  describe(): Omit<DescribeGroupsResponseDescribedGroup, 'authorizedOperations' | 'errorCode' | 'errorMessage'> {
    return {
      groupId: this.groupId,
      groupState: this.state,
      protocolType: 'consumer',
      protocolData: '',
      members: [...this.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.instanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: Buffer.alloc(0),
        memberAssignment: Buffer.alloc(0),
      })),
    };
  }

  tombstones(): CoordinatorRecord[] {
    return this.tombstoneRecords().map((r) => r.bytes);
  }

  /** Kafka's createGroupTombstoneRecords order: assignments, target, members, metadata, epoch last. */
  tombstoneRecords(): GroupRecord[] {
    const out: GroupRecord[] = [];
    for (const id of this.members.keys()) out.push(records.currentTombstone(this.groupId, id));
    for (const id of this.target.keys()) out.push(records.targetMemberTombstone(this.groupId, id));
    out.push(records.targetEpochTombstone(this.groupId));
    for (const id of this.members.keys()) out.push(records.memberTombstone(this.groupId, id));
    for (const regex of this.regexes.keys()) out.push(records.regexTombstone(this.groupId, regex));
    if (this.partitionMetadataStored) out.push(records.partitionMetadataTombstone(this.groupId));
    out.push(records.groupEpochTombstone(this.groupId));
    return out;
  }

  close(): void {
    for (const cancel of this.sessionTimers.values()) cancel();
    for (const cancel of this.rebalanceTimers.values()) cancel();
    this.sessionTimers.clear();
    this.rebalanceTimers.clear();
    this.setState('Dead');
  }

  // ---- derived views ----

  /**
   * Topic name -> number of members subscribed to it (by name or through a resolved regex).
   * Every heartbeat needs it (the metadata hash), so it is kept until a subscription changes.
   */
  subscribedTopicNames(): ReadonlyMap<string, number> {
    if (this.subscriptions) return this.subscriptions.topics;
    const topics = new Map<string, number>();
    const regexes = new Set<string>();
    for (const m of this.members.values()) {
      const regex = regexOf(m);
      if (regex !== undefined) regexes.add(regex);
      for (const t of this.memberTopicNames(m)) topics.set(t, (topics.get(t) ?? 0) + 1);
    }
    this.subscriptions = { topics, regexes };
    return topics;
  }

  /** The regexes members subscribe with. */
  regexesInUse(): ReadonlySet<string> {
    this.subscribedTopicNames();
    return this.subscriptions!.regexes;
  }

  /** The topic names one member subscribes to, through its names and its regex. */
  memberTopicNames(m: ConsumerMember): Set<string> {
    const names = new Set(m.subscribedTopicNames);
    const regex = regexOf(m);
    if (regex !== undefined) for (const t of this.regexes.get(regex)?.topics ?? []) names.add(t);
    return names;
  }

  /**
   * A hash of the subscribed topics' metadata (name, id, partition count), as Kafka 4.1's
   * ConsumerGroupMetadataValue.MetadataHash: a change (partitions added, a topic created or
   * deleted) bumps the group epoch. Fjord's hash function is its own (SHA-256 of the fields).
   */
  computeMetadataHash(subscribed: Iterable<string>): bigint {
    const names = [...subscribed].filter((n) => this.host.topic(n) !== undefined).sort();
    if (names.length === 0) return 0n;
    const h = createHash('sha256');
    for (const n of names) {
      const t = this.host.topic(n)!;
      h.update(`${n}\u0000${t.topicId}\u0000${t.partitions.length}\n`);
    }
    return h.digest().readBigInt64BE(0);
  }

  /** The server assignor most members asked for (Kafka's preferredServerAssignor), if any. */
  preferredAssignor(): string | undefined {
    const counts = new Map<string, number>();
    for (const m of this.members.values()) if (m.serverAssignor !== null) counts.set(m.serverAssignor, (counts.get(m.serverAssignor) ?? 0) + 1);
    let best: string | undefined;
    let most = 0;
    for (const [name, n] of [...counts].sort((a, b) => (a[0] < b[0] ? -1 : 1))) if (n > most) [best, most] = [name, n];
    return best;
  }

  ownerOf(topicId: string, partition: number): string | undefined {
    return this.owners.get(topicId)?.get(partition);
  }

  staticMember(instanceId: string): ConsumerMember | undefined {
    const id = this.staticMembers.get(instanceId);
    return id === undefined ? undefined : this.members.get(id);
  }

  // ---- replay ----

  /**
   * Applies one record: read back at start-up, or (`live`) just built by an operation, where a
   * broken invariant is this broker's bug and is not tolerated.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  replay(recordType: number, key: any, value: any | null, live = false): void {
    this.live = live;
    try {
      this.apply(recordType, key, value);
    } finally {
      this.live = false;
    }
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private apply(recordType: number, key: any, value: any | null): void {
    this.version++;
    if (recordType === RecordType.CONSUMER_GROUP_MEMBER_METADATA || recordType === REGEX_RECORD_TYPE) this.subscriptions = undefined;
    switch (recordType) {
      case RecordType.CONSUMER_GROUP_METADATA:
        if (value === null) {
          this.groupEpoch = 0;
          this.metadataHash = 0n;
        } else {
          const v = value as ConsumerGroupMetadataValue;
          this.groupEpoch = v.epoch;
          this.metadataHash = v.metadataHash ?? 0n;
        }
        break;
      case RecordType.CONSUMER_GROUP_PARTITION_METADATA:
        // Kafka 4.0's subscription metadata, replaced by the metadata hash: only remembered so
        // that deleting the group deletes it too.
        this.partitionMetadataStored = value !== null;
        break;
      case RecordType.CONSUMER_GROUP_MEMBER_METADATA:
        this.replayMemberMetadata(key.memberId as string, value as ConsumerGroupMemberMetadataValue | null);
        break;
      case RecordType.CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA:
        this.assignmentEpoch = value === null ? 0 : (value as ConsumerGroupTargetAssignmentMetadataValue).assignmentEpoch;
        break;
      case RecordType.CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER:
        if (value === null) this.target.delete(key.memberId);
        else this.target.set(key.memberId, toAssignment((value as ConsumerGroupTargetAssignmentMemberValue).topicPartitions));
        break;
      case RecordType.CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT:
        this.replayCurrentAssignment(key.memberId as string, value as ConsumerGroupCurrentMemberAssignmentValue | null);
        break;
      case REGEX_RECORD_TYPE:
        if (value === null) {
          this.regexes.delete(key.regularExpression);
        } else {
          const v = value as ConsumerGroupRegularExpressionValue;
          this.regexes.set(key.regularExpression, { topics: new Set(v.topics), version: v.version, timestampMs: Number(v.timestamp) });
        }
        break;
      default:
        return;
    }
    this.updateState();
  }

  private replayMemberMetadata(memberId: string, v: ConsumerGroupMemberMetadataValue | null): void {
    const old = this.members.get(memberId);
    if (v === null) {
      if (old) this.removeMember(old);
      return;
    }
    this.putMember({
      ...(old ?? newMember(memberId)),
      instanceId: v.instanceId,
      rackId: v.rackId,
      clientId: v.clientId,
      clientHost: v.clientHost,
      subscribedTopicNames: normalizeNames(v.subscribedTopicNames),
      subscribedTopicRegex: v.subscribedTopicRegex,
      rebalanceTimeoutMs: v.rebalanceTimeoutMs,
      serverAssignor: v.serverAssignor,
    });
  }

  private replayCurrentAssignment(memberId: string, v: ConsumerGroupCurrentMemberAssignmentValue | null): void {
    const old = this.members.get(memberId);
    if (v === null) {
      // Kafka keeps the member (its metadata tombstone follows) with epoch -1 and nothing owned.
      if (old) this.putMember({ ...old, memberEpoch: LEAVE_GROUP_MEMBER_EPOCH, previousMemberEpoch: LEAVE_GROUP_MEMBER_EPOCH, assigned: EMPTY_ASSIGNMENT, pendingRevocation: EMPTY_ASSIGNMENT });
      return;
    }
    const known = v.state === MemberState.STABLE || v.state === MemberState.UNREVOKED_PARTITIONS || v.state === MemberState.UNRELEASED_PARTITIONS;
    this.putMember({
      ...(old ?? newMember(memberId)),
      memberEpoch: v.memberEpoch,
      previousMemberEpoch: v.previousMemberEpoch,
      state: known ? v.state : MemberState.UNKNOWN,
      assigned: toAssignment(v.assignedPartitions),
      pendingRevocation: toAssignment(v.partitionsPendingRevocation),
    });
  }

  private putMember(m: ConsumerMember): void {
    const old = this.members.get(m.memberId);
    if (old) this.releasePartitions(old);
    this.members.set(m.memberId, m);
    if (old?.instanceId && old.instanceId !== m.instanceId && this.staticMembers.get(old.instanceId) === m.memberId) this.staticMembers.delete(old.instanceId);
    if (m.instanceId !== null) this.staticMembers.set(m.instanceId, m.memberId);
    this.claimPartitions(m);
  }

  private removeMember(m: ConsumerMember): void {
    this.releasePartitions(m);
    this.members.delete(m.memberId);
    if (m.instanceId !== null && this.staticMembers.get(m.instanceId) === m.memberId) this.staticMembers.delete(m.instanceId);
    this.cancelTimers(m.memberId);
  }

  private claimPartitions(m: ConsumerMember): void {
    for (const a of [m.assigned, m.pendingRevocation]) {
      for (const [topicId, parts] of a) {
        let owners = this.owners.get(topicId);
        if (!owners) this.owners.set(topicId, (owners = new Map()));
        for (const p of parts) {
          const other = owners.get(p);
          // Two owners would break "a partition has at most one owner". Reconciliation never gives
          // an owned partition away, so live this is a bug; read back, a damaged or foreign log:
          // said, and the last record wins.
          if (other !== undefined && other !== m.memberId) {
            if (this.live) throw new Error(`invariant broken: ${topicId}-${p} of group ${this.groupId} given to ${m.memberId} while ${other} owns it`);
            this.host.warn('consumer group partition claimed by two members', { group: this.groupId, topicId, partition: p, members: [other, m.memberId] });
          }
          owners.set(p, m.memberId);
        }
      }
    }
  }

  private releasePartitions(m: ConsumerMember): void {
    for (const a of [m.assigned, m.pendingRevocation]) {
      for (const [topicId, parts] of a) {
        const owners = this.owners.get(topicId);
        if (!owners) continue;
        for (const p of parts) if (owners.get(p) === m.memberId) owners.delete(p);
        if (owners.size === 0) this.owners.delete(topicId);
      }
    }
  }

  private updateState(): void {
    if (this.state === 'Dead') return;
    let next: ConsumerGroupState = 'Stable';
    if (this.members.size === 0) next = 'Empty';
    else if (this.groupEpoch > this.assignmentEpoch) next = 'Assigning';
    else for (const m of this.members.values()) if (!isReconciledTo(m, this.assignmentEpoch)) next = 'Reconciling';
    this.setState(next);
  }

  private setState(s: ConsumerGroupState): void {
    if (s === this.state) return;
    this.state = s;
    this.stateTime = this.host.now();
  }

  // ---- rollback ----

  snapshot(): GroupSnapshot {
    return {
      groupEpoch: this.groupEpoch,
      metadataHash: this.metadataHash,
      assignmentEpoch: this.assignmentEpoch,
      members: new Map(this.members),
      target: new Map(this.target),
      regexes: new Map(this.regexes),
      partitionMetadataStored: this.partitionMetadataStored,
      version: this.version,
    };
  }

  /** Back to `s`, if no record was applied since it was taken; returns whether it did. */
  restore(s: GroupSnapshot, appliedSince: number): boolean {
    if (this.version !== s.version + appliedSince) return false;
    this.groupEpoch = s.groupEpoch;
    this.metadataHash = s.metadataHash;
    this.assignmentEpoch = s.assignmentEpoch;
    for (const m of [...this.members.values()]) if (!s.members.has(m.memberId)) this.removeMember(m);
    this.members.clear();
    this.staticMembers.clear();
    this.owners.clear();
    for (const m of s.members.values()) this.putMember(m);
    this.target.clear();
    for (const [id, a] of s.target) this.target.set(id, a);
    this.regexes.clear();
    for (const [r, v] of s.regexes) this.regexes.set(r, v);
    this.partitionMetadataStored = s.partitionMetadataStored;
    this.subscriptions = undefined;
    this.version++;
    this.updateState();
    return true;
  }

  // ---- timers (the manager decides what they do) ----

  hasSessionTimer(memberId: string): boolean {
    return this.sessionTimers.has(memberId);
  }

  setSessionTimer(memberId: string, ms: number, fn: () => void): void {
    this.sessionTimers.get(memberId)?.();
    this.sessionTimers.set(memberId, this.host.schedule(ms, fn));
  }

  setRebalanceTimer(memberId: string, ms: number, fn: () => void): void {
    this.rebalanceTimers.get(memberId)?.();
    this.rebalanceTimers.set(memberId, this.host.schedule(Math.max(0, ms), fn));
  }

  cancelRebalanceTimer(memberId: string): void {
    this.rebalanceTimers.get(memberId)?.();
    this.rebalanceTimers.delete(memberId);
  }

  cancelTimers(memberId: string): void {
    this.sessionTimers.get(memberId)?.();
    this.sessionTimers.delete(memberId);
    this.cancelRebalanceTimer(memberId);
  }

  // ---- ConsumerGroupDescribe ----

  describeConsumer(defaultAssignor: string): Omit<ConsumerGroupDescribeResponseDescribedGroup, 'authorizedOperations' | 'errorCode' | 'errorMessage'> {
    const named = (a: Assignment) => ({
      topicPartitions: fromAssignment(a).flatMap((tp) => {
        const t = this.host.topicById(tp.topicId);
        return t ? [{ topicId: tp.topicId, topicName: t.name, partitions: tp.partitions }] : [];
      }),
    });
    return {
      groupId: this.groupId,
      groupState: this.state,
      groupEpoch: this.groupEpoch,
      assignmentEpoch: this.assignmentEpoch,
      assignorName: this.preferredAssignor() ?? defaultAssignor,
      members: [...this.members.values()].map((m) => ({
        memberId: m.memberId,
        instanceId: m.instanceId,
        rackId: m.rackId,
        memberEpoch: m.memberEpoch,
        clientId: m.clientId,
        clientHost: m.clientHost,
        subscribedTopicNames: [...m.subscribedTopicNames],
        subscribedTopicRegex: m.subscribedTopicRegex,
        assignment: named(m.assigned),
        targetAssignment: named(this.target.get(m.memberId) ?? EMPTY_ASSIGNMENT),
        memberType: 1,
      })),
    };
  }
}

// ----------------------------------------------------------------------------- topic regexes

/**
 * Compiles a subscription regex. Kafka uses RE2/J and matches whole topic names; Fjord uses a JS
 * RegExp anchored at both ends, after translating the RE2 syntax JS spells differently:
 * leading inline flags (?i) (?s) (?m), named groups (?P<name>…), \Q…\E literals, \A and \z,
 * POSIX classes such as [[:alpha:]], \pL / \p{Greek} / \x{…}. What RE2 itself rejects
 * (look-around, back-references, atomic groups) is refused as RE2/J would refuse it, and so is
 * RE2 syntax with no JS equivalent (flags inside the pattern, ungreedy (?U), negated POSIX
 * classes, \C): the member gets INVALID_REGULAR_EXPRESSION with a message saying why.
 */
export function compileTopicRegex(source: string): RegExp | { error: string } {
  let rest = source;
  let flags = '';
  const lead = /^\(\?([a-zA-Z]+)\)/.exec(rest);
  if (lead) {
    for (const f of lead[1]!) {
      if (f === 'i' || f === 's' || f === 'm') flags += flags.includes(f) ? '' : f;
      else return { error: `flag ${f} is not supported` };
    }
    rest = rest.slice(lead[0].length);
  }
  let out = '';
  let unicode = false;
  let inClass = false;
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i]!;
    if (c === '\\') {
      const n = rest[i + 1];
      if (n === undefined) return { error: 'trailing backslash' };
      if (n === 'Q') {
        const end = rest.indexOf('\\E', i + 2);
        const literal = rest.slice(i + 2, end < 0 ? rest.length : end);
        out += literal.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
        i = end < 0 ? rest.length : end + 1;
        continue;
      }
      if (n === 'A' || n === 'z') {
        if (inClass || flags.includes('m')) return { error: `\\${n} is not supported here` };
        out += n === 'A' ? '^' : '$';
        i++;
        continue;
      }
      if (n === 'C' || n === 'Z' || n === 'G') return { error: `\\${n} is not supported` };
      if (n >= '1' && n <= '9') return { error: 'back-references are not supported (RE2)' };
      if (n === 'p' || n === 'P') {
        const m = /^\\[pP](\{\^?[A-Za-z_]+\}|[A-Za-z])/.exec(rest.slice(i));
        if (!m) return { error: 'invalid Unicode class' };
        let name = m[1]!.replace(/[{}]/g, '');
        let negate = n === 'P';
        if (name.startsWith('^')) {
          name = name.slice(1);
          negate = !negate;
        }
        const category = /^(L|Lu|Ll|Lt|Lm|Lo|M|Mn|Mc|Me|N|Nd|Nl|No|P|Pc|Pd|Ps|Pe|Pi|Pf|Po|S|Sm|Sc|Sk|So|Z|Zs|Zl|Zp|C|Cc|Cf|Cs|Co|Any)$/.test(name);
        out += `\\${negate ? 'P' : 'p'}{${category || name === 'Any' ? name : `Script=${name}`}}`;
        unicode = true;
        i += m[0].length - 1;
        continue;
      }
      if (n === 'x' && rest[i + 2] === '{') {
        const end = rest.indexOf('}', i + 3);
        if (end < 0) return { error: 'unterminated \\x{' };
        out += `\\u{${rest.slice(i + 3, end)}}`;
        unicode = true;
        i = end;
        continue;
      }
      out += c + n;
      i++;
      continue;
    }
    if (inClass) {
      if (c === '[' && rest[i + 1] === ':') {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(rest.slice(i));
        if (m) {
          if (m[1]) return { error: 'negated POSIX classes are not supported' };
          const posix = POSIX_CLASSES[m[2]!];
          if (posix === undefined) return { error: `unknown POSIX class ${m[2]}` };
          out += posix;
          i += m[0].length - 1;
          continue;
        }
      }
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (rest[i + 1] === '^') out += rest[++i];
      if (rest[i + 1] === ']') out += `\\${rest[++i]}`;
      continue;
    }
    if (c === '(' && rest[i + 1] === '?') {
      const tail = rest.slice(i + 2);
      if (tail.startsWith('P<')) {
        out += '(?<';
        i += 3;
        continue;
      }
      if (/^(=|!|<=|<!|>)/.test(tail)) return { error: 'look-around and atomic groups are not supported (RE2)' };
      if (!tail.startsWith(':') && !tail.startsWith('<')) return { error: 'inline flags are only supported at the start of the expression' };
    }
    out += c;
  }
  if (inClass) return { error: 'missing closing ]' };
  try {
    return new RegExp(`^(?:${out})$`, flags + (unicode ? 'u' : ''));
  } catch (err) {
    return { error: (err as Error).message };
  }
}

const POSIX_CLASSES: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

export function assignmentChanged(a: ConsumerMember, b: ConsumerMember): boolean {
  return !assignmentsEqual(a.assigned, b.assigned);
}
