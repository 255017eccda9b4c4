/**
 * Committed offsets: the commit rate of "simple" consumers (generation -1, no member id: a group per
 * client that nobody joins, as a consumer using assign() commits), and the bulk fill and check the
 * start-up workload needs.
 *
 * - commits: `clients` connections, each committing `partitionsPerRequest` partitions of its own
 *   (a disjoint slice of one topic) per OffsetCommit to its own group, with `inflight` requests
 *   outstanding per connection (1 = commitSync in a loop; more = commitAsync from a fast consumer).
 *   One commit = one partition offset. Bounded by `commits` (in all) and `seconds`; afterwards the
 *   last acknowledged offset of every partition is read back with OffsetFetch.
 * - fill: `groups` groups x `partitions` partitions, one OffsetCommit of every partition per group,
 *   offset = offsetBase + group * partitions + partition, over `connections` connections with
 *   `inflight` requests outstanding each. Bounded by `seconds`.
 * - verify: reads those offsets back with OffsetFetch (`groupsPerRequest` groups per request, v8+)
 *   and counts matches, wrong values and missing ones.
 */
import {
  ErrorCode,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
  Reader,
  Writer,
  errorName,
} from '@fjord/protocol';
import { BenchError, createTopics, findGroupCoordinator, openClient, requireApis } from './client.mjs';
import { nowNs, round, summarize } from './stats.mjs';

export const commitDefaults = {
  topic: 'lg-commit-topic',
  partitions: 100,
  clients: 10,
  partitionsPerRequest: 10,
  inflight: 1,
  commits: 1_000_000,
  seconds: 5,
  groupPrefix: 'lg-commit',
};

export const fillDefaults = {
  topic: 'lg-offsets-topic',
  partitions: 100,
  groups: 1000,
  groupPrefix: 'lg-load',
  offsetBase: 1,
  connections: 4,
  inflight: 4,
  seconds: 60,
  groupsPerRequest: 50,
};

const groupApis = ['FindCoordinator', 'OffsetCommit', 'OffsetFetch'];

/** An encoded OffsetCommit body: one group, generation -1, one topic, the given partitions and offsets. */
function commitBody(version, groupId, topic, partitions, offsetOf) {
  const w = new Writer(64 + partitions.length * 24);
  OffsetCommitRequest.encode(
    w,
    {
      groupId,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1n,
      topics: [{ name: topic, partitions: partitions.map((p) => ({ partitionIndex: p, committedOffset: offsetOf(p), committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: '' })) }],
    },
    version,
  );
  return w.toChunks();
}

/** Per-partition results of an OffsetCommit response: { ok, errors: Map name -> count, first }. */
function commitOutcome(frame, bodyOffset, version) {
  const res = OffsetCommitResponse.decode(new Reader(frame, bodyOffset), version);
  let ok = 0;
  let first = null;
  const errors = new Map();
  for (const t of res.topics) {
    for (const p of t.partitions) {
      if (p.errorCode === ErrorCode.NONE) ok++;
      else {
        const name = errorName(p.errorCode);
        errors.set(name, (errors.get(name) ?? 0) + 1);
        first ??= `${t.name}-${p.partitionIndex}: ${name}`;
      }
    }
  }
  return { ok, errors, first };
}

/**
 * OffsetFetch of `partitions` of `topic` for several groups; resolves with Map groupId -> Map
 * partition -> offset (number; -1 when none is committed). v8+ asks for many groups at once.
 */
export async function fetchCommitted(client, groupIds, topic, partitions) {
  const v = client.versions.OffsetFetch;
  const out = new Map();
  const partitionIndexes = Array.from({ length: partitions }, (_, p) => p);
  const record = (groupId, errorCode, topics) => {
    if (errorCode !== ErrorCode.NONE) throw new BenchError(`OffsetFetch ${groupId}: ${errorName(errorCode)}`);
    const m = new Map();
    for (const t of topics) {
      if (t.name !== topic) continue;
      for (const p of t.partitions) {
        if (p.errorCode !== ErrorCode.NONE) throw new BenchError(`OffsetFetch ${groupId} ${t.name}-${p.partitionIndex}: ${errorName(p.errorCode)}`);
        m.set(p.partitionIndex, Number(p.committedOffset));
      }
    }
    out.set(groupId, m);
  };
  if (v >= 8) {
    const res = await client.conn.request(OffsetFetchRequest, OffsetFetchResponse, v, {
      groups: groupIds.map((groupId) => ({ groupId, memberId: null, memberEpoch: -1, topics: [{ name: topic, partitionIndexes }] })),
      requireStable: false,
    });
    for (const g of res.groups) record(g.groupId, g.errorCode, g.topics);
  } else {
    for (const groupId of groupIds) {
      const res = await client.conn.request(OffsetFetchRequest, OffsetFetchResponse, v, { groupId, topics: [{ name: topic, partitionIndexes }], requireStable: false });
      record(groupId, res.errorCode, res.topics);
    }
  }
  return out;
}

