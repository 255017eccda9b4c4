/**
 * Consumer groups of the new protocol (KIP-848), as Kafka 4's GroupMetadataManager serves them:
 * ConsumerGroupHeartbeat (join with epoch 0, heartbeat with the current epoch, leave with -1,
 * static leave with -2) and ConsumerGroupDescribe; server-side assignors; incremental
 * reconciliation with member epochs; session and rebalance timeouts.
 *
 * One heartbeat is one operation: it builds records, applies each to the group as it goes (the
 * same replay start-up uses), and its answer goes out once they are durable in __consumer_offsets.
 * An answer that wrote nothing still waits for the writes before it, so no client learns state
 * that a crash could take back. If a write fails the group returns to where it was.
 *
 * Upgrade path: a join (epoch 0) to an empty classic group replaces it (its GroupMetadata is
 * tombstoned first, as Kafka does); the coordinator turns an empty consumer group into a classic
 * one on JoinGroup. Not built: mixed groups (classic members inside a consumer group, Kafka 4's
 * online upgrade/downgrade of a group with members): such a join gets GROUP_ID_NOT_FOUND here and
 * INCONSISTENT_GROUP_PROTOCOL on JoinGroup, with a message saying why.
 */
import { ErrorCode, randomUuid } from '@fjord/protocol';
import { assignorByName, EMPTY_ASSIGNMENT, serverAssignors, type Assignment, type AssignmentMember, type ServerAssignor, assignmentsEqual } from './assignors.js';
import {
  assignmentChanged,
  compileTopicRegex,
  ConsumerGroup,
  CONSUMER_GROUP_RECORD_TYPES,
  fromAssignment,
  isReconciledTo,
  LEAVE_GROUP_MEMBER_EPOCH,
  LEAVE_GROUP_STATIC_MEMBER_EPOCH,
  MemberState,
  memberMetadataEqual,
  newMember,
  normalizeNames,
  ownedIsSubset,
  reconcile,
  records,
  regexOf,
  sameNames,
  type ConsumerGroupHost,
  type ConsumerMember,
  type GroupRecord,
  type GroupSnapshot,
  type TopicPartitionsList,
} from './consumer-group.js';
import type { GroupCoordinator } from './coordinator.js';
import { groupProtocolEnabled } from './group.js';
import { ClassicGroup } from './classic-group.js';
import { CoordinatorWriteError } from './internal-topic.js';
import { RecordType, type CoordinatorRecord } from './records.js';

/** How long a resolved subscription regex is trusted before topics are matched again (Kafka's default). */
export const regexRefreshIntervalMs = 10_000;

export interface HeartbeatInput {
  groupId: string;
  memberId: string;
  memberEpoch: number;
  instanceId: string | null;
  rackId: string | null;
  rebalanceTimeoutMs: number;
  subscribedTopicNames: readonly string[] | null;
  subscribedTopicRegex: string | null;
  serverAssignor: string | null;
  topicPartitions: readonly TopicPartitionsList[] | null;
  clientId: string;
  clientHost: string;
  apiVersion: number;
}

export interface HeartbeatAnswer {
  errorCode: number;
  errorMessage: string | null;
  memberId: string | null;
  memberEpoch: number;
  heartbeatIntervalMs: number;
  assignment: { topicPartitions: Array<{ topicId: string; partitions: number[] }> } | null;
}

const fail = (errorCode: number, errorMessage: string): HeartbeatAnswer => ({ errorCode, errorMessage, memberId: null, memberEpoch: 0, heartbeatIntervalMs: 0, assignment: null });

/** "Not null and blank", Kafka's throwIfEmptyString. */
const blank = (s: string | null): boolean => s !== null && s.trim() === '';

/**
 * Kafka's throwIfConsumerGroupHeartbeatRequestIsInvalid (GroupCoordinatorService), in its order.
 * From v1 the client generates its member id (KIP-1082), so it may never be empty; v0 lets the
 * coordinator generate one on join.
 */
