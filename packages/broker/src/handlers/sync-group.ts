/**
 * SyncGroup (key 14), v0-5. The second phase of a classic rebalance: the leader sends every
 * member's assignment, the group is stored in __consumer_offsets, and each member gets its own.
 * Followers' requests wait for the leader's. v5+ carry the protocol type and name, checked against
 * the group's (INCONSISTENT_GROUP_PROTOCOL). State machine: group/classic-group.ts.
 */
import { SyncGroupRequest, SyncGroupResponse } from '@fjord/protocol';
import { defineHandler } from './handler.js';

export const syncGroup = defineHandler({
  request: SyncGroupRequest,
  response: SyncGroupResponse,
  async handle(ctx, req) {
    const r = await ctx.broker.groups.syncGroup(req.groupId, {
      memberId: req.memberId,
      groupInstanceId: ctx.apiVersion >= 3 ? req.groupInstanceId : null,
      generationId: req.generationId,
      protocolType: ctx.apiVersion >= 5 ? req.protocolType : null,
      protocolName: ctx.apiVersion >= 5 ? req.protocolName : null,
      assignments: req.assignments,
    });
    return { throttleTimeMs: 0, ...r };
  },
});
