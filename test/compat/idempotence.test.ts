// Idempotent producers against a real broker (issue 4), in three parts:
//  (a) raw protocol through the generated codecs: InitProducerId, then the same idempotent batch
//      twice (one copy stored, the retry answered NONE with the original base offset), a sequence
//      gap (OUT_OF_ORDER_SEQUENCE_NUMBER, nothing stored), an old epoch (INVALID_PRODUCER_EPOCH),
//      bad producer fields, and the retry after kill -9 and after a clean restart;
//  (b) real clients with idempotence on: confluent-kafka-python (librdkafka) and KafkaJS, read back
//      with kcat; librdkafka across kill -9 and a stalled broker, where it retries batches the
//      broker already stored: every record exactly once;
//  (c) read isolation without transactions: read_committed fetches equal read_uncommitted ones,
//      the last stable offset equals the high watermark, ListOffsets latest is the same for both.
// Transactions end to end (markers, aborted records skipped) are the transaction coordinator's tests.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateTopicsRequest,
  CreateTopicsResponse,
  DescribeProducersRequest,
  DescribeProducersResponse,
  ErrorCode,
  FetchRequest,
  FetchResponse,
  InitProducerIdRequest,
  InitProducerIdResponse,
  ListOffsetsRequest,
  ListOffsetsResponse,
  ProduceRequest,
  ProduceResponse,
  decodeBatch,
  encodeBatch,
  recordsToBuffer,
  splitBatches,
} from '@fjord/protocol';
import { startBroker, type Broker } from '../harness/broker.js';
import { CodecConnection } from '../harness/codec-connection.js';
import { createTopics, produceCk } from '../harness/fixtures.js';
import { makeKafkaJs, Partitioners } from '../harness/kafkajs.js';
import { kcatConsume } from '../harness/kcat.js';
import { describeRun } from '../harness/proc.js';
import { runPythonRaw } from '../harness/python.js';
import { makeTempDir, removeTempDir, sleep, waitFor } from '../harness/util.js';

const PRODUCE_V = 12; // by topic name
const FETCH_V = 12;
const LIST_OFFSETS_V = 9;

let broker: Broker;
let conn: CodecConnection;
let work: string;

before(async () => {
  // --verbose: the broker logs each duplicate it answers, which the librdkafka test reports.
  broker = await startBroker({ extraArgs: ['--verbose'] });
  work = await makeTempDir('fjord-idem-');
  conn = await CodecConnection.open(broker.host, broker.port);
}, { timeout: 60_000 });
after(async () => {
  conn?.close();
  await broker?.dispose();
  if (work) await removeTempDir(work);
}, { timeout: 60_000 });

async function reconnect(): Promise<void> {
  conn.close();
  conn = await CodecConnection.open(broker.host, broker.port);
}

async function createTopic(name: string, partitions = 1): Promise<void> {
  const res = await conn.request(CreateTopicsRequest, CreateTopicsResponse, 7, {
    topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 10_000,
  });
  assert.equal(res.topics[0]!.errorCode, ErrorCode.NONE, `create ${name}`);
}

