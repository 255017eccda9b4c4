import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { PartitionLog } from './partition-log.js';
import type { LogConfig } from './config.js';
import { segmentFileName } from './segment.js';
import { CapturingLogger, FaultyFs, ManualClock, ManualScheduler, appendBatches, readAll, tempDir, type TestRecord } from './testing.js';

const dirs: Array<{ cleanup(): void }> = [];
after(() => dirs.forEach((d) => d.cleanup()));

function newDir(): string {
  const t = tempDir();
  dirs.push(t);
  return `${t.path}/events-3`;
}

const config: Partial<LogConfig> = { segmentBytes: 2048, indexIntervalBytes: 256 };

async function open(dir: string, opts: { clean: boolean; recoveryPoint?: bigint; logger?: CapturingLogger; config?: Partial<LogConfig> }) {
  const clock = new ManualClock();
  return PartitionLog.open({
    dir,
    topic: 'events',
    partition: 3,
    config: opts.config ?? config,
    clock,
    hadCleanShutdown: opts.clean,
    ...(opts.recoveryPoint !== undefined ? { recoveryPoint: opts.recoveryPoint } : {}),
    fs: new FaultyFs(),
    scheduler: new ManualScheduler(clock),
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
}

const recs = (n: number, tag: string): TestRecord[] => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `${tag}-${i}-${'p'.repeat(40)}`, timestamp: 1000n + BigInt(i) }));

/** Fills a log with `batches` batches of 3 records, waiting for durability of each. */
async function fill(log: PartitionLog, batches: number, tag = 'b'): Promise<void> {
  for (let i = 0; i < batches; i++) {
    const r = appendBatches(log, [recs(3, `${tag}${i}`)], 1_700_000_000_000);
    await log.waitForDurable(r.lastOffset);
  }
}

const logFiles = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.log')).sort();

