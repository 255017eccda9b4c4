// The share groups' SimpleAssignor: balance first (every partition shared by ceil(members /
// partitions) members, members' shares within one), then stickiness; per topic when subscriptions differ.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assignShareGroup, type ShareAssignment } from './share-assignor.js';

const member = (memberId: string, topicIds: string[], current: ShareAssignment = new Map()) => ({ memberId, topicIds: new Set(topicIds), current });
const flat = (a: ShareAssignment | undefined): string[] => [...(a ?? new Map<string, number[]>())].flatMap(([t, ps]) => ps.map((p) => `${t}${p}`)).sort();

test('fewer members than partitions: each partition to one member, shares within one', () => {
  const out = assignShareGroup([member('a', ['t']), member('b', ['t'])], new Map([['t', 3]]));
  const a = flat(out.get('a'));
  const b = flat(out.get('b'));
  assert.deepEqual([...a, ...b].sort(), ['t0', 't1', 't2']);
  assert.deepEqual([a.length, b.length], [2, 1]);
});

test('more members than partitions: partitions are shared', () => {
  const out = assignShareGroup([member('a', ['t']), member('b', ['t']), member('c', ['t'])], new Map([['t', 1]]));
  for (const m of ['a', 'b', 'c']) assert.deepEqual(flat(out.get(m)), ['t0']);
  const two = assignShareGroup([member('a', ['t']), member('b', ['t']), member('c', ['t'])], new Map([['t', 2]]));
  // ceil(3 / 2) = 2 members per partition, 4 pairs over 3 members.
  const counts = ['a', 'b', 'c'].map((m) => flat(two.get(m)).length).sort();
  assert.deepEqual(counts, [1, 1, 2]);
  for (const p of ['t0', 't1']) assert.equal(['a', 'b', 'c'].filter((m) => flat(two.get(m)).includes(p)).length, 2);
});

test('sticky: a member keeps what it had when a member joins', () => {
  const first = assignShareGroup([member('a', ['t'])], new Map([['t', 4]]));
  assert.deepEqual(flat(first.get('a')), ['t0', 't1', 't2', 't3']);
  const second = assignShareGroup([member('a', ['t'], first.get('a')), member('b', ['t'])], new Map([['t', 4]]));
  const a = flat(second.get('a'));
  assert.equal(a.length, 2);
  assert.ok(a.every((p) => flat(first.get('a')).includes(p)));
  assert.deepEqual([...a, ...flat(second.get('b'))].sort(), ['t0', 't1', 't2', 't3']);
});

test('different subscriptions: each topic among its subscribers; missing topics give nothing', () => {
  const out = assignShareGroup([member('a', ['t', 'u']), member('b', ['u'])], new Map([['t', 2], ['u', 1]]));
  assert.deepEqual(flat(out.get('a')), ['t0', 't1', 'u0']);
  assert.deepEqual(flat(out.get('b')), ['u0']);
  assert.deepEqual(flat(assignShareGroup([member('a', [])], new Map()).get('a')), []);
});