export function heartbeatRequestProblem(req: HeartbeatInput, assignors: readonly string[]): HeartbeatAnswer | undefined {
  const invalid = (msg: string) => fail(ErrorCode.INVALID_REQUEST, msg);
  if ((req.apiVersion >= 1 || req.memberEpoch > 0 || req.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH) && blank(req.memberId)) return invalid("MemberId can't be empty.");
  if (blank(req.groupId)) return invalid("GroupId can't be empty.");
  if (blank(req.instanceId)) return invalid("InstanceId can't be empty.");
  if (blank(req.rackId)) return invalid("RackId can't be empty.");
  if (req.memberEpoch === 0) {
    if (req.rebalanceTimeoutMs === -1) return invalid('RebalanceTimeoutMs must be provided in first request.');
    if (req.topicPartitions === null || req.topicPartitions.length > 0) return invalid('TopicPartitions must be empty when (re-)joining.');
    if (req.subscribedTopicNames === null && req.subscribedTopicRegex === null) return invalid('Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining.');
  } else if (req.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
    if (req.instanceId === null) return invalid("InstanceId can't be null.");
  } else if (req.memberEpoch < LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
    return invalid('MemberEpoch is invalid.');
  }
  if (req.serverAssignor !== null && !assignors.includes(req.serverAssignor)) {
    return fail(ErrorCode.UNSUPPORTED_ASSIGNOR, `ServerAssignor ${req.serverAssignor} is not supported. Supported assignors: ${assignors.join(', ')}.`);
  }
  return undefined;
}

/** The records of one operation, applied to the group as they are built. */
class Operation {
  readonly bytes: CoordinatorRecord[] = [];
  applied = 0;
  readonly snapshot: GroupSnapshot;

  constructor(readonly group: ConsumerGroup) {
    this.snapshot = group.snapshot();
  }

  emit(r: GroupRecord): void {
    this.group.replay(r.recordType, r.key, r.value, true);
    this.applied++;
    this.bytes.push(r.bytes);
  }
}

export class ConsumerGroups {
  private readonly host: ConsumerGroupHost;
  /** The last write to each partition of __consumer_offsets: answers without records wait for it. */
  private readonly lastWrite = new Map<number, Promise<void>>();

  /** `schedule` replaces the timers (tests drive session and rebalance timeouts with a fake clock). */
  constructor(
    private readonly coordinator: GroupCoordinator,
    schedule: ConsumerGroupHost['schedule'] = nodeSchedule,
  ) {
    const deps = coordinator.deps;
    this.host = {
      now: () => deps.clock.now(),
      topic: (name) => deps.metadata.topic(name),
      topicById: (id) => deps.metadata.topicById(id),
      schedule,
      warn: (msg, fields) => deps.logger.warn(msg, fields),
    };
  }

  // ---- configuration ----

