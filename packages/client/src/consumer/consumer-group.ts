/**
 * A member of a consumer group over the KIP-848 protocol (group.protocol=consumer): one
 * ConsumerGroupHeartbeat does everything. Epoch 0 joins (with the subscription and the rebalance
 * timeout), later heartbeats carry only what changed, and an answer with an assignment starts a
 * reconciliation on the consumer's loop: partitions no longer assigned are revoked (auto commit
 * first), new ones added, and the next heartbeat reports what the member now owns, which is how the
 * coordinator learns that revoked partitions are free to move. The assignor runs on the broker
 * (its default; serverAssignor is not sent). v1+: the member id is generated here (KIP-1082).
 * Leaving sends epoch -1, or -2 for a static member that will come back.
 *
 * Offsets (OffsetCommit/OffsetFetch, with the member epoch) and the coordinator lookup are shared
 * with the classic member (group.ts). Not implemented: regex subscriptions, rack ids.
 */
import { ErrorCode, randomUuid } from '@fjord/protocol/core';
import { ConsumerGroupHeartbeatResponse } from '@fjord/protocol/generated/consumer-group-heartbeat.js';
import type { Cluster } from '../cluster.js';
import { kafkaError } from '../errors.js';
import type { ResolvedConsumerConfig } from './config.js';
import { ClassicGroup, tpKey, type GroupHost, type TopicPartition } from './group.js';
import { consumerGroupHeartbeatApi } from '../apis.js';

/** Errors after which the member starts over with epoch 0, its partitions lost. */
const fencedCodes = new Set<number>([ErrorCode.FENCED_MEMBER_EPOCH, ErrorCode.UNKNOWN_MEMBER_ID]);
/** Errors that end the membership for good. */
const fatalCodes = new Set<number>([
  ErrorCode.GROUP_MAX_SIZE_REACHED,
  ErrorCode.UNRELEASED_INSTANCE_ID,
  ErrorCode.UNSUPPORTED_ASSIGNOR,
  ErrorCode.INVALID_REQUEST,
  ErrorCode.UNSUPPORTED_VERSION,
  ErrorCode.GROUP_AUTHORIZATION_FAILED,
  ErrorCode.FENCED_INSTANCE_ID,
]);

export class ConsumerProtocolGroup extends ClassicGroup {
  private epoch = 0;
  private intervalMs: number;
  /** The assignment the coordinator wants, not yet reconciled. */
  private target: TopicPartition[] | undefined;
  private ownedChanged = false;
  private inFlight: Promise<void> | undefined;
  private sentSubscription = '';

  constructor(cluster: Cluster, config: ResolvedConsumerConfig, groupId: string, host: GroupHost) {
    super(cluster, config, groupId, host);
    this.memberId = randomUuid();
    this.intervalMs = config.heartbeatIntervalMs;
  }

  override get stable(): boolean {
    return this.epoch > 0 && this.target === undefined;
  }

  override async ensureActive(): Promise<void> {
    if (this.fatal) throw this.fatal;
    // rejoinNeeded: set by subscribe() (a changed subscription goes out with the next heartbeat) or by an assignment.
    const resend = this.rejoinNeeded && this.target === undefined && this.epoch > 0;
    this.rejoinNeeded = false;
    if (resend) await this.heartbeatNow();
    if (this.epoch === 0) {
      await this.heartbeatNow();
      if (this.fatal) throw this.fatal;
    }
    if (this.target) await this.reconcile();
    this.startHeartbeats();
  }

  private async reconcile(): Promise<void> {
    const target = this.target!;
    this.target = undefined;
    const want = new Set(target.map((p) => tpKey(p.topic, p.partition)));
    const owned = this.host.owned();
    const have = new Set(owned.map((p) => tpKey(p.topic, p.partition)));
    const revoked = owned.filter((p) => !want.has(tpKey(p.topic, p.partition)));
    const added = target.filter((p) => !have.has(tpKey(p.topic, p.partition)));
    if (revoked.length > 0) await this.host.revoke(revoked);
    await this.host.assign(added);
    this.ownedChanged = true;
    this.log('info', 'assignment reconciled', { epoch: this.epoch, partitions: target.map((p) => `${p.topic}-${p.partition}`).join(','), added: added.length, revoked: revoked.length });
    // Tell the coordinator at once: partitions given up are waiting for this to move.
    await this.heartbeatNow();
  }

  protected override startHeartbeats(): void {
    if (this.heartbeatTimer || this.closed) return;
    const tick = (): void => {
      this.heartbeatTimer = setTimeout(() => {
        // A failed join attempt (epoch 0 after a fence) is retried by the consumer's loop; here it is only logged.
        this.heartbeatNow()
          .catch((e: Error) => this.log('debug', 'heartbeat failed', { error: e.message }))
          .finally(() => {
            if (!this.closed) tick();
          });
      }, this.intervalMs);
    };
    tick();
  }

