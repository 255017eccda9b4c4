/**
 * The group coordinator: every group whose partition of __consumer_offsets this broker leads (on
 * one node: all of them), their committed offsets, and the records that make both durable.
 *
 * State lives in memory and is rebuilt at start-up by replaying __consumer_offsets. Changes are
 * appended to the group's partition and answered once durable; offsets become visible to
 * OffsetFetch when their record is durable (Kafka applies a commit when its write completes).
 */
import {
  ErrorCode,
  GroupMetadataValue,
  OffsetCommitKey,
  OffsetCommitValue,
} from '@fjord/protocol';
import type { BrokerConfig } from '../config/broker-configs.js';
import type { Clock } from '../broker-context.js';
import type { Logger } from '../logger.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import type { ReplicaManager } from '../partition/replica-manager.js';
import type { TopicManager } from '../topics/topic-manager.js';
import { ClassicGroup, type ClassicGroupHost, type JoinRequest, type JoinResult, type SyncRequest, type SyncResult } from './classic-group.js';
import { groupIdProblem, type Group, type OffsetRequester } from './group.js';
import { CoordinatorWriteError, InternalTopic, offsetsTopicSpec } from './internal-topic.js';
import { decodeRecord, encodeRecord, RecordType, type CoordinatorRecord } from './records.js';
import { ConsumerGroups } from './consumer-groups.js';
import { ShareGroups } from './share-groups.js';

export interface CommittedOffset {
  offset: bigint;
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: bigint;
  /** Explicit expiry (OffsetCommit v2-4 retention time), -1n when none. */
  expireTimestamp: bigint;
}

export interface OffsetToCommit {
  topic: string;
  partition: number;
  offset: bigint;
  leaderEpoch: number;
  metadata: string | null;
}

export interface GroupCoordinatorDeps {
  config: BrokerConfig;
  topics: TopicManager;
  replicas: ReplicaManager;
  metadata: MetadataStore;
  clock: Clock;
  logger: Logger;
}

export class GroupCoordinator {
  readonly offsetsTopic: InternalTopic;
  readonly groups = new Map<string, Group>();
  /** group -> topic -> partition -> offset */
  private readonly offsets = new Map<string, Map<string, Map<number, CommittedOffset>>>();
  readonly consumer: ConsumerGroups;
  readonly share: ShareGroups;
  private retentionTimer?: NodeJS.Timeout;
  private readonly classicHost: ClassicGroupHost;

  constructor(readonly deps: GroupCoordinatorDeps) {
    this.offsetsTopic = new InternalTopic(offsetsTopicSpec, deps);
    const cfg = deps.config;
    this.classicHost = {
      now: () => deps.clock.now(),
      write: (partition, records) => this.write(partition, records),
      initialRebalanceDelayMs: () => cfg.getInt('group.initial.rebalance.delay.ms'),
      maxSize: () => cfg.getInt('group.max.size'),
      log: (msg, fields) => deps.logger.info(msg, fields),
    };
    this.consumer = new ConsumerGroups(this);
    this.share = new ShareGroups(this);
  }

  // ---- lifecycle ----

  /** Replays __consumer_offsets (if it exists) into memory, then starts timers. */
  async load(): Promise<{ records: number; groups: number; offsets: number; ms: number }> {
    const started = this.deps.clock.now();
    let records = 0;
    let skipped = 0;
    for await (const chunk of this.offsetsTopic.readAll()) {
      for (const r of chunk) {
        records++;
        let d;
        try {
          d = decodeRecord(r.key, r.value);
        } catch (err) {
          skipped++;
          if (skipped <= 5) this.deps.logger.warn('skipping an unreadable __consumer_offsets record', { partition: r.partition, offset: r.offset, error: err });
          continue;
        }
        if (d === undefined) continue;
        this.replay(r.partition, d.recordType, d.key, d.value);
      }
    }
    for (const g of this.groups.values()) if (g instanceof ClassicGroup) g.startTimers();
    this.consumer.afterLoad();
    this.share.afterLoad();
    let offsets = 0;
    for (const byTopic of this.offsets.values()) for (const parts of byTopic.values()) offsets += parts.size;
    const interval = this.deps.config.getInt('offsets.retention.check.interval.ms');
    this.retentionTimer = setInterval(() => void this.expireOffsets(), interval);
    this.retentionTimer.unref();
    return { records, groups: this.groups.size, offsets, ms: this.deps.clock.now() - started };
  }