  /** group.consumer.assignors that this broker has, in configured order (the first is the default). */
  assignorNames(): string[] {
    const names = this.coordinator.deps.config
      .getString('group.consumer.assignors')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => assignorByName(s) !== undefined);
    return names.length > 0 ? names : serverAssignors.map((a) => a.name);
  }

  private enabled(): boolean {
    return groupProtocolEnabled(this.coordinator.deps.config, 'consumer');
  }

  private sessionTimeoutMs(): number {
    return this.coordinator.deps.config.getInt('group.consumer.session.timeout.ms');
  }

  private heartbeatIntervalMs(): number {
    return this.coordinator.deps.config.getInt('group.consumer.heartbeat.interval.ms');
  }

  // ---- ConsumerGroupHeartbeat ----

  async heartbeat(req: HeartbeatInput): Promise<HeartbeatAnswer> {
    const problem = heartbeatRequestProblem(req, this.assignorNames());
    if (problem) return problem;
    if (!this.enabled()) return fail(ErrorCode.UNSUPPORTED_VERSION, 'The consumer group protocol is not enabled (group.coordinator.rebalance.protocols).');
    try {
      await this.coordinator.offsetsTopic.ensure();
    } catch (err) {
      return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, (err as Error).message);
    }
    if (req.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH || req.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) return this.leave(req);
    return this.join(req);
  }

  private async join(req: HeartbeatInput): Promise<HeartbeatAnswer> {
    const found = this.groupFor(req.groupId, req.memberEpoch === 0);
    if ('errorCode' in found) return found;
    const { group, isNew, replaces } = found;
    const op = new Operation(group);
    if (replaces) op.bytes.push(...replaces.tombstones());
    const answer = this.heartbeatSteps(op, req);
    if (answer.errorCode !== 0) {
      if (!isNew) this.rollBack(op);
      return answer;
    }
    if (isNew) {
      replaces?.close(ErrorCode.UNKNOWN_MEMBER_ID);
      this.coordinator.groups.set(group.groupId, group);
    }
    const written = await this.commit(op, isNew);
    return written === 0 ? answer : fail(written, 'The group coordinator could not store the change.');
  }

  /** The group a heartbeat addresses: the consumer group, a new one, or the empty classic group it replaces. */
  private groupFor(groupId: string, create: boolean): { group: ConsumerGroup; isNew: boolean; replaces?: ClassicGroup } | HeartbeatAnswer {
    const existing = this.coordinator.groups.get(groupId);
    if (existing instanceof ConsumerGroup) return { group: existing, isNew: false };
    if (existing === undefined) {
      if (!create) return fail(ErrorCode.GROUP_ID_NOT_FOUND, `Consumer group ${groupId} not found.`);
      return { group: this.newGroup(groupId), isNew: true };
    }
    if (create && existing instanceof ClassicGroup && existing.isEmpty()) return { group: this.newGroup(groupId), isNew: true, replaces: existing };
    const why = create && existing.type === 'classic' ? ' Fjord converts a classic group to the consumer protocol only while it is empty (no online upgrade of a group with members).' : '';
    return fail(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} is not a consumer group.${why}`);
  }

  private newGroup(groupId: string): ConsumerGroup {
    return new ConsumerGroup(groupId, this.coordinator.partitionFor(groupId), this.host);
  }

  /**
   * Kafka's consumerGroupHeartbeat for a join or a regular heartbeat, synchronous: (1) the member
   * and its subscription, bumping the group epoch when a subscription or the subscribed topics
   * changed; (2) a new target assignment when the group epoch moved past it; (3) the member
   * reconciled towards its target.
   */
  private heartbeatSteps(op: Operation, req: HeartbeatInput): HeartbeatAnswer {
    const g = op.group;
    const maxSize = this.coordinator.deps.config.getInt('group.consumer.max.size');
    if (g.members.size >= maxSize && (req.memberId === '' || !g.members.has(req.memberId))) {
      return fail(ErrorCode.GROUP_MAX_SIZE_REACHED, `The consumer group has reached its maximum capacity of ${maxSize} members.`);
    }
    const memberId = req.memberId === '' ? randomUuid() : req.memberId;
    const member = this.memberFor(op, req, memberId);
    if ('errorCode' in member) return member;
    const subscribed = this.subscribe(op, member, req);
    if (subscribed) return subscribed;
    if (g.groupEpoch > g.assignmentEpoch) {
      const error = this.computeTargetAssignment(op);
      if (error) return error;
    }
    const reconciled = this.reconcileMember(op, memberId, req.topicPartitions);
    if (reconciled) return reconciled;
    g.setSessionTimer(memberId, this.sessionTimeoutMs(), () => void this.onSessionTimeout(g, memberId));

    const final = g.members.get(memberId)!;
    // The assignment goes out on a full request (a join, or after an error the client sends every
    // field again) or when it changed.
    const full = req.memberEpoch === 0 || (req.rebalanceTimeoutMs !== -1 && (req.subscribedTopicNames !== null || req.subscribedTopicRegex !== null) && req.topicPartitions !== null);
    return {
      errorCode: 0,
      errorMessage: null,
      memberId,
      memberEpoch: final.memberEpoch,
      heartbeatIntervalMs: this.heartbeatIntervalMs(),
      assignment: full || assignmentChanged(member, final) ? { topicPartitions: fromAssignment(final.assigned) } : null,
    };
  }

  /** Stores the member's new metadata and bumps the group epoch when what it subscribes to changed. */
  private subscribe(op: Operation, member: ConsumerMember, req: HeartbeatInput): HeartbeatAnswer | undefined {
    const g = op.group;
    // Null fields did not change since the last heartbeat.
    const updated: ConsumerMember = {
      ...member,
      instanceId: req.instanceId ?? member.instanceId,
      rackId: req.rackId ?? member.rackId,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs !== -1 ? req.rebalanceTimeoutMs : member.rebalanceTimeoutMs,
      serverAssignor: req.serverAssignor ?? member.serverAssignor,
      subscribedTopicNames: req.subscribedTopicNames !== null ? normalizeNames(req.subscribedTopicNames) : member.subscribedTopicNames,
      subscribedTopicRegex: req.subscribedTopicRegex ?? member.subscribedTopicRegex,
      clientId: req.clientId,
      clientHost: req.clientHost,
    };
    const regexChanged = updated.subscribedTopicRegex !== member.subscribedTopicRegex;
    const regex = regexOf(updated);
    if (regexChanged && regex !== undefined) {
      const compiled = compileTopicRegex(regex);
      if ('error' in compiled) return fail(ErrorCode.INVALID_REGULAR_EXPRESSION, `SubscribedTopicRegex \`${regex}\` is not a valid regular expression: ${compiled.error}.`);
    }
    if (!g.members.has(member.memberId) || !memberMetadataEqual(member, updated)) op.emit(records.member(g.groupId, updated));
    let bump = g.groupEpoch === 0 || regexChanged || !sameNames(member.subscribedTopicNames, updated.subscribedTopicNames);
    if (this.updateRegexes(op)) bump = true;
    // Partition counts and topic ids of subscribed topics, read on every heartbeat.
    const hash = g.computeMetadataHash(g.subscribedTopicNames().keys());
    if (hash !== g.metadataHash) bump = true;
    if (bump) op.emit(records.groupEpoch(g.groupId, g.groupEpoch + 1, hash));
    return undefined;
  }

  /** One reconciliation step (CurrentAssignmentBuilder); a member left revoking gets a rebalance timeout. */
  private reconcileMember(op: Operation, memberId: string, owned: readonly TopicPartitionsList[] | null): HeartbeatAnswer | undefined {
    const g = op.group;
    const current = g.members.get(memberId)!;
    if (isReconciledTo(current, g.assignmentEpoch)) return undefined;
    const next = reconcile(current, {
      assignmentEpoch: g.assignmentEpoch,
      target: g.target.get(memberId) ?? EMPTY_ASSIGNMENT,
      owned,
      ownerOf: (t, p) => g.ownerOf(t, p),
    });
    if (next === undefined) return fail(ErrorCode.FENCED_MEMBER_EPOCH, 'The consumer group member is in a unknown state. The member must abandon all its partitions and rejoin.');
    if (next === current) return undefined;
    op.emit(records.current(g.groupId, next));
    if (next.state === MemberState.UNREVOKED_PARTITIONS) {
      g.setRebalanceTimer(memberId, next.rebalanceTimeoutMs, () => void this.onRebalanceTimeout(g, memberId, next.memberEpoch));
    } else {
      g.cancelRebalanceTimer(memberId);
    }
    return undefined;
  }

  /** Finds or creates the member (Kafka's getOrMaybeSubscribe{Dynamic,Static}ConsumerGroupMember). */
  private memberFor(op: Operation, req: HeartbeatInput, memberId: string): ConsumerMember | HeartbeatAnswer {
    const g = op.group;
    const create = req.memberEpoch === 0;
    if (req.instanceId === null) {
      const existing = g.members.get(memberId);
      if (!existing) return create ? newMember(memberId) : fail(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${memberId} is not a member of group ${g.groupId}.`);
      return epochProblem(existing, req) ?? existing;
    }
    const existing = g.staticMember(req.instanceId);
    if (!create) {
      if (!existing) return fail(ErrorCode.UNKNOWN_MEMBER_ID, `Instance id ${req.instanceId} is unknown.`);
      if (existing.memberId !== memberId) return fail(ErrorCode.FENCED_INSTANCE_ID, `Static member ${memberId} with instance id ${req.instanceId} was fenced by member ${existing.memberId}.`);
      return epochProblem(existing, req) ?? existing;
    }
    if (!existing) return g.members.get(memberId) ?? newMember(memberId);
    // The instance id comes back: allowed only once the previous member left with epoch -2.
    if (existing.memberEpoch !== LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      return fail(ErrorCode.UNRELEASED_INSTANCE_ID, `Static member ${memberId} with instance id ${req.instanceId} cannot join the group because the instance id is owned by ${existing.memberId} member.`);
    }
    // It takes over the previous member's assignment and target, so the group does not rebalance.
    const replacement: ConsumerMember = { ...existing, memberId, memberEpoch: 0, previousMemberEpoch: 0 };
    const target = g.target.get(existing.memberId) ?? EMPTY_ASSIGNMENT;
    this.removeMemberRecords(op, existing.memberId);
    op.emit(records.member(g.groupId, replacement));
    op.emit(records.targetMember(g.groupId, memberId, target));
    op.emit(records.current(g.groupId, replacement));
    return replacement;
  }

  /** Resolves new regexes, refreshes stale ones, drops unused ones; true when a resolution changed. */
  private updateRegexes(op: Operation): boolean {
    const g = op.group;
    const now = this.host.now();
    const used = [...g.regexesInUse()];
    for (const r of [...g.regexes.keys()]) if (!used.includes(r)) op.emit(records.regexTombstone(g.groupId, r));
    let changed = false;
    for (const r of used) {
      const known = g.regexes.get(r);
      const checked = g.regexCheckedAt.get(r) ?? known?.timestampMs;
      if (known && checked !== undefined && now - checked < regexRefreshIntervalMs) continue;
      g.regexCheckedAt.set(r, now);
      const topics = this.resolveRegex(r);
      if (known && known.topics.size === topics.length && topics.every((t) => known.topics.has(t))) continue;
      op.emit(records.regex(g.groupId, r, topics, (known?.version ?? 0n) + 1n, now));
      changed = true;
    }
    return changed;
  }

  private resolveRegex(regex: string): string[] {
    const compiled = compileTopicRegex(regex);
    if ('error' in compiled) return [];
    const out: string[] = [];
    for (const t of this.coordinator.deps.metadata.topics()) if (compiled.test(t.name)) out.push(t.name);
    return out.sort();
  }

  /** Kafka's updateTargetAssignment: runs the assignor, writes the members whose target changed, then the epoch. */
  private computeTargetAssignment(op: Operation): HeartbeatAnswer | undefined {
    const g = op.group;
    const names = this.assignorNames();
    const preferred = g.preferredAssignor();
    const assignor: ServerAssignor = assignorByName(preferred !== undefined && names.includes(preferred) ? preferred : names[0]!)!;
    const members = new Map<string, AssignmentMember>();
    const partitionCounts = new Map<string, number>();
    for (const m of g.members.values()) {
      const ids = new Set<string>();
      for (const name of g.memberTopicNames(m)) {
        const t = this.host.topic(name);
        if (!t) continue;
        ids.add(t.topicId);
        partitionCounts.set(t.topicId, t.partitions.length);
      }
      members.set(m.memberId, { subscribedTopicIds: ids, assignment: g.target.get(m.memberId) ?? EMPTY_ASSIGNMENT });
    }
    let result: Map<string, Assignment>;
    try {
      result = assignor.assign({ members, partitionCounts });
    } catch (err) {
      return fail(ErrorCode.UNKNOWN_SERVER_ERROR, `Failed to compute a new target assignment for epoch ${g.groupEpoch}: ${(err as Error).message}`);
    }
    for (const id of [...g.members.keys()].sort()) {
      const next = result.get(id) ?? EMPTY_ASSIGNMENT;
      const prev = g.target.get(id);
      if (prev === undefined || !assignmentsEqual(prev, next)) op.emit(records.targetMember(g.groupId, id, next));
    }
    op.emit(records.targetEpoch(g.groupId, g.groupEpoch, this.host.now()));
    return undefined;
  }

  // ---- leaving and fencing ----

  private async leave(req: HeartbeatInput): Promise<HeartbeatAnswer> {
    const g = this.coordinator.groups.get(req.groupId);
    if (!(g instanceof ConsumerGroup)) return fail(ErrorCode.GROUP_ID_NOT_FOUND, g ? `Group ${req.groupId} is not a consumer group.` : `Consumer group ${req.groupId} not found.`);
    const op = new Operation(g);
    if (req.instanceId === null) {
      const m = g.members.get(req.memberId);
      if (!m) return fail(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${req.memberId} is not a member of group ${g.groupId}.`);
      this.fence(op, m, 'left the consumer group');
    } else {
      const m = g.staticMember(req.instanceId);
      if (!m) return fail(ErrorCode.UNKNOWN_MEMBER_ID, `Instance id ${req.instanceId} is unknown.`);
      if (m.memberId !== req.memberId) return fail(ErrorCode.FENCED_INSTANCE_ID, `Static member ${req.memberId} with instance id ${req.instanceId} was fenced by member ${m.memberId}.`);
      if (req.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
        // A static member that will come back: it keeps its partitions (nobody else gets them)
        // until it rejoins or its session expires.
        op.emit(records.current(g.groupId, { ...m, memberEpoch: LEAVE_GROUP_STATIC_MEMBER_EPOCH, pendingRevocation: EMPTY_ASSIGNMENT }));
        g.cancelRebalanceTimer(m.memberId);
        this.coordinator.deps.logger.info('static member temporarily left the consumer group', { group: g.groupId, memberId: m.memberId, instanceId: req.instanceId });
      } else {
        this.fence(op, m, 'left the consumer group');
      }
    }
    const written = await this.commit(op, false);
    if (written !== 0) return fail(written, 'The group coordinator could not store the change.');
    return { errorCode: 0, errorMessage: null, memberId: req.memberId, memberEpoch: req.memberEpoch, heartbeatIntervalMs: 0, assignment: null };
  }

  private removeMemberRecords(op: Operation, memberId: string): void {
    const g = op.group;
    op.emit(records.currentTombstone(g.groupId, memberId));
    op.emit(records.targetMemberTombstone(g.groupId, memberId));
    op.emit(records.memberTombstone(g.groupId, memberId));
  }

  /** Removes a member (leave, session or rebalance timeout) and bumps the group epoch. */
  private fence(op: Operation, m: ConsumerMember, why: string): void {
    const g = op.group;
    this.removeMemberRecords(op, m.memberId);
    const regex = regexOf(m);
    if (regex !== undefined && g.regexes.has(regex) && !g.regexesInUse().has(regex)) op.emit(records.regexTombstone(g.groupId, regex));
    op.emit(records.groupEpoch(g.groupId, g.groupEpoch + 1, g.computeMetadataHash(g.subscribedTopicNames().keys())));
    g.cancelTimers(m.memberId);
    this.coordinator.deps.logger.info(`consumer group member ${why}`, { group: g.groupId, memberId: m.memberId, groupEpoch: g.groupEpoch });
  }

  private async onSessionTimeout(g: ConsumerGroup, memberId: string): Promise<void> {
    const m = g.members.get(memberId);
    if (!m || this.coordinator.groups.get(g.groupId) !== g) return;
    const op = new Operation(g);
    this.fence(op, m, `did not heartbeat within ${this.sessionTimeoutMs()} ms`);
    await this.commit(op, false);
  }

  private async onRebalanceTimeout(g: ConsumerGroup, memberId: string, memberEpoch: number): Promise<void> {
    const m = g.members.get(memberId);
    if (!m || m.memberEpoch !== memberEpoch || this.coordinator.groups.get(g.groupId) !== g) return;
    const op = new Operation(g);
    this.fence(op, m, `did not revoke its partitions within ${m.rebalanceTimeoutMs} ms (epoch ${memberEpoch})`);
    await this.commit(op, false);
  }

  // ---- durability ----

  /** Writes the operation's records and resolves with 0 once durable, or an error code. */
  private async commit(op: Operation, isNew: boolean): Promise<number> {
    const partition = op.group.partition;
    if (op.bytes.length === 0) {
      await this.lastWrite.get(partition);
      return 0;
    }
    const written = this.coordinator.write(partition, op.bytes);
    this.lastWrite.set(
      partition,
      written.then(
        () => undefined,
        () => undefined,
      ),
    );
    try {
      await written;
      return 0;
    } catch (err) {
      this.coordinator.deps.logger.warn('consumer group change not stored', { group: op.group.groupId, error: err });
      const rolledBack = this.rollBack(op);
      if (isNew && rolledBack && op.group.members.size === 0 && this.coordinator.groups.get(op.group.groupId) === op.group) {
        op.group.close();
        this.coordinator.groups.delete(op.group.groupId);
      }
      if (err instanceof CoordinatorWriteError) {
        if (err.errorCode === ErrorCode.NOT_COORDINATOR) return ErrorCode.NOT_COORDINATOR;
        if (err.errorCode === ErrorCode.MESSAGE_TOO_LARGE || err.errorCode === ErrorCode.RECORD_LIST_TOO_LARGE) return ErrorCode.UNKNOWN_SERVER_ERROR;
      }
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
  }

  /** Undoes an operation's records, unless another operation applied records after them. */
  private rollBack(op: Operation): boolean {
    if (op.applied === 0) return true;
    if (!op.group.restore(op.snapshot, op.applied)) {
      this.coordinator.deps.logger.warn('consumer group change not rolled back: later changes depend on it', { group: op.group.groupId });
      return false;
    }
    // Members the operation had removed are back: their sessions run again.
    for (const m of op.group.members.values()) if (!op.group.hasSessionTimer(m.memberId)) op.group.setSessionTimer(m.memberId, this.sessionTimeoutMs(), () => void this.onSessionTimeout(op.group, m.memberId));
    return true;
  }

  // ---- ConsumerGroupDescribe ----

  describe(groupId: string): ReturnType<ConsumerGroup['describeConsumer']> | { errorCode: number; errorMessage: string } {
    if (groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, errorMessage: 'The group id must not be empty' };
    const g = this.coordinator.groups.get(groupId);
    if (!(g instanceof ConsumerGroup)) return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage: g ? `Group ${groupId} is not a consumer group.` : `Group ${groupId} not found.` };
    return g.describeConsumer(this.assignorNames()[0]!);
  }

  // ---- start-up ----

  /** Applies one consumer-group record read back from __consumer_offsets at start-up. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  replay(partition: number, recordType: number, key: any, value: any): void {
    // Share and streams groups (KIP-932, KIP-1071) are not served: their records are skipped.
    if (!CONSUMER_GROUP_RECORD_TYPES.has(recordType)) return;
    const groupId = key.groupId as string;
    let g = this.coordinator.groups.get(groupId);
    if (!(g instanceof ConsumerGroup)) {
      if (value === null) return;
      if (g !== undefined && !g.isEmpty()) {
        this.coordinator.deps.logger.warn('skipping a consumer group record for a live classic group', { group: groupId, recordType });
        return;
      }
      // An empty classic group here only holds offsets (Kafka's "simple" group): replaced.
      g?.close(ErrorCode.NOT_COORDINATOR);
      g = new ConsumerGroup(groupId, partition, this.host);
      this.coordinator.groups.set(groupId, g);
    }
    const group = g as ConsumerGroup;
    group.replay(recordType, key, value);
    if (recordType === RecordType.CONSUMER_GROUP_METADATA && value === null) {
      // The group was deleted (DeleteGroups, offsets expiry, conversion to classic).
      group.close();
      this.coordinator.groups.delete(groupId);
      if (this.coordinator.committedOffsets(groupId)) this.coordinator.classicGroup(groupId, true);
    }
  }

  /** Called once every record is replayed: members' sessions (and pending revocations) start again. */
  afterLoad(): void {
    for (const g of this.coordinator.groups.values()) {
      if (!(g instanceof ConsumerGroup)) continue;
      for (const m of g.members.values()) {
        g.setSessionTimer(m.memberId, this.sessionTimeoutMs(), () => void this.onSessionTimeout(g, m.memberId));
        if (m.state === MemberState.UNREVOKED_PARTITIONS) g.setRebalanceTimer(m.memberId, m.rebalanceTimeoutMs, () => void this.onRebalanceTimeout(g, m.memberId, m.memberEpoch));
      }
      this.coordinator.deps.logger.info('loaded consumer group', { group: g.groupId, members: g.members.size, groupEpoch: g.groupEpoch, assignmentEpoch: g.assignmentEpoch });
    }
  }
}

