/**
 * OffsetFetch (key 9), v0-10. One group (v0-7) or several (v8+, KIP-709); the partitions asked for
 * or, with topics null (v2+), everything the group committed. A partition without a committed
 * offset answers -1 with no error, as Kafka does. v7+ requireStable: Fjord has no pending
 * transactional offsets yet (issue 4), so every offset is stable. v9+ consumer-protocol members
 * send their member id and epoch, which the group checks; v10 names topics by id.
 */
import { ErrorCode, OffsetFetchRequest, OffsetFetchResponse, ZERO_UUID } from '@fjord/protocol';
import type { BrokerContext } from '../broker-context.js';
import { groupIdProblem } from '../group/group.js';
import { defineHandler } from './handler.js';

interface PartitionAnswer {
  partitionIndex: number;
  committedOffset: bigint;
  committedLeaderEpoch: number;
  metadata: string | null;
  errorCode: number;
}

interface GroupAnswer {
  errorCode: number;
  topics: Array<{ name: string; topicId: string; partitions: PartitionAnswer[] }>;
}

function fetchGroup(
  b: BrokerContext,
  groupId: string,
  topics: Array<{ name: string; topicId: string; partitionIndexes: number[] }> | null,
  memberId: string | null,
  memberEpoch: number,
  apiVersion: number,
): GroupAnswer {
  if (groupIdProblem(groupId)) return { errorCode: ErrorCode.INVALID_GROUP_ID, topics: [] };
  const byId = apiVersion >= 10;
  const group = b.groups.groups.get(groupId);
  if (group && (memberId !== null || memberEpoch >= 0)) {
    const problem = group.validateOffsetFetch(memberId, memberEpoch, apiVersion);
    if (problem) return { errorCode: problem, topics: [] };
  }
  if (topics === null) {
    return {
      errorCode: 0,
      topics: b.groups.fetchOffsets(groupId, null).map((t) => ({
        name: t.name,
        topicId: b.metadata.topic(t.name)?.topicId ?? ZERO_UUID,
        partitions: t.partitions.map((p) => answer(p.partition, p.offset)),
      })),
    };
  }
  return {
    errorCode: 0,
    topics: topics.map((t) => {
      const name = byId ? b.metadata.topicById(t.topicId)?.name : t.name;
      if (name === undefined) {
        return { name: t.name, topicId: t.topicId, partitions: t.partitionIndexes.map((p) => ({ ...answer(p, undefined), errorCode: ErrorCode.UNKNOWN_TOPIC_ID })) };
      }
      const [found] = b.groups.fetchOffsets(groupId, [{ name, partitions: t.partitionIndexes }]);
      return { name: t.name, topicId: t.topicId, partitions: found!.partitions.map((p) => answer(p.partition, p.offset)) };
    }),
  };
}

function answer(partitionIndex: number, o: { offset: bigint; leaderEpoch: number; metadata: string } | undefined): PartitionAnswer {
  if (!o) return { partitionIndex, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: 0 };
  return { partitionIndex, committedOffset: o.offset, committedLeaderEpoch: o.leaderEpoch, metadata: o.metadata, errorCode: 0 };
}

export const offsetFetch = defineHandler({
  request: OffsetFetchRequest,
  response: OffsetFetchResponse,
  handle(ctx, req) {
    const b = ctx.broker;
    const v = ctx.apiVersion;
    if (v >= 8) {
      return {
        throttleTimeMs: 0,
        topics: [],
        errorCode: 0,
        groups: req.groups.map((g) => {
          const r = fetchGroup(b, g.groupId, g.topics, v >= 9 ? g.memberId : null, v >= 9 ? g.memberEpoch : -1, v);
          return { groupId: g.groupId, errorCode: r.errorCode, topics: r.topics.map((t) => ({ name: t.name, topicId: t.topicId, partitions: t.partitions })) };
        }),
      };
    }
    const topics = req.topics === null ? null : req.topics.map((t) => ({ name: t.name, topicId: ZERO_UUID, partitionIndexes: t.partitionIndexes }));
    const r = fetchGroup(b, req.groupId, topics, null, -1, v);
    if (r.errorCode !== 0 && v < 2) {
      // v0-1 have no top-level error: every partition asked for carries it.
      return {
        throttleTimeMs: 0,
        errorCode: 0,
        groups: [],
        topics: (req.topics ?? []).map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((p) => ({ ...answer(p, undefined), errorCode: r.errorCode })) })),
      };
    }
    return { throttleTimeMs: 0, errorCode: r.errorCode, groups: [], topics: r.topics.map((t) => ({ name: t.name, partitions: t.partitions })) };
  },
});
