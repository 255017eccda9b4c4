import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { encodeBatch, encodeControlBatch, splitBatches } from '@fjord/protocol';
import { cleanLog } from './compaction.js';
import type { LogConfig } from './config.js';
import { LogManager } from './log-manager.js';
import { PartitionLog, type AppendRejection, type AppendResult } from './partition-log.js';
import { ProducerStateManager, decodeSnapshot, decrementSequence, incrementSequence, type ProducerBatch } from './producer-state.js';
import { segmentFileName } from './segment.js';
import { FaultyFs, ManualClock, ManualScheduler, readAll, recordsOf, tempDir } from './testing.js';
import { TXN_INDEX_ENTRY_BYTES, TxnIndex } from './txn-index.js';

const dirs: Array<{ cleanup(): void }> = [];
after(() => dirs.forEach((d) => d.cleanup()));

const INT32_MAX = 0x7fff_ffff;
const T0 = 1_700_000_000_000;
const PID = 4242n;

function newDir(): string {
  const t = tempDir();
  dirs.push(t);
  return `${t.path}/idem-0`;
}

async function open(dir: string, o: { clean: boolean; recoveryPoint?: bigint; config?: Partial<LogConfig>; clock?: ManualClock; expirationMs?: number }) {
  const clock = o.clock ?? new ManualClock(T0);
  const log = await PartitionLog.open({
    dir,
    topic: 'idem',
    partition: 0,
    config: o.config ?? { segmentBytes: 1 << 20 },
    clock,
    hadCleanShutdown: o.clean,
    ...(o.recoveryPoint !== undefined ? { recoveryPoint: o.recoveryPoint } : {}),
    ...(o.expirationMs !== undefined ? { producerIdExpirationMs: o.expirationMs } : {}),
    fs: new FaultyFs(),
    scheduler: new ManualScheduler(clock),
  });
  return { log, clock };
}

interface BatchOpts {
  pid?: bigint;
  epoch?: number;
  seq: number;
  records?: number;
  txn?: boolean;
  ts?: bigint;
  tag?: string;
}

/** A producer's batch as it sends it (base offset 0). */
function batch(o: BatchOpts): Buffer {
  const n = o.records ?? 1;
  return encodeBatch({
    producerId: o.pid ?? PID,
    producerEpoch: o.epoch ?? 0,
    baseSequence: o.seq,
    isTransactional: o.txn ?? false,
    baseTimestamp: o.ts ?? BigInt(T0),
    records: Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `${o.tag ?? 'v'}-${o.seq}-${i}`, timestamp: o.ts ?? BigInt(T0) })),
  });
}

function send(log: PartitionLog, batches: Buffer[], now = T0): AppendResult | AppendRejection {
  const buf = Buffer.concat(batches);
  return log.tryAppend(buf, splitBatches(buf), { leaderEpoch: 0, now });
}

function ok(r: AppendResult | AppendRejection): AppendResult {
  assert.ok(!('error' in r), `refused: ${'error' in r ? `${r.error} ${r.message}` : ''}`);
  return r as AppendResult;
}

function refused(r: AppendResult | AppendRejection, error: string): AppendRejection {
  assert.ok('error' in r, `expected ${error}, the append went through`);
  assert.equal((r as AppendRejection).error, error, (r as AppendRejection).message);
  return r as AppendRejection;
}

function marker(log: PartitionLog, o: { pid?: bigint; epoch?: number; commit: boolean; coordinatorEpoch?: number; tv?: number }, now = T0): AppendResult | AppendRejection {
  const buf = encodeControlBatch({
    type: o.commit ? 'COMMIT' : 'ABORT',
    producerId: o.pid ?? PID,
    producerEpoch: o.epoch ?? 0,
    coordinatorEpoch: o.coordinatorEpoch ?? 0,
    baseOffset: 0n,
    timestamp: BigInt(now),
    partitionLeaderEpoch: 0,
  });
  return log.tryAppend(buf, splitBatches(buf), { leaderEpoch: 0, now, origin: 'coordinator', transactionVersion: o.tv ?? 0 });
}

