/**
 * A classic group (JoinGroup / SyncGroup / Heartbeat / LeaveGroup), with Kafka's state machine:
 *
 *   Empty ──join──▶ PreparingRebalance ──all joined or rebalance timeout──▶ CompletingRebalance
 *     ▲                  ▲        │                                              │ leader's SyncGroup
 *     └── last member ───┘        └──── no member left ──▶ Empty                  ▼ (stored)
 *         leaves                  ◀──── member joins/leaves/expires ─────────  Stable
 *
 * The broker never looks inside the protocols' metadata or assignments (the clients' assignors
 * run on the leader), except to learn a consumer's subscribed topics for OffsetDelete.
 * Every request is answered as data ({ errorCode, ... }); JoinGroup and SyncGroup answers may wait
 * for other members, so those return promises the handler awaits.
 */
import { randomUUID } from 'node:crypto';
import {
  ConsumerProtocolSubscription,
  ErrorCode,
  GroupMetadataKey,
  GroupMetadataValue,
  Reader,
  type DescribeGroupsResponseDescribedGroup,
} from '@fjord/protocol';
import type { Group, OffsetRequester } from './group.js';
import { encodeRecord, type CoordinatorRecord } from './records.js';

export type ClassicState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface Protocol {
  name: string;
  metadata: Buffer;
}

export interface JoinResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  skipAssignment: boolean;
  memberId: string;
  members: Array<{ memberId: string; groupInstanceId: string | null; metadata: Buffer }>;
}

export interface SyncResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export interface JoinRequest {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: Protocol[];
  reason: string | null;
  apiVersion: number;
}

export interface SyncRequest {
  memberId: string;
  groupInstanceId: string | null;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  assignments: Array<{ memberId: string; assignment: Buffer }>;
}

/** What a classic group needs from its coordinator. */
export interface ClassicGroupHost {
  now(): number;
  /** Appends the records to the group's partition of __consumer_offsets; resolves once durable. */
  write(partition: number, records: CoordinatorRecord[]): Promise<void>;
  initialRebalanceDelayMs(): number;
  maxSize(): number;
  log(msg: string, fields: Record<string, unknown>): void;
}

export interface ClassicMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: Protocol[];
  assignment: Buffer;
  /** Joined through MEMBER_ID_REQUIRED or for the first time in this rebalance (KIP-394): may expire while waiting. */
  isNew: boolean;
  awaitingJoin?: (r: JoinResult) => void;
  awaitingSync?: (r: SyncResult) => void;
  sessionTimer?: NodeJS.Timeout;
}

const EMPTY = Buffer.alloc(0);

const joinError = (memberId: string, errorCode: number): JoinResult => ({
  errorCode,
  generationId: -1,
  protocolType: null,
  protocolName: null,
  leader: '',
  skipAssignment: false,
  memberId,
  members: [],
});

const syncError = (errorCode: number): SyncResult => ({ errorCode, protocolType: null, protocolName: null, assignment: EMPTY });

export class ClassicGroup implements Group {
  readonly type = 'classic';
  state: ClassicState = 'Empty';
  generationId = 0;
  protocolTypeName: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  readonly members = new Map<string, ClassicMember>();
  /** Member ids handed out with MEMBER_ID_REQUIRED, not joined yet (KIP-394), with their expiry timers. */
  private readonly pendingMembers = new Map<string, NodeJS.Timeout>();
  /** group.instance.id -> member id of the static members. */
  private readonly staticMembers = new Map<string, string>();
  /** Members that still owe a SyncGroup after the last join (dropped if they never send it). */
  private pendingSync = new Set<string>();
  private stateTime: number;
  private joinTimer?: NodeJS.Timeout;
  private syncTimer?: NodeJS.Timeout;
  /** Initial delayed join (group.initial.rebalance.delay.ms): extended while new members arrive. */
  private initialDelay?: { remainingMs: number; newMemberAdded: boolean };

