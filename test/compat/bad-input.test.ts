// Bad input from the network (raw TCP): garbage, oversized/negative/zero length prefixes, truncated
// frames, unknown API keys, unsupported versions, corrupt batches, legacy message formats, over-size
// records, produce to missing partitions and topics. Each gets Kafka's error code or a closed
// connection; the broker keeps serving a connection opened before, and new ones; stored data is
// unchanged (same bytes, same high watermark and log start offset) and no offset is consumed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type Broker } from '../harness/broker.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTopics, Err } from '../harness/fixtures.js';
import { repoRoot } from '../harness/proc.js';
import {
  ApiKey,
  apiVersions,
  batchCrcOffset,
  batchesOf,
  encodeBatch,
  encodeLegacyMessageV1,
  fetch,
  listOffsets,
  metadata,
  parseApiVersions,
  produce,
  RawConnection,
  Reader,
  Writer,
  produceBody,
} from '../harness/wire.js';

const topic = 'bad-input';
let broker: Broker;
let witness: RawConnection;
let expectedHw = 0;
const sentBatches: Buffer[] = [];

interface State {
  logStart: number;
  hw: number;
  bytes: Buffer;
}

async function state(): Promise<State> {
  const c = await RawConnection.open(broker.host, broker.port);
  try {
    const [earliest, latest] = await listOffsets(c, topic, [
      { partition: 0, timestamp: -2 },
      { partition: 0, timestamp: -1 },
    ]);
    const f = await fetch(c, topic, 0, earliest!.offset);
    assert.equal(f.errorCode, 0);
    return { logStart: earliest!.offset, hw: latest!.offset, bytes: f.records ?? Buffer.alloc(0) };
  } finally {
    c.close();
  }
}

let reference: State;

/** The broker is alive: the old witness connection and a new connection both get ApiVersions answered; data unchanged. */
async function assertHealthy(what: string): Promise<void> {
  assert.equal(broker.proc.exitCode, null, `${what}: broker exited\n${broker.logs().slice(-3000)}`);
  const v = await apiVersions(witness, 0);
  assert.equal(v.errorCode, 0, `${what}: witness connection`);
  const c = await RawConnection.open(broker.host, broker.port);
  try {
    assert.equal((await apiVersions(c, 3)).errorCode, 0, `${what}: new connection`);
  } finally {
    c.close();
  }
  const s = await state();
  assert.equal(s.hw, expectedHw, `${what}: high watermark changed`);
  assert.equal(s.logStart, reference.logStart, `${what}: log start offset changed`);
  assert.ok(s.bytes.subarray(0, reference.bytes.length).equals(reference.bytes), `${what}: stored bytes changed`);
}

async function expectClosed(what: string, send: (c: RawConnection) => void | Promise<void>, timeoutMs = 5_000): Promise<void> {
  const c = await RawConnection.open(broker.host, broker.port);
  try {
    await send(c);
    const closed = await c.waitClosed(timeoutMs);
    assert.ok(closed, `${what}: the broker neither answered with an error nor closed the connection within ${timeoutMs} ms`);
    assert.deepEqual(c.unclaimedFrames().map((f) => f.correlationId), [], `${what}: unexpected response frames`);
  } finally {
    c.close();
  }
  await assertHealthy(what);
}

const frame = (payload: Buffer): Buffer => Buffer.concat([new Writer().int32(payload.length).finish(), payload]);
const header = (apiKey: number, version: number, cid = 77): Buffer => new Writer().int16(apiKey).int16(version).int32(cid).nullableString('bad').finish();

before(async () => {
  broker = await startBroker({ configs: { 'auto.create.topics.enable': false } });
  witness = await RawConnection.open(broker.host, broker.port);
  // CreateTopics is not hand-encoded here; librdkafka creates the topic.
  await createTopics(broker.bootstrap, [{ name: topic, num_partitions: 1 }]);
  const now = Date.now();
  for (let b = 0; b < 3; b++) {
    const batch = encodeBatch(
      Array.from({ length: 10 }, (_, i) => ({ key: `k${b}-${i}`, value: `v${b}-${i}`, headers: [['h', `${i}`]], timestampDelta: i })),
      { baseTimestamp: now + b * 100 },
    );
    sentBatches.push(batch);
    const [res] = await produce(witness, topic, [{ partition: 0, records: batch }]);
    assert.equal(res!.errorCode, 0, `seed produce: ${JSON.stringify(res)}`);
    assert.equal(res!.baseOffset, b * 10);
  }
  expectedHw = 30;
  reference = await state();
}, { timeout: 180_000 });
after(async () => {
  witness?.close();
  await broker?.dispose();
}, { timeout: 180_000 });

