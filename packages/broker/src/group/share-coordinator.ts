/**
 * The share coordinator (KIP-932): the durable state of every share-partition, kept in
 * __share_group_state with Kafka's own records (internal/share-coordinator), so Kafka's tools can
 * read the topic:
 *   key   = int16 record type (0 ShareSnapshot, 1 ShareUpdate) + {groupId, topicId, partition}
 *   value = int16 version (0) + the value struct; null when the group's state is deleted.
 * A share-partition "groupId:topicId:partition" lives in partition
 * abs(javaHashCode(key)) % share.coordinator.state.topic.num.partitions, as in Kafka.
 *
 * A write is a ShareUpdate carrying only the changed state batches, merged into the previous
 * state (Kafka's PersisterStateBatchCombiner); every
 * share.coordinator.snapshot.update.records.per.snapshot updates a full ShareSnapshot is written
 * instead. Every share.coordinator.state.topic.prune.interval.ms, keys whose last snapshot is old
 * get a fresh one and the log start offset moves past records no key needs any more (the topic
 * is cleanup.policy=delete with retention.ms=-1, as Kafka creates it).
 *
 * The in-memory state follows the log in append order: a record is applied as soon as its append
 * succeeded (appends are synchronous), and the caller is answered once it is durable. Start-up
 * replays the whole topic (Broker.start, after the group coordinator).
 */
import { Reader, ShareSnapshotKey, ShareSnapshotValue, ShareUpdateKey, ShareUpdateValue, shareCoordinatorRecords } from '@fjord/protocol';
import { InternalTopic, type InternalTopicDeps, type InternalTopicSpec } from './internal-topic.js';
import { encodeRecord, type CoordinatorRecord } from './records.js';
import type { StateBatch } from './share-partition.js';

export const SHARE_STATE_TOPIC = '__share_group_state';

const SNAPSHOT = 0;
const UPDATE = 1;

/** What a share-partition starts from. */
export interface PersistedShareState {
  startOffset: bigint;
  stateEpoch: number;
  leaderEpoch: number;
  batches: StateBatch[];
}

interface KeyState extends PersistedShareState {
  groupId: string;
  topicId: string;
  partition: number;
  snapshotEpoch: number;
  createTimestamp: bigint;
  updatesSinceSnapshot: number;
  /** Offset of the key's last ShareSnapshot in its partition of __share_group_state. */
  snapshotOffset: bigint;
  /** Its partition of __share_group_state. */
  coordPartition: number;
}

export type ShareCoordinatorDeps = InternalTopicDeps;

/** Created as Kafka creates it: cleanup.policy=delete with retention.ms=-1; the coordinator prunes it. */
export const shareStateTopicSpec: InternalTopicSpec = {
  name: SHARE_STATE_TOPIC,
  partitionsConfig: 'share.coordinator.state.topic.num.partitions',
  replicationConfig: 'share.coordinator.state.topic.replication.factor',
  topicConfigs: (cfg) => ({
    'cleanup.policy': 'delete',
    'retention.ms': '-1',
    'compression.type': 'producer',
    'segment.bytes': String(cfg.getInt('share.coordinator.state.topic.segment.bytes')),
    'min.insync.replicas': String(cfg.getInt('share.coordinator.state.topic.min.isr')),
  }),
};

/** Kafka's SharePartitionKey.asCoordinatorKey. */
export function shareStateKey(groupId: string, topicId: string, partition: number): string {
  return `${groupId}:${topicId}:${partition}`;
}

export class ShareCoordinator {
  private readonly states = new Map<string, KeyState>();
  private pruneTimer?: NodeJS.Timeout;
  /** Log end of each partition at the previous prune: keys whose snapshot is older get a new one. */
  private readonly prunedUpTo = new Map<number, bigint>();

  private readonly topic: InternalTopic;

  constructor(private readonly deps: ShareCoordinatorDeps) {
    this.topic = new InternalTopic(shareStateTopicSpec, deps);
  }

  // ---- the topic ----

  get numPartitions(): number {
    return this.topic.numPartitions;
  }

