/**
 * Share groups (KIP-932) in the group coordinator: ShareGroupHeartbeat and ShareGroupDescribe as
 * Kafka's GroupMetadataManager serves them, the share coordinator (__share_group_state) and the
 * share-partitions that ShareFetch and ShareAcknowledge use.
 *
 * A heartbeat is one operation on its group: heartbeats of one group run one at a time, change the
 * group in memory, and are answered once their records are durable in __consumer_offsets; if the
 * write fails the group goes back to where it was. The group epoch moves when a member joins or
 * leaves, a subscription changes, or a subscribed topic appears, disappears or grows; the target
 * assignment is then recomputed (SimpleAssignor) and members take it on their next heartbeat.
 */
import { ErrorCode } from '@fjord/protocol';
import { ConfigError } from '../config/broker-configs.js';
import type { GroupCoordinator } from './coordinator.js';
import { groupIdProblem } from './group.js';
import type { CoordinatorRecord } from './records.js';
import { assignShareGroup, SHARE_ASSIGNOR_NAME, type ShareAssignment } from './share-assignor.js';
import { ShareCoordinator } from './share-coordinator.js';
import { assignmentsEqual, copyAssignment, SHARE_RECORD_TYPES, ShareGroup, ShareRecordType, toList, type ShareMember } from './share-group.js';
import { SharePartitionManager } from './share-partition-manager.js';

export const LEAVE_GROUP_MEMBER_EPOCH = -1;

export interface ShareHeartbeatInput {
  groupId: string;
  memberId: string;
  memberEpoch: number;
  rackId: string | null;
  subscribedTopicNames: readonly string[] | null;
  clientId: string;
  clientHost: string;
}

export interface ShareHeartbeatAnswer {
  errorCode: number;
  errorMessage: string | null;
  memberId: string | null;
  memberEpoch: number;
  heartbeatIntervalMs: number;
  assignment: { topicPartitions: Array<{ topicId: string; partitions: number[] }> } | null;
}

export interface DescribedShareGroup {
  errorCode: number;
  errorMessage: string | null;
  groupId: string;
  groupState: string;
  groupEpoch: number;
  assignmentEpoch: number;
  assignorName: string;
  members: Array<{
    memberId: string;
    rackId: string | null;
    memberEpoch: number;
    clientId: string;
    clientHost: string;
    subscribedTopicNames: string[];
    assignment: { topicPartitions: Array<{ topicId: string; topicName: string; partitions: number[] }> };
  }>;
}

const fail = (errorCode: number, errorMessage: string): ShareHeartbeatAnswer => ({ errorCode, errorMessage, memberId: null, memberEpoch: 0, heartbeatIntervalMs: 0, assignment: null });

export class ShareGroups {
  readonly state: ShareCoordinator;
  readonly partitions: SharePartitionManager;
  /** Heartbeats (and expiries) of a group run one after another. */
  private readonly queues = new Map<string, Promise<unknown>>();
  private shuttingDown = false;

  constructor(private readonly coordinator: GroupCoordinator) {
    const deps = coordinator.deps;
    checkShareConfigs(deps.config);
    this.state = new ShareCoordinator(deps);
    this.partitions = new SharePartitionManager({
      config: deps.config,
      replicas: deps.replicas,
      metadata: deps.metadata,
      clock: deps.clock,
      logger: deps.logger,
      state: this.state,
      isShareGroup: (groupId) => coordinator.groups.get(groupId) instanceof ShareGroup,
    });
  }

  private get config() {
    return this.coordinator.deps.config;
  }

  heartbeatIntervalMs(): number {
    return this.config.getInt('group.share.heartbeat.interval.ms');
  }

  // ---- lifecycle ----

  /** Replays __share_group_state (Broker.start, after the group coordinator loaded). */
  load(): ReturnType<ShareCoordinator['load']> {
    return this.state.load();
  }

  /** Applies one share-group record read back from __consumer_offsets. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  replay(partition: number, recordType: number, key: any, value: any): boolean {
    if (!SHARE_RECORD_TYPES.has(recordType)) return false;
    const groupId = key.groupId as string;
    let g = this.coordinator.groups.get(groupId);
    if (!(g instanceof ShareGroup)) {
      if (value === null) return true;
      if (g !== undefined && !g.isEmpty()) {
        this.coordinator.deps.logger.warn('skipping a share group record for a live group of another type', { group: groupId, recordType });
        return true;
      }
      g?.close(ErrorCode.NOT_COORDINATOR);
      g = new ShareGroup(groupId, partition, { now: () => this.coordinator.now() });
      this.coordinator.groups.set(groupId, g);
    }
    (g as ShareGroup).replay(recordType, key, value);
    if (recordType === ShareRecordType.GROUP_METADATA && value === null) {
      g.close(ErrorCode.NOT_COORDINATOR);
      this.coordinator.groups.delete(groupId);
    }
    return true;
  }

  /** Every record replayed: members' sessions start again. */
  afterLoad(): void {
    for (const g of this.coordinator.groups.values()) {
      if (!(g instanceof ShareGroup)) continue;
      for (const memberId of g.members.keys()) this.scheduleSessionTimeout(g, memberId);
    }
  }

