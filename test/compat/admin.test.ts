// Acceptance: create, describe, alter and delete topics and configs, and create partitions, from each
// client's admin API: confluent-kafka-python (AdminClient), kafka-python (KafkaAdminClient) and KafkaJS
// (admin). kcat has no admin mode. IncrementalAlterConfigs and DeleteRecords are not in the admin APIs
// of the installed client versions (confluent-kafka-python 1.7, kafka-python 2.0.2, KafkaJS 2.2.4 has
// DeleteRecords only), so they go through kafka-python's protocol layer, KafkaJS and raw requests.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type Broker } from '../harness/broker.js';
import { kcatMetadata } from '../harness/kcat.js';
import { makeKafkaJs } from '../harness/kafkajs.js';
import { py } from '../harness/python.js';
import { ConfigSource, consumeCk, createTopics, Err, produceCk, watermarksCk } from '../harness/fixtures.js';
import { waitFor } from '../harness/util.js';
import { ConfigOp, incrementalAlterConfigs, withConnection } from '../harness/wire.js';

let broker: Broker;
before(async () => {
  broker = await startBroker();
}, { timeout: 180_000 });
after(async () => {
  await broker?.dispose();
}, { timeout: 180_000 });

interface ConfigView {
  value: string | null;
  source?: number;
}

/** What every client's admin API offers, mapped to Kafka error codes (0 = success). */
interface AdminAdapter {
  name: string;
  createTopic(name: string, partitions: number, config: Record<string, string>, validateOnly?: boolean): Promise<number>;
  deleteTopic(name: string): Promise<number>;
  createPartitions(topic: string, total: number): Promise<number>;
  describeTopicConfigs(name: string): Promise<Record<string, ConfigView>>;
  alterTopicConfigs(name: string, configs: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

const codeOf = (e: unknown): number => (e === null || e === undefined ? 0 : ((e as { code: number | null }).code ?? -1));

function pythonAdapter(driver: 'ck' | 'kp', name: string): AdminAdapter {
  const b = () => broker.bootstrap;
  return {
    name,
    async createTopic(topic, partitions, config, validateOnly = false) {
      const r = await py(driver, 'create_topics', { bootstrap: b(), topics: [{ name: topic, num_partitions: partitions, config }], validate_only: validateOnly });
      return codeOf(r.results[topic]);
    },
    async deleteTopic(topic) {
      const r = await py(driver, 'delete_topics', { bootstrap: b(), topics: [topic] });
      return codeOf(r.results[topic]);
    },
    async createPartitions(topic, total) {
      const r = await py(driver, 'create_partitions', { bootstrap: b(), topics: [{ topic, total }] });
      return codeOf(r.results[topic]);
    },
    async describeTopicConfigs(topic) {
      const r = await py(driver, 'describe_configs', { bootstrap: b(), resources: [{ type: 'topic', name: topic }] });
      if (!r.configs[topic]) throw new Error(`describe_configs ${topic}: ${JSON.stringify(r.errors)}`);
      return r.configs[topic];
    },
    async alterTopicConfigs(topic, configs) {
      const r = await py(driver, 'alter_configs', { bootstrap: b(), resources: [{ type: 'topic', name: topic, configs }] });
      return codeOf(r.results[topic]);
    },
    async close() {},
  };
}

function kafkajsErrorCode(e: unknown): number {
  const err = e as { code?: number; type?: string; errors?: unknown[]; cause?: unknown; originalError?: unknown };
  if (typeof err.code === 'number') return err.code;
  if (Array.isArray(err.errors) && err.errors.length > 0) return kafkajsErrorCode(err.errors[0]);
  if (err.originalError) return kafkajsErrorCode(err.originalError);
  if (err.cause) return kafkajsErrorCode(err.cause);
  throw e;
}

async function kafkajsAdapter(): Promise<AdminAdapter> {
  const { kafka, log } = makeKafkaJs(broker.bootstrap);
  const admin = kafka.admin({ retry: { retries: 1 } });
  await admin.connect();
  const guard = async (f: () => Promise<unknown>): Promise<number> => {
    try {
      await f();
      return 0;
    } catch (e) {
      try {
        return kafkajsErrorCode(e);
      } catch {
        throw new Error(`KafkaJS: ${(e as Error).message}\n${log.join('\n')}`, { cause: e });
      }
    }
  };
  return {
    name: 'KafkaJS',
    async createTopic(topic, partitions, config, validateOnly = false) {
      let created = true;
      const code = await guard(async () => {
        created = await admin.createTopics({
          validateOnly,
          waitForLeaders: !validateOnly,
          timeout: 10_000,
          topics: [{ topic, numPartitions: partitions, replicationFactor: 1, configEntries: Object.entries(config).map(([n, v]) => ({ name: n, value: v })) }],
        });
      });
      // KafkaJS reports TOPIC_ALREADY_EXISTS as `false` instead of an error.
      return code === 0 && !created && !validateOnly ? Err.TOPIC_ALREADY_EXISTS : code;
    },
    deleteTopic: (topic) => guard(() => admin.deleteTopics({ topics: [topic], timeout: 10_000 })),
    createPartitions: (topic, count) => guard(() => admin.createPartitions({ topicPartitions: [{ topic, count }], timeout: 10_000 })),
    async describeTopicConfigs(topic) {
      const res = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: topic }] });
      const r = res.resources[0]!;
      if (r.errorCode !== 0) throw new Error(`KafkaJS describeConfigs error ${r.errorCode}`);
      const out: Record<string, ConfigView> = {};
      for (const e of r.configEntries as Array<{ configName: string; configValue: string; configSource?: number }>)
        out[e.configName] = { value: e.configValue, ...(e.configSource === undefined ? {} : { source: e.configSource }) };
      return out;
    },
    alterTopicConfigs: (topic, configs) =>
      guard(() => admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: topic, configEntries: Object.entries(configs).map(([n, v]) => ({ name: n, value: v })) }] })),
    close: () => admin.disconnect(),
  };
}

