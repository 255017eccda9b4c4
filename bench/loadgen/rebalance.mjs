/**
 * Classic-group rebalance time. Each round forms a fresh group of `members` members (each on its own
 * connection, see group-member.mjs) subscribed to one `partitions`-partition topic and measures:
 *
 * - stabilise: from the LAST member's first JoinGroup to the moment every member holds a SyncGroup
 *   answer for one and the same generation (so that generation holds them all). Members send their
 *   first JoinGroup together (`staggerMs` 0) or `staggerMs` apart, as consumers started one after
 *   another do.
 * - join of one more member (`extraMember`): after the group has been stable for `holdMs` (members
 *   heartbeating, plus a fraction of the heartbeat interval that differs per round), one more member
 *   joins; the others learn of the rebalance from a heartbeat answer (REBALANCE_IN_PROGRESS) and
 *   rejoin. Measured from the new member's first JoinGroup to every member holding its SyncGroup
 *   answer of the new generation.
 *
 * Every assignment is checked: each partition held by exactly one member. Bounded: `rounds` rounds,
 * no new round after `seconds`, each phase given at most `phaseTimeoutMs`.
 */
import { BenchError, createTopics, findGroupCoordinator, openClient, requireApis } from './client.mjs';
import { GroupMember } from './group-member.mjs';
import { nowNs, round, sleep } from './stats.mjs';

export const rebalanceDefaults = {
  topic: 'lg-group-topic',
  partitions: 100,
  members: 10,
  rounds: 5,
  heartbeatMs: 300,
  staggerMs: 0,
  extraMember: false,
  holdMs: 600,
  sessionTimeoutMs: 10_000,
  rebalanceTimeoutMs: 30_000,
  phaseTimeoutMs: 40_000,
  seconds: 120,
  groupPrefix: 'lg-rebalance',
};

const ms = (ns) => round(Number(ns) / 1e6, 1);

function stats(values) {
  const v = values.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  if (v.length === 0) return { n: 0, median: null, max: null, min: null };
  // With an even count, the higher of the two middle values (the less favourable one).
  return { n: v.length, median: v[Math.ceil((v.length - 1) / 2)], min: v[0], max: v[v.length - 1] };
}

/**
 * Resolves with the monotonic time (ns) at which every member in `members` holds a SyncGroup answer
 * of the same generation; rejects on a member failure or after `timeoutMs`.
 */
function waitStable(members, timeoutMs, waiters) {
  return new Promise((resolve, reject) => {
    const check = () => {
      const failed = members.find((m) => m.failure);
      if (failed) return done(new BenchError(failed.failure));
      const g = members[0].generationId;
      if (members.every((m) => m.stable && m.generationId === g)) return done(null, nowNs());
    };
    const timer = setTimeout(() => done(new BenchError(`the group did not stabilise within ${timeoutMs} ms: ${describe(members)}`)), timeoutMs);
    const poll = setInterval(check, 50); // member failures do not call onSynced
    const done = (err, at) => {
      clearTimeout(timer);
      clearInterval(poll);
      waiters.delete(check);
      if (err) reject(err);
      else resolve(at);
    };
    waiters.add(check);
    check();
  });
}

function describe(members) {
  return members.map((m) => `${m.o.clientId}:${m.stable ? 'stable' : m.busy ? 'joining' : 'idle'}@${m.generationId}`).join(' ');
}

/** Each partition exactly once over the members; returns a problem string or null. */
function checkAssignment(members, partitions) {
  const seen = new Array(partitions).fill(0);
  for (const m of members) for (const p of m.assigned ?? []) seen[p] = (seen[p] ?? 0) + 1;
  const bad = seen.map((n, p) => [p, n]).filter(([, n]) => n !== 1);
  if (bad.length) return `assignment of generation ${members[0].generationId}: ${bad.length} partitions not held exactly once (e.g. partition ${bad[0][0]} held ${bad[0][1]} times)`;
  return null;
}

export async function runRebalance(options) {
  const o = { ...rebalanceDefaults, ...options };
  const admin = await openClient(o.bootstrap, { clientId: 'fjord-bench-group-admin' });
  const tag = Date.now().toString(36);
  const roundsOut = [];
  let firstError = null;
  const t0 = nowNs();
  const deadline = t0 + BigInt(o.seconds * 1e9);
  try {
    requireApis(admin, ['FindCoordinator', 'JoinGroup', 'SyncGroup', 'Heartbeat', 'LeaveGroup']);
    const counts = await createTopics(admin, [{ name: o.topic, partitions: o.partitions }]);
    if (counts.get(o.topic) !== o.partitions) throw new BenchError(`${o.topic} has ${counts.get(o.topic)} partitions, expected ${o.partitions}`);
    for (let r = 1; r <= o.rounds && nowNs() < deadline; r++) {
      const groupId = `${o.groupPrefix}-${tag}-${r}`;
      // As a consumer does first; on a fresh broker this creates __consumer_offsets (not timed).
      await findGroupCoordinator(admin, groupId);
      try {
        roundsOut.push(await oneRound(o, groupId, r));
      } catch (err) {
        firstError ??= `round ${r}: ${err.message}`;
        roundsOut.push({ round: r, error: err.message });
        break;
      }
    }
  } finally {
    admin.conn.close();
  }
  const good = roundsOut.filter((x) => !x.error);
  const stabilise = stats(good.map((x) => x.stabiliseMs));
  const extra = stats(good.map((x) => x.extraJoin?.stabiliseMs));
  return {
    workload: 'rebalance',
    members: o.members,
    partitions: o.partitions,
    heartbeatMs: o.heartbeatMs,
    staggerMs: o.staggerMs,
    sessionTimeoutMs: o.sessionTimeoutMs,
    rebalanceTimeoutMs: o.rebalanceTimeoutMs,
    rounds: roundsOut,
    stabiliseMs: stabilise,
    extraJoinMs: o.extraMember ? extra : null,
    firstError,
    complete: firstError === null && good.length === o.rounds,
  };
}