describe('producer state: idempotence', () => {
  it('a repeated batch is not stored again and is answered with the original offsets', async () => {
    const { log } = await open(newDir(), { clean: true });
    ok(send(log, [batch({ seq: 0, records: 3 })]));
    const first = ok(send(log, [batch({ seq: 3, records: 2, tag: 'x' })]));
    assert.equal(first.firstOffset, 3n);
    const leo = log.logEndOffset;
    const again = ok(send(log, [batch({ seq: 3, records: 2, tag: 'x' })]));
    assert.equal(again.duplicate, true);
    assert.equal(again.firstOffset, 3n);
    assert.equal(again.lastOffset, 4n);
    assert.equal(again.logAppendTime, BigInt(T0), "Kafka answers the original batch's max timestamp");
    assert.equal(log.logEndOffset, leo, 'nothing written');
    assert.equal((await readAll(log)).length, 5);
    // An older one of the last five is a duplicate too.
    assert.equal(ok(send(log, [batch({ seq: 0, records: 3 })])).firstOffset, 0n);
    await log.close();
  });

  it('only the last 5 batches are remembered: an older retry is out of order', async () => {
    const { log } = await open(newDir(), { clean: true });
    for (let s = 0; s < 6; s++) ok(send(log, [batch({ seq: s })]));
    refused(send(log, [batch({ seq: 0 })]), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
    assert.equal(ok(send(log, [batch({ seq: 1 })])).duplicate, true);
    assert.equal(log.logEndOffset, 6n);
    await log.close();
  });

  it('a sequence gap is refused and nothing is stored', async () => {
    const { log } = await open(newDir(), { clean: true });
    ok(send(log, [batch({ seq: 0, records: 2 })]));
    const r = refused(send(log, [batch({ seq: 3 })]), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
    assert.match(r.message, /3 \(incoming seq\. number\), 1 \(current end sequence number\)/);
    assert.equal(log.logEndOffset, 2n);
    ok(send(log, [batch({ seq: 2 })]));
    await log.close();
  });

  it('an older epoch is fenced; a new epoch must start at 0', async () => {
    const { log } = await open(newDir(), { clean: true });
    ok(send(log, [batch({ epoch: 3, seq: 0 })]));
    refused(send(log, [batch({ epoch: 2, seq: 1 })]), 'INVALID_PRODUCER_EPOCH');
    refused(send(log, [batch({ epoch: 4, seq: 5 })]), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
    ok(send(log, [batch({ epoch: 4, seq: 0 })]));
    // the old epoch's batches are forgotten: its retry is now fenced, not a duplicate
    refused(send(log, [batch({ epoch: 3, seq: 0 })]), 'INVALID_PRODUCER_EPOCH');
    // negative epochs are just smaller epochs
    refused(send(log, [batch({ epoch: -5, seq: 1 })]), 'INVALID_PRODUCER_EPOCH');
    assert.equal(log.logEndOffset, 2n);
    await log.close();
  });

  it('an unknown producer may start at any sequence (Kafka 3.x/4.x, KIP-360: no UNKNOWN_PRODUCER_ID)', async () => {
    const { log } = await open(newDir(), { clean: true });
    ok(send(log, [batch({ pid: 7n, epoch: 2, seq: 1234 })]));
    refused(send(log, [batch({ pid: 7n, epoch: 2, seq: 1236 })]), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
    ok(send(log, [batch({ pid: 7n, epoch: 2, seq: 1235 })]));
    // producer ids below 0 (other than -1) are not producer ids: no state at all
    ok(send(log, [batch({ pid: -5n, seq: 9 })]));
    ok(send(log, [batch({ pid: -5n, seq: 9 })]));
    assert.equal(log.producerCount, 1);
    await log.close();
  });

  it('sequences wrap after Int32.MAX', async () => {
    assert.equal(incrementSequence(INT32_MAX - 1, 2), 0);
    assert.equal(incrementSequence(INT32_MAX, 1), 0);
    assert.equal(decrementSequence(0, 2), INT32_MAX - 1);
    assert.equal(decrementSequence(1, 3), INT32_MAX - 1);
    const { log } = await open(newDir(), { clean: true });
    ok(send(log, [batch({ seq: INT32_MAX - 2, records: 2 })])); // MAX-2 .. MAX-1
    ok(send(log, [batch({ seq: INT32_MAX, records: 3 })])); // MAX, 0, 1
    assert.equal(ok(send(log, [batch({ seq: INT32_MAX, records: 3 })])).duplicate, true);
    refused(send(log, [batch({ seq: 0 })]), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
    ok(send(log, [batch({ seq: 2 })]));
    assert.equal(log.activeProducers()[0]!.lastSequence, 2);
    await log.close();
  });

  it('several batches of one producer in one request continue each other; one bad batch refuses them all', async () => {
    const { log } = await open(newDir(), { clean: true });
    ok(send(log, [batch({ seq: 0, records: 2 }), batch({ seq: 2, records: 2 }), batch({ pid: 9n, seq: 0 })]));
    assert.equal(log.logEndOffset, 5n);
    refused(send(log, [batch({ seq: 4 }), batch({ seq: 6 })]), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
    refused(send(log, [batch({ seq: 4 }), batch({ seq: 4 })]), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
    assert.equal(log.logEndOffset, 5n);
    // As Kafka's analyzeAndValidateProducerState: a duplicate anywhere in the request answers the
    // whole request with the duplicate's offsets and writes nothing.
    const d = ok(send(log, [batch({ seq: 4 }), batch({ seq: 2, records: 2 })]));
    assert.equal(d.duplicate, true);
    assert.equal(d.firstOffset, 2n);
    assert.equal(log.logEndOffset, 5n);
    ok(send(log, [batch({ seq: 4 })]));
    await log.close();
  });

  it('epoch -1 with a producer id is not sequence-checked (Kafka: no known epoch)', async () => {
    const { log } = await open(newDir(), { clean: true });
    ok(send(log, [batch({ epoch: -1, seq: 5 })]));
    ok(send(log, [batch({ epoch: -1, seq: 50 })]));
    assert.equal(ok(send(log, [batch({ epoch: -1, seq: 50 })])).duplicate, true);
    await log.close();
  });
});

describe('producer state: transactions and the last stable offset', () => {
  it('an open transaction holds the LSO; COMMIT releases it; ABORT is indexed for read_committed', async () => {
    const { log } = await open(newDir(), { clean: true });
    ok(send(log, [batch({ pid: 1n, seq: 0, records: 2 })])); // 0..1 plain
    ok(send(log, [batch({ seq: 0, records: 2, txn: true })])); // 2..3 txn of PID
    assert.equal(log.highWatermark, 4n);
    assert.equal(log.lastStableOffset, 2n);
    assert.equal(log.activeProducers().find((p) => p.producerId === PID)!.currentTxnStartOffset, 2n);
    // a plain batch from a producer with an open transaction
    refused(send(log, [batch({ seq: 2 })]), 'INVALID_TXN_STATE');
    ok(send(log, [batch({ seq: 2, txn: true })])); // 4
    ok(marker(log, { commit: true })); // 5
    assert.equal(log.lastStableOffset, 6n);
    ok(send(log, [batch({ seq: 3, records: 3, txn: true })])); // 6..8
    ok(send(log, [batch({ pid: 1n, seq: 2 })])); // 9
    ok(marker(log, { commit: false, coordinatorEpoch: 1 })); // 10
    assert.equal(log.lastStableOffset, 11n);
    const all = await log.read(0n, 1 << 20, { minOneBatch: true, abortedTransactions: true, maxOffset: log.lastStableOffset });
    assert.deepEqual(all.abortedTransactions, [{ producerId: PID, firstOffset: 6n, lastOffset: 10n, lastStableOffset: 11n }]);
    const before = await log.read(0n, 1 << 20, { minOneBatch: true, abortedTransactions: true, maxOffset: 6n });
    assert.deepEqual(before.abortedTransactions, []);
    const tail = await log.read(9n, 1 << 20, { minOneBatch: true, abortedTransactions: true });
    assert.equal(tail.abortedTransactions!.length, 1, 'the fetch range ends inside the transaction');
    await log.close();
  });

  it('the LSO recorded for an abort is the first open transaction of another producer', async () => {
    const { log } = await open(newDir(), { clean: true });
    ok(send(log, [batch({ pid: 1n, seq: 0, txn: true })])); // 0
    ok(send(log, [batch({ pid: 2n, seq: 0, txn: true })])); // 1
    ok(marker(log, { pid: 2n, commit: false })); // 2
    assert.equal(log.lastStableOffset, 0n);
    ok(marker(log, { pid: 1n, commit: false })); // 3
    assert.equal(log.lastStableOffset, 4n);
    const r = await log.read(0n, 1 << 20, { minOneBatch: true, abortedTransactions: true });
    assert.deepEqual(r.abortedTransactions, [
      { producerId: 2n, firstOffset: 1n, lastOffset: 2n, lastStableOffset: 0n },
      { producerId: 1n, firstOffset: 0n, lastOffset: 3n, lastStableOffset: 4n },
    ]);
    await log.close();
  });

  it('markers check the producer epoch and the coordinator epoch', async () => {
    const { log } = await open(newDir(), { clean: true });
    ok(send(log, [batch({ epoch: 5, seq: 0, txn: true })]));
    refused(marker(log, { epoch: 4, commit: true }), 'INVALID_PRODUCER_EPOCH');
    ok(marker(log, { epoch: 5, commit: true, coordinatorEpoch: 3 }));
    ok(send(log, [batch({ epoch: 5, seq: 1, txn: true })]));
    refused(marker(log, { epoch: 5, commit: false, coordinatorEpoch: 2 }), 'TRANSACTION_COORDINATOR_FENCED');
    // TV2: the coordinator bumps the epoch for the marker; the same epoch is stale...
    refused(marker(log, { epoch: 5, commit: false, coordinatorEpoch: 3, tv: 2 }), 'INVALID_PRODUCER_EPOCH');
    ok(marker(log, { epoch: 6, commit: false, coordinatorEpoch: 3, tv: 2 }));
    // ...except the retry of a marker that already ended the transaction (KAFKA-19999)
    ok(marker(log, { epoch: 6, commit: false, coordinatorEpoch: 3, tv: 2 }));
    assert.equal(log.lastStableOffset, log.highWatermark);
    assert.equal(log.logEndOffset, 5n);
    await log.close();
  });

  it('with a high watermark below the log end, an ended transaction holds the LSO until its marker is below it', async () => {
    const dir = newDir();
    const clock = new ManualClock(T0);
    const log = await PartitionLog.open({ dir, topic: 'idem', partition: 0, clock, hadCleanShutdown: true, highWatermark: 'manual', scheduler: new ManualScheduler(clock) });
    ok(send(log, [batch({ seq: 0, records: 2, txn: true })])); // 0..1
    ok(marker(log, { commit: false })); // 2
    log.updateHighWatermark(2n);
    assert.equal(log.lastStableOffset, 0n, 'the abort is not replicated yet');
    log.updateHighWatermark(3n);
    assert.equal(log.lastStableOffset, 3n);
    await log.close();
  });
});

describe('producer state: snapshots, recovery, expiry', () => {
  it('snapshot round trip in Kafka\'s layout (version 1, CRC-32C, 46-byte entries)', () => {
    const ps = new ProducerStateManager({ name: 't-0', expirationMs: 86_400_000 });
    const b = (p: Partial<ProducerBatch>): ProducerBatch => ({ producerId: 1n, producerEpoch: 0, baseSequence: 0, lastOffsetDelta: 0, firstOffset: 0n, maxTimestamp: BigInt(T0), isTransactional: false, ...p });
    ps.apply(ps.analyze([b({ producerId: 11n, producerEpoch: 2, baseSequence: 10, lastOffsetDelta: 4, firstOffset: 100n })], 'client'));
    ps.apply(ps.analyze([b({ producerId: 12n, isTransactional: true, firstOffset: 105n })], 'client'));
    const buf = ps.encodeSnapshot();
    assert.equal(buf.readInt16BE(0), 1);
    assert.equal(buf.readInt32BE(6), 2);
    assert.equal(buf.length, 2 + 4 + 4 + 2 * 46);
    const entries = decodeSnapshot(buf, 'x');
    assert.deepEqual(
      entries.map((e) => [e.producerId, e.epoch, e.lastSequence, e.lastOffset, e.offsetDelta, e.coordinatorEpoch, e.currentTxnFirstOffset]),
      [
        [11n, 2, 14, 104n, 4, -1, -1n],
        [12n, 0, 0, 105n, 0, -1, 105n],
      ],
    );
    const back = new ProducerStateManager({ name: 't-0', expirationMs: 86_400_000 });
    back.loadSnapshot(buf, 'x', T0);
    assert.equal(back.firstUnstableOffset(), 105n);
    assert.equal(back.entry(11n)!.lastSeq, 14);
    const bad = Buffer.from(buf);
    bad[bad.length - 1]! ^= 1;
    assert.throws(() => decodeSnapshot(bad, 'x'), /CRC/);
  });

  it('a clean restart loads the snapshot written at close and replays nothing; the last batch is still a duplicate', async () => {
    const dir = newDir();
    const { log } = await open(dir, { clean: true, config: { segmentBytes: 600 } });
    for (let s = 0; s < 20; s++) ok(send(log, [batch({ seq: s })]));
    await log.close();
    const snaps = readdirSync(dir).filter((n) => n.endsWith('.snapshot'));
    assert.ok(snaps.includes(segmentFileName(20n, '.snapshot')), `snapshot at the log end: ${snaps}`);
    assert.ok(snaps.length > 2, 'one per segment');
    const { log: re } = await open(dir, { clean: true, config: { segmentBytes: 600 } });
    assert.equal(re.stats.bytesScannedAtStartup, 0);
    assert.equal(ok(send(re, [batch({ seq: 19 })])).duplicate, true);
    refused(send(re, [batch({ seq: 21 })]), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
    ok(send(re, [batch({ seq: 20 })]));
    await re.close();
  });

  it('a log closed with the state its snapshot at the log end already holds does not write it again', async () => {
    const dir = newDir();
    const { log } = await open(dir, { clean: true });
    ok(send(log, [batch({ seq: 0 })]));
    await log.close();
    assert.equal(log.counters.producerSnapshots, 1);
    const { log: idle } = await open(dir, { clean: true });
    await idle.close();
    assert.equal(idle.counters.producerSnapshots, 0);
    const { log: busy } = await open(dir, { clean: true });
    ok(send(busy, [batch({ seq: 1 })]));
    await busy.close();
    assert.equal(busy.counters.producerSnapshots, 1);
  });

  it('a crash (no close) replays the active segment: its last 5 batches are duplicates again, its transaction index is rebuilt', async () => {
    const dir = newDir();
    const { log } = await open(dir, { clean: true });
    for (let s = 0; s < 23; s++) await log.waitForDurable(ok(send(log, [batch({ seq: s })])).lastOffset);
    ok(send(log, [batch({ pid: 77n, seq: 0, txn: true })]));
    ok(marker(log, { pid: 77n, commit: false }));
    ok(send(log, [batch({ pid: 78n, seq: 0, txn: true })]));
    await log.flush();
    const rp = log.recoveryPoint;
    // crash: no close, the recovery point as last checkpointed
    const { log: re } = await open(dir, { clean: false, recoveryPoint: rp });
    assert.equal(re.logEndOffset, 26n);
    assert.ok(re.stats.recoveredSegments >= 1);
    for (const s of [18, 19, 20, 21, 22]) assert.equal(ok(send(re, [batch({ seq: s })])).duplicate, true, `seq ${s}`);
    refused(send(re, [batch({ seq: 17 })]), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
    assert.equal(re.lastStableOffset, 25n, "78's transaction is still open");
    const r = await re.read(23n, 1 << 20, { minOneBatch: true, abortedTransactions: true, maxOffset: 25n });
    assert.deepEqual(r.abortedTransactions, [{ producerId: 77n, firstOffset: 23n, lastOffset: 24n, lastStableOffset: 25n }], 'the transaction index was rebuilt');
    await re.close();
  });

  it('a crash with many segments starts from the snapshot taken at the last roll: the last batch before it and everything after it are known', async () => {
    const dir = newDir();
    const { log } = await open(dir, { clean: true, config: { segmentBytes: 600 } });
    for (let s = 0; s < 23; s++) await log.waitForDurable(ok(send(log, [batch({ seq: s })])).lastOffset);
    await log.flush();
    const rp = log.recoveryPoint;
    const activeBase = log.segmentBaseOffsets.at(-1)!;
    assert.ok(log.producerSnapshotOffsets.includes(activeBase), 'a snapshot at the active segment base');
    const { log: re } = await open(dir, { clean: false, recoveryPoint: rp, config: { segmentBytes: 600 } });
    assert.equal(re.stats.recoveredSegments, 1, 'only the active segment is scanned');
    for (let s = Number(activeBase) - 1; s < 23; s++) assert.equal(ok(send(re, [batch({ seq: s })])).duplicate, true, `seq ${s}`);
    ok(send(re, [batch({ seq: 23 })]));
    await re.close();
  });

  it('a torn tail: the batch cut off is forgotten, so its retry is appended (not a duplicate)', async () => {
    const dir = newDir();
    const { log } = await open(dir, { clean: true });
    for (let s = 0; s < 4; s++) await log.waitForDurable(ok(send(log, [batch({ seq: 2 * s, records: 2 })])).lastOffset);
    const rp = log.recoveryPoint;
    const file = `${dir}/${segmentFileName(0n, '.log')}`;
    truncateSync(file, statSync(file).size - 10);
    const { log: re } = await open(dir, { clean: false, recoveryPoint: rp });
    assert.equal(re.logEndOffset, 6n);
    const again = ok(send(re, [batch({ seq: 6, records: 2 })]));
    assert.equal(again.duplicate, false);
    assert.equal(again.firstOffset, 6n);
    assert.equal(ok(send(re, [batch({ seq: 4, records: 2 })])).duplicate, true);
    await re.close();
  });

  it('no snapshot at all: a clean start begins empty (Kafka\'s upgrade path), a crash start replays the whole log', async () => {
    const dir = newDir();
    const config = { segmentBytes: 600 };
    const { log } = await open(dir, { clean: true, config });
    for (let s = 0; s < 12; s++) ok(send(log, [batch({ seq: s })]));
    await log.close();
    const dropSnapshots = () => {
      for (const n of readdirSync(dir)) if (n.endsWith('.snapshot')) rmSync(`${dir}/${n}`);
    };
    dropSnapshots();
    const { log: clean } = await open(dir, { clean: true, config });
    assert.equal(clean.producerCount, 0);
    assert.equal(clean.stats.bytesScannedAtStartup, 0);
    await clean.close();
    dropSnapshots();
    const { log: crashed } = await open(dir, { clean: false, recoveryPoint: 12n, config });
    assert.equal(crashed.producerCount, 1);
    assert.equal(ok(send(crashed, [batch({ seq: 9 })])).duplicate, true);
    const activeBase = crashed.segmentBaseOffsets.at(-1)!;
    assert.ok(activeBase > 0n);
    assert.deepEqual(crashed.producerSnapshotOffsets, [activeBase], 'the state at the active segment base is written, so the next crash replays only that segment');
    await crashed.close();
  });

  it('a corrupt snapshot is deleted and an older one (or the log) used instead', async () => {
    const dir = newDir();
    const { log } = await open(dir, { clean: true, config: { segmentBytes: 600 } });
    for (let s = 0; s < 12; s++) ok(send(log, [batch({ seq: s })]));
    await log.close();
    const latest = `${dir}/${segmentFileName(12n, '.snapshot')}`;
    writeFileSync(latest, Buffer.from('garbage!garbage!'));
    const { log: re } = await open(dir, { clean: true, config: { segmentBytes: 600 } });
    assert.equal(ok(send(re, [batch({ seq: 11 })])).duplicate, true);
    assert.equal(ok(send(re, [batch({ seq: 7 })])).duplicate, true, 'replayed from an older snapshot: five batches cached');
    await re.close();
    assert.ok(existsSync(latest), 'rewritten at close');
    assert.doesNotThrow(() => decodeSnapshot(readFileSync(latest), latest));
  });

  it('producer ids expire after producer.id.expiration.ms, never with a transaction open', async () => {
    const clock = new ManualClock(T0);
    const { log } = await open(newDir(), { clean: true, clock, expirationMs: 1000 });
    ok(send(log, [batch({ pid: 1n, seq: 0, ts: BigInt(T0) })]));
    ok(send(log, [batch({ pid: 2n, seq: 0, ts: BigInt(T0), txn: true })]));
    assert.equal(log.removeExpiredProducers(T0 + 999), 0);
    assert.equal(log.removeExpiredProducers(T0 + 1000), 1);
    assert.deepEqual(log.activeProducers().map((p) => p.producerId), [2n]);
    // the expired producer starts over with any sequence
    ok(send(log, [batch({ pid: 1n, seq: 40 })], T0 + 1001));
    await log.close();
  });

  it('the LogManager expires producers every producer.id.expiration.check.interval.ms', async () => {
    const t = tempDir();
    dirs.push(t);
    const clock = new ManualClock(T0);
    const scheduler = new ManualScheduler(clock);
    const logs = await LogManager.open({ dataDir: t.path, clock, scheduler, producerIdExpirationMs: 1000, producerIdExpirationCheckIntervalMs: 500 });
    const log = await logs.createLog('exp', 0, undefined, {});
    ok(send(log, [batch({ seq: 0, ts: BigInt(T0) })]));
    clock.advance(500);
    scheduler.runDue();
    await new Promise((r) => setImmediate(r));
    assert.equal(log.producerCount, 1);
    clock.advance(500);
    scheduler.runDue();
    await new Promise((r) => setImmediate(r));
    assert.equal(log.producerCount, 0);
    await logs.shutdown();
  });

  it('retention keeps the state of producers whose batches it deleted, and their snapshots follow the segments', async () => {
    const dir = newDir();
    const { log } = await open(dir, { clean: true, config: { segmentBytes: 600, retentionBytes: 1 } });
    for (let s = 0; s < 12; s++) await log.waitForDurable(ok(send(log, [batch({ seq: s })])).lastOffset);
    ok(send(log, [batch({ pid: 9n, seq: 0 })]));
    await log.flush();
    const deleted = await log.runRetention(T0);
    assert.ok(deleted > 0);
    assert.ok(log.logStartOffset > 5n);
    assert.ok(log.producerSnapshotOffsets.every((o) => o >= log.logStartOffset), `${log.producerSnapshotOffsets}`);
    // PID's last batches are gone from the log but not from its state
    refused(send(log, [batch({ seq: 13 })]), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
    ok(send(log, [batch({ seq: 12 })]));
    await log.close();
  });

  it('truncation reloads the state from a snapshot and the log', async () => {
    const dir = newDir();
    const { log } = await open(dir, { clean: true, config: { segmentBytes: 600 } });
    for (let s = 0; s < 10; s++) await log.waitForDurable(ok(send(log, [batch({ seq: s })])).lastOffset);
    ok(send(log, [batch({ pid: 5n, seq: 0, txn: true })])); // 10
    ok(marker(log, { pid: 5n, commit: false })); // 11
    await log.flush();
    await log.truncateTo(11n);
    assert.equal(log.logEndOffset, 11n);
    assert.equal(log.lastStableOffset, 10n, 'the abort marker went: the transaction is open again');
    const r = await log.read(10n, 1 << 20, { minOneBatch: true, abortedTransactions: true });
    assert.deepEqual(r.abortedTransactions, []);
    await log.truncateTo(7n);
    refused(send(log, [batch({ seq: 8 })]), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
    ok(send(log, [batch({ seq: 7 })]));
    assert.equal(log.lastStableOffset, log.highWatermark);
    await log.close();
  });
});

describe('transaction index', () => {
  it("is Kafka's .txnindex: 34-byte entries (version 0, pid, first, last, LSO), written at roll and close, rebuilt after a crash", async () => {
    const dir = newDir();
    const { log } = await open(dir, { clean: true, config: { segmentBytes: 600 } });
    ok(send(log, [batch({ seq: 0, txn: true })])); // 0
    ok(marker(log, { commit: false })); // 1
    for (let s = 0; s < 8; s++) ok(send(log, [batch({ pid: 3n, seq: s })]));
    await log.flush();
    const file = `${dir}/${segmentFileName(0n, '.txnindex')}`;
    const bytes = readFileSync(file);
    assert.equal(bytes.length, TXN_INDEX_ENTRY_BYTES);
    assert.equal(bytes.readInt16BE(0), 0);
    assert.equal(bytes.readBigInt64BE(2), PID);
    assert.equal(bytes.readBigInt64BE(10), 0n);
    assert.equal(bytes.readBigInt64BE(18), 1n);
    assert.equal(bytes.readBigInt64BE(26), 2n);
    assert.equal(readdirSync(dir).filter((n) => n.endsWith('.txnindex')).length, 1, 'no file for segments without aborts');
    const parsed = TxnIndex.parse(Buffer.concat([bytes, Buffer.alloc(5)]));
    assert.match(parsed.problem!, /whole number/);
    assert.equal(parsed.index.entries, 1);
    await log.close();
  });

  it('compaction moves the aborted transactions of the segments it rewrites to the cleaned segment', async () => {
    const dir = newDir();
    const config: Partial<LogConfig> = { segmentBytes: 400, cleanupPolicy: { delete: false, compact: true }, minCleanableDirtyRatio: 0.01 };
    const { log, clock } = await open(dir, { clean: true, config });
    ok(send(log, [batch({ seq: 0, txn: true })])); // 0
    ok(marker(log, { commit: false })); // 1
    for (let s = 0; s < 12; s++) ok(send(log, [batch({ pid: 3n, seq: s })])); // one key, over and over
    await log.flush();
    const expected = [{ producerId: PID, firstOffset: 0n, lastOffset: 1n, lastStableOffset: 2n }];
    const stats = await cleanLog(log, clock.now());
    assert.ok(stats && stats.recordsRemoved > 0);
    const r = await log.read(0n, 1 << 20, { minOneBatch: true, abortedTransactions: true });
    assert.deepEqual(r.abortedTransactions, expected);
    await log.close();
    assert.ok(existsSync(`${dir}/${segmentFileName(0n, '.txnindex')}`));
    assert.ok(!readdirSync(dir).some((n) => n.endsWith('.txnindex.swap')));
    const { log: re } = await open(dir, { clean: true, config });
    assert.deepEqual((await re.read(0n, 1 << 20, { minOneBatch: true, abortedTransactions: true })).abortedTransactions, expected);
    // the producers' batches stayed (as empty headers where their records went): PID 3 continues
    refused(send(re, [batch({ pid: 3n, seq: 13 })]), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
    ok(send(re, [batch({ pid: 3n, seq: 12 })]));
    await re.close();
  });

  it('a read from a later segment still lists a transaction that began before it', async () => {
    const dir = newDir();
    const { log } = await open(dir, { clean: true, config: { segmentBytes: 250 } });
    ok(send(log, [batch({ seq: 0, txn: true })])); // 0
    for (let s = 0; s < 8; s++) ok(send(log, [batch({ pid: 3n, seq: s })])); // 1..8
    ok(marker(log, { commit: false })); // 9, in a later segment
    assert.ok(log.segmentCount >= 3);
    const r = await log.read(3n, 150, { minOneBatch: true, abortedTransactions: true });
    assert.deepEqual(r.abortedTransactions, [{ producerId: PID, firstOffset: 0n, lastOffset: 9n, lastStableOffset: 10n }]);
    assert.ok(recordsOf(r).length > 0);
    await log.close();
  });
});