async function topicPartitions(topic: string): Promise<number | undefined> {
  const md = await kcatMetadata(broker.bootstrap);
  const t = md.topics.find((x) => x.topic === topic);
  return t === undefined || t.error !== undefined ? undefined : t.partitions.length;
}

for (const which of ['confluent-kafka-python', 'kafka-python', 'KafkaJS'] as const) {
  describe(`admin API: ${which}`, () => {
    let admin: AdminAdapter;
    const stem = `adm-${which.replace(/[^a-z]/gi, '').toLowerCase()}`;
    const topic = `${stem}-main`;
    before(async () => {
      admin = which === 'KafkaJS' ? await kafkajsAdapter() : pythonAdapter(which === 'kafka-python' ? 'kp' : 'ck', which);
    }, { timeout: 180_000 });
    after(async () => {
      await admin?.close();
    }, { timeout: 180_000 });

    test('create a topic with configs; duplicates, bad names and validate-only', { timeout: 90_000 }, async () => {
      assert.equal(await admin.createTopic(topic, 2, { 'retention.ms': '123456789', 'cleanup.policy': 'compact' }), Err.NONE);
      assert.equal(await topicPartitions(topic), 2);
      assert.equal(await admin.createTopic(topic, 2, {}), Err.TOPIC_ALREADY_EXISTS, 'second create');
      assert.equal(await admin.createTopic(`${stem}/bad name`, 1, {}), Err.INVALID_TOPIC_EXCEPTION, 'invalid name');
      assert.equal(await admin.createTopic(`${stem}-bad-config`, 1, { 'retention.ms': 'soon' }), Err.INVALID_CONFIG, 'invalid config value');
      assert.equal(await topicPartitions(`${stem}-bad-config`), undefined, 'a rejected topic must not exist');
      assert.equal(await admin.createTopic(`${stem}-validate`, 3, {}, true), Err.NONE, 'validate-only create');
      assert.equal(await topicPartitions(`${stem}-validate`), undefined, 'validate-only must not create the topic');
    });

    test('describe configs: dynamic values and defaults with their sources', { timeout: 60_000 }, async () => {
      const cfg = await admin.describeTopicConfigs(topic);
      assert.equal(cfg['retention.ms']?.value, '123456789');
      assert.equal(cfg['cleanup.policy']?.value, 'compact');
      assert.equal(cfg['segment.bytes']?.value, '1073741824');
      assert.equal(cfg['max.message.bytes']?.value, '1048588');
      if (cfg['retention.ms']?.source !== undefined) {
        assert.equal(cfg['retention.ms'].source, ConfigSource.DYNAMIC_TOPIC_CONFIG);
        assert.equal(cfg['segment.bytes']?.source, ConfigSource.DEFAULT_CONFIG);
      }
    });

    test('alter configs (AlterConfigs replaces the whole set); bad values are refused', { timeout: 60_000 }, async () => {
      assert.equal(await admin.alterTopicConfigs(topic, { 'retention.ms': '3600000', 'segment.ms': '600000' }), Err.NONE);
      const cfg = await admin.describeTopicConfigs(topic);
      assert.equal(cfg['retention.ms']?.value, '3600000');
      assert.equal(cfg['segment.ms']?.value, '600000');
      assert.equal(cfg['cleanup.policy']?.value, 'delete', 'cleanup.policy was not in the new set, so it returns to its default');
      assert.equal(await admin.alterTopicConfigs(topic, { 'retention.ms': 'not-a-number' }), Err.INVALID_CONFIG);
      assert.equal(await admin.alterTopicConfigs(topic, { 'no.such.config': '1' }), Err.INVALID_CONFIG);
      assert.equal((await admin.describeTopicConfigs(topic))['retention.ms']?.value, '3600000', 'a refused alter changes nothing');
      assert.equal(await admin.alterTopicConfigs(`${stem}-missing`, { 'retention.ms': '1000' }), Err.UNKNOWN_TOPIC_OR_PARTITION);
    });

    test('create partitions; shrinking is refused', { timeout: 60_000 }, async () => {
      assert.equal(await admin.createPartitions(topic, 5), Err.NONE);
      assert.equal(await waitFor('5 partitions', async () => ((await topicPartitions(topic)) === 5 ? 5 : undefined), { timeoutMs: 10_000 }), 5);
      assert.equal(await admin.createPartitions(topic, 3), Err.INVALID_PARTITIONS);
      assert.equal(await topicPartitions(topic), 5);
    });

    test('delete the topic; deleting it again is UNKNOWN_TOPIC_OR_PARTITION', { timeout: 60_000 }, async () => {
      assert.equal(await admin.deleteTopic(topic), Err.NONE);
      await waitFor('topic gone from metadata', async () => (await topicPartitions(topic)) === undefined, { timeoutMs: 10_000 });
      assert.equal(await admin.deleteTopic(topic), Err.UNKNOWN_TOPIC_OR_PARTITION);
      // The name is reusable, and the new topic starts empty.
      assert.equal(await admin.createTopic(topic, 1, {}), Err.NONE);
      const marks = await watermarksCk(broker.bootstrap, topic, [0]);
      assert.deepEqual(marks[0], [0, 0]);
    });
  });
}

