/** Fjord's client (@fjord/client) in the three client workloads: idiomatic use, defaults unless named. */
import { Consumer, Producer } from '@fjord/client';
import { MB, produceInChunks, sendPacedAndWait, percentiles, stampOf, stampedValue, valuePool } from './common.mjs';

/**
 * The same application shape as the KafkaJS and platformatic drivers: sendBatch() calls of 1,000
 * records with 4 calls outstanding (produceInChunks). Defaults otherwise (batch 16 KiB; linger 5 ms,
 * which sendBatch() does not wait for).
 */
export async function produce({ bootstrap, topic, records, size, acks, partitions }) {
  const producer = new Producer({ bootstrapServers: bootstrap, clientId: 'bench-fjord', acks });
  await producer.connect();
  const pool = valuePool(size);
  const result = await produceInChunks({
    records,
    size,
    sendChunk: (from, to) => {
      const batch = [];
      for (let i = from; i < to; i++) batch.push({ topic, partition: i % partitions, key: null, value: pool[i % pool.length] });
      return producer.sendBatch(batch);
    },
  });
  await producer.close();
  return result;
}

/** send() per record, not awaited, with ready() as the backpressure (the README's pattern). */
export async function produceEach({ bootstrap, topic, records, size, acks, partitions }) {
  const producer = new Producer({ bootstrapServers: bootstrap, clientId: 'bench-fjord', acks });
  await producer.connect();
  const pool = valuePool(size);
  let acked = 0;
  let failed = 0;
  const ok = () => void acked++;
  const bad = () => void failed++;
  const t0 = performance.now();
  for (let i = 0; i < records; i++) {
    await producer.ready();
    producer.send({ topic, partition: i % partitions, key: null, value: pool[i % pool.length] }).then(ok, bad);
  }
  await producer.flush();
  const ms = performance.now() - t0;
  await producer.close();
  if (failed > 0 || acked !== records) throw new Error(`${failed} of ${records} sends failed (${acked} acknowledged)`);
  return { records, ms, MBps: (records * size) / MB / (ms / 1000) };
}

/** A group member (subscribe, earliest) reading `records`; timed from the first record to the last. */
export async function consume({ bootstrap, topic, records, size, groupId }) {
  const consumer = new Consumer({ bootstrapServers: bootstrap, clientId: 'bench-fjord', groupId, autoOffsetReset: 'earliest', enableAutoCommit: false });
  consumer.subscribe([topic]);
  let n = 0;
  let bytes = 0;
  let t0 = 0;
  for await (const batch of consumer) {
    if (n === 0) t0 = performance.now();
    for (const r of batch.records) bytes += r.value.length;
    n += batch.records.length;
    if (n >= records) break;
  }
  const ms = performance.now() - t0;
  await consumer.close();
  return { records: n, ms, MBps: bytes / MB / (ms / 1000), expectedBytes: records * size };
}

/**
 * One producer (lingerMs 0, acks 1) and one consumer (assigned every partition at its end) in this
 * process; each record's latency = received - intended send time.
 */
export async function e2e({ bootstrap, topic, records, size, rate, partitions, deadlineMs }) {
  const consumer = new Consumer({ bootstrapServers: bootstrap, clientId: 'bench-fjord-c' });
  const tps = Array.from({ length: partitions }, (_, partition) => ({ topic, partition }));
  consumer.assign(tps);
  consumer.seekToEnd(tps);
  const latencies = [];
  const stop = new AbortController();
  const reading = (async () => {
    for await (const batch of consumer.batches({ signal: stop.signal })) {
      const now = performance.now();
      for (const r of batch.records) latencies.push(now - stampOf(r.value));
      if (latencies.length >= records) break;
    }
  })();
  const producer = new Producer({ bootstrapServers: bootstrap, clientId: 'bench-fjord-p', acks: 1, lingerMs: 0 });
  await producer.connect();
  let i = 0;
  await sendPacedAndWait({ rate, records, deadlineMs, latencies, sendDue: (times) => Promise.all(times.map((t) => producer.send({ topic, partition: i++ % partitions, value: stampedValue(size, t) }))) });
  stop.abort();
  await reading;
  await producer.close();
  await consumer.close();
  return { received: latencies.length, ...percentiles(latencies) };
}