async function initProducerId(): Promise<{ producerId: bigint; producerEpoch: number }> {
  const res = await conn.request(InitProducerIdRequest, InitProducerIdResponse, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
  assert.equal(res.errorCode, ErrorCode.NONE);
  return { producerId: res.producerId, producerEpoch: res.producerEpoch };
}

interface BatchSpec {
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  count: number;
  tag: string;
}

/**
 * A batch as an idempotent producer sends it. With create times, as every real producer sets: the
 * producer state keeps a producer for producer.id.expiration.ms after its last batch's max
 * timestamp, so a batch stamped -1 would make its producer expire at the next check or restart
 * (as in Kafka).
 */
function idempotentBatch(b: BatchSpec): Buffer {
  const ts = BigInt(Date.now());
  return encodeBatch({
    producerId: b.producerId,
    producerEpoch: b.producerEpoch,
    baseSequence: b.baseSequence,
    baseTimestamp: ts,
    records: Array.from({ length: b.count }, (_, i) => ({ key: `k${i}`, value: `${b.tag}-${b.baseSequence + i}`, timestamp: ts })),
  });
}

type PartitionAnswer = ProduceResponse['responses'][number]['partitionResponses'][number];

async function produce(topic: string, records: Buffer, acks = -1): Promise<PartitionAnswer> {
  const res = await conn.request(ProduceRequest, ProduceResponse, PRODUCE_V, { acks, timeoutMs: 10_000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
  return res.responses[0]!.partitionResponses[0]!;
}

async function latest(topic: string, isolationLevel = 0): Promise<bigint> {
  const res = await conn.request(ListOffsetsRequest, ListOffsetsResponse, LIST_OFFSETS_V, {
    replicaId: -1,
    isolationLevel,
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }],
  });
  const p = res.topics[0]!.partitions[0]!;
  assert.equal(p.errorCode, ErrorCode.NONE);
  return p.offset;
}

interface Fetched {
  values: string[];
  offsets: bigint[];
  highWatermark: bigint;
  lastStableOffset: bigint;
  abortedTransactions: FetchResponse['responses'][number]['partitions'][number]['abortedTransactions'];
  batches: number;
}

async function fetchAll(topic: string, isolationLevel: number): Promise<Fetched> {
  const res = await conn.request(FetchRequest, FetchResponse, FETCH_V, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 8 << 20,
    isolationLevel,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 8 << 20 }] }],
    forgottenTopicsData: [],
    rackId: '',
  });
  const p = res.responses[0]!.partitions[0]!;
  assert.equal(p.errorCode, ErrorCode.NONE);
  const buf = recordsToBuffer(p.records) ?? Buffer.alloc(0);
  const out: Fetched = { values: [], offsets: [], highWatermark: p.highWatermark, lastStableOffset: p.lastStableOffset, abortedTransactions: p.abortedTransactions, batches: 0 };
  for (const span of splitBatches(buf)) {
    out.batches++;
    for (const r of decodeBatch(buf, span.pos).records) {
      out.values.push(r.value?.toString() ?? '');
      out.offsets.push(r.offset);
    }
  }
  return out;
}

async function describeProducers(topic: string) {
  const res = await conn.request(DescribeProducersRequest, DescribeProducersResponse, 0, { topics: [{ name: topic, partitionIndexes: [0] }] });
  const p = res.topics[0]!.partitions[0]!;
  assert.equal(p.errorCode, ErrorCode.NONE);
  return p.activeProducers;
}

const show = (x: unknown): string => JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));