  /** One heartbeat at a time: a caller arriving while one is in flight waits for it and sends its own. */
  private async heartbeatNow(): Promise<void> {
    while (this.inFlight) await this.inFlight;
    if (this.closed) return;
    this.inFlight = this.heartbeatOnce().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async heartbeatOnce(): Promise<void> {
    const c = this.config;
    const joining = this.epoch === 0;
    const owned = this.host.owned();
    const sendOwned = joining || this.ownedChanged;
    // The subscription goes with the join and again whenever subscribe() changed it.
    const subscription = this.host.subscription();
    const sendSubscription = joining || subscription.join('\u0000') !== this.sentSubscription;
    let res: ConsumerGroupHeartbeatResponse;
    try {
      res = await this.send(consumerGroupHeartbeatApi, (v) => ({
        groupId: this.groupId,
        memberId: v === 0 && joining && this.memberId === '' ? '' : this.memberId,
        memberEpoch: this.epoch,
        instanceId: c.groupInstanceId,
        rackId: null,
        rebalanceTimeoutMs: joining ? c.maxPollIntervalMs : -1,
        subscribedTopicNames: sendSubscription ? subscription : null,
        serverAssignor: null,
        topicPartitions: sendOwned ? this.byTopicId(joining ? [] : owned) : null,
      }));
    } catch (e) {
      this.log('debug', 'heartbeat failed', { error: (e as Error).message });
      if (!joining && Date.now() - this.lastHeartbeatOkMs > c.sessionTimeoutMs) this.fence('no heartbeat answered within sessionTimeoutMs');
      if (joining) throw e;
      return;
    }
    if (res.errorCode !== ErrorCode.NONE) {
      this.noteError(res.errorCode);
      const e = kafkaError(res.errorCode, `ConsumerGroupHeartbeat in group ${JSON.stringify(this.groupId)}`, res.errorMessage);
      if (fencedCodes.has(res.errorCode)) {
        if (res.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) this.memberId = randomUuid();
        this.fence(e.name);
        return;
      }
      if (fatalCodes.has(res.errorCode)) {
        this.fatal = e;
        this.host.wake();
        return;
      }
      if (joining) throw e;
      return;
    }
    this.lastHeartbeatOkMs = Date.now();
    if (sendOwned) this.ownedChanged = false;
    if (sendSubscription) this.sentSubscription = subscription.join('\u0000');
    if (res.memberId) this.memberId = res.memberId;
    this.epoch = res.memberEpoch;
    this.generationId = this.epoch > 0 ? this.epoch : -1;
    if (res.heartbeatIntervalMs > 0) this.intervalMs = res.heartbeatIntervalMs;
    if (res.assignment) {
      this.target = await this.byName(res.assignment.topicPartitions);
      this.rejoinNeeded = true; // picked up by the consumer's loop (ensureActive reconciles)
      this.host.wake();
    }
  }

  /** The member was fenced: its partitions are lost and it joins again with epoch 0. */
  private fence(reason: string): void {
    this.epoch = 0;
    this.target = undefined;
    this.markLost(reason);
  }

  private byTopicId(ps: readonly TopicPartition[]): Array<{ topicId: string; partitions: number[] }> {
    const out = new Map<string, number[]>();
    const meta = this.cluster.metadata;
    for (const p of ps) {
      const id = meta?.topics.get(p.topic)?.topicId;
      if (id === undefined) continue;
      (out.get(id) ?? out.set(id, []).get(id)!).push(p.partition);
    }
    return [...out].map(([topicId, partitions]) => ({ topicId, partitions }));
  }

  private async byName(assigned: ReadonlyArray<{ topicId: string; partitions: number[] }>): Promise<TopicPartition[]> {
    const nameOf = (): Map<string, string> => new Map([...(this.cluster.metadata?.topics.values() ?? [])].map((t) => [t.topicId, t.name]));
    let names = nameOf();
    if (assigned.some((t) => !names.has(t.topicId))) {
      await this.cluster.refresh().catch(() => {});
      names = nameOf();
    }
    const out: TopicPartition[] = [];
    for (const t of assigned) {
      const topic = names.get(t.topicId);
      if (topic === undefined) {
        this.log('warn', 'assigned a topic id this consumer cannot name; it is skipped until metadata knows it', { topicId: t.topicId });
        continue;
      }
      for (const partition of t.partitions) out.push({ topic, partition });
    }
    return out;
  }

  override async leave(): Promise<void> {
    const epoch = this.epoch;
    this.stop();
    if (epoch <= 0) return;
    try {
      const res = await this.send(consumerGroupHeartbeatApi, {
        groupId: this.groupId,
        memberId: this.memberId,
        memberEpoch: this.config.groupInstanceId !== null ? -2 : -1,
        instanceId: this.config.groupInstanceId,
        rackId: null,
        rebalanceTimeoutMs: -1,
        subscribedTopicNames: null,
        serverAssignor: null,
        topicPartitions: null,
      }, 5_000);
      if (res.errorCode !== ErrorCode.NONE) this.log('warn', 'leaving the group failed', { error: kafkaError(res.errorCode, 'ConsumerGroupHeartbeat').name });
    } catch (e) {
      this.log('warn', 'leaving the group failed', { error: (e as Error).message });
    }
    this.epoch = 0;
    this.generationId = -1;
  }
}