describe('recovery', () => {
  it('a clean shutdown reopens without scanning any segment', async () => {
    const dir = newDir();
    const log = await open(dir, { clean: true });
    await fill(log, 60);
    const before = await readAll(log);
    await log.close();
    assert.ok(logFiles(dir).length > 3);
    const re = await open(dir, { clean: true });
    assert.equal(re.stats.recoveredSegments, 0);
    assert.equal(re.stats.bytesScannedAtStartup, 0);
    assert.equal(re.stats.indexesRebuilt, 0);
    assert.ok(re.stats.tailBytesScannedAtStartup <= 2048, `tail scan read ${re.stats.tailBytesScannedAtStartup}`);
    assert.equal(re.logEndOffset, 180n);
    assert.deepEqual(await readAll(re), before);
    await re.close();
  });

  it('crash: a segment cut mid-batch ends the log at the last good batch; appends continue', async () => {
    const dir = newDir();
    const log = await open(dir, { clean: true });
    await fill(log, 40);
    const rp = log.recoveryPoint;
    // crash: no close. Tear the last segment in the middle of its last batch.
    const files = logFiles(dir);
    const last = `${dir}/${files[files.length - 1]}`;
    const size = statSync(last).size;
    truncateSync(last, size - 20);
    const logger = new CapturingLogger();
    const re = await open(dir, { clean: false, recoveryPoint: rp, logger });
    assert.equal(re.logEndOffset, 117n, 'the torn batch (117..119) is gone');
    assert.ok(re.stats.recoveredSegments >= 1);
    assert.ok(re.stats.bytesScannedAtStartup > 0);
    const line = logger.lines.find((l) => l.msg.startsWith('truncating log'));
    assert.equal(line?.fields?.['file'], last);
    assert.ok(Number(line?.fields?.['position']) < size - 20);
    const r = appendBatches(re, [recs(2, 'after')], 1_700_000_000_000);
    assert.equal(r.firstOffset, 117n);
    await re.waitForDurable(r.lastOffset);
    const all = await readAll(re);
    assert.equal(all.length, 119);
    all.forEach((x, i) => assert.equal(x.offset, BigInt(i)));
    assert.equal(all[118]!.value?.startsWith('after-1'), true);
    await re.close();
  });

  it('crash: a flipped byte inside a batch truncates there and removes later segments', async () => {
    const dir = newDir();
    const log = await open(dir, { clean: true });
    await fill(log, 60);
    const files = logFiles(dir);
    assert.ok(files.length >= 4);
    const victim = `${dir}/${files[1]}`;
    const bytes = readFileSync(victim);
    bytes[500] = bytes[500]! ^ 0xff; // inside the third batch or so, past its header
    writeFileSync(victim, bytes);
    const logger = new CapturingLogger();
    const re = await open(dir, { clean: false, recoveryPoint: 0n, logger });
    const base = BigInt(files[1]!.slice(0, 20));
    assert.ok(re.logEndOffset >= base && re.logEndOffset < base + 30n, `log end ${re.logEndOffset}`);
    assert.equal(logFiles(dir).length, 2, 'segments after the corruption are deleted');
    assert.match(logger.text(), /truncating log at a torn or corrupt batch/);
    assert.match(logger.text(), new RegExp(files[1]!));
    const all = await readAll(re);
    assert.equal(BigInt(all.length), re.logEndOffset);
    const r = appendBatches(re, [recs(1, 'x')], 1_700_000_000_000);
    assert.equal(r.firstOffset, re.logEndOffset - 1n);
    await re.close();
  });

  it('clean shutdown with a corrupt or missing index rebuilds it', async () => {
    const dir = newDir();
    const log = await open(dir, { clean: true });
    await fill(log, 60);
    const before = await readAll(log);
    await log.close();
    const files = logFiles(dir);
    const idx1 = `${dir}/${files[1]!.replace('.log', '.index')}`;
    const idx2 = `${dir}/${files[2]!.replace('.log', '.timeindex')}`;
    appendFileSync(idx1, Buffer.from([1, 2, 3])); // not a multiple of 8
    truncateSync(idx2, 0);
    const tidx = `${dir}/${files[3]!.replace('.log', '.index')}`;
    // last entry points far past the log
    const b = readFileSync(tidx);
    if (b.length >= 8) {
      b.writeInt32BE(0x7ffffff0, b.length - 4);
      writeFileSync(tidx, b);
    }
    const idx0 = `${dir}/${files[0]!.replace('.log', '.index')}`;
    writeFileSync(idx0 + '.bak', readFileSync(idx0));
    const { unlinkSync } = await import('node:fs');
    unlinkSync(idx0);
    const logger = new CapturingLogger();
    const re = await open(dir, { clean: true, logger });
    assert.ok(re.stats.indexesRebuilt >= 2, `rebuilt ${re.stats.indexesRebuilt}`);
    assert.match(logger.text(), /index/);
    assert.deepEqual(await readAll(re, 300), before);
    await re.close();
    assert.ok(existsSync(idx0));
  });

  it('a garbage time index cannot make retention delete live data', async () => {
    const dir = newDir();
    const cfg = { ...config, retentionMs: 60_000 };
    const log = await open(dir, { clean: true, config: cfg });
    const now = 1_700_000_000_000;
    for (let i = 0; i < 40; i++) {
      const r = appendBatches(log, [recs(3, `b${i}`).map((x) => ({ ...x, timestamp: BigInt(now) }))], now);
      await log.waitForDurable(r.lastOffset);
    }
    await log.close();
    const files = logFiles(dir);
    // a plausible-looking but wrong last entry: an ancient timestamp for the first segment
    const ti = `${dir}/${files[0]!.replace('.log', '.timeindex')}`;
    const b = readFileSync(ti);
    b.writeBigInt64BE(5n, b.length - 12);
    writeFileSync(ti, b);
    const re = await open(dir, { clean: true, config: cfg });
    re.updateHighWatermark(re.logEndOffset);
    assert.equal(await re.runRetention(now + 1000), 0, 'nothing is older than retention.ms');
    assert.equal(re.logStartOffset, 0n);
    assert.equal(re.stats.indexesRebuilt, 1);
    await re.close();
  });

  it('a torn tail after a clean shutdown is cut off and logged with file and position', async () => {
    const dir = newDir();
    const log = await open(dir, { clean: true });
    await fill(log, 10);
    await log.close();
    const files = logFiles(dir);
    const last = `${dir}/${files[files.length - 1]}`;
    const size = statSync(last).size;
    appendFileSync(last, Buffer.alloc(37, 7));
    const logger = new CapturingLogger();
    const re = await open(dir, { clean: true, logger });
    assert.equal(re.logEndOffset, 30n);
    assert.equal(statSync(last).size, size);
    const line = logger.lines.find((l) => l.msg.startsWith('truncating log'));
    assert.ok(line);
    assert.equal(line.fields?.['file'], last);
    assert.equal(line.fields?.['position'], size);
    await re.close();
  });

  it('clean shutdown, then an older segment loses its tail: the log ends at the hole', async () => {
    const dir = newDir();
    const log = await open(dir, { clean: true });
    await fill(log, 60);
    const before = await readAll(log);
    await log.close();
    const files = logFiles(dir);
    const victim = `${dir}/${files[1]}`;
    const size = statSync(victim).size;
    truncateSync(victim, size - 10); // after its last index entry: only the header walk notices
    const logger = new CapturingLogger();
    const re = await open(dir, { clean: true, logger });
    const base2 = BigInt(files[2]!.slice(0, 20));
    assert.ok(re.logEndOffset < base2, `log end ${re.logEndOffset} must stop before the next segment ${base2}`);
    assert.equal(logFiles(dir).length, 2);
    assert.deepEqual(await readAll(re), before.slice(0, Number(re.logEndOffset)));
    assert.match(logger.text(), new RegExp(files[1]!));
    await re.close();
  });

  it('a middle segment cut exactly at a batch boundary ends the log there (no gap is served)', async () => {
    for (const clean of [true, false]) {
      const dir = newDir();
      const log = await open(dir, { clean: true });
      await fill(log, 60);
      const before = await readAll(log);
      await log.close();
      const files = logFiles(dir);
      const victim = `${dir}/${files[1]}`;
      const first = readFileSync(victim);
      const batchBytes = 12 + first.readInt32BE(8);
      truncateSync(victim, first.length - batchBytes); // drop its last batch whole
      const re = await open(dir, { clean, recoveryPoint: 0n });
      const base2 = BigInt(files[2]!.slice(0, 20));
      assert.equal(re.logEndOffset, base2 - 3n, `clean=${clean}`);
      assert.equal(logFiles(dir).length, 2);
      assert.deepEqual(await readAll(re), before.slice(0, Number(base2 - 3n)));
      await re.close();
    }
  });

  it('leftover .cleaned, .deleted and .tmp files are removed; a .swap completes the interrupted swap', async () => {
    const dir = newDir();
    const log = await open(dir, { clean: true });
    await fill(log, 40);
    const before = await readAll(log);
    await log.close();
    const files = logFiles(dir);
    assert.ok(files.length >= 3);
    // A "cleaned" replacement for segments 0 and 1: here simply both files back to back (no records dropped).
    const merged = Buffer.concat([readFileSync(`${dir}/${files[0]}`), readFileSync(`${dir}/${files[1]}`)]);
    writeFileSync(`${dir}/${files[0]}.swap`, merged);
    writeFileSync(`${dir}/${segmentFileName(5n, '.log.cleaned')}`, Buffer.alloc(100, 1));
    writeFileSync(`${dir}/${files[2]}.deleted`, Buffer.alloc(10, 1));
    writeFileSync(`${dir}/leader-epoch-checkpoint.tmp`, 'junk');
    const re = await open(dir, { clean: false, recoveryPoint: re0(files) });
    assert.equal(re.stats.swapsCompleted, 1);
    const names = readdirSync(dir);
    assert.ok(!names.some((n) => n.endsWith('.cleaned') || n.endsWith('.swap') || n.endsWith('.deleted') || n.endsWith('.tmp')), names.join(','));
    assert.ok(!names.includes(files[1]!), 'the merged segment is gone');
    assert.deepEqual(await readAll(re), before);
    await re.close();
  });

  it('an unclean shutdown without a recovery point scans every segment', async () => {
    const dir = newDir();
    const log = await open(dir, { clean: true });
    await fill(log, 30);
    const n = logFiles(dir).length;
    const re = await open(dir, { clean: false });
    assert.equal(re.stats.recoveredSegments, n);
    assert.equal(re.logEndOffset, 90n);
    await re.close();
    void log;
  });
});

function re0(files: string[]): bigint {
  return BigInt(files[files.length - 1]!.slice(0, 20));
}
