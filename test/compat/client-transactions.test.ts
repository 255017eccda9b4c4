// Acceptance (issue 5) for @fjord/client transactions against a Fjord broker: committed records are
// visible to a read_committed consumer (confluent-kafka-python), aborted ones are not; offsets sent
// with sendOffsetsToTransaction are committed with the transaction; a second producer with the same
// transactional id fences the first (PRODUCER_FENCED or INVALID_PRODUCER_EPOCH, fatal); the API
// rejects calls out of order with TransactionStateError.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Admin, KafkaError, Producer, TransactionStateError, ConfigError } from '@fjord/client';
import { startBroker, type Broker } from '../harness/broker.js';
import { consumeCk } from '../harness/fixtures.js';
import { py } from '../harness/python.js';

let broker: Broker;
const producers: Producer[] = [];
before(async () => {
  broker = await startBroker();
  const admin = new Admin({ bootstrapServers: broker.bootstrap });
  await admin.createTopics([{ name: 'client-txn', numPartitions: 3 }, { name: 'client-txn-in', numPartitions: 2 }]);
  await admin.close();
}, { timeout: 180_000 });
after(async () => {
  for (const p of producers) await p.close({ timeoutMs: 2_000 }).catch(() => {});
  await broker?.dispose();
}, { timeout: 180_000 });

function txProducer(transactionalId: string): Producer {
  const p = new Producer({ bootstrapServers: broker.bootstrap, transactionalId, maxBlockMs: 15_000 });
  producers.push(p);
  return p;
}

test('commit is visible to read_committed, abort is not; offsets commit with the transaction', { timeout: 120_000 }, async () => {
  const p = txProducer('client-txn-1');
  await p.initTransactions();
  p.beginTransaction();
  await p.sendBatch(Array.from({ length: 30 }, (_, i) => ({ topic: 'client-txn', key: `k${i % 7}`, value: `committed-${i}` })));
  await p.sendOffsetsToTransaction([{ topic: 'client-txn-in', partition: 0, offset: 42 }, { topic: 'client-txn-in', partition: 1, offset: 7n }], 'client-txn-group');
  await p.commitTransaction();

  p.beginTransaction();
  const aborted = Array.from({ length: 20 }, (_, i) => p.send({ topic: 'client-txn', key: `k${i % 7}`, value: `aborted-${i}` }));
  await Promise.allSettled(aborted);
  await p.abortTransaction();

  p.beginTransaction();
  await p.send({ topic: 'client-txn', key: 'last', value: 'committed-last' });
  await p.commitTransaction();

  const committed = await consumeCk(broker.bootstrap, [{ topic: 'client-txn' }], { config: { 'isolation.level': 'read_committed' } });
  const values = committed.map((r) => r.value!).sort();
  assert.equal(values.filter((v) => v.startsWith('aborted')).length, 0, 'read_committed sees no aborted record');
  assert.equal(values.filter((v) => v.startsWith('committed')).length, 31);
  const uncommitted = await consumeCk(broker.bootstrap, [{ topic: 'client-txn' }], { config: { 'isolation.level': 'read_uncommitted' } });
  const abortedSeen = uncommitted.filter((r) => r.value!.startsWith('aborted')).length;
  assert.ok(abortedSeen <= 20, 'aborted records that reached the log are there once at most');

  const r = await py<{ offsets: Record<string, number> }>('ck', 'committed', { bootstrap: broker.bootstrap, group: 'client-txn-group', topic: 'client-txn-in', partitions: [0, 1] });
  assert.deepEqual(r.offsets, { '0': 42, '1': 7 });

  // The admin client reads the same offsets back and describes the (memberless) group.
  const admin = new Admin({ bootstrapServers: broker.bootstrap });
  try {
    const offsets = await admin.listGroupOffsets('client-txn-group');
    assert.deepEqual(offsets.map((o) => [o.topic, o.partition, o.offset]), [['client-txn-in', 0, 42n], ['client-txn-in', 1, 7n]]);
    const only1 = await admin.listGroupOffsets('client-txn-group', { topics: ['client-txn-in'] });
    assert.equal(only1.length, 2);
    const [g] = await admin.describeGroups(['client-txn-group']);
    assert.equal(g!.state, 'Empty');
    assert.deepEqual(g!.members, []);
    assert.ok((await admin.listGroups()).some((x) => x.groupId === 'client-txn-group'));
  } finally {
    await admin.close();
  }
});

test('a second producer with the same transactional id fences the first', { timeout: 120_000 }, async () => {
  const first = txProducer('client-txn-fence');
  await first.initTransactions();
  first.beginTransaction();
  await first.send({ topic: 'client-txn', key: 'f', value: 'before-fence' });
  const second = txProducer('client-txn-fence');
  await second.initTransactions(); // bumps the epoch; the coordinator aborts first's open transaction
  const fenced = (e: unknown): boolean => e instanceof KafkaError && (e.name === 'PRODUCER_FENCED' || e.name === 'INVALID_PRODUCER_EPOCH');
  await assert.rejects(
    (async () => {
      await first.send({ topic: 'client-txn', key: 'f', value: 'after-fence' });
      await first.commitTransaction();
    })(),
    (e: unknown) => fenced(e) || (e instanceof TransactionStateError && fenced((e as { cause?: unknown }).cause)),
  );
  assert.throws(() => first.beginTransaction());
  second.beginTransaction();
  await second.send({ topic: 'client-txn', key: 'f', value: 'from-second' });
  await second.commitTransaction();
});

test('the transaction API rejects calls out of order and bad config', { timeout: 60_000 }, async () => {
  const p = txProducer('client-txn-state');
  assert.throws(() => p.beginTransaction(), TransactionStateError);
  await assert.rejects(p.send({ topic: 'client-txn', value: 'x' }), TransactionStateError);
  await p.initTransactions();
  await assert.rejects(p.commitTransaction(), TransactionStateError);
  p.beginTransaction();
  assert.throws(() => p.beginTransaction(), TransactionStateError);
  await p.commitTransaction(); // empty: nothing to end on the broker
  const plain = new Producer({ bootstrapServers: broker.bootstrap });
  producers.push(plain);
  await assert.rejects(plain.initTransactions(), TransactionStateError);
  assert.throws(() => new Producer({ bootstrapServers: broker.bootstrap, transactionalId: 't', idempotent: false }), ConfigError);
  assert.throws(() => new Producer({ bootstrapServers: broker.bootstrap, transactionalId: '' }), ConfigError);
});
