import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BrokerConfig, ConfigError, parseProperties } from './broker-configs.js';
import { ConfigSource } from './config-def.js';
import { resolveTopicConfig, validateTopicOverrides } from './resolve.js';
import { topicConfigByName } from './topic-configs.js';

test('properties files: comments, separators, continuations', () => {
  const entries = parseProperties('# c\n! c\nnum.partitions=3\nlog.dirs : /a,\\\n  /b\nauto.create.topics.enable false\n');
  assert.deepEqual(entries, [
    ['num.partitions', '3'],
    ['log.dirs', '/a,/b'],
    ['auto.create.topics.enable', 'false'],
  ]);
  assert.throws(() => parseProperties('=x', 'server.properties'), /server.properties:1/);
});

test('broker configs are type-checked and name the key', () => {
  const c = new BrokerConfig([['num.partitions', '4'], ['broker.id', '7'], ['some.plugin.setting', 'x']]);
  assert.equal(c.getInt('num.partitions'), 4);
  assert.equal(c.getInt('node.id'), 7, 'broker.id is an alias of node.id');
  assert.deepEqual(c.unknownKeys, ['some.plugin.setting']);
  assert.throws(() => c.set('num.partitions', 'many'), (e: unknown) => e instanceof ConfigError && /num.partitions/.test(e.message));
  assert.throws(() => c.set('num.partitions', '0'), /at least 1/);
  assert.throws(() => c.set('auto.create.topics.enable', 'yes'), /true or false/);
  assert.throws(() => c.set('log.cleanup.policy', 'compact,shred'), /shred/);
});

test('topic config resolution: override, then broker synonyms in order, then the default', () => {
  const def = topicConfigByName.get('retention.ms')!;
  const defaults = resolveTopicConfig(def, {}, new BrokerConfig());
  assert.equal(defaults.value, '604800000');
  assert.equal(defaults.source, ConfigSource.DEFAULT_CONFIG);
  assert.deepEqual(defaults.synonyms, [{ name: 'log.retention.hours', value: '168', source: ConfigSource.DEFAULT_CONFIG }]);

  const hours = resolveTopicConfig(def, {}, new BrokerConfig([['log.retention.hours', '2']]));
  assert.equal(hours.value, String(2 * 3_600_000));
  assert.equal(hours.source, ConfigSource.STATIC_BROKER_CONFIG);

  const both = resolveTopicConfig(def, {}, new BrokerConfig([['log.retention.hours', '2'], ['log.retention.minutes', '5']]));
  assert.equal(both.value, String(5 * 60_000), 'minutes win over hours, as in Kafka');

  const topic = resolveTopicConfig(def, { 'retention.ms': '1000' }, new BrokerConfig([['log.retention.ms', '5000']]));
  assert.equal(topic.value, '1000');
  assert.equal(topic.source, ConfigSource.DYNAMIC_TOPIC_CONFIG);
  assert.deepEqual(
    topic.synonyms.map((s) => s.name),
    ['retention.ms', 'log.retention.ms', 'log.retention.hours'],
  );
});

test('topic overrides: unknown names and bad values are refused', () => {
  assert.equal(validateTopicOverrides({ 'retention.ms': '100' }), undefined);
  assert.match(validateTopicOverrides({ 'retention.msx': '1' })!.message, /Unknown topic config name/);
  assert.match(validateTopicOverrides({ 'cleanup.policy': 'zap' })!.message, /zap/);
  assert.match(validateTopicOverrides({ 'min.cleanable.dirty.ratio': '2' })!.message, /between 0 and 1/);
  assert.match(validateTopicOverrides({ 'segment.bytes': '1e9' })!.message, /32-bit integer/);
});