/**
 * Keeps up to `inflight` requests outstanding on each client until `next()` returns null (or a
 * response fails); resolves when all are answered. `next(clientIndex)` returns
 * { chunks, onAnswer(frame, bodyOffset) } or null.
 */
function pump(clients, inflight, apiKey, version, next, state) {
  return new Promise((resolve) => {
    let active = clients.length;
    clients.forEach((client, ci) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        if (--active === 0) resolve();
      };
      const go = () => {
        while (state.firstError === null && client.conn.inflight < inflight) {
          const req = next(ci);
          if (req === null) break;
          const sentAt = nowNs();
          client.conn.sendRaw(apiKey, version, req.chunks).then(
            ({ frame, bodyOffset }) => {
              const at = nowNs();
              state.lastAnswer = at;
              state.latenciesMs.push(Number(at - sentAt) / 1e6);
              req.onAnswer(frame, bodyOffset);
              go();
            },
            (err) => {
              state.firstError ??= `${err.name}: ${err.message}`;
              if (client.conn.inflight === 0 || client.conn.closed) finish();
            },
          );
        }
        if (client.conn.inflight === 0) finish();
      };
      go();
    });
  });
}

function newState() {
  return { firstError: null, errors: new Map(), latenciesMs: [], lastAnswer: null, requests: 0, acked: 0 };
}

function addErrors(state, outcome) {
  for (const [k, n] of outcome.errors) state.errors.set(k, (state.errors.get(k) ?? 0) + n);
  if (outcome.first) state.firstError ??= outcome.first;
}

export async function runCommits(options) {
  const o = { ...commitDefaults, ...options };
  if (o.clients * o.partitionsPerRequest > o.partitions) throw new BenchError(`${o.clients} clients x ${o.partitionsPerRequest} partitions need a topic of at least ${o.clients * o.partitionsPerRequest} partitions`);
  const tag = Date.now().toString(36);
  const clients = [];
  try {
    for (let i = 0; i < o.clients; i++) clients.push(await openClient(o.bootstrap, { clientId: `fjord-bench-committer-${i}` }));
    requireApis(clients[0], groupApis);
    await createTopics(clients[0], [{ name: o.topic, partitions: o.partitions }]);
    const version = clients[0].versions.OffsetCommit;
    const members = clients.map((_, i) => ({
      groupId: `${o.groupPrefix}-${tag}-${i}`,
      partitions: Array.from({ length: o.partitionsPerRequest }, (_, k) => i * o.partitionsPerRequest + k),
      nextSeq: 1,
      ackedSeq: 0,
    }));
    for (const [i, m] of members.entries()) await findGroupCoordinator(clients[i], m.groupId);
    const state = newState();
    const perClientCommits = Math.ceil(o.commits / o.clients);
    const t0 = nowNs();
    const deadline = t0 + BigInt(Math.round(o.seconds * 1e9));
    await pump(clients, o.inflight, OffsetCommitRequest.apiKey, version, (ci) => {
      const m = members[ci];
      if ((m.nextSeq - 1) * o.partitionsPerRequest >= perClientCommits || nowNs() >= deadline) return null;
      const seq = m.nextSeq++;
      state.requests++;
      return {
        chunks: commitBody(version, m.groupId, o.topic, m.partitions, () => BigInt(seq)),
        onAnswer: (frame, bodyOffset) => {
          const r = commitOutcome(frame, bodyOffset, version);
          state.acked += r.ok;
          addErrors(state, r);
          if (r.ok === m.partitions.length) m.ackedSeq = seq;
        },
      };
    }, state);
    const secs = Number((state.lastAnswer ?? nowNs()) - t0) / 1e9;
    // Read back: every partition must hold the last offset acknowledged for it.
    let verified = 0;
    let wrong = 0;
    let example = null;
    const got = await fetchCommitted(clients[0], members.map((m) => m.groupId), o.topic, o.partitions);
    for (const m of members) {
      for (const p of m.partitions) {
        const v = got.get(m.groupId)?.get(p);
        if (v === m.ackedSeq) verified++;
        else {
          wrong++;
          example ??= `${m.groupId} ${o.topic}-${p}: fetched ${v}, last acknowledged ${m.ackedSeq}`;
        }
      }
    }
    if (wrong) state.firstError ??= `OffsetFetch after the commits: ${wrong} partitions differ from the last acknowledged commit (${example})`;
    return {
      workload: 'commits',
      clients: o.clients,
      partitionsPerRequest: o.partitionsPerRequest,
      inflight: o.inflight,
      offsetCommitVersion: version,
      commits: state.acked,
      requests: state.requests,
      secs: round(secs, 3),
      commitsPerSec: round(state.acked / secs, 0),
      requestsPerSec: round(state.requests / secs, 0),
      requestLatencyMs: summarize(state.latenciesMs),
      verifiedPartitions: verified,
      wrongPartitions: wrong,
      errors: Object.fromEntries(state.errors),
      firstError: state.firstError,
      complete: state.firstError === null, // bounded by count or by time: either is a full run
    };
  } finally {
    for (const c of clients) c.conn.close();
  }
}

