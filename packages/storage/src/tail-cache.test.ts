import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BASE_OFFSET_OFFSET } from '@fjord/protocol';
import { PartitionLog } from './partition-log.js';
import { TailCache, TailCacheBudget } from './tail-cache.js';
import type { LogConfig } from './config.js';
import { FaultyFs, ManualClock, ManualScheduler, batchOf, recordsOf, requestOf, tempDir } from './testing.js';

const dirs: Array<{ cleanup(): void }> = [];
after(() => dirs.forEach((d) => d.cleanup()));

async function openLog(budget: TailCacheBudget, config: Partial<LogConfig> = {}, name = 't') {
  const t = tempDir('fjord-tail-');
  dirs.push(t);
  const clock = new ManualClock();
  const log = await PartitionLog.open({
    dir: `${t.path}/${name}-0`,
    topic: name,
    partition: 0,
    config,
    clock,
    hadCleanShutdown: true,
    fs: new FaultyFs(),
    scheduler: new ManualScheduler(clock),
    tailCache: budget,
  });
  return { log, clock };
}

/** Appends one request of `sizes.length` batches; batch i holds sizes[i] records. */
function append(log: PartitionLog, clock: ManualClock, sizes: number[], tag: string): void {
  const { buf, spans } = requestOf(sizes.map((n, b) => batchOf(Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `${tag}-${b}-${i}`, timestamp: BigInt(clock.now()) })))));
  log.append(buf, spans, { leaderEpoch: 0, now: clock.now() });
  clock.advance(1);
}

const noCache = (): TailCacheBudget => new TailCacheBudget(0, 0);
const bigCache = (): TailCacheBudget => new TailCacheBudget(1 << 20, 1 << 20);

