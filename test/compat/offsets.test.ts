// Acceptance: offsets by timestamp (and earliest/latest) from every client that offers it:
// kcat -Q, confluent-kafka-python offsets_for_times/get_watermark_offsets, kafka-python
// offsets_for_times/beginning_offsets/end_offsets, KafkaJS fetchTopicOffsetsByTimestamp/fetchTopicOffsets,
// and raw ListOffsets v7 for MAX_TIMESTAMP (-3), which none of the installed clients exposes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type Broker } from '../harness/broker.js';
import { kcatQuery } from '../harness/kcat.js';
import { makeKafkaJs } from '../harness/kafkajs.js';
import { py } from '../harness/python.js';
import { createTopics, produceCk } from '../harness/fixtures.js';
import { listOffsets, listOffsetsV7, withConnection } from '../harness/wire.js';

const topic = 'offsets-by-time';
const perPartition = 500;
const t0 = Math.floor(Date.now() / 1000) * 1000 - 2 * 3_600_000;
const ts = (i: number): number => t0 + i * 1000;
// Partition 1 has one record far ahead of the others at this offset (timestamps need not be monotonic).
const outlierOffset = 100;
const outlierTs = t0 + 10_000_000;

let broker: Broker;

/** What Kafka answers: the first offset whose timestamp is >= target, or -1 (none). */
function expectedOffset(partition: number, target: number): number {
  for (let i = 0; i < perPartition; i++) {
    const recTs = partition === 1 && i === outlierOffset ? outlierTs : ts(i);
    if (recTs >= target) return i;
  }
  return -1;
}

const queries: Array<{ partition: number; timestamp: number }> = [];
for (const partition of [0, 1]) {
  for (const target of [t0 - 5000, t0, ts(37) - 1, ts(37), ts(37) + 1, ts(250), ts(499), ts(499) + 1, outlierTs, outlierTs + 1])
    queries.push({ partition, timestamp: target });
}

before(async () => {
  broker = await startBroker();
  await createTopics(broker.bootstrap, [{ name: topic, num_partitions: 2 }]);
  for (const partition of [0, 1]) {
    await produceCk(
      broker.bootstrap,
      topic,
      Array.from({ length: perPartition }, (_, i) => ({
        key: `k${i}`,
        value: `v${i}`,
        headers: [],
        partition,
        timestamp: partition === 1 && i === outlierOffset ? outlierTs : ts(i),
      })),
      // Small batches, so the time index has several entries to search.
      { config: { 'batch.num.messages': 20, 'linger.ms': 0 } },
    );
  }
}, { timeout: 180_000 });
after(async () => {
  await broker?.dispose();
}, { timeout: 180_000 });

