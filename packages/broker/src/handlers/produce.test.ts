import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '@fjord/protocol';
import type { RequestContext } from './handler.js';
import { produce } from './produce.js';

/**
 * The handler against a fake broker that logs what it is asked, in order: the ordered phase
 * (append) and the durable phase (waitForDurable) of each partition of one acks=all request.
 */
function fakeContext(partitions: number, durable: (p: number) => Promise<void>) {
  const calls: string[] = [];
  const topicId = '00000000-0000-0000-0000-000000000001';
  const hosted = Array.from({ length: partitions }, (_, index) => ({ topic: 't', index, topicId, key: `t-${index}` }));
  const state = { name: 't', topicId, partitions: hosted };
  const broker = {
    metadata: { topic: (name: string) => (name === 't' ? state : undefined), topicById: () => undefined },
    clock: { now: () => 1000 },
    replicas: {
      partition: (_: string, i: number) => hosted[i],
      append(p: { index: number }) {
        calls.push(`append ${p.index}`);
        return { errorCode: ErrorCode.NONE, errorMessage: null, baseOffset: 0n, logAppendTimeMs: -1n, logStartOffset: 0n, lastOffset: 0n, recordErrors: [] };
      },
      waitForDurable(p: { index: number }) {
        calls.push(`durable ${p.index}`);
        return durable(p.index);
      },
    },
  };
  const ctx = { broker, apiKey: 0, apiVersion: 9, correlationId: 1, clientId: null, peer: 'test', closed: new AbortController().signal, holdConnection() {}, afterWrite() {} };
  return { ctx: ctx as unknown as RequestContext, calls };
}

const request = (partitions: number, acks: number) => ({
  transactionalId: null,
  acks,
  timeoutMs: 5000,
  topicData: [{ name: 't', topicId: '00000000-0000-0000-0000-000000000000', partitionData: Array.from({ length: partitions }, (_, index) => ({ index, records: null })) }],
});

test('acks=all starts each partition\'s durable phase right after its append, before the next partition appends', async () => {
  const { ctx, calls } = fakeContext(3, () => Promise.resolve());
  const res = await produce.handle(ctx, request(3, -1) as never);
  assert.deepEqual(calls, ['append 0', 'durable 0', 'append 1', 'durable 1', 'append 2', 'durable 2']);
  const parts = (res as { responses: Array<{ partitionResponses: Array<{ errorCode: number }> }> }).responses[0]!.partitionResponses;
  assert.deepEqual(parts.map((p) => p.errorCode), [ErrorCode.NONE, ErrorCode.NONE, ErrorCode.NONE]);
});

test('acks=all answers only when every partition is durable, and a failed flush fails only its partition', async () => {
  let release!: () => void;
  const slow = new Promise<void>((r) => (release = r));
  const { ctx } = fakeContext(3, (p) => (p === 0 ? slow : p === 1 ? Promise.reject(new Error('disk gone')) : Promise.resolve()));
  let answered = false;
  const pending = Promise.resolve(produce.handle(ctx, request(3, -1) as never)).then((r) => {
    answered = true;
    return r;
  });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(answered, false, 'answered before partition 0 was durable');
  release();
  const res = (await pending) as { responses: Array<{ partitionResponses: Array<{ errorCode: number; errorMessage: string | null }> }> };
  const parts = res.responses[0]!.partitionResponses;
  assert.deepEqual(parts.map((p) => p.errorCode), [ErrorCode.NONE, ErrorCode.KAFKA_STORAGE_ERROR, ErrorCode.NONE]);
  assert.match(parts[1]!.errorMessage ?? '', /disk gone/);
});

test('acks=1 never waits for the durable phase', async () => {
  const { ctx, calls } = fakeContext(2, () => new Promise<void>(() => {}));
  await produce.handle(ctx, request(2, 1) as never);
  assert.deepEqual(calls, ['append 0', 'append 1']);
});
