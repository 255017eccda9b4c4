// Acceptance (issue 5) for @fjord/client's producer and admin against a Fjord broker: records written
// by the Fjord producer (keys, values, repeated and empty headers, explicit timestamps, every codec)
// are read back exactly by kcat and confluent-kafka-python; keys land where librdkafka's
// murmur2_random (and Java's default partitioner) put them; acks 0/1/all, sticky unkeyed batches and
// custom partitioners; bad configuration, unknown topics, oversized records and a hanging broker
// give typed errors that name the problem within their time limits; the admin subset.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { Admin, ClosedError, ConfigError, ErrorCode, InvalidRecordError, KafkaError, Producer, TimeoutError, type ProducerConfig, type LogEntry } from '@fjord/client';
import { startBroker, type Broker } from '../harness/broker.js';
import { kcatConsume, kcatProduceOk, type Codec } from '../harness/kcat.js';
import { consumeCk } from '../harness/fixtures.js';
import { diffRecords, expectLayout, makeRecords, type TestRecord } from '../harness/records.js';
import { keyPartition } from '../harness/murmur2.js';

let broker: Broker;
const clients: Array<Producer | Admin> = [];
const logs: LogEntry[] = [];

function producer(config: Partial<ProducerConfig> = {}): Producer {
  const p = new Producer({ bootstrapServers: broker.bootstrap, clientId: 'client-test', logger: (e) => {
      logs.push(e);
      if (process.env['FJORD_CLIENT_LOG'] && (e.level !== 'debug' || process.env['FJORD_CLIENT_LOG'] === 'debug')) console.error('[client]', e.level, e.message, JSON.stringify(e.fields));
    }, ...config });
  clients.push(p);
  return p;
}

function admin(config: Partial<ConstructorParameters<typeof Admin>[0]> = {}): Admin {
  const a = new Admin({ bootstrapServers: broker.bootstrap, ...config });
  clients.push(a);
  return a;
}

before(async () => {
  broker = await startBroker();
}, { timeout: 180_000 });
after(async () => {
  for (const c of clients) await c.close().catch(() => {});
  await broker?.dispose();
}, { timeout: 180_000 });

function toRecord(topic: string, r: TestRecord): Parameters<Producer['send']>[0] {
  return { topic, key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp, partition: r.partition };
}