  constructor(
    readonly groupId: string,
    readonly partition: number,
    private readonly host: ClassicGroupHost,
  ) {
    this.stateTime = host.now();
  }

  // ---- Group ----

  stateName(): string {
    return this.state;
  }

  protocolType(): string {
    return this.protocolTypeName ?? '';
  }

  isEmpty(): boolean {
    return this.state === 'Empty';
  }

  stateTimestamp(): number {
    return this.stateTime;
  }

  validateOffsetCommit(req: OffsetRequester): number {
    if (this.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    // Generation -1 comes from the admin client or a consumer outside group management: fine while empty.
    if (req.generationIdOrMemberEpoch < 0 && this.state === 'Empty') return 0;
    if (req.generationIdOrMemberEpoch >= 0 || req.memberId !== '' || req.groupInstanceId !== null) {
      const e = this.memberProblem(req.memberId, req.groupInstanceId);
      if (e) return e;
      if (req.generationIdOrMemberEpoch !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
    } else if (this.state !== 'Empty' && !req.transactional) {
      // Without member id and generation, commits are accepted only while empty; not so for
      // transactional commits, whose older versions carry no member fields.
      return ErrorCode.UNKNOWN_MEMBER_ID;
    }
    if (this.state === 'CompletingRebalance' && !req.transactional) return ErrorCode.REBALANCE_IN_PROGRESS;
    return 0;
  }

  validateOffsetFetch(): number {
    return this.state === 'Dead' ? ErrorCode.COORDINATOR_NOT_AVAILABLE : 0;
  }

  isSubscribedTo(topic: string): boolean {
    if (this.state === 'Empty' || this.state === 'Dead') return false;
    if (this.protocolTypeName !== 'consumer' || this.protocolName === null) return false;
    for (const m of this.members.values()) {
      const meta = m.protocols.find((p) => p.name === this.protocolName)?.metadata;
      if (!meta) continue;
      const topics = subscribedTopics(meta);
      // Metadata Fjord cannot read: assume the member is subscribed (refusing is the safe answer).
      if (topics === undefined || topics.includes(topic)) return true;
    }
    return false;
  }

  describe(): Omit<DescribeGroupsResponseDescribedGroup, 'authorizedOperations' | 'errorCode' | 'errorMessage'> {
    const stable = this.state === 'Stable';
    return {
      groupId: this.groupId,
      groupState: this.state,
      protocolType: this.protocolTypeName ?? '',
      protocolData: stable ? (this.protocolName ?? '') : '',
      members: [...this.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: stable ? (this.metadataOf(m) ?? EMPTY) : EMPTY,
        memberAssignment: stable ? m.assignment : EMPTY,
      })),
    };
  }

  tombstones(): CoordinatorRecord[] {
    return [encodeRecord(GroupMetadataKey, { group: this.groupId }, GroupMetadataValue, 3, null)];
  }

  close(errorCode: number): void {
    clearTimeout(this.joinTimer);
    clearTimeout(this.syncTimer);
    for (const t of this.pendingMembers.values()) clearTimeout(t);
    this.pendingMembers.clear();
    for (const m of this.members.values()) {
      clearTimeout(m.sessionTimer);
      this.answerJoin(m, joinError(m.memberId, errorCode));
      this.answerSync(m, syncError(errorCode));
    }
    this.transition('Dead');
  }

  // ---- JoinGroup ----

