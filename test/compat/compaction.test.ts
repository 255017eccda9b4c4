// Acceptance: compaction observed on real segments. With cleanup.policy=compact, small segments, a low
// min.cleanable.dirty.ratio and a short cleaner backoff, the cleaner keeps the newest value of every key
// at its original offset, removes tombstones once delete.retention.ms has passed (and keeps them while it
// has not), and the files on disk shrink. kcat and confluent-kafka-python read the compacted log
// (with offset gaps) identically.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type Broker } from '../harness/broker.js';
import { kcatConsume } from '../harness/kcat.js';
import { consumeCk, createTopics, produceCk, watermarksCk } from '../harness/fixtures.js';
import { segments } from '../harness/datadir.js';
import { sleep, waitFor } from '../harness/util.js';
import type { ReadRecord, TestRecord } from '../harness/records.js';

const keys = 50;
const rounds = 30;
const tombstoned = 10; // k0..k9 are deleted
const pad = 'c'.repeat(200);
let broker: Broker;

before(async () => {
  broker = await startBroker({
    configs: { 'log.cleaner.backoff.ms': 200, 'log.retention.check.interval.ms': 300, 'log.segment.delete.delay.ms': 0 },
  });
}, { timeout: 180_000 });
after(async () => {
  await broker?.dispose();
}, { timeout: 180_000 });

/** Rounds of updates to k0..k49, then tombstones for k0..k9, then filler that rolls the segment past them. */
function workload(fillerTag: string, fillerCount: number): TestRecord[] {
  const out: TestRecord[] = [];
  for (let r = 0; r < rounds; r++) for (let k = 0; k < keys; k++) out.push({ key: `k${k}`, value: `k${k}-r${r}-${pad}`, headers: [['round', String(r)]], partition: 0 });
  for (let k = 0; k < tombstoned; k++) out.push({ key: `k${k}`, value: null, headers: [], partition: 0 });
  out.push(...filler(fillerTag, fillerCount));
  return out;
}
function filler(tag: string, n: number): TestRecord[] {
  return Array.from({ length: n }, (_, i) => ({ key: `${tag}${i}`, value: `${tag}${i}-${pad}`, headers: [], partition: 0 }));
}

const lastWrite = (k: number): number => (rounds - 1) * keys + k;
const tombstoneOffset = (k: number): number => rounds * keys + k;

function latestByKey(records: readonly ReadRecord[]): Map<string, ReadRecord[]> {
  const m = new Map<string, ReadRecord[]>();
  for (const r of records) {
    const list = m.get(r.key!) ?? [];
    list.push(r);
    m.set(r.key!, list);
  }
  return m;
}

/** True when every updated key is down to its newest value at its original offset. */
function compacted(records: readonly ReadRecord[]): boolean {
  const m = latestByKey(records);
  for (let k = tombstoned; k < keys; k++) {
    const list = m.get(`k${k}`);
    if (!list || list.length !== 1) return false;
  }
  return true;
}

/** For failure messages: which keys still have several records, and what the cleaner logged. */
async function duplicatesReport(topic: string): Promise<string> {
  const recs = await consumeCk(broker.bootstrap, [{ topic, partitions: [0] }]);
  const dups = [...latestByKey(recs)].filter(([, l]) => l.length > 1);
  const cleanerLines = broker.logs().split('\n').filter((l) => /clean/i.test(l)).slice(-10);
  return (
    `${recs.length} records read; ${dups.length} keys still have several records, e.g. ` +
    dups.slice(0, 3).map(([k, l]) => `${k} at ${l.map((r) => r.offset).join(',')}`).join('; ') +
    `\ncleaner log:\n${cleanerLines.join('\n')}`
  );
}

const segmentConfig = { 'cleanup.policy': 'compact', 'segment.bytes': '16384', 'min.cleanable.dirty.ratio': '0.01', 'min.compaction.lag.ms': '0' };