describe('offsets by timestamp, earliest and latest', () => {
  test('confluent-kafka-python offsets_for_times and watermarks', { timeout: 60_000 }, async () => {
    const r = await py('ck', 'offsets', {
      bootstrap: broker.bootstrap,
      queries: [...queries.map((q) => ({ topic, ...q })), { topic, partition: 0, timestamp: -2 }, { topic, partition: 0, timestamp: -1 }],
      watermarks: [0, 1].map((partition) => ({ topic, partition })),
    });
    const got = r.offsets.map((o: { partition: number; timestamp: number; offset: number; error: unknown }) => [o.partition, o.timestamp, o.offset, o.error]);
    const want = [
      ...queries.map((q) => [q.partition, q.timestamp, expectedOffset(q.partition, q.timestamp), null]),
      [0, -2, 0, null],
      [0, -1, perPartition, null],
    ];
    assert.deepEqual(got, want);
    assert.deepEqual(r.watermarks, { [`${topic}:0`]: [0, perPartition], [`${topic}:1`]: [0, perPartition] });
  });

  test('kafka-python offsets_for_times, beginning_offsets, end_offsets', { timeout: 60_000 }, async () => {
    const r = await py('kp', 'offsets', {
      bootstrap: broker.bootstrap,
      queries: queries.map((q) => ({ topic, ...q })),
      watermarks: [0, 1].map((partition) => ({ topic, partition })),
    });
    const got = r.offsets.map((o: { partition: number; timestamp: number; offset: number | null }) => [o.partition, o.timestamp, o.offset]);
    // kafka-python reports "no such record" as None.
    const want = queries.map((q) => {
      const e = expectedOffset(q.partition, q.timestamp);
      return [q.partition, q.timestamp, e === -1 ? null : e];
    });
    assert.deepEqual(got, want);
    // The record timestamp returned with each offset is that record's own timestamp.
    for (const o of r.offsets as Array<{ partition: number; offset: number | null; record_timestamp: number | null }>) {
      if (o.offset === null) continue;
      assert.equal(o.record_timestamp, o.partition === 1 && o.offset === outlierOffset ? outlierTs : ts(o.offset));
    }
    assert.deepEqual(r.watermarks, { [`${topic}:0`]: [0, perPartition], [`${topic}:1`]: [0, perPartition] });
  });

  test('kcat -Q', { timeout: 90_000 }, async () => {
    const sample = queries.filter((_, i) => i % 3 === 0);
    for (const q of sample) {
      assert.equal(await kcatQuery(broker.bootstrap, topic, q.partition, q.timestamp), expectedOffset(q.partition, q.timestamp), `kcat -Q ${JSON.stringify(q)}`);
    }
  });

  test('KafkaJS fetchTopicOffsetsByTimestamp and fetchTopicOffsets', { timeout: 60_000 }, async () => {
    const { kafka } = makeKafkaJs(broker.bootstrap);
    const admin = kafka.admin();
    await admin.connect();
    try {
      for (const target of [t0, ts(37) + 1, ts(250), ts(499) + 1]) {
        const res = await admin.fetchTopicOffsetsByTimestamp(topic, target);
        // KafkaJS replaces "none" (-1) by the high watermark.
        const want = [0, 1].map((p) => {
          const e = expectedOffset(p, target);
          return { partition: p, offset: String(e === -1 ? perPartition : e) };
        });
        assert.deepEqual([...res].sort((a, b) => a.partition - b.partition), want, `timestamp ${target}`);
      }
      const offs = await admin.fetchTopicOffsets(topic);
      assert.deepEqual(
        offs.map((o) => [o.partition, o.low, o.high, o.offset]).sort(),
        [0, 1].map((p) => [p, '0', String(perPartition), String(perPartition)]),
      );
    } finally {
      await admin.disconnect();
    }
  });

  test('raw ListOffsets: v1 by time, v7 MAX_TIMESTAMP (-3)', { timeout: 30_000 }, async () => {
    await withConnection(broker.host, broker.port, async (c) => {
      const v1 = await listOffsets(c, topic, [
        { partition: 0, timestamp: ts(37) },
        { partition: 1, timestamp: -2 },
        { partition: 1, timestamp: -1 },
      ]);
      assert.deepEqual(
        v1.map((x) => [x.partition, x.errorCode, x.offset]),
        [
          [0, 0, 37],
          [1, 0, 0],
          [1, 0, perPartition],
        ],
      );
      assert.equal(v1[0]!.timestamp, ts(37), 'ListOffsets v1 returns the found record timestamp');
      const v7 = await listOffsetsV7(c, topic, [
        { partition: 0, timestamp: -3 },
        { partition: 1, timestamp: -3 },
      ]);
      assert.deepEqual(
        v7.map((x) => [x.partition, x.errorCode, x.offset, x.timestamp]),
        [
          [0, 0, perPartition - 1, ts(perPartition - 1)],
          [1, 0, outlierOffset, outlierTs],
        ],
      );
      assert.ok(v7.every((x) => x.leaderEpoch >= 0), `leader epoch: ${JSON.stringify(v7)}`);
    });
  });
});
