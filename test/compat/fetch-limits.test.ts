// Fetch byte limits spoken directly: partitionMaxBytes per partition, maxBytes per response, and
// KIP-74 — only the first partition (in request order) with data gets a batch larger than its
// limit, whole. Covers both ways the broker reads: all partitions at once (their limits together
// fit in maxBytes) and in turn (they do not). Also the long poll at the log end: it waits for the
// append, and a partition with an error there is answered at once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  FetchRequest,
  FetchResponse,
  ProduceRequest,
  ProduceResponse,
  encodeBatch,
  recordsToBuffer,
  splitBatches,
} from '@fjord/protocol';
import { startBroker, type Broker } from '../harness/broker.js';
import { CodecConnection } from '../harness/codec-connection.js';

const topic = 'limits';
let broker: Broker;
let c: CodecConnection;

before(async () => {
  broker = await startBroker();
  c = await CodecConnection.open(broker.host, broker.port);
  await c.createTopic(topic, 3);
  // Each partition: one 3,000-byte batch (offset 0), then ten small batches (offsets 1-10).
  for (let p = 0; p < 3; p++) {
    await produce(p, [`big-${p}-`.padEnd(3000, 'x')]);
    for (let i = 0; i < 10; i++) await produce(p, [`small-${p}-${i}`]);
  }
});
after(async () => {
  c?.close();
  await broker?.dispose();
});

async function produce(partition: number, values: string[]): Promise<void> {
  const r = await c.request(ProduceRequest, ProduceResponse, 9, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 10_000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records: encodeBatch({ records: values.map((v) => ({ value: v })) }) }] }],
  });
  assert.equal(r.responses[0]!.partitionResponses[0]!.errorCode, 0);
}

/** partition -> [batch base offsets, bytes] of the answer, for partitions asked in this order. */
async function fetch(partitions: Array<[number, bigint]>, partitionMaxBytes: number, maxBytes: number): Promise<Map<number, { bases: bigint[]; bytes: number }>> {
  const r = await c.request(FetchRequest, FetchResponse, 12, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic, partitions: partitions.map(([partition, fetchOffset]) => ({ partition, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes })) }],
    forgottenTopicsData: [],
    rackId: '',
  });
  const out = new Map<number, { bases: bigint[]; bytes: number }>();
  for (const t of r.responses) {
    for (const p of t.partitions) {
      assert.equal(p.errorCode, 0);
      const buf = recordsToBuffer(p.records) ?? Buffer.alloc(0);
      out.set(p.partitionIndex, { bases: buf.length ? splitBatches(buf).map((s) => s.header.baseOffset) : [], bytes: buf.length });
    }
  }
  return out;
}

for (const [how, maxBytes] of [
  ['all partitions at once', 1 << 20],
  ['in turn', 2_500],
] as const) {
  test(`KIP-74: only the first partition with data gets its oversized batch (${how})`, async () => {
    // Every partition starts with a 3,000-byte batch over the 1,000-byte partition limit.
    let r = await fetch([[0, 0n], [1, 0n], [2, 0n]], 1_000, maxBytes);
    assert.deepEqual(r.get(0)!.bases, [0n], 'partition 0 (first with data) gets its big batch whole');
    assert.ok(r.get(0)!.bytes > 3_000);
    assert.deepEqual(r.get(1)!.bases, [], 'partition 1 gets nothing: not first, batch over its limit');
    assert.deepEqual(r.get(2)!.bases, []);

    // Partition 1 asked first: it is now the one; partition 0 (asked second) gets nothing.
    r = await fetch([[1, 0n], [0, 0n], [2, 0n]], 1_000, maxBytes);
    assert.deepEqual(r.get(1)!.bases, [0n]);
    assert.deepEqual(r.get(0)!.bases, []);
    assert.deepEqual(r.get(2)!.bases, []);

    // Partition 0 past its big batch returns small ones (within 1,000 bytes) and is the first with
    // data; partition 2's big batch then does not come.
    r = await fetch([[0, 1n], [2, 0n]], 1_000, maxBytes);
    assert.ok(r.get(0)!.bases.length >= 5 && r.get(0)!.bases[0] === 1n, `partition 0: ${r.get(0)!.bases}`);
    assert.ok(r.get(0)!.bytes <= 1_000);
    assert.deepEqual(r.get(2)!.bases, []);

    // A partition at its end has nothing: the next one, with its big batch first, is the first with data.
    r = await fetch([[0, 11n], [2, 0n]], 1_000, maxBytes);
    assert.deepEqual(r.get(0)!.bases, []);
    assert.deepEqual(r.get(2)!.bases, [0n]);
  });
}