describe('TailCache', () => {
  it('answers every read exactly as the files do (start offset, maxBytes, upper bound, minOneBatch)', async () => {
    const cached = await openLog(bigCache(), { segmentBytes: 700 });
    const files = await openLog(noCache(), { segmentBytes: 700 });
    const requests = [[1], [3, 1], [2], [1, 1, 4], [5], [1], [2, 2]];
    requests.forEach((sizes, i) => {
      append(cached.log, cached.clock, sizes, `r${i}`);
      append(files.log, files.clock, sizes, `r${i}`);
    });
    const end = cached.log.logEndOffset;
    assert.equal(end, 23n);
    assert.ok(cached.log.segmentCount > 1, 'the cached appends span several segments');
    let compared = 0;
    for (let off = 0n; off < end; off++) {
      for (const maxBytes of [0, 1, 80, 150, 300, 1000, 1 << 20]) {
        for (let upper = off; upper <= end; upper++) {
          for (const minOneBatch of [false, true]) {
            const opts = { minOneBatch, maxOffset: upper };
            const a = await cached.log.read(off, maxBytes, opts);
            const b = await files.log.read(off, maxBytes, opts);
            const what = `read(${off}, ${maxBytes}, upper ${upper}, minOne ${minOneBatch})`;
            assert.equal(a.bytes, b.bytes, what);
            assert.equal(a.nextOffset, b.nextOffset, what);
            assert.deepEqual(Buffer.concat(a.chunks), Buffer.concat(b.chunks), what);
            compared++;
          }
        }
      }
    }
    assert.ok(compared > 3000);
    await cached.log.close();
    await files.log.close();
  });

  it('holds the newest appends within the log cap and the shared budget, oldest out first', async () => {
    const budget = new TailCacheBudget(3000, 2000);
    const a = await openLog(budget, {}, 'a');
    const b = await openLog(budget, {}, 'b');
    for (let i = 0; i < 30; i++) append(a.log, a.clock, [1], `a${i}`);
    // One log alone: at most its cap, and what it holds ends at the log end.
    const aBytes = budget.usedBytes;
    assert.ok(aBytes <= 2000 && aBytes > 1500, `a holds ${aBytes}`);
    for (let i = 0; i < 30; i++) append(b.log, b.clock, [1], `b${i}`);
    assert.ok(budget.usedBytes <= 3000, `budget ${budget.usedBytes}`);
    // b's appends pushed out a's oldest: a's reads near its end still come back right.
    for (const log of [a.log, b.log]) {
      const r = await log.read(25n, 1 << 20, { minOneBatch: true });
      assert.deepEqual(recordsOf(r).map((x) => x.offset), [25n, 26n, 27n, 28n, 29n]);
      const all = await log.read(0n, 1 << 20, { minOneBatch: true });
      assert.equal(recordsOf(all).length, 30);
    }
    await a.log.close();
    await b.log.close();
    assert.equal(budget.usedBytes, 0, 'closing the logs gives their bytes back');
  });

  it('keeps nothing of an append larger than the log cap, and serves the next ones', async () => {
    const budget = new TailCacheBudget(1 << 20, 600);
    const { log, clock } = await openLog(budget);
    append(log, clock, [1], 'small');
    assert.ok(budget.usedBytes > 0);
    append(log, clock, [60], 'big');
    assert.equal(budget.usedBytes, 0, 'an append over the cap empties the cache (it must end at the log end)');
    append(log, clock, [1], 'after');
    const r = await log.read(0n, 1 << 20, { minOneBatch: true });
    assert.equal(recordsOf(r).length, 62);
    assert.equal(recordsOf(await log.read(61n, 1 << 20, { minOneBatch: true }))[0]!.value, 'after-0-0');
    await log.close();
  });

  it('forgets truncated batches: reads after a truncation return the new appends', async () => {
    const budget = bigCache();
    const { log, clock } = await openLog(budget);
    for (let i = 0; i < 6; i++) append(log, clock, [2], `old${i}`);
    await log.flush();
    await log.truncateTo(5n); // keeps the batches ending before 5: offsets 0-3
    assert.equal(log.logEndOffset, 4n);
    append(log, clock, [2], 'new');
    const r = recordsOf(await log.read(4n, 1 << 20, { minOneBatch: true }));
    assert.deepEqual(r.map((x) => [x.offset, x.value]), [[4n, 'new-0-0'], [5n, 'new-0-1']]);
    const fromStart = recordsOf(await log.read(0n, 1 << 20, { minOneBatch: true }));
    assert.deepEqual(fromStart.map((x) => x.value), ['old0-0-0', 'old0-0-1', 'old1-0-0', 'old1-0-1', 'new-0-0', 'new-0-1']);
    await log.close();
  });

  it('counts a buffer shared by several logs once, and copies slices of one too large to keep alive', () => {
    const a = batchOf([{ key: 'k', value: 'a'.repeat(100) }]);
    const b = batchOf([{ key: 'k', value: 'b'.repeat(100) }]);
    const shared = Buffer.allocUnsafeSlow(a.length + b.length);
    a.copy(shared, 0);
    b.copy(shared, a.length);
    const sliceA = shared.subarray(0, a.length);
    const sliceB = shared.subarray(a.length);

    const budget = new TailCacheBudget(1 << 20, 1 << 20);
    const ca = new TailCache(budget);
    const cb = new TailCache(budget);
    ca.append(0n, 1n, [sliceA], sliceA.length);
    cb.append(0n, 1n, [sliceB], sliceB.length);
    assert.equal(budget.usedBytes, shared.length, 'one request buffer, counted once');
    assert.equal(ca.read(0n, 1 << 20, 1n, true)!.chunks[0]!.buffer, shared.buffer, 'kept by reference');
    ca.clear();
    assert.equal(budget.usedBytes, shared.length, 'still kept alive by the other log');
    cb.clear();
    assert.equal(budget.usedBytes, 0);

    // A backing over an eighth of the budget: only the slice is kept (copied).
    const small = new TailCacheBudget(8 * 200, 1 << 20);
    const cc = new TailCache(small);
    cc.append(0n, 1n, [sliceA], sliceA.length);
    assert.equal(small.usedBytes, sliceA.length);
    const kept = cc.read(0n, 1 << 20, 1n, true)!.chunks[0]!;
    assert.notEqual(kept.buffer, shared.buffer);
    assert.deepEqual(kept, sliceA);
  });

  it('forgets what its logs dropped: the eviction queue stays bounded and keeps no dropped request alive', async () => {
    // Each log's own cap drops its oldest entries long before the (large) budget evicts anything.
    const budget = new TailCacheBudget(64 << 20, 2048);
    const caches = [new TailCache(budget), new TailCache(budget)];
    const batch = batchOf([{ key: 'k', value: 'v'.repeat(200) }]);
    let appended = 0;
    const appendUpTo = (n: number, onRequest?: (req: Buffer) => void): void => {
      for (; appended < n; appended++) {
        // Each append its own request buffer, as the broker's produce frames are.
        const req = Buffer.allocUnsafeSlow(batch.length);
        batch.copy(req);
        const offset = BigInt(appended >> 1);
        req.writeBigInt64BE(offset, BASE_OFFSET_OFFSET);
        caches[appended % 2]!.append(offset, offset + 1n, [req], req.length);
        onRequest?.(req);
      }
    };
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;

    // Fewer appends than the queue's slack: the dropped entries are still queued, without their bytes.
    const first: Array<WeakRef<ArrayBufferLike>> = [];
    appendUpTo(100, (req) => first.push(new WeakRef(req.buffer)));
    appendUpTo(600);
    assert.ok(budget.queuedEntries > 500, 'not yet compacted');
    await tick(); // WeakRefs made in a job keep their targets until the job ends
    gc();
    const alive = first.filter((r) => r.deref() !== undefined).length;
    assert.equal(alive, 0, `${alive} of the first 100 (dropped) request buffers are still alive`);

    appendUpTo(20_000);
    assert.ok(budget.usedBytes <= 2 * 2048, `budget ${budget.usedBytes}`);
    assert.ok(budget.queuedEntries < 1200, `the queue holds ${budget.queuedEntries} entries after ${appended} appends`);
    // The newest appends are still served.
    assert.equal(caches[1]!.read(BigInt(appended / 2 - 1), 1 << 20, BigInt(appended), true)!.bytes, batch.length);
  });
});
