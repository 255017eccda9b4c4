// Acceptance: static membership (KIP-345, group.instance.id) with confluent-kafka-python, the one
// client here that has it. A static member that goes away without leaving — close() (librdkafka
// sends no LeaveGroup for a static member) or kill -9 — and comes back with the same instance id
// inside the session timeout gets its partitions back without a rebalance: the other member sees no
// revoke or assign, and the expiry of the old incarnation's session changes nothing either. A static
// member that does not come back loses its partitions when its session times out.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type Broker } from '../harness/broker.js';
import { createTopics } from '../harness/fixtures.js';
import { sleep, topicName } from '../harness/util.js';
import { startMember, stopAll, waitBalanced, waitMembers, type Member } from '../harness/members.js';

const partitions = 6;
const sessionMs = 6_000;
let broker: Broker;

before(async () => {
  broker = await startBroker({ configs: { 'group.initial.rebalance.delay.ms': 0, 'group.min.session.timeout.ms': 1000 } });
}, { timeout: 60_000 });
after(async () => {
  await broker?.dispose();
}, { timeout: 60_000 });

const cases = [
  { how: 'close', restart: 'a', note: 'the first member to join (the leader) closes' },
  { how: 'kill -9', restart: 'b', note: 'the second member is killed' },
] as const;

describe('static membership (group.instance.id)', { concurrency: true }, () => {
  for (const c of cases) {
    test(`confluent-kafka: ${c.note} and restarts within the session timeout: same partitions, no rebalance`, { timeout: 120_000 }, async (t) => {
      const topic = topicName(`static-${c.restart}`);
      const group = `${topic}-g`;
      await createTopics(broker.bootstrap, [{ name: topic, num_partitions: partitions }]);
      const members: Member[] = [];
      const start = (name: string, instance: string): Member => {
        const m = startMember(name, 'ck', broker.bootstrap, {
          group,
          topic,
          strategy: 'range',
          instance_id: instance,
          client_id: `static-${name}`,
          commit: 'none',
          session_timeout_ms: sessionMs,
          heartbeat_ms: 500,
        });
        members.push(m);
        return m;
      };
      try {
        const a = start('a', 'inst-a');
        await waitMembers('the first member to be assigned', members, () => a.assignment()?.length === partitions, 30_000);
        const b = start('b', 'inst-b');
        const two = await waitBalanced([a, b], partitions, 30_000);
        const [goer, stayer] = c.restart === 'a' ? [a, b] : [b, a];
        const before = two.byMember.get(goer.name)!;
        const stayerMark = stayer.events.length;

        const downAt = Date.now();
        if (c.how === 'close') await goer.stop();
        else await goer.kill9();
        const back = start(`${goer.name}2`, `inst-${goer.name}`);
        await waitMembers('the restarted static member to be assigned', members, () => (back.assignment()?.length ?? 0) > 0, 20_000);
        const backMs = Date.now() - downAt;
        assert.ok(backMs < sessionMs, `the member was back after ${backMs} ms, not within the session timeout (${sessionMs} ms): the test cannot tell a rebalance-free rejoin from a new member`);
        assert.deepEqual(back.assignment(), before, 'the restarted static member gets its previous partitions back');

        // Wait past the old incarnation's session expiry: it was replaced, so that changes nothing.
        await sleep(Math.max(0, downAt + sessionMs + 2_000 - Date.now()));
        assert.deepEqual(stayer.rebalanceEvents(stayerMark), [], `${stayer.name} saw a rebalance while ${goer.name} restarted\n${stayer.describe()}`);
        assert.deepEqual(
          back.rebalanceEvents().map((e) => e.ev),
          ['assigned'],
          `the restarted member was assigned once and never revoked\n${back.describe()}`,
        );
        assert.deepEqual(stayer.assignment(), two.byMember.get(stayer.name));

        // A static member that does not come back is removed when its session times out.
        const goneAt = Date.now();
        await back.kill9();
        const alone = await waitBalanced([stayer], partitions, sessionMs + 15_000);
        t.diagnostic(`${c.how}: back with ${JSON.stringify(before)} after ${backMs} ms; survivor took over ${alone.atMs - goneAt} ms after the last kill`);
      } finally {
        await stopAll(members);
      }
    });
  }
});

describe('static membership: fencing', () => {
  test('confluent-kafka: a second process with the same group.instance.id takes over and fences the first, without a rebalance', { timeout: 90_000 }, async () => {
    const topic = topicName('static-fence');
    const group = `${topic}-g`;
    await createTopics(broker.bootstrap, [{ name: topic, num_partitions: partitions }]);
    const members: Member[] = [];
    const start = (name: string, instance: string): Member => {
      const m = startMember(name, 'ck', broker.bootstrap, { group, topic, strategy: 'range', instance_id: instance, commit: 'none', session_timeout_ms: sessionMs, heartbeat_ms: 500 });
      members.push(m);
      return m;
    };
    try {
      const a = start('a', 'inst-a');
      await waitMembers('the first member to be assigned', members, () => a.assignment()?.length === partitions, 30_000);
      const b = start('b', 'inst-b');
      const two = await waitBalanced([a, b], partitions, 30_000);
      const bMark = b.events.length;
      const twin = start('a-twin', 'inst-a');
      await waitMembers('the twin to be assigned', members, () => (twin.assignment()?.length ?? 0) > 0, 20_000);
      assert.deepEqual(twin.assignment(), two.byMember.get('a'), 'the newcomer takes over the static member\'s partitions');
      // The old incarnation learns on its next heartbeat that it was fenced (FENCED_INSTANCE_ID,
      // which librdkafka raises as a fatal error).
      await waitMembers('the fenced member to get an error', members, () => a.events.some((e) => e.ev === 'error'), sessionMs);
      const err = a.events.find((e) => e.ev === 'error')!.err as { code: number; str: string };
      assert.ok(err.code === 82 || (err.code === -150 && /fenced/i.test(err.str)), `the old incarnation's error: ${JSON.stringify(err)}`);
      await sleep(1_000);
      assert.deepEqual(b.rebalanceEvents(bMark), [], `the other member saw a rebalance\n${b.describe()}`);
      await Promise.all([b.stop(), twin.stop()]);
    } finally {
      await stopAll(members);
    }
  });
});
