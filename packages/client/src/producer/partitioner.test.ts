import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StickyPartitioner, keyPartition } from './partitioner.js';

function seq(values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

describe('default partitioner', () => {
  it('keys: toPositive(murmur2) % n, Java vectors', () => {
    assert.equal(keyPartition(Buffer.from('foobar'), 7), (-790332482 & 0x7fffffff) % 7);
    assert.equal(keyPartition(Buffer.from('abc'), 16), 479470107 % 16);
    assert.equal(keyPartition(Buffer.from('21'), 16), (-973932308 & 0x7fffffff) % 16);
  });

  it('unkeyed: sticks to one partition until a new batch is needed (KIP-480)', () => {
    const s = new StickyPartitioner(seq([0.5, 0.1, 0.9]));
    const first = s.partition('t', 4, [0, 1, 2, 3]);
    assert.equal(first, 2);
    assert.equal(s.partition('t', 4, [0, 1, 2, 3]), first);
    const next = s.onNewBatch('t', 4, [0, 1, 2, 3], first);
    assert.notEqual(next, first, 'moves to another partition when there is one');
    assert.equal(s.partition('t', 4, [0, 1, 2, 3]), next);
    // A stale onNewBatch for a partition that is no longer sticky changes nothing.
    assert.equal(s.onNewBatch('t', 4, [0, 1, 2, 3], first), next);
  });

  it('unkeyed: only partitions with a leader, all partitions when none has one', () => {
    const s = new StickyPartitioner(() => 0.99);
    assert.equal(s.partition('a', 8, [5]), 5);
    assert.equal(s.partition('b', 3, []), 2);
    assert.equal(s.onNewBatch('c', 1, [0], 0), 0, 'a single partition is kept');
  });
});
