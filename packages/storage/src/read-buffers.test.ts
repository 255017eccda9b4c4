import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PartitionLog } from './partition-log.js';
import { ReadBufferPool, pooledBytesMax, pooledBytesMin } from './read-buffers.js';
import { TailCacheBudget } from './tail-cache.js';
import { FaultyFs, ManualClock, ManualScheduler, batchOf, requestOf, tempDir } from './testing.js';

const dirs: Array<{ cleanup(): void }> = [];
after(() => dirs.forEach((d) => d.cleanup()));

describe('ReadBufferPool', () => {
  it('hands out views of exactly the asked length and reuses a slab once it is given back', () => {
    const pool = new ReadBufferPool({ idleBytesMax: 4 << 20 });
    const a = pool.lease();
    const x = a.alloc(700_000);
    assert.equal(x.length, 700_000);
    assert.equal(x.buffer.byteLength, 1 << 20, 'rounded up to the 1 MiB class');
    assert.deepEqual(pool.stats, { idleBytes: 0, lentBytes: 1 << 20 });
    const y = a.alloc(1 << 20);
    assert.notEqual(y.buffer, x.buffer, 'two buffers of one lease never share a slab');
    a.release();
    assert.deepEqual(pool.stats, { idleBytes: 2 << 20, lentBytes: 0 });
    const b = pool.lease();
    const z = b.alloc(600_000);
    assert.ok(z.buffer === x.buffer || z.buffer === y.buffer, 'a given-back slab is reused');
    assert.deepEqual(pool.stats, { idleBytes: 1 << 20, lentBytes: 1 << 20 });
  });

  it('gives sizes outside its classes fresh buffers it does not track', () => {
    const pool = new ReadBufferPool();
    const l = pool.lease();
    const small = l.alloc(pooledBytesMin - 1);
    const huge = l.alloc(pooledBytesMax + 1);
    assert.equal(small.length, pooledBytesMin - 1);
    assert.equal(huge.length, pooledBytesMax + 1);
    assert.deepEqual(pool.stats, { idleBytes: 0, lentBytes: 0 });
    l.release();
    assert.deepEqual(pool.stats, { idleBytes: 0, lentBytes: 0 });
  });

  it('keeps at most idleBytesMax of slabs, and none when it is 0', () => {
    const pool = new ReadBufferPool({ idleBytesMax: 3 << 20 });
    const l = pool.lease();
    for (let i = 0; i < 5; i++) l.alloc(1 << 20);
    l.release();
    assert.deepEqual(pool.stats, { idleBytes: 3 << 20, lentBytes: 0 });

    const off = new ReadBufferPool({ idleBytesMax: 0 });
    const m = off.lease();
    const a = m.alloc(1 << 20);
    m.release();
    const b = off.lease().alloc(1 << 20);
    assert.notEqual(a.buffer, b.buffer);
    assert.deepEqual(off.stats, { idleBytes: 0, lentBytes: 0 });
    assert.throws(() => new ReadBufferPool({ idleBytesMax: -1 }), /idleBytesMax/);
  });

  it('releases a lease once: a second release gives nothing back twice', () => {
    const pool = new ReadBufferPool({ idleBytesMax: 8 << 20 });
    const l = pool.lease();
    l.alloc(1 << 20);
    l.release();
    l.release();
    assert.deepEqual(pool.stats, { idleBytes: 1 << 20, lentBytes: 0 });
    const a = pool.lease().alloc(1 << 20);
    const b = pool.lease().alloc(1 << 20);
    assert.notEqual(a.buffer, b.buffer, 'the one free slab went to one lease only');
  });

  it('overwrites given-back slabs when asked to (poisonOnRelease)', () => {
    const pool = new ReadBufferPool({ poisonOnRelease: true });
    const l = pool.lease();
    const x = l.alloc(100_000);
    x.fill(1);
    l.release();
    assert.ok(x.every((v) => v === 0xee));
  });
});

describe('PartitionLog.read with a lease', () => {
  it('returns the same bytes as without one; the tail stays valid after release', async () => {
    const t = tempDir('fjord-readbuf-');
    dirs.push(t);
    const clock = new ManualClock();
    const log = await PartitionLog.open({
      dir: `${t.path}/r-0`,
      topic: 'r',
      partition: 0,
      config: {},
      clock,
      hadCleanShutdown: true,
      fs: new FaultyFs(),
      scheduler: new ManualScheduler(clock),
      tailCache: new TailCacheBudget(1 << 20, 256 * 1024), // the newest ~256 KiB only
    });
    for (let b = 0; b < 40; b++) {
      const { buf, spans } = requestOf([batchOf(Array.from({ length: 20 }, (_, i) => ({ key: null, value: `b${b}-r${i}-`.padEnd(1000, 'v'), timestamp: BigInt(clock.now()) })))]);
      log.append(buf, spans, { leaderEpoch: 0, now: clock.now() });
    }
    await log.flush();
    const pool = new ReadBufferPool({ poisonOnRelease: true });
    for (const [start, maxBytes] of [[0n, 300_000], [100n, 1 << 20], [700n, 1 << 20], [799n, 100]] as const) {
      const plain = await log.read(start, maxBytes, { minOneBatch: true });
      const lease = pool.lease();
      const leased = await log.read(start, maxBytes, { minOneBatch: true, buffers: lease });
      const bytes = Buffer.concat(leased.chunks);
      assert.ok(bytes.equals(Buffer.concat(plain.chunks)), `read from ${start}`);
      assert.equal(leased.nextOffset, plain.nextOffset);
      lease.release();
      if (start >= 700n) assert.ok(Buffer.concat(leased.chunks).equals(bytes), 'chunks from the in-memory tail are not the lease\'s');
    }
    assert.ok(pool.stats.idleBytes > 0, 'file reads went through the pool');
    await log.close();
  });
});
