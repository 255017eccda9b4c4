// The coordinator in-process with a controlled clock: offset retention (offsets.retention.minutes
// counts from when a group emptied, or from the commit for a group that never had members; explicit
// expiry of OffsetCommit v2-4; live groups keep theirs), DeleteGroups and topic deletion tombstones,
// and that all of it is what a restart replays.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { ErrorCode } from '@fjord/protocol';
import { Broker } from '../broker.js';
import { BrokerConfig } from '../config/broker-configs.js';
import { silentLogger } from '../logger.js';
import type { JoinRequest } from './classic-group.js';

const MINUTE = 60_000;
let dir: string;
let now = Date.UTC(2026, 0, 1);
const clock = { now: () => now };
let broker: Broker;

function config(): BrokerConfig {
  return new BrokerConfig([
    ['listeners', 'PLAINTEXT://127.0.0.1:0'],
    ['log.dir', dir],
    ['offsets.retention.minutes', '10'],
    ['group.initial.rebalance.delay.ms', '0'],
    ['offsets.topic.num.partitions', '5'],
  ]);
}

async function start(): Promise<void> {
  broker = new Broker({ config: config(), logger: silentLogger, clock });
  await broker.start();
}

const anyone = { memberId: '', groupInstanceId: null, generationIdOrMemberEpoch: -1, apiVersion: 8 };

async function commit(group: string, topic: string, partition: number, offset: bigint, retentionMs = -1n): Promise<void> {
  const codes = await broker.groups.commitOffsets(group, anyone, [{ topic, partition, offset, leaderEpoch: -1, metadata: '' }], retentionMs);
  assert.deepEqual(codes, [ErrorCode.NONE]);
}

function offsetOf(group: string, topic: string, partition: number): bigint | undefined {
  return broker.groups.committedOffsets(group)?.get(topic)?.get(partition)?.offset;
}

const join = (over: Partial<JoinRequest> = {}): JoinRequest => ({
  memberId: '',
  groupInstanceId: null,
  clientId: 'c',
  clientHost: '/127.0.0.1',
  sessionTimeoutMs: 30_000,
  rebalanceTimeoutMs: 30_000,
  protocolType: 'consumer',
  protocols: [{ name: 'range', metadata: Buffer.from('m') }],
  reason: null,
  apiVersion: 3,
  ...over,
});

before(async () => {
  dir = mkdtempSync(joinPath(tmpdir(), 'fjord-coordinator-'));
  await start();
  for (const name of ['t1', 't2']) {
    const r = await broker.topics.create({ name, numPartitions: 2, replicationFactor: 1, assignments: [], configs: {} });
    assert.equal(r.errorCode, 0);
  }
});