test('maxBytes bounds the whole answer: later partitions get what is left', async () => {
  // Small batches only (from offset 1), partition limit 1 MiB: 2,500 bytes in all.
  const r = await fetch([[0, 1n], [1, 1n], [2, 1n]], 1 << 20, 1_500);
  const total = [...r.values()].reduce((n, x) => n + x.bytes, 0);
  assert.ok(total <= 1_500, `answer of ${total} bytes`);
  assert.equal(r.get(0)!.bases.length, 10, 'partition 0 returns all ten small batches');
  assert.ok(r.get(1)!.bases.length > 0 && r.get(1)!.bases.length < 10, `partition 1 gets the rest of the budget: ${r.get(1)!.bases.length} batches`);
  assert.deepEqual(r.get(2)!.bases, []);
});

/** A long poll (minBytes 1, maxWaitMs 10 s) of partitions 0 and 1 at `offsets`; its answer and how long it took. */
async function longPoll(offsets: [bigint, bigint], currentLeaderEpoch = -1): Promise<{ ms: number; parts: Map<number, { errorCode: number; bytes: number }> }> {
  const t0 = performance.now();
  const r = await c.request(FetchRequest, FetchResponse, 12, {
    replicaId: -1,
    maxWaitMs: 10_000,
    minBytes: 1,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic, partitions: offsets.map((fetchOffset, partition) => ({ partition, currentLeaderEpoch, fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 })) }],
    forgottenTopicsData: [],
    rackId: '',
  });
  const parts = new Map<number, { errorCode: number; bytes: number }>();
  for (const p of r.responses[0]!.partitions) parts.set(p.partitionIndex, { errorCode: p.errorCode, bytes: recordsToBuffer(p.records)?.length ?? 0 });
  return { ms: performance.now() - t0, parts };
}

test('a long poll at the log end waits for the append; one with an error at the log end answers at once', async () => {
  const end = async (p: number): Promise<bigint> => (await fetch([[p, 0n]], 1 << 20, 1 << 20)).get(p)!.bases.at(-1)! + 1n;
  const ends: [bigint, bigint] = [await end(0), await end(1)];
  // Errors are answered at once, not after maxWaitMs: a leader epoch newer than the broker's, an offset past the end.
  let r = await longPoll(ends, 1_000);
  assert.equal(r.parts.get(0)!.errorCode, 75, 'UNKNOWN_LEADER_EPOCH');
  assert.ok(r.ms < 5_000, `answered after ${Math.round(r.ms)} ms`);
  r = await longPoll([ends[0], ends[1] + 1n]);
  assert.equal(r.parts.get(1)!.errorCode, 1, 'OFFSET_OUT_OF_RANGE');
  assert.ok(r.ms < 5_000, `answered after ${Math.round(r.ms)} ms`);
  // At the end of both: the answer comes with the append to partition 1 (made on another connection).
  const other = await CodecConnection.open(broker.host, broker.port);
  try {
    const polling = longPoll(ends);
    await new Promise((res) => setTimeout(res, 200));
    const p = await other.request(ProduceRequest, ProduceResponse, 9, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 10_000,
      topicData: [{ name: topic, partitionData: [{ index: 1, records: encodeBatch({ records: [{ value: 'late' }] }) }] }],
    });
    assert.equal(p.responses[0]!.partitionResponses[0]!.errorCode, 0);
    r = await polling;
    assert.ok(r.ms < 5_000, `answered after ${Math.round(r.ms)} ms`);
    assert.equal(r.parts.get(0)!.bytes, 0);
    assert.ok(r.parts.get(1)!.bytes > 0, 'partition 1 returns the new batch');
  } finally {
    other.close();
  }
});