describe('compaction', () => {
  test('the newest value per key survives at its offset; tombstones go after delete.retention.ms', { timeout: 150_000 }, async () => {
    const topic = 'compact-short-tombstones';
    await createTopics(broker.bootstrap, [{ name: topic, config: { ...segmentConfig, 'delete.retention.ms': '1500' } }]);
    const written = workload('f', 200);
    await produceCk(broker.bootstrap, topic, written, { config: { 'batch.num.messages': 20, 'linger.ms': 0 } });
    // What the uncompacted log holds at least (keys and values alone); the cleaner may already be at work.
    const bytesBefore = written.reduce((n, r) => n + r.key!.length + (r.value?.length ?? 0), 0);

    const first = await waitFor('the cleaner to compact the updated keys', async () => {
      const recs = await consumeCk(broker.bootstrap, [{ topic, partitions: [0] }]);
      return compacted(recs) ? recs : undefined;
    }, { timeoutMs: 60_000, intervalMs: 1000 }).catch(async (e) => {
      throw new Error(`${(e as Error).message}\n${await duplicatesReport(topic)}`, { cause: e });
    });
    const m = latestByKey(first);
    for (let k = tombstoned; k < keys; k++) {
      const r = m.get(`k${k}`)![0]!;
      assert.equal(r.offset, lastWrite(k), `k${k} kept at its original offset`);
      assert.equal(r.value, `k${k}-r${rounds - 1}-${pad}`);
      assert.deepEqual(r.headers, [['round', String(rounds - 1)]]);
    }
    for (let i = 0; i < 200; i++) assert.equal(m.get(`f${i}`)?.length, 1, `unique key f${i} kept`);
    for (let k = 0; k < tombstoned; k++) {
      const list = m.get(`k${k}`) ?? [];
      assert.ok(list.every((r) => r.value === null), `k${k}: only the tombstone may remain, found ${JSON.stringify(list.map((r) => r.value?.slice(0, 12)))}`);
    }
    // Offsets stay as assigned: strictly increasing, high watermark unchanged.
    assert.ok(first.every((r, i) => i === 0 || r.offset > first[i - 1]!.offset));
    assert.deepEqual((await watermarksCk(broker.bootstrap, topic, [0]))[0]![1], written.length);

    // Past delete.retention.ms, new dirty data triggers another pass that drops the tombstones.
    await sleep(2000);
    await produceCk(broker.bootstrap, topic, filler('g', 200), { config: { 'batch.num.messages': 20, 'linger.ms': 0 } });
    const final = await waitFor('tombstones to be removed', async () => {
      const recs = await consumeCk(broker.bootstrap, [{ topic, partitions: [0] }]);
      const mm = latestByKey(recs);
      return Array.from({ length: tombstoned }, (_, k) => mm.get(`k${k}`)).every((l) => l === undefined) ? recs : undefined;
    }, { timeoutMs: 60_000, intervalMs: 1000 });
    assert.ok(compacted(final));
    const bytesAfter = (await segments(broker.dataDir, topic, 0)).reduce((n, s) => n + s.bytes, 0);
    assert.ok(bytesAfter < bytesBefore / 2, `segments on disk did not shrink: ${bytesBefore} -> ${bytesAfter} bytes`);

    // kcat reads the compacted log (with its offset gaps) exactly as librdkafka-python does.
    const viaKcat = await kcatConsume(broker.bootstrap, topic, { partition: 0 });
    const viaCk = await consumeCk(broker.bootstrap, [{ topic, partitions: [0] }]);
    assert.deepEqual(
      viaKcat.map((r) => [r.offset, r.key, r.value]),
      viaCk.map((r) => [r.offset, r.key, r.value]),
    );
  });

  test('tombstones stay while delete.retention.ms has not passed', { timeout: 150_000 }, async () => {
    const topic = 'compact-long-tombstones';
    await createTopics(broker.bootstrap, [{ name: topic, config: { ...segmentConfig, 'delete.retention.ms': '86400000' } }]);
    await produceCk(broker.bootstrap, topic, workload('f', 200), { config: { 'batch.num.messages': 20, 'linger.ms': 0 } });
    const recs = await waitFor('the cleaner to compact the updated keys', async () => {
      const r = await consumeCk(broker.bootstrap, [{ topic, partitions: [0] }]);
      return compacted(r) ? r : undefined;
    }, { timeoutMs: 60_000, intervalMs: 1000 }).catch(async (e) => {
      throw new Error(`${(e as Error).message}\n${await duplicatesReport(topic)}`, { cause: e });
    });
    await produceCk(broker.bootstrap, topic, filler('g', 200), { config: { 'batch.num.messages': 20, 'linger.ms': 0 } });
    await sleep(2000); // another cleaning pass has had its chance
    const after = latestByKey(await consumeCk(broker.bootstrap, [{ topic, partitions: [0] }]));
    for (let k = 0; k < tombstoned; k++) {
      const list = after.get(`k${k}`);
      assert.deepEqual(
        list?.map((r) => [r.offset, r.value]),
        [[tombstoneOffset(k), null]],
        `k${k}: exactly its tombstone remains (compacted at first pass: ${JSON.stringify(latestByKey(recs).get(`k${k}`)?.map((r) => r.offset))})`,
      );
    }
  });
});
