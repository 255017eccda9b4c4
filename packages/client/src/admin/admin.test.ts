// Admin against a scripted broker that advertises old versions of some APIs (a Fjord broker
// advertises the newest, so these shapes are not exercised by the compat tests), and retries of
// answers that name a moved coordinator or leader.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ErrorCode, KafkaError } from '@fjord/protocol';
import { startFakeBroker, type FakeRequest } from '../test-support/fake-broker.js';
import { Admin } from './admin.js';

type Req = FakeRequest & { body: any };

const cleanup: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanup) await c();
});

async function setup(caps: Record<number, number>, handle: (r: Req) => unknown): Promise<{ admin: Admin; requests: Req[] }> {
  // FindCoordinator capped at v3: the fake broker answers the single-key form.
  const b = await startFakeBroker({ topics: { t: 2 }, caps: { 10: 3, ...caps }, handle: (r) => handle(r as Req) });
  const admin = new Admin({ bootstrapServers: b.bootstrap, apiTimeoutMs: 5_000, retryBackoffMs: 10, retryBackoffMaxMs: 20 });
  cleanup.push(async () => {
    await admin.close();
    await b.close();
  });
  return { admin, requests: b.requests };
}

describe('Admin on older API versions', () => {
  it('ListOffsets v0 reads the offsets list; max-timestamp needs v7', async () => {
    const { admin, requests } = await setup({ 2: 0 }, (r) => ({
      topics: r.body.topics.map((t: any) => ({ name: t.name, partitions: t.partitions.map((p: any) => ({ partitionIndex: p.partitionIndex, errorCode: 0, oldStyleOffsets: [p.timestamp === -2n ? 3n : 42n] })) })),
    }));
    const res = await admin.listOffsets([{ topic: 't', partition: 0, spec: 'earliest' }, { topic: 't', partition: 1, spec: 'latest' }]);
    assert.deepEqual(res, [{ topic: 't', partition: 0, offset: 3n, timestamp: -1n, leaderEpoch: -1 }, { topic: 't', partition: 1, offset: 42n, timestamp: -1n, leaderEpoch: -1 }]);
    const sent = requests.filter((r) => r.apiKey === 2);
    assert.deepEqual(sent.map((r) => r.apiVersion), [0], 'one request for the one leader, at v0');
    assert.equal(sent[0]!.body.replicaId, -1);
    await assert.rejects(admin.listOffsets([{ topic: 't', partition: 0, spec: 'max-timestamp' }]), (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.UNSUPPORTED_VERSION);
  });

  it('OffsetCommit v7 names topics; a group with members is reported as such', async () => {
    let answer: number = ErrorCode.NONE;
    const { admin, requests } = await setup({ 8: 7 }, (r) => ({ topics: r.body.topics.map((t: any) => ({ name: t.name, partitions: t.partitions.map((p: any) => ({ partitionIndex: p.partitionIndex, errorCode: answer })) })) }));
    await admin.alterGroupOffsets('g', [{ topic: 't', partition: 1, offset: 5n }]);
    const c = requests.find((r) => r.apiKey === 8)!;
    assert.equal(c.apiVersion, 7);
    assert.deepEqual([c.body.groupId, c.body.generationIdOrMemberEpoch, c.body.memberId, c.body.groupInstanceId], ['g', -1, '', null]);
    assert.equal(c.body.topics[0].name, 't');
    assert.deepEqual(c.body.topics[0].partitions[0].committedOffset, 5n);
    answer = ErrorCode.UNKNOWN_MEMBER_ID;
    await assert.rejects(admin.alterGroupOffsets('g', [{ topic: 't', partition: 1, offset: 5n }]), (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.UNKNOWN_MEMBER_ID && /must be empty/.test(e.message));
  });

  it('DescribeLogDirs v1 has no totals (-1n)', async () => {
    const { admin } = await setup({ 35: 1 }, () => ({ results: [{ errorCode: 0, logDir: '/data', topics: [{ name: 't', partitions: [{ partitionIndex: 0, partitionSize: 10n, offsetLag: 0n, isFutureKey: false }] }] }] }));
    assert.deepEqual(await admin.describeLogDirs(), [{ brokerId: 1, path: '/data', error: null, totalBytes: -1n, usableBytes: -1n, partitions: [{ topic: 't', partition: 0, sizeBytes: 10n, offsetLag: 0n }] }]);
  });
});

describe('Admin retries', () => {
  it('DeleteGroups answered NOT_COORDINATOR is sent again; groups already done are not', async () => {
    let first = true;
    const { admin, requests } = await setup({}, (r) => {
      const results = r.body.groupsNames.map((g: string) => ({ groupId: g, errorCode: first && g === 'b' ? ErrorCode.NOT_COORDINATOR : 0, errorMessage: null }));
      first = false;
      return { results };
    });
    await admin.deleteGroups(['a', 'b']);
    assert.deepEqual(requests.filter((r) => r.apiKey === 42).map((r) => r.body.groupsNames), [['a', 'b'], ['b']]);
  });

  it('DeleteRecords answered NOT_LEADER_OR_FOLLOWER is retried after a metadata refresh; OFFSET_OUT_OF_RANGE is not', async () => {
    let calls = 0;
    let code: number = ErrorCode.NOT_LEADER_OR_FOLLOWER;
    const { admin, requests } = await setup({}, (r) => {
      calls++;
      const res = { topics: r.body.topics.map((t: any) => ({ name: t.name, partitions: t.partitions.map((p: any) => ({ partitionIndex: p.partitionIndex, lowWatermark: p.offset, errorCode: calls === 1 ? code : 0 })) })) };
      return res;
    });
    assert.deepEqual(await admin.deleteRecords([{ topic: 't', partition: 0, beforeOffset: 4n }]), [{ topic: 't', partition: 0, lowWatermark: 4n }]);
    assert.equal(requests.filter((r) => r.apiKey === 21).length, 2);
    calls = 0;
    code = ErrorCode.OFFSET_OUT_OF_RANGE;
    await assert.rejects(admin.deleteRecords([{ topic: 't', partition: 1, beforeOffset: 4n }]), (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.OFFSET_OUT_OF_RANGE && /t-1/.test(e.message));
    assert.equal(requests.filter((r) => r.apiKey === 21).length, 3);
  });
});