  join(req: JoinRequest): JoinResult | Promise<JoinResult> {
    if (this.state === 'Dead') return joinError(req.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (!this.supportsProtocols(req.protocolType, req.protocols)) return joinError(req.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    if (req.memberId === '') return this.joinUnknownMember(req);
    return this.joinKnownMember(req);
  }

  private joinUnknownMember(req: JoinRequest): JoinResult | Promise<JoinResult> {
    if (req.groupInstanceId !== null && this.staticMembers.has(req.groupInstanceId)) return this.rejoinStaticMember(req);
    if (this.members.size + this.pendingMembers.size >= this.host.maxSize()) return joinError('', ErrorCode.GROUP_MAX_SIZE_REACHED);
    const memberId = `${req.groupInstanceId ?? req.clientId}-${randomUUID()}`;
    // KIP-394: a dynamic member first gets its id and must come back with it, so a client that
    // times out and retries does not leave a ghost member behind.
    if (req.groupInstanceId === null && req.apiVersion >= 4) {
      const timer = setTimeout(() => this.expirePending(memberId), req.sessionTimeoutMs);
      timer.unref();
      this.pendingMembers.set(memberId, timer);
      return joinError(memberId, ErrorCode.MEMBER_ID_REQUIRED);
    }
    return this.addMemberAndRebalance(req, memberId);
  }

  private rejoinStaticMember(req: JoinRequest): JoinResult | Promise<JoinResult> {
    const instanceId = req.groupInstanceId!;
    const oldId = this.staticMembers.get(instanceId)!;
    const old = this.members.get(oldId)!;
    const newId = `${instanceId}-${randomUUID()}`;
    // The old incarnation is fenced: its parked requests fail and its id is gone.
    this.answerJoin(old, joinError(oldId, ErrorCode.FENCED_INSTANCE_ID));
    this.answerSync(old, syncError(ErrorCode.FENCED_INSTANCE_ID));
    clearTimeout(old.sessionTimer);
    this.members.delete(oldId);
    const member: ClassicMember = { ...old, memberId: newId, awaitingJoin: undefined, awaitingSync: undefined, sessionTimer: undefined };
    member.clientId = req.clientId;
    member.clientHost = req.clientHost;
    member.sessionTimeoutMs = req.sessionTimeoutMs;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    this.members.set(newId, member);
    this.staticMembers.set(instanceId, newId);
    if (this.leaderId === oldId) this.leaderId = newId;
    if (this.pendingSync.delete(oldId)) this.pendingSync.add(newId);

    if (this.state === 'Stable' && this.sameProtocols(old, req.protocols)) {
      // KIP-345: a static member back within its session timeout causes no rebalance. Its new id
      // is stored, then it learns the current generation and syncs to get its old assignment.
      this.scheduleSession(member);
      const isLeader = this.leaderId === newId;
      const result: JoinResult = {
        errorCode: 0,
        generationId: this.generationId,
        protocolType: this.protocolTypeName,
        protocolName: this.protocolName,
        leader: this.leaderId ?? '',
        skipAssignment: isLeader,
        memberId: newId,
        members: isLeader ? this.joinMembers() : [],
      };
      return this.host.write(this.partition, [this.metadataRecord()]).then(
        () => result,
        () => joinError(newId, ErrorCode.UNKNOWN_SERVER_ERROR),
      );
    }
    member.protocols = req.protocols;
    member.protocolType = req.protocolType;
    return this.updateMemberAndRebalance(member, req, `static member ${instanceId} rejoined`);
  }

  private joinKnownMember(req: JoinRequest): JoinResult | Promise<JoinResult> {
    const pending = this.pendingMembers.get(req.memberId);
    if (pending !== undefined) {
      clearTimeout(pending);
      this.pendingMembers.delete(req.memberId);
      return this.addMemberAndRebalance(req, req.memberId);
    }
    const problem = this.memberProblem(req.memberId, req.groupInstanceId);
    if (problem) return joinError(req.memberId, problem);
    const member = this.members.get(req.memberId)!;
    switch (this.state) {
      case 'PreparingRebalance':
        return this.updateMemberAndRebalance(member, req, 'member rejoined');
      case 'CompletingRebalance':
        if (this.sameProtocols(member, req.protocols)) {
          // The member missed the join answer (e.g. a retry): send it again.
          return this.joinAnswer(member);
        }
        return this.updateMemberAndRebalance(member, req, 'member changed its protocols');
      case 'Stable':
        if (member.memberId === this.leaderId || !this.sameProtocols(member, req.protocols)) {
          return this.updateMemberAndRebalance(member, req, member.memberId === this.leaderId ? 'leader rejoined' : 'member changed its protocols');
        }
        this.scheduleSession(member);
        return this.joinAnswer(member);
      default:
        return joinError(req.memberId, ErrorCode.UNKNOWN_MEMBER_ID);
    }
  }

  private addMemberAndRebalance(req: JoinRequest, memberId: string): Promise<JoinResult> {
    const member: ClassicMember = {
      memberId,
      groupInstanceId: req.groupInstanceId,
      clientId: req.clientId,
      clientHost: req.clientHost,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      protocolType: req.protocolType,
      protocols: req.protocols,
      assignment: EMPTY,
      isNew: true,
    };
    if (this.state === 'Empty') this.protocolTypeName = req.protocolType;
    this.members.set(memberId, member);
    if (req.groupInstanceId !== null) this.staticMembers.set(req.groupInstanceId, memberId);
    if (this.leaderId === null) this.leaderId = memberId;
    if (this.initialDelay) this.initialDelay.newMemberAdded = true;
    const answer = this.park(member);
    this.scheduleSession(member);
    this.maybePrepareRebalance(`new member ${memberId} joined`);
    this.tryCompleteJoin();
    return answer;
  }

  private updateMemberAndRebalance(member: ClassicMember, req: JoinRequest, reason: string): Promise<JoinResult> {
    member.protocols = req.protocols;
    member.protocolType = req.protocolType;
    member.sessionTimeoutMs = req.sessionTimeoutMs;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    member.clientId = req.clientId;
    member.clientHost = req.clientHost;
    // A member that rejoins while its previous JoinGroup is parked: the old request is superseded.
    this.answerJoin(member, joinError(member.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    const answer = this.park(member);
    this.scheduleSession(member);
    this.maybePrepareRebalance(req.reason ? `${reason}: ${req.reason}` : reason);
    this.tryCompleteJoin();
    return answer;
  }

  private park(member: ClassicMember): Promise<JoinResult> {
    return new Promise((resolve) => {
      member.awaitingJoin = resolve;
    });
  }

  // ---- SyncGroup ----

  sync(req: SyncRequest): SyncResult | Promise<SyncResult> {
    if (this.state === 'Dead') return syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const problem = this.memberProblem(req.memberId, req.groupInstanceId);
    if (problem) return syncError(problem);
    if (req.generationId !== this.generationId) return syncError(ErrorCode.ILLEGAL_GENERATION);
    if ((req.protocolType !== null && req.protocolType !== this.protocolTypeName) || (req.protocolName !== null && req.protocolName !== this.protocolName)) {
      return syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    const member = this.members.get(req.memberId)!;
    switch (this.state) {
      case 'Empty':
        return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
      case 'PreparingRebalance':
        return syncError(ErrorCode.REBALANCE_IN_PROGRESS);
      case 'CompletingRebalance': {
        this.pendingSync.delete(member.memberId);
        this.answerSync(member, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
        const answer = new Promise<SyncResult>((resolve) => {
          member.awaitingSync = resolve;
        });
        this.scheduleSession(member);
        if (member.memberId === this.leaderId) this.applyAssignments(req.assignments);
        return answer;
      }
      case 'Stable':
        this.pendingSync.delete(member.memberId);
        this.scheduleSession(member);
        return { errorCode: 0, protocolType: this.protocolTypeName, protocolName: this.protocolName, assignment: member.assignment };
    }
  }

  private applyAssignments(assignments: SyncRequest['assignments']): void {
    const given = new Map(assignments.map((a) => [a.memberId, a.assignment]));
    for (const m of this.members.values()) m.assignment = given.get(m.memberId) ?? EMPTY;
    const generation = this.generationId;
    this.host.write(this.partition, [this.metadataRecord()]).then(
      () => {
        if (this.state !== 'CompletingRebalance' || this.generationId !== generation) return;
        this.transition('Stable');
        for (const m of this.members.values()) {
          this.answerSync(m, { errorCode: 0, protocolType: this.protocolTypeName, protocolName: this.protocolName, assignment: m.assignment });
        }
      },
      (err: unknown) => {
        if (this.state !== 'CompletingRebalance' || this.generationId !== generation) return;
        this.host.log('storing the group assignment failed', { group: this.groupId, error: err });
        for (const m of this.members.values()) {
          m.assignment = EMPTY;
          this.answerSync(m, syncError(ErrorCode.UNKNOWN_SERVER_ERROR));
        }
        this.maybePrepareRebalance('storing the group assignment failed');
      },
    );
  }

  // ---- Heartbeat ----

  heartbeat(memberId: string, groupInstanceId: string | null, generationId: number): number {
    if (this.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const problem = this.memberProblem(memberId, groupInstanceId);
    if (problem) return problem;
    if (generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
    const member = this.members.get(memberId)!;
    switch (this.state) {
      case 'Empty':
        return ErrorCode.UNKNOWN_MEMBER_ID;
      case 'PreparingRebalance':
        this.scheduleSession(member);
        return ErrorCode.REBALANCE_IN_PROGRESS;
      default:
        this.scheduleSession(member);
        return 0;
    }
  }

  // ---- LeaveGroup ----

  /** Removes the members; returns a per-member error code, in request order. */
  leave(members: Array<{ memberId: string; groupInstanceId: string | null; reason: string | null }>): number[] {
    const codes: number[] = [];
    const leaving: ClassicMember[] = [];
    for (const who of members) {
      if (this.state === 'Dead') {
        codes.push(ErrorCode.COORDINATOR_NOT_AVAILABLE);
        continue;
      }
      if (who.memberId !== '' && this.pendingMembers.has(who.memberId)) {
        clearTimeout(this.pendingMembers.get(who.memberId));
        this.pendingMembers.delete(who.memberId);
        codes.push(0);
        continue;
      }
      let memberId = who.memberId;
      if (memberId === '' && who.groupInstanceId !== null) memberId = this.staticMembers.get(who.groupInstanceId) ?? '';
      const problem = memberId === '' ? ErrorCode.UNKNOWN_MEMBER_ID : this.memberProblem(memberId, who.groupInstanceId);
      if (problem) {
        codes.push(problem);
        continue;
      }
      const m = this.members.get(memberId)!;
      if (!leaving.includes(m)) leaving.push(m);
      codes.push(0);
    }
    if (leaving.length > 0) {
      for (const m of leaving) this.removeMember(m);
      const reason = members.find((x) => x.reason)?.reason;
      this.afterMembersLeft(`${leaving.length === 1 ? `member ${leaving[0]!.memberId}` : `${leaving.length} members`} left the group${reason ? `: ${reason}` : ''}`);
    }
    return codes;
  }

  // ---- state machine ----

  private memberProblem(memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const known = this.staticMembers.get(groupInstanceId);
      if (known === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (known !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
      return 0;
    }
    return this.members.has(memberId) ? 0 : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  private removeMember(m: ClassicMember): void {
    clearTimeout(m.sessionTimer);
    this.answerJoin(m, joinError(m.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    this.answerSync(m, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    this.members.delete(m.memberId);
    this.pendingSync.delete(m.memberId);
    if (m.groupInstanceId !== null && this.staticMembers.get(m.groupInstanceId) === m.memberId) this.staticMembers.delete(m.groupInstanceId);
    if (this.leaderId === m.memberId) this.leaderId = this.members.keys().next().value ?? null;
  }

  private afterMembersLeft(reason: string): void {
    if (this.state === 'Stable' || this.state === 'CompletingRebalance') this.maybePrepareRebalance(reason);
    else if (this.state === 'PreparingRebalance') this.tryCompleteJoin();
  }

  private expirePending(memberId: string): void {
    if (!this.pendingMembers.delete(memberId)) return;
    if (this.state === 'PreparingRebalance') this.tryCompleteJoin();
  }

  private scheduleSession(m: ClassicMember): void {
    if (m.sessionTimer) {
      m.sessionTimer.refresh();
      return;
    }
    m.sessionTimer = setTimeout(() => this.onSessionExpired(m), m.sessionTimeoutMs);
    m.sessionTimer.unref();
  }

  private onSessionExpired(m: ClassicMember): void {
    if (this.members.get(m.memberId) !== m) return;
    // Members parked in a rebalance count as alive, except new ones (KIP-394).
    if (!m.isNew && (m.awaitingJoin || m.awaitingSync)) {
      m.sessionTimer!.refresh();
      return;
    }
    this.host.log('member session expired', { group: this.groupId, memberId: m.memberId, sessionTimeoutMs: m.sessionTimeoutMs });
    this.removeMember(m);
    this.afterMembersLeft(`member ${m.memberId} did not heartbeat within ${m.sessionTimeoutMs} ms`);
  }

  private maybePrepareRebalance(reason: string): void {
    if (this.state !== 'Stable' && this.state !== 'CompletingRebalance' && this.state !== 'Empty') return;
    if (this.state === 'CompletingRebalance') {
      // The assignment of the generation in progress is void: members waiting for it must rejoin.
      for (const m of this.members.values()) {
        m.assignment = EMPTY;
        this.answerSync(m, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      }
    }
    clearTimeout(this.syncTimer);
    const wasEmpty = this.state === 'Empty';
    this.transition('PreparingRebalance');
    this.host.log('preparing to rebalance', { group: this.groupId, generationId: this.generationId, reason });
    const rebalanceTimeout = this.rebalanceTimeoutMs();
    const delay = this.host.initialRebalanceDelayMs();
    clearTimeout(this.joinTimer);
    if (wasEmpty && delay > 0) {
      const first = Math.min(delay, rebalanceTimeout);
      this.initialDelay = { remainingMs: Math.max(0, rebalanceTimeout - first), newMemberAdded: false };
      this.armJoinTimer(first);
    } else {
      this.initialDelay = undefined;
      this.armJoinTimer(rebalanceTimeout);
    }
    // Everyone may have joined already (or nobody is left, when the last member went).
    this.tryCompleteJoin();
  }

  private armJoinTimer(ms: number): void {
    this.joinTimer = setTimeout(() => this.onJoinTimer(), ms);
    this.joinTimer.unref();
  }

  private onJoinTimer(): void {
    if (this.state !== 'PreparingRebalance') return;
    const d = this.initialDelay;
    if (d && d.newMemberAdded && d.remainingMs > 0) {
      const next = Math.min(this.host.initialRebalanceDelayMs(), d.remainingMs);
      this.initialDelay = { remainingMs: d.remainingMs - next, newMemberAdded: false };
      this.armJoinTimer(next);
      return;
    }
    this.completeJoin();
  }

  private tryCompleteJoin(): void {
    if (this.state !== 'PreparingRebalance' || this.initialDelay) return;
    for (const m of this.members.values()) if (!m.awaitingJoin) return;
    if (this.pendingMembers.size > 0) return;
    this.completeJoin();
  }

  private completeJoin(): void {
    clearTimeout(this.joinTimer);
    this.initialDelay = undefined;
    // Members that did not rejoin in time are out; static ones too (they were given the rebalance timeout).
    for (const m of [...this.members.values()]) {
      if (!m.awaitingJoin) {
        this.host.log('member did not rejoin in time', { group: this.groupId, memberId: m.memberId });
        this.removeMember(m);
      }
    }
    this.generationId++;
    this.pendingSync = new Set();
    if (this.members.size === 0) {
      this.protocolName = null;
      this.leaderId = null;
      this.transition('Empty');
      this.host.write(this.partition, [this.metadataRecord()]).catch((err: unknown) => {
        this.host.log('storing the empty group failed', { group: this.groupId, error: err });
      });
      return;
    }
    this.protocolName = this.selectProtocol();
    if (this.leaderId === null || !this.members.has(this.leaderId)) this.leaderId = this.members.keys().next().value!;
    this.transition('CompletingRebalance');
    this.host.log('rebalance: join complete', { group: this.groupId, generationId: this.generationId, members: this.members.size, protocol: this.protocolName });
    for (const m of this.members.values()) {
      m.isNew = false;
      m.assignment = EMPTY;
      this.pendingSync.add(m.memberId);
      this.answerJoin(m, this.joinAnswer(m));
      this.scheduleSession(m);
    }
    const generation = this.generationId;
    clearTimeout(this.syncTimer);
    this.syncTimer = setTimeout(() => this.onSyncTimeout(generation), this.rebalanceTimeoutMs());
    this.syncTimer.unref();
  }

  /** Members that joined but never synced within the rebalance timeout are removed. */
  private onSyncTimeout(generation: number): void {
    if (this.generationId !== generation || (this.state !== 'CompletingRebalance' && this.state !== 'Stable')) return;
    const late = [...this.pendingSync].map((id) => this.members.get(id)).filter((m): m is ClassicMember => m !== undefined);
    if (late.length === 0) return;
    for (const m of late) this.removeMember(m);
    this.afterMembersLeft(`${late.length} member(s) did not sync within the rebalance timeout`);
  }

  private joinAnswer(m: ClassicMember): JoinResult {
    const isLeader = m.memberId === this.leaderId;
    return {
      errorCode: 0,
      generationId: this.generationId,
      protocolType: this.protocolTypeName,
      protocolName: this.protocolName,
      leader: this.leaderId ?? '',
      skipAssignment: false,
      memberId: m.memberId,
      members: isLeader ? this.joinMembers() : [],
    };
  }

  private joinMembers(): JoinResult['members'] {
    return [...this.members.values()].map((x) => ({ memberId: x.memberId, groupInstanceId: x.groupInstanceId, metadata: this.metadataOf(x) ?? EMPTY }));
  }

  private answerJoin(m: ClassicMember, r: JoinResult): void {
    const resolve = m.awaitingJoin;
    if (!resolve) return;
    m.awaitingJoin = undefined;
    resolve(r);
  }

  private answerSync(m: ClassicMember, r: SyncResult): void {
    const resolve = m.awaitingSync;
    if (!resolve) return;
    m.awaitingSync = undefined;
    resolve(r);
  }

  private transition(s: ClassicState): void {
    this.state = s;
    this.stateTime = this.host.now();
  }

  private rebalanceTimeoutMs(): number {
    let t = 0;
    for (const m of this.members.values()) t = Math.max(t, m.rebalanceTimeoutMs);
    return t;
  }

  private metadataOf(m: ClassicMember): Buffer | undefined {
    return m.protocols.find((p) => p.name === this.protocolName)?.metadata;
  }

  private sameProtocols(m: ClassicMember, protocols: Protocol[]): boolean {
    if (m.protocols.length !== protocols.length) return false;
    return m.protocols.every((p, i) => p.name === protocols[i]!.name && p.metadata.equals(protocols[i]!.metadata));
  }

  /** Kafka's rule: an empty group takes any protocol type; a live one needs the same type and a protocol all members support. */
  private supportsProtocols(protocolType: string, protocols: Protocol[]): boolean {
    if (protocolType === '' || protocols.length === 0) return false;
    if (this.state === 'Empty' || this.members.size === 0) return true;
    if (protocolType !== this.protocolTypeName) return false;
    const names = new Set(protocols.map((p) => p.name));
    for (const candidate of this.candidateProtocols()) if (names.has(candidate)) return true;
    return false;
  }

  /** Protocols every member supports. */
  private candidateProtocols(): string[] {
    const counts = new Map<string, number>();
    for (const m of this.members.values()) for (const p of new Set(m.protocols.map((x) => x.name))) counts.set(p, (counts.get(p) ?? 0) + 1);
    return [...counts].filter(([, n]) => n === this.members.size).map(([name]) => name);
  }

  /** Each member votes for its most preferred candidate; the most votes wins. */
  private selectProtocol(): string {
    const candidates = new Set(this.candidateProtocols());
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const choice = m.protocols.find((p) => candidates.has(p.name))?.name;
      if (choice !== undefined) votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    let best = '';
    let most = -1;
    for (const [name, n] of votes) if (n > most) [best, most] = [name, n];
    return best;
  }

  // ---- persistence ----

  /** The group as Kafka stores it (GroupMetadataValue v3: with static instance ids). */
  metadataRecord(): CoordinatorRecord {
    const stable = this.state === 'Stable' || this.state === 'CompletingRebalance';
    return encodeRecord(GroupMetadataKey, { group: this.groupId }, GroupMetadataValue, 3, {
      protocolType: this.protocolTypeName ?? '',
      generation: this.generationId,
      protocol: this.protocolName,
      leader: this.leaderId,
      currentStateTimestamp: BigInt(this.stateTime),
      members: stable
        ? [...this.members.values()].map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            clientId: m.clientId,
            clientHost: m.clientHost,
            rebalanceTimeout: m.rebalanceTimeoutMs,
            sessionTimeout: m.sessionTimeoutMs,
            subscription: this.metadataOf(m) ?? EMPTY,
            assignment: m.assignment,
          }))
        : [],
    });
  }

  /** Rebuilds the group from its stored record (start-up). Members get a fresh session timeout. */
  static fromRecord(groupId: string, partition: number, host: ClassicGroupHost, v: GroupMetadataValue): ClassicGroup {
    const g = new ClassicGroup(groupId, partition, host);
    g.generationId = v.generation;
    g.protocolTypeName = v.protocolType;
    g.protocolName = v.protocol;
    g.leaderId = v.leader;
    for (const m of v.members) {
      const member: ClassicMember = {
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        sessionTimeoutMs: m.sessionTimeout,
        rebalanceTimeoutMs: m.rebalanceTimeout >= 0 ? m.rebalanceTimeout : m.sessionTimeout,
        protocolType: v.protocolType,
        protocols: [{ name: v.protocol ?? '', metadata: m.subscription }],
        assignment: m.assignment,
        isNew: false,
      };
      g.members.set(m.memberId, member);
      if (m.groupInstanceId !== null) g.staticMembers.set(m.groupInstanceId, m.memberId);
    }
    g.state = g.members.size > 0 ? 'Stable' : 'Empty';
    g.stateTime = v.currentStateTimestamp >= 0n ? Number(v.currentStateTimestamp) : host.now();
    return g;
  }

  /** Starts the session timers of loaded members (after the whole log is replayed). */
  startTimers(): void {
    for (const m of this.members.values()) this.scheduleSession(m);
  }
}

/** The topics in a consumer's JoinGroup metadata (ConsumerProtocolSubscription), or undefined if unreadable. */
export function subscribedTopics(metadata: Buffer): string[] | undefined {
  try {
    if (metadata.length < 2) return undefined;
    const version = metadata.readInt16BE(0);
    const v = Math.min(Math.max(version, ConsumerProtocolSubscription.minVersion), ConsumerProtocolSubscription.maxVersion);
    return ConsumerProtocolSubscription.decode(new Reader(metadata, 2), v).topics;
  } catch {
    return undefined;
  }
}
