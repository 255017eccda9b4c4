import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { CompressionType, DELETE_HORIZON_FLAG_MASK, readBatchHeader, splitBatches } from '@fjord/protocol';
import { PartitionLog } from './partition-log.js';
import type { LogConfig } from './config.js';
import { cleanLog, cleanableState, needsCleaning } from './compaction.js';
import { FaultyFs, ManualClock, ManualScheduler, batchOf, readAll, requestOf, tempDir, type FlatRecord, type TestRecord } from './testing.js';

const dirs: Array<{ cleanup(): void }> = [];
after(() => dirs.forEach((d) => d.cleanup()));

const compact: Partial<LogConfig> = {
  segmentBytes: 700,
  indexIntervalBytes: 100,
  cleanupPolicy: { delete: false, compact: true },
  deleteRetentionMs: 60_000,
  fileDeleteDelayMs: 0,
};

async function openLog(config: Partial<LogConfig> = compact, dir?: string, clean = true, fs = new FaultyFs()) {
  let d = dir;
  if (!d) {
    const t = tempDir();
    dirs.push(t);
    d = `${t.path}/table-0`;
  }
  const clock = new ManualClock(5_000_000);
  const log = await PartitionLog.open({ dir: d, topic: 'table', partition: 0, config, clock, hadCleanShutdown: clean, fs, scheduler: new ManualScheduler(clock) });
  return { log, clock, dir: d };
}

/** Appends one batch per call; keeps the high watermark at the log end (one node). */
async function put(log: PartitionLog, clock: ManualClock, records: TestRecord[], opts: { compression?: number; producerId?: bigint; baseSequence?: number } = {}): Promise<void> {
  const { buf, spans } = requestOf([batchOf(records.map((r) => ({ timestamp: BigInt(clock.now()), ...r })), opts)]);
  const res = log.append(buf, spans, { leaderEpoch: 0, now: clock.now() });
  await log.waitForDurable(res.lastOffset);
  log.updateHighWatermark(log.logEndOffset);
}

/** The expected compacted view: the last record per key, in offset order. */
function latestPerKey(all: FlatRecord[]): FlatRecord[] {
  const last = new Map<string, bigint>();
  for (const r of all) if (r.key !== null) last.set(r.key, r.offset);
  return all.filter((r) => r.key !== null && last.get(r.key) === r.offset);
}

