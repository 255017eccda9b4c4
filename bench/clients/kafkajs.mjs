/**
 * KafkaJS 2.2.4 in the three client workloads. KafkaJS has no producer-side batching (linger): the
 * application hands it arrays, so records go in send() calls of 1,000 messages with 4
 * calls outstanding, its documented way to produce fast.
 */
import { Kafka, logLevel, CompressionTypes } from 'kafkajs';
import { MB, produceInChunks, sendPacedAndWait, percentiles, stampOf, stampedValue, valuePool, waitFor } from './common.mjs';

const kafkaOf = (bootstrap, clientId) => new Kafka({ clientId, brokers: [bootstrap], logLevel: logLevel.NOTHING });

export async function produce({ bootstrap, topic, records, size, acks, partitions }) {
  const producer = kafkaOf(bootstrap, 'bench-kafkajs').producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const pool = valuePool(size);
  const kacks = acks === 'all' ? -1 : acks;
  const result = await produceInChunks({
    records,
    size,
    sendChunk: (from, to) => {
      const messages = [];
      for (let i = from; i < to; i++) messages.push({ partition: i % partitions, key: null, value: pool[i % pool.length] });
      return producer.send({ topic, acks: kacks, compression: CompressionTypes.None, messages });
    },
  });
  await producer.disconnect();
  return result;
}

export async function consume({ bootstrap, topic, records, size, groupId }) {
  const consumer = kafkaOf(bootstrap, 'bench-kafkajs').consumer({ groupId, maxWaitTimeInMs: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let n = 0;
  let bytes = 0;
  let t0 = 0;
  let t1 = 0;
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      if (n === 0) t0 = performance.now();
      for (const m of batch.messages) bytes += m.value.length;
      n += batch.messages.length;
      if (n >= records && t1 === 0) t1 = performance.now();
    },
  });
  await waitFor('every record', () => t1 > 0, 600_000);
  await consumer.disconnect();
  const ms = t1 - t0;
  return { records: n, ms, MBps: bytes / MB / (ms / 1000), expectedBytes: records * size };
}

export async function e2e({ bootstrap, topic, records, size, rate, partitions, deadlineMs, groupId }) {
  const kafka = kafkaOf(bootstrap, 'bench-kafkajs');
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 500 });
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, () => (joined = true));
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: false });
  const latencies = [];
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const now = performance.now();
      for (const m of batch.messages) latencies.push(now - stampOf(m.value));
    },
  });
  await waitFor('the consumer to join its group', () => joined, 30_000);
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  let i = 0;
  await sendPacedAndWait({ rate, records, deadlineMs, latencies, sendDue: (times) => producer.send({ topic, acks: 1, messages: times.map((t) => ({ partition: i++ % partitions, value: stampedValue(size, t) })) }) });
  await producer.disconnect();
  await consumer.disconnect();
  return { received: latencies.length, ...percentiles(latencies) };
}
