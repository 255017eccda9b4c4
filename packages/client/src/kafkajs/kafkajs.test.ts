import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, ConnectionError, ErrorCode, KafkaError, TimeoutError } from '../errors.js';
import { KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, KafkaJSTimeout, afterRetries, toKafkaJSError } from './errors.js';
import { Kafka, resolveRetry, retryBudgetMs, retryDelayMs } from './kafka.js';
import { createLogger, fjordLoggerFor, logLevel, type LogEntryKafkaJS } from './logger.js';
import { Partitioners, legacyMurmur2 } from './partitioners.js';
import { AssignerCluster } from './cluster.js';
import type { Admin } from '../admin/admin.js';
import { KafkaJSTopicMetadataNotLoaded } from './errors.js';

describe('KafkaJS errors', () => {
  it('a Kafka error code becomes KafkaJSProtocolError with Kafka\'s name as type', () => {
    const e = toKafkaJSError(new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
    assert.ok(e instanceof KafkaJSProtocolError);
    assert.equal(e.type, 'UNKNOWN_TOPIC_OR_PARTITION');
    assert.equal(e.code, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal(e.retriable, true);
    assert.equal((toKafkaJSError(new KafkaError(ErrorCode.TOPIC_AUTHORIZATION_FAILED)) as KafkaJSProtocolError).retriable, false);
  });

  it('operational faults map by kind, keeping the cause', () => {
    const conn = new ConnectionError('h:1', 'refused');
    const c = toKafkaJSError(conn);
    assert.ok(c instanceof KafkaJSConnectionError && c.broker === 'h:1' && c.cause === conn);
    assert.ok(toKafkaJSError(new TimeoutError('metadata', 10)) instanceof KafkaJSTimeout);
    const late = toKafkaJSError(new TimeoutError('metadata', 10, { cause: new KafkaError(ErrorCode.LEADER_NOT_AVAILABLE) }));
    assert.ok(late instanceof KafkaJSProtocolError && late.type === 'LEADER_NOT_AVAILABLE');
    assert.ok(toKafkaJSError(new ConfigError('acks', 'bad')) instanceof KafkaJSNonRetriableError);
    const plain = new Error('app');
    assert.equal(toKafkaJSError(plain), plain, 'an application error passes through');
  });

  it('after retries, a retriable failure is wrapped as KafkaJS does', () => {
    const e = afterRetries(new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER), 5, 300);
    assert.ok(e instanceof KafkaJSNumberOfRetriesExceeded);
    assert.equal(e.retriable, false);
    assert.equal(e.retryCount, 5);
    assert.ok(e.cause instanceof KafkaJSProtocolError);
    assert.ok(afterRetries(new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION), 5, 300) instanceof KafkaJSProtocolError);
  });
});

describe('KafkaJS config', () => {
  it('refuses security options by name and checks the rest', () => {
    assert.throws(() => new Kafka({ brokers: ['h:1'], ssl: {} }), (e: unknown) => e instanceof ConfigError && e.option === 'ssl');
    assert.throws(() => new Kafka({ brokers: ['h:1'], sasl: { mechanism: 'plain', username: 'u', password: 'p' } }), (e: unknown) => e instanceof ConfigError && e.option === 'sasl');
    assert.throws(() => new Kafka({ brokers: 'h:1' as unknown as string[] }), (e: unknown) => e instanceof ConfigError && e.option === 'brokers');
    assert.throws(() => new Kafka({ brokers: ['h:1'], requestTimeout: -1 }), (e: unknown) => e instanceof ConfigError && e.option === 'requestTimeout');
    assert.throws(() => new Kafka({ brokers: ['h:1'], logLevel: 3 as never }), (e: unknown) => e instanceof ConfigError && e.option === 'logLevel');
    assert.throws(() => new Kafka({ brokers: ['h:1'] }).consumer({ groupId: '' }), (e: unknown) => e instanceof ConfigError && e.option === 'groupId');
    assert.throws(() => new Kafka({ brokers: ['h:1'] }).consumer({ groupId: 'g', partitionAssigners: [() => ({})] as never }), (e: unknown) => e instanceof ConfigError && e.option === 'partitionAssigners');
  });

  it('retry timing follows KafkaJS: initial ±factor, times multiplier, capped', () => {
    const r = resolveRetry({ retries: 4, initialRetryTime: 100, maxRetryTime: 500, factor: 0 });
    assert.deepEqual([0, 1, 2, 3].map((i) => retryDelayMs(r, i)), [100, 200, 400, 500]);
    assert.equal(retryBudgetMs(r), 100 + 200 + 400 + 500);
    for (let i = 0; i < 50; i++) {
      const d = retryDelayMs(resolveRetry({ initialRetryTime: 300 }), 0);
      assert.ok(d >= 240 && d <= 360, String(d));
    }
  });
});

describe('KafkaJS logging', () => {
  it('filters by level, names namespaces, routes the client logger by component', () => {
    const got: LogEntryKafkaJS[] = [];
    const root = createLogger(() => (e) => got.push(e), logLevel.INFO);
    root.namespace('Consumer').debug('hidden');
    root.namespace('Consumer').info('shown', { a: 1 });
    fjordLoggerFor(root.namespace('Producer'))({ level: 'warn', message: 'retrying', fields: { component: 'producer', topic: 't' } });
    assert.deepEqual(
      got.map((e) => [e.namespace, e.label, e.log.message, e.log['a'] ?? e.log['topic']]),
      [
        ['Consumer', 'INFO', 'shown', 1],
        ['Producer.producer', 'WARN', 'retrying', 't'],
      ],
    );
    root.setLogLevel(logLevel.DEBUG);
    root.namespace('Consumer').debug('now shown');
    assert.equal(got.at(-1)?.log.message, 'now shown');
  });
});

