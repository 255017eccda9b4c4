// Acceptance: classic consumer groups (JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit,
// OffsetFetch) with real clients, each member its own process: confluent-kafka-python (librdkafka,
// eager range and cooperative-sticky), kafka-python (range, roundrobin), KafkaJS (roundrobin) and
// kcat -G.
// - two then three members of one group on a 6-partition topic hold disjoint, complete, balanced
//   assignments; a member that closes (LeaveGroup) hands its partitions over at once, one that is
//   killed with SIGKILL hands them over when its session times out;
// - with a synchronous commit after every record, a member joining mid-stream leaves every record
//   processed exactly once;
// - kcat -G reads a topic, commits on exit, and a second run resumes at the committed offsets.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type Broker } from '../harness/broker.js';
import { createTopics, produceCk } from '../harness/fixtures.js';
import { kcat } from '../harness/kcat.js';
import { describeRun } from '../harness/proc.js';
import { py } from '../harness/python.js';
import { topicName } from '../harness/util.js';
import {
  startMember,
  stopAll,
  waitBalanced,
  waitMembers,
  type Balanced,
  type Member,
  type MemberDriver,
  type MemberRequest,
} from '../harness/members.js';

const partitions = 6;
const sessionMs = 6_000;
let broker: Broker;

before(async () => {
  broker = await startBroker({ configs: { 'group.initial.rebalance.delay.ms': 0, 'group.min.session.timeout.ms': 1000 } });
}, { timeout: 60_000 });
after(async () => {
  await broker?.dispose();
}, { timeout: 60_000 });

/** `count` records spread round-robin over the partitions; values are `${tag}|${i}`. */
async function produceSpread(topic: string, tag: string, count: number, first = 0): Promise<string[]> {
  const records = Array.from({ length: count }, (_, j) => {
    const i = first + j;
    return { key: `k${i}`, value: `${tag}|${i}`, headers: [] as Array<[string, string | null]>, partition: i % partitions };
  });
  await produceCk(broker.bootstrap, topic, records);
  return records.map((r) => r.value);
}

function processedValues(members: readonly Member[]): string[] {
  return members.flatMap((m) => m.records().map((e) => e.v ?? ''));
}

function duplicates(values: readonly string[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const v of values) (seen.has(v) ? dup : seen).add(v);
  return [...dup];
}

interface Variant {
  id: string;
  driver: MemberDriver;
  strategy?: string;
  cooperative?: boolean;
  /** How the client's assignor lays out one topic: range = contiguous runs, roundrobin = p mod n. */
  shape?: 'range' | 'roundrobin';
  config?: Record<string, unknown>;
}

const variants: Variant[] = [
  { id: 'confluent-range', driver: 'ck', strategy: 'range', shape: 'range' },
  { id: 'confluent-cooperative-sticky', driver: 'ck', strategy: 'cooperative-sticky', cooperative: true },
  // Small polls so a rebalance is not held up behind a long batch of simulated work.
  { id: 'kafka-python-range', driver: 'kp', strategy: 'range', shape: 'range', config: { max_poll_records: 5 } },
  { id: 'kafka-python-roundrobin', driver: 'kp', strategy: 'roundrobin', shape: 'roundrobin', config: { max_poll_records: 5 } },
  { id: 'kafkajs-roundrobin', driver: 'kjs', shape: 'roundrobin' },
];

function checkShape(v: Variant, b: Balanced, what: string): void {
  const sets = [...b.byMember.values()];
  for (const s of sets) {
    if (v.shape === 'range') {
      assert.ok(s.every((p, i) => i === 0 || p === s[i - 1]! + 1), `${what}: range assignor gives contiguous partitions, got ${JSON.stringify(sets)}`);
    } else if (v.shape === 'roundrobin') {
      assert.ok(s.every((p) => p % sets.length === s[0]! % sets.length), `${what}: round-robin assignor gives p mod ${sets.length}, got ${JSON.stringify(sets)}`);
    }
  }
}