async function oneRound(o, groupId, r) {
  const clients = [];
  const members = [];
  const waiters = new Set();
  const onSynced = () => {
    for (const w of [...waiters]) w();
  };
  const make = async (i) => {
    const clientId = `lg-member-${r}-${i}`;
    const client = await openClient(o.bootstrap, { clientId, requestTimeoutMs: o.rebalanceTimeoutMs + 10_000 });
    clients.push(client);
    return new GroupMember({ client, clientId, groupId, topic: o.topic, partitions: o.partitions, sessionTimeoutMs: o.sessionTimeoutMs, rebalanceTimeoutMs: o.rebalanceTimeoutMs, heartbeatMs: o.heartbeatMs, onSynced });
  };
  try {
    // Connections and ApiVersions first, so the timed part is the group protocol only.
    for (let i = 0; i < o.members; i++) members.push(await make(i));
    const stable = waitStable(members, o.phaseTimeoutMs, waiters);
    if (o.staggerMs > 0) {
      for (let i = 0; i < members.length; i++) {
        if (i > 0) await sleep(o.staggerMs);
        members[i].start();
      }
    } else {
      for (const m of members) m.start();
    }
    const stableAt = await stable;
    const firstJoins = members.map((m) => m.firstJoinAt);
    const lastFirstJoin = firstJoins.reduce((a, b) => (b > a ? b : a));
    const firstFirstJoin = firstJoins.reduce((a, b) => (b < a ? b : a));
    const problem = checkAssignment(members, o.partitions);
    if (problem) throw new BenchError(problem);
    const out = {
      round: r,
      stabiliseMs: ms(stableAt - lastFirstJoin),
      fromFirstJoinMs: ms(stableAt - firstFirstJoin),
      generation: members[0].generationId,
      joinRequests: members.reduce((s, m) => s + m.counts.joins, 0),
      syncRequests: members.reduce((s, m) => s + m.counts.syncs, 0),
    };
    if (o.extraMember) {
      // Stable for a while (heartbeats answered), then one more member joins. The members'
      // heartbeats run in step (they all synced at once), so when the newcomer arrives within the
      // heartbeat interval decides how long they take to notice: rounds spread it evenly over the
      // interval, from just after a heartbeat (worst case) onwards.
      await sleep(o.holdMs + Math.round((o.heartbeatMs * (r - 1)) / o.rounds));
      const hb = members.reduce((s, m) => s + m.counts.heartbeats, 0);
      for (const m of members) m.markEpoch();
      const generationBefore = members[0].generationId;
      const extra = await make(o.members);
      members.push(extra);
      const again = waitStable(members, o.phaseTimeoutMs, waiters);
      extra.start();
      const at = await again;
      const problem2 = checkAssignment(members, o.partitions);
      if (problem2) throw new BenchError(problem2);
      const notices = members.slice(0, -1).map((m) => (m.noticedAt === null ? null : ms(m.noticedAt - extra.firstJoinAt)));
      out.extraJoin = {
        stabiliseMs: ms(at - extra.firstJoinAt),
        generationBefore,
        generation: extra.generationId,
        heartbeatsWhileStable: hb,
        // When the existing members learnt of the rebalance from a heartbeat answer (ms after the new member's first JoinGroup).
        noticeMs: { max: notices.every((x) => x !== null) ? Math.max(...notices) : null, min: notices.some((x) => x !== null) ? Math.min(...notices.filter((x) => x !== null)) : null, missing: notices.filter((x) => x === null).length },
      };
    }
    const errors = {};
    for (const m of members) for (const [k, n] of m.errors) errors[k] = (errors[k] ?? 0) + n;
    if (Object.keys(errors).length) out.errors = errors;
    process.stderr.write(`rebalance round ${r}: stable ${out.stabiliseMs} ms after the last first JoinGroup (generation ${out.generation}, ${out.joinRequests} JoinGroup requests)${out.extraJoin ? `; member ${o.members + 1} joined: stable again after ${out.extraJoin.stabiliseMs} ms (generation ${out.extraJoin.generation}, rebalance noticed by heartbeat after ${out.extraJoin.noticeMs.min}-${out.extraJoin.noticeMs.max} ms)` : ''}\n`);
    return out;
  } finally {
    await Promise.all(members.map((m) => m.leave()));
    for (const c of clients) c.conn.close();
  }
}
