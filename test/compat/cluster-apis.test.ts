// The remaining issue-2 APIs, which none of the installed clients exposes directly, over raw requests:
// DescribeCluster (agrees with Metadata as clients see it), OffsetForLeaderEpoch (end offset of the
// current epoch, fencing of a future epoch) and DescribeLogDirs (the data dir and the real size of
// each partition's segment files).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { realpathSync } from 'node:fs';
import { startBroker, type Broker } from '../harness/broker.js';
import { py } from '../harness/python.js';
import { createTopics, produceCk } from '../harness/fixtures.js';
import { segments } from '../harness/datadir.js';
import { batchesOf, describeCluster, describeLogDirs, encodeBatch, fetch, listOffsetsV7, metadataV12, offsetForLeaderEpoch, produce, RawConnection, withConnection } from '../harness/wire.js';

const topic = 'cluster-apis';
const nodeId = 5;
let broker: Broker;

before(async () => {
  broker = await startBroker({ nodeId });
  await createTopics(broker.bootstrap, [{ name: topic, num_partitions: 2, config: { 'segment.bytes': '8192' } }]);
  for (const partition of [0, 1])
    await produceCk(broker.bootstrap, topic, Array.from({ length: 150 + partition * 50 }, (_, i) => ({ key: `k${i}`, value: `v${i}-${'x'.repeat(100)}`, headers: [], partition })), {
      config: { 'batch.num.messages': 10, 'linger.ms': 0 },
    });
}, { timeout: 180_000 });
after(async () => {
  await broker?.dispose();
}, { timeout: 180_000 });

