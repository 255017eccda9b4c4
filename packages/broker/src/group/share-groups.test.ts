// Share group membership in-process (ShareGroupHeartbeat as Kafka's GroupMetadataManager serves
// it): epochs move on joins, leaves, subscription and topic changes; assignments follow; stale
// epochs are fenced and the previous one accepted; members expire after the session timeout; the
// group and its epochs survive a restart; bad requests get Kafka's codes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { ErrorCode, randomUuid } from '@fjord/protocol';
import { Broker } from '../broker.js';
import { BrokerConfig } from '../config/broker-configs.js';
import { silentLogger } from '../logger.js';
import type { ShareHeartbeatAnswer, ShareHeartbeatInput } from './share-groups.js';

let dir: string;
let broker: Broker;
const SESSION_MS = 300;

async function start(): Promise<void> {
  broker = new Broker({
    config: new BrokerConfig([
      ['listeners', 'PLAINTEXT://127.0.0.1:0'],
      ['log.dir', dir],
      ['offsets.topic.num.partitions', '2'],
      ['group.share.session.timeout.ms', String(SESSION_MS)],
      ['group.share.min.session.timeout.ms', String(SESSION_MS)],
      ['group.share.max.size', '3'],
    ]),
    logger: silentLogger,
  });
  await broker.start();
}

before(async () => {
  dir = mkdtempSync(joinPath(tmpdir(), 'fjord-share-groups-'));
  await start();
});