describe('compaction', () => {
  it('keeps the latest value per key with original offsets; the active segment is untouched', async () => {
    const { log, clock, dir } = await openLog();
    for (let round = 0; round < 12; round++) {
      await put(log, clock, [0, 1, 2, 3].map((k) => ({ key: `k${(k + round) % 6}`, value: `r${round}-k${(k + round) % 6}-${'p'.repeat(40)}` })));
    }
    const before = await readAll(log);
    const activeBase = log.segmentBaseOffsets.at(-1)!;
    assert.ok(log.segmentCount >= 4);
    assert.ok(needsCleaning(log, clock.now()));
    const stats = await cleanLog(log, clock.now());
    assert.ok(stats && stats.recordsRemoved > 0);
    const after = await readAll(log);
    const cleanedPart = before.filter((r) => r.offset < activeBase);
    const expected = [...latestPerKey(cleanedPart), ...before.filter((r) => r.offset >= activeBase)];
    assert.deepEqual(after, expected);
    assert.ok(after.length < before.length);
    // offsets still increase; the log end did not move; appends continue
    for (let i = 1; i < after.length; i++) assert.ok(after[i]!.offset > after[i - 1]!.offset);
    assert.equal(log.logEndOffset, 48n);
    await put(log, clock, [{ key: 'k0', value: 'new' }]);
    assert.equal(log.logEndOffset, 49n);
    assert.equal(log.firstDirtyOffset, activeBase);
    assert.equal(cleanableState(log, clock.now()).dirtyBytes, 0);
    const final = await readAll(log);
    await log.close();
    // segments whose last batch lost every record still end where the next one starts: a full
    // rescan (unclean start from offset 0) finds no gap and keeps everything
    const re = await openLog(compact, dir, false);
    assert.deepEqual(await readAll(re.log), final);
    assert.equal(re.log.stats.truncatedSegments, 0);
    await re.log.close();
  });

  it('keeps batch headers (base offset, lastOffsetDelta, producer, codec) and merges small segments', async () => {
    const { log, clock } = await openLog({ ...compact, segmentBytes: 300 });
    for (let round = 0; round < 10; round++) {
      await put(log, clock, [{ key: 'a', value: `a${round}` }, { key: `u${round}`, value: 'unique' }, { key: 'b', value: `b${round}` }], {
        compression: CompressionType.gzip,
        producerId: 77n,
        baseSequence: round * 3, // an idempotent producer's sequences (a repeat would be a duplicate)
      });
    }
    const segsBefore = log.segmentCount;
    log.updateConfig({ ...compact, segmentBytes: 1 << 20 }); // now small neighbours fit in one segment
    await cleanLog(log, clock.now());
    assert.ok(segsBefore > 3);
    assert.equal(log.segmentCount, 2, `merged ${segsBefore} -> ${log.segmentCount}`);
    const r = await log.read(0n, 1 << 20, { minOneBatch: true, maxOffset: log.segmentBaseOffsets.at(-1)! });
    const buf = Buffer.concat(r.chunks);
    const headers = splitBatches(buf).map((s) => readBatchHeader(buf, s.pos));
    assert.ok(headers.length > 0);
    for (const h of headers) {
      assert.equal(h.baseOffset % 3n, 0n, 'batches keep their base offsets');
      assert.equal(h.lastOffsetDelta, 2, 'and their offset range even when the last record went');
      assert.equal(h.producerId, 77n);
      assert.equal(h.attributes & 0x07, CompressionType.gzip);
    }
    await log.close();
  });

  it('keeps tombstones until delete.retention.ms after the first cleaning, then drops them', async () => {
    const { log, clock } = await openLog();
    await put(log, clock, [{ key: 'gone', value: 'v1' }, { key: 'stay', value: 's1' }]);
    await put(log, clock, [{ key: 'gone', value: null }]);
    for (let i = 0; i < 8; i++) await put(log, clock, [{ key: `filler${i}`, value: 'x'.repeat(100) }]);
    await cleanLog(log, clock.now());
    let all = await readAll(log);
    assert.deepEqual(
      all.filter((r) => r.key === 'gone').map((r) => r.value),
      [null],
      'the old value is gone, the tombstone stays',
    );
    const r = await log.read(2n, 1000, { minOneBatch: true });
    const h = readBatchHeader(r.chunks[0]!, 0);
    assert.ok((h.attributes & DELETE_HORIZON_FLAG_MASK) !== 0, 'delete horizon set');
    assert.equal(h.baseTimestamp, BigInt(clock.now() + 60_000));
    // more dirty data so the cleaner runs again; before the horizon the tombstone survives
    for (let i = 0; i < 8; i++) await put(log, clock, [{ key: `more${i}`, value: 'y'.repeat(100) }]);
    clock.advance(30_000);
    await cleanLog(log, clock.now());
    all = await readAll(log);
    assert.equal(all.filter((x) => x.key === 'gone').length, 1);
    for (let i = 0; i < 8; i++) await put(log, clock, [{ key: `more${i}`, value: 'z'.repeat(100) }]);
    clock.advance(31_000);
    const stats = await cleanLog(log, clock.now());
    assert.ok(stats && stats.tombstonesRemoved === 1);
    all = await readAll(log);
    assert.equal(all.filter((x) => x.key === 'gone').length, 0);
    assert.equal(all.find((x) => x.key === 'stay')?.value, 's1');
    await log.close();
  });

  it('survives a clean and an unclean reopen; no .cleaned/.swap/.deleted files remain', async () => {
    const { log, clock, dir } = await openLog();
    for (let round = 0; round < 10; round++) await put(log, clock, [{ key: `k${round % 3}`, value: `v${round}` }, { key: `z${round}`, value: 'x'.repeat(80) }]);
    await cleanLog(log, clock.now());
    const after = await readAll(log);
    await log.close();
    assert.ok(!readdirSync(dir).some((n) => /\.(cleaned|swap|deleted)$/.test(n)), readdirSync(dir).join(' '));
    const clean = await openLog(compact, dir, true);
    assert.deepEqual(await readAll(clean.log), after);
    await clean.log.close();
    const unclean = await openLog(compact, dir, false);
    assert.deepEqual(await readAll(unclean.log), after);
    await unclean.log.close();
  });

  it('appends and reads keep working while the cleaner runs', async () => {
    const { log, clock } = await openLog({ ...compact, segmentBytes: 2000 });
    for (let round = 0; round < 40; round++) await put(log, clock, [{ key: `k${round % 5}`, value: `v${round}-${'p'.repeat(50)}` }]);
    const running = cleanLog(log, clock.now(), { yieldBytes: 200 });
    let appended = 0;
    for (let i = 0; i < 20; i++) {
      await put(log, clock, [{ key: `live${i}`, value: 'live' }]);
      appended++;
      const r = await readAll(log);
      assert.ok(r.length > 0);
    }
    await running;
    const all = await readAll(log);
    assert.equal(log.logEndOffset, BigInt(40 + appended));
    for (let i = 0; i < 20; i++) assert.ok(all.some((r) => r.key === `live${i}`));
    for (let i = 1; i < all.length; i++) assert.ok(all[i]!.offset > all[i - 1]!.offset);
    await log.close();
  });

  it('cleaner checkpoint never passes what it cleaned (appends during cleaning)', async () => {
    // Regression: the pass's end offset was read from the active segment after the offset map was
    // built, so segments rolled while it ran were checkpointed as clean without being cleaned
    // (compat compaction.test.ts: `segments=1 ... firstDirtyOffset="1688"`, every version kept).
    const { log, clock } = await openLog();
    const version = (k: number, round: number) => ({ key: `k${k}`, value: `r${round}-${'p'.repeat(60)}` });
    for (let round = 0; round < 6; round++) await put(log, clock, [0, 1, 2, 3].map((k) => version(k, round)));
    const cleanedEnd = log.segmentBaseOffsets.at(-1)!; // the first uncleanable offset when the pass starts
    assert.ok(cleanableState(log, clock.now()).cleanable.length >= 2);

    // cleanLog takes its snapshot synchronously; these appends land while it maps and rewrites,
    // and roll several new segments holding newer versions of the same keys.
    const running = cleanLog(log, clock.now());
    let last = -1n;
    for (let round = 6; round < 14; round++) {
      const { buf, spans } = requestOf([batchOf([0, 1, 2, 3].map((k) => ({ ...version(k, round), timestamp: BigInt(clock.now()) })))]);
      last = log.append(buf, spans, { leaderEpoch: 0, now: clock.now() }).lastOffset;
    }
    log.updateHighWatermark(log.logEndOffset);
    const rolledTo = log.segmentBaseOffsets.at(-1)!;
    assert.ok(rolledTo > cleanedEnd, 'segments rolled while the cleaner ran');
    const stats = await running;
    await log.waitForDurable(last);

    assert.ok(stats && stats.recordsRemoved > 0);
    assert.equal(stats.firstDirtyOffset, cleanedEnd, 'the checkpoint is the end of the last segment cleaned');
    assert.equal(log.firstDirtyOffset, cleanedEnd);
    // What rolled during the pass is still dirty, so a later pass picks it up...
    const state = cleanableState(log, clock.now());
    assert.equal(state.firstDirtyOffset, cleanedEnd);
    assert.ok(state.dirtyBytes > 0 && needsCleaning(log, clock.now()));
    const before = await readAll(log);
    const second = await cleanLog(log, clock.now());
    const activeBase = log.segmentBaseOffsets.at(-1)!;
    assert.equal(second?.firstDirtyOffset, activeBase);
    // ...and every key is then down to its newest version below the active segment.
    assert.deepEqual(await readAll(log), [...latestPerKey(before.filter((r) => r.offset < activeBase)), ...before.filter((r) => r.offset >= activeBase)]);
    await log.close();
  });

  it('the dirty section starts at a valid checkpoint; min.compaction.lag.ms holds back dirty segments only', async () => {
    const { log, clock } = await openLog();
    const hourAhead = BigInt(clock.now() + 3_600_000); // producer CreateTime from a fast clock
    for (let round = 0; round < 6; round++) await put(log, clock, [0, 1, 2, 3].map((k) => ({ key: `k${k}`, value: `a${round}-${'p'.repeat(60)}`, timestamp: hourAhead })));
    // roll past them, so all of them get cleaned now
    const futureEnd = log.logEndOffset;
    for (let i = 0; log.segmentBaseOffsets.at(-1)! < futureEnd; i++) await put(log, clock, [{ key: `old${i}`, value: 'o'.repeat(200), timestamp: BigInt(clock.now() - 120_000) }]);
    await cleanLog(log, clock.now());
    const cleanEnd = log.firstDirtyOffset!;
    assert.equal(cleanEnd, log.segmentBaseOffsets.at(-1)!);
    // A checkpoint past the log end (a stale file, a log that lost its tail) is not trusted: the
    // whole log is dirty again, as in Kafka, instead of nothing being cleaned until the log grows.
    log.firstDirtyOffset = log.logEndOffset + 100n;
    let state = cleanableState(log, clock.now());
    assert.equal(state.firstDirtyOffset, log.logStartOffset);
    assert.equal(state.dirtyStart, 0);
    assert.ok(state.dirtyBytes > 0 && state.cleanBytes === 0);
    log.firstDirtyOffset = cleanEnd;

    // Older dirty data behind clean segments with future timestamps: only the dirty section is
    // subject to the lag, so it is cleanable (and the clean part is counted as clean).
    log.updateConfig({ ...compact, minCompactionLagMs: 60_000 });
    for (let round = 0; round < 6; round++) await put(log, clock, [0, 1, 2, 3].map((k) => ({ key: `k${k}`, value: `b${round}-${'p'.repeat(60)}`, timestamp: BigInt(clock.now() - 120_000) })));
    state = cleanableState(log, clock.now());
    assert.equal(state.firstDirtyOffset, cleanEnd);
    assert.ok(state.dirtyBytes > 0 && state.cleanBytes > 0, JSON.stringify({ dirty: state.dirtyBytes, clean: state.cleanBytes }));
    assert.equal(state.ends.at(-1), log.segmentBaseOffsets.at(-1));
    // Fresh dirty data is held back until it is older than the lag.
    await put(log, clock, [{ key: 'k0', value: 'fresh'.repeat(60) }]);
    for (let i = 0; i < 3; i++) await put(log, clock, [{ key: `f${i}`, value: 'x'.repeat(200) }]);
    const heldAt = cleanableState(log, clock.now()).ends.at(-1)!;
    assert.ok(heldAt < log.segmentBaseOffsets.at(-1)!, 'the young segment is not cleanable');
    clock.advance(61_000);
    assert.equal(cleanableState(log, clock.now()).ends.at(-1), log.segmentBaseOffsets.at(-1));
    await log.close();
  });

  it('a crash in the middle of a swap is completed at the next start', async () => {
    const fs = new FaultyFs();
    const { log, clock, dir } = await openLog(compact, undefined, true, fs);
    for (let round = 0; round < 12; round++) await put(log, clock, [{ key: `k${round % 3}`, value: `v${round}-${'q'.repeat(60)}` }]);
    const before = await readAll(log);
    const activeBase = log.segmentBaseOffsets.at(-1)!;
    // the process "dies" right after the commit point: .cleaned became .swap, nothing after
    fs.failRename = (from) => (from.endsWith('.log') ? new Error('EIO (injected crash)') : null);
    await assert.rejects(cleanLog(log, clock.now()));
    assert.ok(readdirSync(dir).some((n) => n.endsWith('.log.swap')));
    fs.failRename = null;
    const re = await openLog(compact, dir, false);
    assert.equal(re.log.stats.swapsCompleted, 1);
    assert.ok(!readdirSync(dir).some((n) => /\.(cleaned|swap)$/.test(n)));
    const after = await readAll(re.log);
    const latest = new Map<string | null, bigint>();
    for (const r of before.filter((x) => x.offset < activeBase)) latest.set(r.key, r.offset);
    // nothing acknowledged is lost: every key's latest value and the whole active part survive
    for (const off of latest.values()) assert.ok(after.some((r) => r.offset === off), `offset ${off}`);
    for (const r of before.filter((x) => x.offset >= activeBase)) assert.deepEqual(after.find((a) => a.offset === r.offset), r);
    for (const r of after) assert.deepEqual(r, before.find((b) => b.offset === r.offset));
    assert.equal(re.log.logEndOffset, log.logEndOffset);
    await re.log.close();
  });
});
