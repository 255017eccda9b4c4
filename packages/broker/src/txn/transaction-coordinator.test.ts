// The transaction coordinator in-process, with a controlled clock: InitProducerId (epochs,
// fencing an open transaction, KIP-360 resumption), AddPartitions and verification, EndTxn with
// Kafka's codes for every state (v1 and transactions v2), markers in the partitions, timeouts
// that fence, transactional id expiration, transactional offsets, DescribeTransactions and
// ListTransactions, and what a restart replays: a completing transaction gets its markers again,
// an open one stays open (and its offsets pending) until it times out.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { CONTROL_FLAG_MASK, ErrorCode, TRANSACTIONAL_FLAG_MASK, decodeBatch, encodeBatch, readControlRecordType, splitBatches } from '@fjord/protocol';
import { Broker } from '../broker.js';
import { BrokerConfig } from '../config/broker-configs.js';
import { silentLogger } from '../logger.js';
import { OFFSETS_TOPIC } from '../group/internal-topic.js';
import { TransactionCoordinator } from './transaction-coordinator.js';
import { TRANSACTION_STATE_TOPIC, transitRecord } from './transaction-log.js';
import { EPOCH_MAX, tpKey } from './transaction-metadata.js';
import { TV_0, TV_2 } from './transaction-state.js';
import { TRANSACTION_VERSION_FINALIZED } from './transaction-version.js';

/**
 * How far fencing (InitProducerId over an open transaction, or a timeout) moves the epoch before
 * the abort is written: one bump, and with transactions v2 finalized (the coordinator's own aborts
 * use the finalized version, as in Kafka) one more for the abort itself.
 */
const FENCE_BUMP = TRANSACTION_VERSION_FINALIZED >= 2 ? 2 : 1;

let dir: string;
let now = Date.UTC(2026, 0, 1);
const clock = { now: () => now };
let broker: Broker;
const TOPIC = 'data';

function config(): BrokerConfig {
  return new BrokerConfig([
    ['listeners', 'PLAINTEXT://127.0.0.1:0'],
    ['log.dir', dir],
    ['transaction.state.log.num.partitions', '3'],
    ['offsets.topic.num.partitions', '3'],
    ['transaction.max.timeout.ms', '120000'],
    ['transactional.id.expiration.ms', '3600000'],
  ]);
}

async function start(): Promise<void> {
  broker = new Broker({ config: config(), logger: silentLogger, clock });
  await broker.start();
}

async function restart(): Promise<void> {
  await broker.txn.settled();
  await broker.stop();
  await start();
}

before(async () => {
  dir = mkdtempSync(joinPath(tmpdir(), 'fjord-txn-'));
  await start();
  const r = await broker.topics.create({ name: TOPIC, numPartitions: 4, replicationFactor: 1, assignments: [], configs: {} });
  assert.equal(r.errorCode, 0);
});

