/**
 * OffsetCommit (key 8), v0-10 (v0-1 from the 2024 schemas). Who may commit is the group's
 * decision (classic: member id + generation; consumer protocol: member id + epoch; anyone while the
 * group is empty, with generation -1). Each accepted offset becomes an OffsetCommit record in
 * __consumer_offsets; the answer waits until it is durable. v2-4 carry a retention time (an explicit
 * expiry); v10 names topics by id (KIP-848 follow-up, UNKNOWN_TOPIC_ID for an unknown one).
 */
import { ErrorCode, OffsetCommitRequest, OffsetCommitResponse } from '@fjord/protocol';
import type { OffsetToCommit } from '../group/coordinator.js';
import { defineHandler } from './handler.js';

export const offsetCommit = defineHandler({
  request: OffsetCommitRequest,
  response: OffsetCommitResponse,
  async handle(ctx, req) {
    const b = ctx.broker;
    const byId = ctx.apiVersion >= 10;
    const items: OffsetToCommit[] = [];
    // Per response slot: an index into items, or an error found before the group is asked.
    const slots: Array<Array<number | { error: number }>> = [];
    for (const t of req.topics) {
      const name = byId ? b.metadata.topicById(t.topicId)?.name : t.name;
      slots.push(
        t.partitions.map((p) => {
          if (name === undefined) return { error: ErrorCode.UNKNOWN_TOPIC_ID };
          items.push({
            topic: name,
            partition: p.partitionIndex,
            offset: p.committedOffset,
            leaderEpoch: ctx.apiVersion >= 6 ? p.committedLeaderEpoch : -1,
            metadata: p.committedMetadata,
          });
          return items.length - 1;
        }),
      );
    }
    const codes = await b.groups.commitOffsets(
      req.groupId,
      {
        memberId: ctx.apiVersion >= 1 ? req.memberId : '',
        groupInstanceId: ctx.apiVersion >= 7 ? req.groupInstanceId : null,
        generationIdOrMemberEpoch: ctx.apiVersion >= 1 ? req.generationIdOrMemberEpoch : -1,
        apiVersion: ctx.apiVersion,
      },
      items,
      ctx.apiVersion >= 2 && ctx.apiVersion <= 4 ? req.retentionTimeMs : -1n,
    );
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t, ti) => ({
        name: t.name,
        topicId: t.topicId,
        partitions: t.partitions.map((p, pi) => {
          const slot = slots[ti]![pi]!;
          return { partitionIndex: p.partitionIndex, errorCode: typeof slot === 'number' ? codes[slot]! : slot.error };
        }),
      })),
    };
  },
});