  partitionFor(key: string): number {
    return this.topic.partitionFor(key);
  }

  /** Creates __share_group_state on first use (Kafka: the first FindCoordinator or state write). */
  ensureTopic(): Promise<void> {
    return this.topic.ensure();
  }

  private append(partition: number, records: readonly CoordinatorRecord[]): { firstOffset: bigint; durable: Promise<void> } {
    return this.topic.appendNow(partition, records);
  }

  // ---- reads and writes ----

  /** The persisted state of a share-partition, or undefined if it has none. */
  read(groupId: string, topicId: string, partition: number): PersistedShareState | undefined {
    const s = this.states.get(shareStateKey(groupId, topicId, partition));
    return s && { startOffset: s.startOffset, stateEpoch: s.stateEpoch, leaderEpoch: s.leaderEpoch, batches: s.batches.map((b) => ({ ...b })) };
  }

  /**
   * Records a share-partition's new SPSO and changed state batches (Kafka's WriteShareGroupState):
   * a ShareSnapshot for a new key or every N updates, else a ShareUpdate. Resolves when durable.
   */
  async write(groupId: string, topicId: string, partition: number, write: { startOffset: bigint; leaderEpoch: number; batches: readonly StateBatch[] }): Promise<void> {
    if (!this.topic.exists()) await this.topic.ensure();
    const key = shareStateKey(groupId, topicId, partition);
    const cur = this.states.get(key);
    const perSnapshot = this.deps.config.getInt('share.coordinator.snapshot.update.records.per.snapshot');
    const coordPartition = this.partitionFor(key);
    const now = BigInt(this.deps.clock.now());
    if (cur === undefined || cur.updatesSinceSnapshot >= perSnapshot) {
      const start = write.startOffset >= 0n ? write.startOffset : (cur?.startOffset ?? 0n);
      const next: KeyState = {
        groupId,
        topicId,
        partition,
        snapshotEpoch: cur ? cur.snapshotEpoch + 1 : 0,
        stateEpoch: cur?.stateEpoch ?? 0,
        leaderEpoch: write.leaderEpoch >= 0 ? write.leaderEpoch : (cur?.leaderEpoch ?? 0),
        startOffset: start,
        batches: combineStateBatches(cur?.batches ?? [], write.batches, start),
        createTimestamp: cur?.createTimestamp ?? now,
        updatesSinceSnapshot: 0,
        snapshotOffset: -1n,
        coordPartition,
      };
      const { firstOffset, durable } = this.append(coordPartition, [snapshotRecord(next, now)]);
      next.snapshotOffset = firstOffset;
      this.states.set(key, next);
      return durable;
    }
    const start = write.startOffset >= 0n ? write.startOffset : cur.startOffset;
    const record = encodeRecord(ShareUpdateKey, { groupId, topicId, partition }, ShareUpdateValue, 0, {
      snapshotEpoch: cur.snapshotEpoch,
      leaderEpoch: write.leaderEpoch,
      startOffset: write.startOffset,
      deliveryCompleteCount: -1,
      stateBatches: write.batches.map((b) => ({ ...b })),
    });
    const { durable } = this.append(coordPartition, [record]);
    this.states.set(key, { ...cur, startOffset: start, leaderEpoch: write.leaderEpoch >= 0 ? write.leaderEpoch : cur.leaderEpoch, batches: combineStateBatches(cur.batches, write.batches, start), updatesSinceSnapshot: cur.updatesSinceSnapshot + 1 });
    return durable;
  }

  /** Removes every share-partition state of a group (Kafka's DeleteShareGroupState on DeleteGroups). */
  async deleteGroup(groupId: string): Promise<void> {
    const byPartition = new Map<number, CoordinatorRecord[]>();
    const keys: string[] = [];
    for (const [key, s] of this.states) {
      if (s.groupId !== groupId) continue;
      keys.push(key);
      const p = s.coordPartition;
      const list = byPartition.get(p) ?? [];
      list.push(encodeRecord(ShareSnapshotKey, { groupId, topicId: s.topicId, partition: s.partition }, ShareSnapshotValue, 0, null));
      byPartition.set(p, list);
    }
    if (keys.length === 0) return;
    const durable = [...byPartition].map(([p, records]) => this.append(p, records).durable);
    for (const k of keys) this.states.delete(k);
    await Promise.all(durable);
  }