  shutdown(): void {
    this.share.shutdown();
    clearInterval(this.retentionTimer);
    for (const g of this.groups.values()) g.close(ErrorCode.NOT_COORDINATOR);
    this.groups.clear();
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private replay(partition: number, recordType: number, key: any, value: any): void {
    switch (recordType) {
      case 0:
      case RecordType.OFFSET_COMMIT: {
        const { group, topic } = key as { group: string; topic: string; partition: number };
        if (value === null) {
          this.deleteOffset(group, topic, key.partition);
          return;
        }
        const v = value as OffsetCommitValue;
        this.setOffset(group, topic, key.partition, {
          offset: v.offset,
          leaderEpoch: v.leaderEpoch ?? -1,
          metadata: v.metadata,
          commitTimestamp: v.commitTimestamp,
          expireTimestamp: v.expireTimestamp ?? -1n,
        });
        // Offsets without a group belong to a "simple" empty classic group, as in Kafka.
        if (!this.groups.has(group)) this.groups.set(group, new ClassicGroup(group, partition, this.classicHost));
        return;
      }
      case RecordType.GROUP_METADATA: {
        const groupId = (key as { group: string }).group;
        if (value === null) {
          this.groups.delete(groupId);
          return;
        }
        this.groups.set(groupId, ClassicGroup.fromRecord(groupId, partition, this.classicHost, value as GroupMetadataValue));
        return;
      }
      default:
        if (!this.share.replay(partition, recordType, key, value)) this.consumer.replay(partition, recordType, key, value);
    }
  }

  // ---- shared plumbing ----

  now(): number {
    return this.deps.clock.now();
  }

  /** Appends to __consumer_offsets (creating it on first use) and resolves when durable. */
  async write(partition: number, records: CoordinatorRecord[]): Promise<void> {
    if (!this.offsetsTopic.exists()) await this.offsetsTopic.ensure();
    await this.offsetsTopic.append(partition, records);
  }

  partitionFor(groupId: string): number {
    return this.offsetsTopic.partitionFor(groupId);
  }

  classicGroup(groupId: string, create: boolean): ClassicGroup | undefined {
    const g = this.groups.get(groupId);
    if (g instanceof ClassicGroup) return g;
    if (g !== undefined || !create) return undefined;
    const created = new ClassicGroup(groupId, this.partitionFor(groupId), this.classicHost);
    this.groups.set(groupId, created);
    return created;
  }

  /** Removes a group that has no members and no offsets left (Kafka's Dead). */
  dropGroupIfUnused(groupId: string): void {
    const g = this.groups.get(groupId);
    if (g && g.isEmpty() && !this.offsets.has(groupId)) {
      g.close(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      this.groups.delete(groupId);
    }
  }

  // ---- classic protocol ----

  async joinGroup(groupId: string, req: JoinRequest): Promise<JoinResult> {
    const fail = (errorCode: number): JoinResult => ({ errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', skipAssignment: false, memberId: req.memberId, members: [] });
    if (groupIdProblem(groupId)) return fail(ErrorCode.INVALID_GROUP_ID);
    const cfg = this.deps.config;
    if (req.sessionTimeoutMs < cfg.getInt('group.min.session.timeout.ms') || req.sessionTimeoutMs > cfg.getInt('group.max.session.timeout.ms')) {
      return fail(ErrorCode.INVALID_SESSION_TIMEOUT);
    }
    if (!cfg.getString('group.coordinator.rebalance.protocols').split(',').map((s) => s.trim()).includes('classic')) return fail(ErrorCode.UNSUPPORTED_VERSION);
    const existing = this.groups.get(groupId);
    // A share group never becomes classic (Kafka: INCONSISTENT_GROUP_PROTOCOL).
    if (existing?.type === 'share') return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    if (existing && !(existing instanceof ClassicGroup)) {
      // A consumer-protocol group: an empty one may become classic; a live one is refused.
      if (!existing.isEmpty()) return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
      if (!this.offsetsTopic.exists()) await this.offsetsTopic.ensure();
      await this.write(existing.partition, existing.tombstones());
      existing.close(ErrorCode.UNKNOWN_MEMBER_ID);
      this.groups.delete(groupId);
    }
    if (!this.offsetsTopic.exists()) await this.offsetsTopic.ensure();
    const group = this.classicGroup(groupId, req.memberId === '');
    if (!group) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    return group.join(req);
  }

  syncGroup(groupId: string, req: SyncRequest): SyncResult | Promise<SyncResult> {
    const fail = (errorCode: number): SyncResult => ({ errorCode, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) });
    if (groupIdProblem(groupId)) return fail(ErrorCode.INVALID_GROUP_ID);
    const g = this.groups.get(groupId);
    if (!g) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    if (!(g instanceof ClassicGroup)) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    return g.sync(req);
  }

  heartbeat(groupId: string, memberId: string, groupInstanceId: string | null, generationId: number): number {
    if (groupIdProblem(groupId)) return ErrorCode.INVALID_GROUP_ID;
    const g = this.groups.get(groupId);
    if (!(g instanceof ClassicGroup)) return ErrorCode.UNKNOWN_MEMBER_ID;
    return g.heartbeat(memberId, groupInstanceId, generationId);
  }

  leaveGroup(groupId: string, members: Array<{ memberId: string; groupInstanceId: string | null; reason: string | null }>): { errorCode: number; members: number[] } {
    if (groupIdProblem(groupId)) return { errorCode: ErrorCode.INVALID_GROUP_ID, members: [] };
    const g = this.groups.get(groupId);
    if (!(g instanceof ClassicGroup)) return { errorCode: ErrorCode.UNKNOWN_MEMBER_ID, members: members.map(() => ErrorCode.UNKNOWN_MEMBER_ID) };
    return { errorCode: 0, members: g.leave(members) };
  }

  // ---- offsets ----

  /**
   * Validates and stores offset commits; returns one error code per partition, in request order.
   * Partitions of unknown topics get UNKNOWN_TOPIC_OR_PARTITION; the rest are written together.
   */
  async commitOffsets(groupId: string, who: OffsetRequester, items: OffsetToCommit[], retentionTimeMs: bigint): Promise<number[]> {
    if (groupIdProblem(groupId)) return items.map(() => ErrorCode.INVALID_GROUP_ID);
    let group = this.groups.get(groupId);
    if (!group) {
      // Kafka lets a consumer outside group management (generation -1) commit into a new empty group.
      if (who.generationIdOrMemberEpoch >= 0) {
        return items.map(() => (who.apiVersion >= 9 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION));
      }
      group = this.classicGroup(groupId, true)!;
    }
    const problem = group.validateOffsetCommit(who);
    if (problem) return items.map(() => problem);
    const maxMeta = this.deps.config.getInt('offset.metadata.max.bytes');
    const now = this.now();
    const expire = retentionTimeMs >= 0n ? BigInt(now) + retentionTimeMs : -1n;
    const codes: number[] = [];
    const records: CoordinatorRecord[] = [];
    const accepted: Array<[OffsetToCommit, CommittedOffset]> = [];
    for (const it of items) {
      const topic = this.deps.metadata.topic(it.topic);
      if (!topic || it.partition < 0 || it.partition >= topic.partitions.length) {
        codes.push(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        continue;
      }
      const metadata = it.metadata ?? '';
      if (Buffer.byteLength(metadata) > maxMeta) {
        codes.push(ErrorCode.OFFSET_METADATA_TOO_LARGE);
        continue;
      }
      const value: CommittedOffset = { offset: it.offset, leaderEpoch: it.leaderEpoch, metadata, commitTimestamp: BigInt(now), expireTimestamp: expire };
      records.push(offsetRecord(groupId, it.topic, it.partition, value));
      accepted.push([it, value]);
      codes.push(0);
    }
    if (records.length === 0) return codes;
    try {
      await this.write(group.partition, records);
    } catch (err) {
      const code = writeErrorCode(err);
      this.deps.logger.warn('offset commit not stored', { group: groupId, error: err });
      return codes.map((c) => (c === 0 ? code : c));
    }
    for (const [it, value] of accepted) this.setOffset(groupId, it.topic, it.partition, value);
    return codes;
  }

  /** Committed offsets of a group: all of them (topics null) or the partitions asked for. */
  fetchOffsets(groupId: string, topics: Array<{ name: string; partitions: number[] }> | null): Array<{ name: string; partitions: Array<{ partition: number; offset: CommittedOffset | undefined }> }> {
    const byTopic = this.offsets.get(groupId);
    if (topics === null) {
      if (!byTopic) return [];
      return [...byTopic].map(([name, parts]) => ({
        name,
        partitions: [...parts].sort((a, b) => a[0] - b[0]).map(([partition, offset]) => ({ partition, offset })),
      }));
    }
    return topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partition: p, offset: byTopic?.get(t.name)?.get(p) })) }));
  }

  /** OffsetDelete: per partition error codes; the group must exist and not be subscribed to the topic. */
  async deleteOffsets(groupId: string, topics: Array<{ name: string; partitions: number[] }>): Promise<{ errorCode: number; topics: Array<{ name: string; codes: number[] }> }> {
    if (groupIdProblem(groupId)) return { errorCode: ErrorCode.INVALID_GROUP_ID, topics: [] };
    const group = this.groups.get(groupId);
    // Share groups keep no committed offsets: Kafka's ShareGroup.validateOffsetDelete says not found.
    if (!group || group.type === 'share') return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] };
    const records: CoordinatorRecord[] = [];
    const removed: Array<[string, number]> = [];
    const result = topics.map((t) => {
      const subscribed = group.isSubscribedTo(t.name);
      const known = this.deps.metadata.topic(t.name);
      return {
        name: t.name,
        codes: t.partitions.map((p) => {
          if (!known || p < 0 || p >= known.partitions.length) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          if (subscribed) return ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC;
          if (this.offsets.get(groupId)?.get(t.name)?.has(p)) {
            records.push(encodeRecord(OffsetCommitKey, { group: groupId, topic: t.name, partition: p }, OffsetCommitValue, 3, null));
            removed.push([t.name, p]);
          }
          return 0;
        }),
      };
    });
    if (records.length > 0) {
      try {
        await this.write(group.partition, records);
      } catch (err) {
        return { errorCode: writeErrorCode(err), topics: [] };
      }
      for (const [t, p] of removed) this.deleteOffset(groupId, t, p);
    }
    return { errorCode: 0, topics: result };
  }

  // ---- groups ----

  listGroups(statesFilter: string[], typesFilter: string[]): Array<{ groupId: string; protocolType: string; groupState: string; groupType: string }> {
    const states = new Set(statesFilter.map((s) => s.toLowerCase()));
    const types = new Set(typesFilter.map((s) => s.toLowerCase()));
    const out = [];
    for (const g of this.groups.values()) {
      const state = g.stateName();
      if (state === 'Dead') continue;
      if (states.size > 0 && !states.has(state.toLowerCase())) continue;
      if (types.size > 0 && !types.has(g.type)) continue;
      out.push({ groupId: g.groupId, protocolType: g.protocolType(), groupState: state, groupType: g.type });
    }
    return out;
  }

  async deleteGroups(groupIds: string[]): Promise<Array<{ groupId: string; errorCode: number }>> {
    return Promise.all(
      groupIds.map(async (groupId) => {
        if (groupIdProblem(groupId)) return { groupId, errorCode: ErrorCode.INVALID_GROUP_ID };
        const g = this.groups.get(groupId);
        if (!g || g.stateName() === 'Dead') return { groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND };
        if (!g.isEmpty()) return { groupId, errorCode: ErrorCode.NON_EMPTY_GROUP };
        const records = [...this.offsetTombstones(groupId), ...g.tombstones()];
        try {
          await this.write(g.partition, records);
        } catch (err) {
          return { groupId, errorCode: writeErrorCode(err) };
        }
        if (this.groups.get(groupId) === g) {
          g.close(ErrorCode.COORDINATOR_NOT_AVAILABLE);
          this.groups.delete(groupId);
        }
        this.offsets.delete(groupId);
        // Kafka deletes a share group's share-partition state with it (DeleteShareGroupState).
        if (g.type === 'share') await this.share.onGroupDeleted(groupId);
        return { groupId, errorCode: 0 };
      }),
    );
  }

  // ---- offset retention ----

  /**
   * offsets.retention.minutes, for groups with no members (Kafka's rule since KIP-211): an empty
   * group's offsets expire that long after it emptied; a group that never had members (commits
   * from outside group management) expires each offset that long after its commit. An offset
   * committed with an explicit retention time (OffsetCommit v2-4) expires at that time. A group
   * with no members and no offsets (left so, or emptied without ever committing) is removed.
   */
  async expireOffsets(): Promise<number> {
    const now = this.now();
    const retentionMs = BigInt(this.deps.config.getInt('offsets.retention.minutes')) * 60_000n;
    let expired = 0;
    for (const [groupId, byTopic] of [...this.offsets]) {
      const g = this.groups.get(groupId);
      if (g && !g.isEmpty()) continue;
      const emptySince = g && g.protocolType() !== '' ? BigInt(g.stateTimestamp()) : undefined;
      const records: CoordinatorRecord[] = [];
      const gone: Array<[string, number]> = [];
      for (const [topic, parts] of byTopic) {
        for (const [p, o] of parts) {
          const due = o.expireTimestamp >= 0n ? o.expireTimestamp <= BigInt(now) : BigInt(now) - (emptySince !== undefined && emptySince > o.commitTimestamp ? emptySince : o.commitTimestamp) >= retentionMs;
          if (!due) continue;
          records.push(encodeRecord(OffsetCommitKey, { group: groupId, topic, partition: p }, OffsetCommitValue, 3, null));
          gone.push([topic, p]);
        }
      }
      if (records.length === 0) continue;
      const partition = g?.partition ?? this.partitionFor(groupId);
      const removesAll = gone.length === [...byTopic.values()].reduce((n, m) => n + m.size, 0);
      if (removesAll && g) records.push(...g.tombstones());
      try {
        await this.write(partition, records);
      } catch (err) {
        this.deps.logger.warn('offset expiry not stored', { group: groupId, error: err });
        continue;
      }
      for (const [t, p] of gone) this.deleteOffset(groupId, t, p);
      expired += gone.length;
      this.deps.logger.info('expired committed offsets', { group: groupId, offsets: gone.length });
      if (removesAll) this.dropGroupIfUnused(groupId);
    }
    // Kafka's cleanup also removes groups that are empty and have no offsets at all.
    for (const g of [...this.groups.values()]) {
      if (g.type === 'share' || !g.isEmpty() || this.offsets.has(g.groupId)) continue;
      try {
        await this.write(g.partition, g.tombstones());
      } catch (err) {
        this.deps.logger.warn('removing an empty group not stored', { group: g.groupId, error: err });
        continue;
      }
      this.dropGroupIfUnused(g.groupId);
    }
    return expired;
  }

  // ---- in-memory offsets ----

  private setOffset(group: string, topic: string, partition: number, o: CommittedOffset): void {
    let byTopic = this.offsets.get(group);
    if (!byTopic) this.offsets.set(group, (byTopic = new Map()));
    let parts = byTopic.get(topic);
    if (!parts) byTopic.set(topic, (parts = new Map()));
    parts.set(partition, o);
  }

  private deleteOffset(group: string, topic: string, partition: number): void {
    const byTopic = this.offsets.get(group);
    const parts = byTopic?.get(topic);
    if (!parts) return;
    parts.delete(partition);
    if (parts.size === 0) byTopic!.delete(topic);
    if (byTopic!.size === 0) this.offsets.delete(group);
  }

  private offsetTombstones(groupId: string): CoordinatorRecord[] {
    const out: CoordinatorRecord[] = [];
    for (const [topic, parts] of this.offsets.get(groupId) ?? []) {
      for (const p of parts.keys()) out.push(encodeRecord(OffsetCommitKey, { group: groupId, topic, partition: p }, OffsetCommitValue, 3, null));
    }
    return out;
  }

  /** Offsets of a group, for tests and admin views. */
  committedOffsets(groupId: string): ReadonlyMap<string, ReadonlyMap<number, CommittedOffset>> | undefined {
    return this.offsets.get(groupId);
  }

  /** Offsets of all groups on removal of a topic: Kafka deletes them with the topic. */
  async onTopicDeleted(topic: string): Promise<void> {
    for (const [groupId, byTopic] of [...this.offsets]) {
      const parts = byTopic.get(topic);
      if (!parts) continue;
      const records = [...parts.keys()].map((p) => encodeRecord(OffsetCommitKey, { group: groupId, topic, partition: p }, OffsetCommitValue, 3, null));
      try {
        await this.write(this.groups.get(groupId)?.partition ?? this.partitionFor(groupId), records);
      } catch (err) {
        this.deps.logger.warn('removing offsets of a deleted topic failed', { group: groupId, topic, error: err });
        continue;
      }
      for (const p of [...parts.keys()]) this.deleteOffset(groupId, topic, p);
    }
  }
}

/** The OffsetCommit record: value v1 when it carries an explicit expiry, else v3 (as Kafka 4 writes). */
export function offsetRecord(group: string, topic: string, partition: number, o: CommittedOffset): CoordinatorRecord {
  const version = o.expireTimestamp >= 0n ? 1 : 3;
  return encodeRecord(OffsetCommitKey, { group, topic, partition }, OffsetCommitValue, version, {
    offset: o.offset,
    leaderEpoch: o.leaderEpoch,
    metadata: o.metadata,
    commitTimestamp: o.commitTimestamp,
    expireTimestamp: o.expireTimestamp,
  });
}

function writeErrorCode(err: unknown): number {
  if (err instanceof CoordinatorWriteError) {
    if (err.errorCode === ErrorCode.MESSAGE_TOO_LARGE || err.errorCode === ErrorCode.RECORD_LIST_TOO_LARGE) return ErrorCode.INVALID_COMMIT_OFFSET_SIZE;
    if (err.errorCode === ErrorCode.NOT_COORDINATOR) return ErrorCode.NOT_COORDINATOR;
  }
  return ErrorCode.COORDINATOR_NOT_AVAILABLE;
}

