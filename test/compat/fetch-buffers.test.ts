// Fetch reads the files into buffers it reuses once a response is written (ReadBufferPool). Test
// brokers overwrite each buffer when it is given back (FJORD_DEBUG_POISON_READ_BUFFERS, set by the
// harness), so a response still waiting for the socket while its buffers went to another Fetch
// would arrive corrupt. Here one connection asks for ~24 MiB and does not read (more than the
// loopback socket buffers hold, so the broker's write stays pending), while a second connection
// fetches the same data again and again; then the first reads its answer, byte for byte.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { FetchRequest, FetchResponse, ProduceRequest, ProduceResponse, batchCrcValid, decodeBatch, decodeResponseHeader, encodeBatch, encodeRequestFrame, Reader, recordsToBuffer, splitBatches } from '@fjord/protocol';
import { startBroker, type Broker } from '../harness/broker.js';
import { CodecConnection } from '../harness/codec-connection.js';

const topic = 'pooled';
const partitions = 3;
const recordsPerBatch = 256;
const batchesPerPartition = 36; // 36 × 256 × 1 KiB ≈ 9.4 MB per partition
const partitionMaxBytes = 8 * 1024 * 1024;
let broker: Broker;
let c: CodecConnection;

const valueOf = (p: number, offset: number): Buffer => {
  const v = Buffer.alloc(1024, (p * 31 + offset) & 0xff);
  v.write(`p${p}-o${offset}-`, 0);
  return v;
};

before(async () => {
  broker = await startBroker();
  c = await CodecConnection.open(broker.host, broker.port);
  await c.createTopic(topic, partitions);
  for (let p = 0; p < partitions; p++) {
    for (let b = 0; b < batchesPerPartition; b++) {
      const records = Array.from({ length: recordsPerBatch }, (_, i) => ({ value: valueOf(p, b * recordsPerBatch + i) }));
      const r = await c.request(ProduceRequest, ProduceResponse, 9, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 10_000,
        topicData: [{ name: topic, partitionData: [{ index: p, records: encodeBatch({ records }) }] }],
      });
      assert.equal(r.responses[0]!.partitionResponses[0]!.errorCode, 0);
    }
  }
});
after(async () => {
  c?.close();
  await broker?.dispose();
});

const fetchBody = {
  replicaId: -1,
  maxWaitMs: 0,
  minBytes: 1,
  maxBytes: 64 * 1024 * 1024,
  isolationLevel: 0,
  sessionId: 0,
  sessionEpoch: -1,
  topics: [{ topic, partitions: Array.from({ length: partitions }, (_, partition) => ({ partition, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes })) }],
  forgottenTopicsData: [],
  rackId: '',
};

/** Every batch of every partition: CRC valid, offsets from 0 on, values as written. Returns the records checked. */
function checkResponse(res: FetchResponse): number {
  let checked = 0;
  for (const pd of res.responses[0]!.partitions) {
    assert.equal(pd.errorCode, 0);
    const buf = recordsToBuffer(pd.records) ?? Buffer.alloc(0);
    assert.ok(buf.length > partitionMaxBytes / 2, `partition ${pd.partitionIndex}: only ${buf.length} bytes`);
    let next = 0;
    for (const span of splitBatches(buf)) {
      assert.ok(batchCrcValid(buf, span.pos, span.size), `partition ${pd.partitionIndex}: batch at offset ${next} fails its CRC`);
      const batch = decodeBatch(buf, span.pos);
      for (const [i, r] of batch.records.entries()) {
        const offset = Number(batch.header.baseOffset) + i;
        assert.equal(offset, next);
        assert.ok(r.value!.equals(valueOf(pd.partitionIndex, offset)), `partition ${pd.partitionIndex} offset ${offset}: value differs`);
        next++;
        checked++;
      }
    }
  }
  return checked;
}

test('a response waiting for a slow reader keeps its read buffers while other fetches run', async () => {
  const sock: Socket = connect({ host: broker.host, port: broker.port });
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  try {
    sock.pause();
    for (const chunk of encodeRequestFrame(12, 7, 'slow-reader', FetchRequest, fetchBody)) sock.write(chunk);

    // Meanwhile another connection fetches the same partitions from offset 0, over and over: each
    // of its reads takes buffers from the pool, and each one given back is overwritten.
    let expected = -1;
    for (let i = 0; i < 12; i++) {
      const r = await c.request(FetchRequest, FetchResponse, 12, fetchBody, 30_000);
      const n = checkResponse(r);
      if (expected < 0) expected = n;
      assert.equal(n, expected);
    }

    // Now read the first answer.
    const chunks: Buffer[] = [];
    let have = 0;
    let size = -1;
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      have += d.length;
    });
    sock.resume();
    const deadline = Date.now() + 30_000;
    while (size < 0 || have < size + 4) {
      if (Date.now() > deadline) throw new Error(`response incomplete: ${have} bytes`);
      if (size < 0 && have >= 4) size = Buffer.concat(chunks).readInt32BE(0);
      await new Promise((r) => setTimeout(r, 5));
    }
    const frame = Buffer.concat(chunks).subarray(4, 4 + size);
    const { correlationId, bodyOffset } = decodeResponseHeader(frame, FetchRequest.apiKey, 12);
    assert.equal(correlationId, 7);
    const res = FetchResponse.decode(new Reader(frame, bodyOffset), 12);
    assert.ok(size > 3 * partitionMaxBytes - 1024 * 1024, `the answer (${size} bytes) should be larger than the socket buffers`);
    assert.equal(checkResponse(res), expected);
  } finally {
    sock.destroy();
  }
});
