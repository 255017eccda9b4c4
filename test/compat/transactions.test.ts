// Transactions with real clients: confluent-kafka-python 1.7.0 (librdkafka) and KafkaJS 2.2.4.
// - commit one transaction and abort another: read_uncommitted sees both, read_committed only the
//   committed one;
// - consume-transform-produce: offsets sent with send_offsets_to_transaction become visible when
//   the transaction commits, never for an aborted one; meanwhile OffsetFetch with requireStable
//   answers UNSTABLE_OFFSET_COMMIT;
// - a second producer with the same transactional.id fences the first (its open transaction is
//   aborted, its commit fails);
// - bad input (wire level): Kafka's codes, and the coordinator's state unchanged;
// - restarts in the middle of a transaction: clean and kill -9, with the producer carrying on (its
//   transaction commits) or gone (its transaction times out and is aborted).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AddOffsetsToTxnRequest,
  AddOffsetsToTxnResponse,
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnResponse,
  ApiVersionsRequest,
  ApiVersionsResponse,
  DescribeTransactionsRequest,
  DescribeTransactionsResponse,
  EndTxnRequest,
  EndTxnResponse,
  ErrorCode,
  InitProducerIdRequest,
  InitProducerIdResponse,
  ListTransactionsRequest,
  ListTransactionsResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
  ProduceRequest,
  ProduceResponse,
  encodeBatch,
  TxnOffsetCommitRequest,
  TxnOffsetCommitResponse,
} from '@fjord/protocol';
import { startBroker, type Broker } from '../harness/broker.js';
import { CodecConnection } from '../harness/codec-connection.js';
import { consumeCk, createTopics, produceCk } from '../harness/fixtures.js';
import { makeKafkaJs } from '../harness/kafkajs.js';
import { TxnSession } from '../harness/txn-session.js';
import { sleep, topicName } from '../harness/util.js';


type ReadValue = { partition: number; offset: number; value: string | null };

async function read(b: Broker, topic: string, partitions: number[], isolation: 'read_committed' | 'read_uncommitted'): Promise<ReadValue[]> {
  const recs = await consumeCk(b.bootstrap, [{ topic, partitions }], { config: { 'isolation.level': isolation }, maxSeconds: 30 });
  return recs.map((r) => ({ partition: r.partition, offset: r.offset, value: r.value }));
}

const values = (rs: ReadValue[]) => rs.map((r) => r.value).sort();

async function describeTxn(conn: CodecConnection, id: string): Promise<DescribeTransactionsResponse['transactionStates'][number]> {
  const r = await conn.request(DescribeTransactionsRequest, DescribeTransactionsResponse, 0, { transactionalIds: [id] });
  return r.transactionStates[0]!;
}

async function waitTxnState(conn: CodecConnection, id: string, states: string[], timeoutMs = 30_000): Promise<DescribeTransactionsResponse['transactionStates'][number]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d = await describeTxn(conn, id);
    if (states.includes(d.transactionState)) return d;
    if (Date.now() > deadline) assert.fail(`${id} is ${d.transactionState} (${d.errorCode}), wanted ${states.join('/')}`);
    await sleep(100);
  }
}

/**
 * How far fencing (InitProducerId over an open transaction, or a timeout) moves the epoch before
 * the abort: one bump, one more when the broker has transactions v2 finalized (its own aborts use
 * the finalized transaction.version, as Kafka's do).
 */
async function fenceBump(conn: CodecConnection): Promise<number> {
  const av = await conn.request(ApiVersionsRequest, ApiVersionsResponse, 3, { clientSoftwareName: 'fjord-test', clientSoftwareVersion: '1' });
  return (av.finalizedFeatures.find((f) => f.name === 'transaction.version')?.maxVersionLevel ?? 0) >= 2 ? 2 : 1;
}

async function offsetFetch(conn: CodecConnection, group: string, topic: string, partition: number, requireStable: boolean): Promise<{ offset: bigint; errorCode: number }> {
  const r = await conn.request(OffsetFetchRequest, OffsetFetchResponse, 7, { groupId: group, topics: [{ name: topic, partitionIndexes: [partition] }], requireStable });
  const p = r.topics[0]!.partitions[0]!;
  return { offset: p.committedOffset, errorCode: p.errorCode };
}

