import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TimeoutError } from '../errors.js';
import { SpareBatchBuffers } from './batch.js';
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

  it('whenRoom answers at once while there is room, and waits behind others otherwise', async () => {
    const pool = new BufferPool(100);
    assert.equal(pool.whenRoom(100, 1000), pool.whenRoom(1, 1000), 'one settled promise, not one per call');
    pool.tryReserve(90);
    let ready = false;
    const w = pool.whenRoom(20, 1000).then(() => (ready = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(ready, false);
    pool.release(90);
    await w;
    assert.equal(pool.used, 0, 'whenRoom reserves nothing');
  });
});

describe('spare batch buffers', () => {
  it('count against the limit with the reservations: kept only while both fit, the oldest dropped when reservations grow', async () => {
    let spares: SpareBatchBuffers | undefined;
    const pool = new BufferPool(1000, () => spares!.fit());
    spares = new SpareBatchBuffers(pool);
    pool.tryReserve(600);
    spares.give(Buffer.alloc(500));
    assert.equal(spares.size, 0, '600 reserved + 500 spare is over 1000');
    const older = Buffer.alloc(200);
    const newer = Buffer.alloc(150);
    spares.give(older);
    spares.give(newer);
    assert.deepEqual([spares.size, spares.spareBytes], [2, 350]);
    pool.tryReserve(100);
    assert.deepEqual([spares.size, spares.spareBytes], [1, 150], '700 reserved: the oldest spare went');
    assert.equal(spares.take(), newer);
    pool.release(700);
    // A reservation that waited: granted when room is released, and the spares give way then too.
    pool.tryReserve(850);
    spares.give(newer);
    assert.equal(spares.spareBytes, 150);
    const waited = pool.reserve(900, 1000);
    pool.release(850);
    await waited;
    assert.deepEqual([spares.size, spares.spareBytes, pool.used], [0, 0, 900]);
  });
});