function nodeSchedule(ms: number, fn: () => void): () => void {
  const t = setTimeout(fn, ms);
  t.unref();
  return () => clearTimeout(t);
}

/** Kafka's throwIfConsumerGroupMemberEpochIsInvalid, with KAFKA-19233: epoch 0 rejoins. */
function epochProblem(m: ConsumerMember, req: HeartbeatInput): HeartbeatAnswer | undefined {
  const received = req.memberEpoch;
  if (received === 0) return undefined;
  if (received > m.memberEpoch) {
    return fail(ErrorCode.FENCED_MEMBER_EPOCH, `The consumer group member has a greater member epoch (${received}) than the one known by the group coordinator (${m.memberEpoch}). The member must abandon all its partitions and rejoin.`);
  }
  // The previous epoch is fine when the member owns a subset of its assignment: the answer that
  // moved it to the current epoch may have been lost.
  if (received < m.memberEpoch && (received !== m.previousMemberEpoch || !ownedIsSubset(req.topicPartitions, m.assigned))) {
    return fail(ErrorCode.FENCED_MEMBER_EPOCH, `The consumer group member has a smaller member epoch (${received}) than the one known by the group coordinator (${m.memberEpoch}). The member must abandon all its partitions and rejoin.`);
  }
  return undefined;
}
