// Acceptance (issue 5): the broker is killed (kill -9) and restarted under a producing @fjord/client
// producer. The producer reconnects by itself, every send resolves, and with idempotence (the
// default) no record is written twice: batches in flight at the kill are resent with the same
// producer id and sequence numbers, and the broker drops those it already had.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Admin, Producer, type LogEntry, type RecordMetadata } from '@fjord/client';
import { startBroker, type Broker } from '../harness/broker.js';
import { consumeCk } from '../harness/fixtures.js';
import { sleep } from '../harness/util.js';

let broker: Broker;
before(async () => {
  broker = await startBroker();
}, { timeout: 180_000 });
after(async () => {
  await broker?.dispose();
}, { timeout: 180_000 });

test('idempotent producer across a broker kill -9 and restart writes every record exactly once, in order per key', { timeout: 180_000 }, async () => {
  const topic = 'client-crash';
  const partitions = 4;
  const admin = new Admin({ bootstrapServers: broker.bootstrap });
  await admin.createTopics([{ name: topic, numPartitions: partitions }]);
  await admin.close();
  const logs: LogEntry[] = [];
  const producer = new Producer({
    bootstrapServers: broker.bootstrap,
    lingerMs: 2,
    requestTimeoutMs: 5_000,
    reconnectBackoffMaxMs: 300,
    retryBackoffMaxMs: 300,
    logger: (e) => logs.push(e),
  });
  const total = 6_000;
  const sends: Array<Promise<RecordMetadata>> = [];
  let killed = false;
  let acked = 0;
  let ackedAtKill = -1;
  for (let i = 0; i < total; i++) {
    sends.push(producer.send({ topic, key: `key-${i % 37}`, value: `value-${i}` }).finally(() => acked++));
    if (i % 50 === 49) await sleep(2);
    if (i === 2_000) {
      ackedAtKill = acked;
      await broker.kill9();
      killed = true;
    }
    if (i === 3_000) await broker.restart();
  }
  assert.ok(killed);
  const results = await Promise.allSettled(sends);
  const failed = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
  assert.deepEqual(failed.slice(0, 5), [], `${failed.length} sends failed`);
  await producer.close();
  assert.ok(logs.some((e) => e.message === 'produce request failed' || e.message === 'connection closed'), 'the kill was noticed');
  assert.ok(ackedAtKill < 2_001, `records were unacknowledged at the kill (${ackedAtKill} of 2001 acknowledged)`);
  assert.ok(logs.some((e) => e.message === 'retrying batch'), 'batches were retried after the kill');

  const read = await consumeCk(broker.bootstrap, [{ topic }]);
  const counts = new Map<string, number>();
  for (const r of read) counts.set(r.value!, (counts.get(r.value!) ?? 0) + 1);
  const duplicates = [...counts].filter(([, n]) => n > 1).map(([v, n]) => `${v} x${n}`);
  assert.deepEqual(duplicates.slice(0, 10), [], `${duplicates.length} duplicated records`);
  const missing = Array.from({ length: total }, (_, i) => `value-${i}`).filter((v) => !counts.has(v));
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} records missing`);
  // Per key, records appear in the order sent.
  const lastByKey = new Map<string, number>();
  for (const r of [...read].sort((a, b) => a.partition - b.partition || a.offset - b.offset)) {
    const i = Number(r.value!.slice('value-'.length));
    const prev = lastByKey.get(r.key!) ?? -1;
    assert.ok(i > prev, `key ${r.key}: value-${i} after value-${prev}`);
    lastByKey.set(r.key!, i);
  }
});
