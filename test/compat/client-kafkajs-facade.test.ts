// @fjord/client/kafkajs, the KafkaJS facade, against a Fjord broker. One scenario written against
// the KafkaJS 2.x API runs twice — with the real kafkajs package and with the facade — and both runs
// must observe the same: admin results, produce results (partitions and base offsets of keyed
// messages), records with keys, headers and timestamps, a group of two consumers sharing partitions,
// commits resumed after a restart, eachBatch with resolveOffset, a committed transaction with
// sendOffsets and an aborted one (read back read_committed by kcat), resetOffsets, and the error for
// an unknown topic. Then records cross between the facade, real KafkaJS and kcat in both directions.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import * as facade from '@fjord/client/kafkajs';
import type { EachMessageHandler, EachBatchPayload, KafkaConfig, Message, Producer, RecordMetadata } from '@fjord/client/kafkajs';
import { startBroker, type Broker } from '../harness/broker.js';
import { kcatConsume, kcatProduceOk } from '../harness/kcat.js';
import { waitFor, withTimeout } from '../harness/util.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- the scenario runs against two libraries with one API */
type Lib = { Kafka: any; logLevel: any; Partitioners: any; AssignerProtocol: any };
const real = kafkajs as unknown as Lib;
const fjord = facade as unknown as Lib;

let broker: Broker;
const cleanups: Array<() => Promise<unknown>> = [];

before(async () => {
  broker = await startBroker({ configs: { 'group.initial.rebalance.delay.ms': 0, 'group.min.session.timeout.ms': 1000 } });
}, { timeout: 60_000 });
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await broker?.dispose();
});

function kafkaFor(lib: Lib, clientId: string, log: string[]): any {
  return new lib.Kafka({
    clientId,
    brokers: [broker.bootstrap],
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 },
    logLevel: lib.logLevel.WARN,
    logCreator: () => (e: any) => {
      if (log.length < 200) log.push(`${e.level} ${e.namespace} ${JSON.stringify(e.log)}`);
    },
  });
}

interface Received {
  member: string;
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
  headers: Record<string, string | string[]>;
  timestamp: string;
}

function received(member: string, partition: number, m: any): Received {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(m.headers ?? {})) headers[k] = Array.isArray(v) ? v.map((x: Buffer) => x.toString()) : (v as Buffer).toString();
  return { member, partition, offset: m.offset, key: m.key?.toString() ?? null, value: m.value?.toString() ?? null, headers, timestamp: m.timestamp };
}

const sortRecords = (l: Received[]): Received[] => [...l].sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset));
const metaOf = (l: any[]): Array<{ topicName: string; partition: number; errorCode: number; baseOffset: string }> =>
  l.map((m) => ({ topicName: m.topicName, partition: m.partition, errorCode: m.errorCode, baseOffset: m.baseOffset })).sort((a, b) => a.topicName.localeCompare(b.topicName) || a.partition - b.partition);

const ts0 = 1_700_000_000_000;
const messages = (from: number, count: number): any[] =>
  Array.from({ length: count }, (_, i) => ({
    key: `order-${(from + i) % 8}`,
    value: `event-${from + i}`,
    headers: { source: 'scenario', trace: [`t${from + i}`, 'again'] },
    timestamp: String(ts0 + from + i),
  }));

/** Runs a consumer (eachMessage) into `sink`; returns it and its latest assignment. */
async function groupMember(kafka: any, groupId: string, topic: string, name: string, sink: Received[]): Promise<{ consumer: any; assignment: () => number[] | undefined }> {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 6_000, heartbeatInterval: 300, maxWaitTimeInMs: 100, rebalanceTimeout: 10_000 });
  cleanups.push(() => consumer.disconnect());
  let assignment: number[] | undefined;
  consumer.on(consumer.events.GROUP_JOIN, (e: any) => {
    assignment = [...(e.payload.memberAssignment[topic] ?? [])].sort();
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }: any) => {
      sink.push(received(name, partition, message));
    },
  });
  return { consumer, assignment: () => assignment };
}

