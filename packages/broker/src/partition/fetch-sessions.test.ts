import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '@fjord/protocol';
import { FetchSessionCache } from './fetch-sessions.js';

test('fetch sessions: epochs, unknown ids, eviction of idle sessions only', () => {
  const cache = new FetchSessionCache(2, 1000);
  const a = cache.create(0, false)!;
  assert.equal(a.epoch, 1);
  assert.equal(cache.lookup(a.id, 2, 10), ErrorCode.INVALID_FETCH_SESSION_EPOCH);
  assert.equal(cache.lookup(a.id + 100, 1, 10), ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  assert.equal(cache.lookup(a.id, 1, 10), a);
  const b = cache.create(20, false)!;
  assert.notEqual(b.id, a.id);
  assert.equal(cache.create(500, false), undefined, 'a full cache of recently used sessions refuses a new one');
  const c = cache.create(2000, false);
  assert.ok(c, 'the least recently used idle session is evicted');
  assert.equal(cache.lookup(a.id, 1, 2000), ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  assert.equal(cache.size, 2);
});
