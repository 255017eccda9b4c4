import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FetchSession, type SessionPartition } from './fetch-session.js';

const p = (partition: number, fetchOffset: bigint): [string, SessionPartition] => [`t\u0000${partition}`, { topic: 't', topicId: 'id', partition, fetchOffset, maxBytes: 100 }];

describe('FetchSession (KIP-227)', () => {
  it('full first, then only changed partitions and the forgotten ones; an error starts over', () => {
    const s = new FetchSession(true);
    const r1 = s.build(new Map([p(0, 0n), p(1, 0n)]));
    assert.equal(r1.full, true);
    assert.deepEqual([r1.sessionId, r1.sessionEpoch, r1.toSend.length], [0, 0, 2]);
    s.onResponse(r1, 42);
    const r2 = s.build(new Map([p(0, 5n), p(1, 0n)]));
    assert.deepEqual([r2.full, r2.sessionId, r2.sessionEpoch], [false, 42, 1]);
    assert.deepEqual(r2.toSend.map((x) => x.partition), [0]);
    s.onResponse(r2, 42);
    const r3 = s.build(new Map([p(0, 5n)]));
    assert.deepEqual([r3.sessionEpoch, r3.toSend.length, r3.toForget.map((x) => x.partition)], [2, 0, [1]]);
    s.reset();
    const r4 = s.build(new Map([p(0, 5n)]));
    assert.deepEqual([r4.full, r4.sessionId, r4.sessionEpoch], [true, 0, 0]);
  });

  it('disabled: every request is a sessionless full fetch (epoch -1)', () => {
    const s = new FetchSession(false);
    const r = s.build(new Map([p(0, 0n)]));
    s.onResponse(r, 7);
    assert.deepEqual([s.build(new Map([p(0, 1n)])).sessionEpoch, s.id], [-1, 0]);
  });
});