describe('valid raw traffic (baseline for the bad cases)', () => {
  test('batches are stored as sent: same bytes except base offset and leader epoch, CRC valid', { timeout: 60_000 }, async () => {
    const batches = batchesOf(reference.bytes);
    assert.deepEqual(batches.map((b) => [b.baseOffset, b.count, b.crcOk]), [
      [0, 10, true],
      [10, 10, true],
      [20, 10, true],
    ]);
    batches.forEach((b, i) => {
      const sent = sentBatches[i]!;
      assert.ok(b.bytes.subarray(16).equals(sent.subarray(16)), `batch ${i}: bytes from magic on differ from what was produced`);
      assert.equal(b.bytes.readInt32BE(8), sent.readInt32BE(8), 'batch length');
    });
  });

  test('pipelined requests are answered in order', { timeout: 60_000 }, async () => {
    const c = await RawConnection.open(broker.host, broker.port);
    try {
      const cids: number[] = [];
      for (let i = 0; i < 40; i++) {
        const body = i % 2 === 0 ? Buffer.alloc(0) : new Writer().array([topic], (w, t) => w.string(t)).finish();
        cids.push(c.send(i % 2 === 0 ? ApiKey.ApiVersions : ApiKey.Metadata, i % 2 === 0 ? 0 : 1, body));
      }
      for (const cid of cids) await c.receive(cid);
      assert.deepEqual(c.arrivalOrder, cids, 'responses out of request order');
    } finally {
      c.close();
    }
  });
});

describe('bad frames close the connection; everyone else is served', () => {
  test('garbage: an HTTP request', { timeout: 60_000 }, async () => {
    await expectClosed('HTTP request', (c) => c.sendRaw(Buffer.from('GET / HTTP/1.1\r\nHost: fjord\r\n\r\n')));
  });

  test('garbage: a frame of 0xff bytes', { timeout: 60_000 }, async () => {
    await expectClosed('0xff frame', (c) => c.sendRaw(frame(Buffer.alloc(64, 0xff))));
  });

  test('oversized length prefix (2 GiB - 1) is refused before any body arrives', { timeout: 60_000 }, async () => {
    await expectClosed('size 0x7fffffff', (c) => c.sendRaw(Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0])));
  });

  test('length prefix just above socket.request.max.bytes', { timeout: 60_000 }, async () => {
    await expectClosed('size 104857601', (c) => c.sendRaw(new Writer().int32(104_857_601).int16(18).finish()));
  });

  test('negative length prefix', { timeout: 60_000 }, async () => {
    await expectClosed('size -1', (c) => c.sendRaw(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4])));
  });

  test('zero length prefix', { timeout: 60_000 }, async () => {
    await expectClosed('size 0', (c) => c.sendRaw(Buffer.from([0, 0, 0, 0])));
  });

  test('truncated frame: others are served while it is pending; closed at EOF', { timeout: 60_000 }, async () => {
    const c = await RawConnection.open(broker.host, broker.port);
    try {
      const full = frame(Buffer.concat([header(ApiKey.ApiVersions, 0), Buffer.alloc(80)]));
      c.sendRaw(full.subarray(0, 10));
      await assertHealthy('while a truncated frame is pending');
      c.socket.end();
      assert.ok(await c.waitClosed(5_000), 'connection with a truncated frame not closed after EOF');
    } finally {
      c.close();
    }
  });

  test('truncated body inside a complete frame (Produce cut short)', { timeout: 60_000 }, async () => {
    const body = produceBody(topic, [{ partition: 0, records: encodeBatch([{ key: 'x', value: 'y' }]) }]);
    await expectClosed('truncated Produce body', (c) => c.sendRaw(frame(Buffer.concat([header(ApiKey.Produce, 8), body.subarray(0, 12)]))));
  });

  test('unknown API key', { timeout: 60_000 }, async () => {
    await expectClosed('api key 9999', (c) => c.sendRaw(frame(header(9999, 0))));
  });

  test('unsupported version of another API (Metadata v99)', { timeout: 60_000 }, async () => {
    await expectClosed('Metadata v99', (c) => c.sendRaw(frame(Buffer.concat([header(ApiKey.Metadata, 99), new Writer().int32(-1).finish()]))));
  });

  test('many bad connections at once', { timeout: 60_000 }, async () => {
    const conns = await Promise.all(Array.from({ length: 50 }, () => RawConnection.open(broker.host, broker.port)));
    try {
      conns.forEach((c, i) => c.sendRaw(i % 2 ? Buffer.from([0x7f, 0xff, 0xff, 0xff]) : frame(header(4242, 1))));
      const closed = await Promise.all(conns.map((c) => c.waitClosed(10_000)));
      assert.equal(closed.filter((x) => !x).length, 0, 'some bad connections stayed open');
    } finally {
      for (const c of conns) c.close();
    }
    await assertHealthy('after 50 bad connections');
  });
});

