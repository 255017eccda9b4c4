// Incremental fetch sessions (KIP-227) spoken directly: open, incremental fetches that answer only
// partitions with news, epochs checked, forgotten partitions dropped, closing a session.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  ErrorCode,
  FetchRequest,
  FetchResponse,
  ProduceRequest,
  ProduceResponse,
  decodeBatch,
  encodeBatch,
  splitBatches,
  recordsToBuffer,
} from '@fjord/protocol';
import { startBroker, type Broker } from '../harness/broker.js';
import { CodecConnection } from '../harness/codec-connection.js';

const V = 12;
let broker: Broker;
let c: CodecConnection;

before(async () => {
  broker = await startBroker();
  c = await CodecConnection.open(broker.host, broker.port);
  await c.createTopic('sessions', 2);
});
after(async () => {
  c?.close();
  await broker?.dispose();
});

async function produce(partition: number, values: string[]): Promise<void> {
  const records = encodeBatch({ records: values.map((v) => ({ value: v })) });
  const r = await c.request(ProduceRequest, ProduceResponse, 9, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 10_000,
    topicData: [{ name: 'sessions', partitionData: [{ index: partition, records }] }],
  });
  assert.equal(r.responses[0]!.partitionResponses[0]!.errorCode, 0);
}

function fetch(sessionId: number, sessionEpoch: number, partitions: Array<[number, bigint]>, forgotten: number[] = []): Promise<FetchResponse> {
  return c.request(FetchRequest, FetchResponse, V, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId,
    sessionEpoch,
    topics: partitions.length ? [{ topic: 'sessions', partitions: partitions.map(([partition, fetchOffset]) => ({ partition, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 })) }] : [],
    forgottenTopicsData: forgotten.length ? [{ topic: 'sessions', partitions: forgotten }] : [],
    rackId: '',
  });
}

/** partition -> values returned */
function values(r: FetchResponse): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const t of r.responses)
    for (const p of t.partitions) {
      const buf = recordsToBuffer(p.records) ?? Buffer.alloc(0);
      const vals: string[] = [];
      for (const span of buf.length ? splitBatches(buf) : []) for (const rec of decodeBatch(buf, span.pos).records) vals.push(rec.value!.toString());
      out.set(p.partitionIndex, vals);
    }
  return out;
}

test('a session answers only what changed, checks epochs, forgets and closes', async () => {
  await produce(0, ['a0', 'a1', 'a2']);
  await produce(1, ['b0', 'b1']);

  const full = await fetch(0, 0, [
    [0, 0n],
    [1, 0n],
  ]);
  assert.equal(full.errorCode, ErrorCode.NONE);
  const id = full.sessionId;
  assert.ok(id > 0, 'a new session id');
  assert.deepEqual(values(full), new Map([[0, ['a0', 'a1', 'a2']], [1, ['b0', 'b1']]]));

  // Epoch 1: the client moves its positions; nothing new, so nothing is answered. (Regression: the
  // broker once counted the session-creating fetch twice and refused epoch 1.)
  const quiet = await fetch(id, 1, [
    [0, 3n],
    [1, 2n],
  ]);
  assert.equal(quiet.errorCode, ErrorCode.NONE);
  assert.equal(quiet.sessionId, id);
  assert.equal(quiet.responses.length, 0, 'no partition has news');

  // Epoch 2: new data on partition 1 only; the request names no partition at all.
  await produce(1, ['b2']);
  const news = await fetch(id, 2, []);
  assert.deepEqual(values(news), new Map([[1, ['b2']]]));
  assert.equal(news.responses[0]!.partitions[0]!.highWatermark, 3n);

  // A repeated epoch is refused.
  const stale = await fetch(id, 2, []);
  assert.equal(stale.errorCode, ErrorCode.INVALID_FETCH_SESSION_EPOCH);

  // Epoch 3 forgets partition 1 (moving its position first would not matter): its data is no longer answered.
  const forget = await fetch(id, 3, [[0, 3n]], [1]);
  assert.equal(forget.errorCode, ErrorCode.NONE);
  await produce(1, ['b3']);
  await produce(0, ['a3']);
  const after3 = await fetch(id, 4, []);
  assert.deepEqual(values(after3), new Map([[0, ['a3']]]));

  // Closing (epoch -1) answers as a plain full fetch without a session; the id is gone afterwards.
  const closed = await fetch(id, -1, [[1, 3n]]);
  assert.equal(closed.sessionId, 0);
  assert.deepEqual(values(closed), new Map([[1, ['b3']]]));
  const gone = await fetch(id, 5, []);
  assert.equal(gone.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
});
