import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { CompressionType, splitBatches } from '@fjord/protocol';
import { PartitionLog } from './partition-log.js';
import { LogOfflineError, OffsetOutOfRangeError, RecordBatchTooLargeError } from './errors.js';
import type { LogConfig } from './config.js';
import { unwaitedSyncDelayMs } from './limits.js';
import {
  FaultyFs,
  ManualClock,
  ManualScheduler,
  appendBatches,
  batchOf,
  readAll,
  recordsOf,
  requestOf,
  tempDir,
  type TestRecord,
} from './testing.js';

const dirs: Array<{ cleanup(): void }> = [];
after(() => dirs.forEach((d) => d.cleanup()));

async function openLog(config: Partial<LogConfig> = {}, extra: { fs?: FaultyFs; clock?: ManualClock; dir?: string } = {}) {
  let dir = extra.dir;
  if (!dir) {
    const t = tempDir();
    dirs.push(t);
    dir = `${t.path}/orders-0`;
  }
  const clock = extra.clock ?? new ManualClock();
  const fs = extra.fs ?? new FaultyFs();
  const scheduler = new ManualScheduler(clock);
  const log = await PartitionLog.open({
    dir,
    topic: 'orders',
    partition: 0,
    config,
    clock,
    hadCleanShutdown: true,
    fs,
    scheduler,
  });
  return { log, dir, clock, fs, scheduler };
}

const recs = (n: number, prefix: string, ts?: bigint): TestRecord[] =>
  Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `${prefix}-${i}`, ...(ts !== undefined ? { timestamp: ts } : {}) }));