  shutdown(): void {
    this.shuttingDown = true;
    this.state.shutdown();
    this.partitions.shutdown();
  }

  /** DeleteGroups removed a share group: its share-partition state goes too. */
  async onGroupDeleted(groupId: string): Promise<void> {
    await this.partitions.deleteGroup(groupId);
  }

  // ---- ShareGroupHeartbeat ----

  async heartbeat(req: ShareHeartbeatInput): Promise<ShareHeartbeatAnswer> {
    const problem = heartbeatProblem(req);
    if (problem) return problem;
    try {
      await this.coordinator.offsetsTopic.ensure();
    } catch (err) {
      return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, (err as Error).message);
    }
    return this.serialized(req.groupId, () => this.heartbeatNow(req));
  }

  private serialized<T>(groupId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(groupId) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.queues.set(groupId, tail);
    void tail.then(() => {
      if (this.queues.get(groupId) === tail) this.queues.delete(groupId);
    });
    return run;
  }

  private async heartbeatNow(req: ShareHeartbeatInput): Promise<ShareHeartbeatAnswer> {
    if (this.shuttingDown) return fail(ErrorCode.NOT_COORDINATOR, 'The coordinator is shutting down');
    const { groupId, memberId } = req;
    const existing = this.coordinator.groups.get(groupId);
    if (existing && !(existing instanceof ShareGroup)) return fail(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} is not a share group.`);
    if (!existing && req.memberEpoch !== 0) return fail(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} not found.`);
    const group = existing ?? new ShareGroup(groupId, this.coordinator.partitionFor(groupId), { now: () => this.coordinator.now() });
    const snapshot = group.snapshot();
    const records: CoordinatorRecord[] = [];

    if (req.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH) {
      if (!group.members.has(memberId)) return fail(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${memberId} is not a member of group ${groupId}.`);
      this.removeMember(group, memberId, records);
      const problem = await this.store(group, records, snapshot, false);
      if (problem) return problem;
      return { errorCode: 0, errorMessage: null, memberId, memberEpoch: LEAVE_GROUP_MEMBER_EPOCH, heartbeatIntervalMs: 0, assignment: null };
    }

    let member = group.members.get(memberId);
    let bump = false;
    if (req.memberEpoch === 0) {
      if (!member) {
        const maxSize = this.config.getInt('group.share.max.size');
        if (group.members.size >= maxSize) return fail(ErrorCode.GROUP_MAX_SIZE_REACHED, `The share group has reached its maximum capacity of ${maxSize} members.`);
        member = { memberId, rackId: null, clientId: req.clientId, clientHost: req.clientHost, subscribedTopicNames: [], memberEpoch: 0, previousMemberEpoch: 0, assigned: new Map() };
        group.addMember(member);
        bump = true;
      }
    } else {
      if (!member) return fail(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${memberId} is not a member of group ${groupId}.`);
      const stale = epochProblem(member, req.memberEpoch);
      if (stale) return stale;
    }

    // The member's own metadata.
    const subs = req.subscribedTopicNames === null ? member.subscribedTopicNames : [...new Set(req.subscribedTopicNames)].sort();
    const subsChanged = !sameStrings(subs, member.subscribedTopicNames);
    const rack = req.rackId ?? member.rackId;
    if (bump || subsChanged || rack !== member.rackId || req.clientId !== member.clientId || req.clientHost !== member.clientHost) {
      member.subscribedTopicNames = subs;
      member.rackId = rack;
      member.clientId = req.clientId;
      member.clientHost = req.clientHost;
      records.push(group.memberMetadataRecord(member));
    }
    if (subsChanged) bump = true;
    this.maybeNewEpoch(group, bump, records);
    const previous = copyAssignment(member.assigned);
    this.reconcile(group, member, records);

    const problem = await this.store(group, records, snapshot, !existing);
    if (problem) return problem;
    this.scheduleSessionTimeout(group, memberId);
    const sendAssignment = req.memberEpoch === 0 || !assignmentsEqual(previous, member.assigned);
    return {
      errorCode: 0,
      errorMessage: null,
      memberId,
      memberEpoch: member.memberEpoch,
      heartbeatIntervalMs: this.heartbeatIntervalMs(),
      assignment: sendAssignment ? { topicPartitions: toList(member.assigned) } : null,
    };
  }

  /** Removes a member and moves the group to a new epoch and assignment. */
  private removeMember(group: ShareGroup, memberId: string, records: CoordinatorRecord[]): void {
    records.push(...group.memberTombstones(memberId));
    group.removeMember(memberId);
    this.maybeNewEpoch(group, true, records);
  }

  /**
   * Bumps the group epoch when asked to or when the subscribed topics changed (their hash), then
   * recomputes the target assignment at the new epoch.
   */
  private maybeNewEpoch(group: ShareGroup, bump: boolean, records: CoordinatorRecord[]): void {
    const { hash, partitionCounts, idsByName } = this.subscriptionMetadata(group);
    if (hash !== group.metadataHash) {
      group.metadataHash = hash;
      bump = true;
    }
    if (bump) {
      group.groupEpoch++;
      records.push(group.metadataRecord());
    }
    if (group.groupEpoch <= group.assignmentEpoch) return;
    const target = assignShareGroup(
      [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        topicIds: new Set(m.subscribedTopicNames.map((n) => idsByName.get(n)).filter((id): id is string => id !== undefined)),
        current: group.target.get(m.memberId) ?? new Map(),
      })),
      partitionCounts,
    );
    for (const [memberId, assignment] of target) {
      const old = group.target.get(memberId);
      if (old && assignmentsEqual(old, assignment)) continue;
      group.target.set(memberId, assignment);
      records.push(group.targetMemberRecord(memberId));
    }
    group.assignmentEpoch = group.groupEpoch;
    records.push(group.targetMetadataRecord());
  }

  /** Share members need no revocation: they take the target assignment and its epoch at once. */
  private reconcile(group: ShareGroup, member: ShareMember, records: CoordinatorRecord[]): void {
    const target: ShareAssignment = group.target.get(member.memberId) ?? new Map();
    if (member.memberEpoch === group.assignmentEpoch && assignmentsEqual(member.assigned, target)) return;
    member.previousMemberEpoch = member.memberEpoch;
    member.memberEpoch = group.assignmentEpoch;
    member.assigned = copyAssignment(target);
    records.push(group.currentAssignmentRecord(member));
  }

  /** Ids and partition counts of the existing subscribed topics, and a hash of them (Kafka's metadata hash). */
  private subscriptionMetadata(group: ShareGroup): { hash: bigint; partitionCounts: Map<string, number>; idsByName: Map<string, string> } {
    const partitionCounts = new Map<string, number>();
    const idsByName = new Map<string, string>();
    const parts: string[] = [];
    for (const name of [...group.subscribedTopicNames()].sort()) {
      const t = this.coordinator.deps.metadata.topic(name);
      if (!t) continue;
      partitionCounts.set(t.topicId, t.partitions.length);
      idsByName.set(name, t.topicId);
      parts.push(`${name}\u0000${t.topicId}\u0000${t.partitions.length}`);
    }
    return { hash: parts.length === 0 ? 0n : fnv1a64(parts.join('\u0001')), partitionCounts, idsByName };
  }

  /** Writes the records (if any) and registers a new group; on failure the group goes back. */
  private async store(group: ShareGroup, records: CoordinatorRecord[], snapshot: ReturnType<ShareGroup['snapshot']>, created: boolean): Promise<ShareHeartbeatAnswer | undefined> {
    if (created) this.coordinator.groups.set(group.groupId, group);
    if (records.length === 0) return undefined;
    try {
      await this.coordinator.write(group.partition, records);
      return undefined;
    } catch (err) {
      this.coordinator.deps.logger.warn('share group change not stored', { group: group.groupId, error: err });
      group.restore(snapshot);
      if (created && this.coordinator.groups.get(group.groupId) === group) this.coordinator.groups.delete(group.groupId);
      const code = (err as { errorCode?: number }).errorCode === ErrorCode.NOT_COORDINATOR ? ErrorCode.NOT_COORDINATOR : ErrorCode.COORDINATOR_NOT_AVAILABLE;
      return fail(code, `The group change could not be stored: ${(err as Error).message}`);
    }
  }

  private scheduleSessionTimeout(group: ShareGroup, memberId: string): void {
    const ms = this.config.getInt('group.share.session.timeout.ms');
    const timer = setTimeout(() => void this.serialized(group.groupId, () => this.expire(group, memberId)), ms);
    timer.unref();
    group.setSessionTimer(memberId, () => clearTimeout(timer));
  }

  /** group.share.session.timeout.ms passed without a heartbeat: the member is removed. */
  private async expire(group: ShareGroup, memberId: string): Promise<void> {
    if (this.shuttingDown || this.coordinator.groups.get(group.groupId) !== group || !group.members.has(memberId)) return;
    const snapshot = group.snapshot();
    const records: CoordinatorRecord[] = [];
    this.removeMember(group, memberId, records);
    const problem = await this.store(group, records, snapshot, false);
    if (problem) this.scheduleSessionTimeout(group, memberId);
    else this.coordinator.deps.logger.info('share group member expired', { group: group.groupId, member: memberId, groupEpoch: group.groupEpoch });
  }

  // ---- ShareGroupDescribe ----

  describe(groupId: string): DescribedShareGroup {
    const none = (errorCode: number, errorMessage: string): DescribedShareGroup => ({ errorCode, errorMessage, groupId, groupState: '', groupEpoch: 0, assignmentEpoch: 0, assignorName: '', members: [] });
    if (groupIdProblem(groupId)) return none(ErrorCode.INVALID_GROUP_ID, 'The group id must not be empty');
    const g = this.coordinator.groups.get(groupId);
    if (!g) return none(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} not found.`);
    if (!(g instanceof ShareGroup)) return none(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} is not a share group.`);
    const metadata = this.coordinator.deps.metadata;
    return {
      errorCode: 0,
      errorMessage: null,
      groupId,
      groupState: g.stateName(),
      groupEpoch: g.groupEpoch,
      assignmentEpoch: g.assignmentEpoch,
      assignorName: SHARE_ASSIGNOR_NAME,
      members: [...g.members.values()].map((m) => ({
        memberId: m.memberId,
        rackId: m.rackId,
        memberEpoch: m.memberEpoch,
        clientId: m.clientId,
        clientHost: m.clientHost,
        subscribedTopicNames: [...m.subscribedTopicNames],
        assignment: {
          topicPartitions: toList(m.assigned).flatMap((t) => {
            const topic = metadata.topicById(t.topicId);
            return topic ? [{ topicId: t.topicId, topicName: topic.name, partitions: t.partitions }] : [];
          }),
        },
      })),
    };
  }
}

