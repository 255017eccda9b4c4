// Regression tests, one per bug found in review, each named for the bug.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CRC_OFFSET,
  CreatePartitionsRequest,
  CreatePartitionsResponse,
  CreateTopicsRequest,
  CreateTopicsResponse,
  ErrorCode,
  FetchRequest,
  FetchResponse,
  DeleteTopicsRequest,
  DeleteTopicsResponse,
  ListOffsetsRequest,
  ListOffsetsResponse,
  MetadataRequest,
  MetadataResponse,
  ProduceRequest,
  ProduceResponse,
  computeBatchCrc,
  encodeBatch,
} from '@fjord/protocol';
import { startBroker, type Broker } from '../harness/broker.js';
import { CodecConnection } from '../harness/codec-connection.js';

let broker: Broker;
let c: CodecConnection;
before(async () => {
  broker = await startBroker();
  c = await CodecConnection.open(broker.host, broker.port);
});
after(async () => {
  c?.close();
  await broker?.dispose();
});

async function createTopic(name: string, numPartitions: number, configs: Record<string, string> = {}): Promise<void> {
  const r = await c.request(CreateTopicsRequest, CreateTopicsResponse, 7, {
    topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs: Object.entries(configs).map(([k, v]) => ({ name: k, value: v })) }],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  assert.equal(r.topics[0]!.errorCode, 0, r.topics[0]!.errorMessage ?? '');
}

async function latest(topic: string, partition: number): Promise<bigint> {
  const r = await c.request(ListOffsetsRequest, ListOffsetsResponse, 7, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1n }] }],
  });
  return r.topics[0]!.partitions[0]!.offset;
}

test('concurrent CreatePartitions of one topic: one wins, the other gets INVALID_PARTITIONS, metadata stays whole', async () => {
  await createTopic('race-parts', 1);
  const other = await CodecConnection.open(broker.host, broker.port);
  try {
    const req = { topics: [{ name: 'race-parts', count: 40, assignments: null }], timeoutMs: 10_000, validateOnly: false };
    const [a, b] = await Promise.all([
      c.request(CreatePartitionsRequest, CreatePartitionsResponse, 3, req),
      other.request(CreatePartitionsRequest, CreatePartitionsResponse, 3, req),
    ]);
    const codes = [a.results[0]!.errorCode, b.results[0]!.errorCode].sort();
    assert.deepEqual(codes, [ErrorCode.NONE, ErrorCode.INVALID_PARTITIONS]);
  } finally {
    other.close();
  }
  const md = await c.request(MetadataRequest, MetadataResponse, 12, { topics: [{ topicId: undefined as never, name: 'race-parts' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  const parts = md.topics[0]!.partitions.map((p) => p.partitionIndex).sort((x, y) => x - y);
  assert.deepEqual(parts, Array.from({ length: 40 }, (_, i) => i));
});

test('malformed records with a valid CRC on a recompressing topic: CORRUPT_MESSAGE for that partition only, connection kept', async () => {
  await createTopic('regress-gzip', 1, { 'compression.type': 'gzip' });
  await createTopic('regress-plain', 1);
  const bad = encodeBatch({ records: [{ key: 'k', value: 'v' }] });
  bad.writeUInt8(0x7f, 61); // the first record's length varint: now far longer than the batch
  bad.writeUInt32BE(computeBatchCrc(bad, 0, bad.length), CRC_OFFSET);
  const good = encodeBatch({ records: [{ key: 'k', value: 'fine' }] });
  const r = await c.request(ProduceRequest, ProduceResponse, 9, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 10_000,
    topicData: [
      { name: 'regress-plain', partitionData: [{ index: 0, records: good }] },
      { name: 'regress-gzip', partitionData: [{ index: 0, records: bad }] },
    ],
  });
  assert.equal(r.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
  assert.equal(r.responses[1]!.partitionResponses[0]!.errorCode, ErrorCode.CORRUPT_MESSAGE);
  assert.equal(await latest('regress-gzip', 0), 0n, 'nothing stored');
  assert.equal(await latest('regress-plain', 0), 1n);
});

test('a record without a key on a compacted topic is refused with INVALID_RECORD', async () => {
  await createTopic('regress-compact', 1, { 'cleanup.policy': 'compact' });
  const r = await c.request(ProduceRequest, ProduceResponse, 9, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 10_000,
    topicData: [{ name: 'regress-compact', partitionData: [{ index: 0, records: encodeBatch({ records: [{ key: 'a', value: '1' }, { key: null, value: '2' }] }) }] }],
  });
  const p = r.responses[0]!.partitionResponses[0]!;
  assert.equal(p.errorCode, ErrorCode.INVALID_RECORD);
  assert.equal(p.recordErrors[0]?.batchIndex, 0);
  assert.equal(await latest('regress-compact', 0), 0n, 'no offset used');
});

test('CreateTopics with explicit assignments is held to the partition limit', async () => {
  const r = await c.request(CreateTopicsRequest, CreateTopicsResponse, 7, {
    topics: [{ name: 'too-many', numPartitions: -1, replicationFactor: -1, assignments: Array.from({ length: 20_000 }, (_, i) => ({ partitionIndex: i, brokerIds: [broker.nodeId] })), configs: [] }],
    timeoutMs: 10_000,
    validateOnly: true,
  });
  assert.equal(r.topics[0]!.errorCode, ErrorCode.INVALID_PARTITIONS);
});

test('a fetch session keeps a deleted topic and answers UNKNOWN_TOPIC_OR_PARTITION for it', async () => {
  await createTopic('regress-gone', 1);
  const fetch = (sessionId: number, sessionEpoch: number, withPartition: boolean): Promise<FetchResponse> =>
    c.request(FetchRequest, FetchResponse, 12, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId,
      sessionEpoch,
      topics: withPartition ? [{ topic: 'regress-gone', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }] : [],
      forgottenTopicsData: [],
      rackId: '',
    });
  const open = await fetch(0, 0, true);
  assert.ok(open.sessionId > 0);
  const del = await c.request(DeleteTopicsRequest, DeleteTopicsResponse, 5, { topicNames: ['regress-gone'], timeoutMs: 10_000 });
  assert.equal(del.responses[0]!.errorCode, 0);
  const next = await fetch(open.sessionId, 1, false);
  assert.equal(next.errorCode, ErrorCode.NONE);
  assert.equal(next.responses[0]?.partitions[0]?.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
});
