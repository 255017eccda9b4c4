// Acceptance: 1,000 keyed records with headers and explicit timestamps through every compression
// codec each client supports, read back exactly (key, value, headers, timestamp, partition, offset)
// and across clients. Producers: kcat, confluent-kafka-python, kafka-python, KafkaJS. Consumers
// (no group, explicit partitions and offsets): kcat, confluent-kafka-python, kafka-python.
// KafkaJS cannot consume without a consumer group, so it is a producer only here.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type Broker } from '../harness/broker.js';
import { kcatConsume, kcatProduceOk, type Codec } from '../harness/kcat.js';
import { kafkajsCodecs, kafkajsProduce } from '../harness/kafkajs.js';
import { py } from '../harness/python.js';
import { createTopics, type Delivery } from '../harness/fixtures.js';
import { diffRecords, expectLayout, makeRecords, type ExpectedRecord, type ReadRecord, type TestRecord, byTopic } from '../harness/records.js';
import { batchesOf, fetch, withConnection } from '../harness/wire.js';

const recordCount = 1000;
const partitions = 3;
const allCodecs: Codec[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

type Producer = 'kcat' | 'confluent' | 'kafka-python' | 'kafkajs';

interface Case {
  producer: Producer;
  codec: Codec;
  topic: string;
  records: TestRecord[];
  expected?: ExpectedRecord[];
  skipReason?: string;
  produceError?: string;
}

const cases: Case[] = [];
let broker: Broker;
const baseTimestamp = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;

before(async () => {
  broker = await startBroker();
  const js = await kafkajsCodecs();
  for (const producer of ['kcat', 'confluent', 'kafka-python', 'kafkajs'] as Producer[]) {
    for (const codec of allCodecs) {
      const topic = `rt-${producer}-${codec}`;
      const skipReason =
        producer === 'kafkajs' && !js.available.includes(codec) ? `KafkaJS ${codec} codec unavailable: ${js.missing[codec]}` : undefined;
      cases.push({
        producer,
        codec,
        topic,
        records: makeRecords(recordCount, { tag: `${producer}/${codec}`, baseTimestamp }),
        ...(skipReason === undefined ? {} : { skipReason }),
      });
    }
  }
  await createTopics(
    broker.bootstrap,
    cases.map((c) => ({ name: c.topic, num_partitions: partitions })),
  );
}, { timeout: 180_000 });

after(async () => {
  await broker?.dispose();
}, { timeout: 180_000 });

function checkDeliveries(c: Case, deliveries: Delivery[]): void {
  const expected = c.expected!;
  const wrong = deliveries.filter((d, i) => d.error !== null || d.partition !== expected[i]!.partition || d.offset !== expected[i]!.offset);
  assert.equal(
    wrong.length,
    0,
    `${wrong.length} delivery reports differ from the expected partition/offset; first: ${JSON.stringify(wrong[0])} expected ${JSON.stringify(expected[wrong[0]?.i ?? 0])}`,
  );
}

const codecNumber: Record<Codec, number> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

/**
 * The codec must really have been used: the stored batches carry it. (A client may leave a batch
 * uncompressed when compression does not make it smaller, so "none" batches are allowed beside it.)
 */
async function checkStoredCodec(c: Case): Promise<void> {
  const codecs = new Set<number>();
  await withConnection(broker.host, broker.port, async (conn) => {
    for (let p = 0; p < partitions; p++) {
      const f = await fetch(conn, c.topic, p, 0);
      assert.equal(f.errorCode, 0);
      for (const b of batchesOf(f.records)) codecs.add(b.codec);
    }
  });
  const want = codecNumber[c.codec];
  const librdkafkaLz4 =
    c.codec === 'lz4' && (c.producer === 'kcat' || c.producer === 'confluent')
      ? ' (librdkafka enables lz4 only when the broker advertises FindCoordinator in ApiVersions: "Feature LZ4: FindCoordinator (0..0) NOT supported by broker, Disabling feature LZ4")'
      : '';
  assert.ok(codecs.has(want) && [...codecs].every((x) => x === want || x === 0), `stored batches use codecs ${[...codecs].join(',')}, expected ${want} (${c.codec})${librdkafkaLz4}`);
}

describe('produce 1,000 keyed records with headers and timestamps', () => {
  for (const codec of allCodecs) {
    for (const producer of ['kcat', 'confluent', 'kafka-python', 'kafkajs'] as Producer[]) {
      test(`${producer} produces with ${codec}`, { timeout: 120_000 }, async (t) => {
        const c = cases.find((x) => x.producer === producer && x.codec === codec)!;
        if (c.skipReason) {
          c.produceError = c.skipReason;
          t.skip(c.skipReason);
          return;
        }
        try {
          if (producer === 'kcat') {
            // kcat sets neither per-message timestamps nor per-message headers.
            const headers: Array<[string, string]> = [
              ['src', 'kcat'],
              ['codec', codec],
            ];
            const min = Date.now();
            await kcatProduceOk(broker.bootstrap, c.topic, c.records, { codec, headers });
            const max = Date.now();
            c.expected = expectLayout(c.records, partitions, { headers, timestamp: { min, max } });
          } else if (producer === 'kafkajs') {
            c.expected = expectLayout(c.records, partitions);
            const batchSize = 250;
            const res = await kafkajsProduce(broker.bootstrap, c.topic, c.records, { codec, batchSize });
            // One result per (send, partition): its base offset is that partition's first record in the send.
            const firstOffsets = new Set<string>();
            for (let i = 0; i < c.records.length; i += batchSize) {
              const seen = new Set<number>();
              for (const e of c.expected.slice(i, i + batchSize)) {
                if (!seen.has(e.partition)) firstOffsets.add(`${e.partition}@${e.offset}`);
                seen.add(e.partition);
              }
            }
            const got = new Set(res.map((r) => `${r.partition}@${r.baseOffset}`));
            assert.deepEqual([...got].sort(), [...firstOffsets].sort(), 'KafkaJS produce results (partition@baseOffset)');
            assert.ok(res.every((r) => r.errorCode === 0), `KafkaJS errors: ${JSON.stringify(res.filter((r) => r.errorCode !== 0))}`);
          } else {
            c.expected = expectLayout(c.records, partitions);
            const driver = producer === 'confluent' ? 'ck' : 'kp';
            const res = await py<{ deliveries: Delivery[] }>(driver, 'produce', { bootstrap: broker.bootstrap, topic: c.topic, records: c.records, codec, acks: 'all' });
            checkDeliveries(c, res.deliveries);
          }
        } catch (e) {
          c.produceError = (e as Error).message;
          throw e;
        }
        // Checked last: data stored without the codec is still read back by the consumer tests.
        await checkStoredCodec(c);
      });
    }
  }
});

async function compareAll(t: import('node:test').TestContext, consumer: string, read: (c: Case[]) => Promise<Map<string, ReadRecord[]>>): Promise<void> {
  const ready = cases.filter((c) => c.expected !== undefined && c.produceError === undefined);
  assert.ok(ready.length > 0, 'no topic was produced successfully');
  const got = await read(ready);
  for (const c of cases) {
    await t.test(`${consumer} reads what ${c.producer} wrote with ${c.codec}`, (st) => {
      if (!ready.includes(c)) {
        st.skip(`not produced: ${c.produceError?.split('\n')[0]}`);
        return;
      }
      const problems = diffRecords(c.expected!, got.get(c.topic) ?? []);
      assert.deepEqual(problems, [], `${c.topic}: read-back differs`);
    });
  }
}

describe('read back exactly, across clients', () => {
  test('kcat (librdkafka) consumer', { timeout: 240_000 }, async (t) => {
    await compareAll(t, 'kcat', async (ready) => {
      const out = new Map<string, ReadRecord[]>();
      for (const c of ready) out.set(c.topic, await kcatConsume(broker.bootstrap, c.topic));
      return out;
    });
  });

  for (const [name, driver] of [
    ['confluent-kafka-python', 'ck'],
    ['kafka-python', 'kp'],
  ] as const) {
    test(`${name} consumer (assign, from beginning)`, { timeout: 240_000 }, async (t) => {
      await compareAll(t, name, async (ready) => {
        const res = await py<{ records: ReadRecord[]; eof: boolean }>(
          driver,
          'consume',
          { bootstrap: broker.bootstrap, assign: ready.map((c) => ({ topic: c.topic, partitions: [0, 1, 2], offset: 'beginning' })), max_seconds: 150 },
          200_000,
        );
        assert.ok(res.eof, `${name} did not reach the end of every partition`);
        return byTopic(res.records);
      });
    });
  }
});