/** The scenario: everything KafkaJS code observes, with topic and group names made relative. */
async function scenario(lib: Lib, p: string): Promise<Record<string, unknown>> {
  const log: string[] = [];
  const kafka = kafkaFor(lib, `${p}-client`, log);
  const out: Record<string, unknown> = {};
  const events = `${p}-events`;
  const batches = `${p}-batches`;
  const txnTopic = `${p}-txn`;

  // Admin: topics.
  const admin = kafka.admin();
  cleanups.push(() => admin.disconnect());
  await admin.connect();
  out['createTopics'] = await admin.createTopics({ topics: [{ topic: events, numPartitions: 3 }, { topic: batches, numPartitions: 2 }, { topic: txnTopic, numPartitions: 1 }] });
  out['createTopicsAgain'] = await admin.createTopics({ topics: [{ topic: events, numPartitions: 3 }] });
  out['listTopics'] = (await admin.listTopics()).filter((t: string) => t.startsWith(p)).map((t: string) => t.slice(p.length)).sort();
  const md = await admin.fetchTopicMetadata({ topics: [events] });
  out['metadata'] = md.topics.map((t: any) => ({ name: t.name.slice(p.length), partitions: t.partitions.map((x: any) => x.partitionId).sort() }));

  // A group of two members, stable before anything is produced.
  const group = `${p}-group`;
  const got: Received[] = [];
  const a = await groupMember(kafka, group, events, 'a', got);
  const b = await groupMember(kafka, group, events, 'b', got);
  await waitFor(
    'two members sharing the 3 partitions',
    () => {
      const x = a.assignment() ?? [];
      const y = b.assignment() ?? [];
      return x.length > 0 && y.length > 0 && x.length + y.length === 3 && new Set([...x, ...y]).size === 3;
    },
    { timeoutMs: 20_000, intervalMs: 50 },
  );
  const owner = new Map<number, string>([...a.assignment()!.map((x) => [x, 'a'] as const), ...b.assignment()!.map((x) => [x, 'b'] as const)]);

  // Producer: send and sendBatch, keyed, with headers (a repeated one) and timestamps.
  const producer = kafka.producer({ createPartitioner: lib.Partitioners.DefaultPartitioner });
  cleanups.push(() => producer.disconnect());
  await producer.connect();
  out['send'] = metaOf(await producer.send({ topic: events, messages: messages(0, 12) }));
  out['sendBatch'] = metaOf(
    await producer.sendBatch({ topicMessages: [{ topic: events, messages: messages(12, 6) }, { topic: batches, messages: messages(100, 10) }] }),
  ).map((m) => ({ ...m, topicName: m.topicName.slice(p.length) }));
  (out['send'] as any[]).forEach((m) => (m.topicName = m.topicName.slice(p.length)));

  // acks 1 and 0 (KafkaJS reports nothing for acks 0).
  await admin.createTopics({ topics: [{ topic: `${p}-acks`, numPartitions: 1 }] });
  out['acks1'] = metaOf(await producer.send({ topic: `${p}-acks`, acks: 1, messages: messages(0, 2) }));
  out['acks0'] = await producer.send({ topic: `${p}-acks`, acks: 0, messages: messages(2, 2) });
  out['acksAll'] = metaOf(await producer.send({ topic: `${p}-acks`, messages: messages(4, 2) }));
  out['acksOffsets'] = await admin.fetchTopicOffsets(`${p}-acks`);

  await waitFor('18 records in the group', () => got.length >= 18, { timeoutMs: 20_000, intervalMs: 50 });
  out['groupRecords'] = sortRecords(got).map(({ member: _m, ...r }) => r);
  assert.ok(got.every((r) => owner.get(r.partition) === r.member), `${p}: each record goes to the member owning its partition`);
  assert.equal(got.length, 18, `${p}: no record twice`);
  assert.equal(new Set(got.map((r) => r.member)).size, 2, `${p}: both members got records`);
  await Promise.all([a.consumer.stop(), b.consumer.stop()]);
  out['offsetsAfterGroup'] = await admin.fetchOffsets({ groupId: group, topics: [events] });
  out['topicOffsets'] = await admin.fetchTopicOffsets(events);

  // Restart: a new member of the group reads only what came after the commits.
  await producer.send({ topic: events, messages: messages(18, 3) });
  const again: Received[] = [];
  const c = await groupMember(kafka, group, events, 'c', again);
  await waitFor('3 new records after the restart', () => again.length >= 3, { timeoutMs: 20_000, intervalMs: 50 });
  await new Promise((r) => setTimeout(r, 300));
  out['afterRestart'] = sortRecords(again).map(({ member: _m, ...r }) => r);
  await c.consumer.stop();
  await c.consumer.disconnect();

  // resetOffsets to the beginning, then setOffsets.
  await admin.resetOffsets({ groupId: group, topic: events, earliest: true });
  out['afterReset'] = await admin.fetchOffsets({ groupId: group, topics: [events] });
  out['afterResetResolved'] = await admin.fetchOffsets({ groupId: group, topics: [events], resolveOffsets: true });
  await admin.setOffsets({ groupId: group, topic: events, partitions: [{ partition: 1, offset: '1' }] });
  out['afterSet'] = await admin.fetchOffsets({ groupId: group, topics: [events] });

  // eachBatch with resolveOffset and no auto resolve.
  const batchGroup = `${p}-batch-group`;
  const inBatches: Received[] = [];
  const bc = kafka.consumer({ groupId: batchGroup, sessionTimeout: 6_000, heartbeatInterval: 300, maxWaitTimeInMs: 100 });
  cleanups.push(() => bc.disconnect());
  await bc.connect();
  await bc.subscribe({ topic: new RegExp(`^${p}-batch`), fromBeginning: true }); // a RegExp, resolved now
  await bc.run({
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: any) => {
      for (const m of batch.messages) {
        if (!isRunning() || isStale()) break;
        inBatches.push(received('batch', batch.partition, m));
        resolveOffset(m.offset);
        await heartbeat();
      }
    },
  });
  await waitFor('10 records by eachBatch', () => inBatches.length >= 10, { timeoutMs: 20_000, intervalMs: 50 });
  await bc.stop();
  out['eachBatch'] = sortRecords(inBatches).map(({ member: _m, ...r }) => r);
  out['eachBatchOffsets'] = await admin.fetchOffsets({ groupId: batchGroup, topics: [batches] });

  // pause() inside eachMessage, paused(), resume(), then seek() back.
  const seekGroup = `${p}-seek-group`;
  const sc = kafka.consumer({ groupId: seekGroup, sessionTimeout: 6_000, heartbeatInterval: 300, maxWaitTimeInMs: 100 });
  cleanups.push(() => sc.disconnect());
  const seen: Array<[number, string]> = [];
  let pausedInHandler: unknown;
  await sc.connect();
  await sc.subscribe({ topics: [batches], fromBeginning: true });
  await sc.run({
    eachMessage: async ({ partition, message }: any) => {
      seen.push([partition, message.offset]);
      if (partition === 0 && message.offset === '0' && pausedInHandler === undefined) {
        sc.pause([{ topic: batches, partitions: [0] }]);
        pausedInHandler = sc.paused().map((x: any) => ({ topic: x.topic.slice(p.length), partitions: x.partitions }));
      }
    },
  });
  const ofPartition = (n: number): string[] => seen.filter(([x]) => x === n).map(([, o]) => o);
  const sizes = new Map<number, number>((await admin.fetchTopicOffsets(batches)).map((x: any) => [x.partition, Number(x.high)]));
  assert.ok(sizes.get(0)! >= 2 && sizes.get(1)! >= 3, JSON.stringify([...sizes]));
  await waitFor('partition 1 read while 0 is paused', () => ofPartition(1).length >= sizes.get(1)!, { timeoutMs: 20_000, intervalMs: 50 });
  await new Promise((r) => setTimeout(r, 500));
  const whilePaused = ofPartition(0);
  sc.resume([{ topic: batches, partitions: [0] }]);
  await waitFor('partition 0 after resume', () => ofPartition(0).length >= sizes.get(0)!, { timeoutMs: 20_000, intervalMs: 50 });
  sc.seek({ topic: batches, partition: 1, offset: String(sizes.get(1)! - 2) });
  await waitFor('partition 1 again from its last two', () => ofPartition(1).length >= sizes.get(1)! + 2, { timeoutMs: 20_000, intervalMs: 50 });
  await new Promise((r) => setTimeout(r, 300));
  await sc.stop();
  out['pauseSeek'] = { pausedInHandler, whilePaused, partition0: ofPartition(0), partition1: ofPartition(1), pausedAfterResume: sc.paused() };
  out['pauseSeekOffsets'] = await admin.fetchOffsets({ groupId: seekGroup, topics: [batches] });

  // autoCommit: false, then commitOffsets by hand; partitionsConsumedConcurrently keeps per-partition order.
  const manualGroup = `${p}-manual`;
  const mc = kafka.consumer({ groupId: manualGroup, sessionTimeout: 6_000, heartbeatInterval: 300, maxWaitTimeInMs: 100 });
  cleanups.push(() => mc.disconnect());
  const manual: Array<[number, string]> = [];
  await mc.connect();
  await mc.subscribe({ topics: [batches], fromBeginning: true });
  await mc.run({
    autoCommit: false,
    partitionsConsumedConcurrently: 2,
    eachMessage: async ({ partition, message }: any) => {
      manual.push([partition, message.offset]);
    },
  });
  await waitFor('10 records without auto commit', () => manual.length >= 10, { timeoutMs: 20_000, intervalMs: 50 });
  await mc.commitOffsets([{ topic: batches, partition: 0, offset: '2' }]);
  await mc.stop();
  out['manualOrder'] = [0, 1].map((n) => manual.filter(([x]) => x === n).map(([, o]) => o));
  out['manualOffsets'] = await admin.fetchOffsets({ groupId: manualGroup, topics: [batches] });

  // Transactions: one committed with consumer offsets, one aborted.
  const tx = kafka.producer({ transactionalId: `${p}-tx`, idempotent: true, maxInFlightRequests: 1 });
  cleanups.push(() => tx.disconnect());
  await tx.connect();
  const t1 = await tx.transaction();
  await t1.send({ topic: txnTopic, messages: [{ key: 'k', value: 'committed-1' }, { key: 'k', value: 'committed-2' }] });
  await t1.sendOffsets({ consumerGroupId: `${p}-txn-group`, topics: [{ topic: events, partitions: [{ partition: 0, offset: '5' }] }] });
  await t1.commit();
  out['txnActiveAfterCommit'] = t1.isActive();
  const t2 = await tx.transaction();
  await t2.send({ topic: txnTopic, messages: [{ key: 'k', value: 'aborted-1' }] });
  await t2.abort();
  const t3 = await tx.transaction();
  await t3.send({ topic: txnTopic, messages: [{ key: 'k', value: 'committed-3' }] });
  await t3.commit();
  const committedRead = await kcatConsume(broker.bootstrap, txnTopic, { config: { 'isolation.level': 'read_committed' } });
  out['readCommitted'] = committedRead.map((r) => r.value);
  out['txnOffsets'] = await admin.fetchOffsets({ groupId: `${p}-txn-group`, topics: [events] });
  // The library's own consumer: read_committed by default, readUncommitted shows the aborted record too.
  for (const [label, readUncommitted, count] of [['txnReadByConsumer', false, 3], ['txnReadUncommitted', true, 4]] as const) {
    const values: string[] = [];
    const m = kafka.consumer({ groupId: `${p}-${label}`, readUncommitted, sessionTimeout: 6_000, heartbeatInterval: 300, maxWaitTimeInMs: 100 });
    cleanups.push(() => m.disconnect());
    await m.connect();
    await m.subscribe({ topic: txnTopic, fromBeginning: true });
    await m.run({ eachMessage: async ({ message }: any) => void values.push(message.value.toString()) });
    await waitFor(`${count} transactional records`, () => values.length >= count, { timeoutMs: 20_000, intervalMs: 50 });
    await new Promise((r) => setTimeout(r, 300));
    await m.disconnect();
    out[label] = values;
  }

  // Admin: configs, partitions, offsets by time, record deletion, cluster, groups.
  const adminTopic = `${p}-admin`;
  await admin.createTopics({ topics: [{ topic: adminTopic, numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '86400000' }] }] });
  const configsOf = async (): Promise<unknown> => {
    const d = await admin.describeConfigs({ resources: [{ type: lib === fjord ? facade.ConfigResourceTypes.TOPIC : 2, name: adminTopic, configNames: ['retention.ms', 'cleanup.policy'] }], includeSynonyms: false });
    return d.resources.map((r: any) => ({ name: r.resourceName, type: r.resourceType, errorCode: r.errorCode, entries: r.configEntries.map((e: any) => [e.configName, e.configValue, e.isDefault, e.configSource, e.readOnly, e.isSensitive]).sort() }));
  };
  out['describeConfigs'] = await configsOf();
  await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: adminTopic, configEntries: [{ name: 'retention.ms', value: '3600000' }] }] });
  out['describeConfigsAltered'] = await configsOf();
  out['createPartitions'] = await admin.createPartitions({ topicPartitions: [{ topic: adminTopic, count: 3 }] });
  out['partitionsAfter'] = (await admin.fetchTopicMetadata({ topics: [adminTopic] })).topics[0].partitions.length;
  await producer.send({ topic: adminTopic, messages: [0, 1, 2, 3].map((i) => ({ value: `a${i}`, partition: 0, timestamp: String(ts0 + i * 1000) })) });
  out['byTimestamp'] = await admin.fetchTopicOffsetsByTimestamp(adminTopic, ts0 + 1500);
  await admin.deleteTopicRecords({ topic: adminTopic, partitions: [{ partition: 0, offset: '2' }] });
  out['afterDeleteRecords'] = await admin.fetchTopicOffsets(adminTopic);
  const cluster = await admin.describeCluster();
  out['cluster'] = { brokers: cluster.brokers.map((x: any) => x.port), controller: cluster.controller, hasClusterId: typeof cluster.clusterId === 'string' && cluster.clusterId.length > 0 };
  out['listGroups'] = (await admin.listGroups()).groups.filter((g: any) => g.groupId.startsWith(p)).sort((x: any, y: any) => x.groupId.localeCompare(y.groupId));
  out['describeGroups'] = (await admin.describeGroups([group])).groups.map((g: any) => ({ groupId: g.groupId, state: g.state, protocolType: g.protocolType, members: g.members.length }));
  out['deleteGroups'] = await admin.deleteGroups([batchGroup]);
  out['groupsAfterDelete'] = (await admin.listGroups()).groups.map((g: any) => g.groupId).filter((g: string) => g === batchGroup);
  await admin.deleteTopics({ topics: [adminTopic] });
  out['topicsAfterDelete'] = (await admin.listTopics()).filter((t: string) => t === adminTopic);

  // An unknown topic without auto-creation.
  const strict = kafka.producer({ allowAutoTopicCreation: false });
  cleanups.push(() => strict.disconnect());
  await strict.connect();
  const err = await strict.send({ topic: `${p}-missing`, messages: [{ value: 'x' }] }).then(
    () => undefined,
    (e: any) => e,
  );
  assert.ok(err, `${p}: send to a missing topic must fail`);
  out['unknownTopicError'] = { name: err.name, retriable: err.retriable, cause: err.cause?.name, causeType: err.cause?.type, causeRetriable: err.cause?.retriable };
  if (lib === fjord) assert.ok(err.cause instanceof facade.KafkaJSProtocolError && err instanceof facade.KafkaJSNumberOfRetriesExceeded);

  await producer.disconnect();
  await tx.disconnect();
  await strict.disconnect();
  await admin.disconnect();
  return { ...out, log };
}

