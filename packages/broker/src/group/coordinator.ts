/**
 * The group coordinator: every group whose partition of __consumer_offsets this broker leads (on
 * one node: all of them), their committed offsets, and the records that make both durable.
 *
 * State lives in memory and is rebuilt at start-up by replaying __consumer_offsets. Changes are
 * appended to the group's partition and answered once durable; offsets become visible to
 * OffsetFetch when their record is durable (Kafka applies a commit when its write completes).
 *
 * Transactional offsets (TxnOffsetCommit) are written as Kafka writes them: OffsetCommit records in
 * a transactional batch carrying the producer's id and epoch. They stay pending, per producer id,
 * until the transaction coordinator writes the transaction's marker into the group's partition
 * (completeTransaction): a COMMIT makes them the committed offsets (unless a later plain commit
 * of the same partition was written after them), an ABORT drops them. Replay does the same with
 * the markers it reads, so the offsets of a transaction still open at a restart stay pending.
 * OffsetFetch with requireStable answers UNSTABLE_OFFSET_COMMIT for a partition with pending
 * offsets.
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
import { groupIdProblem, groupProtocolEnabled, type Group, type OffsetRequester } from './group.js';
import { CoordinatorWriteError, InternalTopic, OFFSETS_TOPIC, offsetsTopicSpec, type TransactionalAppend } from './internal-topic.js';
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
  /**
   * Where its record is in __consumer_offsets: when a transaction commits, its offset replaces a
   * committed one only if written after it (Kafka keeps the most recent of mixed commits).
   */
  recordOffset: bigint;
}