describe('errors answered with Kafka codes', () => {
  test('ApiVersions at an unsupported version: UNSUPPORTED_VERSION with the supported range, in a v0 body', { timeout: 60_000 }, async () => {
    const c = await RawConnection.open(broker.host, broker.port);
    try {
      const cid = c.send(ApiKey.ApiVersions, 127, new Writer().compactString('x').compactString('1').tags().finish(), { flexibleHeader: true });
      const res = await c.receive(cid);
      const v = parseApiVersions(new Reader(res.body), 0);
      assert.equal(v.errorCode, Err.UNSUPPORTED_VERSION);
      const av = v.apiKeys.find((k) => k.apiKey === ApiKey.ApiVersions);
      assert.ok(av && av.min === 0 && av.max >= 3, `ApiVersions range in the error response: ${JSON.stringify(av)}`);
      // The connection stays usable, as in Kafka (clients retry at a supported version).
      assert.equal((await apiVersions(c, 0)).errorCode, 0);
    } finally {
      c.close();
    }
    await assertHealthy('ApiVersions v127');
  });

  test('ApiVersions advertises the issue-2 APIs at (at least) every version in the schemas', { timeout: 60_000 }, async (t) => {
    const v = await apiVersions(witness, 3);
    const keys = new Map(v.apiKeys.map((k) => [k.apiKey, k]));
    const schemaDir = join(repoRoot, '..', 'shared', 'kafka-protocol', 'messages');
    const apis = ['Produce', 'Fetch', 'ListOffsets', 'Metadata', 'ApiVersions', 'CreateTopics', 'DeleteTopics', 'DeleteRecords', 'OffsetForLeaderEpoch',
      'DescribeConfigs', 'AlterConfigs', 'DescribeLogDirs', 'CreatePartitions', 'IncrementalAlterConfigs', 'DescribeCluster'];
    if (!existsSync(schemaDir)) {
      t.skip(`no schemas at ${schemaDir}`);
      return;
    }
    const problems: string[] = [];
    for (const api of apis) {
      const text = readFileSync(join(schemaDir, `${api}Request.json`), 'utf8').replace(/^\s*\/\/.*$/gm, '');
      const schema = JSON.parse(text) as { apiKey: number; validVersions: string };
      const [min, max] = schema.validVersions.split('-').map(Number);
      const got = keys.get(schema.apiKey);
      if (!got) problems.push(`${api} (${schema.apiKey}) missing`);
      // Every version in the schema must be served; older ones (from Kafka 3.x) may be served too.
      else if (got.min > min! || got.max < (max ?? min)!) problems.push(`${api}: advertised ${got.min}-${got.max}, schema ${schema.validVersions}`);
    }
    assert.deepEqual(problems, []);
  });

  test('corrupt batch (CRC mismatch): CORRUPT_MESSAGE, nothing stored', { timeout: 60_000 }, async () => {
    const batch = encodeBatch([{ key: 'a', value: 'corrupt-me' }]);
    batch[batch.length - 3]! ^= 0x55;
    const [r] = await produce(witness, topic, [{ partition: 0, records: batch }]);
    assert.equal(r!.errorCode, Err.CORRUPT_MESSAGE, JSON.stringify(r));
    await assertHealthy('CRC mismatch');
  });

  test('corrupt batch (CRC field flipped): CORRUPT_MESSAGE', { timeout: 60_000 }, async () => {
    const batch = encodeBatch([{ key: 'a', value: 'b' }]);
    batch.writeUInt32BE((batch.readUInt32BE(batchCrcOffset) ^ 1) >>> 0, batchCrcOffset);
    const [r] = await produce(witness, topic, [{ partition: 0, records: batch }]);
    assert.equal(r!.errorCode, Err.CORRUPT_MESSAGE, JSON.stringify(r));
    await assertHealthy('CRC field flipped');
  });

  test('batch length larger than the bytes sent: CORRUPT_MESSAGE or INVALID_RECORD', { timeout: 60_000 }, async () => {
    const batch = encodeBatch([{ key: 'a', value: 'b' }]);
    batch.writeInt32BE(batch.readInt32BE(8) + 100, 8);
    const [r] = await produce(witness, topic, [{ partition: 0, records: batch }]);
    assert.ok([Err.CORRUPT_MESSAGE, Err.INVALID_RECORD].includes(r!.errorCode as 2 | 87), JSON.stringify(r));
    await assertHealthy('batch length too large');
  });

  test('legacy magic-1 message set: INVALID_RECORD (Produce v3+ requires magic 2)', { timeout: 60_000 }, async () => {
    const [r] = await produce(witness, topic, [{ partition: 0, records: encodeLegacyMessageV1('k', 'old format') }]);
    assert.equal(r!.errorCode, Err.INVALID_RECORD, JSON.stringify(r));
    await assertHealthy('magic 1');
  });

  test('over-size record: MESSAGE_TOO_LARGE and no offset used', { timeout: 60_000 }, async () => {
    const [r] = await produce(witness, topic, [{ partition: 0, records: encodeBatch([{ key: 'big', value: Buffer.alloc(1_200_000, 0x61) }]) }]);
    assert.equal(r!.errorCode, Err.MESSAGE_TOO_LARGE, JSON.stringify(r));
    await assertHealthy('over-size record');
    const [ok] = await produce(witness, topic, [{ partition: 0, records: encodeBatch([{ key: 'after', value: 'big' }]) }]);
    assert.equal(ok!.errorCode, 0);
    assert.equal(ok!.baseOffset, expectedHw, 'the next valid record takes the next offset: none was used by the refused one');
    expectedHw++;
    await assertHealthy('valid produce after over-size');
  });

  test('produce to a missing partition and a missing topic: UNKNOWN_TOPIC_OR_PARTITION, nothing created', { timeout: 60_000 }, async () => {
    const [r] = await produce(witness, topic, [{ partition: 7, records: encodeBatch([{ key: 'a', value: 'b' }]) }]);
    assert.equal(r!.errorCode, Err.UNKNOWN_TOPIC_OR_PARTITION, JSON.stringify(r));
    const [m] = await produce(witness, 'bad-input-no-such-topic', [{ partition: 0, records: encodeBatch([{ key: 'a', value: 'b' }]) }]);
    assert.equal(m!.errorCode, Err.UNKNOWN_TOPIC_OR_PARTITION, JSON.stringify(m));
    const md = await metadata(witness, null);
    assert.deepEqual(md.topics.map((t) => t.name).sort(), [topic]);
    await assertHealthy('missing partition/topic');
  });

  test('acks=0 with a corrupt batch: no response, connection kept or closed, nothing stored', { timeout: 60_000 }, async () => {
    const c = await RawConnection.open(broker.host, broker.port);
    try {
      const batch = encodeBatch([{ key: 'a', value: 'acks0' }]);
      batch[batch.length - 1]! ^= 0xff;
      c.send(ApiKey.Produce, 8, produceBody(topic, [{ partition: 0, records: batch }], { acks: 0 }));
      // Kafka closes an acks=0 connection on error so that the client notices; staying open is also safe.
      await c.waitClosed(1_000);
      assert.deepEqual(c.unclaimedFrames().map((f) => f.correlationId), [], 'acks=0 must not be answered');
    } finally {
      c.close();
    }
    await assertHealthy('acks=0 corrupt');
  });
});
