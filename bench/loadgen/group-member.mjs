/**
 * One member of a classic consumer group, on its own connection, doing what the Java consumer's
 * ConsumerCoordinator does on the wire:
 *
 *   JoinGroup (v9: first with an empty member id, answered MEMBER_ID_REQUIRED with the id to use,
 *   KIP-394; then again with that id) -> the leader runs the range assignor over the members'
 *   subscriptions -> SyncGroup (the leader sends every assignment, followers an empty list) ->
 *   a Heartbeat every `heartbeatMs` while stable; REBALANCE_IN_PROGRESS or ILLEGAL_GENERATION on a
 *   heartbeat (or a SyncGroup) means rejoin with the same id, UNKNOWN_MEMBER_ID rejoin with none.
 *
 * One request at a time per member (the broker answers a connection's JoinGroup only when the
 * rebalance completes, and no heartbeat is sent meanwhile, as in the Java client). Bounded: at most
 * `joinAttemptsMax` JoinGroup round trips per rejoin, every request under the connection's timeout.
 */
import {
  ConsumerProtocolAssignment,
  ConsumerProtocolSubscription,
  ErrorCode,
  HeartbeatRequest,
  HeartbeatResponse,
  JoinGroupRequest,
  JoinGroupResponse,
  LeaveGroupRequest,
  LeaveGroupResponse,
  Reader,
  SyncGroupRequest,
  SyncGroupResponse,
  Writer,
  errorName,
} from '@fjord/protocol';
import { BenchError } from './client.mjs';
import { nowNs } from './stats.mjs';

export const protocolType = 'consumer';
export const assignorName = 'range';
/** The consumer protocol versions the Java client 3.x writes (v3 subscription: with a rack id). */
const subscriptionVersion = 3;
const assignmentVersion = 3;
export const joinAttemptsMax = 50;
export const leaveTimeoutMs = 5_000;

function encodeVersioned(codec, version, message) {
  const w = new Writer(64);
  w.writeInt16(version);
  codec.encode(w, message, version);
  return w.toBuffer();
}

function decodeVersioned(codec, buf) {
  const version = buf.readInt16BE(0);
  return codec.decode(new Reader(buf, 2), Math.min(version, codec.maxVersion));
}

export function subscriptionBytes(topics, ownedPartitions = [], generationId = -1) {
  return encodeVersioned(ConsumerProtocolSubscription, subscriptionVersion, { topics, userData: null, ownedPartitions, generationId, rackId: null });
}

/**
 * Kafka's RangeAssignor for one topic: members sorted by member id, each gets a contiguous range,
 * the first (partitions % members) one partition more. Returns Map memberId -> partition numbers.
 */
export function rangeAssign(memberIds, partitions) {
  const sorted = [...memberIds].sort();
  const per = Math.floor(partitions / sorted.length);
  const extra = partitions % sorted.length;
  const out = new Map();
  let next = 0;
  sorted.forEach((id, i) => {
    const n = per + (i < extra ? 1 : 0);
    out.set(id, Array.from({ length: n }, (_, k) => next + k));
    next += n;
  });
  return out;
}

export class GroupMember {
  /**
   * options: { client (from openClient, this member's own connection), groupId, topic, partitions
   * (the topic's partition count, known from Metadata as a consumer's leader knows it),
   * sessionTimeoutMs, rebalanceTimeoutMs, heartbeatMs, onSynced(member), clientId }.
   */
  constructor(options) {
    this.o = options;
    this.conn = options.client.conn;
    this.versions = options.client.versions;
    this.memberId = '';
    this.generationId = -1;
    this.leader = false;
    /** Partitions of the topic held after the last successful SyncGroup. */
    this.assigned = null;
    this.stable = false;
    this.busy = false;
    this.rejoinWanted = false;
    this.heartbeatInFlight = false;
    this.closed = false;
    /** CLOCK_MONOTONIC ns of this member's first JoinGroup, of its last SyncGroup answer, of the first REBALANCE_IN_PROGRESS seen on a heartbeat since `markEpoch`. */
    this.firstJoinAt = null;
    this.syncedAt = null;
    this.noticedAt = null;
    this.counts = { joins: 0, memberIdRequired: 0, syncs: 0, heartbeats: 0, rebalanceNotices: 0 };
    this.errors = new Map();
    this.failure = null;
    this.timer = null;
  }

  /** Sends the first JoinGroup now (synchronously: the write happens inside this call) and starts heartbeating. */
  start() {
    this.timer = setInterval(() => this.tick(), this.o.heartbeatMs);
    void this.rejoin();
  }

  /** Forget the rebalance-notice time, so the next notice is timed afresh (between measurements). */
  markEpoch() {
    this.noticedAt = null;
  }

  countError(where, code) {
    const key = `${where}: ${errorName(code)}`;
    this.errors.set(key, (this.errors.get(key) ?? 0) + 1);
  }

  async rejoin() {
    if (this.closed) return;
    if (this.busy) {
      this.rejoinWanted = true;
      return;
    }
    this.busy = true;
    this.stable = false;
    try {
      let rounds = 0;
      do {
        if (++rounds > joinAttemptsMax) throw new BenchError(`asked to rejoin ${joinAttemptsMax} times in a row`);
        this.rejoinWanted = false;
        await this.joinAndSync();
      } while (this.rejoinWanted && !this.closed);
    } catch (err) {
      if (!this.closed) this.failure ??= `${this.o.clientId}: ${err.message}`;
    } finally {
      this.busy = false;
    }
  }

