/**
 * A member of a classic consumer group (JoinGroup/SyncGroup/Heartbeat/LeaveGroup) and the group's
 * offsets (OffsetCommit/OffsetFetch), all sent to the group coordinator found with FindCoordinator.
 *
 * - Join: a new dynamic member first gets MEMBER_ID_REQUIRED with its id and joins again (KIP-394);
 *   static members send group.instance.id (KIP-345) and do not leave on close, as in Kafka.
 * - The leader runs the assignor the coordinator chose over every member's subscription
 *   (ConsumerProtocolSubscription v3) and sends ConsumerProtocolAssignment v3 for each.
 * - The rebalance protocol is cooperative when every configured assignor is (as Java decides):
 *   then only partitions taken away are revoked, and the member rejoins at once so that they can
 *   move; otherwise (eager) everything is revoked before joining.
 * - Heartbeats run on their own timer, independent of fetching and of the application's
 *   processing, so a slow handler never costs the membership (KafkaJS's heartbeats ran only
 *   between batches). Their result only flags a rejoin; the consumer's loop performs it.
 */
import { ErrorCode, Reader, Writer, type MessageInput } from '@fjord/protocol/core';
import { ConsumerProtocolAssignment } from '@fjord/protocol/generated/data/consumer-protocol-assignment.js';
import { ConsumerProtocolSubscription } from '@fjord/protocol/generated/data/consumer-protocol-subscription.js';
import { FindCoordinatorRequest } from '@fjord/protocol/generated/find-coordinator.js';
import { JoinGroupResponse } from '@fjord/protocol/generated/join-group.js';
import type { Cluster } from '../cluster.js';
import type { Api } from '../connection/connection.js';
import { backoffMs } from '../connection/backoff.js';
import { ClosedError, KafkaError, TimeoutError, isRetriable, kafkaError } from '../errors.js';
import { isRawAssignor, type Assignment, type AssignorMember, type RawAssignor } from './assignors.js';
import type { ResolvedConsumerConfig } from './config.js';
import { findCoordinatorApi, heartbeatApi, joinGroupApi, leaveGroupApi, offsetCommitApi, offsetFetchApi, syncGroupApi } from '../apis.js';

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface TopicPartitionOffset extends TopicPartition {
  offset: bigint;
  /** Stored with the offset (OffsetCommit's committed metadata). */
  metadata?: string | null;
}

export const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/** What the group needs from the consumer it serves. */
export interface GroupHost {
  subscription(): string[];
  owned(): TopicPartition[];
  partitionCounts(topics: readonly string[]): Promise<Map<string, number>>;
  /** Partitions taken away (eager: all owned, before joining). */
  revoke(partitions: TopicPartition[]): Promise<void>;
  /** Partitions lost without a chance to commit (the member was dropped). */
  lose(partitions: TopicPartition[]): Promise<void>;
  assign(partitions: TopicPartition[]): Promise<void>;
  /** The heartbeat found that a rejoin is needed: wake the loop. */
  wake(): void;
}

const subscriptionVersion = 3;
const assignmentVersion = 3;

/** Coordinator errors after which the coordinator must be looked up again. */
const rejoinCodes = new Set<number>([ErrorCode.REBALANCE_IN_PROGRESS, ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.ILLEGAL_GENERATION]);

const coordinatorMoved = new Set<number>([ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE]);

export class ClassicGroup {
  memberId = '';
  generationId = -1;
  protocolName: string | null = null;
  protected coordinator: number | undefined;
  private finding: Promise<number> | undefined;
  rejoinNeeded = true;
  private joining = false;
  /** Partition counts of the subscribed topics when the member last joined (classic protocol). */
  private joinedCounts: Map<string, number> | undefined;
  protected heartbeatTimer: NodeJS.Timeout | undefined;
  protected lastHeartbeatOkMs = 0;
  protected closed = false;
  /** An error the application must see (fenced static member, unknown protocol). */
  fatal: Error | undefined;
  readonly rebalanceProtocol: 'eager' | 'cooperative';

  constructor(
    protected readonly cluster: Cluster,
    protected readonly config: ResolvedConsumerConfig,
    readonly groupId: string,
    protected readonly host: GroupHost,
  ) {
    this.rebalanceProtocol = config.assignors.every((a) => a.rebalanceProtocol === 'cooperative') ? 'cooperative' : 'eager';
  }