/** group -> topic -> partition -> offset */
type OffsetsByGroup = Map<string, Map<string, Map<number, CommittedOffset>>>;

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
  private readonly offsets: OffsetsByGroup = new Map();
  /** producer id -> the offsets its open transaction committed (TxnOffsetCommit), not visible yet. */
  private readonly pendingTxnOffsets = new Map<bigint, OffsetsByGroup>();
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
    for await (const chunk of this.offsetsTopic.readAll({ markers: true })) {
      for (const r of chunk) {
        records++;
        if (r.marker !== undefined) {
          this.replayEndTxnMarker(r.producerId, r.marker === 'COMMIT', r.partition);
          continue;
        }
        let d;
        try {
          d = decodeRecord(r.key, r.value);
        } catch (err) {
          skipped++;
          if (skipped <= 5) this.deps.logger.warn('skipping an unreadable __consumer_offsets record', { partition: r.partition, offset: r.offset, error: err });
          continue;
        }
        if (d === undefined) continue;
        this.replay(r.partition, r.offset, r.transactional ? r.producerId : -1n, d.recordType, d.key, d.value);
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
  private replay(partition: number, offset: bigint, producerId: bigint, recordType: number, key: any, value: any): void {
    switch (recordType) {
      case 0:
      case RecordType.OFFSET_COMMIT: {
        const { group, topic } = key as { group: string; topic: string; partition: number };
        if (value === null) {
          this.deleteOffset(group, topic, key.partition);
          // A tombstone also removes what open transactions committed for the partition (as Kafka).
          for (const pending of this.pendingTxnOffsets.values()) deleteFrom(pending, group, topic, key.partition);
          return;
        }
        const v = value as OffsetCommitValue;
        const o: CommittedOffset = {
          offset: v.offset,
          leaderEpoch: v.leaderEpoch ?? -1,
          metadata: v.metadata,
          commitTimestamp: v.commitTimestamp,
          expireTimestamp: v.expireTimestamp ?? -1n,
          recordOffset: offset,
        };
        if (producerId >= 0n) {
          this.addPendingTxnOffset(producerId, group, topic, key.partition, o);
          return;
        }
        this.setOffset(group, topic, key.partition, o);
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

  /** write(), resolving with the offset of the first record (transactional when `txn` is given). */
  private async writeAt(partition: number, records: CoordinatorRecord[], txn?: TransactionalAppend): Promise<bigint> {
    if (!this.offsetsTopic.exists()) await this.offsetsTopic.ensure();
    const { firstOffset, durable } = this.offsetsTopic.appendNow(partition, records, txn);
    await durable;
    return firstOffset;
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
    if (g && g.isEmpty() && !this.offsets.has(groupId) && !this.hasPendingTxnOffsets(groupId)) {
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
    if (!groupProtocolEnabled(cfg, 'classic')) return fail(ErrorCode.UNSUPPORTED_VERSION);
    const existing = this.groups.get(groupId);
    // A share group never becomes classic (Kafka: INCONSISTENT_GROUP_PROTOCOL).
    if (existing?.type === 'share') return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    if (existing && !(existing instanceof ClassicGroup)) {
      // A consumer-protocol group: an empty one may become classic; a live one is refused.
      if (!existing.isEmpty()) return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
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
    const now = BigInt(this.now());
    const { codes, records, accepted } = this.prepareOffsets(groupId, items, now, retentionTimeMs >= 0n ? now + retentionTimeMs : -1n);
    if (records.length === 0) return codes;
    let firstOffset: bigint;
    try {
      firstOffset = await this.writeAt(group.partition, records);
    } catch (err) {
      const code = writeErrorCode(err);
      this.deps.logger.warn('offset commit not stored', { group: groupId, error: err });
      return codes.map((c) => (c === 0 ? code : c));
    }
    accepted.forEach(([it, value], i) => this.setOffset(groupId, it.topic, it.partition, { ...value, recordOffset: firstOffset + BigInt(i) }));
    return codes;
  }

  /**
   * Checks each offset to commit (known partition, metadata within offset.metadata.max.bytes) and
   * builds the OffsetCommit records of those accepted. One code per item, in order.
   */
  private prepareOffsets(groupId: string, items: OffsetToCommit[], now: bigint, expireTimestamp: bigint): { codes: number[]; records: CoordinatorRecord[]; accepted: Array<[OffsetToCommit, CommittedOffset]> } {
    const maxMeta = this.deps.config.getInt('offset.metadata.max.bytes');
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
      const value: CommittedOffset = { offset: it.offset, leaderEpoch: it.leaderEpoch, metadata, commitTimestamp: now, expireTimestamp, recordOffset: -1n };
      records.push(offsetRecord(groupId, it.topic, it.partition, value));
      accepted.push([it, value]);
      codes.push(0);
    }
    return { codes, records, accepted };
  }

  // ---- transactional offsets ----

  /**
   * TxnOffsetCommit, once the transaction coordinator has checked the producer's transaction:
   * validates the group and writes the offsets as a transactional batch of the producer; they stay
   * pending until the transaction's marker (completeTransaction). One error code per item.
   * `apiVersion` is TxnOffsetCommit's (v6 may answer GROUP_ID_NOT_FOUND and STALE_MEMBER_EPOCH).
   */
  async commitTransactionalOffsets(groupId: string, who: OffsetRequester, producerId: bigint, producerEpoch: number, items: OffsetToCommit[]): Promise<number[]> {
    if (groupIdProblem(groupId)) return items.map(() => ErrorCode.INVALID_GROUP_ID);
    const v6 = who.apiVersion >= 6;
    let group = this.groups.get(groupId);
    if (!group) {
      // A commit from outside group management creates a simple group, as for OffsetCommit.
      if (who.generationIdOrMemberEpoch >= 0) return items.map(() => (v6 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION));
      if (!this.offsetsTopic.exists()) await this.offsetsTopic.ensure();
      group = this.classicGroup(groupId, true)!;
    }
    let problem = group.validateOffsetCommit({ ...who, transactional: true });
    // TxnOffsetCommit before v6 has no STALE_MEMBER_EPOCH (Kafka answers ILLEGAL_GENERATION).
    if (problem === ErrorCode.STALE_MEMBER_EPOCH && !v6) problem = ErrorCode.ILLEGAL_GENERATION;
    if (problem) return items.map(() => problem);
    const { codes, records, accepted } = this.prepareOffsets(groupId, items, BigInt(this.now()), -1n);
    if (records.length === 0) return codes;
    let firstOffset: bigint;
    try {
      firstOffset = await this.writeAt(group.partition, records, { producerId, producerEpoch });
    } catch (err) {
      const code = writeErrorCode(err);
      this.deps.logger.warn('transactional offset commit not stored', { group: groupId, producerId, error: err });
      return codes.map((c) => (c === 0 ? code : c));
    }
    accepted.forEach(([it, value], i) => this.addPendingTxnOffset(producerId, groupId, it.topic, it.partition, { ...value, recordOffset: firstOffset + BigInt(i) }));
    return codes;
  }

  /**
   * The transaction coordinator's marker for __consumer_offsets-`partition` (Kafka's
   * WriteTxnMarkers to a group coordinator partition): appends it, and once it is durable commits
   * or drops the producer's pending offsets. 0 or an error code.
   */
  async completeTransaction(partition: number, m: { producerId: bigint; producerEpoch: number; coordinatorEpoch: number; commit: boolean; transactionVersion?: number }): Promise<number> {
    const p = this.deps.replicas.partition(OFFSETS_TOPIC, partition);
    if (!p) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    const code = await this.deps.replicas.writeTxnMarker(p, m);
    if (code !== 0) return code;
    this.replayEndTxnMarker(m.producerId, m.commit, partition);
    return 0;
  }

  /**
   * A producer's marker in `partition`: its pending offsets of the groups there become committed,
   * or are dropped (the transaction's other partitions get their own markers).
   */
  private replayEndTxnMarker(producerId: bigint, commit: boolean, partition: number): void {
    const pending = this.pendingTxnOffsets.get(producerId);
    if (!pending) return;
    for (const [groupId, byTopic] of [...pending]) {
      if (this.partitionFor(groupId) !== partition) continue;
      pending.delete(groupId);
      if (!commit) continue;
      for (const [topic, parts] of byTopic) {
        for (const [p, o] of parts) {
          const existing = this.offsets.get(groupId)?.get(topic)?.get(p);
          // The most recent write wins when transactional and plain commits mix.
          if (existing === undefined || o.recordOffset > existing.recordOffset) this.setOffset(groupId, topic, p, o);
        }
      }
      if (!this.groups.has(groupId)) this.groups.set(groupId, new ClassicGroup(groupId, this.partitionFor(groupId), this.classicHost));
    }
    if (pending.size === 0) this.pendingTxnOffsets.delete(producerId);
  }

  private addPendingTxnOffset(producerId: bigint, group: string, topic: string, partition: number, o: CommittedOffset): void {
    let byGroup = this.pendingTxnOffsets.get(producerId);
    if (!byGroup) this.pendingTxnOffsets.set(producerId, (byGroup = new Map()));
    setIn(byGroup, group, topic, partition, o);
  }

  /** Whether an open transaction committed offsets for the group (for one partition, or any). */
  hasPendingTxnOffsets(groupId: string, topic?: string, partition?: number): boolean {
    for (const byGroup of this.pendingTxnOffsets.values()) {
      const byTopic = byGroup.get(groupId);
      if (!byTopic) continue;
      if (topic === undefined) return true;
      if (byTopic.get(topic)?.has(partition!)) return true;
    }
    return false;
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
        for (const pending of this.pendingTxnOffsets.values()) pending.delete(groupId);
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
          // Kafka keeps an offset an open transaction is about to replace.
          if (this.hasPendingTxnOffsets(groupId, topic, p)) continue;
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
      if (g.type === 'share' || !g.isEmpty() || this.offsets.has(g.groupId) || this.hasPendingTxnOffsets(g.groupId)) continue;
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
    setIn(this.offsets, group, topic, partition, o);
  }

  private deleteOffset(group: string, topic: string, partition: number): void {
    deleteFrom(this.offsets, group, topic, partition);
  }

  /** Tombstones for a group's offsets, and for those its open transactions committed (Kafka's deleteAllOffsets). */
  private offsetTombstones(groupId: string): CoordinatorRecord[] {
    const keys = new Set<string>();
    const out: CoordinatorRecord[] = [];
    const add = (byTopic: Map<string, Map<number, CommittedOffset>> | undefined) => {
      for (const [topic, parts] of byTopic ?? []) {
        for (const p of parts.keys()) {
          const k = `${topic}:${p}`;
          if (keys.has(k)) continue;
          keys.add(k);
          out.push(encodeRecord(OffsetCommitKey, { group: groupId, topic, partition: p }, OffsetCommitValue, 3, null));
        }
      }
    };
    add(this.offsets.get(groupId));
    for (const pending of this.pendingTxnOffsets.values()) add(pending.get(groupId));
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

function setIn(m: OffsetsByGroup, group: string, topic: string, partition: number, o: CommittedOffset): void {
  let byTopic = m.get(group);
  if (!byTopic) m.set(group, (byTopic = new Map()));
  let parts = byTopic.get(topic);
  if (!parts) byTopic.set(topic, (parts = new Map()));
  parts.set(partition, o);
}

function deleteFrom(m: OffsetsByGroup, group: string, topic: string, partition: number): void {
  const byTopic = m.get(group);
  const parts = byTopic?.get(topic);
  if (!parts) return;
  parts.delete(partition);
  if (parts.size === 0) byTopic!.delete(topic);
  if (byTopic!.size === 0) m.delete(group);
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

