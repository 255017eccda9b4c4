// Topic configs that change what the broker stores, observed in the stored batches (raw Fetch) and
// through the clients: message.timestamp.type=LogAppendTime, compression.type (the broker recompresses),
// message.timestamp.after/before.max.ms (INVALID_TIMESTAMP); plus edge-case records (null and empty
// keys, values and header values, an empty header name) read back identically by three consumers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type Broker } from '../harness/broker.js';
import { kcatConsume } from '../harness/kcat.js';
import { py } from '../harness/python.js';
import { consumeCk, createTopics, produceCk, watermarksCk } from '../harness/fixtures.js';
import { diffRecords, expectLayout, makeRecords, type ReadRecord, type TestRecord } from '../harness/records.js';
import { batchesOf, encodeBatch, fetch, produce, withConnection, type BatchInfo } from '../harness/wire.js';

let broker: Broker;
const codecNumber = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;

before(async () => {
  broker = await startBroker();
  await createTopics(broker.bootstrap, [
    { name: 'tc-logappend', config: { 'message.timestamp.type': 'LogAppendTime' } },
    { name: 'tc-to-gzip', config: { 'compression.type': 'gzip' } },
    { name: 'tc-to-uncompressed', config: { 'compression.type': 'uncompressed' } },
    { name: 'tc-to-zstd', config: { 'compression.type': 'zstd' } },
    { name: 'tc-ts-bounds', config: { 'message.timestamp.after.max.ms': '60000', 'message.timestamp.before.max.ms': '3600000' } },
    { name: 'tc-edge' },
  ]);
}, { timeout: 180_000 });
after(async () => {
  await broker?.dispose();
}, { timeout: 180_000 });

async function storedBatches(topic: string): Promise<BatchInfo[]> {
  return withConnection(broker.host, broker.port, async (c) => {
    const f = await fetch(c, topic, 0, 0);
    assert.equal(f.errorCode, 0);
    return batchesOf(f.records);
  });
}

