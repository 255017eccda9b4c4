import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resetTarget, validateResetTo } from './reset-offsets.js';
import { ConfigError } from '../errors.js';

const marks = { earliest: 10n, latest: 50n };

describe('resetTarget', () => {
  it('earliest and latest are the watermarks', () => {
    assert.equal(resetTarget('earliest', marks, 30n, 'p'), 10n);
    assert.equal(resetTarget('latest', marks, null, 'p'), 50n);
  });
  it('clamps an explicit offset into [earliest, latest]', () => {
    assert.equal(resetTarget({ offset: 3n }, marks, null, 'p'), 10n);
    assert.equal(resetTarget({ offset: 20n }, marks, null, 'p'), 20n);
    assert.equal(resetTarget({ offset: 99n }, marks, null, 'p'), 50n);
  });
  it('shifts relative to the committed offset, clamped', () => {
    assert.equal(resetTarget({ shiftBy: -5 }, marks, 30n, 'p'), 25n);
    assert.equal(resetTarget({ shiftBy: -100 }, marks, 30n, 'p'), 10n);
    assert.equal(resetTarget({ shiftBy: 100 }, marks, 30n, 'p'), 50n);
    assert.throws(() => resetTarget({ shiftBy: 1 }, marks, null, 't-0'), (e: unknown) => e instanceof ConfigError && /t-0 has no committed offset/.test(e.message));
  });
  it('a timestamp past every record resets to the log end', () => {
    assert.equal(resetTarget({ timestamp: 5 }, { ...marks, byTimestamp: 12n }, null, 'p'), 12n);
    assert.equal(resetTarget({ timestamp: 5 }, { ...marks, byTimestamp: -1n }, null, 'p'), 50n);
  });
});

describe('validateResetTo', () => {
  it('refuses malformed targets with ConfigError naming the field', () => {
    for (const [to, option] of [
      ['start', 'to'],
      [{ offset: 5 }, 'to.offset'],
      [{ offset: -1n }, 'to.offset'],
      [{ timestamp: -1 }, 'to.timestamp'],
      [{ shiftBy: 1.5 }, 'to.shiftBy'],
      [{ offset: 1n, shiftBy: 1 }, 'to'],
      [{ bogus: 1 }, 'to'],
    ] as const) {
      assert.throws(() => validateResetTo(to), (e: unknown) => e instanceof ConfigError && e.option === option, JSON.stringify(to, (_, v) => (typeof v === 'bigint' ? `${v}n` : v)));
    }
    validateResetTo({ shiftBy: -3 });
    validateResetTo('latest');
  });
});