describe('IncrementalAlterConfigs', () => {
  const topic = 'adm-incremental';
  before(async () => {
    await createTopics(broker.bootstrap, [{ name: topic, num_partitions: 1, config: { 'retention.ms': '1000000' } }]);
  }, { timeout: 180_000 });

  const describeTopic = async (): Promise<Record<string, ConfigView>> => {
    const r = await py('ck', 'describe_configs', { bootstrap: broker.bootstrap, resources: [{ type: 'topic', name: topic }] });
    return r.configs[topic];
  };

  test('kafka-python (IncrementalAlterConfigs v0 on its protocol layer): set, delete, append, subtract', { timeout: 60_000 }, async () => {
    const inc = async (ops: Array<{ name: string; op: string; value?: string | null }>, name = topic): Promise<number> => {
      const r = await py('kp', 'incremental_alter_configs', { bootstrap: broker.bootstrap, resources: [{ type: 'topic', name, ops }] });
      return codeOf(r.results[name]);
    };
    assert.equal(await inc([{ name: 'segment.ms', op: 'set', value: '700000' }]), Err.NONE);
    let cfg = await describeTopic();
    assert.equal(cfg['segment.ms']?.value, '700000');
    assert.equal(cfg['retention.ms']?.value, '1000000', 'incremental alter leaves other dynamic configs alone');
    assert.equal(await inc([{ name: 'retention.ms', op: 'delete', value: null }]), Err.NONE);
    cfg = await describeTopic();
    assert.equal(cfg['retention.ms']?.value, '604800000');
    assert.equal(cfg['retention.ms']?.source, ConfigSource.DEFAULT_CONFIG);
    assert.equal(await inc([{ name: 'cleanup.policy', op: 'append', value: 'compact' }]), Err.NONE);
    assert.equal((await describeTopic())['cleanup.policy']?.value, 'delete,compact');
    assert.equal(await inc([{ name: 'cleanup.policy', op: 'subtract', value: 'delete' }]), Err.NONE);
    assert.equal((await describeTopic())['cleanup.policy']?.value, 'compact');
    assert.equal(await inc([{ name: 'retention.ms', op: 'set', value: 'x' }]), Err.INVALID_CONFIG);
    assert.equal(await inc([{ name: 'retention.ms', op: 'set', value: '5' }], 'adm-incremental-missing'), Err.UNKNOWN_TOPIC_OR_PARTITION);
  });

  test('raw IncrementalAlterConfigs v0: set and validate-only', { timeout: 30_000 }, async () => {
    await withConnection(broker.host, broker.port, async (c) => {
      assert.deepEqual(await incrementalAlterConfigs(c, { type: 2, name: topic }, [{ name: 'max.message.bytes', op: ConfigOp.SET, value: '500000' }]), {
        errorCode: 0,
        errorMessage: null,
      });
      const v = await incrementalAlterConfigs(c, { type: 2, name: topic }, [{ name: 'max.message.bytes', op: ConfigOp.SET, value: '600000' }], true);
      assert.equal(v.errorCode, 0);
    });
    assert.equal((await describeTopic())['max.message.bytes']?.value, '500000', 'validate-only must not apply');
  });
});

