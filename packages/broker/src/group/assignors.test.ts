import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { assignmentSize, rangeAssignor, uniformAssignor, type Assignment, type AssignmentInput, type AssignmentMember, type ServerAssignor } from './assignors.js';

type Plain = Record<string, number[]>;

const toA = (p: Plain): Assignment => new Map(Object.entries(p).map(([t, parts]) => [t, new Set(parts)]));
const plain = (a: Assignment | undefined): Plain =>
  Object.fromEntries(
    [...(a ?? new Map())]
      .filter(([, s]) => s.size > 0)
      .sort((x, y) => (x[0] < y[0] ? -1 : 1))
      .map(([t, s]) => [t, [...s].sort((x, y) => x - y)]),
  );

function input(members: Record<string, { topics: string[]; has?: Plain }>, counts: Record<string, number>): AssignmentInput {
  return {
    members: new Map<string, AssignmentMember>(Object.entries(members).map(([id, m]) => [id, { subscribedTopicIds: new Set(m.topics), assignment: toA(m.has ?? {}) }])),
    partitionCounts: new Map(Object.entries(counts)),
  };
}

function run(a: ServerAssignor, i: AssignmentInput): Record<string, Plain> {
  const out = a.assign(i);
  return Object.fromEntries([...i.members.keys()].map((id) => [id, plain(out.get(id))]));
}

/** Every subscribed partition has exactly one owner, and only a subscriber owns it. */
function assertValid(i: AssignmentInput, out: Map<string, Assignment>): void {
  const owner = new Map<string, string>();
  for (const [id, a] of out) {
    for (const [t, parts] of a) {
      assert.ok(i.members.get(id)!.subscribedTopicIds.has(t), `${id} got ${t} it does not subscribe to`);
      for (const p of parts) {
        assert.ok(p < i.partitionCounts.get(t)!, `${t}-${p} does not exist`);
        assert.equal(owner.get(`${t}-${p}`), undefined, `${t}-${p} has two owners`);
        owner.set(`${t}-${p}`, id);
      }
    }
  }
  for (const [t, n] of i.partitionCounts) {
    const subscribed = [...i.members.values()].some((m) => m.subscribedTopicIds.has(t));
    for (let p = 0; p < n; p++) assert.equal(owner.has(`${t}-${p}`), subscribed, `${t}-${p} ${subscribed ? 'unassigned' : 'assigned without subscribers'}`);
  }
}

test('uniform: one member gets every partition; a second member takes half, the first keeps the rest (sticky)', () => {
  let r = run(uniformAssignor, input({ a: { topics: ['t'] } }, { t: 6 }));
  assert.deepEqual(r, { a: { t: [0, 1, 2, 3, 4, 5] } });
  r = run(uniformAssignor, input({ a: { topics: ['t'], has: r.a }, b: { topics: ['t'] } }, { t: 6 }));
  assert.deepEqual(r, { a: { t: [0, 1, 2] }, b: { t: [3, 4, 5] } });
  // A third member: each keeps two of its three, the newcomer gets the two released.
  r = run(uniformAssignor, input({ a: { topics: ['t'], has: r.a }, b: { topics: ['t'], has: r.b }, c: { topics: ['t'] } }, { t: 6 }));
  assert.deepEqual(r, { a: { t: [0, 1] }, b: { t: [3, 4] }, c: { t: [2, 5] } });
  // b leaves: a and c keep theirs and share b's.
  r = run(uniformAssignor, input({ a: { topics: ['t'], has: r.a }, c: { topics: ['t'], has: r.c } }, { t: 6 }));
  assert.deepEqual(r, { a: { t: [0, 1, 3] }, c: { t: [2, 4, 5] } });
});

test('uniform: partitions added to a topic go to the members with room, nothing else moves', () => {
  const r = run(uniformAssignor, input({ a: { topics: ['t'], has: { t: [0, 1] } }, b: { topics: ['t'], has: { t: [2, 3] } } }, { t: 6 }));
  assert.deepEqual(r, { a: { t: [0, 1, 4] }, b: { t: [2, 3, 5] } });
});

test('uniform: balanced within one partition across topics', () => {
  const i = input({ a: { topics: ['x', 'y'] }, b: { topics: ['x', 'y'] }, c: { topics: ['x', 'y'] } }, { x: 4, y: 3 });
  const out = uniformAssignor.assign(i);
  assertValid(i, out);
  const sizes = [...i.members.keys()].map((id) => assignmentSize(out.get(id)!));
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `sizes ${sizes}`);
});