/** Kafka's throwIfShareGroupHeartbeatRequestIsInvalid. */
function heartbeatProblem(req: ShareHeartbeatInput): ShareHeartbeatAnswer | undefined {
  const invalid = (msg: string) => fail(ErrorCode.INVALID_REQUEST, msg);
  if (req.groupId.trim() === '') return invalid("GroupId can't be empty.");
  if (req.memberId.trim() === '') return invalid("MemberId can't be empty.");
  if (req.rackId !== null && req.rackId.trim() === '') return invalid("RackId can't be empty.");
  if (req.memberEpoch === 0) {
    if (req.subscribedTopicNames === null || req.subscribedTopicNames.length === 0) return invalid('SubscribedTopicNames must be set in first request.');
  } else if (req.memberEpoch < LEAVE_GROUP_MEMBER_EPOCH) {
    return invalid('MemberEpoch is invalid.');
  }
  return undefined;
}

/** Kafka's throwIfShareGroupMemberEpochIsInvalid: the current epoch, or the previous one (a lost answer). */
function epochProblem(m: ShareMember, received: number): ShareHeartbeatAnswer | undefined {
  if (received > m.memberEpoch) {
    return fail(ErrorCode.FENCED_MEMBER_EPOCH, `The share group member has a greater member epoch (${received}) than the one known by the group coordinator (${m.memberEpoch}). The member must abandon all its partitions and rejoin.`);
  }
  if (received < m.memberEpoch && received !== m.previousMemberEpoch) {
    return fail(ErrorCode.FENCED_MEMBER_EPOCH, `The share group member has a smaller member epoch (${received}) than the one known by the group coordinator (${m.memberEpoch}). The member must abandon all its partitions and rejoin.`);
  }
  return undefined;
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** 64-bit FNV-1a of a string's UTF-16 units, as a signed int64 (ShareGroupMetadata's MetadataHash). */
function fnv1a64(s: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < s.length; i++) {
    h ^= BigInt(s.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return BigInt.asIntN(64, h);
}

/**
 * Kafka's cross-checks of the share group configs (ShareGroupConfig.validate and
 * GroupCoordinatorConfig): each default must lie within its min and max.
 */
function checkShareConfigs(cfg: { getInt(key: string): number }): void {
  const within = (name: string, minName: string, maxName: string): void => {
    const v = cfg.getInt(name);
    if (v < cfg.getInt(minName)) throw new ConfigError(`${name} must be greater than or equal to ${minName}`);
    if (v > cfg.getInt(maxName)) throw new ConfigError(`${name} must be less than or equal to ${maxName}`);
  };
  within('group.share.record.lock.duration.ms', 'group.share.min.record.lock.duration.ms', 'group.share.max.record.lock.duration.ms');
  within('group.share.session.timeout.ms', 'group.share.min.session.timeout.ms', 'group.share.max.session.timeout.ms');
  within('group.share.heartbeat.interval.ms', 'group.share.min.heartbeat.interval.ms', 'group.share.max.heartbeat.interval.ms');
}