describe('KafkaJS partitioners', () => {
  it('LegacyPartitioner hashes as KafkaJS 1.x (vectors from kafkajs 2.2.4)', () => {
    const vectors: Array<[string, number]> = [
      ['', 275646684],
      ['a', -809885833],
      ['abcd', -2139815384],
      ['abcde', 1468550417],
      ['order-1', 1308957835],
      ['ø✓', -25843224],
      ['0123456789abcdef', 1228145513],
    ];
    for (const [k, h] of vectors) assert.equal(legacyMurmur2(Buffer.from(k)), h, JSON.stringify(k));
  });

  it('DefaultPartitioner: Java murmur2 for keys, an explicit partition wins, round robin without keys', () => {
    const p = Partitioners.DefaultPartitioner();
    const md = [0, 1, 2].map((id) => ({ partitionId: id, leader: 1, partitionErrorCode: 0, replicas: [], isr: [] }));
    assert.equal(p({ topic: 't', partitionMetadata: md, message: { key: 'foobar', value: null } }), (-790332482 & 0x7fffffff) % 3);
    assert.equal(p({ topic: 't', partitionMetadata: md, message: { key: 'foobar', value: null, partition: 2 } }), 2);
    const picks = Array.from({ length: 6 }, () => p({ topic: 'u', partitionMetadata: md, message: { value: 'v' } }));
    assert.deepEqual(picks.slice(3), picks.slice(0, 3));
    assert.equal(new Set(picks).size, 3);
  });
});

describe('KafkaJS assigner cluster', () => {
  // An Admin that knows two topics on brokers 1 and 2, and counts its metadata reads.
  function fakeAdmin(calls: string[]): Admin {
    const topics: Record<string, Array<{ leader: number }>> = { orders: [{ leader: 1 }, { leader: 2 }, { leader: 1 }], audit: [{ leader: -1 }] };
    return {
      describeCluster: async () => ({ clusterId: 'c', controllerId: 1, brokers: [{ nodeId: 1, host: 'a', port: 1, rack: null }, { nodeId: 2, host: 'b', port: 2, rack: 'r2' }] }),
      listTopics: async () => Object.keys(topics),
      describeTopics: async (names: string[]) => {
        calls.push(names.join(','));
        if (names.some((n) => !(n in topics))) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        return names.map((name) => ({ name, topicId: '', isInternal: false, partitions: topics[name]!.map((p, partition) => ({ partition, leader: p.leader, leaderEpoch: 0, replicas: [1, 2], isr: [1], errorCode: 0 })) }));
      },
    } as unknown as Admin;
  }

  it('keeps the target topics\' metadata as KafkaJS does and reads it synchronously', async () => {
    const calls: string[] = [];
    const c = new AssignerCluster(() => fakeAdmin(calls), () => true, 60_000);
    assert.throws(() => c.findTopicPartitionMetadata('orders'), KafkaJSTopicMetadataNotLoaded);
    await c.addMultipleTargetTopics(['orders', 'missing']);
    assert.deepEqual(calls, ['orders,missing', 'orders'], 'a topic that does not exist is left out');
    assert.deepEqual(c.findTopicPartitionMetadata('orders').map((p) => [p.partitionId, p.leader]), [[0, 1], [1, 2], [2, 1]]);
    assert.deepEqual(c.findTopicPartitionMetadata('orders')[0], { partitionErrorCode: 0, partitionId: 0, leader: 1, replicas: [1, 2], isr: [1], offlineReplicas: [] });
    assert.deepEqual(c.findTopicPartitionMetadata('missing'), []);
    assert.deepEqual(c.findTopicPartitionMetadata('audit'), [], 'not a target: not loaded');
    assert.deepEqual(c.getNodeIds(), [1, 2]);
    assert.deepEqual(c.findLeaderForPartitions('orders', [0, 1, 2, 7]), { 1: [0, 2], 2: [1] });
    await c.refreshMetadataIfNecessary();
    await c.addTargetTopic('orders');
    assert.equal(calls.length, 2, 'fresh metadata and a known target: no reload');
    await c.addTargetTopic('audit');
    assert.deepEqual(calls.slice(2), ['orders,missing,audit', 'orders,audit']);
    assert.throws(() => c.findLeaderForPartitions('audit', [0]), /Invalid partition metadata/);
    assert.deepEqual((await c.metadata()).topicMetadata.map((t) => t.topic), ['orders', 'audit']);
    assert.equal(c.defaultOffset({ fromBeginning: true }), -2);
    assert.equal(c.defaultOffset({ fromBeginning: false }), -1);
    const broker = c as unknown as Record<string, () => unknown>;
    assert.throws(() => broker['findGroupCoordinator']!(), (e: unknown) => e instanceof KafkaJSNonRetriableError && /cluster\.findGroupCoordinator\(\) is not available/.test(e.message));
  });
});
