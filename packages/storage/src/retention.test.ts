import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { PartitionLog } from './partition-log.js';
import { OffsetOutOfRangeError } from './errors.js';
import type { LogConfig } from './config.js';
import { retentionDecision, type RetentionSegment } from './retention.js';
import { FaultyFs, ManualClock, ManualScheduler, appendBatches, readAll, recordsOf, tempDir, type TestRecord } from './testing.js';

const dirs: Array<{ cleanup(): void }> = [];
after(() => dirs.forEach((d) => d.cleanup()));

async function openLog(config: Partial<LogConfig>, fs = new FaultyFs()) {
  const t = tempDir();
  dirs.push(t);
  const clock = new ManualClock(1_000_000);
  const scheduler = new ManualScheduler(clock);
  const dir = `${t.path}/logs-0`;
  const log = await PartitionLog.open({ dir, topic: 'logs', partition: 0, config, clock, hadCleanShutdown: true, fs, scheduler });
  return { log, clock, scheduler, dir, fs };
}

const recs = (n: number, ts: number): TestRecord[] => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `v${i}${'.'.repeat(60)}`, timestamp: BigInt(ts) }));

async function fill(log: PartitionLog, clock: ManualClock, batches: number, stepMs: number): Promise<void> {
  for (let i = 0; i < batches; i++) {
    const r = appendBatches(log, [recs(2, clock.now())], clock.now());
    await log.waitForDurable(r.lastOffset);
    log.updateHighWatermark(log.logEndOffset);
    clock.advance(stepMs);
  }
}

describe('retentionDecision', () => {
  const seg = (base: number, size: number, ts: number, end: number): RetentionSegment => ({
    baseOffset: BigInt(base),
    sizeBytes: size,
    largestTimestampMs: ts,
    endOffset: BigInt(end),
  });
  const segs = [seg(0, 100, 10, 10), seg(10, 100, 20, 20), seg(20, 100, 30, 30), seg(30, 50, 40, 35)];
  const base = { segments: segs, deletePolicy: true, retentionMs: -1, retentionBytes: -1, nowMs: 100, logStartOffset: 0n, highWatermark: 35n };

  it('deletes by time from the oldest, by size while over the limit, and below the log start offset', () => {
    assert.deepEqual(retentionDecision({ ...base, retentionMs: 75 }), { count: 2, reason: 'retention.ms' });
    assert.deepEqual(retentionDecision({ ...base, retentionBytes: 160 }), { count: 1, reason: 'retention.bytes' });
    assert.deepEqual(retentionDecision({ ...base, retentionBytes: 150 }), { count: 2, reason: 'retention.bytes' });
    assert.deepEqual(retentionDecision({ ...base, retentionBytes: 350 }), { count: 0, reason: null });
    assert.deepEqual(retentionDecision({ ...base, logStartOffset: 25n }), { count: 2, reason: 'log-start-offset' });
    assert.deepEqual(retentionDecision({ ...base, deletePolicy: false, retentionMs: 1, logStartOffset: 10n }), { count: 1, reason: 'log-start-offset' });
  });

  it('includes an expired active segment (the log rolls it) but never data above the high watermark', () => {
    assert.equal(retentionDecision({ ...base, retentionMs: 1 }).count, 4);
    assert.equal(retentionDecision({ ...base, retentionMs: 1, highWatermark: 20n }).count, 2);
    const emptyActive = [...segs.slice(0, 3), seg(30, 0, 40, 30)];
    assert.equal(retentionDecision({ ...base, segments: emptyActive, retentionMs: 1 }).count, 3);
  });
});