describe('@fjord/client producer: interop', () => {
  const codecs: Codec[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
  const partitions = 3;

  for (const codec of codecs) {
    test(`${codec}: kcat and confluent-kafka-python read back exactly what the Fjord producer wrote`, { timeout: 120_000 }, async () => {
      const topic = `client-interop-${codec}`;
      const a = admin();
      await a.createTopics([{ name: topic, numPartitions: partitions }]);
      const records = makeRecords(400, { tag: codec, baseTimestamp: 1_700_000_000_000 });
      const p = producer({ compression: codec, lingerMs: 20 });
      const metas = await p.sendBatch(records.map((r) => toRecord(topic, r)));
      const expected = expectLayout(records, partitions);
      assert.deepEqual(
        metas.map((m) => [m.partition, Number(m.offset), m.timestamp]),
        expected.map((e) => [e.partition, e.offset, e.timestamp]),
        'delivery reports give the partition, offset and timestamp of each record',
      );
      const byKcat = await kcatConsume(broker.bootstrap, topic);
      assert.deepEqual(diffRecords(expected, byKcat), [], 'kcat');
      const byCk = await consumeCk(broker.bootstrap, [{ topic }]);
      assert.deepEqual(diffRecords(expected, byCk), [], 'confluent-kafka-python');
    });
  }

  test('the same key lands in the same partition as librdkafka murmur2_random and Java', { timeout: 120_000 }, async () => {
    const keys: string[] = [];
    for (let i = 0; i < 200; i++) keys.push(`user-${i}`);
    keys.push('a', 'ab', 'abc', 'abcd', 'abcde', '21', 'foobar', 'ключ', 'キー', '🙂-emoji', 'with space', 'x'.repeat(300), '0', '-1');
    const a = admin();
    for (const n of [7, 16]) {
      await a.createTopics([{ name: `client-keys-fjord-${n}`, numPartitions: n }, { name: `client-keys-kcat-${n}`, numPartitions: n }]);
      const p = producer();
      await p.sendBatch(keys.map((key, i) => ({ topic: `client-keys-fjord-${n}`, key, value: `v${i}` })));
      await kcatProduceOk(broker.bootstrap, `client-keys-kcat-${n}`, keys.map((key, i) => ({ key, value: `v${i}`, headers: [] })));
      const fjord = new Map((await consumeCk(broker.bootstrap, [{ topic: `client-keys-fjord-${n}` }])).map((r) => [r.key, r.partition]));
      const kcat = new Map((await consumeCk(broker.bootstrap, [{ topic: `client-keys-kcat-${n}` }])).map((r) => [r.key, r.partition]));
      assert.equal(fjord.size, keys.length);
      const wrong = keys.filter((k) => fjord.get(k) !== kcat.get(k) || fjord.get(k) !== keyPartition(k, n)).map((k) => `${k}: fjord ${fjord.get(k)}, librdkafka ${kcat.get(k)}, java ${keyPartition(k, n)}`);
      assert.deepEqual(wrong, []);
    }
  });

  test('regression: two batches of one partition drained together shared one request and both got the later offset', { timeout: 60_000 }, async () => {
    const topic = 'client-regression-rounds';
    await admin().createTopics([{ name: topic, numPartitions: 2 }]);
    // The first sends wait for metadata, so all 400 records (several batches per partition) are
    // appended before the first drain, which then takes up to 5 batches of a partition at once.
    const p = producer({ lingerMs: 20 });
    const metas = await p.sendBatch(Array.from({ length: 400 }, (_, i) => ({ topic, key: 'same-key', value: Buffer.alloc(200, i % 256) })));
    assert.deepEqual(metas.map((m) => Number(m.offset)), metas.map((_, i) => i));
  });

  for (const acks of ['all', 1] as const) test(`acks ${acks}: a topic whose max.message.bytes is below the batch: the broker refuses it, the producer splits it, every record is written once in order`, { timeout: 60_000 }, async () => {
    const topic = `client-split-${acks}`;
    await admin().createTopics([{ name: topic, numPartitions: 1, configs: { 'max.message.bytes': '6000' } }]);
    // 1 KiB records and a 64 KiB batch: the first batches hold far more than 6000 bytes. acks all
    // is idempotent (halves keep their sequence ranges); acks 1 is not (one batch in flight).
    const p = producer({ lingerMs: 50, batchBytes: 65_536, acks, deliveryTimeoutMs: 40_000 });
    const records = Array.from({ length: 60 }, (_, i) => ({ topic, partition: 0, key: `k${i}`, value: Buffer.alloc(1024, i) }));
    const metas = await p.sendBatch(records);
    assert.deepEqual(metas.map((m) => Number(m.offset)), records.map((_, i) => i), 'offsets in send order, none twice');
    assert.ok(logs.some((e) => e.message.includes('splitting a batch')), 'the producer logged a split');
    const read = await kcatConsume(broker.bootstrap, topic);
    assert.deepEqual(read.map((r) => r.key), records.map((r) => r.key), 'kcat reads every record once, in order');
  });

  test('acks 0, 1 and all; unkeyed records stick to one partition per batch; custom partitioner', { timeout: 120_000 }, async () => {
    const topic = 'client-acks';
    await admin().createTopics([{ name: topic, numPartitions: 4 }]);
    const p0 = producer({ acks: 0 });
    const r0 = await p0.sendBatch(Array.from({ length: 10 }, (_, i) => ({ topic, key: `a${i}`, value: 'acks0' })));
    assert.ok(r0.every((m) => m.offset === -1n), 'acks=0 has no offsets');
    await p0.flush();
    const p1 = producer({ acks: 1 });
    const r1 = await p1.sendBatch(Array.from({ length: 10 }, (_, i) => ({ topic, key: `b${i}`, value: 'acks1' })));
    assert.ok(r1.every((m) => m.offset >= 0n));
    const pAll = producer({ lingerMs: 50 });
    const unkeyed = await pAll.sendBatch(Array.from({ length: 50 }, (_, i) => ({ topic, value: `u${i}` })));
    assert.equal(new Set(unkeyed.map((m) => m.partition)).size, 1, 'one batch of unkeyed records goes to one partition (KIP-480)');
    const custom = producer({ partitioner: ({ key }) => (key?.toString() === 'fallback' ? undefined : 3) });
    const rc = await custom.sendBatch([{ topic, key: 'x', value: '1' }, { topic, key: 'y', value: '2' }, { topic, key: 'fallback', value: '3' }]);
    assert.deepEqual(rc.map((m) => m.partition), [3, 3, keyPartition('fallback', 4)]);
    const read = await consumeCk(broker.bootstrap, [{ topic }]);
    assert.equal(read.filter((r) => r.value === 'acks0').length, 10, 'acks=0 records arrived');
    assert.equal(read.length, 10 + 10 + 50 + 3);
  });
});

describe('@fjord/client producer: typed errors', () => {
  test('bad configuration values throw ConfigError naming the option', () => {
    for (const [bad, option] of [
      [{ lingerMs: -5 }, 'lingerMs'],
      [{ acks: 'leader' }, 'acks'],
      [{ compression: 'brotli' }, 'compression'],
      [{ bootstrapServers: 'localhost' }, 'bootstrapServers'],
      [{ idempotent: true, acks: 0 }, 'acks'],
      [{ bufferMemoryBytes: 0 }, 'bufferMemoryBytes'],
    ] as const) {
      assert.throws(() => producer(bad as unknown as ProducerConfig), (e: unknown) => e instanceof ConfigError && e.option === option && e.message.includes(option), option);
    }
  });

  test('an unknown topic rejects with UNKNOWN_TOPIC_OR_PARTITION naming it within maxBlockMs', { timeout: 30_000 }, async () => {
    const p = producer({ allowAutoTopicCreation: false, maxBlockMs: 1_500 });
    const t0 = Date.now();
    await assert.rejects(
      p.send({ topic: 'no-such-topic', value: 'x' }),
      (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && e.name === 'UNKNOWN_TOPIC_OR_PARTITION' && e.message.includes('no-such-topic'),
    );
    const took = Date.now() - t0;
    assert.ok(took >= 1_000 && took < 5_000, `took ${took} ms`);
  });

  test('oversized records, bad partitions and bad record fields are rejected at send', { timeout: 30_000 }, async () => {
    await admin().createTopics([{ name: 'client-bad', numPartitions: 2 }]);
    const p = producer({ maxRequestBytes: 100_000 });
    await assert.rejects(p.send({ topic: 'client-bad', value: Buffer.alloc(200_000) }), (e: unknown) => e instanceof KafkaError && e.name === 'MESSAGE_TOO_LARGE' && /maxRequestBytes/.test(e.message) && !e.retriable);
    await assert.rejects(p.send({ topic: 'client-bad', value: 'x', partition: 9 }), (e: unknown) => e instanceof InvalidRecordError && /partition 9 of topic "client-bad"/.test(e.message));
    await assert.rejects(p.send({ topic: 'client-bad', value: 42 as unknown as string }), InvalidRecordError);
    await assert.rejects(p.send({ topic: 'client-bad', value: 'x', timestamp: -3 }), InvalidRecordError);
    assert.equal((await p.send({ topic: 'client-bad', value: 'ok', partition: 1 })).partition, 1, 'the producer still works');
    await p.close();
    await assert.rejects(p.send({ topic: 'client-bad', value: 'late' }), ClosedError);
  });

  test('a broker that accepts connections and never answers gives TimeoutError within the limit', { timeout: 30_000 }, async () => {
    const sockets: Socket[] = [];
    const hang: Server = createServer((s) => {
      sockets.push(s);
      s.on('error', () => {});
    });
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    const address = `127.0.0.1:${(hang.address() as { port: number }).port}`;
    try {
      const p = new Producer({ bootstrapServers: address, connectTimeoutMs: 300, maxBlockMs: 1_200 });
      clients.push(p);
      let t0 = Date.now();
      await assert.rejects(p.send({ topic: 't', value: 'x' }), (e: unknown) => e instanceof TimeoutError && e.retriable && /metadata for topic "t"/.test(e.message) && e.timeoutMs === 1_200);
      assert.ok(Date.now() - t0 < 4_000);
      const a = new Admin({ bootstrapServers: address, connectTimeoutMs: 300, apiTimeoutMs: 1_000 });
      clients.push(a);
      t0 = Date.now();
      await assert.rejects(a.listTopics(), TimeoutError);
      assert.ok(Date.now() - t0 < 4_000);
    } finally {
      for (const s of sockets) s.destroy();
      hang.close();
    }
  });

  test('the logging hook receives structured entries', () => {
    assert.ok(logs.some((e) => e.message === 'producer id' && typeof e.fields?.['producerId'] === 'string'));
  });
});

describe('@fjord/client admin', () => {
  test('create, describe, configs, list, groups, delete', { timeout: 60_000 }, async () => {
    const a = admin();
    await a.connect();
    await a.createTopics([{ name: 'client-admin', numPartitions: 5, configs: { 'retention.ms': '3600000' } }]);
    await assert.rejects(a.createTopics([{ name: 'client-admin', numPartitions: 1 }]), (e: unknown) => e instanceof KafkaError && e.name === 'TOPIC_ALREADY_EXISTS' && e.message.includes('client-admin'));
    await a.createTopics([{ name: 'client-admin' }], { ifNotExists: true });
    const [d] = await a.describeTopics(['client-admin']);
    assert.equal(d!.partitions.length, 5);
    assert.ok(d!.partitions.every((p) => p.leader === broker.nodeId));
    const [cfg] = await a.describeConfigs([{ type: 'topic', name: 'client-admin', keys: ['retention.ms', 'cleanup.policy'] }]);
    const entries = Object.fromEntries(cfg!.entries.map((e) => [e.name, e.value]));
    assert.equal(entries['retention.ms'], '3600000');
    assert.equal(entries['cleanup.policy'], 'delete');
    assert.ok((await a.listTopics()).includes('client-admin'));
    assert.ok(Array.isArray(await a.listGroups()));
    const cluster = await a.describeCluster();
    assert.equal(cluster.brokers.length, 1);
    await a.deleteTopics(['client-admin']);
    assert.ok(!(await a.listTopics()).includes('client-admin'));
    await assert.rejects(a.describeTopics(['client-admin-nope']), (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    await assert.rejects(a.createTopics([{ name: 'x', numPartitions: 0 }]), (e: unknown) => e instanceof ConfigError && /numPartitions/.test(e.message));
  });
});