  async joinAndSync() {
    const v = this.versions;
    for (let attempt = 0; attempt < joinAttemptsMax; attempt++) {
      if (this.closed) return;
      this.firstJoinAt ??= nowNs();
      const j = await this.conn.request(JoinGroupRequest, JoinGroupResponse, v.JoinGroup, {
        groupId: this.o.groupId,
        sessionTimeoutMs: this.o.sessionTimeoutMs,
        rebalanceTimeoutMs: this.o.rebalanceTimeoutMs,
        memberId: this.memberId,
        groupInstanceId: null,
        protocolType,
        protocols: [{ name: assignorName, metadata: subscriptionBytes([this.o.topic], this.ownedPartitions(), this.generationId) }],
        reason: null,
      });
      this.counts.joins++;
      if (j.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
        this.counts.memberIdRequired++;
        this.memberId = j.memberId;
        continue;
      }
      if (j.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) {
        this.countError('JoinGroup', j.errorCode);
        this.memberId = '';
        continue;
      }
      if (j.errorCode === ErrorCode.REBALANCE_IN_PROGRESS) continue;
      if (j.errorCode !== ErrorCode.NONE) throw new BenchError(`JoinGroup ${this.o.groupId}: ${errorName(j.errorCode)}`);
      this.memberId = j.memberId;
      this.generationId = j.generationId;
      this.leader = j.leader === j.memberId;
      const assignments = this.leader ? this.assign(j.members) : [];
      const s = await this.conn.request(SyncGroupRequest, SyncGroupResponse, v.SyncGroup, {
        groupId: this.o.groupId,
        generationId: j.generationId,
        memberId: this.memberId,
        groupInstanceId: null,
        protocolType,
        protocolName: j.protocolName ?? assignorName,
        assignments,
      });
      this.counts.syncs++;
      if (s.errorCode === ErrorCode.REBALANCE_IN_PROGRESS || s.errorCode === ErrorCode.ILLEGAL_GENERATION) continue;
      if (s.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) {
        this.countError('SyncGroup', s.errorCode);
        this.memberId = '';
        continue;
      }
      if (s.errorCode !== ErrorCode.NONE) throw new BenchError(`SyncGroup ${this.o.groupId}: ${errorName(s.errorCode)}`);
      const a = s.assignment.length >= 2 ? decodeVersioned(ConsumerProtocolAssignment, s.assignment) : { assignedPartitions: [] };
      this.assigned = a.assignedPartitions.filter((tp) => tp.topic === this.o.topic).flatMap((tp) => tp.partitions);
      this.syncedAt = nowNs();
      if (this.rejoinWanted) return; // a heartbeat answer asked for another round meanwhile
      this.stable = true;
      this.o.onSynced?.(this);
      return;
    }
    throw new BenchError(`no stable membership after ${joinAttemptsMax} JoinGroup round trips`);
  }

  ownedPartitions() {
    return this.assigned && this.assigned.length ? [{ topic: this.o.topic, partitions: this.assigned }] : [];
  }

  /** The leader's part: the range assignor over the members' subscriptions (all to the same topic here). */
  assign(members) {
    for (const m of members) {
      const sub = decodeVersioned(ConsumerProtocolSubscription, m.metadata);
      if (!sub.topics.includes(this.o.topic)) throw new BenchError(`member ${m.memberId} is not subscribed to ${this.o.topic}`);
    }
    const plan = rangeAssign(members.map((m) => m.memberId), this.o.partitions);
    return [...plan].map(([memberId, partitions]) => ({
      memberId,
      assignment: encodeVersioned(ConsumerProtocolAssignment, assignmentVersion, { assignedPartitions: [{ topic: this.o.topic, partitions }], userData: null }),
    }));
  }

  tick() {
    if (this.closed || this.busy || !this.stable || this.heartbeatInFlight || this.conn.closed) return;
    this.heartbeatInFlight = true;
    const generationId = this.generationId;
    this.conn
      .request(HeartbeatRequest, HeartbeatResponse, this.versions.Heartbeat, { groupId: this.o.groupId, generationId, memberId: this.memberId, groupInstanceId: null })
      .then(
        (r) => {
          this.counts.heartbeats++;
          if (this.closed || r.errorCode === ErrorCode.NONE) return;
          if (r.errorCode === ErrorCode.REBALANCE_IN_PROGRESS) {
            this.counts.rebalanceNotices++;
            this.noticedAt ??= nowNs();
          } else {
            this.countError('Heartbeat', r.errorCode);
            if (r.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) this.memberId = '';
            else if (r.errorCode !== ErrorCode.ILLEGAL_GENERATION) {
              this.failure ??= `${this.o.clientId}: Heartbeat ${errorName(r.errorCode)}`;
              return;
            }
          }
          // A heartbeat of an older generation than the member holds now says nothing new.
          if (generationId === this.generationId) void this.rejoin();
        },
        (err) => {
          if (!this.closed) this.failure ??= `${this.o.clientId}: Heartbeat: ${err.message}`;
        },
      )
      .finally(() => {
        this.heartbeatInFlight = false;
      });
  }

  /** LeaveGroup (bounded by leaveTimeoutMs), then stops heartbeating. Does not close the connection. */
  async leave() {
    this.closed = true;
    clearInterval(this.timer);
    if (this.memberId === '' || this.conn.closed) return;
    let timer;
    const answer = this.conn.request(LeaveGroupRequest, LeaveGroupResponse, this.versions.LeaveGroup, {
      groupId: this.o.groupId,
      memberId: this.memberId,
      members: [{ memberId: this.memberId, groupInstanceId: null, reason: 'benchmark round done' }],
    });
    await Promise.race([answer.catch(() => {}), new Promise((r) => (timer = setTimeout(r, leaveTimeoutMs)))]);
    clearTimeout(timer);
  }
}