after(async () => {
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('retention: simple commits expire from their commit time, an emptied group from when it emptied, a live group never', async () => {
  await commit('simple', 't1', 0, 10n);
  // A classic group with one member that commits, then leaves.
  const j = await broker.groups.joinGroup('left', join());
  assert.equal(j.errorCode, 0);
  const s = await broker.groups.syncGroup('left', { memberId: j.memberId, groupInstanceId: null, generationId: j.generationId, protocolType: null, protocolName: null, assignments: [] });
  assert.equal(s.errorCode, 0);
  const codes = await broker.groups.commitOffsets('left', { memberId: j.memberId, groupInstanceId: null, generationIdOrMemberEpoch: j.generationId, apiVersion: 8 }, [{ topic: 't1', partition: 1, offset: 20n, leaderEpoch: 3, metadata: 'x' }], -1n);
  assert.deepEqual(codes, [0]);
  // A live group keeps its offsets however old.
  const live = await broker.groups.joinGroup('live', join());
  await broker.groups.syncGroup('live', { memberId: live.memberId, groupInstanceId: null, generationId: live.generationId, protocolType: null, protocolName: null, assignments: [] });
  await broker.groups.commitOffsets('live', { memberId: live.memberId, groupInstanceId: null, generationIdOrMemberEpoch: live.generationId, apiVersion: 8 }, [{ topic: 't2', partition: 0, offset: 30n, leaderEpoch: -1, metadata: '' }], -1n);

  now += 6 * MINUTE;
  assert.deepEqual(broker.groups.leaveGroup('left', [{ memberId: j.memberId, groupInstanceId: null, reason: null }]).members, [0]);
  await new Promise((r) => setImmediate(r));
  assert.equal(broker.groups.groups.get('left')?.stateName(), 'Empty');

  now += 5 * MINUTE; // 11 min after the commits, 5 after 'left' emptied
  assert.equal(await broker.groups.expireOffsets(), 1);
  assert.equal(offsetOf('simple', 't1', 0), undefined, 'simple commit expired');
  assert.equal(broker.groups.groups.has('simple'), false, 'a group with no offsets and no members is removed');
  assert.equal(offsetOf('left', 't1', 1), 20n, 'emptied 5 minutes ago: kept');
  assert.equal(offsetOf('live', 't2', 0), 30n);

  now += 5 * MINUTE; // 'left' emptied 10 minutes ago
  assert.equal(await broker.groups.expireOffsets(), 1);
  assert.equal(offsetOf('left', 't1', 1), undefined);
  assert.equal(broker.groups.groups.has('left'), false);
  assert.equal(offsetOf('live', 't2', 0), 30n, 'a group with members keeps its offsets');
});

test('retention: an explicit retention time (OffsetCommit v2-4) expires at that time', async () => {
  await commit('explicit', 't1', 0, 5n, BigInt(MINUTE));
  await commit('explicit', 't1', 1, 6n);
  now += MINUTE;
  assert.equal(await broker.groups.expireOffsets(), 1);
  assert.equal(offsetOf('explicit', 't1', 0), undefined);
  assert.equal(offsetOf('explicit', 't1', 1), 6n);
});

test('a group that empties without committing is removed by the next cleanup', async () => {
  const j = await broker.groups.joinGroup('no-commits', join());
  await broker.groups.syncGroup('no-commits', { memberId: j.memberId, groupInstanceId: null, generationId: j.generationId, protocolType: null, protocolName: null, assignments: [] });
  await broker.groups.expireOffsets();
  assert.equal(broker.groups.groups.get('no-commits')?.stateName(), 'Stable', 'a live group stays');
  broker.groups.leaveGroup('no-commits', [{ memberId: j.memberId, groupInstanceId: null, reason: null }]);
  await broker.groups.expireOffsets();
  assert.equal(broker.groups.groups.has('no-commits'), false);
});

test('deleting a topic removes its committed offsets from every group', async () => {
  await commit('topic-gone', 't2', 1, 9n);
  await commit('topic-gone', 't1', 1, 8n);
  const r = await broker.topics.delete('t2');
  assert.equal(r.errorCode, 0);
  await broker.groups.onTopicDeleted('t2');
  assert.equal(offsetOf('topic-gone', 't2', 1), undefined);
  assert.equal(offsetOf('topic-gone', 't1', 1), 8n);
});

test('a restart replays exactly what is left: offsets, groups, deletions', async () => {
  await commit('deleted', 't1', 0, 1n);
  assert.deepEqual(await broker.groups.deleteGroups(['deleted']), [{ groupId: 'deleted', errorCode: 0 }]);
  const snapshot = (): string =>
    JSON.stringify(
      [...broker.groups.groups.keys()].sort().map((g) => [g, broker.groups.groups.get(g)!.stateName(), [...(broker.groups.committedOffsets(g) ?? [])].map(([t, ps]) => [t, [...ps].map(([p, o]) => [p, String(o.offset), o.metadata])])]),
    );
  const before = snapshot();
  assert.match(before, /"live","Stable"/);
  await broker.stop();
  await start();
  assert.equal(snapshot(), before);
  assert.equal(broker.groups.groups.has('deleted'), false);
  assert.equal(offsetOf('live', 't2', 0), undefined, 't2 was deleted');
  assert.equal(offsetOf('topic-gone', 't1', 1), 8n);
});