function isSubset(a: readonly number[], b: readonly number[]): boolean {
  return a.every((x) => b.includes(x));
}

describe('group membership: join, grow, leave, die', { concurrency: true }, () => {
  for (const v of variants) {
    test(`${v.id}: 2 then 3 members share 6 partitions; close hands over at once; kill -9 within the session timeout`, { timeout: 150_000 }, async (t) => {
      const topic = topicName(`grp-${v.id}`);
      const group = `${topic}-g`;
      await createTopics(broker.bootstrap, [{ name: topic, num_partitions: partitions }]);
      const produced = await produceSpread(topic, 'first', 60);
      const members: Member[] = [];
      const start = (name: string): Member => {
        const req: MemberRequest = {
          group,
          topic,
          commit: 'sync',
          session_timeout_ms: sessionMs,
          heartbeat_ms: 500,
          client_id: `${v.id}-${name}`,
          ...(v.strategy === undefined ? {} : { strategy: v.strategy }),
          ...(v.config === undefined ? {} : { config: v.config }),
        };
        const m = startMember(name, v.driver, broker.bootstrap, req);
        members.push(m);
        return m;
      };
      try {
        const a = start('a');
        const b = start('b');
        const two = await waitBalanced([a, b], partitions, 30_000);
        checkShape(v, two, 'two members');
        const marks = new Map([a, b].map((m) => [m.name, m.events.length]));

        const c = start('c');
        const three = await waitBalanced([a, b, c], partitions, 30_000);
        checkShape(v, three, 'three members');
        if (v.cooperative) {
          // Incremental cooperative rebalancing: the old members keep what they keep and give up only
          // what moves to the new member; they are never left with nothing in between.
          for (const m of [a, b]) {
            const before = two.byMember.get(m.name)!;
            const now = three.byMember.get(m.name)!;
            assert.ok(isSubset(now, before), `${m.name} kept ${JSON.stringify(now)}, a subset of ${JSON.stringify(before)} (sticky)`);
            for (const e of m.rebalanceEvents(marks.get(m.name))) {
              if (e.ev === 'revoked' || e.ev === 'lost')
                assert.ok(isSubset(e.removed ?? [], three.byMember.get('c')!), `${m.name} gave up only what c received: ${JSON.stringify(e)}`);
              assert.ok((e.now ?? []).length > 0, `${m.name} was left with no partitions during a cooperative rebalance: ${JSON.stringify(e)}`);
            }
          }
        }
        await waitMembers('every record of the first batch processed', members, () => produced.every((x) => processedValues(members).includes(x)), 30_000);

        // A member that closes leaves the group: the rebalance does not wait for its session to expire.
        const leaveAt = Date.now();
        await c.stop();
        const afterLeave = await waitBalanced([a, b], partitions, sessionMs + 15_000);
        const leaveMs = afterLeave.atMs - leaveAt;
        assert.ok(leaveMs < sessionMs, `after a member closed, its partitions moved in ${leaveMs} ms: the broker waited for its session (${sessionMs} ms) instead of honouring LeaveGroup`);

        // A member killed with SIGKILL sends nothing: its partitions move once its session times out.
        const killAt = Date.now();
        await b.kill9();
        // Produced after the kill, so only the survivor can process them, in every partition.
        const more = await produceSpread(topic, 'after-kill', 12, 60);
        const afterKill = await waitBalanced([a], partitions, sessionMs + 15_000);
        const killMs = afterKill.atMs - killAt;
        await waitMembers('the survivor to process the records produced after the kill', members, () => more.every((x) => a.records().some((e) => e.v === x)), 30_000);
        await a.stop();
        t.diagnostic(`two: ${JSON.stringify([...two.byMember])} three: ${JSON.stringify([...three.byMember])}; leave -> ${leaveMs} ms; kill -9 -> ${killMs} ms`);
      } finally {
        await stopAll(members);
      }
    });
  }
});

