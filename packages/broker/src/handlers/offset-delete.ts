/**
 * OffsetDelete (key 47), v0. Removes a group's committed offsets for some partitions (KIP-496):
 * refused per partition with GROUP_SUBSCRIBED_TO_TOPIC while a live member subscribes to the topic.
 */
import { OffsetDeleteRequest, OffsetDeleteResponse } from '@fjord/protocol';
import { defineHandler } from './handler.js';

export const offsetDelete = defineHandler({
  request: OffsetDeleteRequest,
  response: OffsetDeleteResponse,
  async handle(ctx, req) {
    const r = await ctx.broker.groups.deleteOffsets(
      req.groupId,
      req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => p.partitionIndex) })),
    );
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      topics: r.topics.map((t, ti) => ({ name: t.name, partitions: t.codes.map((errorCode, i) => ({ partitionIndex: req.topics[ti]!.partitions[i]!.partitionIndex, errorCode })) })),
    };
  },
});