  protected log(level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>): void {
    this.config.client.logger({ level, message, fields: { component: 'consumer-group', groupId: this.groupId, memberId: this.memberId, generationId: this.generationId, ...fields } });
  }

  get stable(): boolean {
    return !this.rejoinNeeded && !this.joining && this.generationId >= 0;
  }

  // ------------------------------------------------------------------------------------------
  // Coordinator

  coordinatorId(): Promise<number> {
    if (this.coordinator !== undefined) return Promise.resolve(this.coordinator);
    this.finding ??= this.findCoordinator().finally(() => (this.finding = undefined));
    return this.finding;
  }

  private async findCoordinator(): Promise<number> {
    const conn = await this.cluster.anyConnection();
    // v4+ (KIP-699) batches keys; earlier versions take one key. Fields a version lacks stay unset.
    const batched = conn.versionOf(FindCoordinatorRequest.apiKey) >= 4;
    const res = await conn.send(findCoordinatorApi, batched ? { keyType: 0, coordinatorKeys: [this.groupId] } : { key: this.groupId, keyType: 0 });
    const c = res.coordinators.length > 0 ? res.coordinators[0]! : { errorCode: res.errorCode, errorMessage: res.errorMessage, nodeId: res.nodeId };
    if (c.errorCode !== ErrorCode.NONE) throw kafkaError(c.errorCode, `FindCoordinator for group ${JSON.stringify(this.groupId)}`, c.errorMessage);
    this.coordinator = c.nodeId;
    this.log('debug', 'coordinator', { nodeId: c.nodeId });
    return c.nodeId;
  }

  /** Sends to the coordinator; a lost connection or a moved coordinator forgets it (the caller retries). */
  protected async send<Req, Res>(api: Api<Req, Res>, body: MessageInput<Req> | ((version: number) => MessageInput<Req>), timeoutMs?: number): Promise<Res> {
    const nodeId = await this.coordinatorId();
    try {
      const conn = await this.cluster.connectionTo(nodeId, 'coordinator');
      const input = typeof body === 'function' ? (body as (version: number) => MessageInput<Req>)(conn.versionOf(api.request.apiKey)) : body;
      return await conn.send(api, input, timeoutMs === undefined ? undefined : { timeoutMs });
    } catch (e) {
      if (this.coordinator === nodeId) this.coordinator = undefined;
      throw e;
    }
  }

  protected noteError(code: number): void {
    if (coordinatorMoved.has(code)) this.coordinator = undefined;
  }