after(async () => {
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function hb(over: Partial<ShareHeartbeatInput> & { groupId: string; memberId: string; memberEpoch: number }): Promise<ShareHeartbeatAnswer> {
  return broker.groups.share.heartbeat({ rackId: null, subscribedTopicNames: null, clientId: 'c', clientHost: '/127.0.0.1', ...over });
}

const parts = (r: ShareHeartbeatAnswer): number[] | null => (r.assignment ? r.assignment.topicPartitions.flatMap((t) => t.partitions).sort() : null);

async function createTopic(name: string, partitions: number): Promise<void> {
  const r = await broker.topics.create({ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: {} });
  assert.equal(r.errorCode, 0);
}

test('epochs and assignments follow joins, topic creation, partition increases and leaves', async () => {
  const g = 'sg-epochs';
  const a = randomUuid();
  const b = randomUuid();
  let ra = await hb({ groupId: g, memberId: a, memberEpoch: 0, subscribedTopicNames: ['sg-t'] });
  assert.deepEqual([ra.errorCode, ra.memberEpoch, parts(ra)], [0, 1, []], 'the topic does not exist yet');
  const rb = await hb({ groupId: g, memberId: b, memberEpoch: 0, subscribedTopicNames: ['sg-t'] });
  assert.deepEqual([rb.memberEpoch, parts(rb)], [2, []]);
  await createTopic('sg-t', 1);
  ra = await hb({ groupId: g, memberId: a, memberEpoch: 1 });
  assert.deepEqual([ra.memberEpoch, parts(ra)], [3, [0]], 'topic created: new epoch, partition shared by both');
  ra = await hb({ groupId: g, memberId: a, memberEpoch: 3 });
  assert.deepEqual([ra.memberEpoch, ra.assignment], [3, null], 'nothing changed: no assignment');
  assert.deepEqual(parts(await hb({ groupId: g, memberId: b, memberEpoch: 2 })), [0]);

  await broker.topics.createPartitions('sg-t', 4, null);
  ra = await hb({ groupId: g, memberId: a, memberEpoch: 3 });
  const rb2 = await hb({ groupId: g, memberId: b, memberEpoch: 3 });
  assert.deepEqual([ra.memberEpoch, rb2.memberEpoch], [4, 4]);
  assert.deepEqual([...parts(ra)!, ...parts(rb2)!].sort(), [0, 1, 2, 3], 'four partitions, one member each');

  const left = await hb({ groupId: g, memberId: b, memberEpoch: -1 });
  assert.deepEqual([left.errorCode, left.memberEpoch], [0, -1]);
  ra = await hb({ groupId: g, memberId: a, memberEpoch: 4 });
  assert.deepEqual([ra.memberEpoch, parts(ra)], [5, [0, 1, 2, 3]]);
  const d = broker.groups.share.describe(g);
  assert.deepEqual([d.groupState, d.groupEpoch, d.assignmentEpoch, d.members.map((m) => m.memberId)], ['Stable', 5, 5, [a]]);
});

test('stale epochs are fenced, the previous one is accepted (a lost answer), unknown members refused', async () => {
  const g = 'sg-fence';
  const a = randomUuid();
  await hb({ groupId: g, memberId: a, memberEpoch: 0, subscribedTopicNames: ['sg-t'] });
  await hb({ groupId: g, memberId: randomUuid(), memberEpoch: 0, subscribedTopicNames: ['sg-t'] });
  const moved = await hb({ groupId: g, memberId: a, memberEpoch: 1 });
  assert.equal(moved.memberEpoch, 2);
  assert.equal((await hb({ groupId: g, memberId: a, memberEpoch: 1 })).errorCode, 0, 'previous epoch');
  assert.equal((await hb({ groupId: g, memberId: a, memberEpoch: 3 })).errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
  assert.equal((await hb({ groupId: g, memberId: randomUuid(), memberEpoch: 2 })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal((await hb({ groupId: g, memberId: randomUuid(), memberEpoch: -1 })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal((await hb({ groupId: 'sg-none', memberId: a, memberEpoch: 1 })).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
});

test('bad requests: INVALID_REQUEST, GROUP_MAX_SIZE_REACHED, another group type', async () => {
  assert.equal((await hb({ groupId: '', memberId: randomUuid(), memberEpoch: 0, subscribedTopicNames: ['x'] })).errorCode, ErrorCode.INVALID_REQUEST);
  assert.equal((await hb({ groupId: 'sg-bad', memberId: '', memberEpoch: 0, subscribedTopicNames: ['x'] })).errorCode, ErrorCode.INVALID_REQUEST);
  assert.equal((await hb({ groupId: 'sg-bad', memberId: randomUuid(), memberEpoch: 0, subscribedTopicNames: [] })).errorCode, ErrorCode.INVALID_REQUEST);
  assert.equal((await hb({ groupId: 'sg-bad', memberId: randomUuid(), memberEpoch: -2 })).errorCode, ErrorCode.INVALID_REQUEST);
  assert.equal((await hb({ groupId: 'sg-bad', memberId: randomUuid(), memberEpoch: 0, subscribedTopicNames: ['x'], rackId: '' })).errorCode, ErrorCode.INVALID_REQUEST);
  for (let i = 0; i < 3; i++) assert.equal((await hb({ groupId: 'sg-full', memberId: randomUuid(), memberEpoch: 0, subscribedTopicNames: ['x'] })).errorCode, 0);
  assert.equal((await hb({ groupId: 'sg-full', memberId: randomUuid(), memberEpoch: 0, subscribedTopicNames: ['x'] })).errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
  const codes = await broker.groups.commitOffsets('sg-classic', { memberId: '', groupInstanceId: null, generationIdOrMemberEpoch: -1, apiVersion: 8 }, [{ topic: 'sg-t', partition: 0, offset: 1n, leaderEpoch: -1, metadata: '' }], -1n);
  assert.deepEqual(codes, [0]);
  assert.equal((await hb({ groupId: 'sg-classic', memberId: randomUuid(), memberEpoch: 0, subscribedTopicNames: ['x'] })).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
});

test('a member that stops heartbeating is removed after the session timeout', async () => {
  const g = 'sg-expiry';
  const a = randomUuid();
  const b = randomUuid();
  await hb({ groupId: g, memberId: a, memberEpoch: 0, subscribedTopicNames: ['sg-t'] });
  const rb = await hb({ groupId: g, memberId: b, memberEpoch: 0, subscribedTopicNames: ['sg-t'] });
  for (let i = 0; i < 4; i++) {
    await new Promise((r) => setTimeout(r, SESSION_MS / 3));
    await hb({ groupId: g, memberId: b, memberEpoch: rb.memberEpoch });
  }
  const d = broker.groups.share.describe(g);
  assert.deepEqual(d.members.map((m) => m.memberId), [b], 'a expired, b kept alive');
  assert.equal((await hb({ groupId: g, memberId: a, memberEpoch: 1 })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
});

test('the group, its epochs and assignments survive a restart', async () => {
  const g = 'sg-restart';
  const a = randomUuid();
  const r = await hb({ groupId: g, memberId: a, memberEpoch: 0, subscribedTopicNames: ['sg-t'] });
  const before = broker.groups.share.describe(g);
  await broker.stop();
  await start();
  const after = broker.groups.share.describe(g);
  assert.deepEqual(after, before);
  const again = await hb({ groupId: g, memberId: a, memberEpoch: r.memberEpoch });
  assert.deepEqual([again.errorCode, again.memberEpoch, again.assignment], [0, r.memberEpoch, null]);
});