  // ---- start-up ----

  /** Replays __share_group_state (if it exists) and starts pruning. */
  async load(): Promise<{ records: number; shareStates: number; ms: number }> {
    const started = this.deps.clock.now();
    let records = 0;
    let skipped = 0;
    for await (const chunk of this.topic.readAll()) {
      for (const rec of chunk) {
        records++;
        try {
          this.replay(rec.partition, rec.offset, rec.key, rec.value);
        } catch (err) {
          if (++skipped <= 5) this.deps.logger.warn(`skipping an unreadable ${SHARE_STATE_TOPIC} record`, { partition: rec.partition, offset: rec.offset, error: err });
        }
      }
    }
    const interval = this.deps.config.getInt('share.coordinator.state.topic.prune.interval.ms');
    this.pruneTimer = setInterval(() => void this.prune().catch((err) => this.deps.logger.warn(`pruning ${SHARE_STATE_TOPIC} failed`, { error: err })), interval);
    this.pruneTimer.unref();
    return { records, shareStates: this.states.size, ms: this.deps.clock.now() - started };
  }

  shutdown(): void {
    clearInterval(this.pruneTimer);
  }

  private replay(coordPartition: number, offset: bigint, keyBytes: Buffer | null, valueBytes: Buffer | null): void {
    if (keyBytes === null || keyBytes.length < 2) throw new Error('share coordinator record without a key');
    const type = keyBytes.readInt16BE(0);
    const codecs = shareCoordinatorRecords.get(type);
    if (!codecs) return; // a newer broker's record type
    const k = codecs.key.decode(new Reader(keyBytes, 2), 0) as { groupId: string; topicId: string; partition: number };
    const key = shareStateKey(k.groupId, k.topicId, k.partition);
    if (valueBytes === null) {
      this.states.delete(key);
      return;
    }
    const version = Math.min(valueBytes.readInt16BE(0), codecs.value.maxVersion);
    const cur = this.states.get(key);
    if (type === SNAPSHOT) {
      const v = codecs.value.decode(new Reader(valueBytes, 2), version) as ShareSnapshotValue;
      this.states.set(key, {
        groupId: k.groupId,
        topicId: k.topicId,
        partition: k.partition,
        snapshotEpoch: v.snapshotEpoch,
        stateEpoch: v.stateEpoch,
        leaderEpoch: v.leaderEpoch,
        startOffset: v.startOffset,
        batches: combineStateBatches([], v.stateBatches, v.startOffset),
        createTimestamp: v.createTimestamp,
        updatesSinceSnapshot: 0,
        snapshotOffset: offset,
        coordPartition,
      });
      return;
    }
    const v = codecs.value.decode(new Reader(valueBytes, 2), version) as ShareUpdateValue;
    if (!cur) {
      // An update without its snapshot (pruned too far, or written by another broker): start from it.
      this.states.set(key, { groupId: k.groupId, topicId: k.topicId, partition: k.partition, snapshotEpoch: v.snapshotEpoch, stateEpoch: 0, leaderEpoch: v.leaderEpoch, startOffset: v.startOffset, batches: combineStateBatches([], v.stateBatches, v.startOffset), createTimestamp: 0n, updatesSinceSnapshot: 1, snapshotOffset: offset, coordPartition });
      return;
    }
    const start = v.startOffset >= 0n ? v.startOffset : cur.startOffset;
    cur.startOffset = start;
    if (v.leaderEpoch >= 0) cur.leaderEpoch = v.leaderEpoch;
    cur.batches = combineStateBatches(cur.batches, v.stateBatches, start);
    cur.updatesSinceSnapshot++;
  }

  // ---- pruning ----

