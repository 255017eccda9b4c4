import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ErrorCode, decodeBatch, readBatchHeader, type ProduceRequest } from '@fjord/protocol';
import { serializers } from '../serializers.js';
import { InvalidRecordError } from './producer.js';
import { startFakeBroker, type FakeBroker, type FakeRequest } from '../test-support/fake-broker.js';
import { Producer } from './producer.js';
import type { ProducerConfig } from './config.js';

const brokers: FakeBroker[] = [];
const producers: Array<{ close(options?: { timeoutMs?: number }): Promise<void> }> = [];
after(async () => {
  for (const p of producers) await p.close({ timeoutMs: 100 });
  for (const b of brokers) await b.close();
});

interface Seen {
  partition: number;
  baseSequence: number;
  count: number;
  producerId: bigint;
}

/**
 * A partition log with Kafka's sequence checks: a batch is appended only with the next expected
 * sequence; a lower one is a duplicate (answered with its original offset), a higher one is
 * OUT_OF_ORDER_SEQUENCE_NUMBER. `fail(seen)` may return an error code to answer instead, before appending.
 */
function sequencedLog(fail: (s: Seen, attempt: number) => number) {
  const next = new Map<number, number>();
  const offsets = new Map<string, bigint>();
  const logEnd = new Map<number, bigint>();
  const attempts = new Map<string, number>();
  const seen: Seen[] = [];
  return {
    seen,
    handle(req: FakeRequest): unknown {
      if (req.apiKey !== 0) return undefined;
      const body = req.body as ProduceRequest;
      return {
        responses: body.topicData.map((t) => ({
          name: t.name,
          topicId: t.topicId,
          partitionResponses: t.partitionData.map((p) => {
            const h = readBatchHeader(p.records as Buffer);
            const s = { partition: p.index, baseSequence: h.baseSequence, count: h.recordsCount, producerId: h.producerId };
            seen.push(s);
            const key = `${p.index}/${h.baseSequence}`;
            const attempt = (attempts.get(key) ?? 0) + 1;
            attempts.set(key, attempt);
            const injected = fail(s, attempt);
            const expected = next.get(p.index) ?? 0;
            const result = (errorCode: number, baseOffset = -1n) => ({ index: p.index, errorCode, baseOffset, logAppendTimeMs: -1n, logStartOffset: 0n, recordErrors: [], errorMessage: null });
            if (injected !== 0) return result(injected);
            if (h.baseSequence < expected) return result(0, offsets.get(key) ?? -1n);
            if (h.baseSequence > expected) return result(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
            const base = logEnd.get(p.index) ?? 0n;
            offsets.set(key, base);
            logEnd.set(p.index, base + BigInt(h.recordsCount));
            next.set(p.index, expected + h.recordsCount);
            return result(0, base);
          }),
        })),
      };
    },
  };
}

/** A scripted broker answering Produce with `log`, and a producer connected to it; both are closed after the tests. */
async function producerOn(log: ReturnType<typeof sequencedLog>, topics: Record<string, number>, config: Omit<ProducerConfig, 'bootstrapServers'>): Promise<{ broker: FakeBroker; p: Producer }> {
  const broker = await startFakeBroker({ topics, handle: (r) => log.handle(r) });
  brokers.push(broker);
  const p = new Producer({ bootstrapServers: broker.bootstrap, ...config });
  producers.push(p);
  await p.connect();
  return { broker, p };
}

describe('producer against a scripted broker', () => {
  it('retries keep order: a failed batch and the ones behind it are resent in sequence order with their original sequences', async () => {
    const log = sequencedLog((s, attempt) => (s.baseSequence === 0 && attempt === 1 ? ErrorCode.NOT_LEADER_OR_FOLLOWER : 0));
    // One record per batch and no linger, so several batches of the partition are in flight at once.
    const { broker, p } = await producerOn(log, { t: 1 }, { lingerMs: 0, batchBytes: 100, batchMaxBytes: 100, retryBackoffMs: 5, retryBackoffMaxMs: 5 });
    const metas = await Promise.all(Array.from({ length: 8 }, (_, i) => p.send({ topic: 't', value: `v${i}`, partition: 0 })));
    assert.deepEqual(metas.map((m) => m.offset), [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n], 'offsets follow send order');
    const firsts = log.seen.filter((s) => s.baseSequence === 0);
    assert.ok(firsts.length >= 2, 'the first batch was retried');
    assert.ok(log.seen.some((s) => s.baseSequence > 0 && log.seen.indexOf(s) < log.seen.lastIndexOf(firsts.at(-1)!)), 'later batches were in flight when it failed');
    assert.ok(log.seen.every((s) => s.producerId === 7n && s.count === 1));
    assert.ok(broker.requests.filter((r) => r.apiKey === 3).length >= 2, 'NOT_LEADER_OR_FOLLOWER refreshed the metadata');
  });

  it('an acknowledged batch resent after a lost response is answered as a duplicate, not written twice', async () => {
    let dropped = false;
    const log = sequencedLog(() => 0);
    const broker = await startFakeBroker({
      topics: { t: 2 },
      handle: (r) => {
        const res = log.handle(r);
        // The first produce is appended but never answered: the request times out, the
        // connection is dropped, and the producer resends the same batch.
        if (r.apiKey === 0 && !dropped) {
          dropped = true;
          return undefined;
        }
        return res;
      },
    });
    brokers.push(broker);
    const p = new Producer({ bootstrapServers: broker.bootstrap, lingerMs: 0, retryBackoffMs: 5, retryBackoffMaxMs: 5, reconnectBackoffMs: 5, reconnectBackoffMaxMs: 10, requestTimeoutMs: 300, deliveryTimeoutMs: 10_000 });
    producers.push(p);
    await p.connect();
    const meta = await p.send({ topic: 't', value: 'once', partition: 1 });
    assert.equal(meta.offset, 0n, 'the duplicate is answered with the original offset');
    const sends = log.seen.filter((s) => s.partition === 1);
    assert.deepEqual(sends.map((s) => s.baseSequence), [0, 0], 'sent twice with the same sequence, appended once');
  });

  it('after a fatal sequence error, batches already sent once are renumbered under the new producer id and written', async () => {
    // Sequence 0 is refused as out of order although nothing was acknowledged: the producer cannot
    // repair that, fails that batch, takes a new producer id and resends the two behind it from 0.
    const log = sequencedLog((s, attempt) => (s.baseSequence === 0 && attempt === 1 && s.count === 1 && log.seen.length === 1 ? ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER : 0));
    const { broker, p } = await producerOn(log, { t: 1 }, { lingerMs: 0, batchBytes: 100, batchMaxBytes: 100, retryBackoffMs: 5, retryBackoffMaxMs: 5 });
    const results = await Promise.allSettled(['a', 'b', 'c'].map((v) => p.send({ topic: 't', value: v, partition: 0 })));
    assert.equal(results[0]!.status, 'rejected');
    assert.deepEqual(results.slice(1).map((r) => (r.status === 'fulfilled' ? r.value.offset : r.reason)), [0n, 1n], 'b and c written, in order');
    assert.equal(broker.requests.filter((r) => r.apiKey === 22).length, 2, 'a second InitProducerId');
    const appended = log.seen.slice(-2);
    assert.deepEqual(appended.map((s) => s.baseSequence), [0, 1], 'renumbered from 0 (the resent bytes carry the new sequences)');
  });

  it('a batch refused as too large is split and resent, keeping order and sequence numbers', async () => {
    // The "topic" takes at most 2 records per batch; the producer batches 8.
    const log = sequencedLog((s) => (s.count > 2 ? ErrorCode.MESSAGE_TOO_LARGE : 0));
    const { p } = await producerOn(log, { t: 1 }, { lingerMs: 50, retryBackoffMs: 5, retryBackoffMaxMs: 5 });
    const metas = await Promise.all(Array.from({ length: 8 }, (_, i) => p.send({ topic: 't', value: `v${i}`, partition: 0 })));
    assert.deepEqual(metas.map((m) => m.offset), [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n], 'every record written once, in send order');
    assert.equal(log.seen[0]!.count, 8, 'first sent as one batch');
    const written = log.seen.filter((s) => s.count <= 2);
    assert.deepEqual(written.map((s) => s.baseSequence), [0, 2, 4, 6], 'halves carry the original sequence range');
    assert.equal(p.bufferedBytes, 0, 'the buffer reservation is released in full');
  });

  it('sendBatch() records go out without lingerMs, one batch per partition; send() still lingers', async () => {
    const log = sequencedLog(() => 0);
    const { p } = await producerOn(log, { t: 2 }, { lingerMs: 60_000 });
    const within = <T>(what: string, ms: number, promise: Promise<T>) =>
      Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms).unref())]);
    const records = [0, 1, 0, 1, 0].map((partition, i) => ({ topic: 't', partition, value: `v${i}` }));
    const metas = await within('sendBatch', 10_000, p.sendBatch(records));
    assert.deepEqual(metas.map((m) => [m.partition, m.offset]), [[0, 0n], [1, 0n], [0, 1n], [1, 1n], [0, 2n]]);
    assert.deepEqual(log.seen.map((s) => [s.partition, s.count]).sort(), [[0, 3], [1, 2]], 'the call\'s records of a partition travel as one batch');
    let lingered = true;
    const single = p.send({ topic: 't', partition: 0, value: 'alone' }).finally(() => (lingered = false));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(lingered, true, 'a send() waits for lingerMs (or a flush)');
    await p.flush();
    assert.equal((await single).offset, 3n);
  });

  it('a sendBatch() call fills its batches up to batchMaxBytes, at acks=all and at acks=1', async () => {
    const batchesOf = async (acks: 1 | 'all', batchMaxBytes: number) => {
      const log = sequencedLog(() => 0);
      const { p } = await producerOn(log, { t: 1 }, { acks, batchBytes: 1000, batchMaxBytes });
      // 20 records of ~220 bytes: 4.4 KB for partition 0, over batchBytes.
      await p.sendBatch(Array.from({ length: 20 }, (_, i) => ({ topic: 't', partition: 0, value: Buffer.alloc(200, i) })));
      return log.seen.map((s) => s.count);
    };
    assert.deepEqual(await batchesOf('all', 100_000), [20], 'acks=all: one batch');
    assert.deepEqual(await batchesOf(1, 100_000), [20], 'acks=1: one batch, not a first one closed at batchBytes');
    const capped = await batchesOf(1, 2000);
    assert.equal(capped.reduce((a, b) => a + b, 0), 20);
    assert.ok(capped.length >= 3 && capped.every((n) => n <= 9), `batches stop at batchMaxBytes (${capped.join(', ')})`);
  });

  it('at acks=1 a batch waiting behind the in-flight limit is sent before the call ahead of it resolves', async () => {
    const log = sequencedLog(() => 0);
    // Not idempotent: one batch in flight per partition.
    const { p } = await producerOn(log, { t: 1 }, { acks: 1 });
    const queue = () => (p as unknown as { queues: Array<{ inFlight: unknown[]; queued: unknown[] }> }).queues[0]!;
    let atResolve: [number, number] | undefined;
    const first = p.sendBatch([{ topic: 't', partition: 0, value: 'a' }]).then(() => (atResolve = [queue().inFlight.length, queue().queued.length]));
    await new Promise((r) => setImmediate(r)); // the first call's batch is sent
    assert.equal(queue().inFlight.length, 1);
    const second = p.sendBatch([{ topic: 't', partition: 0, value: 'b' }]);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual([queue().inFlight.length, queue().queued.length], [1, 1], 'the second call waits behind the first');
    await first;
    assert.deepEqual(atResolve, [1, 0], 'when the first call resolves, the second call\'s batch is already in flight');
    await second;
    assert.deepEqual(log.seen.map((x) => x.count), [1, 1], 'one request each');
  });

  it('the buffer of a batch sent once and acknowledged is reused by a later batch; a retried batch\'s is not', async () => {
    const log = sequencedLog((s, attempt) => (s.baseSequence === 20 && attempt === 1 ? ErrorCode.NOT_LEADER_OR_FOLLOWER : 0));
    const received: string[] = [];
    const broker = await startFakeBroker({
      topics: { t: 1 },
      handle: (r) => {
        if (r.apiKey === 0) for (const t of (r.body as ProduceRequest).topicData) for (const p of t.partitionData) for (const rec of decodeBatch(p.records as Buffer).records) received.push(rec.value!.toString());
        return log.handle(r);
      },
    });
    brokers.push(broker);
    const p = new Producer({ bootstrapServers: broker.bootstrap, lingerMs: 0, retryBackoffMs: 5, retryBackoffMaxMs: 5 });
    producers.push(p);
    const spares = () => (p as unknown as { spareBuffers: { size: number } }).spareBuffers.size;
    await p.connect();
    // One at a time: each batch is acknowledged before the next starts, so each takes the buffer
    // the one before gave back, and one spare is left at the end. Values of varying lengths, so a
    // reused buffer holds longer bytes of an earlier batch behind the new ones.
    const sent: string[] = [];
    for (let i = 0; i < 20; i++) {
      sent.push(`${i}:`.padEnd(1 + ((i * 37) % 300), 'abcdefgh'.at(i % 8)!));
      await p.send({ topic: 't', value: sent.at(-1)!, partition: 0 });
    }
    assert.equal(spares(), 1, 'one buffer went round');
    assert.deepEqual(received, sent, 'every request carried exactly the records sent');
    // Sequence 20 fails once and is resent: its buffer stays with it.
    await p.send({ topic: 't', value: 'retried', partition: 0 });
    assert.equal(spares(), 0, 'the retried batch took the spare and did not give it back');
    assert.deepEqual(received.slice(20), ['retried', 'retried']);
  });

  it('spare batch buffers and unacknowledged records together stay within bufferMemoryBytes', async () => {
    const limit = 64 * 1024;
    const { p } = await producerOn(sequencedLog(() => 0), { t: 4 }, { lingerMs: 0, batchBytes: 16 * 1024, bufferMemoryBytes: limit });
    const spareBytes = () => (p as unknown as { spareBuffers: { spareBytes: number } }).spareBuffers.spareBytes;
    const value = Buffer.alloc(900, 1);
    let peak = 0;
    const sends: Array<Promise<unknown>> = [];
    for (let i = 0; i < 2000; i++) {
      await p.ready(1000);
      sends.push(p.send({ topic: 't', partition: i % 4, value }));
      peak = Math.max(peak, p.bufferedBytes + spareBytes());
    }
    await Promise.all(sends);
    assert.ok(spareBytes() > 0, 'acknowledged batches left buffers to reuse');
    assert.ok(peak <= limit, `reserved + spare bytes peaked at ${peak}, over bufferMemoryBytes ${limit}`);
  });

  it('serializers: keys and values go through keySerializer / valueSerializer; a throwing one is an InvalidRecordError', async () => {
    const log = sequencedLog(() => 0);
    const batches: Buffer[] = [];
    const broker = await startFakeBroker({
      topics: { t: 1 },
      handle: (r) => {
        if (r.apiKey === 0) for (const t of (r.body as ProduceRequest).topicData) for (const p of t.partitionData) batches.push(p.records as Buffer);
        return log.handle(r);
      },
    });
    brokers.push(broker);
    const p = new Producer<number, { page: string } | null>({
      bootstrapServers: broker.bootstrap,
      keySerializer: (k) => Buffer.from(`user-${k}`),
      valueSerializer: serializers.json,
    });
    producers.push(p);
    await p.send({ topic: 't', key: 7, value: { page: '/home' } });
    await p.send({ topic: 't', key: 8, value: null });
    const records = batches.flatMap((b) => decodeBatch(b).records);
    assert.deepEqual(records.map((r) => [r.key?.toString(), r.value?.toString() ?? null]), [['user-7', '{"page":"/home"}'], ['user-8', null]]);
    const bad = new Producer<string, bigint>({ bootstrapServers: broker.bootstrap, valueSerializer: serializers.json as never });
    producers.push(bad);
    await assert.rejects(bad.send({ topic: 't', value: 1n }), (e: unknown) => e instanceof InvalidRecordError && /valueSerializer failed/.test(e.message));
  });

  it('a serializer or partitioner that sends from inside send() does not disturb the record being sent', async () => {
    const batches: Buffer[] = [];
    const log = sequencedLog(() => 0);
    const broker = await startFakeBroker({
      topics: { t: 2, audit: 1 },
      handle: (r) => {
        if (r.apiKey === 0) for (const t of (r.body as ProduceRequest).topicData) for (const pd of t.partitionData) batches.push(pd.records as Buffer);
        return log.handle(r);
      },
    });
    brokers.push(broker);
    const inner: Promise<unknown>[] = [];
    // The metadata is loaded first so that the outer sends take the synchronous path, where the
    // producer reuses one prepared-record object: the inner sends must not overwrite it.
    const p: Producer<string, string> = new Producer<string, string>({
      bootstrapServers: broker.bootstrap,
      lingerMs: 0,
      valueSerializer: (v, topic) => {
        if (topic === 't') inner.push(p.send({ topic: 'audit', key: `k-${v}`, value: `serialized ${v}`, partition: 0 }));
        return Buffer.from(v);
      },
      keySerializer: (k) => Buffer.from(k),
      partitioner: ({ topic, value }) => {
        if (topic === 't') inner.push(p.send({ topic: 'audit', key: 'p', value: `partitioned ${String(value)}`, partition: 0 }));
        return topic === 't' ? 1 : undefined;
      },
    });
    producers.push(p);
    await p.connect();
    await p.send({ topic: 'audit', value: 'warm-up', partition: 0 });
    const metas = await Promise.all([p.send({ topic: 't', key: 'a', value: 'one' }), p.send({ topic: 't', key: 'b', value: 'two' })]);
    await Promise.all(inner);
    assert.deepEqual(metas.map((m) => [m.topic, m.partition]), [['t', 1], ['t', 1]]);
    const records = batches.flatMap((b) => decodeBatch(b).records.map((r) => [r.key?.toString() ?? null, r.value?.toString()]));
    const main = records.filter(([, v]) => v === 'one' || v === 'two');
    assert.deepEqual(main, [['a', 'one'], ['b', 'two']], 'each outer record keeps its own key and value');
    assert.deepEqual(
      records.filter(([, v]) => v !== 'one' && v !== 'two' && v !== 'warm-up').sort(),
      [['k-one', 'serialized one'], ['k-two', 'serialized two'], ['p', 'partitioned one'], ['p', 'partitioned two']],
      'and every inner send arrived whole',
    );
  });
});