describe('DescribeCluster, OffsetForLeaderEpoch, DescribeLogDirs', () => {
  test('DescribeCluster agrees with Metadata', { timeout: 30_000 }, async () => {
    const md = await py('ck', 'metadata', { bootstrap: broker.bootstrap });
    const dc = await withConnection(broker.host, broker.port, (c) => describeCluster(c));
    assert.deepEqual(dc, { errorCode: 0, clusterId: md.cluster_id, controllerId: nodeId, brokers: [{ nodeId, host: broker.host, port: broker.port }] });
  });

  test('OffsetForLeaderEpoch: the current epoch ends at the log end offset; a future epoch is UNKNOWN_LEADER_EPOCH', { timeout: 30_000 }, async () => {
    await withConnection(broker.host, broker.port, async (c) => {
      const [p1] = await listOffsetsV7(c, topic, [{ partition: 1, timestamp: -1 }]);
      assert.equal(p1!.offset, 200);
      const epoch = p1!.leaderEpoch;
      assert.ok(epoch >= 0, `leader epoch ${epoch}`);
      assert.deepEqual(await offsetForLeaderEpoch(c, topic, 1, epoch, epoch), { errorCode: 0, partition: 1, leaderEpoch: epoch, endOffset: 200 });
      const future = await offsetForLeaderEpoch(c, topic, 1, epoch + 1, epoch);
      assert.equal(future.errorCode, 75, `UNKNOWN_LEADER_EPOCH expected: ${JSON.stringify(future)}`);
      const missing = await offsetForLeaderEpoch(c, topic, 9, -1, epoch);
      assert.equal(missing.errorCode, 3, `UNKNOWN_TOPIC_OR_PARTITION expected: ${JSON.stringify(missing)}`);
    });
  });

  test('DescribeLogDirs reports the data dir and each partition’s segment bytes', { timeout: 30_000 }, async () => {
    const dirs = await withConnection(broker.host, broker.port, (c) => describeLogDirs(c));
    assert.equal(dirs.length, 1);
    const d = dirs[0]!;
    assert.equal(d.errorCode, 0);
    assert.equal(realpathSync(d.logDir), realpathSync(broker.dataDir));
    const t = d.topics.find((x) => x.name === topic);
    assert.ok(t, `topic missing from ${JSON.stringify(d.topics.map((x) => x.name))}`);
    for (const partition of [0, 1]) {
      const onDisk = (await segments(broker.dataDir, topic, partition)).reduce((n, s) => n + s.bytes, 0);
      const reported: unknown = t.partitions.find((x) => x.partition === partition);
      assert.deepEqual(reported, { partition, size: onDisk, offsetLag: 0, isFuture: false });
    }
  });

  test('Fetch long-poll: waits max.wait.ms when there is nothing, completes as soon as a record arrives', { timeout: 60_000 }, async () => {
    const reader = await RawConnection.open(broker.host, broker.port);
    const writer = await RawConnection.open(broker.host, broker.port);
    try {
      let started = Date.now();
      const empty = await fetch(reader, topic, 0, 150, { maxWaitMs: 1000, minBytes: 1 });
      const waited = Date.now() - started;
      assert.equal(empty.errorCode, 0);
      assert.equal(batchesOf(empty.records).length, 0);
      assert.ok(waited >= 900 && waited < 4000, `an empty long-poll returned after ${waited} ms, expected about 1000`);

      started = Date.now();
      const pending = fetch(reader, topic, 0, 150, { maxWaitMs: 10_000, minBytes: 1 });
      await new Promise((r) => setTimeout(r, 300));
      const [p] = await produce(writer, topic, [{ partition: 0, records: encodeBatch([{ key: 'wake', value: 'up' }]) }]);
      assert.equal(p!.errorCode, 0);
      const woken = await pending;
      const took = Date.now() - started;
      assert.equal(woken.errorCode, 0);
      assert.deepEqual(batchesOf(woken.records).map((b) => b.baseOffset), [150]);
      assert.ok(took < 3000, `the long-poll was not completed by the produce: it took ${took} ms of its 10,000`);
    } finally {
      reader.close();
      writer.close();
    }
  });

  test('Fetch beyond the log end is OFFSET_OUT_OF_RANGE', { timeout: 30_000 }, async () => {
    await withConnection(broker.host, broker.port, async (c) => {
      const r = await fetch(c, topic, 1, 5000);
      assert.equal(r.errorCode, 1, JSON.stringify({ ...r, records: r.records?.length }));
      assert.equal(r.highWatermark, 200);
    });
  });

  test('Metadata v12: topic ids are set, unique, and new for a re-created topic; leader epochs match ListOffsets', { timeout: 60_000 }, async () => {
    const zero = '0'.repeat(32);
    const idOf = async (name: string): Promise<string> => {
      const md = await withConnection(broker.host, broker.port, (c) => metadataV12(c, [name]));
      const t = md.topics.find((x) => x.name === name);
      assert.ok(t && t.errorCode === 0, `Metadata v12 for ${name}: ${JSON.stringify(md.topics)}`);
      return t.topicId;
    };
    const md = await withConnection(broker.host, broker.port, (c) => metadataV12(c, null));
    const main = md.topics.find((t) => t.name === topic)!;
    assert.notEqual(main.topicId, zero);
    assert.deepEqual(main.partitions.map((p) => [p.partition, p.leader, p.replicas, p.isr]).sort(), [0, 1].map((p) => [p, nodeId, [nodeId], [nodeId]]));
    const epochs = await withConnection(broker.host, broker.port, (c) => listOffsetsV7(c, topic, [{ partition: 0, timestamp: -1 }, { partition: 1, timestamp: -1 }]));
    assert.deepEqual(main.partitions.map((p) => p.leaderEpoch).sort(), epochs.map((e) => e.leaderEpoch).sort());

    await createTopics(broker.bootstrap, [{ name: 'cluster-apis-recreated' }]);
    const first = await idOf('cluster-apis-recreated');
    assert.notEqual(first, zero);
    assert.notEqual(first, main.topicId);
    const del = await py('ck', 'delete_topics', { bootstrap: broker.bootstrap, topics: ['cluster-apis-recreated'] });
    assert.equal(del.results['cluster-apis-recreated'], null);
    await createTopics(broker.bootstrap, [{ name: 'cluster-apis-recreated' }]);
    const second = await idOf('cluster-apis-recreated');
    assert.notEqual(second, zero);
    assert.notEqual(second, first, 'a re-created topic gets a new topic id');
  });
});