after(async () => {
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Sequence numbers per producer and partition, as a real producer keeps them. */
const seqs = new Map<string, number>();

/** Appends one transactional record batch for the producer, as a Produce would. */
function produce(pid: bigint, epoch: number, partition: number, value: string): bigint {
  const k = `${pid}:${epoch}:${partition}`;
  const seq = seqs.get(k) ?? 0;
  seqs.set(k, seq + 1);
  const batch = encodeBatch({ isTransactional: true, producerId: pid, producerEpoch: epoch, baseSequence: seq, records: [{ key: null, value, timestamp: BigInt(now) }] });
  const r = broker.replicas.append(broker.replicas.partition(TOPIC, partition)!, batch, now, 11);
  assert.equal(r.errorCode, 0, r.errorMessage ?? '');
  return r.baseOffset;
}

interface Seen {
  offset: bigint;
  producerId: bigint;
  epoch: number;
  marker?: 'COMMIT' | 'ABORT';
  value?: string;
}

/** Every batch of a partition, markers with their type. */
async function batches(topic: string, partition: number): Promise<Seen[]> {
  const p = broker.replicas.partition(topic, partition)!;
  const r = await p.log.read(p.logStartOffset, 1 << 24, { minOneBatch: true });
  const out: Seen[] = [];
  for (const chunk of r.chunks) {
    for (const span of splitBatches(chunk)) {
      const b = decodeBatch(chunk, span.pos);
      const h = b.header;
      if (h.attributes & CONTROL_FLAG_MASK) {
        assert.ok(h.attributes & TRANSACTIONAL_FLAG_MASK);
        out.push({ offset: h.baseOffset, producerId: h.producerId, epoch: h.producerEpoch, marker: readControlRecordType(b.records[0]!) === 1 ? 'COMMIT' : 'ABORT' });
      } else {
        out.push({ offset: h.baseOffset, producerId: h.producerId, epoch: h.producerEpoch, value: b.records[0]?.value?.toString() ?? '' });
      }
    }
  }
  return out;
}

const markersOf = async (partition: number, pid: bigint) => (await batches(TOPIC, partition)).filter((b) => b.marker && b.producerId === pid).map((b) => [b.marker, b.epoch]);

async function init(id: string, timeoutMs = 60_000, expected?: { producerId: bigint; producerEpoch: number }) {
  return broker.txn.initProducerId({ transactionalId: id, transactionTimeoutMs: timeoutMs, expected });
}

async function initOk(id: string, timeoutMs = 60_000): Promise<{ pid: bigint; epoch: number }> {
  const r = await init(id, timeoutMs);
  assert.equal(r.errorCode, 0, `init ${id}`);
  return { pid: r.producerId, epoch: r.producerEpoch };
}

const add = (id: string, p: { pid: bigint; epoch: number }, ...parts: number[]) =>
  broker.txn.addPartitions(id, p.pid, p.epoch, parts.map((n) => tpKey(TOPIC, n)), TV_0);

const end = async (id: string, p: { pid: bigint; epoch: number }, commit: boolean, tv = TV_0) => {
  const r = await broker.txn.endTxn(id, p.pid, p.epoch, commit, tv);
  await broker.txn.settled();
  return r;
};

test('InitProducerId: a new id gets epoch 0, the next call epoch 1; timeouts and empty ids are refused', async () => {
  const a = await initOk('init-a');
  assert.equal(a.epoch, 0);
  const b = await initOk('init-a');
  assert.deepEqual([b.pid, b.epoch], [a.pid, 1]);
  assert.equal((await init('init-b', 120_001)).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
  assert.equal((await init('init-b', 0)).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
  assert.equal((await init('')).errorCode, ErrorCode.INVALID_REQUEST);
  assert.equal(broker.txn.describe('init-b').errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, 'refused requests leave no id behind');
  // KIP-360: resuming with the current id and epoch bumps it; with a stale epoch is fenced.
  const c = await init('init-a', 60_000, { producerId: a.pid, producerEpoch: 1 });
  assert.deepEqual([c.errorCode, c.producerEpoch], [0, 2]);
  assert.equal((await init('init-a', 60_000, { producerId: a.pid, producerEpoch: 0 })).errorCode, ErrorCode.PRODUCER_FENCED);
  assert.equal((await init('init-a', 60_000, { producerId: 123456n, producerEpoch: 2 })).errorCode, ErrorCode.PRODUCER_FENCED);
});

test('commit: markers with the producer\'s epoch in every partition, then CompleteCommit; EndTxn codes as Kafka\'s', async () => {
  const id = 'commit-1';
  const p = await initOk(id);
  assert.equal(await add(id, p, 0, 1), 0);
  assert.equal(await add(id, p, 1), 0, 'already in: no write');
  produce(p.pid, p.epoch, 0, 'a');
  produce(p.pid, p.epoch, 1, 'b');
  assert.equal(broker.txn.describe(id).transactionState, 'Ongoing');
  const r = await end(id, p, true);
  assert.deepEqual([r.errorCode, r.producerId, r.producerEpoch], [0, -1n, -1], 'TV0 answers no producer id');
  assert.deepEqual(await markersOf(0, p.pid), [['COMMIT', p.epoch]]);
  assert.deepEqual(await markersOf(1, p.pid), [['COMMIT', p.epoch]]);
  assert.deepEqual(await markersOf(2, p.pid), [], 'only the transaction\'s partitions');
  const d = broker.txn.describe(id);
  assert.deepEqual([d.transactionState, d.topics], ['CompleteCommit', []]);
  // A retried commit is fine; an abort now is not; the epoch must match exactly.
  assert.equal((await end(id, p, true)).errorCode, 0);
  assert.equal((await end(id, p, false)).errorCode, ErrorCode.INVALID_TXN_STATE);
  assert.equal((await end(id, { ...p, epoch: p.epoch + 1 }, true)).errorCode, ErrorCode.PRODUCER_FENCED);
  assert.equal((await end(id, { ...p, pid: p.pid + 1000n }, true)).errorCode, ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  assert.equal((await end('no-such-id', p, true)).errorCode, ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  assert.equal((await end('', p, true)).errorCode, ErrorCode.INVALID_REQUEST);
  // EndTxn with no transaction at all.
  const q = await initOk('commit-empty');
  assert.equal((await end('commit-empty', q, true)).errorCode, ErrorCode.INVALID_TXN_STATE);
  assert.equal((await end('commit-empty', q, false)).errorCode, ErrorCode.INVALID_TXN_STATE);
  assert.equal(broker.txn.describe('commit-empty').transactionState, 'Empty', 'state intact');
  // AddPartitions with a wrong epoch or producer id.
  assert.equal(await add(id, { ...p, epoch: p.epoch - 1 }, 0), ErrorCode.PRODUCER_FENCED);
  assert.equal(await add(id, { ...p, pid: 4242n }, 0), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  assert.equal(await add('unknown-id', p, 0), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
});

test('abort writes ABORT markers; the next transaction starts from CompleteAbort', async () => {
  const id = 'abort-1';
  const p = await initOk(id);
  assert.equal(await add(id, p, 2), 0);
  produce(p.pid, p.epoch, 2, 'x');
  assert.equal((await end(id, p, false)).errorCode, 0);
  assert.deepEqual(await markersOf(2, p.pid), [['ABORT', p.epoch]]);
  assert.equal(broker.txn.describe(id).transactionState, 'CompleteAbort');
  assert.equal(await add(id, p, 3), 0);
  const d = broker.txn.describe(id);
  assert.deepEqual([d.transactionState, d.topics], ['Ongoing', [{ topic: TOPIC, partitions: [3] }]]);
  assert.equal((await end(id, p, true)).errorCode, 0);
});

test('a second producer fences the first: its open transaction is aborted with a bumped epoch', async () => {
  const id = 'fence-1';
  const a = await initOk(id);
  assert.equal(await add(id, a, 0), 0);
  produce(a.pid, a.epoch, 0, 'from a');
  const first = await init(id);
  assert.equal(first.errorCode, ErrorCode.CONCURRENT_TRANSACTIONS, 'the producer retries while the abort completes');
  await broker.txn.settled();
  assert.deepEqual(await markersOf(0, a.pid), [['ABORT', a.epoch + FENCE_BUMP]]);
  const b = await initOk(id);
  assert.deepEqual([b.pid, b.epoch], [a.pid, a.epoch + FENCE_BUMP + 1]);
  assert.equal((await end(id, a, true)).errorCode, ErrorCode.PRODUCER_FENCED);
  assert.equal(await add(id, a, 1), ErrorCode.PRODUCER_FENCED);
  assert.equal(broker.txn.verifyTransactionalProduce(id, a.pid, a.epoch, TOPIC, 0, 9), ErrorCode.INVALID_PRODUCER_EPOCH);
  assert.equal(broker.txn.describe(id).transactionState, 'Empty');
});

test('produce verification: the partition must be in the ongoing transaction at the current epoch', async () => {
  const id = 'verify-1';
  const p = await initOk(id);
  const v = (part: number, version: number, epoch = p.epoch) => broker.txn.verifyTransactionalProduce(id, p.pid, epoch, TOPIC, part, version);
  assert.equal(v(0, 9), ErrorCode.INVALID_TXN_STATE, 'not in a transaction (old clients)');
  assert.equal(v(0, 11), ErrorCode.TRANSACTION_ABORTABLE, 'Produce v11+ understands TRANSACTION_ABORTABLE');
  assert.equal(await add(id, p, 0), 0);
  assert.equal(v(0, 9), 0);
  assert.equal(v(1, 9), ErrorCode.INVALID_TXN_STATE);
  assert.equal(v(0, 9, p.epoch + 1), ErrorCode.INVALID_PRODUCER_EPOCH);
  assert.equal(broker.txn.verifyTransactionalProduce(id, p.pid + 99n, p.epoch, TOPIC, 0, 9), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  assert.equal(broker.txn.verifyTransactionalProduce(null, p.pid, p.epoch, TOPIC, 0, 9), ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  // While PrepareCommit is being written the partition is still in the transaction (Kafka does not
  // check the pending state: a batch appended now is before the marker); once it is written and
  // the markers are on their way, the coordinator is busy: retriable for every client.
  const ending = broker.txn.endTxn(id, p.pid, p.epoch, true, TV_0);
  assert.equal(v(0, 9), 0);
  assert.equal((await ending).errorCode, 0);
  assert.equal(v(0, 9), ErrorCode.NOT_ENOUGH_REPLICAS);
  await broker.txn.settled();
  assert.equal(v(0, 9), ErrorCode.INVALID_TXN_STATE, 'after the commit the partition is no longer in a transaction');
  // Batch-level verifyOnly (AddPartitionsToTxn v4+).
  assert.deepEqual([...broker.txn.verifyPartitions(id, p.pid, p.epoch, [tpKey(TOPIC, 0)])], [[tpKey(TOPIC, 0), ErrorCode.TRANSACTION_ABORTABLE]]);
});

test('a transaction open longer than its timeout is aborted and its producer fenced', async () => {
  const id = 'timeout-1';
  const p = await initOk(id, 10_000);
  assert.equal(await add(id, p, 1), 0);
  produce(p.pid, p.epoch, 1, 'late');
  now += 5_000;
  assert.equal(broker.txn.abortTimedOutTransactions(), 0, 'not yet');
  now += 6_000;
  assert.equal(broker.txn.abortTimedOutTransactions(), 1);
  await broker.txn.settled();
  assert.deepEqual(await markersOf(1, p.pid), [['ABORT', p.epoch + FENCE_BUMP]]);
  const d = broker.txn.describe(id);
  assert.deepEqual([d.transactionState, d.producerEpoch], ['CompleteAbort', p.epoch + FENCE_BUMP]);
  assert.equal((await end(id, p, true)).errorCode, ErrorCode.PRODUCER_FENCED, 'the old epoch is fenced');
  const again = await initOk(id, 10_000);
  assert.equal(again.epoch, p.epoch + FENCE_BUMP + 1);
});

test('transactional ids expire after transactional.id.expiration.ms without updates, never while a transaction is open', async () => {
  const idle = await initOk('expire-idle');
  const open = await initOk('expire-open');
  assert.equal(await add('expire-open', open, 3), 0);
  void idle;
  now += 3_600_001;
  const removed = await broker.txn.removeExpiredTransactionalIds();
  assert.ok(removed >= 1);
  assert.equal(broker.txn.describe('expire-idle').errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
  assert.equal(broker.txn.describe('expire-open').transactionState, 'Ongoing');
  assert.equal((await end('expire-open', open, false)).errorCode, 0);
  await restart();
  assert.equal(broker.txn.describe('expire-idle').errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, 'the tombstone is replayed');
  // A new InitProducerId starts the id afresh with a new producer id.
  const fresh = await initOk('expire-idle');
  assert.equal(fresh.epoch, 0);
  assert.notEqual(fresh.pid, idle.pid);
});

test('restart: an open transaction stays open (and times out later); a completing one gets its markers again', async () => {
  const openId = 'restart-open';
  const o = await initOk(openId, 30_000);
  assert.equal(await add(openId, o, 0), 0);
  produce(o.pid, o.epoch, 0, 'open across restart');
  // A transaction whose PrepareCommit is durable but whose markers were not written (a crash in
  // between): its record is written here as the coordinator would have.
  const prepId = 'restart-prepared';
  const q = await initOk(prepId);
  assert.equal(await add(prepId, q, 2, 3), 0);
  produce(q.pid, q.epoch, 2, 'prepared');
  const meta = broker.txn.metadataOf(prepId)!;
  const partition = broker.txn.partitionFor(prepId);
  await broker.txn.topic.appendNow(partition, [transitRecord(prepId, { ...meta, prevProducerId: meta.producerId, state: 'PrepareCommit', topicPartitions: new Set(meta.topicPartitions) }, 0)]).durable;
  await restart();
  await broker.txn.settled();
  assert.deepEqual(await markersOf(2, q.pid), [['COMMIT', q.epoch]]);
  assert.deepEqual(await markersOf(3, q.pid), [['COMMIT', q.epoch]]);
  assert.equal(broker.txn.describe(prepId).transactionState, 'CompleteCommit');
  const d = broker.txn.describe(openId);
  assert.deepEqual([d.transactionState, d.producerEpoch, d.topics], ['Ongoing', o.epoch, [{ topic: TOPIC, partitions: [0] }]]);
  assert.equal(broker.txn.verifyTransactionalProduce(openId, o.pid, o.epoch, TOPIC, 0, 11), 0, 'the producer may carry on');
  now += 31_000;
  assert.equal(broker.txn.abortTimedOutTransactions(), 1);
  await broker.txn.settled();
  assert.deepEqual(await markersOf(0, o.pid), [['ABORT', o.epoch + FENCE_BUMP]]);
});

test('transactional offsets: pending until the marker; a commit makes them visible, an abort drops them; pending survives a restart', async () => {
  const group = 'txn-group';
  const gp = broker.groups.partitionFor(group);
  const anyone = { memberId: '', groupInstanceId: null, generationIdOrMemberEpoch: -1, apiVersion: 3 };
  const offsetOf = () => broker.groups.committedOffsets(group)?.get(TOPIC)?.get(0)?.offset;
  const id = 'offsets-1';
  const p = await initOk(id);
  // TxnOffsetCommit needs the group's partition in the transaction (AddOffsetsToTxn).
  assert.equal(broker.txn.verifyTxnOffsetCommit(id, p.pid, p.epoch, gp, 3), ErrorCode.INVALID_TXN_STATE);
  await broker.groups.offsetsTopic.ensure();
  assert.equal(await broker.txn.addPartitions(id, p.pid, p.epoch, [tpKey(OFFSETS_TOPIC, gp)], TV_0), 0);
  assert.equal(broker.txn.verifyTxnOffsetCommit(id, p.pid, p.epoch, gp, 3), 0);
  assert.deepEqual(await broker.groups.commitTransactionalOffsets(group, anyone, p.pid, p.epoch, [{ topic: TOPIC, partition: 0, offset: 10n, leaderEpoch: -1, metadata: 'm' }]), [0]);
  assert.equal(offsetOf(), undefined, 'not visible before the commit');
  assert.equal(broker.groups.hasPendingTxnOffsets(group, TOPIC, 0), true);
  assert.equal((await end(id, p, true)).errorCode, 0);
  assert.equal(offsetOf(), 10n);
  assert.equal(broker.groups.hasPendingTxnOffsets(group), false);

  // An aborted transaction's offsets are never visible.
  assert.equal(await broker.txn.addPartitions(id, p.pid, p.epoch, [tpKey(OFFSETS_TOPIC, gp)], TV_0), 0);
  assert.deepEqual(await broker.groups.commitTransactionalOffsets(group, anyone, p.pid, p.epoch, [{ topic: TOPIC, partition: 0, offset: 20n, leaderEpoch: -1, metadata: '' }]), [0]);
  assert.equal((await end(id, p, false)).errorCode, 0);
  assert.equal(offsetOf(), 10n);

  // Open across a restart: still pending, then committed.
  assert.equal(await broker.txn.addPartitions(id, p.pid, p.epoch, [tpKey(OFFSETS_TOPIC, gp)], TV_0), 0);
  assert.deepEqual(await broker.groups.commitTransactionalOffsets(group, anyone, p.pid, p.epoch, [{ topic: TOPIC, partition: 0, offset: 30n, leaderEpoch: -1, metadata: '' }]), [0]);
  await restart();
  assert.equal(offsetOf(), 10n);
  assert.equal(broker.groups.hasPendingTxnOffsets(group, TOPIC, 0), true, 'replayed as pending');
  assert.equal((await end(id, p, true)).errorCode, 0);
  assert.equal(offsetOf(), 30n);
  await restart();
  assert.equal(offsetOf(), 30n, 'the marker is replayed too');
  assert.equal(broker.groups.hasPendingTxnOffsets(group), false);

  // A plain commit written after the transactional one wins when the transaction commits.
  const q = await initOk(id);
  assert.equal(await broker.txn.addPartitions(id, q.pid, q.epoch, [tpKey(OFFSETS_TOPIC, gp)], TV_0), 0);
  assert.deepEqual(await broker.groups.commitTransactionalOffsets(group, anyone, q.pid, q.epoch, [{ topic: TOPIC, partition: 0, offset: 40n, leaderEpoch: -1, metadata: '' }]), [0]);
  assert.deepEqual(await broker.groups.commitOffsets(group, anyone, [{ topic: TOPIC, partition: 0, offset: 50n, leaderEpoch: -1, metadata: '' }], -1n), [0]);
  assert.equal((await end(id, q, true)).errorCode, 0);
  assert.equal(offsetOf(), 50n);
  // Unknown partitions and bad group ids.
  assert.deepEqual(await broker.groups.commitTransactionalOffsets(group, anyone, q.pid, q.epoch, [{ topic: 'nope', partition: 0, offset: 1n, leaderEpoch: -1, metadata: '' }]), [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
  assert.deepEqual(await broker.groups.commitTransactionalOffsets('', anyone, q.pid, q.epoch, [{ topic: TOPIC, partition: 0, offset: 1n, leaderEpoch: -1, metadata: '' }]), [ErrorCode.INVALID_GROUP_ID]);
});

test('ListTransactions filters by state, producer id, duration and pattern; DescribeTransactions shows the partitions', async () => {
  const p = await initOk('list-ongoing');
  assert.equal(await add('list-ongoing', p, 1, 2), 0);
  await initOk('list-empty');
  const all = broker.txn.list([], [], -1n, undefined).transactionStates.map((t) => t.transactionalId);
  assert.ok(all.includes('list-ongoing') && all.includes('list-empty'));
  const ongoing = broker.txn.list(['Ongoing', 'Bogus'], [], -1n, undefined);
  assert.deepEqual(ongoing.unknownStateFilters, ['Bogus']);
  assert.ok(ongoing.transactionStates.every((t) => t.transactionState === 'Ongoing'));
  assert.ok(ongoing.transactionStates.some((t) => t.transactionalId === 'list-ongoing'));
  assert.deepEqual(broker.txn.list([], [p.pid], -1n, undefined).transactionStates.map((t) => t.transactionalId), ['list-ongoing']);
  assert.deepEqual(broker.txn.list([], [], -1n, /^(?:list-.*)$/).transactionStates.map((t) => t.transactionalId).sort(), ['list-empty', 'list-ongoing']);
  now += 5_000;
  const older = broker.txn.list(['Ongoing'], [], 4_000n, undefined).transactionStates.map((t) => t.transactionalId);
  assert.ok(older.includes('list-ongoing'));
  assert.ok(!broker.txn.list(['Ongoing'], [], 6_000n, undefined).transactionStates.some((t) => t.transactionalId === 'list-ongoing'));
  const d = broker.txn.describe('list-ongoing');
  assert.deepEqual([d.errorCode, d.transactionState, d.producerId, d.transactionTimeoutMs, d.topics], [0, 'Ongoing', p.pid, 60_000, [{ topic: TOPIC, partitions: [1, 2] }]]);
  assert.equal(d.transactionStartTimeMs, BigInt(now - 5_000));
  assert.equal(broker.txn.describe('').errorCode, ErrorCode.INVALID_REQUEST);
  assert.equal((await end('list-ongoing', p, false)).errorCode, 0);
});

test('transactions v2: every EndTxn bumps the epoch, a produce adds its partition, retries are recognised', async () => {
  // A second coordinator instance with transaction.version 2 finalized, on ids of its own.
  const b = broker;
  const txn = new TransactionCoordinator({ config: b.config, topics: b.topics, replicas: b.replicas, metadata: b.metadata, groups: b.groups, clock, logger: silentLogger, transactionVersion: TV_2 });
  await txn.load();
  try {
    const id = 'tv2-1';
    const r0 = await txn.initProducerId({ transactionalId: id, transactionTimeoutMs: 60_000, expected: undefined });
    const p = { pid: r0.producerId, epoch: r0.producerEpoch };
    // Produce v12: the partition is added by the produce itself.
    assert.equal(await txn.verifyTransactionalProduce(id, p.pid, p.epoch, TOPIC, 3, 12), 0);
    assert.deepEqual(txn.describe(id).topics, [{ topic: TOPIC, partitions: [3] }]);
    assert.equal(txn.verifyTransactionalProduce(id, p.pid, p.epoch, TOPIC, 3, 12), 0, 'already in: answered synchronously');
    assert.equal(txn.verifyTransactionalProduce(id, p.pid, p.epoch, TOPIC, 2, 11), ErrorCode.TRANSACTION_ABORTABLE, 'Produce v11 does not add');
    produce(p.pid, p.epoch, 3, 'tv2');
    const e1 = await txn.endTxn(id, p.pid, p.epoch, true, TV_2);
    await txn.settled();
    assert.deepEqual([e1.errorCode, e1.producerId, e1.producerEpoch], [0, p.pid, p.epoch + 1]);
    assert.deepEqual(await markersOf(3, p.pid), [['COMMIT', p.epoch + 1]], 'the marker carries the bumped epoch');
    // A retry of that EndTxn (old epoch) is answered with the current id and epoch; an abort retry is not valid.
    const retry = await txn.endTxn(id, p.pid, p.epoch, true, TV_2);
    assert.deepEqual([retry.errorCode, retry.producerEpoch], [0, p.epoch + 1]);
    assert.equal((await txn.endTxn(id, p.pid, p.epoch, false, TV_2)).errorCode, ErrorCode.INVALID_TXN_STATE);
    // With the new epoch: an abort with nothing open is allowed and bumps again; a commit is not.
    const cur = { pid: e1.producerId, epoch: e1.producerEpoch };
    assert.equal((await txn.endTxn(id, cur.pid, cur.epoch, true, TV_2)).errorCode, ErrorCode.INVALID_TXN_STATE);
    const e2 = await txn.endTxn(id, cur.pid, cur.epoch, false, TV_2);
    await txn.settled();
    assert.deepEqual([e2.errorCode, e2.producerEpoch], [0, cur.epoch + 1]);
    assert.equal(txn.describe(id).transactionState, 'CompleteAbort');
    // The old epoch can no longer produce.
    assert.equal(txn.verifyTransactionalProduce(id, p.pid, p.epoch, TOPIC, 3, 12), ErrorCode.INVALID_PRODUCER_EPOCH);
    // TxnOffsetCommit v5 adds the group's partition itself.
    const gp = b.groups.partitionFor('tv2-group');
    assert.equal(await txn.verifyTxnOffsetCommit(id, e2.producerId, e2.producerEpoch, gp, 5), 0);
    assert.ok(txn.describe(id).topics.some((t) => t.topic === OFFSETS_TOPIC && t.partitions.includes(gp)));
    assert.equal((await txn.endTxn(id, e2.producerId, e2.producerEpoch, false, TV_2)).errorCode, 0);
    await txn.settled();
  } finally {
    txn.shutdown();
  }
});

test('an exhausted epoch: InitProducerId moves to a new producer id; a retry of that call is recognised (KIP-360)', async () => {
  const id = 'exhaust-1';
  const p = await initOk(id);
  // As if the id had been through 32,766 epochs.
  broker.txn.metadataOf(id)!.producerEpoch = EPOCH_MAX - 1;
  const r = await init(id, 60_000, { producerId: p.pid, producerEpoch: EPOCH_MAX - 1 });
  assert.equal(r.errorCode, 0);
  assert.notEqual(r.producerId, p.pid);
  assert.equal(r.producerEpoch, 0);
  // The producer never heard the answer and asks again with its old id and epoch: same answer.
  const again = await init(id, 60_000, { producerId: p.pid, producerEpoch: EPOCH_MAX - 1 });
  assert.deepEqual([again.errorCode, again.producerId, again.producerEpoch], [0, r.producerId, 0]);
  assert.equal((await init(id, 60_000, { producerId: p.pid, producerEpoch: 5 })).errorCode, ErrorCode.PRODUCER_FENCED);
});

test('transactions v2: EndTxn at an exhausted epoch moves to a new producer id; its retry is recognised', async () => {
  const b = broker;
  const txn = new TransactionCoordinator({ config: b.config, topics: b.topics, replicas: b.replicas, metadata: b.metadata, groups: b.groups, clock, logger: silentLogger, transactionVersion: TV_2 });
  await txn.load();
  try {
    const id = 'tv2-overflow';
    const r0 = await txn.initProducerId({ transactionalId: id, transactionTimeoutMs: 60_000, expected: undefined });
    assert.equal(await txn.verifyTransactionalProduce(id, r0.producerId, r0.producerEpoch, TOPIC, 1, 12), 0);
    produce(r0.producerId, r0.producerEpoch, 1, 'overflow');
    txn.metadataOf(id)!.producerEpoch = EPOCH_MAX - 1;
    const e = await txn.endTxn(id, r0.producerId, EPOCH_MAX - 1, true, TV_2);
    await txn.settled();
    assert.equal(e.errorCode, 0);
    assert.notEqual(e.producerId, r0.producerId);
    assert.equal(e.producerEpoch, 0);
    assert.deepEqual(await markersOf(1, r0.producerId), [['COMMIT', EPOCH_MAX]], 'the last marker of the old id carries the maximum epoch');
    const d = txn.describe(id);
    assert.deepEqual([d.transactionState, d.producerId, d.producerEpoch], ['CompleteCommit', e.producerId, 0]);
    const retry = await txn.endTxn(id, r0.producerId, EPOCH_MAX - 1, true, TV_2);
    assert.deepEqual([retry.errorCode, retry.producerId, retry.producerEpoch], [0, e.producerId, 0]);
  } finally {
    txn.shutdown();
  }
});

test('__transaction_state is created with Kafka\'s topic configs', () => {
  const t = broker.metadata.topic(TRANSACTION_STATE_TOPIC)!;
  assert.equal(t.partitions.length, 3);
  assert.equal(t.configs['cleanup.policy'], 'compact');
  assert.equal(t.configs['compression.type'], 'uncompressed');
  assert.equal(t.configs['segment.bytes'], '104857600');
});
