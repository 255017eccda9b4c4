/** Specific rules of the generated codecs, each checked on a real message and on exact bytes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { unknownTaggedFieldsMax } from './codec-support.js';
import { DecodeError, EncodeError } from './decode-error.js';
import {
  ApiKey,
  ApiVersionsResponse,
  apis,
  ConsumerGroupHeartbeatResponse,
  FetchResponse,
  ListOffsetsRequest,
  OffsetCommitRequest,
  ProduceRequest,
  ProduceResponse,
  RequestHeader,
  ShareFetchResponse,
  requestHeaderVersion,
  responseHeaderVersion,
} from './generated/index.js';
import type { MessageCodec, MessageInput } from './message-codec.js';
import { Reader } from './primitives/reader.js';
import { rawByReferenceBytesMin, Writer } from './primitives/writer.js';

function enc<T>(codec: MessageCodec<T>, m: MessageInput<T>, v: number): Buffer {
  const w = new Writer();
  codec.encode(w, m, v);
  return w.toBuffer();
}

function dec<T>(codec: MessageCodec<T>, b: Buffer, v: number): T {
  const r = new Reader(b);
  const m = codec.decode(r, v);
  assert.equal(r.pos, b.length);
  return m;
}

describe('generated codec rules', () => {
  it('registry: API keys, version unions with legacy-2024, flexible versions, listeners', () => {
    assert.equal(ApiKey.Produce, 0);
    assert.equal(ApiKey.ApiVersions, 18);
    const produce = apis.get(0)!;
    assert.equal(produce.name, 'Produce');
    assert.equal(produce.request, ProduceRequest);
    assert.equal(produce.minVersion, 0); // v0-2 come from legacy-2024
    assert.equal(produce.maxVersion, 13);
    assert.equal(produce.flexibleVersionsMin, 9);
    assert.deepEqual(produce.listeners, ['broker']);
    assert.equal(apis.get(1)!.minVersion, 0);
    assert.equal(apis.get(ApiKey.ShareGroupHeartbeat)!.minVersion, 0);
    assert.equal(apis.get(ApiKey.SaslHandshake)!.flexibleVersionsMin, Infinity);
    assert.equal(apis.get(ApiKey.InitProducerId)!.latestVersionUnstable, true);
    assert.ok(!apis.has(4) && !apis.has(7), 'removed ZooKeeper-era APIs have no codecs');
    for (const api of apis.values()) {
      assert.equal(api.request.apiKey, api.apiKey);
      assert.equal(api.response.minVersion, api.minVersion);
      assert.equal(api.response.maxVersion, api.maxVersion);
    }
  });

  it('header versions follow each API’s flexible versions; ApiVersions responses always use v0', () => {
    assert.equal(requestHeaderVersion(ApiKey.Produce, 8), 1);
    assert.equal(requestHeaderVersion(ApiKey.Produce, 9), 2);
    assert.equal(requestHeaderVersion(ApiKey.ApiVersions, 3), 2);
    assert.equal(requestHeaderVersion(ApiKey.SaslHandshake, 1), 1);
    assert.equal(requestHeaderVersion(7, 0), 0, 'ControlledShutdown v0');
    assert.equal(requestHeaderVersion(7, 3), 2, 'ControlledShutdown v3 (legacy) was flexible');
    assert.equal(requestHeaderVersion(9999, 0), 1);
    assert.equal(responseHeaderVersion(ApiKey.ApiVersions, 4), 0);
    assert.equal(responseHeaderVersion(ApiKey.Fetch, 12), 1);
    assert.equal(responseHeaderVersion(ApiKey.Fetch, 11), 0);
  });

  it('request header v2 keeps the int16-length client id (field-level flexibleVersions none)', () => {
    const b = enc(RequestHeader, { requestApiKey: 18, requestApiVersion: 3, correlationId: 7, clientId: 'abc' }, 2);
    assert.equal(b.toString('hex'), '0012' + '0003' + '00000007' + '0003616263' + '00');
    assert.deepEqual(dec(RequestHeader, b, 2), { requestApiKey: 18, requestApiVersion: 3, correlationId: 7, clientId: 'abc' });
    const v0 = enc(RequestHeader, { requestApiKey: 7, requestApiVersion: 0, correlationId: 1 }, 0);
    assert.equal(v0.length, 8, 'header v0 (legacy-2024) has no client id');
  });

  it('refuses a non-default value for a field the version lacks, unless it is ignorable', () => {
    assert.throws(
      () => enc(ProduceRequest, { transactionalId: 'tx', acks: 1, timeoutMs: 5, topicData: [] }, 2),
      (e: unknown) => e instanceof EncodeError && /ProduceRequest\.transactionalId/.test(e.message) && /version 2/.test(e.message),
    );
    assert.doesNotThrow(() => enc(ProduceRequest, { transactionalId: null, acks: 1 }, 2));
    // throttleTimeMs is ignorable before v1: dropped silently.
    const b = enc(ProduceResponse, { responses: [], throttleTimeMs: 100 }, 0);
    assert.equal(dec(ProduceResponse, b, 0).throttleTimeMs, 0);
  });

  it('refuses null where the version does not allow it', () => {
    // ShareFetchResponse records are nullable in v0 only.
    const body = (records: Buffer | null): MessageInput<ShareFetchResponse> => ({
      responses: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', partitions: [{ partitionIndex: 0, records }] }],
    });
    assert.doesNotThrow(() => enc(ShareFetchResponse, body(null), 0));
    assert.throws(
      () => enc(ShareFetchResponse, body(null), 1),
      (e: unknown) => e instanceof EncodeError && /records is not nullable in version 1/.test(e.message),
    );
    // Left undefined it takes its default (empty where null is not allowed).
    assert.doesNotThrow(() => enc(ShareFetchResponse, { responses: [{ partitions: [{}] }] }, 1));
  });

  it('fills fields absent in a version with their defaults, and treats undefined as the default', () => {
    const b = enc(ProduceRequest, {}, 3);
    assert.deepEqual(dec(ProduceRequest, b, 3), { transactionalId: null, acks: 0, timeoutMs: 0, topicData: [] });
    const res = dec(ProduceResponse, enc(ProduceResponse, { responses: [{ name: 't', partitionResponses: [{ index: 1 }] }] }, 0), 0);
    assert.deepEqual(res.responses[0]!.partitionResponses[0], {
      index: 1,
      errorCode: 0,
      baseOffset: 0n,
      logAppendTimeMs: -1n,
      logStartOffset: -1n,
      recordErrors: [],
      errorMessage: null,
      currentLeader: { leaderId: -1, leaderEpoch: -1 },
    });
  });

  it('writes tagged fields only when they differ from their default, in tag order with unknown ones', () => {
    const partition = { partitionIndex: 0, records: null };
    const plain = enc(FetchResponse, { responses: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', partitions: [partition] }] }, 12);
    const withDefault = enc(
      FetchResponse,
      { responses: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', partitions: [{ ...partition, currentLeader: { leaderId: -1, leaderEpoch: -1 } }] }] },
      12,
    );
    assert.deepEqual(withDefault, plain);
    const leader = { leaderId: 3, leaderEpoch: 9 };
    const withLeader = enc(FetchResponse, { responses: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', partitions: [{ ...partition, currentLeader: leader }] }] }, 12);
    assert.equal(withLeader.length, plain.length + 1 + 1 + 9);
    assert.deepEqual(dec(FetchResponse, withLeader, 12).responses[0]!.partitions[0]!.currentLeader, leader);

    // ApiVersionsResponse v3: known tag 1 (FinalizedFeaturesEpoch) with unknown tags 0x7f and 4.
    const b = enc(
      ApiVersionsResponse,
      {
        finalizedFeaturesEpoch: 5n,
        unknownTaggedFields: [
          { tag: 0x7f, data: Buffer.from('zz') },
          { tag: 4, data: Buffer.from('y') },
        ],
      },
      3,
    );
    // errorCode, apiKeys (empty), throttleTimeMs, then the tagged section.
    assert.equal(b.subarray(7).toString('hex'), '03' + '0108' + '0000000000000005' + '040179' + '7f027a7a');
    const m = dec(ApiVersionsResponse, b, 3);
    assert.equal(m.finalizedFeaturesEpoch, 5n);
    assert.deepEqual(m.unknownTaggedFields, [
      { tag: 4, data: Buffer.from('y') },
      { tag: 0x7f, data: Buffer.from('zz') },
    ]);
    assert.deepEqual(enc(ApiVersionsResponse, m, 3), b);
    assert.throws(() => enc(ApiVersionsResponse, { unknownTaggedFields: [{ tag: 1, data: Buffer.alloc(8) }] }, 3), EncodeError);
  });

  it('keeps a tag unknown in a flexible version that does not define it yet', () => {
    // ProduceResponse: NodeEndpoints is tag 0 from v10; at v9 (flexible) tag 0 is unknown.
    const b = enc(ProduceResponse, { unknownTaggedFields: [{ tag: 0, data: Buffer.from([1]) }] }, 9);
    const m = dec(ProduceResponse, b, 9);
    assert.deepEqual(m.unknownTaggedFields, [{ tag: 0, data: Buffer.from([1]) }]);
    assert.deepEqual(m.nodeEndpoints, []);
  });

  it('limits the unknown tagged fields of one struct', () => {
    const many = (n: number): Buffer =>
      enc(ProduceResponse, { unknownTaggedFields: Array.from({ length: n }, (_, i) => ({ tag: 100 + i, data: Buffer.alloc(0) })) }, 9);
    assert.equal(dec(ProduceResponse, many(unknownTaggedFieldsMax), 9).unknownTaggedFields?.length, unknownTaggedFieldsMax);
    assert.throws(
      () => ProduceResponse.decode(new Reader(many(unknownTaggedFieldsMax + 1)), 9),
      (e: unknown) => e instanceof DecodeError && /unknown tagged fields/.test(e.message),
    );
  });

  it('writes the int8 marker of nullable structs', () => {
    const none = enc(ConsumerGroupHeartbeatResponse, { assignment: null }, 0);
    const some = enc(ConsumerGroupHeartbeatResponse, { assignment: { topicPartitions: [] } }, 0);
    assert.equal(some.length, none.length + 2); // marker 1 + empty compact array + tagged count, vs marker -1
    assert.equal(dec(ConsumerGroupHeartbeatResponse, none, 0).assignment, null);
    assert.deepEqual(dec(ConsumerGroupHeartbeatResponse, some, 0).assignment, { topicPartitions: [] });
  });

  it('decodes records as a zero-copy slice and encodes record chunks by reference', () => {
    const big = Buffer.alloc(rawByReferenceBytesMin + 10, 0xab);
    const small = Buffer.from('tail');
    const w = new Writer();
    FetchResponse.encode(w, { responses: [{ topic: 't', partitions: [{ partitionIndex: 0, records: [big, small] }] }] }, 11);
    const chunks = w.toChunks();
    assert.ok(chunks.includes(big), 'the large chunk is linked, not copied');
    const frame = w.toBuffer();
    const m = dec(FetchResponse, frame, 11);
    const records = m.responses[0]!.partitions[0]!.records as Buffer;
    assert.equal(records.length, big.length + small.length);
    assert.equal(records.buffer, frame.buffer, 'decoded records share the input memory');
  });

  it('reads legacy-2024 layouts for versions Kafka 4.x dropped', () => {
    // OffsetCommit v1: group, generation, member, then per partition index, offset, commit timestamp, metadata.
    const v1 = enc(
      OffsetCommitRequest,
      {
        groupId: 'g',
        generationIdOrMemberEpoch: 2,
        memberId: 'm',
        topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 5n, commitTimestamp: 99n, committedMetadata: '' }] }],
      },
      1,
    );
    assert.equal(
      v1.toString('hex'),
      '000167' + '00000002' + '00016d' + '00000001' + '000174' + '00000001' + '00000000' + '0000000000000005' + '0000000000000063' + '0000',
    );
    assert.throws(() => enc(OffsetCommitRequest, { topics: [{ partitions: [{ commitTimestamp: 99n }] }] }, 2), EncodeError);
    // ListOffsets v0 has MaxNumOffsets per partition.
    const lo = dec(ListOffsetsRequest, enc(ListOffsetsRequest, { replicaId: -1, topics: [{ name: 't', partitions: [{ partitionIndex: 0, timestamp: -1n, maxNumOffsets: 3 }] }] }, 0), 0);
    assert.equal(lo.topics[0]!.partitions[0]!.maxNumOffsets, 3);
  });

  it('names the field path and byte offset in decode errors', () => {
    const good = enc(ProduceRequest, { acks: 1, timeoutMs: 1000, topicData: [{ name: 't', partitionData: [{ index: 0, records: Buffer.from('abcd') }] }] }, 7);
    const bad = good.subarray(0, good.length - 2);
    assert.throws(
      () => ProduceRequest.decode(new Reader(bad), 7),
      (e: unknown) =>
        e instanceof DecodeError &&
        e.path === 'ProduceRequest.topicData[0].partitionData[0].records' &&
        e.offset === good.length - 8 &&
        e.message.endsWith(`at byte ${e.offset} (${e.path})`),
    );
  });

  it('checks the version on both sides', () => {
    assert.throws(() => enc(ProduceRequest, {}, 14), EncodeError);
    assert.throws(() => ProduceRequest.decode(new Reader(Buffer.alloc(0)), -1), DecodeError);
  });
});
