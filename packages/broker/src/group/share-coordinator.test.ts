// The share coordinator in-process: writes are ShareSnapshot then ShareUpdate records merged as
// Kafka's combiner does, a restart replays them to the same state, pruning moves the log start of
// __share_group_state without losing state, and DeleteGroups' state deletion survives a restart.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { Broker } from '../broker.js';
import { BrokerConfig } from '../config/broker-configs.js';
import { silentLogger } from '../logger.js';
import { combineStateBatches, SHARE_STATE_TOPIC } from './share-coordinator.js';
import { RecordState as S, type StateBatch } from './share-partition.js';

let dir: string;
let broker: Broker;
let topicId = '';

async function start(): Promise<void> {
  broker = new Broker({
    config: new BrokerConfig([
      ['listeners', 'PLAINTEXT://127.0.0.1:0'],
      ['log.dir', dir],
      ['share.coordinator.state.topic.num.partitions', '2'],
      ['share.coordinator.snapshot.update.records.per.snapshot', '3'],
    ]),
    logger: silentLogger,
  });
  await broker.start();
}

before(async () => {
  dir = mkdtempSync(joinPath(tmpdir(), 'fjord-share-coordinator-'));
  await start();
  const r = await broker.topics.create({ name: 'sc', numPartitions: 1, replicationFactor: 1, assignments: [], configs: {} });
  assert.equal(r.errorCode, 0);
  topicId = broker.metadata.topic('sc')!.topicId;
});

after(async () => {
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const b = (first: number, last: number, state: number, count: number): StateBatch => ({ firstOffset: BigInt(first), lastOffset: BigInt(last), deliveryState: state, deliveryCount: count });

test('combine: later batches win, nothing before the start offset, equal neighbours merge', () => {
  const merged = combineStateBatches([b(0, 9, S.AVAILABLE, 1)], [b(3, 4, S.ACKNOWLEDGED, 1), b(5, 6, S.ACKNOWLEDGED, 1)], 2n);
  assert.deepEqual(merged, [b(2, 2, S.AVAILABLE, 1), b(3, 6, S.ACKNOWLEDGED, 1), b(7, 9, S.AVAILABLE, 1)]);
  assert.deepEqual(combineStateBatches(merged, [b(2, 2, S.ARCHIVED, 2)], 7n), [b(7, 9, S.AVAILABLE, 1)]);
});

test('writes are replayed to the same state after a restart, and pruning keeps it', async () => {
  const sc = broker.groups.share.state;
  await sc.write('g', topicId, 0, { startOffset: 0n, leaderEpoch: 0, batches: [] });
  await sc.write('g', topicId, 0, { startOffset: 0n, leaderEpoch: 0, batches: [b(0, 4, S.ACKNOWLEDGED, 1)] });
  await sc.write('g', topicId, 0, { startOffset: 5n, leaderEpoch: 0, batches: [b(5, 9, S.AVAILABLE, 2)] });
  for (let i = 10; i < 20; i++) await sc.write('g', topicId, 0, { startOffset: 5n, leaderEpoch: 0, batches: [b(i, i, S.ARCHIVED, 1)] });
  await sc.write('other', topicId, 0, { startOffset: 3n, leaderEpoch: 0, batches: [] });
  const want = { startOffset: 5n, stateEpoch: 0, leaderEpoch: 0, batches: [b(5, 9, S.AVAILABLE, 2), b(10, 19, S.ARCHIVED, 1)] };
  assert.deepEqual(sc.read('g', topicId, 0), want);

  await broker.stop();
  await start();
  assert.deepEqual(broker.groups.share.state.read('g', topicId, 0), want);
  assert.deepEqual(broker.groups.share.state.read('other', topicId, 0)?.startOffset, 3n);

  // Two prunes: the first snapshots keys whose snapshot is old, the second drops what they replace.
  await broker.groups.share.state.prune();
  await broker.groups.share.state.prune();
  const starts = broker.replicas.topicPartitions(SHARE_STATE_TOPIC).map((p) => p.logStartOffset);
  assert.ok(starts.some((s) => s > 0n), `log start offsets ${starts.join(',')}`);
  await broker.stop();
  await start();
  assert.deepEqual(broker.groups.share.state.read('g', topicId, 0), want);

  await broker.groups.share.state.deleteGroup('g');
  await broker.stop();
  await start();
  assert.equal(broker.groups.share.state.read('g', topicId, 0), undefined);
  assert.equal(broker.groups.share.state.read('other', topicId, 0)?.startOffset, 3n);
});