describe('idempotent produce, raw protocol', () => {
  test('the same batch twice: one copy stored, the retry answered NONE with the original offset', async () => {
    const topic = 'idem-dup';
    await createTopic(topic);
    const { producerId, producerEpoch } = await initProducerId();
    assert.equal(producerEpoch, 0);
    const b = (seq: number, count: number, tag = 'a') => idempotentBatch({ producerId, producerEpoch, baseSequence: seq, count, tag });
    const first = await produce(topic, b(0, 3));
    assert.deepEqual([first.errorCode, first.baseOffset], [ErrorCode.NONE, 0n], show(first));
    const second = await produce(topic, b(3, 2));
    assert.deepEqual([second.errorCode, second.baseOffset], [ErrorCode.NONE, 3n]);
    const retry = await produce(topic, b(3, 2));
    assert.deepEqual([retry.errorCode, retry.baseOffset, retry.logStartOffset], [ErrorCode.NONE, 3n, 0n], show(retry));
    const retryOfFirst = await produce(topic, b(0, 3), 1);
    assert.deepEqual([retryOfFirst.errorCode, retryOfFirst.baseOffset], [ErrorCode.NONE, 0n]);
    assert.equal(await latest(topic), 5n);
    const all = await fetchAll(topic, 0);
    assert.deepEqual(all.values, ['a-0', 'a-1', 'a-2', 'a-3', 'a-4']);
    const producers = await describeProducers(topic);
    assert.deepEqual(
      producers.map((p) => [p.producerId, p.producerEpoch, p.lastSequence, p.coordinatorEpoch, p.currentTxnStartOffset]),
      [[producerId, 0, 4, -1, -1n]],
    );
  });

  test('a sequence gap is OUT_OF_ORDER_SEQUENCE_NUMBER and stores nothing; an old epoch is INVALID_PRODUCER_EPOCH', async () => {
    const topic = 'idem-gap';
    await createTopic(topic);
    const { producerId } = await initProducerId();
    const b = (epoch: number, seq: number, count = 1) => idempotentBatch({ producerId, producerEpoch: epoch, baseSequence: seq, count, tag: `e${epoch}` });
    assert.equal((await produce(topic, b(0, 0, 2))).errorCode, ErrorCode.NONE);
    const gap = await produce(topic, b(0, 5));
    assert.deepEqual([gap.errorCode, gap.baseOffset], [ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, -1n], show(gap));
    assert.equal(await latest(topic), 2n);
    // a new epoch (KIP-360's client-side bump) must start at 0, then the old one is fenced
    assert.equal((await produce(topic, b(1, 3))).errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert.equal((await produce(topic, b(1, 0))).errorCode, ErrorCode.NONE);
    const fenced = await produce(topic, b(0, 2));
    assert.deepEqual([fenced.errorCode, fenced.baseOffset], [ErrorCode.INVALID_PRODUCER_EPOCH, -1n], show(fenced));
    // bad producer fields get Kafka's codes and never change the log
    const noSequence = encodeBatch({ producerId, producerEpoch: 1, baseSequence: -1, records: [{ value: 'x' }] });
    assert.equal((await produce(topic, noSequence)).errorCode, ErrorCode.INVALID_RECORD);
    assert.equal((await produce(topic, b(-7, 1))).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
    assert.equal((await produce(topic, b(1, 0x7fff_fff0))).errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    // a producer id the broker never handed out is just an unknown producer: any sequence (Kafka 3.x/4.x)
    const stranger = idempotentBatch({ producerId: 987_654_321n, producerEpoch: 0, baseSequence: 77, count: 1, tag: 's' });
    assert.equal((await produce(topic, stranger)).errorCode, ErrorCode.NONE);
    assert.deepEqual((await fetchAll(topic, 0)).values, ['e0-0', 'e0-1', 'e1-0', 's-77']);
  });

  test('a retry after kill -9, and after a clean restart, is still recognised', { timeout: 120_000 }, async () => {
    const topic = 'idem-crash';
    await createTopic(topic);
    const { producerId, producerEpoch } = await initProducerId();
    const b = (seq: number) => idempotentBatch({ producerId, producerEpoch, baseSequence: seq, count: 2, tag: 'c' });
    for (let s = 0; s < 10; s += 2) assert.equal((await produce(topic, b(s))).errorCode, ErrorCode.NONE);
    // acks=1: in the page cache, not yet synced, when the broker is killed
    const sent = await produce(topic, b(10), 1);
    assert.deepEqual([sent.errorCode, sent.baseOffset], [ErrorCode.NONE, 10n]);
    await broker.kill9();
    await broker.restart({ clean: false });
    await reconnect();
    const retry = await produce(topic, b(10));
    assert.deepEqual([retry.errorCode, retry.baseOffset], [ErrorCode.NONE, 10n], `retry after kill -9: ${show(retry)}`);
    assert.equal((await produce(topic, b(8))).baseOffset, 8n, 'an older batch of the last five too');
    assert.equal((await produce(topic, b(14))).errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert.equal((await produce(topic, b(12))).baseOffset, 12n);
    await broker.restart({ clean: true });
    await reconnect();
    const again = await produce(topic, b(12));
    assert.deepEqual([again.errorCode, again.baseOffset], [ErrorCode.NONE, 12n], `retry after a clean restart: ${show(again)}`);
    assert.equal(await latest(topic), 14n);
    const all = await fetchAll(topic, 0);
    assert.deepEqual(all.values, Array.from({ length: 14 }, (_, i) => `c-${i}`));
  });
});

describe('read isolation without transactions', () => {
  test('read_committed equals read_uncommitted; LSO = HW; ListOffsets latest is the same for both', async () => {
    const topic = 'idem-iso';
    await createTopic(topic);
    const { producerId, producerEpoch } = await initProducerId();
    assert.equal((await produce(topic, idempotentBatch({ producerId, producerEpoch, baseSequence: 0, count: 4, tag: 'i' }))).errorCode, ErrorCode.NONE);
    assert.equal((await produce(topic, encodeBatch({ records: [{ value: 'plain' }] }))).errorCode, ErrorCode.NONE);
    const uncommitted = await fetchAll(topic, 0);
    const committed = await fetchAll(topic, 1);
    assert.deepEqual(committed.values, uncommitted.values);
    assert.deepEqual(committed.offsets, uncommitted.offsets);
    assert.deepEqual([committed.highWatermark, committed.lastStableOffset], [5n, 5n]);
    assert.deepEqual([uncommitted.highWatermark, uncommitted.lastStableOffset], [5n, 5n]);
    assert.deepEqual(committed.abortedTransactions, []);
    assert.equal(uncommitted.abortedTransactions, null);
    assert.equal(await latest(topic, 1), 5n);
    assert.equal(await latest(topic, 0), 5n);
  });
});

describe('idempotent producers, real clients', () => {
  const records = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ key: `k${i % 7}`, value: `${tag}-${i}`, headers: [] as [string, string | null][] }));

  test('confluent-kafka-python (enable.idempotence=true): every record once, read back by kcat', { timeout: 120_000 }, async () => {
    const topic = 'idem-ck';
    await createTopics(broker.bootstrap, [{ name: topic, num_partitions: 3 }]);
    const sent = records(600, 'ck');
    const deliveries = await produceCk(broker.bootstrap, topic, sent, { config: { 'enable.idempotence': true, 'linger.ms': 1, 'batch.num.messages': 50 } });
    assert.equal(deliveries.length, 600);
    const read = await kcatConsume(broker.bootstrap, topic);
    assert.deepEqual(read.map((r) => r.value).sort(), sent.map((r) => r.value).sort());
    const producers = new Set<bigint>();
    for (let p = 0; p < 3; p++) for (const a of await describeProducersAt(topic, p)) producers.add(a.producerId);
    assert.equal(producers.size, 1, 'one idempotent producer id on every partition');
  });

  test('KafkaJS (idempotent: true): every record once, read back by kcat', { timeout: 120_000 }, async () => {
    const topic = 'idem-kafkajs';
    await createTopics(broker.bootstrap, [{ name: topic, num_partitions: 2 }]);
    const { kafka, log } = makeKafkaJs(broker.bootstrap);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
    await producer.connect();
    const sent = records(300, 'js');
    try {
      for (let i = 0; i < sent.length; i += 50) {
        await producer.send({ topic, acks: -1, messages: sent.slice(i, i + 50).map((r) => ({ key: r.key, value: r.value })) });
      }
    } catch (e) {
      throw new Error(`KafkaJS idempotent produce failed: ${(e as Error).message}\n${log.join('\n')}`);
    } finally {
      await producer.disconnect();
    }
    const read = await kcatConsume(broker.bootstrap, topic);
    assert.deepEqual(read.map((r) => r.value).sort(), sent.map((r) => r.value).sort());
    const p0 = await describeProducersAt(topic, 0);
    assert.equal(p0.length, 1);
    assert.ok(p0[0]!.lastSequence >= 0);
  });

  test('librdkafka across kill -9 and a stalled broker: the batches it resends are stored once', { timeout: 240_000 }, async (t) => {
    const topic = 'idem-crash-ck';
    const partitions = 2;
    await createTopics(broker.bootstrap, [{ name: topic, num_partitions: partitions }]);
    const ackFile = join(work, 'acks.jsonl');
    const stopFile = join(work, 'stop');
    const producer = runPythonRaw(
      'ck',
      {
        op: 'crash_producer',
        bootstrap: broker.bootstrap,
        topic,
        partitions,
        ack_file: ackFile,
        stop_file: stopFile,
        max_records: 200_000,
        max_seconds: 150,
        value_bytes: 50,
        rate_per_s: 4000,
        // A short request timeout makes librdkafka resend what the stalled broker holds.
        config: { 'enable.idempotence': true, 'request.timeout.ms': 1500, 'socket.timeout.ms': 1500 },
      },
      200_000,
    );
    const readAcks = async (): Promise<Array<{ i: number; p?: number; o?: number; error?: string }>> =>
      existsSync(ackFile)
        ? (await readFile(ackFile, 'utf8'))
            .split('\n')
            .filter((l) => l.endsWith('}'))
            .map((l) => JSON.parse(l))
        : [];
    const acked = async () => (await readAcks()).filter((a) => a.error === undefined).length;
    const failWith = async (e: unknown): Promise<never> => {
      await writeFile(stopFile, '');
      throw new Error(`${(e as Error).message}\n${describeRun('producer', await producer)}\n${broker.logs().slice(-3000)}`);
    };
    let target = 2000;
    await waitFor('acknowledgements before the crash', async () => (await acked()) >= target, { timeoutMs: 60_000, intervalMs: 100 }).catch(failWith);
    await broker.kill9();
    await sleep(300);
    await broker.restart({ clean: false });
    target = (await acked()) + 2000;
    await waitFor('acknowledgements after the restart', async () => (await acked()) >= target, { timeoutMs: 60_000, intervalMs: 100 }).catch(failWith);
    // Stall the broker longer than the request timeout: requests it already read are resent.
    process.kill(broker.proc.pid!, 'SIGSTOP');
    await sleep(4000);
    process.kill(broker.proc.pid!, 'SIGCONT');
    target = (await acked()) + 2000;
    await waitFor('acknowledgements after the stall', async () => (await acked()) >= target, { timeoutMs: 60_000, intervalMs: 100 }).catch(failWith);
    await writeFile(stopFile, '');
    const run = await producer;
    assert.equal(run.code, 0, describeRun('producer', run));
    const summary = JSON.parse(run.stdout.trim().split('\n').pop()!);
    assert.equal(summary.not_delivered, 0, show(summary));
    assert.equal(summary.failed, 0, `failed deliveries: ${show(summary)}`);

    const read = await kcatConsume(broker.bootstrap, topic, { timeoutMs: 120_000 });
    const counts = new Map<string, number>();
    for (const r of read) {
      const id = r.value!.slice(0, r.value!.indexOf('|'));
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const twice = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
    assert.deepEqual(twice.slice(0, 10), [], `${twice.length} records stored more than once`);
    assert.equal(counts.size, summary.produced, 'every produced record is stored');
    const acks = (await readAcks()).filter((a) => a.error === undefined);
    for (const a of acks.slice(-50)) {
      const r = read.find((x) => x.partition === a.p && x.offset === a.o);
      assert.ok(r && r.value!.startsWith(`rec-${a.i}|`), `record ${a.i} acked at ${a.p}@${a.o}`);
    }
    const duplicates = broker.logs().split('\n').filter((l) => l.includes('duplicate batch answered') && l.includes(topic)).length;
    t.diagnostic(`${summary.produced} records produced, ${read.length} stored, ${acks.length} acknowledgements, ${duplicates} resent batches recognised as duplicates`);
  });
});

async function describeProducersAt(topic: string, partition: number) {
  const res = await conn.request(DescribeProducersRequest, DescribeProducersResponse, 0, { topics: [{ name: topic, partitionIndexes: [partition] }] });
  const p = res.topics[0]!.partitions[0]!;
  assert.equal(p.errorCode, ErrorCode.NONE);
  return p.activeProducers;
}