/** KafkaJS-typed application code, compiled against the facade's types (the build fails if they drift). */
async function typedApplication(config: KafkaConfig, topic: string): Promise<{ sent: RecordMetadata[]; received: string[] }> {
  const kafka = new facade.Kafka(config);
  const producer: Producer = kafka.producer({ createPartitioner: facade.Partitioners.DefaultPartitioner, idempotent: true });
  await producer.connect();
  const message: Message = { key: 'k', value: Buffer.from('typed'), headers: { h: ['a', 'b'] }, timestamp: String(Date.now()) };
  const sent = await producer.send({ topic, messages: [message], acks: -1, compression: facade.CompressionTypes.LZ4 });
  await producer.disconnect();
  const received: string[] = [];
  // KafkaJS's defaults (maxWaitTimeInMs 5000): disconnect() must still be quick.
  const consumer = kafka.consumer({ groupId: `${topic}-typed`, partitionAssigners: [facade.PartitionAssigners.roundRobin] });
  const eachMessage: EachMessageHandler = async ({ message: m }) => {
    received.push(`${m.key?.toString()}=${m.value?.toString()} ${JSON.stringify(m.headers?.['h']?.toString())}`);
  };
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({ eachMessage });
  await waitFor('the typed record', () => received.length > 0, { timeoutMs: 15_000, intervalMs: 50 });
  const t = Date.now();
  await consumer.disconnect();
  assert.ok(Date.now() - t < 3_000, `disconnect() took ${Date.now() - t} ms`);
  const unusedBatchPayload = (p: EachBatchPayload): string => p.batch.highWatermark;
  void unusedBatchPayload;
  return { sent, received };
}

