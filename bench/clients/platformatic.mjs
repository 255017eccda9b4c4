/**
 * @platformatic/kafka 1.35 in the three client workloads. Like KafkaJS it batches what one send()
 * is given, so records go in send() calls of 1,000 messages with 4 calls outstanding.
 */
import { Consumer, Producer } from '@platformatic/kafka';
import { MB, produceInChunks, sendPacedAndWait, percentiles, stampOf, stampedValue, valuePool, waitFor } from './common.mjs';

export async function produce({ bootstrap, topic, records, size, acks, partitions }) {
  const producer = new Producer({ clientId: 'bench-platformatic', bootstrapBrokers: [bootstrap], acks: acks === 'all' ? -1 : acks, autocreateTopics: false });
  const pool = valuePool(size);
  const result = await produceInChunks({
    records,
    size,
    sendChunk: (from, to) => {
      const messages = [];
      for (let i = from; i < to; i++) messages.push({ topic, partition: i % partitions, value: pool[i % pool.length] });
      return producer.send({ messages });
    },
  });
  await producer.close();
  return result;
}

export async function consume({ bootstrap, topic, records, size, groupId }) {
  const consumer = new Consumer({ clientId: 'bench-platformatic', bootstrapBrokers: [bootstrap], groupId });
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false, maxWaitTime: 500 });
  let n = 0;
  let bytes = 0;
  let t0 = 0;
  let t1 = 0;
  stream.on('data', (m) => {
    if (n === 0) t0 = performance.now();
    bytes += m.value.length;
    if (++n === records) t1 = performance.now();
  });
  stream.on('error', () => undefined);
  await waitFor('every record', () => t1 > 0, 600_000);
  await stream.close();
  await consumer.close(true);
  const ms = t1 - t0;
  return { records: n, ms, MBps: bytes / MB / (ms / 1000), expectedBytes: records * size };
}

export async function e2e({ bootstrap, topic, records, size, rate, partitions, deadlineMs, groupId }) {
  const consumer = new Consumer({ clientId: 'bench-platformatic-c', bootstrapBrokers: [bootstrap], groupId });
  const stream = await consumer.consume({ topics: [topic], mode: 'latest', autocommit: false, maxWaitTime: 500 });
  const latencies = [];
  stream.on('data', (m) => latencies.push(performance.now() - stampOf(m.value)));
  stream.on('error', () => undefined);
  await waitFor('the consumer to be assigned every partition', () => (consumer.assignments ?? []).reduce((n, a) => n + a.partitions.length, 0) === partitions, 30_000);
  const producer = new Producer({ clientId: 'bench-platformatic-p', bootstrapBrokers: [bootstrap], acks: 1, autocreateTopics: false });
  let i = 0;
  await sendPacedAndWait({ rate, records, deadlineMs, latencies, sendDue: (times) => producer.send({ messages: times.map((t) => ({ topic, partition: i++ % partitions, value: stampedValue(size, t) })) }) });
  await producer.close();
  await stream.close();
  await consumer.close(true);
  return { received: latencies.length, ...percentiles(latencies) };
}
