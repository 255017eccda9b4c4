import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cooperativeStickyAssignor, rangeAssignor, roundRobinAssignor, type Assignment, type AssignorMember } from './assignors.js';

const member = (memberId: string, topics: string[], owned: Array<[string, number]> = [], generation = 1): AssignorMember => ({
  memberId,
  groupInstanceId: null,
  topics,
  owned: owned.map(([topic, partition]) => ({ topic, partition })),
  generation,
});

function flat(a: Assignment): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [m, t] of a) out[m] = [...t].flatMap(([topic, ps]) => ps.map((p) => `${topic}-${p}`)).sort();
  return out;
}

describe('assignors', () => {
  const counts = new Map([['a', 3], ['b', 2]]);

  it('range: per topic, consecutive ranges, the first members get the extra partitions (Kafka RangeAssignor)', () => {
    const r = flat(rangeAssignor.assign([member('m2', ['a', 'b']), member('m1', ['a', 'b'])], counts));
    assert.deepEqual(r, { m1: ['a-0', 'a-1', 'b-0'], m2: ['a-2', 'b-1'] });
  });

  it('roundrobin: all partitions in topic order dealt over members in order', () => {
    const r = flat(roundRobinAssignor.assign([member('m2', ['a', 'b']), member('m1', ['a', 'b'])], counts));
    assert.deepEqual(r, { m1: ['a-0', 'a-2', 'b-1'], m2: ['a-1', 'b-0'] });
  });

  it('cooperative-sticky: keeps owned partitions and withholds the ones that must move until their owner revokes them', () => {
    const six = new Map([['t', 6]]);
    // m1 owned everything; m2 is new: m1 keeps 3, the other 3 are withheld this round.
    const round1 = flat(cooperativeStickyAssignor.assign([member('m1', ['t'], [0, 1, 2, 3, 4, 5].map((p) => ['t', p])), member('m2', ['t'])], six));
    assert.deepEqual(round1, { m1: ['t-0', 't-1', 't-2'], m2: [] });
    // m1 revoked 3-5 and rejoined: now they go to m2.
    const round2 = flat(cooperativeStickyAssignor.assign([member('m1', ['t'], [['t', 0], ['t', 1], ['t', 2]], 2), member('m2', ['t'], [], 2)], six));
    assert.deepEqual(round2, { m1: ['t-0', 't-1', 't-2'], m2: ['t-3', 't-4', 't-5'] });
  });

  it('every assignor: disjoint and complete, sizes within one', () => {
    for (const a of [rangeAssignor, roundRobinAssignor, cooperativeStickyAssignor]) {
      for (let n = 1; n <= 4; n++) {
        const members = Array.from({ length: n }, (_, i) => member(`m${i}`, ['t']));
        const r = flat(a.assign(members, new Map([['t', 7]])));
        const all = Object.values(r).flat().sort();
        assert.deepEqual(all, Array.from({ length: 7 }, (_, p) => `t-${p}`).sort(), `${a.name} ${n}`);
        const sizes = Object.values(r).map((x) => x.length);
        assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `${a.name} ${n}: ${sizes}`);
      }
    }
  });
});
