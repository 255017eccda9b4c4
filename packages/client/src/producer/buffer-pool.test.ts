import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TimeoutError } from '../errors.js';
import { BufferPool } from './buffer-pool.js';

describe('buffer pool', () => {
  it('reserves while there is room, then waits FIFO for releases', async () => {
    const pool = new BufferPool(100);
    assert.equal(pool.tryReserve(60), true);
    assert.equal(pool.tryReserve(60), false);
    const order: string[] = [];
    const a = pool.reserve(50, 1000).then(() => order.push('a'));
    const b = pool.reserve(10, 1000).then(() => order.push('b'));
    assert.equal(pool.tryReserve(1), false, 'nobody jumps the queue');
    pool.release(60);
    await Promise.all([a, b]);
    assert.deepEqual(order, ['a', 'b']);
    assert.equal(pool.used, 60);
  });

  it('a wait longer than maxBlockMs fails with TimeoutError naming bufferMemoryBytes', async () => {
    const pool = new BufferPool(10);
    pool.tryReserve(10);
    await assert.rejects(pool.reserve(5, 20), (e: unknown) => e instanceof TimeoutError && /bufferMemoryBytes/.test(e.message));
    pool.release(10);
    assert.equal(pool.used, 0);
  });
});
