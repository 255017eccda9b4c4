import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../errors.js';
import { resolveConsumerConfig, type ConsumerConfig } from './config.js';
import type { RawAssignor } from './assignors.js';

const base = { bootstrapServers: 'localhost:9092' };
const raw: RawAssignor = { name: 'mine', rebalanceProtocol: 'eager', raw: true, metadata: () => Buffer.alloc(2), assign: async () => [] };

describe('consumer config', () => {
  it('defaults follow Kafka: latest, read_uncommitted, auto commit only with a group, range then cooperative-sticky', () => {
    const r = resolveConsumerConfig(base);
    assert.deepEqual([r.autoOffsetReset, r.isolationLevel, r.enableAutoCommit, r.groupProtocol], ['latest', 'read_uncommitted', false, 'classic']);
    assert.deepEqual(r.assignors.map((a) => a.name), ['range', 'cooperative-sticky']);
    assert.equal(resolveConsumerConfig({ ...base, groupId: 'g' }).enableAutoCommit, true);
    assert.equal(r.client.allowAutoTopicCreation, false, 'consuming never creates topics');
    assert.deepEqual(resolveConsumerConfig({ ...base, partitionAssignmentStrategy: [raw, 'range'] }).assignors, [raw, r.assignors[0]], 'a raw assignor is taken as given');
  });

  it('bad values throw ConfigError naming the option', () => {
    for (const [bad, option] of [
      [{ autoOffsetReset: 'smallest' }, 'autoOffsetReset'],
      [{ isolationLevel: 'committed' }, 'isolationLevel'],
      [{ groupProtocol: 'share' }, 'groupProtocol'],
      [{ partitionAssignmentStrategy: ['sticky'] }, 'partitionAssignmentStrategy'],
      [{ partitionAssignmentStrategy: [] }, 'partitionAssignmentStrategy'],
      [{ groupId: '' }, 'groupId'],
      [{ enableAutoCommit: true }, 'enableAutoCommit'],
      [{ groupInstanceId: 'x' }, 'groupInstanceId'],
      [{ groupId: 'g', heartbeatIntervalMs: 50_000 }, 'heartbeatIntervalMs'],
      [{ fetchMaxWaitMs: 40_000 }, 'fetchMaxWaitMs'],
      [{ maxPartitionFetchBytes: 0 }, 'maxPartitionFetchBytes'],
      [{ partitionAssignmentStrategy: [{ ...raw, rebalanceProtocol: 'cooperative' }] }, 'partitionAssignmentStrategy'],
      [{ partitionAssignmentStrategy: [{ ...raw, metadata: undefined }] }, 'partitionAssignmentStrategy'],
      [{ partitionAssignmentStrategy: [{ ...raw, name: '' }] }, 'partitionAssignmentStrategy'],
    ] as const) {
      assert.throws(() => resolveConsumerConfig({ ...base, ...(bad as unknown as Partial<ConsumerConfig>) }), (e: unknown) => e instanceof ConfigError && e.option === option, option);
    }
  });
});
