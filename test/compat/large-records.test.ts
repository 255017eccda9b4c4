// Acceptance: 900 KB records pass with the default message.max.bytes (1048588) from every producer and
// read back intact; over-size records are refused with MESSAGE_TOO_LARGE (the clients' own limits are
// raised so that the broker is the one deciding) and use no offset. Topic max.message.bytes overrides
// the broker default in both directions.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type Broker } from '../harness/broker.js';
import { kcatProduce } from '../harness/kcat.js';
import { makeKafkaJs, Partitioners } from '../harness/kafkajs.js';
import { py } from '../harness/python.js';
import { bigValue, createTopics, Err, sha256Hex, watermarksCk } from '../harness/fixtures.js';
import type { ReadRecord } from '../harness/records.js';

const bigLen = 900 * 1024;
const tooBigLen = 1_200_000;
const topic = 'large';
let broker: Broker;
let nextOffset = 0;

before(async () => {
  broker = await startBroker();
  await createTopics(broker.bootstrap, [
    { name: topic, num_partitions: 1 },
    { name: 'large-raised', num_partitions: 1, config: { 'max.message.bytes': '3000000' } },
    { name: 'large-lowered', num_partitions: 1, config: { 'max.message.bytes': '100000' } },
  ]);
}, { timeout: 180_000 });
after(async () => {
  await broker?.dispose();
}, { timeout: 180_000 });

const expectedValues: Array<{ offset: number; seed: string; len: number }> = [];

async function pyProduce(driver: 'ck' | 'kp', t: string, seed: string, len: number) {
  const config =
    driver === 'ck' ? { 'message.max.bytes': 5_000_000 } : { max_request_size: 5_000_000, buffer_memory: 64 * 1024 * 1024 };
  const r = await py(driver, 'produce', {
    bootstrap: broker.bootstrap,
    topic: t,
    records: [{ key: seed, value: { seed, len }, headers: [['size', String(len)]], partition: 0 }],
    config,
  });
  return r.deliveries[0] as { partition?: number; offset?: number; error: { code: number | null; name: string; str: string } | null };
}

describe('large records', () => {
  for (const driver of ['ck', 'kp'] as const) {
    const name = driver === 'ck' ? 'confluent-kafka-python' : 'kafka-python';
    test(`${name}: 900 KB passes, 1.2 MB is MESSAGE_TOO_LARGE and uses no offset`, { timeout: 90_000 }, async () => {
      const ok = await pyProduce(driver, topic, `${driver}-big`, bigLen);
      assert.equal(ok.error, null, `900 KB refused: ${JSON.stringify(ok.error)}`);
      assert.equal(ok.offset, nextOffset);
      expectedValues.push({ offset: nextOffset++, seed: `${driver}-big`, len: bigLen });
      const bad = await pyProduce(driver, topic, `${driver}-too-big`, tooBigLen);
      assert.ok(bad.error, 'over-size record was accepted');
      assert.equal(bad.error.code, Err.MESSAGE_TOO_LARGE, `error: ${JSON.stringify(bad.error)}`);
      assert.deepEqual((await watermarksCk(broker.bootstrap, topic, [0]))[0], [0, nextOffset], 'no offset used by the refused record');
    });
  }

  test('kcat: 900 KB passes, 1.2 MB is refused', { timeout: 90_000 }, async () => {
    const config = { 'message.max.bytes': 5_000_000 };
    const ok = await kcatProduce(broker.bootstrap, topic, [{ key: 'kcat-big', value: bigValue('kcat-big', bigLen).toString('ascii'), headers: [] }], { config, partition: 0 });
    assert.equal(ok.code, 0, ok.stderr);
    expectedValues.push({ offset: nextOffset++, seed: 'kcat-big', len: bigLen });
    const bad = await kcatProduce(broker.bootstrap, topic, [{ key: 'kcat-too-big', value: bigValue('kcat-too-big', tooBigLen).toString('ascii'), headers: [] }], { config, partition: 0 });
    assert.match(bad.stderr, /Message size too large|MSG_SIZE_TOO_LARGE/i, `kcat: exit ${bad.code}\n${bad.stderr}`);
    assert.deepEqual((await watermarksCk(broker.bootstrap, topic, [0]))[0], [0, nextOffset]);
  });

  test('KafkaJS: 900 KB passes, 1.2 MB is MESSAGE_TOO_LARGE', { timeout: 90_000 }, async () => {
    const { kafka } = makeKafkaJs(broker.bootstrap);
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 0 } });
    await producer.connect();
    try {
      const ok = await producer.send({ topic, acks: -1, messages: [{ key: 'kafkajs-big', value: bigValue('kafkajs-big', bigLen), partition: 0, headers: { size: String(bigLen) } }] });
      assert.equal(ok[0]?.baseOffset, String(nextOffset));
      expectedValues.push({ offset: nextOffset++, seed: 'kafkajs-big', len: bigLen });
      await assert.rejects(
        producer.send({ topic, acks: -1, messages: [{ key: 'x', value: bigValue('kafkajs-too-big', tooBigLen), partition: 0 }] }),
        (e: Error & { type?: string }) => {
          assert.equal(e.type, 'MESSAGE_TOO_LARGE', `${e.name}: ${e.message}`);
          return true;
        },
      );
    } finally {
      await producer.disconnect();
    }
    assert.deepEqual((await watermarksCk(broker.bootstrap, topic, [0]))[0], [0, nextOffset]);
  });

  test('every accepted large record reads back intact (kafka-python and confluent-kafka-python)', { timeout: 90_000 }, async () => {
    assert.ok(expectedValues.length > 0);
    for (const driver of ['kp', 'ck'] as const) {
      const r = await py<{ records: ReadRecord[]; eof: boolean }>(driver, 'consume', { bootstrap: broker.bootstrap, assign: [{ topic, partitions: [0] }], digest: true });
      assert.ok(r.eof, `${driver}: did not reach the end`);
      assert.deepEqual(
        r.records.map((x) => [x.offset, x.key, x.value_len, x.value_sha256]),
        expectedValues.map((e) => [e.offset, e.seed, e.len, sha256Hex(bigValue(e.seed, e.len))]),
        driver,
      );
    }
  });

  test('topic max.message.bytes overrides the broker default both ways', { timeout: 90_000 }, async () => {
    const raised = await pyProduce('ck', 'large-raised', 'raised', 2_000_000);
    assert.equal(raised.error, null, `2 MB refused by a topic with max.message.bytes=3000000: ${JSON.stringify(raised.error)}`);
    const lowered = await pyProduce('ck', 'large-lowered', 'lowered', 200_000);
    assert.equal(lowered.error?.code, Err.MESSAGE_TOO_LARGE, `200 KB on max.message.bytes=100000: ${JSON.stringify(lowered)}`);
    const r = await py<{ records: ReadRecord[]; eof: boolean }>('ck', 'consume', {
      bootstrap: broker.bootstrap,
      assign: [{ topic: 'large-raised', partitions: [0] }],
      digest: true,
      config: { 'fetch.message.max.bytes': 4_000_000 },
    });
    assert.deepEqual(r.records.map((x) => [x.offset, x.value_len, x.value_sha256]), [[0, 2_000_000, sha256Hex(bigValue('raised', 2_000_000))]]);
    assert.deepEqual((await watermarksCk(broker.bootstrap, 'large-lowered', [0]))[0], [0, 0]);
  });
});
