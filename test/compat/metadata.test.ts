// Acceptance: metadata from every client (kcat -L, confluent-kafka-python, kafka-python, KafkaJS):
// the broker id, its advertised address, the controller, topics with leader/replicas/ISR; topic
// auto-creation with num.partitions; --advertised-listener and --config (server.properties).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBroker, type Broker } from '../harness/broker.js';
import { kcatMetadata, kcatProduceOk } from '../harness/kcat.js';
import { makeKafkaJs } from '../harness/kafkajs.js';
import { py } from '../harness/python.js';
import { ConfigSource, createTopics, Err } from '../harness/fixtures.js';
import { makeTempDir, removeTempDir, waitFor } from '../harness/util.js';
import { metadata, withConnection } from '../harness/wire.js';

const nodeId = 7; // not the default, so a hard-coded id shows up
let broker: Broker;
const topic = 'meta-three';

before(async () => {
  broker = await startBroker({ nodeId, configs: { 'num.partitions': 4, 'auto.create.topics.enable': true } });
  await createTopics(broker.bootstrap, [{ name: topic, num_partitions: 3 }]);
}, { timeout: 180_000 });
after(async () => {
  await broker?.dispose();
}, { timeout: 180_000 });

describe('metadata', () => {
  test('kcat -L', { timeout: 60_000 }, async () => {
    const md = await kcatMetadata(broker.bootstrap);
    assert.deepEqual(md.brokers, [{ id: nodeId, name: broker.bootstrap }]);
    const t = md.topics.find((x) => x.topic === topic);
    assert.ok(t, `topic ${topic} missing from ${JSON.stringify(md.topics.map((x) => x.topic))}`);
    assert.equal(t.error, undefined);
    assert.deepEqual(
      t.partitions.map((p) => [p.partition, p.leader, p.replicas.map((r) => r.id), p.isrs.map((r) => r.id)]).sort(),
      [0, 1, 2].map((p) => [p, nodeId, [nodeId], [nodeId]]),
    );
  });

  test('confluent-kafka-python list_topics', { timeout: 60_000 }, async () => {
    const md = await py('ck', 'metadata', { bootstrap: broker.bootstrap });
    assert.deepEqual(md.brokers, [{ id: nodeId, host: broker.host, port: broker.port }]);
    assert.equal(md.controller_id, nodeId);
    assert.equal(typeof md.cluster_id, 'string');
    assert.ok(md.cluster_id.length > 0, 'cluster id is empty');
    const t = md.topics[topic];
    assert.ok(t, 'topic missing');
    assert.equal(t.error, null);
    for (const p of ['0', '1', '2']) assert.deepEqual(t.partitions[p], { leader: nodeId, replicas: [nodeId], isrs: [nodeId], error: null });
    assert.equal(Object.keys(t.partitions).length, 3);
  });

  test('kafka-python KafkaAdminClient describe_cluster / describe_topics', { timeout: 60_000 }, async () => {
    const md = await py('kp', 'metadata', { bootstrap: broker.bootstrap, topics: [topic] });
    assert.deepEqual(md.cluster.brokers, [{ id: nodeId, host: broker.host, port: broker.port }]);
    assert.equal(md.cluster.controller_id, nodeId);
    const t = md.topics[topic];
    assert.equal(t.error_code, 0);
    for (const p of ['0', '1', '2']) assert.deepEqual(t.partitions[p], { leader: nodeId, replicas: [nodeId], isr: [nodeId], error_code: 0 });
  });

  test('KafkaJS admin fetchTopicMetadata / describeCluster', { timeout: 60_000 }, async () => {
    const { kafka, log } = makeKafkaJs(broker.bootstrap);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      assert.deepEqual(cluster.brokers, [{ nodeId, host: broker.host, port: broker.port }]);
      assert.equal(cluster.controller, nodeId);
      assert.ok(cluster.clusterId.length > 0);
      const md = await admin.fetchTopicMetadata({ topics: [topic] });
      const t = md.topics[0]!;
      assert.equal(t.name, topic);
      assert.deepEqual(
        t.partitions.map((p) => [p.partitionId, p.leader, p.replicas, p.isr, p.partitionErrorCode]).sort(),
        [0, 1, 2].map((p) => [p, nodeId, [nodeId], [nodeId], 0]),
      );
      const names = await admin.listTopics();
      assert.ok(names.includes(topic), `listTopics: ${names.join(',')}`);
    } catch (e) {
      throw new Error(`${(e as Error).message}\nKafkaJS log:\n${log.join('\n')}`, { cause: e });
    } finally {
      await admin.disconnect();
    }
  });

  test('producing to an unknown topic auto-creates it with num.partitions', { timeout: 60_000 }, async () => {
    const auto = 'meta-auto-created';
    await kcatProduceOk(broker.bootstrap, auto, [{ key: 'k', value: 'v', headers: [] }]);
    const md = await waitFor('auto-created topic in metadata', async () => {
      const m = await kcatMetadata(broker.bootstrap, auto);
      const t = m.topics.find((x) => x.topic === auto);
      return t && t.partitions.length > 0 ? t : undefined;
    }, { timeoutMs: 15_000 });
    assert.equal(md.partitions.length, 4, 'num.partitions=4 from --set');
  });
});