describe('PartitionLog retention', () => {
  it('deletes segments older than retention.ms and moves the log start offset', async () => {
    const { log, clock, scheduler, dir } = await openLog({ segmentBytes: 600, retentionMs: 10_000, fileDeleteDelayMs: 5_000 });
    await fill(log, clock, 30, 1_000); // 30 s of data, a batch per second
    const before = log.segmentCount;
    const n = await log.runRetention(clock.now());
    assert.ok(n > 0 && n < before, `deleted ${n} of ${before}`);
    assert.ok(log.logStartOffset > 0n);
    await assert.rejects(log.read(0n, 1000, { minOneBatch: true }), OffsetOutOfRangeError);
    const rest = await readAll(log);
    assert.equal(rest[0]!.offset, log.logStartOffset);
    for (const r of rest) assert.ok(r.timestamp >= BigInt(clock.now() - 10_000 - 5_000), 'nothing much older than retention remains');
    assert.ok(readdirSync(dir).some((f) => f.endsWith('.deleted')), 'files linger as .deleted');
    clock.advance(5_000);
    scheduler.runDue();
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(!readdirSync(dir).some((f) => f.endsWith('.deleted')), 'then they are unlinked');
    await log.close();
  });

  it('rolls and deletes an expired active segment; appends continue at the same offsets', async () => {
    const { log, clock } = await openLog({ retentionMs: 1_000 });
    await fill(log, clock, 5, 10);
    clock.advance(5_000);
    const n = await log.runRetention(clock.now());
    assert.equal(n, 1);
    assert.equal(log.segmentCount, 1);
    assert.equal(log.logStartOffset, 10n);
    assert.equal(log.logEndOffset, 10n);
    const r = appendBatches(log, [recs(1, clock.now())], clock.now());
    assert.equal(r.firstOffset, 10n);
    await log.close();
  });

  it('deletes the oldest segments while the log is larger than retention.bytes', async () => {
    const { log, clock } = await openLog({ segmentBytes: 1000, retentionBytes: 2500 });
    await fill(log, clock, 40, 1);
    const total = log.sizeBytes;
    await log.runRetention(clock.now());
    assert.ok(log.sizeBytes <= 2500 + 1000, `size ${log.sizeBytes}`);
    assert.ok(log.sizeBytes < total);
    assert.ok(log.sizeBytes > 2500 - 1000);
    await log.close();
  });

  it('DeleteRecords moves the log start offset, drops whole segments below it, refuses offsets above the high watermark', async () => {
    const { log, clock } = await openLog({ segmentBytes: 600 });
    await fill(log, clock, 20, 1);
    await assert.rejects(log.deleteRecordsBefore(log.highWatermark + 1n), OffsetOutOfRangeError);
    const segsBefore = log.segmentCount;
    const res = await log.deleteRecordsBefore(21n);
    assert.equal(res.logStartOffset, 21n);
    assert.equal(log.logStartOffset, 21n);
    assert.ok(log.segmentCount < segsBefore);
    assert.ok(log.segmentBaseOffsets[0]! <= 21n);
    const r = await log.read(21n, 10_000, { minOneBatch: true });
    assert.ok(recordsOf(r).some((x) => x.offset === 21n));
    await assert.rejects(log.read(20n, 100, { minOneBatch: true }), OffsetOutOfRangeError);
    // an offset at or below the start is a no-op
    assert.equal((await log.deleteRecordsBefore(5n)).logStartOffset, 21n);
    await log.close();
  });

  it('a read in flight survives retention deleting (and unlinking) its segment', async () => {
    const fs = new FaultyFs();
    const { log, clock } = await openLog({ segmentBytes: 600, retentionMs: 1, fileDeleteDelayMs: 0 }, fs);
    await fill(log, clock, 12, 1);
    const expected = await readAll(log);
    fs.readDelayMs = 30;
    const inflight = log.read(0n, 100_000, { minOneBatch: true });
    await new Promise((r) => setTimeout(r, 5));
    fs.readDelayMs = 0;
    clock.advance(10_000);
    const deleted = await log.runRetention(clock.now());
    assert.ok(deleted > 0);
    const got = recordsOf(await inflight);
    assert.deepEqual(got, expected.slice(0, got.length));
    assert.ok(got.length > 0);
    await log.close();
  });
});