  /**
   * Moves the log start offset of each partition past records no key needs: everything before the
   * oldest last-snapshot of a key still in that partition. Keys whose snapshot is older than the
   * previous prune's log end get a fresh snapshot first, so idle keys do not hold the log forever.
   */
  async prune(): Promise<void> {
    if (!this.topic.exists()) return;
    const now = BigInt(this.deps.clock.now());
    for (const p of this.deps.replicas.topicPartitions(SHARE_STATE_TOPIC)) {
      const keys = [...this.states.values()].filter((s) => s.coordPartition === p.index);
      const before = this.prunedUpTo.get(p.index) ?? -1n;
      const stale = keys.filter((s) => s.snapshotOffset < before && this.deps.metadata.topicById(s.topicId) !== undefined);
      // State of deleted topics is dropped rather than carried forward.
      for (const s of keys) if (this.deps.metadata.topicById(s.topicId) === undefined) this.states.delete(shareStateKey(s.groupId, s.topicId, s.partition));
      if (stale.length > 0) {
        for (const s of stale) {
          s.snapshotEpoch++;
          s.updatesSinceSnapshot = 0;
        }
        const { firstOffset, durable } = this.append(p.index, stale.map((s) => snapshotRecord(s, now)));
        stale.forEach((s, i) => (s.snapshotOffset = firstOffset + BigInt(i)));
        await durable;
      }
      this.prunedUpTo.set(p.index, p.logEndOffset);
      const live = [...this.states.values()].filter((s) => s.coordPartition === p.index);
      const needed = live.reduce((m, s) => (s.snapshotOffset < m ? s.snapshotOffset : m), p.highWatermark);
      if (needed > p.logStartOffset) await p.log.deleteRecordsBefore(needed);
    }
  }
}

function snapshotRecord(s: KeyState, now: bigint): CoordinatorRecord {
  return encodeRecord(ShareSnapshotKey, { groupId: s.groupId, topicId: s.topicId, partition: s.partition }, ShareSnapshotValue, 0, {
    snapshotEpoch: s.snapshotEpoch,
    stateEpoch: s.stateEpoch,
    leaderEpoch: s.leaderEpoch,
    startOffset: s.startOffset,
    deliveryCompleteCount: -1,
    createTimestamp: s.createTimestamp,
    writeTimestamp: now,
    stateBatches: s.batches.map((b) => ({ ...b })),
  });
}

/**
 * Kafka's PersisterStateBatchCombiner: later batches override earlier ones where they overlap,
 * nothing before the start offset is kept, and neighbours with equal state and count merge.
 */
export function combineStateBatches(base: readonly StateBatch[], updates: readonly StateBatch[], startOffset: bigint): StateBatch[] {
  let cur: StateBatch[] = base.map((b) => ({ ...b }));
  for (const u of updates) {
    const next: StateBatch[] = [];
    for (const b of cur) {
      if (b.lastOffset < u.firstOffset || b.firstOffset > u.lastOffset) {
        next.push(b);
        continue;
      }
      if (b.firstOffset < u.firstOffset) next.push({ ...b, lastOffset: u.firstOffset - 1n });
      if (b.lastOffset > u.lastOffset) next.push({ ...b, firstOffset: u.lastOffset + 1n });
    }
    next.push({ firstOffset: u.firstOffset, lastOffset: u.lastOffset, deliveryState: u.deliveryState, deliveryCount: u.deliveryCount });
    next.sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
    cur = next;
  }
  const out: StateBatch[] = [];
  for (const b of cur) {
    if (b.lastOffset < startOffset) continue;
    const first = b.firstOffset < startOffset ? startOffset : b.firstOffset;
    const prev = out[out.length - 1];
    if (prev && prev.lastOffset + 1n === first && prev.deliveryState === b.deliveryState && prev.deliveryCount === b.deliveryCount) prev.lastOffset = b.lastOffset;
    else out.push({ firstOffset: first, lastOffset: b.lastOffset, deliveryState: b.deliveryState, deliveryCount: b.deliveryCount });
  }
  return out;
}