  /** Runs `op` until it succeeds, fails with a non-retriable error, or `timeoutMs` passes. */
  async retrying<T>(what: string, timeoutMs: number, op: () => Promise<T>): Promise<T> {
    const c = this.config.client;
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await op();
      } catch (e) {
        if (this.closed && !(e instanceof KafkaError)) throw e instanceof ClosedError ? e : new ClosedError('consumer');
        if (!isRetriable(e)) throw e;
        if (Date.now() >= deadline) throw new TimeoutError(what, timeoutMs, { cause: e });
        this.log('debug', 'retrying', { what, attempt, error: (e as Error).message });
        await this.cluster.sleep(Math.min(Math.max(0, deadline - Date.now()), backoffMs(attempt, { initialMs: c.retryBackoffMs, maxMs: c.retryBackoffMaxMs, jitterRatio: c.backoffJitterRatio, random: c.random })));
      }
    }
  }

  // ------------------------------------------------------------------------------------------
  // Membership

  /** Joins (or rejoins) when needed; resolves once the member has a stable assignment. */
  async ensureActive(): Promise<void> {
    while (this.rejoinNeeded && !this.closed) {
      if (this.fatal) throw this.fatal;
      this.joining = true;
      try {
        if (this.rebalanceProtocol === 'eager') {
          const owned = this.host.owned();
          if (owned.length > 0) await this.host.revoke(owned);
        }
        this.rejoinNeeded = false;
        await this.joinAndSync();
      } catch (e) {
        this.rejoinNeeded = true;
        // REBALANCE_IN_PROGRESS, UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION are expected during rebalances: join again.
        if ((!isRetriable(e) && !rejoinCodes.has((e as { code?: number }).code ?? 0)) || this.closed || this.fatal) throw e;
        this.log('info', 'rejoin failed, retrying', { error: (e as Error).message });
        await this.cluster.sleep(this.config.client.retryBackoffMs);
      } finally {
        this.joining = false;
      }
    }
    this.startHeartbeats();
  }

  private metadataBytes(): Buffer {
    // Owned partitions and the generation matter only to cooperative assignors. Eager members send
    // neither, so a static member that restarts sends the same bytes and the coordinator can keep
    // the group stable (it compares the protocols it stored with the ones sent).
    const cooperative = this.rebalanceProtocol === 'cooperative';
    const owned = cooperative ? this.host.owned() : [];
    const byTopic = new Map<string, number[]>();
    for (const p of owned) (byTopic.get(p.topic) ?? byTopic.set(p.topic, []).get(p.topic)!).push(p.partition);
    return encodeSubscription(
      {
        topics: this.host.subscription(),
        userData: null,
        ownedPartitions: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
        generationId: cooperative ? this.generationId : -1,
        rackId: null,
      },
      subscriptionVersion,
    );
  }

  private async joinAndSync(): Promise<void> {
    const c = this.config;
    const metadata = this.metadataBytes();
    const joinTimeoutMs = c.maxPollIntervalMs + 5_000;
    let res: JoinGroupResponse;
    for (;;) {
      res = await this.send(joinGroupApi, {
        groupId: this.groupId,
        sessionTimeoutMs: c.sessionTimeoutMs,
        rebalanceTimeoutMs: c.maxPollIntervalMs,
        memberId: this.memberId,
        groupInstanceId: c.groupInstanceId,
        protocolType: 'consumer',
        protocols: c.assignors.map((a) => ({ name: a.name, metadata: isRawAssignor(a) ? a.metadata(this.host.subscription()) : metadata })),
        reason: null,
      }, joinTimeoutMs);
      if (res.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
        this.memberId = res.memberId;
        continue;
      }
      break;
    }
    if (res.errorCode !== ErrorCode.NONE) return this.joinFailed(res.errorCode, 'JoinGroup');
    this.memberId = res.memberId;
    this.generationId = res.generationId;
    this.protocolName = res.protocolName;
    const leader = res.leader === res.memberId;
    this.log('info', 'joined', { leader, protocol: res.protocolName, members: res.members.length });
    let assignments: Array<{ memberId: string; assignment: Buffer }> = [];
    if (leader && !res.skipAssignment) assignments = await this.runAssignor(res);
    const sync = await this.send(syncGroupApi, {
      groupId: this.groupId,
      generationId: this.generationId,
      memberId: this.memberId,
      groupInstanceId: c.groupInstanceId,
      protocolType: 'consumer',
      protocolName: this.protocolName,
      assignments,
    }, joinTimeoutMs);
    if (sync.errorCode !== ErrorCode.NONE) return this.joinFailed(sync.errorCode, 'SyncGroup');
    let assigned = decodeAssignment(sync.assignment);
    const subscribed = new Set(this.host.subscription());
    const assignedTopics = [...new Set(assigned.map((p) => p.topic))];
    const notSubscribed = assignedTopics.filter((t) => !subscribed.has(t));
    if (notSubscribed.length > 0) {
      // A leader whose assignor ignores subscriptions (KafkaJS's round robin does): those partitions are left alone.
      this.log('warn', 'received unsubscribed topics', { assignedTopics, topicsSubscribed: [...subscribed], topicsNotSubscribed: notSubscribed });
      assigned = assigned.filter((p) => subscribed.has(p.topic));
    }
    this.joinedCounts = await this.host.partitionCounts(this.host.subscription());
    const owned = this.host.owned();
    const now = new Set(assigned.map((p) => tpKey(p.topic, p.partition)));
    const had = new Set(owned.map((p) => tpKey(p.topic, p.partition)));
    const revoked = owned.filter((p) => !now.has(tpKey(p.topic, p.partition)));
    const added = assigned.filter((p) => !had.has(tpKey(p.topic, p.partition)));
    this.lastHeartbeatOkMs = Date.now();
    if (revoked.length > 0) {
      await this.host.revoke(revoked);
      // Cooperative: what was given up can now move; rejoin so that the leader hands it over.
      if (this.rebalanceProtocol === 'cooperative') this.rejoinNeeded = true;
    }
    await this.host.assign(added);
    this.log('info', 'assigned', { partitions: assigned.map((p) => `${p.topic}-${p.partition}`).join(','), added: added.length, revoked: revoked.length });
  }

  /**
   * Whether a subscribed topic's partition count differs from what it was at the last join (a topic
   * created or grown since): then the member rejoins so that the new partitions get assigned, as
   * Java's ConsumerCoordinator does when its metadata snapshot changes.
   */
  checkMetadata(counts: (topic: string) => number): void {
    const joined = this.joinedCounts;
    if (!joined || !this.stable) return;
    for (const t of this.host.subscription()) {
      const now = counts(t);
      if (now !== (joined.get(t) ?? 0)) {
        this.log('info', 'subscribed topic changed, rejoining', { topic: t, partitions: now, before: joined.get(t) ?? 0 });
        this.rejoinNeeded = true;
        return;
      }
    }
  }

  private async joinFailed(code: number, api: string): Promise<never> {
    this.noteError(code);
    if (code === ErrorCode.UNKNOWN_MEMBER_ID) this.memberId = '';
    if (code === ErrorCode.UNKNOWN_MEMBER_ID || code === ErrorCode.ILLEGAL_GENERATION) {
      this.generationId = -1;
      const owned = this.host.owned();
      if (owned.length > 0) await this.host.lose(owned);
    }
    const e = kafkaError(code, `${api} in group ${JSON.stringify(this.groupId)}`);
    if (code === ErrorCode.FENCED_INSTANCE_ID || code === ErrorCode.INCONSISTENT_GROUP_PROTOCOL || code === ErrorCode.GROUP_MAX_SIZE_REACHED || code === ErrorCode.GROUP_AUTHORIZATION_FAILED) {
      this.fatal = e;
    }
    throw e;
  }

  private async runAssignor(res: JoinGroupResponse): Promise<Array<{ memberId: string; assignment: Buffer }>> {
    const assignor = this.config.assignors.find((a) => a.name === res.protocolName);
    if (!assignor) throw kafkaError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, `the coordinator chose assignor ${JSON.stringify(res.protocolName)}, which this consumer does not have`);
    if (isRawAssignor(assignor)) return this.runRawAssignor(assignor, res);
    const members: AssignorMember[] = res.members.map((m) => {
      const s = decodeSubscription(m.metadata);
      return { memberId: m.memberId, groupInstanceId: m.groupInstanceId, topics: s.topics, owned: s.owned, generation: s.generation };
    });
    const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
    const counts = await this.host.partitionCounts(topics);
    const result: Assignment = assignor.assign(members, counts);
    return members.map((m) => {
      const mine = result.get(m.memberId) ?? new Map<string, number[]>();
      return { memberId: m.memberId, assignment: encodeAssignment({ assignedPartitions: [...mine].map(([topic, partitions]) => ({ topic, partitions })), userData: null }, assignmentVersion) };
    });
  }

  private async runRawAssignor(assignor: RawAssignor, res: JoinGroupResponse): Promise<Array<{ memberId: string; assignment: Buffer }>> {
    const members = res.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadata }));
    const out = await assignor.assign(members, this.host.subscription());
    // Sent as given: the coordinator ignores member ids it does not know.
    if (!Array.isArray(out) || out.some((a) => typeof a?.memberId !== 'string' || !Buffer.isBuffer(a.assignment))) {
      throw new TypeError(`assignor ${JSON.stringify(assignor.name)} must return [{ memberId, assignment: Buffer }]`);
    }
    return out.map((a) => ({ memberId: a.memberId, assignment: a.assignment }));
  }

  protected startHeartbeats(): void {
    if (this.heartbeatTimer || this.closed) return;
    const tick = (): void => {
      this.heartbeatTimer = setTimeout(() => {
        this.heartbeat().finally(() => {
          if (!this.closed) tick();
        });
      }, this.config.heartbeatIntervalMs);
      this.heartbeatTimer.unref?.();
    };
    tick();
  }

  private async heartbeat(): Promise<void> {
    if (!this.stable || this.closed) return;
    let code: number;
    try {
      const res = await this.send(heartbeatApi, { groupId: this.groupId, generationId: this.generationId, memberId: this.memberId, groupInstanceId: this.config.groupInstanceId });
      code = res.errorCode;
    } catch (e) {
      this.log('debug', 'heartbeat failed', { error: (e as Error).message });
      if (Date.now() - this.lastHeartbeatOkMs > this.config.sessionTimeoutMs) this.markLost('no heartbeat answered within sessionTimeoutMs');
      return;
    }
    if (code === ErrorCode.NONE) {
      this.lastHeartbeatOkMs = Date.now();
      this.log('debug', 'heartbeat');
      return;
    }
    this.noteError(code);
    if (!this.stable) return; // a rejoin started meanwhile; this answer is about the old generation
    if (code === ErrorCode.REBALANCE_IN_PROGRESS) {
      this.log('info', 'rebalance in progress');
      this.rejoinNeeded = true;
      this.host.wake();
    } else if (code === ErrorCode.ILLEGAL_GENERATION || code === ErrorCode.UNKNOWN_MEMBER_ID) {
      if (code === ErrorCode.UNKNOWN_MEMBER_ID) this.memberId = '';
      this.markLost(new KafkaError(code).name);
    } else if (code === ErrorCode.FENCED_INSTANCE_ID) {
      this.fatal = kafkaError(code, `static member ${JSON.stringify(this.config.groupInstanceId)} of group ${JSON.stringify(this.groupId)}`);
      this.host.wake();
    }
  }

  /** The member was dropped: its partitions are lost (no commit), and it joins again. */
  protected markLost(reason: string): void {
    this.log('warn', 'partitions lost', { reason });
    this.generationId = -1;
    this.rejoinNeeded = true;
    const owned = this.host.owned();
    if (owned.length > 0) this.host.lose(owned).catch(() => {});
    this.host.wake();
  }

  /** Leaves the group (dynamic members only: a static member keeps its place until its session ends, as in Kafka). */
  async leave(): Promise<void> {
    this.closed = true;
    clearTimeout(this.heartbeatTimer);
    if (this.config.groupInstanceId !== null || this.memberId === '') return;
    try {
      const memberId = this.memberId;
      const res = await this.send(leaveGroupApi, (v) => (v >= 3 ? { groupId: this.groupId, members: [{ memberId, groupInstanceId: null, reason: 'the consumer is being closed' }] } : { groupId: this.groupId, memberId }), 5_000);
      if (res.errorCode !== ErrorCode.NONE) this.log('warn', 'LeaveGroup failed', { error: new KafkaError(res.errorCode).name });
    } catch (e) {
      this.log('warn', 'LeaveGroup failed', { error: (e as Error).message });
    }
    this.memberId = '';
    this.generationId = -1;
  }

  stop(): void {
    this.closed = true;
    clearTimeout(this.heartbeatTimer);
  }

  // ------------------------------------------------------------------------------------------
  // Offsets

  /** Commits offsets with this member's generation (or as a non-member, generation -1, when not in the group). */
  async commit(offsets: readonly TopicPartitionOffset[], timeoutMs: number, topicIds: (topic: string) => string | undefined): Promise<void> {
    if (offsets.length === 0) return;
    const byTopic = new Map<string, TopicPartitionOffset[]>();
    for (const o of offsets) (byTopic.get(o.topic) ?? byTopic.set(o.topic, []).get(o.topic)!).push(o);
    await this.retrying(`OffsetCommit for group ${JSON.stringify(this.groupId)}`, timeoutMs, async () => {
      const member = this.generationId >= 0;
      const res = await this.send(offsetCommitApi, {
        groupId: this.groupId,
        generationIdOrMemberEpoch: member ? this.generationId : -1,
        memberId: member ? this.memberId : '',
        groupInstanceId: member ? this.config.groupInstanceId : null,
        retentionTimeMs: -1n,
        topics: [...byTopic].map(([name, list]) => ({
          name,
          topicId: topicIds(name),
          partitions: list.map((o) => ({ partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: o.metadata ?? null })),
        })),
      });
      const failed: Array<{ what: string; code: number }> = [];
      for (const t of res.topics) for (const p of t.partitions) if (p.errorCode !== ErrorCode.NONE) failed.push({ what: `${t.name || t.topicId}-${p.partitionIndex}`, code: p.errorCode });
      if (failed.length === 0) return;
      for (const f of failed) this.noteError(f.code);
      const first = failed[0]!;
      if (first.code === ErrorCode.REBALANCE_IN_PROGRESS || first.code === ErrorCode.ILLEGAL_GENERATION || first.code === ErrorCode.UNKNOWN_MEMBER_ID) {
        this.rejoinNeeded = true;
        this.host.wake();
      }
      throw kafkaError(first.code, `OffsetCommit ${failed.map((f) => f.what).join(', ')} in group ${JSON.stringify(this.groupId)}`);
    });
  }

  /** Committed offsets (-1n where none), waiting out UNSTABLE_OFFSET_COMMIT (read_committed asks for stable offsets). */
  async committed(partitions: readonly TopicPartition[], timeoutMs: number, requireStable: boolean, topicIds: (topic: string) => string | undefined): Promise<Map<string, bigint>> {
    const out = new Map<string, bigint>();
    if (partitions.length === 0) return out;
    const byTopic = new Map<string, number[]>();
    for (const p of partitions) (byTopic.get(p.topic) ?? byTopic.set(p.topic, []).get(p.topic)!).push(p.partition);
    const nameOf = new Map<string, string>();
    for (const t of byTopic.keys()) {
      const id = topicIds(t);
      if (id) nameOf.set(id, t);
    }
    return this.retrying(`OffsetFetch for group ${JSON.stringify(this.groupId)}`, timeoutMs, async () => {
      const topics = [...byTopic].map(([name, partitionIndexes]) => ({ name, topicId: topicIds(name), partitionIndexes }));
      // v8+ (KIP-709) asks per group; earlier versions for one group at the top level.
      const res = await this.send(offsetFetchApi, (v) =>
        v >= 8 ? { groups: [{ groupId: this.groupId, memberId: null, memberEpoch: -1, topics }], requireStable } : { groupId: this.groupId, topics, requireStable },
      );
      const group = res.groups.length > 0 ? res.groups[0]! : { errorCode: res.errorCode, topics: res.topics };
      if (group.errorCode !== ErrorCode.NONE) {
        this.noteError(group.errorCode);
        throw kafkaError(group.errorCode, `OffsetFetch for group ${JSON.stringify(this.groupId)}`);
      }
      for (const t of group.topics as Array<{ name: string; topicId?: string; partitions: Array<{ partitionIndex: number; committedOffset: bigint; errorCode: number }> }>) {
        const name = t.name || nameOf.get(t.topicId ?? '') || t.name;
        for (const p of t.partitions) {
          if (p.errorCode !== ErrorCode.NONE) {
            this.noteError(p.errorCode);
            throw kafkaError(p.errorCode, `OffsetFetch ${name}-${p.partitionIndex} in group ${JSON.stringify(this.groupId)}`);
          }
          out.set(tpKey(name, p.partitionIndex), p.committedOffset);
        }
      }
      return out;
    });
  }
}

