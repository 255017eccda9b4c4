import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Assignment } from './assignors.js';
import { compileTopicRegex, ConsumerGroup, MemberState, newMember, reconcile, records, type ConsumerGroupHost, type ConsumerMember, type ReconcileInput } from './consumer-group.js';
import { decodeRecord } from './records.js';

const T = 'AAAAAAAAAAAAAAAAAAAAAg'; // a topic id
const a = (...parts: number[]): Assignment => new Map(parts.length ? [[T, new Set(parts)]] : []);
const parts = (x: Assignment): number[] => [...(x.get(T) ?? [])].sort((p, q) => p - q);
const owned = (...p: number[]) => [{ topicId: T, partitions: p }];

function member(over: Partial<ConsumerMember>): ConsumerMember {
  return { ...newMember('m1'), ...over };
}

function input(over: Partial<ReconcileInput>): ReconcileInput {
  return { assignmentEpoch: 2, target: a(), owned: null, ownerOf: () => undefined, ...over };
}

test('reconcile: a stable member asked to give partitions up keeps its epoch until it revokes them', () => {
  const m = member({ memberEpoch: 1, previousMemberEpoch: 0, assigned: a(0, 1, 2, 3, 4, 5) });
  const asked = reconcile(m, input({ target: a(0, 1, 2), owned: owned(0, 1, 2, 3, 4, 5), ownerOf: () => 'm1' }))!;
  assert.equal(asked.state, MemberState.UNREVOKED_PARTITIONS);
  assert.equal(asked.memberEpoch, 1, 'the epoch stays until the revocation is acknowledged');
  assert.deepEqual([parts(asked.assigned), parts(asked.pendingRevocation)], [[0, 1, 2], [3, 4, 5]]);
  // A heartbeat that does not report owned partitions (null: unchanged) does not count as revoked.
  assert.equal(reconcile(asked, input({ target: a(0, 1, 2), owned: null })), asked);
  assert.equal(reconcile(asked, input({ target: a(0, 1, 2), owned: owned(0, 1, 2, 5) })), asked);
  const done = reconcile(asked, input({ target: a(0, 1, 2), owned: owned(0, 1, 2) }))!;
  assert.deepEqual([done.state, done.memberEpoch, done.previousMemberEpoch], [MemberState.STABLE, 2, 1]);
  assert.deepEqual([parts(done.assigned), parts(done.pendingRevocation)], [[0, 1, 2], []]);
});

test('reconcile: a partition goes to a member only once its previous owner released it', () => {
  const b = member({ memberId: 'b' });
  let owner: string | undefined = 'a';
  const ownerOf = (_t: string, p: number) => (p >= 3 ? owner : undefined);
  const waiting = reconcile(b, input({ target: a(3, 4, 5), owned: [], ownerOf }))!;
  assert.deepEqual([waiting.state, waiting.memberEpoch, parts(waiting.assigned)], [MemberState.UNRELEASED_PARTITIONS, 2, []]);
  assert.deepEqual(parts(reconcile(waiting, input({ target: a(3, 4, 5), owned: [], ownerOf }))!.assigned), []);
  owner = undefined;
  const got = reconcile(waiting, input({ target: a(3, 4, 5), owned: [], ownerOf }))!;
  assert.deepEqual([got.state, got.memberEpoch, parts(got.assigned)], [MemberState.STABLE, 2, [3, 4, 5]]);
  // Free partitions are given at once and the rest waited for.
  const partly = reconcile(b, input({ target: a(2, 3), owned: [], ownerOf: (_t, p) => (p === 3 ? 'a' : undefined) }))!;
  assert.deepEqual([partly.state, parts(partly.assigned)], [MemberState.UNRELEASED_PARTITIONS, [2]]);
});

test('reconcile: a revoked partition that comes back in the target is the member\'s own, not waited for', () => {
  const m = member({ memberEpoch: 1, state: MemberState.UNREVOKED_PARTITIONS, assigned: a(0), pendingRevocation: a(1) });
  // As in Kafka, the member first acknowledges the revocation (it still reports 1: it stays)...
  assert.equal(reconcile(m, input({ target: a(0, 1), owned: owned(0, 1), ownerOf: () => 'm1' })), m);
  // ...then partition 1, which the group still lists as this member's, is given back at once.
  const next = reconcile(m, input({ target: a(0, 1), owned: owned(0), ownerOf: () => 'm1' }))!;
  assert.deepEqual([next.state, next.memberEpoch, parts(next.assigned), parts(next.pendingRevocation)], [MemberState.STABLE, 2, [0, 1], []]);
});

test('reconcile: a reconciled member is returned as is; an unknown state is fenced unless the member owns nothing', () => {
  const m = member({ memberEpoch: 2, assigned: a(1) });
  assert.equal(reconcile(m, input({ target: a(1) })), m);
  const unknown = member({ memberEpoch: 1, state: MemberState.UNKNOWN, assigned: a(1) });
  assert.equal(reconcile(unknown, input({ target: a(1), owned: owned(1) })), undefined);
  assert.equal(reconcile(unknown, input({ target: a(1), owned: null })), undefined);
  const fresh = reconcile(unknown, input({ target: a(1), owned: [] }))!;
  assert.deepEqual([fresh.state, fresh.memberEpoch, parts(fresh.assigned)], [MemberState.STABLE, 2, [1]]);
});

function host(): ConsumerGroupHost {
  const topic = { name: 'orders', topicId: T, partitions: [0, 1, 2].map((p) => ({ partition: p, leader: 1, leaderEpoch: 0, partitionEpoch: 0, replicas: [1], isr: [1] })), configs: {}, createdAtMs: 0 };
  return { now: () => 1000, topic: (n) => (n === 'orders' ? topic : undefined), topicById: (id) => (id === T ? topic : undefined), schedule: () => () => {}, warn: () => {} };
}