describe('transactions on one broker', () => {
  let broker: Broker;
  let conn: CodecConnection;

  before(async () => {
    broker = await startBroker({
      configs: {
        'group.initial.rebalance.delay.ms': 0,
        'transaction.abort.timed.out.transaction.cleanup.interval.ms': 500,
      },
    });
    conn = await CodecConnection.open(broker.host, broker.port);
  }, { timeout: 60_000 });

  after(async () => {
    conn?.close();
    await broker?.dispose();
  }, { timeout: 60_000 });

  test('confluent-kafka: one transaction committed, one aborted; each isolation level sees what it should', { timeout: 120_000 }, async () => {
    const topic = topicName('txn-ck');
    await createTopics(broker.bootstrap, [{ name: topic, num_partitions: 2 }]);
    const s = new TxnSession(broker.bootstrap);
    try {
      await s.ok('producer', { name: 'a', transactional_id: `${topic}-tx` });
      await s.ok('init', { p: 'a' });
      await s.ok('begin', { p: 'a' });
      await s.ok('produce', { p: 'a', topic, records: [{ key: 'k1', value: 'c1', partition: 0 }, { key: 'k2', value: 'c2', partition: 1 }, { key: 'k3', value: 'c3', partition: 0 }] });
      assert.equal((await describeTxn(conn, `${topic}-tx`)).transactionState, 'Ongoing');
      await s.ok('commit', { p: 'a' });
      await s.ok('begin', { p: 'a' });
      await s.ok('produce', { p: 'a', topic, records: [{ key: 'k4', value: 'a1', partition: 0 }, { key: 'k5', value: 'a2', partition: 1 }] });
      await s.ok('abort', { p: 'a' });
      await s.ok('begin', { p: 'a' });
      await s.ok('produce', { p: 'a', topic, records: [{ key: 'k6', value: 'c4', partition: 1 }] });
      await s.ok('commit', { p: 'a' });
    } finally {
      await s.close();
    }
    const d = await waitTxnState(conn, `${topic}-tx`, ['CompleteCommit']);
    assert.deepEqual([d.producerEpoch, d.topics], [0, []]);
    const all = await read(broker, topic, [0, 1], 'read_uncommitted');
    assert.deepEqual(values(all), ['a1', 'a2', 'c1', 'c2', 'c3', 'c4'], 'read_uncommitted sees committed and aborted records');
    // Each transaction left a marker in each of its partitions: offsets skip them.
    const p0 = all.filter((r) => r.partition === 0).map((r) => r.offset);
    assert.deepEqual(p0, [0, 1, 3], 'partition 0: c1, c3, COMMIT marker, a1, ABORT marker');
    assert.deepEqual(values(await read(broker, topic, [0, 1], 'read_committed')), ['c1', 'c2', 'c3', 'c4'], 'read_committed: only committed records');
  });

  test('confluent-kafka consume-transform-produce: offsets become visible with the commit, never for an abort', { timeout: 120_000 }, async () => {
    const input = topicName('txn-in');
    const output = topicName('txn-out');
    const group = `${input}-g`;
    await createTopics(broker.bootstrap, [{ name: input }, { name: output }]);
    await produceCk(broker.bootstrap, input, Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `in-${i}`, headers: [], partition: 0 })));
    const inputRecs = await read(broker, input, [0], 'read_committed');
    assert.equal(inputRecs.length, 10);
    const s = new TxnSession(broker.bootstrap);
    try {
      await s.ok('producer', { name: 'p', transactional_id: `${group}-tx` });
      await s.ok('init', { p: 'p' });
      // Batch 1: records 0-4, transformed, with their offsets; committed.
      await s.ok('begin', { p: 'p' });
      await s.ok('produce', { p: 'p', topic: output, records: inputRecs.slice(0, 5).map((r) => ({ key: null, value: r.value!.toUpperCase(), partition: 0 })) });
      await s.ok('send_offsets', { p: 'p', group, offsets: [{ topic: input, partition: 0, offset: 5 }] });
      assert.deepEqual(await offsetFetch(conn, group, input, 0, true), { offset: -1n, errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT }, 'requireStable: pending');
      assert.deepEqual(await offsetFetch(conn, group, input, 0, false), { offset: -1n, errorCode: 0 }, 'not visible before the commit');
      const pending = await s.ok('committed', { group, topic: input, partitions: [0], isolation: 'read_uncommitted' });
      assert.deepEqual(pending['offsets'], { '0': -1001 });
      await s.ok('commit', { p: 'p' });
      const committed = await s.ok('committed', { group, topic: input, partitions: [0] });
      assert.deepEqual(committed['offsets'], { '0': 5 }, 'visible after the commit (read_committed consumer, requireStable)');
      // Batch 2: records 5-9, aborted: neither the output nor the offsets count.
      await s.ok('begin', { p: 'p' });
      await s.ok('produce', { p: 'p', topic: output, records: inputRecs.slice(5).map((r) => ({ key: null, value: r.value!.toUpperCase(), partition: 0 })) });
      await s.ok('send_offsets', { p: 'p', group, offsets: [{ topic: input, partition: 0, offset: 10 }] });
      await s.ok('abort', { p: 'p' });
      assert.deepEqual((await s.ok('committed', { group, topic: input, partitions: [0] }))['offsets'], { '0': 5 });
      assert.deepEqual(await offsetFetch(conn, group, input, 0, true), { offset: 5n, errorCode: 0 });
      // Batch 2 again, committed this time.
      await s.ok('begin', { p: 'p' });
      await s.ok('produce', { p: 'p', topic: output, records: inputRecs.slice(5).map((r) => ({ key: null, value: r.value!.toUpperCase(), partition: 0 })) });
      await s.ok('send_offsets', { p: 'p', group, offsets: [{ topic: input, partition: 0, offset: 10 }] });
      await s.ok('commit', { p: 'p' });
      assert.deepEqual((await s.ok('committed', { group, topic: input, partitions: [0] }))['offsets'], { '0': 10 });
    } finally {
      await s.close();
    }
    const want = inputRecs.map((r) => r.value!.toUpperCase()).sort();
    assert.equal((await read(broker, output, [0], 'read_uncommitted')).length, 15, 'all three batches are stored');
    assert.deepEqual(values(await read(broker, output, [0], 'read_committed')), want, 'each input record exactly once');
  });

  test('confluent-kafka: a second producer with the same transactional.id fences the first', { timeout: 120_000 }, async () => {
    const topic = topicName('txn-fence');
    const id = `${topic}-tx`;
    await createTopics(broker.bootstrap, [{ name: topic }]);
    const s = new TxnSession(broker.bootstrap);
    try {
      await s.ok('producer', { name: 'a', transactional_id: id });
      await s.ok('init', { p: 'a' });
      await s.ok('begin', { p: 'a' });
      await s.ok('produce', { p: 'a', topic, records: [{ key: 'a', value: 'from-a', partition: 0 }] });
      const before = await describeTxn(conn, id);
      assert.equal(before.transactionState, 'Ongoing');
      // The new producer's InitProducerId aborts a's transaction (CONCURRENT_TRANSACTIONS meanwhile,
      // which librdkafka retries) and gets the epoch after the fencing one.
      await s.ok('producer', { name: 'b', transactional_id: id });
      await s.ok('init', { p: 'b' });
      const after = await describeTxn(conn, id);
      assert.deepEqual([after.transactionState, after.producerId, after.producerEpoch], ['Empty', before.producerId, before.producerEpoch + (await fenceBump(conn)) + 1]);
      const fenced = await s.call('commit', { p: 'a' });
      assert.ok(fenced.error, 'the fenced producer cannot commit');
      assert.equal(fenced.error.fatal, true, JSON.stringify(fenced.error));
      assert.match(fenced.error.name, /FENCED|INVALID_PRODUCER_EPOCH/);
      await s.ok('begin', { p: 'b' });
      await s.ok('produce', { p: 'b', topic, records: [{ key: 'b', value: 'from-b', partition: 0 }] });
      await s.ok('commit', { p: 'b' });
    } finally {
      await s.close();
    }
    assert.deepEqual(values(await read(broker, topic, [0], 'read_uncommitted')), ['from-a', 'from-b']);
    assert.deepEqual(values(await read(broker, topic, [0], 'read_committed')), ['from-b'], 'the fenced transaction was aborted');
  });

  test('KafkaJS: commit, abort, sendOffsets, and fencing by a second producer', { timeout: 120_000 }, async () => {
    const topic = topicName('txn-kjs');
    const group = `${topic}-g`;
    const id = `${topic}-tx`;
    await createTopics(broker.bootstrap, [{ name: topic, num_partitions: 2 }]);
    const { kafka, log } = makeKafkaJs(broker.bootstrap, 'fjord-txn-kjs');
    const p1 = kafka.producer({ transactionalId: id, maxInFlightRequests: 1, idempotent: true, allowAutoTopicCreation: false });
    const p2 = kafka.producer({ transactionalId: id, maxInFlightRequests: 1, idempotent: true, allowAutoTopicCreation: false });
    const admin = kafka.admin();
    await Promise.all([p1.connect(), admin.connect()]);
    try {
      const t1 = await p1.transaction();
      await t1.send({ topic, messages: [{ key: 'k', value: 'kjs-c1', partition: 0 }, { key: 'k', value: 'kjs-c2', partition: 1 }] });
      await t1.sendOffsets({ consumerGroupId: group, topics: [{ topic, partitions: [{ partition: 0, offset: '7' }] }] });
      await t1.commit();
      const t2 = await p1.transaction();
      await t2.send({ topic, messages: [{ key: 'k', value: 'kjs-a1', partition: 0 }] });
      await t2.sendOffsets({ consumerGroupId: group, topics: [{ topic, partitions: [{ partition: 0, offset: '9' }] }] });
      await t2.abort();
      const offsets = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      assert.deepEqual(offsets[0]!.partitions.find((p) => p.partition === 0)!.offset, '7', 'the aborted transaction\'s offsets are not visible');
      // Fencing: a transaction of p1 is open when p2 initialises the same transactional id.
      const t3 = await p1.transaction();
      await t3.send({ topic, messages: [{ key: 'k', value: 'kjs-fenced', partition: 1 }] });
      await p2.connect();
      const t4 = await p2.transaction();
      await t4.send({ topic, messages: [{ key: 'k', value: 'kjs-c3', partition: 1 }] });
      await t4.commit();
      await assert.rejects(t3.commit(), (e: Error & { type?: string }) => /INVALID_PRODUCER_EPOCH|PRODUCER_FENCED/.test(e.type ?? e.message), 'the fenced producer cannot commit');
    } catch (err) {
      throw new Error(`${(err as Error).message}\nKafkaJS log:\n${log.join('\n')}`, { cause: err });
    } finally {
      await Promise.allSettled([p1.disconnect(), p2.disconnect(), admin.disconnect()]);
    }
    assert.deepEqual(values(await read(broker, topic, [0, 1], 'read_uncommitted')), ['kjs-a1', 'kjs-c1', 'kjs-c2', 'kjs-c3', 'kjs-fenced']);
    assert.deepEqual(values(await read(broker, topic, [0, 1], 'read_committed')), ['kjs-c1', 'kjs-c2', 'kjs-c3']);
  });

  test('bad input gets Kafka\'s codes and leaves the coordinator\'s state as it was', { timeout: 60_000 }, async () => {
    const topic = topicName('txn-bad');
    await createTopics(broker.bootstrap, [{ name: topic }]);
    const id = `${topic}-tx`;
    const init = (v: number, body: Partial<{ transactionalId: string | null; transactionTimeoutMs: number; producerId: bigint; producerEpoch: number }> = {}) =>
      conn.request(InitProducerIdRequest, InitProducerIdResponse, v, { transactionalId: id, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1, ...body });
    const p = await init(4);
    assert.equal(p.errorCode, 0);
    const pid = p.producerId;
    const epoch = p.producerEpoch;
    const endTxn = (v: number, body: Partial<{ transactionalId: string; producerId: bigint; producerEpoch: number; committed: boolean }>) =>
      conn.request(EndTxnRequest, EndTxnResponse, v, { transactionalId: id, producerId: pid, producerEpoch: epoch, committed: true, ...body });
    const addParts = (topics: Array<{ name: string; partitions: number[] }>, over: Partial<{ pid: bigint; epoch: number; id: string }> = {}) =>
      conn.request(AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, 3, { v3AndBelowTransactionalId: over.id ?? id, v3AndBelowProducerId: over.pid ?? pid, v3AndBelowProducerEpoch: over.epoch ?? epoch, v3AndBelowTopics: topics });
    const codes = (r: AddPartitionsToTxnResponse) => r.resultsByTopicV3AndBelow.map((t) => [t.name, t.resultsByPartition.map((x) => [x.partitionIndex, x.partitionErrorCode])]);

    // InitProducerId
    assert.equal((await init(4, { transactionTimeoutMs: 900_001 })).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    assert.equal((await init(4, { transactionTimeoutMs: -1 })).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    assert.equal((await init(4, { transactionalId: '' })).errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal((await init(4, { producerId: pid, producerEpoch: -1 })).errorCode, ErrorCode.INVALID_REQUEST, 'only one of id and epoch');
    assert.equal((await init(4, { producerId: pid + 500n, producerEpoch: 0 })).errorCode, ErrorCode.PRODUCER_FENCED, 'another producer id (KIP-360)');
    assert.equal((await init(3, { producerId: pid + 500n, producerEpoch: 0 })).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH, 'v3 has no PRODUCER_FENCED');
    // EndTxn without a transaction, with wrong epochs, unknown producer ids and ids.
    assert.equal((await endTxn(3, {})).errorCode, ErrorCode.INVALID_TXN_STATE);
    assert.equal((await endTxn(3, { committed: false })).errorCode, ErrorCode.INVALID_TXN_STATE);
    assert.equal((await endTxn(3, { producerEpoch: epoch + 1 })).errorCode, ErrorCode.PRODUCER_FENCED);
    assert.equal((await endTxn(1, { producerEpoch: epoch + 1 })).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
    assert.equal((await endTxn(3, { producerId: pid + 12345n })).errorCode, ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    assert.equal((await endTxn(3, { transactionalId: `${id}-unknown` })).errorCode, ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    // AddPartitionsToTxn: unknown topics and partitions fail the request; internal topics are not the client's.
    assert.deepEqual(codes(await addParts([{ name: topic, partitions: [0] }, { name: `${topic}-missing`, partitions: [0] }])), [
      [topic, [[0, ErrorCode.OPERATION_NOT_ATTEMPTED]]],
      [`${topic}-missing`, [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
    ]);
    assert.deepEqual(codes(await addParts([{ name: topic, partitions: [0, 7] }])), [[topic, [[0, ErrorCode.OPERATION_NOT_ATTEMPTED], [7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]]]);
    assert.deepEqual(codes(await addParts([{ name: '__consumer_offsets', partitions: [0] }])), [['__consumer_offsets', [[0, ErrorCode.TOPIC_AUTHORIZATION_FAILED]]]]);
    assert.deepEqual(codes(await addParts([{ name: topic, partitions: [0] }], { epoch: epoch + 3 })), [[topic, [[0, ErrorCode.PRODUCER_FENCED]]]]);
    assert.deepEqual(codes(await addParts([{ name: topic, partitions: [0] }], { pid: pid + 9n })), [[topic, [[0, ErrorCode.INVALID_PRODUCER_ID_MAPPING]]]]);
    assert.deepEqual(codes(await addParts([{ name: topic, partitions: [0] }], { id: `${id}-unknown` })), [[topic, [[0, ErrorCode.INVALID_PRODUCER_ID_MAPPING]]]]);
    // TxnOffsetCommit without AddOffsetsToTxn: the group's partition is not in the transaction.
    const toc = await conn.request(TxnOffsetCommitRequest, TxnOffsetCommitResponse, 3, {
      transactionalId: id,
      groupId: `${topic}-g`,
      producerId: pid,
      producerEpoch: epoch,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null }] }, { name: `${topic}-missing`, partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null }] }],
    });
    assert.deepEqual(toc.topics.map((t) => t.partitions[0]!.errorCode), [ErrorCode.INVALID_TXN_STATE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    const aot = await conn.request(AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, 3, { transactionalId: id, producerId: pid, producerEpoch: epoch + 1, groupId: `${topic}-g` });
    assert.equal(aot.errorCode, ErrorCode.PRODUCER_FENCED);
    // Nothing of that changed the coordinator's state, and the producer still works.
    const d = await describeTxn(conn, id);
    assert.deepEqual([d.transactionState, d.producerId, d.producerEpoch, d.topics], ['Empty', pid, epoch, []]);
    assert.deepEqual(codes(await addParts([{ name: topic, partitions: [0] }])), [[topic, [[0, ErrorCode.NONE]]]]);
    assert.equal((await endTxn(3, {})).errorCode, ErrorCode.NONE);
    await waitTxnState(conn, id, ['CompleteCommit']);
    // ListTransactions: an unknown state filter is reported, not an error.
    const l = await conn.request(ListTransactionsRequest, ListTransactionsResponse, 1, { stateFilters: ['CompleteCommit', 'Frozen'], producerIdFilters: [pid], durationFilter: -1n });
    assert.deepEqual([l.errorCode, l.unknownStateFilters, l.transactionStates.map((t) => t.transactionalId)], [0, ['Frozen'], [id]]);
  });

  test('KIP-890 verification: a transactional batch goes only into a partition of the producer\'s ongoing transaction', { timeout: 60_000 }, async () => {
    const topic = topicName('txn-verify');
    const id = `${topic}-tx`;
    await createTopics(broker.bootstrap, [{ name: topic, num_partitions: 2 }]);
    const ip = await conn.request(InitProducerIdRequest, InitProducerIdResponse, 4, { transactionalId: id, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
    const pid = ip.producerId;
    const epoch = ip.producerEpoch;
    const seq = [0, 0];
    const produce = async (v: number, partition: number, over: { transactionalId?: string | null; epoch?: number } = {}) => {
      const r = await conn.request(ProduceRequest, ProduceResponse, v, {
        transactionalId: over.transactionalId === undefined ? id : over.transactionalId,
        acks: -1,
        timeoutMs: 10_000,
        topicData: [{ name: topic, partitionData: [{ index: partition, records: encodeBatch({ isTransactional: true, producerId: pid, producerEpoch: over.epoch ?? epoch, baseSequence: seq[partition]!, records: [{ key: null, value: `v${v}-p${partition}-s${seq[partition]}`, timestamp: BigInt(Date.now()) }] }) }] }],
      });
      const code = r.responses[0]!.partitionResponses[0]!.errorCode;
      if (code === 0) seq[partition]!++;
      return code;
    };
    const highWatermark = async () => (await read(broker, topic, [0, 1], 'read_uncommitted')).length;
    assert.equal(await produce(9, 0), ErrorCode.INVALID_TXN_STATE, 'no transaction yet (Produce v9)');
    assert.equal(await produce(11, 0), ErrorCode.TRANSACTION_ABORTABLE, 'no transaction yet (Produce v11)');
    assert.equal(await produce(9, 0, { transactionalId: null }), ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    const add = await conn.request(AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, 3, { v3AndBelowTransactionalId: id, v3AndBelowProducerId: pid, v3AndBelowProducerEpoch: epoch, v3AndBelowTopics: [{ name: topic, partitions: [0] }] });
    assert.equal(add.resultsByTopicV3AndBelow[0]!.resultsByPartition[0]!.partitionErrorCode, 0);
    assert.equal(await produce(9, 0), 0);
    assert.equal(await produce(9, 1), ErrorCode.INVALID_TXN_STATE, 'partition 1 was not added');
    assert.equal(await produce(9, 0, { epoch: epoch + 1 }), ErrorCode.INVALID_PRODUCER_EPOCH);
    const end = await conn.request(EndTxnRequest, EndTxnResponse, 3, { transactionalId: id, producerId: pid, producerEpoch: epoch, committed: true });
    assert.equal(end.errorCode, 0);
    await waitTxnState(conn, id, ['CompleteCommit']);
    // A late batch of the ended transaction would start a transaction no coordinator knows of (a
    // hanging transaction, holding back the last stable offset forever): refused.
    assert.equal(await produce(9, 0), ErrorCode.INVALID_TXN_STATE);
    assert.equal(await highWatermark(), 1, 'only the verified batch was stored');
    // read_committed: nothing holds the last stable offset back.
    assert.equal((await read(broker, topic, [0, 1], 'read_committed')).length, 1);
  });

  test('transactions v2 (KIP-890 part 2) spoken directly, when transaction.version 2 is finalized', { timeout: 60_000 }, async (t) => {
    const av = await conn.request(ApiVersionsRequest, ApiVersionsResponse, 3, { clientSoftwareName: 'fjord-test', clientSoftwareVersion: '1' });
    const tv = av.finalizedFeatures.find((f) => f.name === 'transaction.version')?.maxVersionLevel ?? 0;
    const max = (key: number) => av.apiKeys.find((k) => k.apiKey === key)?.maxVersion ?? -1;
    if (tv < 2) {
      // Not finalized: the versions only TV2 clients send must not be advertised either.
      assert.ok(max(EndTxnRequest.apiKey) <= 4 && max(TxnOffsetCommitRequest.apiKey) <= 4 && max(AddPartitionsToTxnRequest.apiKey) <= 4);
      t.skip('transaction.version 2 is not finalized');
      return;
    }
    assert.deepEqual([max(EndTxnRequest.apiKey), max(AddPartitionsToTxnRequest.apiKey)], [5, 5]);
    // The feature as Kafka lists it: supported 0-2 (1-2 before ApiVersions v4, KAFKA-17011), finalized 2.
    const feature = (r: ApiVersionsResponse) => [r.supportedFeatures.filter((f) => f.name === 'transaction.version').map((f) => [f.minVersion, f.maxVersion]), r.finalizedFeatures.map((f) => [f.name, f.minVersionLevel, f.maxVersionLevel]), r.finalizedFeaturesEpoch];
    assert.deepEqual(feature(av), [[[1, 2]], [['transaction.version', 2, 2]], 0n]);
    const av4 = await conn.request(ApiVersionsRequest, ApiVersionsResponse, 4, { clientSoftwareName: 'fjord-test', clientSoftwareVersion: '1' });
    assert.deepEqual(feature(av4)[0], [[0, 2]]);
    const topic = topicName('txn-tv2');
    const id = `${topic}-tx`;
    const group = `${topic}-g`;
    await createTopics(broker.bootstrap, [{ name: topic }]);
    const ip = await conn.request(InitProducerIdRequest, InitProducerIdResponse, 5, { transactionalId: id, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
    assert.equal(ip.errorCode, 0);
    let epoch = ip.producerEpoch;
    const pid = ip.producerId;
    const seq = new Map<number, number>();
    const produce = async (value: string, e = epoch) => {
      const s0 = e === epoch ? (seq.get(e) ?? 0) : 0;
      const r = await conn.request(ProduceRequest, ProduceResponse, 12, {
        transactionalId: id,
        acks: -1,
        timeoutMs: 10_000,
        topicData: [{ name: topic, partitionData: [{ index: 0, records: encodeBatch({ isTransactional: true, producerId: pid, producerEpoch: e, baseSequence: s0, records: [{ key: null, value, timestamp: BigInt(Date.now()) }] }) }] }],
      });
      const code = r.responses[0]!.partitionResponses[0]!.errorCode;
      if (code === 0) seq.set(e, s0 + 1);
      return code;
    };
    // The produce adds its partition: Fjord holds it (and the connection) until that is written
    // down, then appends, as Kafka holds it — no retry. TxnOffsetCommit v5 adds the group's
    // partition the same way (no AddOffsetsToTxn).
    const produceAdding = (value: string) => produce(value);
    assert.equal(await produceAdding('tv2-committed'), 0);
    assert.deepEqual((await describeTxn(conn, id)).topics, [{ topic, partitions: [0] }]);
    const toc = await conn.request(TxnOffsetCommitRequest, TxnOffsetCommitResponse, 5, {
      transactionalId: id, groupId: group, producerId: pid, producerEpoch: epoch, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null,
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null }] }],
    });
    assert.equal(toc.topics[0]!.partitions[0]!.errorCode, 0);
    assert.equal((await offsetFetch(conn, group, topic, 0, true)).errorCode, ErrorCode.UNSTABLE_OFFSET_COMMIT);
    // EndTxn v5 bumps the epoch and answers it.
    const e1 = await conn.request(EndTxnRequest, EndTxnResponse, 5, { transactionalId: id, producerId: pid, producerEpoch: epoch, committed: true });
    assert.deepEqual([e1.errorCode, e1.producerId, e1.producerEpoch], [0, pid, epoch + 1]);
    await waitTxnState(conn, id, ['CompleteCommit']);
    assert.deepEqual(await offsetFetch(conn, group, topic, 0, true), { offset: 1n, errorCode: 0 });
    // The old epoch is fenced by the bump; the new one starts the next transaction, aborted here.
    assert.equal(await produce('late', epoch), ErrorCode.INVALID_PRODUCER_EPOCH);
    epoch = e1.producerEpoch;
    assert.equal(await produceAdding('tv2-aborted'), 0);
    const e2 = await conn.request(EndTxnRequest, EndTxnResponse, 5, { transactionalId: id, producerId: pid, producerEpoch: epoch, committed: false });
    assert.deepEqual([e2.errorCode, e2.producerEpoch], [0, epoch + 1]);
    await waitTxnState(conn, id, ['CompleteAbort']);
    // Two produces pipelined on one connection, the first adding the partition (held until that is
    // durable): the second must not be appended before it, or its sequence would be out of order.
    epoch = e2.producerEpoch;
    const send = (value: string, baseSequence: number) =>
      conn
        .request(ProduceRequest, ProduceResponse, 12, {
          transactionalId: id,
          acks: -1,
          timeoutMs: 10_000,
          topicData: [{ name: topic, partitionData: [{ index: 0, records: encodeBatch({ isTransactional: true, producerId: pid, producerEpoch: epoch, baseSequence, records: [{ key: null, value, timestamp: BigInt(Date.now()) }] }) }] }],
        })
        .then((r) => r.responses[0]!.partitionResponses[0]!);
    const [p1, p2] = await Promise.all([send('tv2-p1', 0), send('tv2-p2', 1)]);
    assert.deepEqual([p1.errorCode, p2.errorCode], [0, 0]);
    assert.equal(p2.baseOffset, p1.baseOffset + 1n);
    const e3 = await conn.request(EndTxnRequest, EndTxnResponse, 5, { transactionalId: id, producerId: pid, producerEpoch: epoch, committed: true });
    assert.equal(e3.errorCode, 0);
    await waitTxnState(conn, id, ['CompleteCommit']);
    assert.deepEqual(values(await read(broker, topic, [0], 'read_committed')), ['tv2-committed', 'tv2-p1', 'tv2-p2']);
  });
});

describe('transactions across broker restarts', () => {
  let broker: Broker;

  before(async () => {
    broker = await startBroker({
      configs: {
        'transaction.abort.timed.out.transaction.cleanup.interval.ms': 500,
        'transaction.state.log.num.partitions': 5,
      },
    });
  }, { timeout: 60_000 });

  after(async () => {
    await broker?.dispose();
  }, { timeout: 60_000 });

  for (const how of ['clean', 'kill -9'] as const) {
    test(`${how}: the producer carries on after the restart and its transaction commits`, { timeout: 180_000 }, async () => {
      const topic = topicName(`txn-restart-${how === 'clean' ? 'clean' : 'kill'}`);
      const id = `${topic}-tx`;
      await createTopics(broker.bootstrap, [{ name: topic, num_partitions: 2 }]);
      const s = new TxnSession(broker.bootstrap);
      try {
        await s.ok('producer', { name: 'a', transactional_id: id, config: { 'transaction.timeout.ms': 60_000, 'reconnect.backoff.ms': 50, 'reconnect.backoff.max.ms': 500 } });
        await s.ok('init', { p: 'a' });
        await s.ok('begin', { p: 'a' });
        await s.ok('produce', { p: 'a', topic, records: [{ key: 'x', value: 'before-1', partition: 0 }, { key: 'y', value: 'before-2', partition: 1 }] });
        if (how === 'clean') await broker.restart({ clean: true });
        else {
          await broker.kill9();
          await broker.restart();
        }
        const conn = await CodecConnection.open(broker.host, broker.port);
        try {
          const d = await describeTxn(conn, id);
          assert.deepEqual([d.transactionState, d.topics.map((t) => t.partitions.sort())], ['Ongoing', [[0, 1]]], 'the open transaction was replayed');
          await s.ok('produce', { p: 'a', topic, records: [{ key: 'z', value: 'after', partition: 0 }] }, 120_000);
          await s.ok('commit', { p: 'a' }, 120_000);
          await waitTxnState(conn, id, ['CompleteCommit']);
        } finally {
          conn.close();
        }
      } finally {
        await s.close();
      }
      assert.deepEqual(values(await read(broker, topic, [0, 1], 'read_uncommitted')), ['after', 'before-1', 'before-2']);
      assert.deepEqual(values(await read(broker, topic, [0, 1], 'read_committed')), ['after', 'before-1', 'before-2']);
    });
  }

  test('kill -9 with the producer gone: the open transaction times out after the restart and is aborted', { timeout: 120_000 }, async () => {
    const topic = topicName('txn-restart-abandoned');
    const id = `${topic}-tx`;
    await createTopics(broker.bootstrap, [{ name: topic }]);
    const s = new TxnSession(broker.bootstrap);
    try {
      await s.ok('producer', { name: 'a', transactional_id: id, config: { 'transaction.timeout.ms': 4_000, 'message.timeout.ms': 4_000 } });
      await s.ok('init', { p: 'a' });
      await s.ok('begin', { p: 'a' });
      await s.ok('produce', { p: 'a', topic, records: [{ key: 'x', value: 'abandoned', partition: 0 }] });
      await s.ok('send_offsets', { p: 'a', group: `${topic}-g`, offsets: [{ topic, partition: 0, offset: 1 }] });
    } finally {
      // The producer goes away with its transaction open.
      await s.kill9();
    }
    await broker.kill9();
    await broker.restart();
    const conn = await CodecConnection.open(broker.host, broker.port);
    try {
      const d = await waitTxnState(conn, id, ['CompleteAbort'], 30_000);
      assert.equal(d.producerEpoch, await fenceBump(conn), 'aborting a timed-out transaction fences its producer epoch');
      assert.deepEqual(await offsetFetch(conn, `${topic}-g`, topic, 0, true), { offset: -1n, errorCode: 0 }, 'its offsets were dropped');
    } finally {
      conn.close();
    }
    assert.deepEqual(values(await read(broker, topic, [0], 'read_uncommitted')), ['abandoned']);
    // read_committed: the last stable offset moved past the aborted transaction.
    assert.deepEqual(values(await read(broker, topic, [0], 'read_committed')), []);
  });
});