describe('PartitionLog append/read', () => {
  it('assigns contiguous offsets and reads them back across many segments', async () => {
    const { log, clock } = await openLog({ segmentBytes: 1024, indexIntervalBytes: 128 });
    let expected = 0n;
    for (let i = 0; i < 60; i++) {
      const r = appendBatches(log, [recs(3, `a${i}`), recs(2, `b${i}`)], clock.now());
      assert.equal(r.firstOffset, expected);
      assert.equal(r.lastOffset, expected + 4n);
      assert.equal(r.logAppendTime, -1n);
      expected += 5n;
      await log.waitForDurable(r.lastOffset);
    }
    assert.equal(log.logEndOffset, 300n);
    assert.ok(log.segmentCount > 5, `segments: ${log.segmentCount}`);
    const all = await readAll(log, 700);
    assert.equal(all.length, 300);
    all.forEach((r, i) => assert.equal(r.offset, BigInt(i)));
    assert.equal(all[7]!.value, 'a1-2');
    assert.equal(all[8]!.value, 'b1-0');
    // every start offset, including ones inside a batch, returns the batch that holds it first
    for (let o = 0n; o < 300n; o += 7n) {
      const r = await log.read(o, 500, { minOneBatch: true });
      const got = recordsOf(r);
      assert.ok(got.length > 0);
      assert.ok(got[0]!.offset <= o && got.some((x) => x.offset === o), `offset ${o}`);
      assert.equal(r.nextOffset, got[got.length - 1]!.offset + 1n);
    }
    await log.close();
  });

  it('returns nothing at the log end and OffsetOutOfRange outside the log', async () => {
    const { log, clock } = await openLog();
    appendBatches(log, [recs(2, 'x')], clock.now());
    const r = await log.read(2n, 1000, { minOneBatch: true });
    assert.equal(r.bytes, 0);
    assert.deepEqual(r.chunks, []);
    await assert.rejects(log.read(3n, 1000, { minOneBatch: true }), OffsetOutOfRangeError);
    await assert.rejects(log.read(-1n, 1000, { minOneBatch: true }), OffsetOutOfRangeError);
    await log.close();
  });

  it('stops before maxBytes at a batch boundary, and minOneBatch returns one oversized batch', async () => {
    const { log, clock } = await openLog();
    const big = batchOf([{ key: 'k', value: 'x'.repeat(500) }]);
    const small = batchOf([{ key: 'k', value: 's' }]);
    const { buf, spans } = requestOf([big, small, small]);
    log.append(buf, spans, { leaderEpoch: 0, now: clock.now() });
    const none = await log.read(0n, 100, { minOneBatch: false });
    assert.equal(none.bytes, 0);
    const one = await log.read(0n, 100, { minOneBatch: true });
    assert.equal(one.bytes, big.length);
    assert.equal(one.nextOffset, 1n);
    const two = await log.read(0n, big.length + small.length + 10, { minOneBatch: true });
    assert.equal(two.bytes, big.length + small.length);
    assert.equal(splitBatches(Buffer.concat(two.chunks)).length, 2);
    const capped = await log.read(0n, 1 << 20, { minOneBatch: true, maxOffset: 2n });
    assert.equal(recordsOf(capped).length, 2);
    await log.close();
  });

  it('rolls by size, by time and when the index is full', async () => {
    const { log, clock } = await openLog({ segmentBytes: 400, segmentMs: 1000, segmentIndexBytes: 8 * 3, indexIntervalBytes: 0 });
    // size
    for (let i = 0; i < 8; i++) appendBatches(log, [recs(2, 'x', BigInt(clock.now()))], clock.now());
    const afterSize = log.segmentCount;
    assert.ok(afterSize >= 2);
    // time
    clock.advance(1500);
    appendBatches(log, [recs(1, 't', BigInt(clock.now()))], clock.now());
    assert.equal(log.segmentCount, afterSize + 1);
    // index full: interval 0 indexes every batch after the first; 3 entries fit
    const { log: l2, clock: c2 } = await openLog({ segmentIndexBytes: 8 * 3, indexIntervalBytes: 0 });
    for (let i = 0; i < 5; i++) appendBatches(l2, [recs(1, 'i')], c2.now());
    assert.equal(l2.segmentCount, 2);
    assert.deepEqual(l2.segmentBaseOffsets, [0n, 4n]);
    await log.close();
    await l2.close();
  });

  it('finds offsets by timestamp and the record with the largest timestamp exactly', async () => {
    const { log, clock } = await openLog({ segmentBytes: 600, indexIntervalBytes: 64 });
    const base = 1_000_000n;
    // timestamps inside batches are not sorted; the max is in the middle of a batch
    for (let b = 0; b < 20; b++) {
      const ts = [base + BigInt(b * 10 + 3), base + BigInt(b * 10), base + BigInt(b * 10 + 7)];
      if (b === 11) ts[1] = base + 9999n;
      appendBatches(log, [ts.map((t, i) => ({ key: `k${i}`, value: `b${b}r${i}`, timestamp: t }))], clock.now());
    }
    assert.ok(log.segmentCount > 2);
    const hit = await log.offsetForTimestamp(base + 52n);
    // batch 5 holds 53, 50, 57: the first record with ts >= 52 is offset 15 (ts 53)
    assert.deepEqual(hit, { offset: 15n, timestamp: base + 53n, leaderEpoch: 0 });
    const exact = await log.offsetForTimestamp(base + 50n);
    assert.deepEqual(exact, { offset: 15n, timestamp: base + 53n, leaderEpoch: 0 });
    const first = await log.offsetForTimestamp(0n);
    assert.equal(first?.offset, 0n);
    assert.equal(await log.offsetForTimestamp(base + 100000n), null);
    const max = await log.offsetOfMaxTimestamp();
    assert.deepEqual(max, { offset: 34n, timestamp: base + 9999n, leaderEpoch: 0 });
    await log.close();
  });

  it('stamps LogAppendTime and compressed batches keep their codec', async () => {
    const { log, clock } = await openLog({ messageTimestampType: 'LogAppendTime' });
    const { buf, spans } = requestOf([batchOf(recs(3, 'z', 5n), { compression: CompressionType.gzip })]);
    const r = log.append(buf, spans, { leaderEpoch: 3, now: clock.now() });
    assert.equal(r.logAppendTime, BigInt(clock.now()));
    const got = recordsOf(await log.read(0n, 10000, { minOneBatch: true }));
    assert.deepEqual(
      got.map((x) => x.timestamp),
      [1, 2, 3].map(() => BigInt(clock.now())),
    );
    assert.deepEqual(await log.offsetOfMaxTimestamp(), { offset: 0n, timestamp: BigInt(clock.now()), leaderEpoch: 3 });
    await log.close();
  });

  it('refuses an append larger than segment.bytes', async () => {
    const { log, clock } = await openLog({ segmentBytes: 100 });
    assert.throws(() => appendBatches(log, [recs(1, 'x'.repeat(200))], clock.now()), RecordBatchTooLargeError);
    assert.equal(log.logEndOffset, 0n);
    await log.close();
  });

  it('tracks leader epochs and answers OffsetForLeaderEpoch', async () => {
    const { log, clock } = await openLog();
    appendBatches(log, [recs(3, 'a')], clock.now(), 1);
    appendBatches(log, [recs(2, 'b')], clock.now(), 1);
    appendBatches(log, [recs(4, 'c')], clock.now(), 3);
    assert.equal(log.latestEpoch, 3);
    assert.deepEqual(log.endOffsetForEpoch(3), { leaderEpoch: 3, endOffset: 9n });
    assert.deepEqual(log.endOffsetForEpoch(2), { leaderEpoch: 1, endOffset: 5n });
    assert.deepEqual(log.endOffsetForEpoch(1), { leaderEpoch: 1, endOffset: 5n });
    assert.deepEqual(log.endOffsetForEpoch(0), { leaderEpoch: 0, endOffset: 0n });
    assert.deepEqual(log.endOffsetForEpoch(4), { leaderEpoch: -1, endOffset: -1n });
    const r = await log.read(5n, 1000, { minOneBatch: true });
    assert.equal(r.chunks[0]!.readInt32BE(12), 3, 'partitionLeaderEpoch written into the batch');
    await log.close();
  });
});

