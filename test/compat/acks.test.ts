// Produce with acks=0, acks=1 and acks=all from each producer: everything is stored and reads back
// exactly (acks=0 gets no response, so its records are checked only by reading them back).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type Broker } from '../harness/broker.js';
import { kcatProduceOk } from '../harness/kcat.js';
import { kafkajsProduce } from '../harness/kafkajs.js';
import { py } from '../harness/python.js';
import { consumeCk, createTopics, watermarksCk, type Delivery } from '../harness/fixtures.js';
import { diffRecords, expectLayout, makeRecords } from '../harness/records.js';
import { waitFor } from '../harness/util.js';

const partitions = 2;
const count = 1000;
const producers = ['kcat', 'confluent', 'kafka-python', 'kafkajs'] as const;
const acksValues = [0, 1, -1] as const;
const topicOf = (p: string, acks: number): string => `acks-${p}-${acks === -1 ? 'all' : acks}`;
let broker: Broker;

before(async () => {
  broker = await startBroker();
  await createTopics(broker.bootstrap, producers.flatMap((p) => acksValues.map((a) => ({ name: topicOf(p, a), num_partitions: partitions }))));
}, { timeout: 180_000 });
after(async () => {
  await broker?.dispose();
}, { timeout: 180_000 });

describe('acks=0, 1, all', () => {
  for (const producer of producers) {
    for (const acks of acksValues) {
      test(`${producer} acks=${acks === -1 ? 'all' : acks}: every record stored and read back exactly`, { timeout: 90_000 }, async () => {
        const topic = topicOf(producer, acks);
        const baseTimestamp = Math.floor(Date.now() / 1000) * 1000 - 60_000;
        const records = makeRecords(count, { tag: topic, baseTimestamp });
        let expected = expectLayout(records, partitions);
        if (producer === 'kcat') {
          const min = Date.now();
          await kcatProduceOk(broker.bootstrap, topic, records, { config: { acks } });
          expected = expectLayout(records, partitions, { headers: [], timestamp: { min, max: Date.now() } });
        } else if (producer === 'kafkajs') {
          await kafkajsProduce(broker.bootstrap, topic, records, { acks });
        } else {
          const r = await py<{ deliveries: Delivery[] }>(producer === 'confluent' ? 'ck' : 'kp', 'produce', {
            bootstrap: broker.bootstrap,
            topic,
            records,
            acks: acks === -1 ? 'all' : acks,
          });
          assert.deepEqual(r.deliveries.filter((d) => d.error !== null).slice(0, 3), [], 'delivery errors');
          if (acks !== 0) assert.deepEqual(r.deliveries.map((d) => [d.partition, d.offset]), expected.map((e) => [e.partition, e.offset]));
        }
        // acks=0 returns before the broker has appended: wait for the high watermark to catch up.
        await waitFor(`${count} records stored`, async () => {
          const marks = await watermarksCk(broker.bootstrap, topic, [0, 1]);
          return marks[0]![1] + marks[1]![1] >= count ? true : undefined;
        }, { timeoutMs: 15_000, intervalMs: 250 });
        const read = await consumeCk(broker.bootstrap, [{ topic }]);
        assert.deepEqual(diffRecords(expected, read), []);
      });
    }
  }
});