describe('DeleteRecords', () => {
  const topic = 'adm-delete-records';
  before(async () => {
    await createTopics(broker.bootstrap, [{ name: topic, num_partitions: 2 }]);
    for (const partition of [0, 1]) {
      await produceCk(
        broker.bootstrap,
        topic,
        Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: `p${partition}-v${i}`, headers: [], partition })),
      );
    }
  }, { timeout: 180_000 });

  test('kafka-python (DeleteRecords v0 on its protocol layer) moves the log start offset', { timeout: 60_000 }, async () => {
    const r = await py('kp', 'delete_records', { bootstrap: broker.bootstrap, partitions: [{ topic, partition: 0, offset: 40 }] });
    assert.deepEqual(r.results, [{ topic, partition: 0, low_watermark: 40, error_code: 0 }]);
    assert.deepEqual((await watermarksCk(broker.bootstrap, topic, [0]))[0], [40, 100]);
    const rest = await consumeCk(broker.bootstrap, [{ topic, partitions: [0] }]);
    assert.equal(rest.length, 60);
    assert.equal(rest[0]?.offset, 40);
    assert.equal(rest[0]?.value, 'p0-v40');
    const beyond = await py('kp', 'delete_records', { bootstrap: broker.bootstrap, partitions: [{ topic, partition: 0, offset: 500 }] });
    assert.equal(beyond.results[0].error_code, 1, 'OFFSET_OUT_OF_RANGE beyond the high watermark');
    assert.deepEqual((await watermarksCk(broker.bootstrap, topic, [0]))[0], [40, 100], 'a refused delete changes nothing');
  });

  test('KafkaJS deleteTopicRecords', { timeout: 60_000 }, async () => {
    const { kafka } = makeKafkaJs(broker.bootstrap);
    const admin = kafka.admin();
    await admin.connect();
    try {
      // KafkaJS 2.2.4 looks up partition leaders before loading the topic's metadata
      // ("Topic metadata not loaded"); fetching the offsets first loads it.
      await admin.fetchTopicOffsets(topic);
      await admin.deleteTopicRecords({ topic, partitions: [{ partition: 1, offset: '10' }] });
      const offsets = await admin.fetchTopicOffsets(topic);
      const p1 = offsets.find((o) => o.partition === 1)!;
      assert.equal(p1.low, '10');
      assert.equal(p1.high, '100');
      // offset -1 deletes everything up to the high watermark
      await admin.deleteTopicRecords({ topic, partitions: [{ partition: 1, offset: '-1' }] });
      const after = (await admin.fetchTopicOffsets(topic)).find((o) => o.partition === 1)!;
      assert.equal(after.low, '100');
    } finally {
      await admin.disconnect();
    }
    const rest = await consumeCk(broker.bootstrap, [{ topic, partitions: [1] }]);
    assert.equal(rest.length, 0);
  });
});