describe('PartitionLog durability', () => {
  it('group-commits: concurrent appends share fdatasyncs', async () => {
    const fs = new FaultyFs();
    fs.fdatasyncDelayMs = 5;
    const { log, clock } = await openLog({}, { fs });
    const before = fs.fdatasyncs;
    const waits: Promise<void>[] = [];
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 20; i++) {
        const r = appendBatches(log, [recs(1, `r${round}`)], clock.now());
        waits.push(log.waitForDurable(r.lastOffset));
      }
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(waits);
    const syncs = fs.fdatasyncs - before;
    assert.ok(syncs >= 1 && syncs <= 20, `200 appends took ${syncs} fdatasyncs`);
    assert.equal(log.durableOffset, 200n);
    await log.close();
  });

  it('every acknowledged append is covered by an fdatasync that started after its write', async () => {
    const fs = new FaultyFs();
    const { log, clock } = await openLog({}, { fs });
    const syncsBefore = log.counters.syncs;
    const r = appendBatches(log, [recs(1, 'x')], clock.now());
    await log.waitForDurable(r.lastOffset);
    assert.ok(log.counters.syncs > syncsBefore);
    // already durable: no new sync
    const s2 = log.counters.syncs;
    await log.waitForDurable(r.lastOffset);
    assert.equal(log.counters.syncs, s2);
    await log.close();
  });

  it('flush.messages=1 syncs appends nobody waits for (acks=1) too, within unwaitedSyncDelayMs', async () => {
    const { log, clock, scheduler, fs } = await openLog();
    const settle = async (offset: bigint): Promise<void> => {
      for (let i = 0; i < 100 && log.durableOffset < offset; i++) await new Promise((r) => setTimeout(r, 2));
    };
    appendBatches(log, [recs(1, 'w')], clock.now()); // first append also checkpoints the leader epoch
    clock.advance(unwaitedSyncDelayMs);
    scheduler.runDue();
    await settle(1n);
    await new Promise((r) => setTimeout(r, 5));
    const before = fs.fdatasyncs;
    appendBatches(log, [recs(2, 'x')], clock.now());
    appendBatches(log, [recs(2, 'y')], clock.now());
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(log.durableOffset, 1n, 'not synced before the delay');
    clock.advance(unwaitedSyncDelayMs);
    scheduler.runDue();
    await settle(5n);
    assert.equal(fs.fdatasyncs - before, 1, 'both appends share one sync');
    assert.equal(log.durableOffset, 5n);
    assert.equal(log.recoveryPoint, 5n);
    await log.close();
  });

  it('high watermark policies: log-end follows appends, durable follows syncs', async () => {
    const { log, clock } = await openLog();
    appendBatches(log, [recs(2, 'x')], clock.now());
    assert.equal(log.highWatermark, 2n, 'log-end: at once');
    await log.close();
    const t = tempDir();
    dirs.push(t);
    const fs = new FaultyFs();
    fs.fdatasyncDelayMs = 10;
    const seen: bigint[] = [];
    const durable = await PartitionLog.open({
      dir: `${t.path}/d-0`,
      topic: 'd',
      partition: 0,
      clock,
      hadCleanShutdown: true,
      fs,
      highWatermark: 'durable',
      onDurable: (_l, off) => seen.push(off),
    });
    const r = appendBatches(durable, [recs(2, 'x')], clock.now());
    assert.equal(durable.highWatermark, 0n, 'durable: not before the sync');
    const none = await durable.read(0n, 1000, { minOneBatch: true, maxOffset: durable.highWatermark });
    assert.equal(none.bytes, 0);
    await durable.waitForDurable(r.lastOffset);
    assert.equal(durable.highWatermark, 2n);
    assert.deepEqual(seen, [2n]);
    await durable.close();
  });

  it('flush.messages=N syncs after N records and does not make producers wait', async () => {
    const fs = new FaultyFs();
    const { log, clock } = await openLog({ flushMessages: 10 }, { fs });
    for (let i = 0; i < 9; i++) {
      const r = appendBatches(log, [recs(1, 'x')], clock.now());
      await log.waitForDurable(r.lastOffset); // resolves at once
    }
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(log.counters.syncs, 0, 'no log sync below the threshold');
    assert.equal(log.durableOffset, 0n);
    appendBatches(log, [recs(1, 'x')], clock.now());
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(log.counters.syncs, 1, 'one sync after 10 records');
    assert.equal(log.durableOffset, 10n);
    await log.close();
  });

  it('flush.ms syncs when due', async () => {
    const fs = new FaultyFs();
    const { log, clock } = await openLog({ flushMessages: Number.MAX_SAFE_INTEGER, flushMs: 1000 }, { fs });
    appendBatches(log, [recs(2, 'x')], clock.now());
    log.flushIfDue(clock.now());
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(log.durableOffset, 0n);
    clock.advance(1001);
    log.flushIfDue(clock.now());
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(log.durableOffset, 2n);
    await log.close();
  });

  it('an fdatasync failure takes the log offline', async () => {
    const fs = new FaultyFs();
    const { log, clock } = await openLog({}, { fs });
    const ok = appendBatches(log, [recs(1, 'x')], clock.now());
    await log.waitForDurable(ok.lastOffset);
    fs.failFdatasync = Object.assign(new Error('EIO (injected)'), { code: 'EIO' });
    const r = appendBatches(log, [recs(1, 'x')], clock.now());
    await assert.rejects(log.waitForDurable(r.lastOffset), LogOfflineError);
    assert.equal(log.isOffline, true);
    assert.throws(() => appendBatches(log, [recs(1, 'y')], clock.now()), LogOfflineError);
    await assert.rejects(log.read(0n, 100, { minOneBatch: true }), LogOfflineError);
    fs.failFdatasync = null;
    await log.close();
  });

  it('a failed write leaves nothing behind and later appends stay contiguous', async () => {
    const fs = new FaultyFs();
    const { log, clock, dir } = await openLog({}, { fs });
    appendBatches(log, [recs(2, 'ok')], clock.now());
    fs.tornWriteAfterBytes = 30;
    assert.throws(() => appendBatches(log, [recs(3, 'torn'), recs(2, 'torn2')], clock.now()));
    assert.equal(log.logEndOffset, 2n);
    const r = appendBatches(log, [recs(1, 'after')], clock.now());
    assert.equal(r.firstOffset, 2n);
    const all = await readAll(log);
    assert.deepEqual(
      all.map((x) => x.value),
      ['ok-0', 'ok-1', 'after-0'],
    );
    await log.close();
    // the file holds exactly the good batches
    const reopened = await openLog({}, { dir });
    assert.equal(reopened.log.logEndOffset, 3n);
    assert.equal((await readAll(reopened.log)).length, 3);
    await reopened.log.close();
    assert.ok(readdirSync(dir).includes('00000000000000000000.log'));
  });
});

