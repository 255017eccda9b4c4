// @platformatic/kafka 1.35 (a real client that speaks KIP-848's ConsumerGroupHeartbeat) in groups of
// both protocols: `groupProtocol: 'consumer'` members get disjoint, complete assignments from the
// broker's assignor as members join and leave, commit with their member epoch, and a restarted
// member resumes from the committed offsets; records produced by librdkafka are read exactly once
// across those changes. The same client in a classic group checks cross-client interop the other
// way. No other installed client speaks KIP-848 (Debian's librdkafka is 2.0.2).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Admin, Consumer, stringDeserializers, type MessagesStream } from '@platformatic/kafka';
import { startBroker, type Broker } from '../harness/broker.js';
import { createTopics, produceCk } from '../harness/fixtures.js';
import { makeRecords } from '../harness/records.js';

const PARTITIONS = 6;
let broker: Broker;
/** How to close every client a test opened (consumers forcibly, the admin client plainly). */
const open: Array<() => Promise<void>> = [];

before(async () => {
  broker = await startBroker({ configs: { 'group.initial.rebalance.delay.ms': 0, 'group.consumer.heartbeat.interval.ms': 500, 'group.consumer.min.heartbeat.interval.ms': 100, 'group.consumer.session.timeout.ms': 6000, 'group.consumer.min.session.timeout.ms': 1000 } });
}, { timeout: 20_000 });

after(async () => {
  for (const close of open.splice(0)) {
    try {
      await close();
    } catch {
      // already closed
    }
  }
  await broker?.dispose();
}, { timeout: 20_000 });

interface Member {
  consumer: Consumer<string, string, string, string>;
  stream: MessagesStream<string, string, string, string>;
  /** "partition:offset" of every record processed (after its commit succeeded). */
  processed: string[];
  assigned(): Array<[string, number]>;
  close(): Promise<void>;
}

async function member(groupId: string, topic: string, protocol: 'consumer' | 'classic', processed: string[]): Promise<Member> {
  const consumer = new Consumer<string, string, string, string>({
    clientId: `${groupId}-${open.length}`,
    bootstrapBrokers: [broker.bootstrap],
    groupId,
    deserializers: stringDeserializers,
    ...(protocol === 'consumer' ? { groupProtocol: 'consumer' as const } : { sessionTimeout: 6000, heartbeatInterval: 500, rebalanceTimeout: 6000 }),
  });
  open.push(() => new Promise<void>((resolve, reject) => consumer.close(true, (e) => (e ? reject(e) : resolve()))));
  const stream = await consumer.consume({ topics: [topic], mode: 'committed', fallbackMode: 'earliest', autocommit: false, maxWaitTime: 200 });
  const mine: string[] = [];
  stream.on('data', (m) => {
    // Commit before counting the record: a record counts as processed once its offset is stored.
    void Promise.resolve(m.commit()).then(
      () => {
        processed.push(`${m.partition}:${m.offset}`);
        mine.push(`${m.partition}:${m.offset}`);
      },
      () => undefined,
    );
  });
  stream.on('error', () => undefined);
  return {
    consumer,
    stream,
    processed: mine,
    assigned: () => (consumer.assignments ?? []).flatMap((a) => a.partitions.map((p) => [a.topic, p] as [string, number])),
    async close() {
      await stream.close();
      await consumer.close();
    },
  };
}

async function waitFor(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every partition owned by exactly one of the members. */
function partitionedExactly(members: Member[], topic: string): boolean {
  const owned = members.flatMap((m) => m.assigned().filter(([t]) => t === topic).map(([, p]) => p));
  return owned.length === PARTITIONS && new Set(owned).size === PARTITIONS && members.every((m) => m.assigned().length > 0);
}

const uniq = (xs: string[]): number => new Set(xs).size;

test('KIP-848 (groupProtocol consumer): joins and leaves rebalance through the broker; every record once; resume from commits', { timeout: 90_000 }, async () => {
  const topic = 'pk-848';
  const groupId = 'pk-848-group';
  await createTopics(broker.bootstrap, [{ name: topic, num_partitions: PARTITIONS }]);
  const first = makeRecords(600, { tag: 'a', baseTimestamp: Date.now() }).map((r, i) => ({ ...r, partition: i % PARTITIONS }));
  await produceCk(broker.bootstrap, topic, first);
  const processed: string[] = [];

  const a = await member(groupId, topic, 'consumer', processed);
  await waitFor('the first member to own every partition', () => partitionedExactly([a], topic), 20_000);
  const b = await member(groupId, topic, 'consumer', processed);
  const c = await member(groupId, topic, 'consumer', processed);
  await waitFor('three members with disjoint, complete assignments', () => partitionedExactly([a, b, c], topic), 30_000);
  await waitFor('every record processed', () => uniq(processed) === first.length, 30_000);

  // The broker's view agrees: a consumer-type group with three members, listed and described.
  const admin = new Admin({ clientId: 'pk-admin', bootstrapBrokers: [broker.bootstrap] });
  open.push(() => admin.close());
  const groups = await admin.listGroups({ types: ['consumer'] });
  assert.ok(groups.has(groupId), `listed: ${[...groups.keys()].join(', ')}`);

  // One member leaves: its partitions go to the other two.
  await b.close();
  await waitFor('two members owning every partition after a leave', () => partitionedExactly([a, c], topic), 30_000);
  const second = makeRecords(300, { tag: 'b', baseTimestamp: Date.now() }).map((r, i) => ({ ...r, partition: i % PARTITIONS }));
  await produceCk(broker.bootstrap, topic, second);
  await waitFor('the second batch processed', () => uniq(processed) === first.length + second.length, 30_000);

  // Everyone leaves; a new member resumes from the committed offsets: nothing is read again.
  await a.close();
  await c.close();
  const third = makeRecords(120, { tag: 'c', baseTimestamp: Date.now() }).map((r, i) => ({ ...r, partition: i % PARTITIONS }));
  await produceCk(broker.bootstrap, topic, third);
  const d = await member(groupId, topic, 'consumer', processed);
  await waitFor('the restarted member to process the new records', () => uniq(processed) === first.length + second.length + third.length, 30_000);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(processed.length, uniq(processed), 'a record was processed twice');
  assert.equal(d.processed.length, third.length, 'the restarted member read only what was not committed');
  await d.close();
});

test('classic protocol with the same client: two members split the topic and read every record once', { timeout: 60_000 }, async () => {
  const topic = 'pk-classic';
  const groupId = 'pk-classic-group';
  await createTopics(broker.bootstrap, [{ name: topic, num_partitions: PARTITIONS }]);
  const records = makeRecords(300, { tag: 'k', baseTimestamp: Date.now() }).map((r, i) => ({ ...r, partition: i % PARTITIONS }));
  await produceCk(broker.bootstrap, topic, records);
  const processed: string[] = [];
  const a = await member(groupId, topic, 'classic', processed);
  const b = await member(groupId, topic, 'classic', processed);
  await waitFor('two classic members with disjoint, complete assignments', () => partitionedExactly([a, b], topic), 30_000);
  await waitFor('every record processed', () => uniq(processed) === records.length, 30_000);
  await a.close();
  await b.close();
});
