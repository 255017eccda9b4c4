// Acceptance (issue 5) for @fjord/client's consumer against a Fjord broker: records written by
// confluent-kafka-python (every codec, keys, repeated and empty headers, explicit timestamps) and by
// kcat are read exactly; seek to a timestamp, pause/resume; two and three Fjord members of one group
// (range and cooperative-sticky) hold disjoint, complete assignments and a member's close moves its
// partitions; committed offsets are resumed after a restart (manual and auto commit); a group of a
// Fjord consumer and a confluent-kafka member; read_committed skips a transaction confluent aborted.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Admin, Consumer, Producer, TimeoutError, DeserializationError, deserializers, ConfigError, KafkaError, ErrorCode, type ConsumerBatch, type ConsumerConfig, type ConsumerRecord, type LogEntry, type TopicPartition } from '@fjord/client';
import { startBroker, type Broker } from '../harness/broker.js';
import { kcatProduceOk } from '../harness/kcat.js';
import { produceCk } from '../harness/fixtures.js';
import { diffRecords, expectLayout, makeRecords, type ReadRecord } from '../harness/records.js';
import { startMember, stopAll, type Member } from '../harness/members.js';
import { TxnSession } from '../harness/txn-session.js';
import { py } from '../harness/python.js';

let broker: Broker;
const consumers: Consumer[] = [];
const members: Member[] = [];
const logs: LogEntry[] = [];

function consumer(config: Partial<ConsumerConfig> = {}, listener?: ConstructorParameters<typeof Consumer>[1]): Consumer {
  const c = new Consumer(
    {
      bootstrapServers: broker.bootstrap,
      clientId: 'consumer-test',
      autoOffsetReset: 'earliest',
      fetchMaxWaitMs: 100,
      heartbeatIntervalMs: 200,
      sessionTimeoutMs: 6_000,
      maxPollIntervalMs: 10_000,
      logger: (e) => {
        logs.push(e);
        if (process.env['FJORD_CLIENT_LOG'] && (e.level !== 'debug' || process.env['FJORD_CLIENT_LOG'] === 'debug')) console.error('[client]', e.level, e.message, JSON.stringify(e.fields));
      },
      ...config,
    },
    listener,
  );
  consumers.push(c);
  return c;
}

async function createTopic(name: string, numPartitions: number): Promise<void> {
  const a = new Admin({ bootstrapServers: broker.bootstrap });
  try {
    await a.createTopics([{ name, numPartitions }]);
  } finally {
    await a.close();
  }
}

function toRead(r: ConsumerRecord): ReadRecord {
  return {
    topic: r.topic,
    partition: r.partition,
    offset: Number(r.offset),
    key: r.key === null ? null : r.key.toString('utf8'),
    value: r.value === null ? null : r.value.toString('utf8'),
    headers: r.headers.map(([k, v]) => [k, v === null ? null : v.toString('utf8')]),
    timestamp: r.timestamp,
  };
}

/** Reads until `count` records arrived (then `settleMs` more, to catch extras) or `timeoutMs` passes. */
async function readN(c: Consumer, count: number, timeoutMs = 15_000, settleMs = 0): Promise<ReadRecord[]> {
  const out: ReadRecord[] = [];
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  let settle: NodeJS.Timeout | undefined;
  try {
    for await (const b of c.batches({ signal: ac.signal })) {
      assert.ok(b.records.length > 0, 'batches are never empty');
      for (const r of b.records) out.push(toRead(r));
      if (out.length >= count && settle === undefined) {
        if (settleMs === 0) break;
        settle = setTimeout(() => ac.abort(), settleMs);
      }
    }
  } finally {
    clearTimeout(timer);
    clearTimeout(settle);
  }
  return out;
}

async function waitFor(what: string, timeoutMs: number, check: () => boolean | string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: boolean | string = false;
  while (Date.now() < deadline) {
    last = check();
    if (last === true) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`${what} within ${timeoutMs} ms; last: ${String(last)}`);
}

/** Keeps a consumer consuming (and so in its group) in the background until stopped. */
function drain(c: Consumer): { stop: () => Promise<void>; records: ReadRecord[] } {
  const ac = new AbortController();
  const records: ReadRecord[] = [];
  let failure: unknown;
  const done = (async () => {
    for await (const b of c.batches({ signal: ac.signal })) for (const r of b.records) records.push(toRead(r));
  })().catch((e: unknown) => {
    failure = e;
  });
  return {
    records,
    stop: async () => {
      ac.abort();
      await done;
      if (failure) throw failure;
    },
  };
}