describe('topic configs that change stored batches', () => {
  test('message.timestamp.type=LogAppendTime: the broker stamps its time, CRC stays valid', { timeout: 60_000 }, async () => {
    const topic = 'tc-logappend';
    const records = makeRecords(300, { tag: topic, baseTimestamp: Date.now() - 3_600_000 }).map((r) => ({ ...r, partition: 0 }));
    const min = Date.now();
    await produceCk(broker.bootstrap, topic, records, { codec: 'gzip', config: { 'batch.num.messages': 50, 'linger.ms': 100 } });
    const max = Date.now();
    const batches = await storedBatches(topic);
    assert.ok(batches.length >= 2);
    for (const b of batches) {
      assert.ok(b.crcOk, `batch at ${b.baseOffset}: CRC invalid after the timestamp rewrite`);
      assert.ok(b.logAppendTime, `batch at ${b.baseOffset}: timestamp type attribute not set`);
      // librdkafka sends a batch uncompressed when gzip would not shrink it (a small batch under load).
      assert.ok(b.codec === codecNumber.gzip || b.codec === codecNumber.none, `batch at ${b.baseOffset}: codec ${b.codec}`);
      assert.ok(b.maxTimestamp >= min && b.maxTimestamp <= max, `batch at ${b.baseOffset}: max timestamp ${b.maxTimestamp} not in [${min}, ${max}]`);
    }
    assert.ok(batches.some((b) => b.codec === codecNumber.gzip), 'the producer codec is kept');
    const read = await consumeCk(broker.bootstrap, [{ topic, partitions: [0] }]);
    assert.deepEqual(diffRecords(expectLayout(records, 1, { timestamp: { min, max } }), read), []);
    // Consumers see the batch's append time on every record.
    const byBatch = new Map(batches.map((b) => [b.baseOffset, b.maxTimestamp]));
    let current = 0;
    for (const r of read) {
      if (byBatch.has(r.offset)) current = byBatch.get(r.offset)!;
      assert.equal(r.timestamp, current, `record ${r.offset}`);
    }
  });

  for (const [topic, from, to] of [
    ['tc-to-gzip', 'lz4', 'gzip'],
    ['tc-to-uncompressed', 'snappy', 'none'],
    ['tc-to-zstd', 'gzip', 'zstd'],
  ] as const) {
    test(`compression.type=${to === 'none' ? 'uncompressed' : to}: ${from} batches are stored as ${to} and read back exactly`, { timeout: 60_000 }, async () => {
      const records = makeRecords(400, { tag: topic, baseTimestamp: Date.now() - 60_000 }).map((r) => ({ ...r, partition: 0 }));
      // kafka-python as the producer: librdkafka would not use lz4 with this broker (see roundtrip.test.ts).
      const res = await py('kp', 'produce', { bootstrap: broker.bootstrap, topic, records, codec: from });
      assert.deepEqual(res.deliveries.filter((d: { error: unknown }) => d.error !== null), []);
      const batches = await storedBatches(topic);
      assert.ok(batches.length > 0);
      assert.deepEqual([...new Set(batches.map((b) => b.codec))], [codecNumber[to]], 'stored codec');
      assert.ok(batches.every((b) => b.crcOk), 'CRC of rewritten batches');
      const expected = expectLayout(records, 1);
      assert.deepEqual(diffRecords(expected, await consumeCk(broker.bootstrap, [{ topic, partitions: [0] }])), [], 'confluent-kafka-python');
      const kp = await py<{ records: ReadRecord[] }>('kp', 'consume', { bootstrap: broker.bootstrap, assign: [{ topic, partitions: [0] }] });
      assert.deepEqual(diffRecords(expected, kp.records), [], 'kafka-python');
    });
  }

  test('message.timestamp.after/before.max.ms: out-of-bounds CreateTime is INVALID_TIMESTAMP, no offset used', { timeout: 60_000 }, async () => {
    const topic = 'tc-ts-bounds';
    await withConnection(broker.host, broker.port, async (c) => {
      const send = async (ts: number) => (await produce(c, topic, [{ partition: 0, records: encodeBatch([{ key: 'k', value: String(ts) }], { baseTimestamp: ts }) }]))[0]!;
      const now = Date.now();
      assert.equal((await send(now)).errorCode, 0);
      const future = await send(now + 2 * 3_600_000);
      assert.equal(future.errorCode, 32, `2 h ahead: ${JSON.stringify(future)}`);
      const past = await send(now - 2 * 3_600_000);
      assert.equal(past.errorCode, 32, `2 h behind: ${JSON.stringify(past)}`);
      const ok = await send(now - 1000);
      assert.equal(ok.errorCode, 0);
      assert.equal(ok.baseOffset, 1, 'refused batches use no offset');
    });
    assert.deepEqual((await watermarksCk(broker.bootstrap, topic, [0]))[0], [0, 2]);
  });
});

describe('edge-case records', () => {
  const topic = 'tc-edge';
  const records: TestRecord[] = [
    { key: null, value: 'null key', headers: [] },
    { key: '', value: '', headers: [] },
    { key: 'empty value', value: '', headers: [] },
    { key: 'null value', value: null, headers: [] },
    { key: 'null header value', value: 'v', headers: [['h', null], ['h2', '']] },
    { key: 'empty header name', value: 'v', headers: [['', 'no name']] },
    { key: 'ключ', value: 'värde 🙂 \u0000 nul inside', headers: [['ä', 'ö']] },
  ].map((r, i) => ({ ...r, partition: 0, timestamp: 1_700_000_000_000 + i }) as TestRecord);

  before(async () => {
    await produceCk(broker.bootstrap, topic, records);
  }, { timeout: 60_000 });

  const expected = expectLayout(records, 1);
  test('confluent-kafka-python reads them exactly', { timeout: 60_000 }, async () => {
    assert.deepEqual(diffRecords(expected, await consumeCk(broker.bootstrap, [{ topic, partitions: [0] }])), []);
  });
  test('kafka-python reads them exactly', { timeout: 60_000 }, async () => {
    const r = await py<{ records: ReadRecord[] }>('kp', 'consume', { bootstrap: broker.bootstrap, assign: [{ topic, partitions: [0] }] });
    assert.deepEqual(diffRecords(expected, r.records), []);
  });
  test('kcat reads them exactly', { timeout: 60_000 }, async () => {
    assert.deepEqual(diffRecords(expected, await kcatConsume(broker.bootstrap, topic, { partition: 0 })), []);
  });
});