/** A member's subscription, behind its 2-byte version (JoinGroup's protocol metadata of a consumer group). */
export function encodeSubscription(s: ConsumerProtocolSubscription, version: number): Buffer {
  const w = new Writer(256);
  w.writeInt16(version);
  ConsumerProtocolSubscription.encode(w, s, version);
  return w.toBuffer();
}

/** A member's assignment, behind its 2-byte version (SyncGroup's assignment of a consumer group). */
export function encodeAssignment(a: ConsumerProtocolAssignment, version: number): Buffer {
  const w = new Writer(256);
  w.writeInt16(version);
  ConsumerProtocolAssignment.encode(w, a, version);
  return w.toBuffer();
}

/**
 * A member's subscription bytes: the version they carry and their fields (read at that version, or
 * at `bodyVersion` when given; versions above the latest are read as the latest, as Kafka does, and
 * fields they add are left out).
 */
export function readSubscription(buf: Buffer, bodyVersion?: number): { version: number; subscription: ConsumerProtocolSubscription } {
  const r = new Reader(buf, 0);
  const version = r.readInt16();
  return { version, subscription: ConsumerProtocolSubscription.decode(r, Math.max(0, Math.min(bodyVersion ?? version, ConsumerProtocolSubscription.maxVersion))) };
}

/** A member's assignment bytes, read as readSubscription reads a subscription. */
export function readAssignment(buf: Buffer): { version: number; assignment: ConsumerProtocolAssignment } {
  const r = new Reader(buf, 0);
  const version = r.readInt16();
  return { version, assignment: ConsumerProtocolAssignment.decode(r, Math.max(0, Math.min(version, ConsumerProtocolAssignment.maxVersion))) };
}

/** A member's subscription (any version 0-3; versions above 3 are read as 3, as Kafka does). */
export function decodeSubscription(buf: Buffer): { topics: string[]; owned: TopicPartition[]; generation: number } {
  const { version, subscription: s } = readSubscription(buf);
  const owned = version >= 1 ? s.ownedPartitions.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition }))) : [];
  return { topics: s.topics, owned, generation: version >= 2 ? s.generationId : -1 };
}

export function decodeAssignment(buf: Buffer): TopicPartition[] {
  if (buf.length === 0) return [];
  return readAssignment(buf).assignment.assignedPartitions.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })));
}