describe('exactly once across a rebalance with a synchronous commit per record', { concurrency: true }, () => {
  const eoVariants = variants.filter((v) => v.id !== 'kafka-python-roundrobin');
  for (const v of eoVariants) {
    test(`${v.id}: a member joins mid-stream; every record is processed exactly once`, { timeout: 120_000 }, async (t) => {
      const topic = topicName(`eo-${v.id}`);
      const group = `${topic}-g`;
      const count = 300;
      await createTopics(broker.bootstrap, [{ name: topic, num_partitions: partitions }]);
      const produced = await produceSpread(topic, 'eo', count);
      const members: Member[] = [];
      const start = (name: string): Member => {
        const m = startMember(name, v.driver, broker.bootstrap, {
          group,
          topic,
          commit: 'sync',
          process_ms: 15,
          session_timeout_ms: sessionMs,
          heartbeat_ms: 500,
          ...(v.strategy === undefined ? {} : { strategy: v.strategy }),
          ...(v.config === undefined ? {} : { config: v.config }),
        });
        members.push(m);
        return m;
      };
      try {
        const a = start('a');
        await waitMembers('the first member to process 30 records', members, () => a.records().length >= 30, 30_000);
        const b = start('b');
        await waitMembers(`all ${count} records processed`, members, () => new Set(processedValues(members)).size >= count, 60_000);
        // Give a stray redelivery time to show before counting.
        await new Promise((r) => setTimeout(r, 1_000));
        await Promise.all([a.stop(), b.stop()]);
        const values = processedValues(members);
        const missing = produced.filter((x) => !values.includes(x));
        assert.deepEqual(duplicates(values).slice(0, 10), [], 'records processed (and committed) twice');
        assert.deepEqual(missing.slice(0, 10), [], 'records never processed');
        assert.equal(values.length, count);
        assert.ok(b.records().length > 0, `the second member processed nothing: it did not join mid-stream\n${b.describe()}`);
        assert.ok(a.rebalanceEvents().length >= 2, `the first member saw no rebalance when the second joined\n${a.describe()}`);
        const failed = members.flatMap((m) => m.events.filter((e) => e.ev === 'commit_failed').map((e) => (e.err as { name?: string } | undefined)?.name ?? '?'));
        t.diagnostic(`a processed ${a.records().length}, b ${b.records().length}; ${failed.length} commits refused during the rebalance ${JSON.stringify([...new Set(failed)])}`);
      } finally {
        await stopAll(members);
      }
    });
  }
});

interface KcatRecord {
  partition: number;
  offset: number;
  payload: string | null;
}

function parseKcatJson(stdout: string): KcatRecord[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as KcatRecord);
}

describe('kcat -G', () => {
  test('a balanced kcat consumer reads every record, commits on exit, and the next run resumes there', { timeout: 90_000 }, async () => {
    const topic = topicName('grp-kcat');
    const group = `${topic}-g`;
    await createTopics(broker.bootstrap, [{ name: topic, num_partitions: partitions }]);
    const produced = await produceSpread(topic, 'kcat', 60);
    const base = ['-b', broker.bootstrap, '-m', '10', '-X', 'broker.address.family=v4', '-X', `session.timeout.ms=${sessionMs}`, '-X', 'heartbeat.interval.ms=500'];

    const r1 = await kcat([...base, '-G', group, '-o', 'beginning', '-c', '60', '-J', '-q', topic], { timeoutMs: 60_000 });
    assert.equal(r1.code, 0, describeRun('kcat -G (first run)', r1));
    const first = parseKcatJson(r1.stdout);
    assert.deepEqual(first.map((r) => r.payload).sort(), [...produced].sort(), 'the first run reads every record once');

    // kcat commits the offsets it consumed when it closes.
    const committed = await py<{ offsets: Record<string, number> }>('ck', 'committed', {
      bootstrap: broker.bootstrap,
      group,
      topic,
      partitions: Array.from({ length: partitions }, (_, p) => p),
    });
    assert.deepEqual(committed.offsets, Object.fromEntries(Array.from({ length: partitions }, (_, p) => [String(p), 10])), 'offsets committed by kcat');

    const extra = await produceSpread(topic, 'kcat-2', partitions, 60);
    const r2 = await kcat([...base, '-G', group, '-X', 'auto.offset.reset=earliest', '-c', String(partitions), '-e', '-J', '-q', topic], { timeoutMs: 60_000 });
    assert.equal(r2.code, 0, describeRun('kcat -G (second run)', r2));
    const second = parseKcatJson(r2.stdout);
    assert.deepEqual(
      second.map((r) => `${r.partition}@${r.offset}=${r.payload}`).sort(),
      extra.map((x, i) => `${(60 + i) % partitions}@10=${x}`).sort(),
      'the second run starts at the committed offsets',
    );
  });
});

