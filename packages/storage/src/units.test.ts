/** Pure pieces: indexes, checkpoint formats, the leader-epoch cache, config. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { OffsetIndex } from './offset-index.js';
import { TimeIndex } from './time-index.js';
import {
  CheckpointFormatError,
  formatEpochEntries,
  formatPartitionMetadata,
  formatPartitionOffsets,
  parseEpochEntries,
  parsePartitionMetadata,
  parsePartitionOffsets,
} from './checkpoint.js';
import { LeaderEpochCache } from './leader-epoch-cache.js';
import { isGroupCommit, normalizeLogConfig, parseCleanupPolicy } from './config.js';
import { parseSegmentFileName, segmentFileName } from './segment.js';
import { AssertionFailure } from './errors.js';

describe('OffsetIndex', () => {
  it('looks up the largest entry at or below the target, like a sorted-array model', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 10_000 }), { maxLength: 200 }), fc.array(fc.integer({ min: -5, max: 10_100 }), { maxLength: 50 }), (rels, targets) => {
        const sorted = [...rels].sort((a, b) => a - b);
        const idx = new OffsetIndex(1000n, 1 << 20);
        sorted.forEach((r, i) => idx.append(1000n + BigInt(r), (i + 1) * 10));
        const copy = new OffsetIndex(1000n, 1 << 20, Buffer.from(idx.bytes()));
        for (const t of targets) {
          const i = sorted.findLastIndex((r) => r <= t);
          const want = i < 0 ? { offset: 1000n, position: 0 } : { offset: 1000n + BigInt(sorted[i]!), position: (i + 1) * 10 };
          assert.deepEqual(idx.lookup(1000n + BigInt(t)), want);
          assert.deepEqual(copy.lookup(1000n + BigInt(t)), want);
        }
      }),
    );
  });

  it('refuses entries that do not increase or do not fit, and reports fullness', () => {
    const idx = new OffsetIndex(0n, 16);
    idx.append(5n, 100);
    assert.throws(() => idx.append(5n, 200), AssertionFailure);
    assert.throws(() => idx.append(6n, 100), AssertionFailure);
    idx.append(6n, 200);
    assert.equal(idx.isFull, true);
    assert.throws(() => idx.append(7n, 300), AssertionFailure);
    idx.truncate(6n, 1000);
    assert.equal(idx.entries, 1);
    assert.equal(OffsetIndex.check(Buffer.alloc(7), 100), 'size 7 is not a multiple of 8');
    assert.match(OffsetIndex.check(idx.bytes(), 50) ?? '', /past the log/);
    assert.equal(OffsetIndex.check(idx.bytes(), 101), null);
  });
});

describe('TimeIndex', () => {
  it('appends only growing timestamps and looks up the last entry at or below a time', () => {
    const ti = new TimeIndex(100n, 1200);
    ti.maybeAppend(50n, 101n);
    ti.maybeAppend(50n, 105n); // not larger: skipped
    ti.maybeAppend(70n, 110n);
    ti.maybeAppend(-1n, 111n); // no timestamp: skipped
    assert.equal(ti.entries, 2);
    assert.deepEqual(ti.lookup(10n), { timestamp: -1n, offset: 100n });
    assert.deepEqual(ti.lookup(60n), { timestamp: 50n, offset: 101n });
    assert.deepEqual(ti.lookup(700n), { timestamp: 70n, offset: 110n });
    assert.deepEqual(ti.lastEntry(), { timestamp: 70n, offset: 110n });
    ti.truncate(110n);
    assert.deepEqual(ti.lastEntry(), { timestamp: 50n, offset: 101n });
    assert.match(TimeIndex.check(Buffer.from(ti.bytes()), 100n, 101n) ?? '', /past the segment/);
  });
});

describe('index buffers', () => {
  it('grow from 4 KiB up to segment.index.bytes, and the time index by one entry past it for its final entry', () => {
    const oi = new OffsetIndex(0n, 10_000);
    assert.equal(oi.memoryBytes, 4096);
    for (let i = 0; i < oi.maxEntries; i++) oi.append(BigInt(i), i * 10);
    assert.equal(oi.isFull, true);
    assert.equal(oi.memoryBytes, 1250 * 8);
    assert.deepEqual(new OffsetIndex(0n, 10_000, Buffer.from(oi.bytes())).lookup(1249n), { offset: 1249n, position: 12_490 });

    const ti = new TimeIndex(0n, 10_000);
    for (let i = 0; i < ti.maxEntries; i++) ti.maybeAppend(BigInt(i), BigInt(i));
    assert.equal(ti.isFull, true);
    ti.maybeAppend(5000n, 5000n); // full: skipped
    assert.equal(ti.entries, 833);
    ti.maybeAppend(5000n, 5000n, true);
    assert.equal(ti.entries, 834);
    assert.equal(ti.memoryBytes, 834 * 12);
    assert.deepEqual(new TimeIndex(0n, 10_000, Buffer.from(ti.bytes())).lastEntry(), { timestamp: 5000n, offset: 5000n });
  });
});

describe('checkpoint files', () => {
  it("round-trip Kafka's text formats", () => {
    const entries = [
      { topic: 'my-topic.v2', partition: 0, offset: 42n },
      { topic: 'x', partition: 17, offset: 9_007_199_254_740_993n },
    ];
    const text = formatPartitionOffsets(entries);
    assert.equal(text, '0\n2\nmy-topic.v2 0 42\nx 17 9007199254740993\n');
    assert.deepEqual(parsePartitionOffsets(text, 'f'), entries);
    const epochs = [
      { epoch: 0, startOffset: 0n },
      { epoch: 3, startOffset: 120n },
    ];
    assert.deepEqual(parseEpochEntries(formatEpochEntries(epochs), 'f'), epochs);
    assert.deepEqual(parsePartitionMetadata(formatPartitionMetadata('AAAAAAAAAAAAAAAAAAAAAQ'), 'f'), { topicId: 'AAAAAAAAAAAAAAAAAAAAAQ' });
  });

  it('reject anything malformed, naming the file', () => {
    for (const bad of ['', '1\n0\n', '0\n2\na 0 1\n', '0\n1\na b 1\n', '0\n1\na 0 x\n', '0\n1\na 0 1 2\n', '\u0000garbage', '0\n1\na -1 5\n']) {
      assert.throws(
        () => parsePartitionOffsets(bad, '/d/recovery-point-offset-checkpoint'),
        (e: unknown) => e instanceof CheckpointFormatError && e.message.includes('recovery-point-offset-checkpoint'),
        JSON.stringify(bad),
      );
    }
    assert.throws(() => parseEpochEntries('0\n1\n-1 5\n', 'f'), CheckpointFormatError);
    assert.throws(() => parsePartitionMetadata('version: 1\ntopic_id: x\n', 'f'), CheckpointFormatError);
  });
});

describe('LeaderEpochCache', () => {
  it("answers OffsetForLeaderEpoch as Kafka's cache does", () => {
    const c = new LeaderEpochCache();
    c.assign(1, 0n);
    c.assign(1, 5n); // same epoch: ignored
    c.assign(4, 10n);
    c.assign(6, 20n);
    assert.equal(c.latestEpoch, 6);
    assert.deepEqual(c.endOffsetFor(6, 30n), { leaderEpoch: 6, endOffset: 30n });
    assert.deepEqual(c.endOffsetFor(5, 30n), { leaderEpoch: 4, endOffset: 20n });
    assert.deepEqual(c.endOffsetFor(1, 30n), { leaderEpoch: 1, endOffset: 10n });
    assert.deepEqual(c.endOffsetFor(0, 30n), { leaderEpoch: 0, endOffset: 0n });
    assert.deepEqual(c.endOffsetFor(7, 30n), { leaderEpoch: -1, endOffset: -1n });
    assert.deepEqual(c.endOffsetFor(-1, 30n), { leaderEpoch: -1, endOffset: -1n });
    c.truncateFromEnd(20n);
    assert.equal(c.latestEpoch, 4);
    c.truncateFromStart(15n);
    assert.deepEqual(c.snapshot(), [{ epoch: 4, startOffset: 15n }]);
  });
});

describe('config and names', () => {
  it('parses cleanup.policy, fills bad numbers from defaults, decides group commit', () => {
    assert.deepEqual(parseCleanupPolicy('compact,delete'), { delete: true, compact: true });
    assert.deepEqual(parseCleanupPolicy('compact'), { delete: false, compact: true });
    const c = normalizeLogConfig({ segmentBytes: Number.NaN, indexIntervalBytes: 100, segmentMs: 0 });
    assert.equal(c.segmentBytes, 1024 * 1024 * 1024);
    assert.equal(c.indexIntervalBytes, 100);
    assert.equal(c.segmentMs, 7 * 24 * 3600 * 1000);
    assert.equal(isGroupCommit(normalizeLogConfig({})), true);
    assert.equal(isGroupCommit(normalizeLogConfig({ flushMessages: 9.2e18, flushMs: 1000 })), false);
    assert.equal(isGroupCommit(normalizeLogConfig({ flushMessages: 1, flushMs: 1000 })), true);
  });

  it('segment file names are the 20-digit base offset', () => {
    assert.equal(segmentFileName(4711n, '.log'), '00000000000000004711.log');
    assert.equal(parseSegmentFileName('00000000000000004711.timeindex', '.timeindex'), 4711n);
    assert.equal(parseSegmentFileName('4711.log', '.log'), null);
    assert.equal(parseSegmentFileName('00000000000000004711.log.swap', '.log'), null);
  });
});