const fillOffset = (base, g, partitions, p) => base + g * partitions + p;

export async function runOffsetsFill(options) {
  const o = { ...fillDefaults, ...options };
  const clients = [];
  try {
    for (let i = 0; i < o.connections; i++) clients.push(await openClient(o.bootstrap, { clientId: `fjord-bench-filler-${i}` }));
    requireApis(clients[0], groupApis);
    await createTopics(clients[0], [{ name: o.topic, partitions: o.partitions }]);
    await findGroupCoordinator(clients[0], `${o.groupPrefix}-0`);
    const version = clients[0].versions.OffsetCommit;
    const all = Array.from({ length: o.partitions }, (_, p) => p);
    const state = newState();
    let nextGroup = 0;
    const t0 = nowNs();
    const deadline = t0 + BigInt(Math.round(o.seconds * 1e9));
    await pump(clients, o.inflight, OffsetCommitRequest.apiKey, version, () => {
      if (nextGroup >= o.groups || nowNs() >= deadline) return null;
      const g = nextGroup++;
      state.requests++;
      return {
        chunks: commitBody(version, `${o.groupPrefix}-${g}`, o.topic, all, (p) => BigInt(fillOffset(o.offsetBase, g, o.partitions, p))),
        onAnswer: (frame, bodyOffset) => {
          const r = commitOutcome(frame, bodyOffset, version);
          state.acked += r.ok;
          addErrors(state, r);
        },
      };
    }, state);
    const secs = Number((state.lastAnswer ?? nowNs()) - t0) / 1e9;
    return {
      workload: 'offsets-fill',
      groups: o.groups,
      partitions: o.partitions,
      offsetBase: o.offsetBase,
      connections: o.connections,
      inflight: o.inflight,
      commits: state.acked,
      requests: state.requests,
      secs: round(secs, 3),
      commitsPerSec: round(state.acked / secs, 0),
      requestLatencyMs: summarize(state.latenciesMs),
      errors: Object.fromEntries(state.errors),
      firstError: state.firstError,
      complete: state.firstError === null && state.acked === o.groups * o.partitions,
    };
  } finally {
    for (const c of clients) c.conn.close();
  }
}

export async function runOffsetsVerify(options) {
  const o = { ...fillDefaults, ...options };
  const client = await openClient(o.bootstrap, { clientId: 'fjord-bench-offset-check' });
  try {
    requireApis(client, groupApis);
    let matched = 0;
    let wrong = 0;
    let missing = 0;
    const examples = [];
    const t0 = nowNs();
    const deadline = t0 + BigInt(Math.round(o.seconds * 1e9));
    let checkedGroups = 0;
    for (let g0 = 0; g0 < o.groups && nowNs() < deadline; g0 += o.groupsPerRequest) {
      const ids = [];
      for (let g = g0; g < Math.min(o.groups, g0 + o.groupsPerRequest); g++) ids.push(`${o.groupPrefix}-${g}`);
      const got = await fetchCommitted(client, ids, o.topic, o.partitions);
      ids.forEach((id, k) => {
        const g = g0 + k;
        for (let p = 0; p < o.partitions; p++) {
          const v = got.get(id)?.get(p);
          const want = fillOffset(o.offsetBase, g, o.partitions, p);
          if (v === want) matched++;
          else if (v === undefined || v === -1) missing++;
          else wrong++;
          if (v !== want && examples.length < 3) examples.push(`${id} ${o.topic}-${p}: ${v} (expected ${want})`);
        }
      });
      checkedGroups += ids.length;
    }
    const secs = Number(nowNs() - t0) / 1e9;
    const checked = matched + wrong + missing;
    return {
      workload: 'offsets-verify',
      groups: checkedGroups,
      checked,
      matched,
      wrong,
      missing,
      examples,
      secs: round(secs, 3),
      firstError: wrong || missing ? `${wrong} wrong and ${missing} missing offsets of ${checked} read back (${examples.join('; ')})` : checkedGroups < o.groups ? `only ${checkedGroups} of ${o.groups} groups read back within ${o.seconds} s` : null,
      complete: checked === o.groups * o.partitions && matched === checked,
    };
  } finally {
    client.conn.close();
  }
}
