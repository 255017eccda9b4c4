/**
 * Heartbeat (key 12), v0-4. Keeps a classic group member's session alive and tells it when the
 * group is rebalancing (REBALANCE_IN_PROGRESS) or has moved on without it (ILLEGAL_GENERATION,
 * UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID).
 */
import { HeartbeatRequest, HeartbeatResponse } from '@fjord/protocol';
import { defineHandler } from './handler.js';

export const heartbeat = defineHandler({
  request: HeartbeatRequest,
  response: HeartbeatResponse,
  handle(ctx, req) {
    const errorCode = ctx.broker.groups.heartbeat(req.groupId, req.memberId, ctx.apiVersion >= 3 ? req.groupInstanceId : null, req.generationId);
    return { throttleTimeMs: 0, errorCode };
  },
});
