// Dynamic broker configs: the cluster default ("", through kafka-python's protocol layer with
// IncrementalAlterConfigs, since confluent-kafka-python 1.7 refuses an empty broker name) and this
// broker's own (confluent-kafka-python's AdminClient, AlterConfigs), their sources in DescribeConfigs, their effect on topics without an
// override, refusal of configs that cannot change at run time, and survival across a restart.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type Broker } from '../harness/broker.js';
import { py } from '../harness/python.js';
import { ConfigSource, createTopics } from '../harness/fixtures.js';
import { CodecConnection } from '../harness/codec-connection.js';
import { DescribeConfigsRequest, DescribeConfigsResponse } from '@fjord/protocol';

type Entry = { value: string | null; source: number };
type Described = { configs: Record<string, Record<string, Entry>>; errors: Record<string, unknown> };

let broker: Broker;
before(async () => {
  broker = await startBroker();
  await createTopics(broker.bootstrap, [{ name: 'dyn-plain' }, { name: 'dyn-override', config: { 'retention.ms': '1234' } }]);
});
after(async () => broker?.dispose());

const describe = (type: string, name: string): Promise<Described> =>
  py<Described>('ck', 'describe_configs', { bootstrap: broker.bootstrap, resources: [{ type, name }] });
const alter = (type: string, name: string, configs: Record<string, string>): Promise<{ results: Record<string, unknown> }> =>
  py('ck', 'alter_configs', { bootstrap: broker.bootstrap, resources: [{ type, name, configs }] });

test('a cluster-wide default and a per-broker value apply to topics without their own override', async () => {
  const inc = await py<{ results: Record<string, unknown> }>('kp', 'incremental_alter_configs', {
    bootstrap: broker.bootstrap,
    resources: [{ type: 'broker', name: '', ops: [{ name: 'log.retention.ms', op: 'set', value: '3600000' }] }],
  });
  assert.equal(inc.results[''], null, JSON.stringify(inc));
  let topic = (await describe('topic', 'dyn-plain')).configs['dyn-plain']!;
  assert.equal(topic['retention.ms']!.value, '3600000');
  assert.equal(topic['retention.ms']!.source, ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG);
  assert.equal((await describe('topic', 'dyn-override')).configs['dyn-override']!['retention.ms']!.value, '1234', 'the topic override still wins');

  const r = await alter('broker', String(broker.nodeId), { 'log.retention.ms': '7200000', 'message.max.bytes': '2000000' });
  assert.equal(r.results[String(broker.nodeId)], null, JSON.stringify(r));
  topic = (await describe('topic', 'dyn-plain')).configs['dyn-plain']!;
  assert.equal(topic['retention.ms']!.value, '7200000', "this broker's value beats the cluster default");
  assert.equal(topic['retention.ms']!.source, ConfigSource.DYNAMIC_BROKER_CONFIG);
  assert.equal(topic['max.message.bytes']!.value, '2000000');

  const brokerCfg = (await describe('broker', String(broker.nodeId))).configs[String(broker.nodeId)]!;
  assert.equal(brokerCfg['log.retention.ms']!.value, '7200000');
  assert.equal(brokerCfg['log.retention.ms']!.source, ConfigSource.DYNAMIC_BROKER_CONFIG);
});

test('configs that cannot change at run time, unknown names and bad values are refused', async () => {
  const id = String(broker.nodeId);
  for (const [configs, pattern] of [
    [{ 'num.partitions': '3' }, /dynamically/],
    [{ 'log.retention.ms': 'soon' }, /log\.retention\.ms/],
    [{ 'no.such.config': '1' }, /no\.such\.config/],
  ] as const) {
    const r = await alter('broker', id, configs);
    assert.ok(r.results[id], `refused: ${JSON.stringify(configs)}`);
    assert.match(JSON.stringify(r.results[id]), pattern);
  }
  // (confluent's AdminClient would route a request for broker 99 to a broker that does not exist.)
  const other = await py<{ results: Record<string, unknown> }>('kp', 'incremental_alter_configs', {
    bootstrap: broker.bootstrap,
    resources: [{ type: 'broker', name: '99', ops: [{ name: 'log.retention.ms', op: 'set', value: '1' }] }],
  });
  assert.match(JSON.stringify(other.results['99']), /Unexpected broker id/, 'another broker id is refused');
  assert.equal((await describe('topic', 'dyn-plain')).configs['dyn-plain']!['retention.ms']!.value, '7200000', 'nothing changed');
});

test('dynamic configs survive a restart', async () => {
  await broker.restart();
  const topic = (await describe('topic', 'dyn-plain')).configs['dyn-plain']!;
  assert.equal(topic['retention.ms']!.value, '7200000');
  assert.equal(topic['retention.ms']!.source, ConfigSource.DYNAMIC_BROKER_CONFIG);
});

test('describing the cluster default ("") lists only the dynamic defaults that are set', async () => {
  const c = await CodecConnection.open(broker.host, broker.port);
  try {
    const r = await c.request(DescribeConfigsRequest, DescribeConfigsResponse, 4, {
      resources: [{ resourceType: 4, resourceName: '', configurationKeys: null }],
      includeSynonyms: true,
      includeDocumentation: false,
    });
    const res = r.results[0]!;
    assert.equal(res.errorCode, 0);
    assert.deepEqual(
      res.configs.map((e) => [e.name, e.value, e.configSource]),
      [['log.retention.ms', '3600000', ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG]],
    );
  } finally {
    c.close();
  }
});
