import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { LogManager, parseLogDirName } from './log-manager.js';
import type { LogConfig } from './config.js';
import { CapturingLogger, FaultyFs, ManualClock, ManualScheduler, appendBatches, readAll, tempDir, type TestRecord } from './testing.js';

const dirs: Array<{ cleanup(): void }> = [];
after(() => dirs.forEach((d) => d.cleanup()));

const small: Partial<LogConfig> = { segmentBytes: 1500, indexIntervalBytes: 200 };

function newDataDir(): string {
  const t = tempDir('fjord-logmgr-');
  dirs.push(t);
  return t.path;
}

async function openMgr(dataDir: string, extra: { logger?: CapturingLogger; clock?: ManualClock; scheduler?: ManualScheduler; background?: boolean; cleanerEnabled?: boolean; fs?: FaultyFs; onLogOffline?: (log: import('./partition-log.js').PartitionLog, err: Error) => void } = {}) {
  const clock = extra.clock ?? new ManualClock();
  const scheduler = extra.scheduler ?? new ManualScheduler(clock);
  const mgr = await LogManager.open({
    dataDir,
    clock,
    logger: extra.logger ?? new CapturingLogger(),
    defaults: small,
    fs: extra.fs ?? new FaultyFs(),
    scheduler,
    ...(extra.onLogOffline ? { onLogOffline: extra.onLogOffline } : {}),
    background: extra.background ?? false,
    retentionCheckIntervalMs: 1000,
    cleanerEnabled: extra.cleanerEnabled ?? true,
  });
  return { mgr, clock, scheduler };
}

const recs = (n: number, tag: string): TestRecord[] => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `${tag}-${i}-${'x'.repeat(50)}`, timestamp: 1_000n }));

const TOPICS: Array<[string, number]> = [
  ['orders', 0],
  ['orders', 1],
  ['my-topic.v2', 0],
  ['a-b-c-9', 12],
];

async function populate(mgr: LogManager, batches = 20): Promise<void> {
  for (const [t, p] of TOPICS) {
    const log = await mgr.createLog(t, p, `id-${t}`, small);
    for (let i = 0; i < batches; i++) {
      const r = appendBatches(log, [recs(3, `${t}/${p}/${i}`)], 1_700_000_000_000);
      await log.waitForDurable(r.lastOffset);
      log.updateHighWatermark(log.logEndOffset);
    }
  }
}

