import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apis } from '@fjord/protocol';
import { clientRange, pickVersion } from './versions.js';
import { backoffMs } from './backoff.js';

describe('version negotiation', () => {
  it('picks the highest version both sides implement', () => {
    assert.equal(pickVersion({ minVersion: 0, maxVersion: 13 }, { minVersion: 3, maxVersion: 11 }), 11);
    assert.equal(pickVersion({ minVersion: 3, maxVersion: 9 }, { minVersion: 0, maxVersion: 12 }), 9);
    assert.equal(pickVersion({ minVersion: 0, maxVersion: 2 }, { minVersion: 3, maxVersion: 5 }), -1);
  });

  it('never uses a codec version marked unstable upstream', () => {
    const unstable = [...apis.values()].find((a) => a.latestVersionUnstable);
    assert.ok(unstable, 'some API has an unstable latest version');
    assert.equal(clientRange(unstable).maxVersion, unstable.maxVersion - 1);
    assert.equal(pickVersion(clientRange(unstable), { minVersion: 0, maxVersion: 99 }), unstable.maxVersion - 1);
  });
});

describe('backoff', () => {
  const o = { initialMs: 100, maxMs: 1000, jitterRatio: 0.2 };
  it('doubles per attempt up to the cap', () => {
    const mid = { ...o, random: () => 0.5 };
    assert.deepEqual([0, 1, 2, 3, 4, 10].map((a) => backoffMs(a, mid)), [100, 200, 400, 800, 1000, 1000]);
  });
  it('jitters within ±ratio', () => {
    assert.equal(backoffMs(0, { ...o, random: () => 0 }), 80);
    assert.equal(backoffMs(0, { ...o, random: () => 0.999999 }), 120);
    assert.equal(backoffMs(10, { ...o, random: () => 0.999999 }), 1200);
  });
});