test('records: a group rebuilt from its encoded records equals the group that wrote them; tombstones empty it', () => {
  const g = new ConsumerGroup('g', 0, host());
  const m1: ConsumerMember = { ...newMember('m1'), clientId: 'c', clientHost: '/127.0.0.1', subscribedTopicNames: ['orders'], rebalanceTimeoutMs: 300000, serverAssignor: 'range', instanceId: 'i1' };
  const written = [
    records.member('g', m1),
    records.groupEpoch('g', 1, 42n),
    records.targetMember('g', 'm1', a(0, 1, 2)),
    records.targetEpoch('g', 1, 1000),
    records.current('g', { ...m1, memberEpoch: 1, previousMemberEpoch: 0, assigned: a(0, 1), pendingRevocation: a(2), state: MemberState.UNREVOKED_PARTITIONS }),
    records.regex('g', 'ord.*', ['orders'], 1n, 1000),
  ];
  for (const r of written) g.replay(r.recordType, r.key, r.value);
  const copy = new ConsumerGroup('g', 0, host());
  for (const r of written) {
    const d = decodeRecord(r.bytes.key, r.bytes.value)!;
    copy.replay(d.recordType, d.key, d.value);
  }
  assert.deepEqual(copy.describeConsumer('uniform'), g.describeConsumer('uniform'));
  assert.deepEqual([copy.groupEpoch, copy.metadataHash, copy.assignmentEpoch, copy.stateName()], [1, 42n, 1, 'Reconciling']);
  assert.equal(copy.ownerOf(T, 2), 'm1', 'partitions pending revocation are still owned');
  assert.equal(copy.staticMember('i1')?.memberId, 'm1');
  assert.deepEqual([...copy.regexes.get('ord.*')!.topics], ['orders']);
  assert.equal(copy.describeConsumer('uniform').assignorName, 'range');
  assert.ok(copy.isSubscribedTo('orders'));
  for (const r of copy.tombstoneRecords()) {
    const d = decodeRecord(r.bytes.key, r.bytes.value)!;
    copy.replay(d.recordType, d.key, d.value);
  }
  assert.deepEqual([copy.members.size, copy.target.size, copy.regexes.size, copy.groupEpoch, copy.stateName()], [0, 0, 0, 0, 'Empty']);
  assert.equal(copy.ownerOf(T, 0), undefined);
});

test('offset commit and fetch validation with member epochs', () => {
  const g = new ConsumerGroup('g', 0, host());
  const who = (memberId: string, epoch: number, apiVersion = 9) => ({ memberId, groupInstanceId: null, generationIdOrMemberEpoch: epoch, apiVersion });
  assert.equal(g.validateOffsetCommit(who('', -1, 2)), 0, 'anyone may commit into an empty group');
  for (const r of [records.member('g', { ...newMember('m1'), subscribedTopicNames: ['orders'] }), records.current('g', { ...newMember('m1'), memberEpoch: 3 })]) g.replay(r.recordType, r.key, r.value);
  assert.equal(g.validateOffsetCommit(who('', -1)), 19 + 6, 'UNKNOWN_MEMBER_ID once the group has members');
  assert.equal(g.validateOffsetCommit(who('m1', 3)), 0);
  assert.equal(g.validateOffsetCommit(who('m1', 2)), 113, 'STALE_MEMBER_EPOCH');
  assert.equal(g.validateOffsetCommit(who('m1', 4)), 113);
  assert.equal(g.validateOffsetCommit(who('m1', 3, 8)), 35, 'UNSUPPORTED_VERSION: a consumer-protocol member commits with v9+');
  assert.equal(g.validateOffsetCommit(who('nobody', 3)), 25);
  assert.equal(g.validateOffsetFetch(null, -1), 0);
  assert.equal(g.validateOffsetFetch('m1', 3), 0);
  assert.equal(g.validateOffsetFetch('m1', 1), 113);
  assert.equal(g.validateOffsetFetch('ghost', 3), 25);
});

test('subscription regexes: RE2/J syntax translated to whole-name JS matches, or refused with a reason', () => {
  const matches = (re: string, name: string): boolean => {
    const c = compileTopicRegex(re);
    assert.ok(c instanceof RegExp, `${re}: ${JSON.stringify(c)}`);
    return c.test(name);
  };
  assert.ok(matches('orders-.*', 'orders-eu'));
  assert.ok(!matches('orders-.*', 'xorders-eu'), 'the whole name must match, as RE2/J matches()');
  assert.ok(!matches('orders', 'orders-eu'));
  assert.ok(matches('(?i)ORDERS', 'orders'));
  assert.ok(matches('(?P<kind>orders|payments)-\\d+', 'payments-12'));
  assert.ok(matches('\\Qa.b\\E', 'a.b'));
  assert.ok(!matches('\\Qa.b\\E', 'axb'));
  assert.ok(matches('[[:alpha:]]+-[[:digit:]]+', 'abc-123'));
  assert.ok(matches('\\pL+', 'abc'));
  assert.ok(matches('\\Aab\\z', 'ab'));
  assert.ok(matches('[]a]+', ']a'));
  for (const bad of ['(?=x)x', '(a)\\1', '[a-', '(?i:a)b', '(?U)a', '[[:^alpha:]]', '*a', '\\C']) {
    const c = compileTopicRegex(bad);
    assert.ok(!(c instanceof RegExp), `${bad} must be refused`);
  }
});