describe('PartitionLog truncation and epochs', () => {
  it('truncateTo removes whole batches, refuses waits for removed offsets, keeps the epoch cache consistent and survives a reopen', async () => {
    const fs = new FaultyFs();
    fs.fdatasyncDelayMs = 20;
    const { log, clock, dir } = await openLog({ segmentBytes: 500 }, { fs });
    for (let e = 1; e <= 4; e++) {
      const r = appendBatches(log, [recs(3, `e${e}`), recs(2, `f${e}`)], clock.now(), e);
      await log.waitForDurable(r.lastOffset);
    }
    const pending = appendBatches(log, [recs(2, 'late')], clock.now(), 5);
    const waiting = log.waitForDurable(pending.lastOffset);
    await log.truncateTo(12n); // inside the batch [10, 12]: that batch goes too
    await waiting; // the sync in flight finished before the cut (truncation waits for it)
    await assert.rejects(log.waitForDurable(pending.lastOffset), (e: Error) => e.name === 'LogTruncatedError');
    assert.equal(log.logEndOffset, 10n);
    assert.equal(log.highWatermark, 10n);
    assert.equal(log.latestEpoch, 2);
    assert.deepEqual(log.endOffsetForEpoch(2), { leaderEpoch: 2, endOffset: 10n });
    const all = await readAll(log);
    assert.equal(all.length, 10);
    const r = appendBatches(log, [recs(1, 'new')], clock.now(), 6);
    assert.equal(r.firstOffset, 10n);
    await log.waitForDurable(r.lastOffset);
    await log.close();
    const re = await openLog({ segmentBytes: 500 }, { dir });
    assert.equal(re.log.logEndOffset, 11n);
    assert.deepEqual(re.log.epochEntries(), [
      { epoch: 1, startOffset: 0n },
      { epoch: 2, startOffset: 5n },
      { epoch: 6, startOffset: 10n },
    ]);
    assert.equal((await readAll(re.log)).at(-1)?.value, 'new-0');
    await re.log.close();
  });

  it('truncateFullyAndStartAt empties the log and restarts its offsets', async () => {
    const { log, clock } = await openLog({ segmentBytes: 500 });
    for (let i = 0; i < 10; i++) appendBatches(log, [recs(3, 'x')], clock.now());
    await log.truncateFullyAndStartAt(1000n);
    assert.equal(log.logStartOffset, 1000n);
    assert.equal(log.logEndOffset, 1000n);
    assert.equal(log.segmentCount, 1);
    assert.equal(appendBatches(log, [recs(1, 'y')], clock.now()).firstOffset, 1000n);
    await log.close();
  });
});
