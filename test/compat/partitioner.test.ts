// Acceptance: the same key lands in the same partition as Kafka's murmur2 partitioner puts it, from
// every producer's default Java-compatible partitioner: librdkafka (kcat and confluent-kafka-python)
// with partitioner=murmur2_random, kafka-python's default, KafkaJS's DefaultPartitioner. The expected
// partition comes from an independent murmur2 in test/harness, checked against Java's hash vectors.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type Broker } from '../harness/broker.js';
import { kcatProduceOk } from '../harness/kcat.js';
import { kafkajsProduce } from '../harness/kafkajs.js';
import { py } from '../harness/python.js';
import { consumeCk, createTopics } from '../harness/fixtures.js';
import { keyPartition, murmur2, murmur2Vectors } from '../harness/murmur2.js';
import type { TestRecord } from '../harness/records.js';

const partitionCounts = [7, 16];
const keys: string[] = [];
for (let i = 0; i < 200; i++) keys.push(`user-${i}`);
keys.push('a', 'ab', 'abc', 'abcd', 'abcde', '21', 'foobar', 'ключ', 'キー', '🙂-emoji', 'with space', 'x'.repeat(300), '0', '-1');

let broker: Broker;
const producers = ['kcat', 'confluent', 'kafka-python', 'kafkajs'] as const;
const topicOf = (producer: string, n: number): string => `part-${producer}-${n}`;

before(async () => {
  broker = await startBroker();
  await createTopics(
    broker.bootstrap,
    producers.flatMap((p) => partitionCounts.map((n) => ({ name: topicOf(p, n), num_partitions: n }))),
  );
}, { timeout: 180_000 });
after(async () => {
  await broker?.dispose();
}, { timeout: 180_000 });

describe('murmur2 key partitioning', () => {
  test('the test murmur2 matches the Java client hash vectors', { timeout: 60_000 }, () => {
    for (const [key, hash] of murmur2Vectors) assert.equal(murmur2(Buffer.from(key)), hash, key);
    // Fixed key -> partition vectors (toPositive(murmur2) % n), as the Java DefaultPartitioner computes.
    assert.equal(keyPartition('foobar', 7), (-790332482 & 0x7fffffff) % 7);
    assert.equal(keyPartition('abc', 16), 479470107 % 16);
    assert.equal(keyPartition('21', 16), (-973932308 & 0x7fffffff) % 16);
  });

  test('@fjord/protocol murmur2 and defaultPartition, if exported, agree', { timeout: 60_000 }, async (t) => {
    let mod: Record<string, unknown>;
    try {
      mod = (await import('@fjord/protocol')) as Record<string, unknown>;
    } catch (e) {
      t.skip(`@fjord/protocol not importable: ${(e as Error).message}`);
      return;
    }
    const fn = mod['murmur2'];
    if (typeof fn !== 'function') {
      t.skip('@fjord/protocol does not export murmur2');
      return;
    }
    const partition = mod['defaultPartition'];
    for (const key of keys) {
      const b = Buffer.from(key, 'utf8');
      assert.equal((fn as (b: Uint8Array) => number)(b) | 0, murmur2(b), `murmur2(${key})`);
      if (typeof partition === 'function')
        for (const n of [1, 7, 16, 1000]) assert.equal((partition as (b: Uint8Array, n: number) => number)(b, n), keyPartition(key, n), `defaultPartition(${key}, ${n})`);
    }
  });

  for (const producer of producers) {
    for (const n of partitionCounts) {
      test(`${producer}: keys land in murmur2 partitions of a ${n}-partition topic`, { timeout: 90_000 }, async () => {
        const topic = topicOf(producer, n);
        const records: TestRecord[] = keys.map((key, i) => ({ key, value: `v${i}`, headers: [] }));
        if (producer === 'kcat') await kcatProduceOk(broker.bootstrap, topic, records);
        else if (producer === 'kafkajs') await kafkajsProduce(broker.bootstrap, topic, records);
        else {
          const r = await py(producer === 'confluent' ? 'ck' : 'kp', 'produce', { bootstrap: broker.bootstrap, topic, records });
          const failed = r.deliveries.filter((d: { error: unknown }) => d.error !== null);
          assert.deepEqual(failed, []);
        }
        const read = await consumeCk(broker.bootstrap, [{ topic }]);
        assert.equal(read.length, keys.length);
        const wrong = read
          .filter((r) => r.partition !== keyPartition(r.key!, n))
          .map((r) => `${JSON.stringify(r.key)} in ${r.partition}, murmur2 says ${keyPartition(r.key!, n)}`);
        assert.deepEqual(wrong, []);
      });
    }
  }
});