function partitionsOf(assignment: readonly TopicPartition[]): number[] {
  return assignment.map((p) => p.partition).sort((a, b) => a - b);
}

function disjointComplete(sets: number[][], partitions: number): string | true {
  const all = sets.flat().sort((a, b) => a - b);
  const ok = all.length === partitions && all.every((p, i) => p === i) && sets.every((s) => s.length > 0);
  return ok || sets.map((s) => `[${s.join(',')}]`).join(' ');
}

before(async () => {
  broker = await startBroker({
    configs: { 'group.initial.rebalance.delay.ms': 0, 'group.min.session.timeout.ms': 1000, 'group.consumer.min.heartbeat.interval.ms': 100, 'group.consumer.heartbeat.interval.ms': 200 },
  });
}, { timeout: 180_000 });
after(async () => {
  for (const c of consumers) await c.close().catch(() => {});
  await stopAll(members);
  await broker?.dispose();
}, { timeout: 180_000 });

describe('@fjord/client consumer: reading what other clients wrote', () => {
  test('confluent-kafka-python (gzip, zstd, lz4, none) and kcat (snappy) records are read exactly', { timeout: 60_000 }, async () => {
    const topic = 'consumer-interop';
    await createTopic(topic, 3);
    const base = 1_700_000_000_000;
    const codecs = ['gzip', 'zstd', 'lz4', 'none'];
    const all = codecs.flatMap((codec) => makeRecords(60, { tag: codec, baseTimestamp: base + codecs.indexOf(codec) * 1_000 }));
    for (const codec of codecs) await produceCk(broker.bootstrap, topic, all.filter((r) => r.value!.startsWith(`${codec}|`)), { codec });
    const expected = expectLayout(all, 3);
    const c = consumer();
    c.assign([0, 1, 2].map((partition) => ({ topic, partition })));
    const got = await readN(c, expected.length, 20_000, 300);
    assert.deepEqual(diffRecords(expected, got), []);
    // The reads went through an incremental fetch session (KIP-227) that the broker never rejected.
    assert.ok(logs.some((e) => e.message === 'fetch session' && Number(e.fields?.['sessionId']) !== 0), 'a fetch session was established');
    assert.deepEqual(logs.filter((e) => e.message === 'fetch session reset'), []);

    // kcat: snappy, one header on every record, the producer stamps the time.
    const kcatTopic = 'consumer-interop-kcat';
    await createTopic(kcatTopic, 2);
    const kRecords = makeRecords(50, { tag: 'kcat', baseTimestamp: 0 }).map((r) => ({ ...r, headers: [], timestamp: undefined }));
    const t0 = Date.now();
    await kcatProduceOk(broker.bootstrap, kcatTopic, kRecords, { codec: 'snappy', headers: [['via', 'kcat']] });
    const kExpected = expectLayout(kRecords, 2, { headers: [['via', 'kcat']], timestamp: { min: t0 - 1_000, max: Date.now() + 1_000 } });
    const k = consumer();
    k.assign([{ topic: kcatTopic, partition: 0 }, { topic: kcatTopic, partition: 1 }]);
    assert.deepEqual(diffRecords(kExpected, await readN(k, kExpected.length, 20_000, 200)), []);
  });

  test('seek, seek to a timestamp, pause and resume; autoOffsetReset latest and none', { timeout: 30_000 }, async () => {
    const topic = 'consumer-interop';
    const tp = { topic, partition: 0 };
    const c = consumer();
    c.assign([tp]);
    const [first] = await readN(c, 1);
    assert.equal(first!.offset, 0);
    // makeRecords: record i of the zstd run has timestamp base + 1000 + 10 i; find the first at or after the zstd run's start.
    const target = 1_700_000_000_000 + 1_000;
    c.seekToTimestamp([tp], target);
    const [atTs] = await readN(c, 1);
    assert.ok(atTs!.timestamp >= target && atTs!.value!.startsWith('zstd|'), JSON.stringify(atTs));
    const [byTimes] = await c.offsetsForTimes([tp], target);
    assert.equal(Number(byTimes!.offset), atTs!.offset);
    c.seek({ ...tp, offset: 5 });
    c.pause([tp]);
    assert.deepEqual(c.paused(), [tp]);
    assert.deepEqual(await readN(c, 1, 600), [], 'nothing while paused');
    c.resume([tp]);
    assert.equal((await readN(c, 1))[0]!.offset, 5, 'resumes at the position seeked to');
    // A batch handed out counts as consumed: the position is past its last record.
    assert.ok(c.position(tp)! > 5n);
    const [end] = await c.endOffsets([tp]);

    const latest = consumer({ autoOffsetReset: 'latest' });
    latest.assign([tp]);
    assert.deepEqual(await readN(latest, 1, 800), [], 'latest: nothing old');
    assert.equal(latest.position(tp), end!.offset);

    const none = consumer({ autoOffsetReset: 'none', groupId: 'consumer-none' });
    none.assign([tp]);
    await assert.rejects(readN(none, 1, 5_000), (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.OFFSET_OUT_OF_RANGE && e.message.includes(`${topic}-0`));
    assert.throws(() => consumer({ autoOffsetReset: 'smallest' as never }), (e: unknown) => e instanceof ConfigError && e.option === 'autoOffsetReset');
  });
});

describe('@fjord/client consumer: fetching ahead', () => {
  test('the next Fetch is on the wire before the application gets the batches of the last one', { timeout: 30_000 }, async () => {
    const topic = 'consumer-fetch-ahead';
    await createTopic(topic, 1);
    const p = new Producer({ bootstrapServers: broker.bootstrap, lingerMs: 0 });
    for (let i = 0; i < 6; i++) await p.send({ topic, partition: 0, value: `v${i}` }); // six batches
    await p.close();
    // What the consumer writes, cut into frames as it goes, and what it hands out, in one ordered log.
    const events: string[] = [];
    let pending = Buffer.alloc(0);
    const c = consumer({
      maxPartitionFetchBytes: 1, // one batch per Fetch
      socketFactory: (host, port) => {
        const socket = connect({ host, port });
        const write = socket.write.bind(socket) as (chunk: Buffer, ...rest: unknown[]) => boolean;
        socket.write = ((chunk: Buffer, ...rest: unknown[]) => {
          pending = Buffer.concat([pending, chunk]);
          while (pending.length >= 6 && pending.length >= 4 + pending.readInt32BE(0)) {
            if (pending.readInt16BE(4) === 1) events.push('fetch');
            pending = pending.subarray(4 + pending.readInt32BE(0));
          }
          return write(chunk, ...rest);
        }) as typeof socket.write;
        return socket;
      },
    });
    c.assign([{ topic, partition: 0 }]);
    const ac = new AbortController();
    let seen = 0;
    for await (const b of c.batches({ signal: ac.signal })) {
      events.push(`batch ${b.records[0]!.offset}`);
      seen += b.records.length;
      if (seen >= 6) break;
    }
    const firstBatch = events.indexOf('batch 0');
    assert.ok(events.slice(0, firstBatch).filter((e) => e === 'fetch').length >= 2, `the Fetch for offset 1 went out before offset 0 was handed out: ${events.join(', ')}`);
    assert.deepEqual(events.filter((e) => e.startsWith('batch')), ['batch 0', 'batch 1', 'batch 2', 'batch 3', 'batch 4', 'batch 5']);
  });
});

describe('@fjord/client consumer: deserializers', () => {
  test('string keys and JSON values; a value that is not JSON stops its partition with DeserializationError until a seek past it', { timeout: 30_000 }, async () => {
    const topic = 'consumer-json';
    await createTopic(topic, 1);
    await produceCk(broker.bootstrap, topic, ['{"n":1}', '{"n":2}', 'not json', '{"n":4}'].map((value, i) => ({ key: `k${i}`, value, headers: [], partition: 0 })));
    const c = new Consumer({ bootstrapServers: broker.bootstrap, autoOffsetReset: 'earliest', keyDeserializer: deserializers.string, valueDeserializer: deserializers.json });
    consumers.push(c as unknown as Consumer);
    const tp = { topic, partition: 0 };
    c.assign([tp]);
    const it = c.batches();
    const first = (await it.next()).value as ConsumerBatch<string | null, unknown>;
    assert.deepEqual(first.records.map((r) => [r.key, r.value]), [['k0', { n: 1 }], ['k1', { n: 2 }]], 'the records before the bad one');
    await assert.rejects(it.next(), (e: unknown) => e instanceof DeserializationError && e.offset === 2n && e.field === 'value' && e.message.includes(`${topic}-0@2`));
    assert.equal(c.position(tp), 2n);
    c.seek({ ...tp, offset: 3 });
    const rest = (await it.next()).value as ConsumerBatch<string | null, unknown>;
    assert.deepEqual(rest.records.map((r) => [r.key, r.value]), [['k3', { n: 4 }]]);

    // The per-record callback: run() until the signal aborts.
    const r = new Consumer({ bootstrapServers: broker.bootstrap, autoOffsetReset: 'earliest', keyDeserializer: deserializers.string });
    consumers.push(r as unknown as Consumer);
    r.assign([tp]);
    r.seek({ ...tp, offset: 3 });
    const keys: Array<string | null> = [];
    const ac = new AbortController();
    await r.run({ signal: ac.signal, eachRecord: (rec) => void (keys.push(rec.key), ac.abort()) });
    assert.deepEqual(keys, ['k3']);
  });
});

describe('@fjord/client consumer: bad brokers', () => {
  test('a broker that hangs or answers garbage: commit() and committed() reject with a typed error within defaultApiTimeoutMs', { timeout: 30_000 }, async () => {
    const sockets: Socket[] = [];
    const hang: Server = createServer((sock) => void sockets.push(sock));
    const garbage: Server = createServer((sock) => {
      sockets.push(sock);
      sock.once('data', () => sock.write(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')));
    });
    await Promise.all([hang, garbage].map((srv) => new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))));
    try {
      for (const [srv, op] of [[hang, 'committed'], [garbage, 'commit']] as const) {
        const address = `127.0.0.1:${(srv.address() as { port: number }).port}`;
        const c = consumer({ bootstrapServers: address, groupId: 'g', connectTimeoutMs: 300, requestTimeoutMs: 500, defaultApiTimeoutMs: 1_000, reconnectBackoffMaxMs: 100, retryBackoffMaxMs: 100 });
        const t0 = Date.now();
        await assert.rejects(
          op === 'committed' ? c.committed([{ topic: 't', partition: 0 }]) : c.commit([{ topic: 't', partition: 0, offset: 1 }]),
          (e: unknown) => e instanceof TimeoutError && e.cause instanceof Error && e.cause.message.includes(address),
        );
        const took = Date.now() - t0;
        assert.ok(took < 3_000, `${op} took ${took} ms`);
        await c.close();
      }
    } finally {
      for (const sock of sockets) sock.destroy();
      hang.close();
      garbage.close();
    }
  });
});

describe('@fjord/client consumer: groups', () => {
  const topic = 'consumer-group-6';
  before(async () => {
    await createTopic(topic, 6);
    await produceCk(broker.bootstrap, topic, makeRecords(300, { tag: 'g', baseTimestamp: 1_700_000_000_000 }));
  });

  for (const strategy of ['range', 'cooperative-sticky'] as const) {
    test(`${strategy}: two then three Fjord members get disjoint complete assignments; a member's close moves its partitions`, { timeout: 40_000 }, async () => {
      const group = `consumer-${strategy}`;
      const revoked: number[][] = [];
      const mk = (): Consumer => {
        const c = consumer({ groupId: group, partitionAssignmentStrategy: [strategy] }, { onPartitionsRevoked: (ps) => void revoked.push(partitionsOf(ps)) });
        c.subscribe([topic]);
        return c;
      };
      const [a, b, c3] = [mk(), mk(), mk()];
      const da = drain(a);
      const db = drain(b);
      await waitFor('two members balanced', 15_000, () => disjointComplete([partitionsOf(a.assignment()), partitionsOf(b.assignment())], 6));
      const dc = drain(c3);
      await waitFor('three members balanced', 15_000, () => disjointComplete([a, b, c3].map((x) => partitionsOf(x.assignment())), 6));
      assert.ok([a, b, c3].every((x) => x.assignment().length === 2));
      const bBefore = partitionsOf(b.assignment());
      // Revocations before this point depend on whether a joined alone first (then it gives up 3).
      const revokedBefore = revoked.length;
      await db.stop();
      await b.close();
      await waitFor('two members after a close', 15_000, () => disjointComplete([partitionsOf(a.assignment()), partitionsOf(c3.assignment())], 6));
      if (strategy === 'cooperative-sticky') {
        // Sticky: only b's partitions moved, and nobody revoked more than what it gave up.
        assert.ok(revoked.slice(revokedBefore).every((r) => r.length <= 2), `revocations ${JSON.stringify(revoked)} (from index ${revokedBefore})`);
        assert.ok(bBefore.every((p) => a.assignment().some((x) => x.partition === p) || c3.assignment().some((x) => x.partition === p)));
      }
      await Promise.all([da.stop(), dc.stop()]);
      const seen = new Set([...da.records, ...db.records, ...dc.records].map((r) => `${r.partition}@${r.offset}`));
      assert.equal(seen.size, 300, 'every record read by some member');
    });
  }

  test('KIP-848 (groupProtocol consumer): one, two, three Fjord members get disjoint complete assignments; a close moves partitions; offsets commit with the member epoch', { timeout: 40_000 }, async () => {
    const group = 'consumer-kip848';
    const mk = (): Consumer => {
      const c = consumer({ groupId: group, groupProtocol: 'consumer', autoCommitIntervalMs: 200 });
      c.subscribe([topic]);
      return c;
    };
    const a = mk();
    const da = drain(a);
    await waitFor('one member owns everything', 15_000, () => disjointComplete([partitionsOf(a.assignment())], 6));
    const b = mk();
    const db = drain(b);
    await waitFor('two members balanced', 15_000, () => disjointComplete([a, b].map((x) => partitionsOf(x.assignment())), 6));
    const c3 = mk();
    const dc = drain(c3);
    // Reconciliation is incremental: an assignment can be disjoint and complete (3, 2, 1) before a
    // revocation finishes; balanced means 2 each.
    await waitFor('three members balanced', 15_000, () => {
      const sets = [a, b, c3].map((x) => partitionsOf(x.assignment()));
      const ok = disjointComplete(sets, 6);
      return ok === true && sets.every((s) => s.length === 2) ? true : `${ok === true ? '' : ok} sizes ${sets.map((s) => s.length).join(',')}`;
    });
    await db.stop();
    await b.close();
    await waitFor('two members after a close', 15_000, () => disjointComplete([partitionsOf(a.assignment()), partitionsOf(c3.assignment())], 6));
    await waitFor('every record read', 15_000, () => new Set([...da.records, ...db.records, ...dc.records].map((r) => `${r.partition}@${r.offset}`)).size === 300);
    await Promise.all([da.stop(), dc.stop()]);
    await Promise.all([a.close(), c3.close()]); // auto commit on close, with the member epoch
    const check = consumer({ groupId: group });
    const all = [0, 1, 2, 3, 4, 5].map((partition) => ({ topic, partition }));
    assert.deepEqual((await check.committed(all)).map((x) => x.offset), (await check.endOffsets(all)).map((x) => x.offset));
  });

  test('KIP-848 static membership: a member that closes (epoch -2) and comes back with its instance id gets its partitions back; the other keeps its own', { timeout: 30_000 }, async () => {
    const group = 'consumer-kip848-static';
    const events: string[] = [];
    const mk = (id: string): Consumer => {
      const c = consumer({ groupId: group, groupProtocol: 'consumer', groupInstanceId: id }, {
        onPartitionsAssigned: (ps) => void (ps.length > 0 && events.push(`${id} assigned ${partitionsOf(ps).join(',')}`)),
        onPartitionsRevoked: (ps) => void events.push(`${id} revoked ${partitionsOf(ps).join(',')}`),
      });
      c.subscribe([topic]);
      return c;
    };
    const a = mk('k-a');
    const da = drain(a);
    await waitFor('the first member owns everything', 10_000, () => a.assignment().length === 6);
    const b = mk('k-b');
    const db = drain(b);
    await waitFor('two static members balanced', 15_000, () => disjointComplete([partitionsOf(a.assignment()), partitionsOf(b.assignment())], 6));
    const aHad = partitionsOf(a.assignment());
    const bHad = partitionsOf(b.assignment());
    await da.stop();
    await a.close();
    const mark = events.length;
    const a2 = mk('k-a');
    const da2 = drain(a2);
    await waitFor('the returning member has its partitions', 10_000, () => partitionsOf(a2.assignment()).join(',') === aHad.join(',') || partitionsOf(a2.assignment()).join(','));
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(partitionsOf(b.assignment()), bHad);
    assert.deepEqual(events.slice(mark).filter((e) => e.startsWith('k-b')), [], 'the other member was not touched');
    await Promise.all([da2.stop(), db.stop()]);
  });

  for (const groupProtocol of ['classic', 'consumer'] as const) {
    test(`${groupProtocol} protocol: subscribe() again with other topics moves the member to them`, { timeout: 20_000 }, async () => {
      const other = 'consumer-resubscribe';
      await createTopic(`${other}-${groupProtocol}`, 2);
      const c = consumer({ groupId: `consumer-resub-${groupProtocol}`, groupProtocol });
      c.subscribe([`${other}-${groupProtocol}`]);
      const d = drain(c);
      await waitFor('the first topic assigned', 10_000, () => c.assignment().length === 2 || JSON.stringify(c.assignment()));
      c.subscribe([topic]);
      await waitFor('the second topic assigned instead', 10_000, () => (c.assignment().length === 6 && c.assignment().every((p) => p.topic === topic)) || JSON.stringify(c.assignment()));
      await d.stop();
    });
  }

  test('committed offsets are resumed after a restart (manual commit, then auto commit)', { timeout: 40_000 }, async () => {
    const group = 'consumer-resume';
    const c1 = consumer({ groupId: group, enableAutoCommit: false });
    c1.subscribe([topic]);
    const first = await readN(c1, 100);
    await c1.commit();
    const positions = new Map(c1.assignment().map((p) => [p.partition, c1.position(p)!]));
    const committed = await c1.committed(c1.assignment());
    assert.deepEqual(committed.map((x) => [x.partition, x.offset]), [...positions].sort((x, y) => x[0] - y[0]));
    await c1.close();

    const c2 = consumer({ groupId: group, autoCommitIntervalMs: 100 });
    c2.subscribe([topic]);
    const rest = await readN(c2, 300 - first.length, 20_000, 300);
    const seen = new Set([...first, ...rest].map((r) => `${r.partition}@${r.offset}`));
    assert.equal(rest.length, 300 - first.length, 'no record read twice after the commit');
    assert.equal(seen.size, 300);
    await c2.close(); // commits what was processed

    const c3 = consumer({ groupId: group });
    c3.assign([0, 1, 2, 3, 4, 5].map((partition) => ({ topic, partition })));
    const ends = await c3.endOffsets(c3.assignment());
    const after = await c3.committed(c3.assignment());
    assert.deepEqual(after.map((x) => x.offset), ends.map((x) => x.offset), 'auto commit on close stored the end of every partition');
  });

  test('heartbeats never starve: a handler busy for 3 session timeouts keeps its membership, and a rebalance still completes meanwhile', { timeout: 40_000 }, async () => {
    const group = 'consumer-slow';
    const lost: number[][] = [];
    const a = consumer({ groupId: group, sessionTimeoutMs: 1_500, heartbeatIntervalMs: 200 }, { onPartitionsLost: (ps) => void lost.push(partitionsOf(ps)) });
    a.subscribe([topic]);
    let busy = 0;
    const ac = new AbortController();
    const running = a.run({
      signal: ac.signal,
      eachBatch: async () => {
        if (busy++ === 0) await new Promise((r) => setTimeout(r, 4_500));
      },
    });
    await waitFor('the first member owns every partition', 10_000, () => a.assignment().length === 6 || String(a.assignment().length));
    const generation = a.groupMetadata()!.generationId;
    await waitFor('the handler is busy', 5_000, () => busy > 0);
    await new Promise((r) => setTimeout(r, 3_000));
    assert.equal(a.groupMetadata()!.generationId, generation, 'no new generation: the member was never dropped');
    assert.deepEqual(lost, []);
    const b = consumer({ groupId: group, sessionTimeoutMs: 1_500, heartbeatIntervalMs: 200 });
    b.subscribe([topic]);
    const db = drain(b);
    await waitFor('two members balanced', 15_000, () => disjointComplete([partitionsOf(a.assignment()), partitionsOf(b.assignment())], 6));
    assert.deepEqual(lost, []);
    ac.abort();
    await running;
    await db.stop();
  });

  test('static membership: a member that closes and comes back with its group.instance.id gets its partitions back without a rebalance', { timeout: 40_000 }, async () => {
    const group = 'consumer-static';
    const events: string[] = [];
    const mk = (id: string): Consumer => {
      const c = consumer({ groupId: group, groupInstanceId: id, sessionTimeoutMs: 10_000 }, {
        onPartitionsAssigned: (ps) => void events.push(`${id} assigned ${partitionsOf(ps).join(',')}`),
        onPartitionsRevoked: (ps) => void events.push(`${id} revoked ${partitionsOf(ps).join(',')}`),
      });
      c.subscribe([topic]);
      return c;
    };
    const a = mk('static-a');
    const b = mk('static-b');
    const da = drain(a);
    const db = drain(b);
    await waitFor('two static members balanced', 15_000, () => disjointComplete([partitionsOf(a.assignment()), partitionsOf(b.assignment())], 6));
    const aHad = partitionsOf(a.assignment());
    const bHad = partitionsOf(b.assignment());
    const mark = events.length;
    await da.stop();
    await a.close(); // a static member sends no LeaveGroup
    const a2 = mk('static-a');
    const da2 = drain(a2);
    await waitFor('the returning member is assigned', 10_000, () => a2.assignment().length > 0);
    assert.deepEqual(partitionsOf(a2.assignment()), aHad, 'same partitions back');
    await new Promise((r) => setTimeout(r, 1_000));
    assert.deepEqual(partitionsOf(b.assignment()), bHad);
    assert.deepEqual(events.slice(mark).filter((e) => e.startsWith('static-b')), [], 'the other member saw no rebalance');
    await Promise.all([da2.stop(), db.stop()]);
  });

  test('partitions added to a subscribed topic are assigned after the next metadata refresh', { timeout: 30_000 }, async () => {
    const grow = 'consumer-grow';
    await createTopic(grow, 2);
    const c = consumer({ groupId: 'consumer-grow-g', metadataMaxAgeMs: 500 });
    c.subscribe([grow]);
    const d = drain(c);
    await waitFor('two partitions assigned', 10_000, () => c.assignment().length === 2 || String(c.assignment().length));
    await py('ck', 'create_partitions', { bootstrap: broker.bootstrap, topics: [{ topic: grow, total: 4 }] });
    await waitFor('four partitions assigned', 15_000, () => c.assignment().length === 4 || String(c.assignment().length));
    await d.stop();
  });

  test('regression: committed() and commit() before any metadata sent OffsetCommit/OffsetFetch v10 without topic ids (UNKNOWN_TOPIC_ID until the timeout)', { timeout: 20_000 }, async () => {
    const fresh = consumer({ groupId: 'consumer-fresh', defaultApiTimeoutMs: 5_000 });
    await fresh.commit([{ topic, partition: 1, offset: 7 }]);
    const other = consumer({ groupId: 'consumer-fresh', defaultApiTimeoutMs: 5_000 });
    assert.deepEqual(await other.committed([{ topic, partition: 1 }]), [{ topic, partition: 1, offset: 7n }]);
  });

  test('regression: committed() before subscribe() made a commit-only group that subscribe() then used, so the member never joined', { timeout: 20_000 }, async () => {
    const c = consumer({ groupId: 'consumer-committed-first' });
    assert.deepEqual(await c.committed([{ topic, partition: 0 }]), [{ topic, partition: 0, offset: -1n }]);
    c.subscribe([topic]);
    const d = drain(c);
    await waitFor('assigned every partition', 10_000, () => c.assignment().length === 6 || String(c.assignment().length));
    await d.stop();
  });

  for (const strategy of ['range', 'cooperative-sticky'] as const) {
    test(`${strategy}: a group of one Fjord consumer and one confluent-kafka member`, { timeout: 40_000 }, async () => {
      const group = `consumer-mixed-${strategy}`;
      const m = startMember(`ck-${strategy}`, 'ck', broker.bootstrap, { group, topic, strategy, commit: 'none', heartbeat_ms: 200, max_seconds: 60 });
      members.push(m);
      await waitFor('the confluent member is assigned everything', 20_000, () => (m.assignment()?.length === 6) || `${JSON.stringify(m.assignment())}`);
      const f = consumer({ groupId: group, partitionAssignmentStrategy: [strategy] });
      f.subscribe([topic]);
      const d = drain(f);
      await waitFor('both members balanced', 20_000, () => disjointComplete([m.assignment() ?? [], partitionsOf(f.assignment())], 6));
      await m.stop();
      await waitFor('the Fjord consumer takes over every partition', 20_000, () => partitionsOf(f.assignment()).length === 6 || partitionsOf(f.assignment()).join(','));
      await d.stop();
    });
  }
});

describe('@fjord/client consumer: transactions', () => {
  test('read_committed skips a transaction confluent-kafka aborted; read_uncommitted returns it', { timeout: 60_000 }, async () => {
    const topic = 'consumer-txn';
    await createTopic(topic, 1);
    const s = new TxnSession(broker.bootstrap);
    try {
      await s.ok('producer', { name: 'p', transactional_id: 'consumer-txn-1' });
      await s.ok('init', { p: 'p' });
      await s.ok('begin', { p: 'p' });
      await s.ok('produce', { p: 'p', topic, records: [1, 2, 3, 4].map((i) => ({ key: `k${i}`, value: `aborted-${i}`, partition: 0 })) });
      await s.ok('abort', { p: 'p' });
      await s.ok('begin', { p: 'p' });
      await s.ok('produce', { p: 'p', topic, records: [1, 2].map((i) => ({ key: `k${i}`, value: `committed-${i}`, partition: 0 })) });
      await s.ok('commit', { p: 'p' });
    } finally {
      await s.close();
    }
    const tp = [{ topic, partition: 0 }];
    const rc = consumer({ isolationLevel: 'read_committed' });
    rc.assign(tp);
    const committed = await readN(rc, 2, 15_000, 300);
    assert.deepEqual(committed.map((r) => r.value), ['committed-1', 'committed-2']);
    const ru = consumer({ isolationLevel: 'read_uncommitted' });
    ru.assign(tp);
    const everything = await readN(ru, 6, 15_000, 300);
    assert.deepEqual(everything.map((r) => r.value), ['aborted-1', 'aborted-2', 'aborted-3', 'aborted-4', 'committed-1', 'committed-2']);
  });
});

describe('@fjord/client consumer: Fjord transactions', () => {
  test('read_committed drops a Fjord producer\'s aborted transaction interleaved with another producer\'s committed one', { timeout: 60_000 }, async () => {
    const topic = 'consumer-txn-fjord';
    await createTopic(topic, 1);
    const p1 = new Producer({ bootstrapServers: broker.bootstrap, transactionalId: 'consumer-txn-a', lingerMs: 0 });
    const p2 = new Producer({ bootstrapServers: broker.bootstrap, transactionalId: 'consumer-txn-b', lingerMs: 0 });
    try {
      await Promise.all([p1.initTransactions(), p2.initTransactions()]);
      p1.beginTransaction();
      p2.beginTransaction();
      for (let i = 0; i < 3; i++) {
        await p1.send({ topic, partition: 0, key: 'a', value: `aborted-${i}` });
        await p2.send({ topic, partition: 0, key: 'b', value: `committed-${i}` });
      }
      await p1.abortTransaction();
      await p2.commitTransaction();
    } finally {
      await Promise.all([p1.close(), p2.close()]);
    }
    const rc = consumer({ isolationLevel: 'read_committed' });
    rc.assign([{ topic, partition: 0 }]);
    const got = await readN(rc, 3, 15_000, 300);
    assert.deepEqual(got.map((r) => r.value), ['committed-0', 'committed-1', 'committed-2']);
    const ru = consumer({ isolationLevel: 'read_uncommitted' });
    ru.assign([{ topic, partition: 0 }]);
    const all = await readN(ru, 6, 15_000, 300);
    assert.deepEqual(all.map((r) => r.value).sort(), ['aborted-0', 'aborted-1', 'aborted-2', 'committed-0', 'committed-1', 'committed-2'], 'the aborted records are in the log');
  });
});

describe('@fjord/client consumer: broker failure', () => {
  test('the broker is killed (-9) and restarted under a consuming group member: it reconnects by itself, keeps its committed offsets and reads what comes next', { timeout: 60_000 }, async () => {
    const topic = 'consumer-crash';
    await createTopic(topic, 2);
    await produceCk(broker.bootstrap, topic, makeRecords(100, { tag: 'before', baseTimestamp: 1_700_000_000_000 }));
    const c = consumer({ groupId: 'consumer-crash-g', autoCommitIntervalMs: 100, reconnectBackoffMaxMs: 200, retryBackoffMaxMs: 200 });
    c.subscribe([topic]);
    const d = drain(c);
    await waitFor('the first 100 records', 15_000, () => d.records.length >= 100 || String(d.records.length));
    await c.commit();
    await broker.kill9();
    await broker.restart();
    assert.equal(broker.bootstrap.endsWith(':' + String(broker.port)), true);
    await produceCk(broker.bootstrap, topic, makeRecords(50, { tag: 'after', baseTimestamp: 1_700_000_100_000 }));
    await waitFor('the 50 records written after the restart', 30_000, () => d.records.length >= 150 || String(d.records.length));
    await d.stop();
    const seen = d.records.map((r) => `${r.partition}@${r.offset}`);
    assert.equal(new Set(seen).size, 150, 'nothing read twice: the position survived the restart');
    assert.equal(d.records.filter((r) => r.value!.startsWith('after|')).length, 50);
    await c.close(); // commits the processed positions
    await broker.kill9();
    await broker.restart();
    await produceCk(broker.bootstrap, topic, makeRecords(10, { tag: 'later', baseTimestamp: 1_700_000_200_000 }));
    const again = consumer({ groupId: 'consumer-crash-g' });
    again.subscribe([topic]);
    const later = await readN(again, 10, 20_000, 500);
    assert.deepEqual(later.map((r) => r.value!.split('|')[0]), Array(10).fill('later'), 'a new member resumes from the offsets committed before the crash');
  });
});