describe('listener and config file options', () => {
  let second: Broker | undefined;
  let dir: string | undefined;
  after(async () => {
    await second?.dispose();
    if (dir) await removeTempDir(dir);
  }, { timeout: 180_000 });

  test('--advertised-listener and --config server.properties are honoured', { timeout: 60_000 }, async () => {
    dir = await makeTempDir('fjord-props-');
    const props = join(dir, 'server.properties');
    await writeFile(props, ['# a Kafka-style properties file', 'num.partitions=5', 'auto.create.topics.enable=false', 'log.retention.hours=72', ''].join('\n'));
    second = await startBroker({ nodeId: 2, extraArgs: ['--config', props, '--advertised-listener', 'fjord-advertised.invalid:19092'] });
    const md = await withConnection(second.host, second.port, (c) => metadata(c, ['meta-no-such-topic']));
    assert.deepEqual(md.brokers, [{ nodeId: 2, host: 'fjord-advertised.invalid', port: 19092 }]);
    assert.equal(md.controllerId, 2);
    // auto.create.topics.enable=false from the file: an unknown topic is reported, not created.
    assert.deepEqual(md.topics.map((t) => [t.name, t.errorCode]), [['meta-no-such-topic', Err.UNKNOWN_TOPIC_OR_PARTITION]]);
    const again = await withConnection(second.host, second.port, (c) => metadata(c, null));
    assert.deepEqual(again.topics.map((t) => t.name), [], 'no topic was created');
  });

  test('--config values show in DescribeConfigs as STATIC_BROKER_CONFIG', { timeout: 60_000 }, async () => {
    assert.ok(dir, 'previous test did not write the properties file');
    // Without the unreachable advertised address this time, so that clients can follow metadata.
    await second?.dispose();
    second = await startBroker({ nodeId: 2, extraArgs: ['--config', join(dir!, 'server.properties')] });
    const res = await py('ck', 'describe_configs', { bootstrap: second.bootstrap, resources: [{ type: 'broker', name: '2' }] });
    const cfg = res.configs['2'];
    assert.ok(cfg, `no broker configs: ${JSON.stringify(res.errors)}`);
    assert.equal(cfg['num.partitions']?.value, '5');
    assert.equal(cfg['num.partitions']?.source, ConfigSource.STATIC_BROKER_CONFIG);
    assert.equal(cfg['log.retention.hours']?.value, '72');
    assert.equal(cfg['auto.create.topics.enable']?.value, 'false');
    assert.equal(cfg['log.segment.bytes']?.value, '1073741824');
    assert.equal(cfg['log.segment.bytes']?.source, ConfigSource.DEFAULT_CONFIG);
  });
});