test('uniform, different subscriptions: each member only gets its topics, the load is balanced where subscriptions allow', () => {
  const i = input({ a: { topics: ['x'] }, b: { topics: ['x', 'y'] }, c: { topics: ['y'] } }, { x: 6, y: 2 });
  const out = uniformAssignor.assign(i);
  assertValid(i, out);
  const sizes = ['a', 'b', 'c'].map((id) => assignmentSize(out.get(id)!));
  assert.deepEqual([...sizes].sort(), [2, 3, 3]);
  // Sticky: run again with the result as the current assignment: nothing moves.
  const again = uniformAssignor.assign({ ...i, members: new Map([...i.members].map(([id, m]) => [id, { ...m, assignment: out.get(id)! }])) });
  for (const id of ['a', 'b', 'c']) assert.deepEqual(plain(again.get(id)), plain(out.get(id)));
});

test('uniform: a member that drops a topic gives its partitions up, then the load is rebalanced', () => {
  const r = run(uniformAssignor, input({ a: { topics: ['x'], has: { x: [0, 1], y: [0] } }, b: { topics: ['x', 'y'], has: { x: [2, 3], y: [1] } } }, { x: 4, y: 2 }));
  // b takes y-0 that a dropped (4 against 2), then hands one x partition over: 3 each.
  assert.deepEqual(r.a, { x: [0, 1, 3] });
  assert.deepEqual(r.b, { x: [2], y: [0, 1] });
});

test('uniform and range: valid assignments for random groups (fast-check)', () => {
  const topics = ['t0', 't1', 't2', 't3'];
  const arb = fc.record({
    counts: fc.tuple(...topics.map(() => fc.integer({ min: 0, max: 12 }))),
    members: fc.array(fc.subarray(topics, { minLength: 0 }), { minLength: 1, maxLength: 7 }),
  });
  fc.assert(
    fc.property(arb, ({ counts, members }) => {
      const partitionCounts = new Map(topics.map((t, k) => [t, counts[k]!]));
      const i: AssignmentInput = {
        members: new Map(members.map((subs, k) => [`m${k}`, { subscribedTopicIds: new Set(subs), assignment: new Map() }])),
        partitionCounts,
      };
      for (const a of [uniformAssignor, rangeAssignor]) {
        const out = a.assign(i);
        assertValid(i, out);
        // A second round from the first result is stable (sticky): nothing moves.
        const again = a.assign({ ...i, members: new Map([...i.members].map(([id, m]) => [id, { ...m, assignment: out.get(id) ?? new Map() }])) });
        for (const id of i.members.keys()) assert.deepEqual(plain(again.get(id)), plain(out.get(id)), `${a.name} moved partitions of ${id}`);
      }
      // Uniform with one subscription for all: sizes within one.
      if (members.every((m) => m.length === members[0]!.length && m.every((t) => members[0]!.includes(t)))) {
        const out = uniformAssignor.assign(i);
        const sizes = [...i.members.keys()].map((id) => assignmentSize(out.get(id) ?? new Map()));
        assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
      }
    }),
    { numRuns: 300 },
  );
});

test('range: contiguous ranges per topic, the first members get the extra partition', () => {
  const r = run(rangeAssignor, input({ a: { topics: ['t'] }, b: { topics: ['t'] }, c: { topics: ['t'] } }, { t: 7 }));
  assert.deepEqual(r, { a: { t: [0, 1, 2] }, b: { t: [3, 4] }, c: { t: [5, 6] } });
});

test('range: co-partitioned topics give each member the same partition numbers', () => {
  const r = run(rangeAssignor, input({ a: { topics: ['orders', 'payments'] }, b: { topics: ['orders', 'payments'] } }, { orders: 4, payments: 4 }));
  assert.deepEqual(r, { a: { orders: [0, 1], payments: [0, 1] }, b: { orders: [2, 3], payments: [2, 3] } });
});

test('range: per-topic subscribers only; sticky when a member joins', () => {
  let r = run(rangeAssignor, input({ a: { topics: ['x', 'y'] }, b: { topics: ['x'] } }, { x: 4, y: 3 }));
  assert.deepEqual(r, { a: { x: [0, 1], y: [0, 1, 2] }, b: { x: [2, 3] } });
  r = run(rangeAssignor, input({ a: { topics: ['x', 'y'], has: r.a }, b: { topics: ['x'], has: r.b }, c: { topics: ['y'] } }, { x: 4, y: 3 }));
  assert.deepEqual(r, { a: { x: [0, 1], y: [0, 1] }, b: { x: [2, 3] }, c: { y: [2] } });
});
