/**
 * OffsetFetch (key 9), v0-10. One group (v0-7) or several (v8+, KIP-709); the partitions asked for
 * or, with topics null (v2+), everything the group committed. A partition without a committed
 * offset answers -1 with no error, as Kafka does. v7+ requireStable: a partition for which an open
 * transaction committed offsets (TxnOffsetCommit) answers UNSTABLE_OFFSET_COMMIT, so the consumer
 * waits until the transaction ends instead of reading from an offset about to change. v9+ consumer-protocol members
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
  requireStable: boolean,
): GroupAnswer {
  if (groupIdProblem(groupId)) return { errorCode: ErrorCode.INVALID_GROUP_ID, topics: [] };
  const byId = apiVersion >= 10;
  const group = b.groups.groups.get(groupId);
  if (group && (memberId !== null || memberEpoch >= 0)) {
    const problem = group.validateOffsetFetch(memberId, memberEpoch, apiVersion);
    if (problem) return { errorCode: problem, topics: [] };
  }
  const unstable = (topic: string, partition: number) => requireStable && b.groups.hasPendingTxnOffsets(groupId, topic, partition);
  const answerOf = (topic: string, partition: number, o: Parameters<typeof answer>[1]) =>
    unstable(topic, partition) ? { ...answer(partition, undefined), errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT } : answer(partition, o);
  if (topics === null) {
    return {
      errorCode: 0,
      topics: b.groups.fetchOffsets(groupId, null).map((t) => ({
        name: t.name,
        topicId: b.metadata.topic(t.name)?.topicId ?? ZERO_UUID,
        partitions: t.partitions.map((p) => answerOf(t.name, p.partition, p.offset)),
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
      return { name: t.name, topicId: t.topicId, partitions: found!.partitions.map((p) => answerOf(name, p.partition, p.offset)) };
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
          const r = fetchGroup(b, g.groupId, g.topics, v >= 9 ? g.memberId : null, v >= 9 ? g.memberEpoch : -1, v, req.requireStable);
          return { groupId: g.groupId, errorCode: r.errorCode, topics: r.topics.map((t) => ({ name: t.name, topicId: t.topicId, partitions: t.partitions })) };
        }),
      };
    }
    const topics = req.topics === null ? null : req.topics.map((t) => ({ name: t.name, topicId: ZERO_UUID, partitionIndexes: t.partitionIndexes }));
    const r = fetchGroup(b, req.groupId, topics, null, -1, v, v >= 7 && req.requireStable);
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