describe('KafkaJS facade', () => {
  let realResult: Record<string, unknown>;
  let fjordResult: Record<string, unknown>;

  test('the same scenario with kafkajs and with @fjord/client/kafkajs', { timeout: 120_000 }, async () => {
    realResult = await withTimeout('scenario with kafkajs', 50_000, scenario(real, 'kjs'));
    fjordResult = await withTimeout('scenario with the facade', 50_000, scenario(fjord, 'fjd'));
    const relative = (x: Record<string, unknown>, prefix: string): Record<string, any> => JSON.parse(JSON.stringify(x).replaceAll(`"${prefix}-`, '"<p>-')) as Record<string, any>;
    const { log: realLog, ...r } = relative(realResult, 'kjs');
    const { log: fjordLog, ...f } = relative(fjordResult, 'fjd');
    if (process.env['FJORD_FACADE_DUMP']) console.error(JSON.stringify({ kafkajs: r, facade: f }, null, 1));
    // One deliberate difference: KafkaJS's resetOffsets commits the sentinel -2 (earliest) itself;
    // the facade commits the partition's actual earliest offset, which every client understands.
    assert.deepEqual(r['afterReset'][0].partitions.map((x: any) => x.offset), ['-2', '-2', '-2']);
    delete r['afterReset'];
    for (const x of r['afterSet'][0].partitions) if (x.offset === '-2') x.offset = '0'; // the log starts at 0
    for (const k of Object.keys(r)) assert.deepEqual(f[k], r[k], `${k} differs (facade vs kafkajs)\nfacade log: ${(fjordLog as string[]).slice(-5).join('\n')}\nkafkajs log: ${(realLog as string[]).slice(-5).join('\n')}`);
    // What both must be, beyond being equal.
    assert.equal(f['createTopics'], true);
    assert.equal(f['createTopicsAgain'], false);
    assert.deepEqual(f['readCommitted'], ['committed-1', 'committed-2', 'committed-3']);
    assert.deepEqual(f['txnReadByConsumer'], ['committed-1', 'committed-2', 'committed-3']);
    assert.deepEqual(f['txnReadUncommitted'], ['committed-1', 'committed-2', 'aborted-1', 'committed-3']);
    // KafkaJS wraps the broker's error once its retries are used up; the facade does the same.
    assert.deepEqual(f['unknownTopicError'], { name: 'KafkaJSNumberOfRetriesExceeded', retriable: false, cause: 'KafkaJSProtocolError', causeType: 'UNKNOWN_TOPIC_OR_PARTITION', causeRetriable: true });
    assert.deepEqual((f['afterReset'] as any)[0].partitions.map((x: any) => x.offset), ['0', '0', '0']);
  });

  test('records cross between the facade, kafkajs and kcat', { timeout: 60_000 }, async () => {
    const log: string[] = [];
    const fk = kafkaFor(fjord, 'cross-fjord', log);
    const rk = kafkaFor(real, 'cross-real', log);
    const admin = fk.admin();
    cleanups.push(() => admin.disconnect());
    await admin.createTopics({ topics: [{ topic: 'x-from-facade', numPartitions: 2 }, { topic: 'x-from-kafkajs', numPartitions: 2 }, { topic: 'x-from-kcat', numPartitions: 2 }] });

    const fp = fk.producer();
    cleanups.push(() => fp.disconnect());
    await fp.connect();
    const sent = messages(0, 8);
    await fp.send({ topic: 'x-from-facade', messages: sent, compression: facade.CompressionTypes.GZIP });
    const rp = rk.producer({ createPartitioner: real.Partitioners.DefaultPartitioner });
    cleanups.push(() => rp.disconnect());
    await rp.connect();
    await rp.send({ topic: 'x-from-kafkajs', messages: sent });
    await kcatProduceOk(broker.bootstrap, 'x-from-kcat', sent.map((m) => ({ key: m.key, value: m.value, headers: [] })), { headers: [['source', 'kcat']] });

    // kcat reads what the facade wrote, to the byte.
    const byKcat = await kcatConsume(broker.bootstrap, 'x-from-facade');
    assert.deepEqual(
      byKcat.map((r) => [r.key, r.value, r.timestamp, r.headers]).sort((x, y) => String(x[1]).localeCompare(String(y[1]))),
      sent.map((m) => [m.key, m.value, Number(m.timestamp), [['source', 'scenario'], ['trace', m.headers.trace[0]], ['trace', 'again']]]).sort((x, y) => String(x[1]).localeCompare(String(y[1]))),
    );

    const readAll = async (kafka: any, topic: string, groupId: string): Promise<Array<Omit<Received, 'member'>>> => {
      const sink: Received[] = [];
      const m = await groupMember(kafka, groupId, topic, groupId, sink);
      await waitFor(`8 records of ${topic} by ${groupId}`, () => sink.length >= 8, { timeoutMs: 20_000, intervalMs: 50 });
      await m.consumer.disconnect();
      return sortRecords(sink).map(({ member: _m, ...r }) => r);
    };
    // Real KafkaJS reads the facade's records as the facade reads them; the facade reads KafkaJS's and kcat's.
    const fromFacadeByReal = await readAll(rk, 'x-from-facade', 'g-real-reads-facade');
    const fromFacadeByFacade = await readAll(fk, 'x-from-facade', 'g-facade-reads-facade');
    assert.deepEqual(fromFacadeByFacade, fromFacadeByReal);
    const fromRealByFacade = await readAll(fk, 'x-from-kafkajs', 'g-facade-reads-kafkajs');
    assert.deepEqual(
      fromRealByFacade.map(({ offset: _o, ...r }) => r),
      fromFacadeByReal.map(({ offset: _o, ...r }) => r),
      'the same messages from KafkaJS land on the same partitions, and read back the same',
    );
    const fromKcat = await readAll(fk, 'x-from-kcat', 'g-facade-reads-kcat');
    assert.deepEqual(
      fromKcat.map((r) => [r.partition, r.key, r.value, r.headers]),
      fromRealByFacade.map((r) => [r.partition, r.key, r.value, { source: 'kcat' }]),
      'kcat (murmur2_random) and the facade (DefaultPartitioner) agree on partitions',
    );
    await fp.disconnect();
    await rp.disconnect();
    await admin.disconnect();
  });

  test('a handler error is retried from the failing message, then the consumer crashes and restarts, as in kafkajs', { timeout: 60_000 }, async () => {
    const outcome = async (lib: Lib, name: string): Promise<unknown> => {
      const log: string[] = [];
      const kafka = kafkaFor(lib, `crash-${name}`, log);
      const admin = kafka.admin();
      cleanups.push(() => admin.disconnect());
      const topic = `crash-${name}`;
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
      const p = kafka.producer();
      cleanups.push(() => p.disconnect());
      await p.connect();
      await p.send({ topic, messages: [{ value: 'ok-0' }, { value: 'poison' }, { value: 'ok-2' }] });
      const consumer = kafka.consumer({ groupId: topic, sessionTimeout: 6_000, heartbeatInterval: 300, maxWaitTimeInMs: 100, retry: { retries: 1, initialRetryTime: 100 } });
      cleanups.push(() => consumer.disconnect());
      const seen: string[] = [];
      const crashes: any[] = [];
      consumer.on(consumer.events.CRASH, (e: any) => crashes.push(e.payload));
      let failures = 0;
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }: any) => {
          const v = message.value.toString();
          if (v === 'poison' && failures++ < 3) throw new Error('poison message');
          seen.push(`${message.offset}:${v}`);
        },
      });
      await waitFor('the poison message to get through after the restart', () => seen.includes('2:ok-2'), { timeoutMs: 30_000, intervalMs: 50 });
      await consumer.disconnect();
      const offsets = await admin.fetchOffsets({ groupId: topic, topics: [topic] });
      await p.disconnect();
      await admin.disconnect();
      return { seen, failures, crashes: crashes.map((c) => ({ error: c.error.name, cause: c.error.cause?.message, restart: c.restart })), committed: offsets[0].partitions[0].offset };
    };
    const r = await outcome(real, 'real');
    const f = await outcome(fjord, 'fjord');
    assert.deepEqual(f, r);
    // retries: 1 -> two failures, a crash with restart, a third failure, then success; ok-0 was committed before the error.
    assert.deepEqual(f, { seen: ['0:ok-0', '1:poison', '2:ok-2'], failures: 4, crashes: [{ error: 'KafkaJSNumberOfRetriesExceeded', cause: 'poison message', restart: true }], committed: '3' });
  });

  test('a non-retriable handler error crashes the consumer without a restart, as in kafkajs', { timeout: 40_000 }, async () => {
    const outcome = async (lib: Lib, name: string): Promise<unknown> => {
      const log: string[] = [];
      const kafka = kafkaFor(lib, `fatal-${name}`, log);
      const admin = kafka.admin();
      cleanups.push(() => admin.disconnect());
      const topic = `fatal-${name}`;
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
      const p = kafka.producer();
      cleanups.push(() => p.disconnect());
      await p.connect();
      await p.send({ topic, messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] });
      const consumer = kafka.consumer({ groupId: `fatal-${name}`, sessionTimeout: 6_000, heartbeatInterval: 300, maxWaitTimeInMs: 100, retry: { retries: 3, initialRetryTime: 100 } });
      cleanups.push(() => consumer.disconnect());
      const crashes: any[] = [];
      consumer.on(consumer.events.CRASH, (e: any) => crashes.push(e.payload));
      let calls = 0;
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }: any) => {
          calls++;
          if (message.value.toString() === 'b') throw Object.assign(new Error('cannot handle b'), { retriable: false });
        },
      });
      await waitFor('a crash', () => crashes.length > 0, { timeoutMs: 20_000, intervalMs: 50 });
      await new Promise((r) => setTimeout(r, 500));
      await consumer.disconnect();
      const offsets = await admin.fetchOffsets({ groupId: `fatal-${name}`, topics: [topic] });
      await p.disconnect();
      await admin.disconnect();
      return { crashes: crashes.map((c) => ({ error: c.error.name, retriable: c.error.retriable, message: c.error.message, restart: c.restart })), calls, committed: offsets[0].partitions[0].offset };
    };
    const r = await outcome(real, 'real');
    const f = await outcome(fjord, 'fjord');
    assert.deepEqual(f, r);
    assert.deepEqual(f, { crashes: [{ error: 'KafkaJSNonRetriableError', retriable: false, message: 'cannot handle b', restart: false }], calls: 2, committed: '1' });
  });

  test('KafkaJS partitioners: keyed messages land where kafkajs puts them (default and legacy)', () => {
    const counts = [1, 2, 3, 5, 8, 13, 64];
    for (const name of ['DefaultPartitioner', 'LegacyPartitioner'] as const) {
      const mine = (facade.Partitioners as any)[name]();
      const theirs = real.Partitioners[name]();
      for (let i = 0; i < 2000; i++) {
        const key = i % 3 === 0 ? Buffer.from(Array.from({ length: i % 23 }, (_, j) => (i * 31 + j * 7) & 0xff)) : `k-${i}-${'ø✓'.repeat(i % 4)}`;
        const n = counts[i % counts.length]!;
        const partitionMetadata = Array.from({ length: n }, (_, id) => ({ partitionId: id, leader: 1, partitionErrorCode: 0, replicas: [1], isr: [1] }));
        const args = { topic: 't', partitionMetadata, message: { key, value: 'v' } };
        assert.equal(mine(args), theirs(args), `${name}: key ${JSON.stringify(key)} over ${n} partitions`);
      }
      // Unkeyed: round robin over partitions with a leader.
      const md = Array.from({ length: 4 }, (_, id) => ({ partitionId: id, leader: id === 2 ? -1 : 1, partitionErrorCode: 0, replicas: [1], isr: [1] }));
      const picks = Array.from({ length: 6 }, () => mine({ topic: 'u', partitionMetadata: md, message: { value: 'v' } }));
      assert.ok(!picks.includes(2), 'no leaderless partition');
      assert.equal(new Set(picks).size, 3);
    }
  });

  test('a facade member and a kafkajs member share one group (RoundRobinAssigner)', { timeout: 40_000 }, async () => {
    const log: string[] = [];
    const fk = kafkaFor(fjord, 'mixed-fjord', log);
    const rk = kafkaFor(real, 'mixed-real', log);
    const admin = fk.admin();
    cleanups.push(() => admin.disconnect());
    await admin.createTopics({ topics: [{ topic: 'mixed', numPartitions: 4 }] });
    const got: Received[] = [];
    const a = await groupMember(fk, 'mixed-group', 'mixed', 'facade', got);
    const b = await groupMember(rk, 'mixed-group', 'mixed', 'kafkajs', got);
    await waitFor(
      'the two members sharing 4 partitions',
      () => {
        const x = a.assignment() ?? [];
        const y = b.assignment() ?? [];
        return x.length === 2 && y.length === 2 && new Set([...x, ...y]).size === 4;
      },
      { timeoutMs: 20_000, intervalMs: 50 },
    );
    const p = fk.producer();
    cleanups.push(() => p.disconnect());
    await p.send({ topic: 'mixed', messages: Array.from({ length: 20 }, (_, i) => ({ value: `m${i}`, partition: i % 4 })) });
    await waitFor('20 records', () => got.length >= 20, { timeoutMs: 20_000, intervalMs: 50 });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(got.length, 20, 'each record once');
    for (const r of got) assert.equal(r.member, (a.assignment()!.includes(r.partition) ? 'facade' : 'kafkajs'), `partition ${r.partition} read by its owner`);
    const described = await fk.consumer({ groupId: 'mixed-group' }).describeGroup();
    assert.equal(described.protocol, 'RoundRobinAssigner');
    assert.equal(described.members.length, 2);
    await Promise.all([a.consumer.disconnect(), b.consumer.disconnect(), p.disconnect()]);
    await admin.disconnect();
  });

  test('a custom partition assigner runs in a facade member as in a kafkajs member, whichever leads', { timeout: 90_000 }, async () => {
    // A KafkaJS custom assigner, as KafkaJS's docs write one: each member asks for partitions in its
    // metadata's userData (version 1), the leader hands them out, reading partition counts from the
    // cluster. What its assign() saw is recorded, with the library it ran in.
    type Seen = { lib: string; topics: string[]; counts: number[]; members: Array<{ keys: string[]; version: number; topics: string[]; wants: number[] }> };
    const pinned = (lib: Lib, libName: string, wants: number[], seen: Seen[]) => ({ cluster }: any) => ({
      name: 'PinnedAssigner',
      version: 1,
      protocol({ topics }: { topics: string[] }) {
        return { name: this.name, metadata: lib.AssignerProtocol.MemberMetadata.encode({ version: this.version, topics, userData: Buffer.from(JSON.stringify(wants)) }) };
      },
      async assign({ members, topics }: { members: any[]; topics: string[] }) {
        const decoded = members.map((m) => ({ memberId: m.memberId, keys: Object.keys(m).sort(), ...lib.AssignerProtocol.MemberMetadata.decode(m.memberMetadata) }));
        seen.push({
          lib: libName,
          topics,
          counts: topics.map((t) => cluster.findTopicPartitionMetadata(t).length),
          members: decoded.map((d) => ({ keys: d.keys, version: d.version, topics: d.topics, wants: JSON.parse(d.userData.toString()) })).sort((a, b) => a.wants[0] - b.wants[0]),
        });
        return decoded.map((d) => ({
          memberId: d.memberId,
          memberAssignment: lib.AssignerProtocol.MemberAssignment.encode({ version: this.version, assignment: { [topics[0]!]: JSON.parse(d.userData.toString()) }, userData: Buffer.from(libName) }),
        }));
      },
    });
    const log: string[] = [];
    const admin = kafkaFor(fjord, 'pinned-admin', log).admin();
    cleanups.push(() => admin.disconnect());
    await admin.createTopics({ topics: [{ topic: 'pinned', numPartitions: 6 }] });
    const member = async (lib: Lib, libName: string, groupId: string, wants: number[], seen: Seen[], got: Received[]) => {
      const consumer = kafkaFor(lib, `pinned-${libName}`, log).consumer({ groupId, partitionAssigners: [pinned(lib, libName, wants, seen)], sessionTimeout: 6_000, heartbeatInterval: 300, maxWaitTimeInMs: 100, rebalanceTimeout: 10_000 });
      cleanups.push(() => consumer.disconnect());
      const joins: any[] = [];
      consumer.on(consumer.events.GROUP_JOIN, (e: any) => joins.push(e.payload));
      await consumer.connect();
      await consumer.subscribe({ topics: ['pinned'], fromBeginning: true });
      await consumer.run({ eachMessage: async ({ partition, message }: any) => void got.push(received(libName, partition, message)) });
      return { consumer, last: () => joins.at(-1) };
    };
    const p = kafkaFor(fjord, 'pinned-producer', log).producer();
    cleanups.push(() => p.disconnect());
    await p.connect();
    const runGroup = async (groupId: string, first: [Lib, string], second: [Lib, string]) => {
      const seen: Seen[] = [];
      const got: Received[] = [];
      const a = await member(first[0], first[1], groupId, [0, 1, 3], seen, got);
      await waitFor(`${first[1]} alone in ${groupId}`, () => a.last() !== undefined, { timeoutMs: 20_000, intervalMs: 50 });
      const b = await member(second[0], second[1], groupId, [2, 4, 5], seen, got);
      await waitFor(
        `both members of ${groupId} assigned`,
        () => JSON.stringify(a.last()?.memberAssignment) === JSON.stringify({ pinned: [0, 1, 3] }) && JSON.stringify(b.last()?.memberAssignment) === JSON.stringify({ pinned: [2, 4, 5] }),
        { timeoutMs: 30_000, intervalMs: 50 },
      );
      await p.send({ topic: 'pinned', messages: Array.from({ length: 6 }, (_, i) => ({ value: `${groupId}-${i}`, partition: i })) });
      await waitFor(`${groupId}: 6 records`, () => got.filter((r) => r.value?.startsWith(groupId)).length >= 6, { timeoutMs: 20_000, intervalMs: 50 });
      const leader = a.last().isLeader ? first[1] : b.last().isLeader ? second[1] : 'none';
      const readers = Object.fromEntries(got.filter((r) => r.value?.startsWith(groupId)).map((r) => [r.partition, r.member]));
      await Promise.all([a.consumer.disconnect(), b.consumer.disconnect()]);
      return { leader, last: seen.at(-1), readers, protocol: a.last().groupProtocol };
    };
    const fjordLeads = await runGroup('pinned-1', [fjord, 'fjord'], [real, 'kafkajs']);
    const kafkajsLeads = await runGroup('pinned-2', [real, 'kafkajs'], [fjord, 'fjord']);
    const expected = (leader: string, members: Array<[string, number[]]>) => ({
      leader,
      protocol: 'PinnedAssigner',
      readers: Object.fromEntries(members.flatMap(([name, wants]) => wants.map((p) => [String(p), name]))),
      last: {
        lib: leader,
        topics: ['pinned'],
        counts: [6],
        // The same member shape from both libraries (KafkaJS reads JoinGroup v5: groupInstanceId is there, null).
        members: members.map(([, wants]) => ({ keys: ['groupInstanceId', 'memberId', 'memberMetadata'], version: 1, topics: ['pinned'], wants })),
      },
    });
    assert.deepEqual(fjordLeads, expected('fjord', [['fjord', [0, 1, 3]], ['kafkajs', [2, 4, 5]]]));
    assert.deepEqual(kafkajsLeads, expected('kafkajs', [['kafkajs', [0, 1, 3]], ['fjord', [2, 4, 5]]]));
    await p.disconnect();
    await admin.disconnect();
  });

  test('a custom assigner that throws crashes the consumer as in kafkajs; a broken one is refused', { timeout: 60_000 }, async () => {
    const failing = (): any => ({
      name: 'FailingAssigner',
      version: 0,
      protocol: ({ topics }: { topics: string[] }) => ({ name: 'FailingAssigner', metadata: (fjord as any).AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }) }),
      assign: async () => {
        throw new Error('no assignment today');
      },
    });
    const outcome = async (lib: Lib, name: string): Promise<unknown> => {
      const log: string[] = [];
      const kafka = kafkaFor(lib, `failing-${name}`, log);
      const admin = kafka.admin();
      cleanups.push(() => admin.disconnect());
      await admin.createTopics({ topics: [{ topic: `failing-${name}`, numPartitions: 1 }] });
      const consumer = kafka.consumer({ groupId: `failing-${name}`, partitionAssigners: [failing], sessionTimeout: 6_000, heartbeatInterval: 300, maxWaitTimeInMs: 100 });
      cleanups.push(() => consumer.disconnect());
      const crashes: any[] = [];
      consumer.on(consumer.events.CRASH, (e: any) => crashes.push(e.payload));
      await consumer.connect();
      await consumer.subscribe({ topic: `failing-${name}` });
      await consumer.run({ eachMessage: async () => {} });
      await waitFor(`${name}: the crash`, () => crashes.length > 0, { timeoutMs: 20_000, intervalMs: 50 });
      await new Promise((r) => setTimeout(r, 500));
      await consumer.disconnect();
      await admin.disconnect();
      return crashes.map((c) => ({ name: c.error.name, message: c.error.message, restart: c.restart }));
    };
    const r = await outcome(real, 'real');
    const f = await outcome(fjord, 'fjord');
    assert.deepEqual(f, r);
    assert.deepEqual(f, [{ name: 'Error', message: 'no assignment today', restart: false }]);
    // A factory that does not make an assigner is refused when the consumer is created.
    const kafka = kafkaFor(fjord, 'broken-assigner', []);
    assert.throws(() => kafka.consumer({ groupId: 'g', partitionAssigners: [() => ({ name: 'NoMethods' })] }), /partitionAssigners.*assign\(\), protocol\(\)/);
  });

  test('partitions of a topic it did not subscribe to are left alone and reported, as in kafkajs', { timeout: 60_000 }, async () => {
    // A kafkajs leader subscribed to two topics deals both over every member (KafkaJS's round robin
    // ignores subscriptions); the other member subscribed to one of them.
    const outcome = async (lib: Lib, name: string): Promise<unknown> => {
      const kafka = kafkaFor(real, `unsub-${name}-leader`, []);
      const admin = kafka.admin();
      cleanups.push(() => admin.disconnect());
      const [a, b] = [`unsub-${name}-a`, `unsub-${name}-b`];
      await admin.createTopics({ topics: [{ topic: a, numPartitions: 2 }, { topic: b, numPartitions: 2 }] });
      const settings = { groupId: `unsub-${name}`, sessionTimeout: 6_000, heartbeatInterval: 300, maxWaitTimeInMs: 100, rebalanceTimeout: 10_000 };
      const leader = kafka.consumer(settings);
      cleanups.push(() => leader.disconnect());
      const leaderJoins: any[] = [];
      leader.on(leader.events.GROUP_JOIN, (e: any) => leaderJoins.push(e.payload));
      await leader.connect();
      await leader.subscribe({ topics: [a, b] });
      await leader.run({ eachMessage: async () => {} });
      await waitFor(`${name}: the leader alone`, () => leaderJoins.length > 0, { timeoutMs: 20_000, intervalMs: 50 });
      const member = kafkaFor(lib, `unsub-${name}-member`, []).consumer(settings);
      cleanups.push(() => member.disconnect());
      const joins: any[] = [];
      const reported: any[] = [];
      member.on(member.events.GROUP_JOIN, (e: any) => joins.push(e.payload));
      member.on(member.events.RECEIVED_UNSUBSCRIBED_TOPICS, (e: any) => reported.push(e.payload));
      await member.connect();
      await member.subscribe({ topic: a });
      await member.run({ eachMessage: async () => {} });
      await waitFor(`${name}: the member's assignment`, () => joins.length > 0 && reported.length > 0, { timeoutMs: 20_000, intervalMs: 50 });
      const r = reported.at(-1);
      const rename = (l: string[]): string[] => [...l].sort().map((t) => t.slice(`unsub-${name}-`.length));
      await Promise.all([member.disconnect(), leader.disconnect()]);
      await admin.disconnect();
      return {
        leaderLed: leaderJoins.at(-1)?.isLeader ?? leaderJoins[0].isLeader,
        reported: { keys: Object.keys(r).sort(), assignedTopics: rename(r.assignedTopics), topicsSubscribed: rename(r.topicsSubscribed), topicsNotSubscribed: rename(r.topicsNotSubscribed), ofThisMember: r.memberId === joins.at(-1).memberId && r.groupId === settings.groupId },
        assignment: Object.fromEntries(Object.entries(joins.at(-1).memberAssignment).map(([t, ps]) => [t.slice(`unsub-${name}-`.length), (ps as number[]).length])),
      };
    };
    const r = await outcome(real, 'real');
    const f = await outcome(fjord, 'fjord');
    assert.deepEqual(f, r);
    assert.deepEqual(f, {
      leaderLed: true,
      reported: { keys: ['assignedTopics', 'generationId', 'groupId', 'memberId', 'topicsNotSubscribed', 'topicsSubscribed'], assignedTopics: ['a', 'b'], topicsSubscribed: ['a'], topicsNotSubscribed: ['b'], ofThisMember: true },
      assignment: { a: 1 },
    });
  });

  test('heartbeat and fetch events come with the payloads kafkajs gives (health checks watch them)', { timeout: 60_000 }, async () => {
    const outcome = async (lib: Lib, name: string): Promise<unknown> => {
      const kafka = kafkaFor(lib, `events-${name}`, []);
      const admin = kafka.admin();
      cleanups.push(() => admin.disconnect());
      await admin.createTopics({ topics: [{ topic: `events-${name}`, numPartitions: 1 }] });
      const consumer = kafka.consumer({ groupId: `events-${name}`, sessionTimeout: 6_000, heartbeatInterval: 200, maxWaitTimeInMs: 100 });
      cleanups.push(() => consumer.disconnect());
      const events: Record<string, any[]> = { heartbeat: [], fetchStart: [], fetch: [], join: [] };
      consumer.on(consumer.events.HEARTBEAT, (e: any) => events['heartbeat']!.push(e));
      consumer.on(consumer.events.FETCH_START, (e: any) => events['fetchStart']!.push(e));
      consumer.on(consumer.events.FETCH, (e: any) => events['fetch']!.push(e));
      consumer.on(consumer.events.GROUP_JOIN, (e: any) => events['join']!.push(e));
      await consumer.connect();
      await consumer.subscribe({ topic: `events-${name}` });
      await consumer.run({ eachMessage: async () => {} });
      await waitFor(`${name}: heartbeats and fetches`, () => events['heartbeat']!.length >= 3 && events['fetch']!.length >= 3, { timeoutMs: 20_000, intervalMs: 50 });
      await consumer.disconnect();
      await admin.disconnect();
      const shape = (e: any): Record<string, string> => Object.fromEntries(Object.entries(e.payload).map(([k, v]) => [k, typeof v]));
      const memberId = events['join']!.at(-1).payload.memberId;
      const hb = events['heartbeat']!.at(-1);
      return {
        types: [hb.type, events['fetchStart']![0].type, events['fetch']![0].type],
        heartbeat: shape(hb),
        fetchStart: shape(events['fetchStart']![0]),
        fetch: shape(events['fetch']![0]),
        heartbeatOfThisMember: hb.payload.memberId === memberId && hb.payload.groupId === `events-${name}` && hb.payload.groupGenerationId >= 1,
        brokerNode: events['fetch']![0].payload.nodeId === events['fetchStart']![0].payload.nodeId && events['fetch']![0].payload.numberOfBatches === 0,
      };
    };
    const r = await outcome(real, 'real');
    const f = await outcome(fjord, 'fjord');
    assert.deepEqual(f, r);
    assert.deepEqual(f, {
      types: ['consumer.heartbeat', 'consumer.fetch_start', 'consumer.fetch'],
      heartbeat: { groupId: 'string', memberId: 'string', groupGenerationId: 'number' },
      fetchStart: { nodeId: 'string' },
      fetch: { numberOfBatches: 'number', duration: 'number', nodeId: 'string' },
      heartbeatOfThisMember: true,
      brokerNode: true,
    });
  });

  test('config: ssl and sasl are refused by name; logCreator gets the client logs at its level', { timeout: 20_000 }, async () => {
    const { ConfigError } = await import('@fjord/client');
    assert.throws(() => new facade.Kafka({ brokers: ['127.0.0.1:1'], ssl: true }), (e: any) => e instanceof ConfigError && e.option === 'ssl' && /not supported/.test(e.message));
    assert.throws(() => new facade.Kafka({ brokers: ['127.0.0.1:1'], sasl: { mechanism: 'plain', username: 'u', password: 'p' } }), (e: any) => e instanceof ConfigError && e.option === 'sasl');
    assert.throws(() => new facade.Kafka({ brokers: [] }), (e: any) => e instanceof ConfigError && e.option === 'brokers');
    new facade.Kafka({ brokers: ['127.0.0.1:1'], ssl: false }); // false is plaintext
    const entries: any[] = [];
    let createdWith: unknown;
    const kafka = new facade.Kafka({
      brokers: async () => [broker.bootstrap],
      logLevel: facade.logLevel.INFO,
      logCreator: (level) => {
        createdWith = level;
        return (e) => entries.push(e);
      },
    });
    const p = kafka.producer({ idempotent: true });
    cleanups.push(() => p.disconnect());
    const events: string[] = [];
    p.on(p.events.CONNECT, (e) => events.push(e.type));
    p.on(p.events.DISCONNECT, (e) => events.push(e.type));
    await p.connect();
    await p.send({ topic: 'logged', messages: [{ value: 'x' }] });
    await p.disconnect();
    await waitFor('connect and disconnect events', () => events.length === 2, { timeoutMs: 2_000, intervalMs: 20 });
    assert.deepEqual(events, ['producer.connect', 'producer.disconnect']);
    assert.equal(createdWith, facade.logLevel.INFO);
    assert.ok(entries.length > 0, 'the client logged through logCreator');
    assert.ok(entries.every((e) => e.level !== facade.logLevel.DEBUG && typeof e.log.message === 'string' && typeof e.log.timestamp === 'string' && e.label), JSON.stringify(entries[0]));
    assert.ok(entries.some((e) => e.namespace.startsWith('Producer') && e.log.message === 'producer id'), JSON.stringify(entries.map((e) => [e.namespace, e.log.message])));
    kafka.logger().info('from the application', { a: 1 });
    assert.deepEqual(entries.at(-1).log.a, 1);
  });

  test('partitionsConsumedConcurrently runs partitions in parallel, each in order; autoCommitThreshold commits as it goes', { timeout: 30_000 }, async () => {
    const log: string[] = [];
    const fk = kafkaFor(fjord, 'concurrent', log);
    const admin = fk.admin();
    cleanups.push(() => admin.disconnect());
    await admin.createTopics({ topics: [{ topic: 'concurrent', numPartitions: 4 }] });
    const p = fk.producer();
    cleanups.push(() => p.disconnect());
    await p.send({ topic: 'concurrent', messages: Array.from({ length: 16 }, (_, i) => ({ value: `m${i}`, partition: i % 4 })) });
    const c = fk.consumer({ groupId: 'concurrent-group', sessionTimeout: 6_000, heartbeatInterval: 300, maxWaitTimeInMs: 100, maxBytesPerPartition: 64 });
    cleanups.push(() => c.disconnect());
    let active = 0;
    let maxActive = 0;
    const order: Array<[number, string]> = [];
    const commits: number[] = [];
    c.on(c.events.COMMIT_OFFSETS, (e: any) => commits.push(e.payload.topics.length));
    await c.subscribe({ topic: 'concurrent', fromBeginning: true });
    await c.run({
      partitionsConsumedConcurrently: 4,
      autoCommitThreshold: 2,
      eachMessage: async ({ partition, message }: any) => {
        active++;
        maxActive = Math.max(maxActive, active);
        await new Promise((r) => setTimeout(r, 100));
        order.push([partition, message.offset]);
        active--;
      },
    });
    await waitFor('16 records', () => order.length >= 16, { timeoutMs: 20_000, intervalMs: 50 });
    await c.stop();
    assert.ok(maxActive > 1, `handlers ran concurrently (max ${maxActive})`);
    for (let n = 0; n < 4; n++) assert.deepEqual(order.filter(([x]) => x === n).map(([, o]) => o), ['0', '1', '2', '3'], `partition ${n} in order`);
    assert.ok(commits.length >= 2, `auto commits happened (${commits.length})`);
    const offsets = await admin.fetchOffsets({ groupId: 'concurrent-group', topics: ['concurrent'] });
    assert.deepEqual(offsets[0].partitions.map((x: any) => x.offset), ['4', '4', '4', '4']);
    await Promise.all([c.disconnect(), p.disconnect(), admin.disconnect()]);
  });

  test('KafkaJS-typed code compiles and runs against the facade (lz4, idempotent, repeated headers)', { timeout: 30_000 }, async () => {
    const { sent, received } = await typedApplication({ brokers: [broker.bootstrap], clientId: 'typed', logLevel: facade.logLevel.ERROR, logCreator: () => () => {} }, 'typed-topic');
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.errorCode, 0);
    assert.deepEqual(received, ['k=typed "a,b"']);
  });

  test("admin errors and group member bytes take kafkajs's shapes", { timeout: 60_000 }, async () => {
    const outcome = async (lib: Lib & Record<string, any>, p: string): Promise<Record<string, unknown>> => {
      const out: Record<string, unknown> = {};
      const kafka = kafkaFor(lib, `${p}-shapes`, []);
      const admin = kafka.admin();
      cleanups.push(() => admin.disconnect());
      await admin.connect();
      // Two topics refused (a bad config value, a bad partition count), one created: an aggregate of one error per refused topic.
      const e = await admin
        .createTopics({ topics: [{ topic: `${p}-ok`, numPartitions: 2 }, { topic: `${p}-badconfig`, configEntries: [{ name: 'retention.ms', value: 'soon' }] }, { topic: `${p}-badcount`, numPartitions: -5 }] })
        .then(() => undefined, (x: any) => x);
      out['createTopicsError'] = { name: e?.name, isAggregate: e instanceof lib.KafkaJSAggregateError, message: e?.message, errors: (e?.errors ?? []).map((x: any) => ({ name: x.name, type: x.type, topic: x.topic?.slice(p.length), retriable: x.retriable, isProtocol: x instanceof lib.KafkaJSProtocolError })).sort((a: any, b: any) => a.topic.localeCompare(b.topic)) };
      out['createdAnyway'] = (await admin.listTopics()).filter((t: string) => t.startsWith(p)).map((t: string) => t.slice(p.length)).sort();
      // Records deleted on partition 0; partition 1 refused (past its end): the error lists the refused partition.
      const producer = kafka.producer();
      cleanups.push(() => producer.disconnect());
      await producer.connect();
      await producer.send({ topic: `${p}-ok`, messages: [0, 1, 2, 3].map((i) => ({ value: `v${i}`, partition: i % 2 })) });
      const d = await admin.deleteTopicRecords({ topic: `${p}-ok`, partitions: [{ partition: 0, offset: '1' }, { partition: 1, offset: '50' }] }).then(() => undefined, (x: any) => x);
      out['deleteRecordsError'] = {
        name: d?.name,
        retriable: d?.retriable,
        message: d?.message,
        cause: d?.cause?.name,
        causeIsClass: d?.cause instanceof lib.KafkaJSDeleteTopicRecordsError,
        partitions: (d?.cause?.partitions ?? []).map((x: any) => ({ partition: x.partition, offset: x.offset, error: x.error?.name, type: x.error?.type })),
      };
      out['offsetsAfterDelete'] = await admin.fetchTopicOffsets(`${p}-ok`);
      // A group member's assignment and subscription, read back from describeGroups with AssignerProtocol.
      const consumer = kafka.consumer({ groupId: `${p}-g`, sessionTimeout: 6_000, heartbeatInterval: 300, maxWaitTimeInMs: 100 });
      cleanups.push(() => consumer.disconnect());
      let joined = false;
      consumer.on(consumer.events.GROUP_JOIN, () => (joined = true));
      await consumer.connect();
      await consumer.subscribe({ topics: [`${p}-ok`], fromBeginning: true });
      await consumer.run({ eachMessage: async () => {} });
      await waitFor('the member to join', () => joined, { timeoutMs: 20_000, intervalMs: 50 });
      const [group] = (await admin.describeGroups([`${p}-g`])).groups;
      out['members'] = group.members.map((m: any) => {
        const a = lib['AssignerProtocol'].MemberAssignment.decode(m.memberAssignment);
        const md = lib['AssignerProtocol'].MemberMetadata.decode(m.memberMetadata);
        return { assignment: Object.fromEntries(Object.entries(a.assignment).map(([t, ps]) => [t.slice(p.length), ps])), topics: md.topics.map((t: string) => t.slice(p.length)) };
      });
      await consumer.disconnect();
      await producer.disconnect();
      await admin.disconnect();
      return out;
    };
    const r = await outcome(real as any, 'shr');
    const f = await outcome(fjord as any, 'shf');
    assert.deepEqual(f, r);
    // What both must be, beyond being equal.
    assert.deepEqual((f['createTopicsError'] as any).errors.map((x: any) => [x.topic, x.type]), [['-badconfig', 'INVALID_CONFIG'], ['-badcount', 'INVALID_PARTITIONS']]);
    assert.deepEqual(f['createdAnyway'], ['-ok']);
    assert.deepEqual((f['deleteRecordsError'] as any).partitions, [{ partition: 1, offset: '50', error: 'KafkaJSProtocolError', type: 'OFFSET_OUT_OF_RANGE' }]);
    assert.deepEqual((f['offsetsAfterDelete'] as any[]).map((x) => [x.partition, x.low, x.high]).sort(), [[0, '1', '2'], [1, '0', '2']]);
    assert.deepEqual(f['members'], [{ assignment: { '-ok': [0, 1] }, topics: ['-ok'] }]);
  });

  test('connect() to a port nobody listens on fails as kafkajs does, within the retry budget', { timeout: 30_000 }, async () => {
    const { createServer } = await import('node:net');
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const outcome = async (lib: Lib): Promise<unknown[]> => {
      const kafka = new lib.Kafka({ brokers: [`127.0.0.1:${port}`], logLevel: lib.logLevel.NOTHING, connectionTimeout: 500, retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 } });
      const out: unknown[] = [];
      for (const client of [kafka.producer(), kafka.admin(), kafka.consumer({ groupId: 'nobody' })]) {
        const t = Date.now();
        const e = await client.connect().then(() => undefined, (x: any) => x);
        out.push({ name: e?.name, retriable: e?.retriable, cause: e?.cause?.name, fast: Date.now() - t < 5_000 });
        await client.disconnect().catch(() => {});
      }
      return out;
    };
    const [r, f] = [await outcome(real), await outcome(fjord)];
    assert.deepEqual(f, r);
    assert.deepEqual(f[0], { name: 'KafkaJSNumberOfRetriesExceeded', retriable: false, cause: 'KafkaJSConnectionError', fast: true });
  });
});