describe('LogManager', () => {
  it('splits directory names at the last dash', () => {
    assert.deepEqual(parseLogDirName('my-topic.v2-0'), { topic: 'my-topic.v2', partition: 0 });
    assert.deepEqual(parseLogDirName('a-b-c-9-12'), { topic: 'a-b-c-9', partition: 12 });
    assert.equal(parseLogDirName('orders-0.abc123-delete'), null);
    assert.equal(parseLogDirName('orders'), null);
    assert.equal(parseLogDirName('-3'), null);
  });

  it('a clean shutdown writes checkpoints and the marker; the next start scans nothing', async () => {
    const dataDir = newDataDir();
    const { mgr } = await openMgr(dataDir);
    assert.equal(mgr.hadCleanShutdown, false);
    await populate(mgr);
    const contents = new Map<string, unknown>();
    for (const [t, p] of TOPICS) contents.set(`${t}-${p}`, await readAll(mgr.getLog(t, p)!));
    await mgr.shutdown();
    assert.ok(existsSync(`${dataDir}/.kafka_cleanshutdown`));
    const rp = readFileSync(`${dataDir}/recovery-point-offset-checkpoint`, 'utf8').split('\n');
    assert.equal(rp[0], '0');
    assert.equal(rp[1], '4');
    assert.ok(rp.includes('my-topic.v2 0 60'), rp.join('|'));
    assert.ok(readFileSync(`${dataDir}/log-start-offset-checkpoint`, 'utf8').includes('a-b-c-9 12 0'));
    assert.equal(readFileSync(`${dataDir}/orders-1/partition.metadata`, 'utf8'), 'version: 0\ntopic_id: id-orders\n');
    assert.ok(readFileSync(`${dataDir}/orders-1/leader-epoch-checkpoint`, 'utf8').startsWith('0\n1\n0 0\n'));

    const { mgr: again } = await openMgr(dataDir);
    assert.equal(again.hadCleanShutdown, true);
    assert.ok(!existsSync(`${dataDir}/.kafka_cleanshutdown`), 'the marker is removed at startup');
    assert.equal(again.stats.logsLoaded, 4);
    assert.equal(again.stats.recoveredSegments, 0);
    assert.equal(again.stats.bytesScannedAtStartup, 0);
    for (const [t, p] of TOPICS) {
      const log = again.getLog(t, p)!;
      assert.equal(log.topicId, `id-${t}`);
      assert.deepEqual(await readAll(log), contents.get(`${t}-${p}`));
    }
    await again.shutdown();
  });

  it('after a crash the logs are scanned from their recovery points and nothing acknowledged is lost', async () => {
    const dataDir = newDataDir();
    const { mgr } = await openMgr(dataDir);
    await populate(mgr);
    await mgr.checkpoint();
    const ends = TOPICS.map(([t, p]) => mgr.getLog(t, p)!.logEndOffset);
    for (const log of mgr.allLogs()) await log.flush();
    // crash: no shutdown, no marker
    const { mgr: again } = await openMgr(dataDir);
    assert.equal(again.hadCleanShutdown, false);
    assert.ok(again.stats.recoveredSegments >= 4, `recovered ${again.stats.recoveredSegments}`);
    TOPICS.forEach(([t, p], i) => assert.equal(again.getLog(t, p)!.logEndOffset, ends[i]));
    await again.shutdown();
  });

  it('garbage checkpoint files are reported by name and recovery falls back to a full scan', async () => {
    const dataDir = newDataDir();
    const { mgr } = await openMgr(dataDir);
    await populate(mgr, 10);
    await mgr.shutdown();
    writeFileSync(`${dataDir}/recovery-point-offset-checkpoint`, '0\n2\norders 0 banana\n');
    writeFileSync(`${dataDir}/log-start-offset-checkpoint`, '\u0000\u0001garbage');
    const logger = new CapturingLogger();
    const { mgr: again } = await openMgr(dataDir, { logger });
    const text = logger.text();
    assert.match(text, /recovery-point-offset-checkpoint/);
    assert.match(text, /log-start-offset-checkpoint/);
    assert.equal(again.stats.badCheckpointFiles, 2);
    assert.equal(again.hadCleanShutdown, false);
    const segments = again.allLogs().reduce((n, l) => n + l.segmentCount, 0);
    assert.equal(again.stats.recoveredSegments, segments, 'every segment scanned');
    assert.equal(again.getLog('orders', 0)!.logEndOffset, 30n);
    await again.shutdown();
    // a garbled leader-epoch-checkpoint: that log is scanned in full and its epochs rebuilt
    writeFileSync(`${dataDir}/orders-0/leader-epoch-checkpoint`, '0\n1\nnot numbers\n');
    const logger2 = new CapturingLogger();
    const { mgr: third } = await openMgr(dataDir, { logger: logger2 });
    assert.match(logger2.text(), /leader-epoch-checkpoint/);
    assert.equal(third.stats.recoveredSegments, third.getLog('orders', 0)!.segmentCount);
    assert.deepEqual(third.getLog('orders', 0)!.epochEntries(), [{ epoch: 0, startOffset: 0n }]);
    await third.shutdown();
  });

  it('deletes logs (directories renamed -delete, leftovers removed at startup)', async () => {
    const dataDir = newDataDir();
    const { mgr } = await openMgr(dataDir);
    await populate(mgr, 3);
    await mgr.deleteLog('orders', 1);
    assert.equal(mgr.getLog('orders', 1), undefined);
    assert.ok(!readdirSync(dataDir).some((n) => n.startsWith('orders-1')));
    assert.ok(!readFileSync(`${dataDir}/recovery-point-offset-checkpoint`, 'utf8').includes('orders 1 '));
    await mgr.shutdown();
    mkdirSync(`${dataDir}/orders-0.1234abcd-delete`);
    writeFileSync(`${dataDir}/orders-0.1234abcd-delete/00000000000000000000.log`, 'x');
    mkdirSync(`${dataDir}/not a log dir`);
    const { mgr: again } = await openMgr(dataDir);
    assert.ok(!existsSync(`${dataDir}/orders-0.1234abcd-delete`));
    assert.equal(again.allLogs().length, 3);
    await again.shutdown();
  });

  it('DeleteRecords survives a crash (log-start-offset checkpoint written at once)', async () => {
    const dataDir = newDataDir();
    const { mgr } = await openMgr(dataDir);
    await populate(mgr, 20);
    const log = mgr.getLog('orders', 0)!;
    await log.deleteRecordsBefore(31n);
    for (const l of mgr.allLogs()) await l.flush();
    const { mgr: again } = await openMgr(dataDir);
    assert.equal(again.getLog('orders', 0)!.logStartOffset, 31n);
    await again.shutdown();
  });

  it('runs retention on its schedule and the cleaner on demand', async () => {
    const dataDir = newDataDir();
    const clock = new ManualClock(10_000_000);
    const scheduler = new ManualScheduler(clock);
    const { mgr } = await openMgr(dataDir, { clock, scheduler, background: true, cleanerEnabled: false });
    const log = await mgr.createLog('old', 0, 'id-old', { ...small, retentionMs: 60_000 });
    for (let i = 0; i < 20; i++) {
      const r = appendBatches(log, [recs(3, `o${i}`).map((x) => ({ ...x, timestamp: BigInt(clock.now()) }))], clock.now());
      await log.waitForDurable(r.lastOffset);
      log.updateHighWatermark(log.logEndOffset);
    }
    const table = await mgr.createLog('table', 0, 'id-table', { ...small, cleanupPolicy: { delete: false, compact: true } });
    for (let i = 0; i < 30; i++) {
      const r = appendBatches(table, [[{ key: `k${i % 4}`, value: `v${i}-${'y'.repeat(60)}`, timestamp: BigInt(clock.now()) }]], clock.now());
      await table.waitForDurable(r.lastOffset);
      table.updateHighWatermark(table.logEndOffset);
    }
    clock.advance(120_000);
    scheduler.runDue();
    for (let i = 0; i < 50 && log.logStartOffset === 0n; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(log.logStartOffset, 60n, 'retention deleted everything (the active segment was rolled)');
    const cleaned = await mgr.runCleanerOnce();
    assert.equal(cleaned?.topic, 'table');
    assert.ok(cleaned!.recordsRemoved > 0);
    assert.ok(readFileSync(`${dataDir}/cleaner-offset-checkpoint`, 'utf8').includes('table 0 '));
    assert.equal(await mgr.runCleanerOnce(), null, 'nothing left to clean');
    await mgr.shutdown();
    const { mgr: again } = await openMgr(dataDir);
    assert.equal(again.getLog('table', 0)!.firstDirtyOffset, cleaned!.firstDirtyOffset);
    await again.shutdown();
  });

  it('an fsync failure takes that log offline, tells the broker, and the shutdown is not marked clean', async () => {
    const dataDir = newDataDir();
    const fs = new FaultyFs();
    const offline: string[] = [];
    const { mgr } = await openMgr(dataDir, { fs, onLogOffline: (log) => offline.push(`${log.topic}-${log.partition}`) });
    await populate(mgr, 2);
    const log = mgr.getLog('orders', 1)!;
    fs.failFdatasync = Object.assign(new Error('EIO (injected)'), { code: 'EIO' });
    const r = appendBatches(log, [recs(1, 'doomed')], 1_700_000_000_000);
    await assert.rejects(log.waitForDurable(r.lastOffset), (e: Error) => e.name === 'LogOfflineError');
    fs.failFdatasync = null;
    assert.deepEqual(offline, ['orders-1']);
    assert.equal(mgr.stats.offlineLogs, 1);
    // the other logs keep working
    const other = mgr.getLog('orders', 0)!;
    const ok = appendBatches(other, [recs(1, 'fine')], 1_700_000_000_000);
    await other.waitForDurable(ok.lastOffset);
    await mgr.shutdown();
    assert.ok(!existsSync(`${dataDir}/.kafka_cleanshutdown`));
    const { mgr: again } = await openMgr(dataDir);
    assert.equal(again.hadCleanShutdown, false);
    assert.equal(again.getLog('orders', 0)!.logEndOffset, 7n);
    await again.shutdown();
  });

  it('a partition that cannot be loaded is reported with its file; the others load', async () => {
    const dataDir = newDataDir();
    const { mgr } = await openMgr(dataDir);
    await populate(mgr, 3);
    await mgr.shutdown();
    // a directory where a segment file should be
    mkdirSync(`${dataDir}/orders-1/00000000000000000100.log`);
    const logger = new CapturingLogger();
    const { mgr: again } = await openMgr(dataDir, { logger });
    assert.equal(again.allLogs().length, 3);
    assert.equal(again.failedLogs.length, 1);
    assert.equal(again.failedLogs[0]!.error.name, 'StorageError');
    assert.match(logger.text(), /orders-1/);
    await again.shutdown();
    assert.ok(!existsSync(`${dataDir}/.kafka_cleanshutdown`), 'not a clean shutdown while a log is offline');
  });
});