describe('refusals', { concurrency: true }, () => {
  test('confluent-kafka: a session timeout below group.min.session.timeout.ms is refused with INVALID_SESSION_TIMEOUT', { timeout: 60_000 }, async () => {
    const topic = topicName('grp-session');
    await createTopics(broker.bootstrap, [{ name: topic, num_partitions: partitions }]);
    const m = startMember('low', 'ck', broker.bootstrap, { group: `${topic}-g`, topic, session_timeout_ms: 500, heartbeat_ms: 100, max_seconds: 30 });
    try {
      await waitMembers('the JoinGroup refusal', [m], () => m.events.some((e) => e.ev === 'error'), 20_000);
      const err = m.events.find((e) => e.ev === 'error')!.err as { code: number };
      assert.equal(err.code, 26, `JoinGroup with session.timeout.ms=500 (broker minimum 1000): ${JSON.stringify(err)}`);
      assert.equal(m.assignment(), undefined, 'a refused member is never assigned partitions');
      await m.stop();
    } finally {
      await stopAll([m]);
    }
  });

  test('confluent-kafka: a member beyond group.max.size is refused with GROUP_MAX_SIZE_REACHED and the group does not rebalance', { timeout: 90_000 }, async () => {
    const small = await startBroker({ configs: { 'group.initial.rebalance.delay.ms': 0, 'group.min.session.timeout.ms': 1000, 'group.max.size': 2 } });
    const members: Member[] = [];
    try {
      const topic = topicName('grp-maxsize');
      const group = `${topic}-g`;
      await createTopics(small.bootstrap, [{ name: topic, num_partitions: partitions }]);
      const start = (name: string): Member => {
        const m = startMember(name, 'ck', small.bootstrap, { group, topic, strategy: 'range', session_timeout_ms: sessionMs, heartbeat_ms: 500, max_seconds: 60 });
        members.push(m);
        return m;
      };
      const a = start('a');
      const b = start('b');
      const two = await waitBalanced([a, b], partitions, 30_000);
      const marks = [a.events.length, b.events.length];
      const c = start('c');
      await waitMembers('the third member to be refused', members, () => c.events.some((e) => e.ev === 'error'), 20_000);
      const err = c.events.find((e) => e.ev === 'error')!.err as { code: number };
      assert.equal(err.code, 81, `JoinGroup of a third member with group.max.size=2: ${JSON.stringify(err)}`);
      // A refused join must not disturb the members.
      await new Promise((r) => setTimeout(r, 2_000));
      assert.deepEqual([a.rebalanceEvents(marks[0]), b.rebalanceEvents(marks[1])], [[], []], 'the members saw a rebalance');
      assert.deepEqual([a.assignment(), b.assignment()], [two.byMember.get('a'), two.byMember.get('b')]);
      assert.equal(c.assignment(), undefined, 'the refused member was assigned partitions');
      await Promise.all(members.map((m) => m.stop()));
    } finally {
      await stopAll(members);
      await small.dispose();
    }
  });
});
