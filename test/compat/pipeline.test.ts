// Pipelining and backpressure on one connection: many requests written at once are answered in
// request order (acks=0 produces answered by nobody), appends land in request order, and a client
// that stops reading makes the broker stop reading it without hurting other connections.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import {
  ApiVersionsRequest,
  CreateTopicsRequest,
  CreateTopicsResponse,
  FetchRequest,
  ListOffsetsRequest,
  ListOffsetsResponse,
  MetadataRequest,
  ProduceRequest,
  ProduceResponse,
  Reader,
  encodeBatch,
  encodeRequestFrame,
  decodeResponseHeader,
} from '@fjord/protocol';
import { startBroker, type Broker } from '../harness/broker.js';
import { CodecConnection } from '../harness/codec-connection.js';
import { sleep, waitFor } from '../harness/util.js';

let broker: Broker;
before(async () => {
  broker = await startBroker({ configs: { 'queued.max.requests': 16 } });
  const c = await CodecConnection.open(broker.host, broker.port);
  const r = await c.request(CreateTopicsRequest, CreateTopicsResponse, 7, {
    topics: [{ name: 'pipe', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  assert.equal(r.topics[0]!.errorCode, 0);
  c.close();
});
after(async () => broker?.dispose());

function openSocket(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: broker.host, port: broker.port }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Collects whole response frames from a socket. */
function frames(s: Socket): { list: Buffer[] } {
  const out = { list: [] as Buffer[] };
  let pending = Buffer.alloc(0);
  s.on('data', (d: Buffer) => {
    pending = Buffer.concat([pending, d]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
      const size = pending.readInt32BE(0);
      out.list.push(pending.subarray(4, 4 + size));
      pending = pending.subarray(4 + size);
    }
  });
  return out;
}

test('300 pipelined requests are answered in order; appends keep request order', async () => {
  const s = await openSocket();
  const got = frames(s);
  const expected: Array<{ cid: number; apiKey: number; version: number; records?: number }> = [];
  const chunks: Buffer[] = [];
  for (let i = 0; i < 300; i++) {
    const cid = 1000 + i;
    const kind = i % 5;
    if (kind === 0) {
      chunks.push(...encodeRequestFrame(3, cid, 'pipe', ApiVersionsRequest, { clientSoftwareName: 'fjord-test', clientSoftwareVersion: '1' }));
      expected.push({ cid, apiKey: ApiVersionsRequest.apiKey, version: 3 });
    } else if (kind === 1) {
      chunks.push(...encodeRequestFrame(12, cid, 'pipe', MetadataRequest, { topics: [{ topicId: undefined as never, name: 'pipe' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }));
      expected.push({ cid, apiKey: MetadataRequest.apiKey, version: 12 });
    } else {
      const acks = kind === 4 ? 0 : kind === 3 ? -1 : 1;
      const n = 1 + (i % 7);
      const records = encodeBatch({ records: Array.from({ length: n }, (_, j) => ({ key: `k${i}`, value: `request ${i} record ${j}`, timestamp: BigInt(Date.now()) })) });
      chunks.push(...encodeRequestFrame(9, cid, 'pipe', ProduceRequest, { transactionalId: null, acks, timeoutMs: 10_000, topicData: [{ name: 'pipe', partitionData: [{ index: 0, records }] }] }));
      if (acks !== 0) expected.push({ cid, apiKey: ProduceRequest.apiKey, version: 9, records: n });
    }
  }
  s.write(Buffer.concat(chunks));
  await waitFor('all responses', () => got.list.length >= expected.length, { timeoutMs: 30_000 });
  await sleep(200);
  assert.equal(got.list.length, expected.length, 'acks=0 produces get no response');
  let lastBase = -1n;
  got.list.forEach((frame, i) => {
    const e = expected[i]!;
    assert.equal(frame.readInt32BE(0), e.cid, `response ${i} answers request ${e.cid}`);
    if (e.apiKey === ProduceRequest.apiKey) {
      const { bodyOffset } = decodeResponseHeader(frame, e.apiKey, e.version);
      const res = ProduceResponse.decode(new Reader(frame, bodyOffset), e.version);
      const p = res.responses[0]!.partitionResponses[0]!;
      assert.equal(p.errorCode, 0);
      assert.ok(p.baseOffset > lastBase, `offsets follow request order (${p.baseOffset} after ${lastBase})`);
      lastBase = p.baseOffset;
    }
  });
  s.destroy();

  // Every record of every produce (acks=0 ones included) is there: nothing lost or reordered.
  const c = await CodecConnection.open(broker.host, broker.port);
  const lo = await c.request(ListOffsetsRequest, ListOffsetsResponse, 7, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: 'pipe', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }],
  });
  let total = 0;
  for (let i = 0; i < 300; i++) if (i % 5 >= 2) total += 1 + (i % 7);
  assert.equal(lo.topics[0]!.partitions[0]!.offset, BigInt(total));
  c.close();
});

test('a client that stops reading is paused; other connections are served meanwhile', async () => {
  const s = await openSocket();
  // Never read: each Fetch answers with ~1 MiB, so unsent responses pile up quickly.
  s.pause();
  const c0 = await CodecConnection.open(broker.host, broker.port);
  // 16 batches of 768 KiB (under max.message.bytes): each fetch below answers with ~12 MiB.
  const big = encodeBatch({ records: Array.from({ length: 48 }, (_, j) => ({ value: Buffer.alloc(16 * 1024, j) })) });
  for (let i = 0; i < 16; i++) {
    const r = await c0.request(ProduceRequest, ProduceResponse, 9, { transactionalId: null, acks: 1, timeoutMs: 10_000, topicData: [{ name: 'pipe', partitionData: [{ index: 0, records: big }] }] });
    assert.equal(r.responses[0]!.partitionResponses[0]!.errorCode, 0);
  }
  c0.close();
  const fetch = (cid: number): Buffer[] =>
    // A 30 KB client id makes each request big, so unread requests fill the kernel buffers quickly.
    encodeRequestFrame(11, cid, 'g'.repeat(30_000), FetchRequest, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 64 * 1024 * 1024,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic: 'pipe', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 16 * 1024 * 1024 }] }],
      forgottenTopicsData: [],
      rackId: '',
    });
  const rssMb = (): number => {
    const status = readFileSync(`/proc/${broker.proc.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  };
  let written = 0;
  let rssMaxMb = 0;
  const deadline = Date.now() + 20_000;
  // Keep writing fetches (each answered with ~16 MiB) until our writes back up because the broker
  // stopped reading us. Without backpressure it would read them all and buffer gigabytes.
  while (Date.now() < deadline && written < 3000 && s.writableLength < 8 * 1024 * 1024) {
    s.write(Buffer.concat(fetch(written)));
    written++;
    if (written % 20 === 0) {
      rssMaxMb = Math.max(rssMaxMb, rssMb());
      await sleep(5);
    }
  }
  await sleep(500);
  rssMaxMb = Math.max(rssMaxMb, rssMb());
  assert.ok(s.writableLength >= 8 * 1024 * 1024, `the broker stopped reading a connection that does not read its responses (wrote ${written}, ${s.writableLength} bytes unsent)`);
  assert.ok(rssMaxMb < 800, `broker memory stays bounded: ${rssMaxMb.toFixed(0)} MB`);

  // Meanwhile another connection gets quick answers.
  const other = await CodecConnection.open(broker.host, broker.port);
  const started = Date.now();
  const md = await other.request(MetadataRequest, (await import('@fjord/protocol')).MetadataResponse, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  assert.ok(md.topics.some((t) => t.name === 'pipe'));
  assert.ok(Date.now() - started < 5_000, 'other clients are still served');
  other.close();
  s.destroy();
});
