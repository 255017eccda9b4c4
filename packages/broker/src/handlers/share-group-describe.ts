/**
 * ShareGroupDescribe (key 77), v1 (KIP-932): share groups with their state (Empty, Stable), group
 * and assignment epochs, assignor ("simple") and members, each with its subscriptions and current
 * assignment (topic ids and names). An unknown id, or a group of another type, answers
 * GROUP_ID_NOT_FOUND; an empty id INVALID_GROUP_ID. Authorized operations: every group operation
 * (no ACLs yet).
 */
import { ShareGroupDescribeRequest, ShareGroupDescribeResponse } from '@fjord/protocol';
import { GROUP_OPERATIONS, OPERATIONS_NOT_REQUESTED } from './authorized-operations.js';
import { defineHandler } from './handler.js';

export const shareGroupDescribe = defineHandler({
  request: ShareGroupDescribeRequest,
  response: ShareGroupDescribeResponse,
  minVersion: 1,
  handle(ctx, req) {
    const authorizedOperations = req.includeAuthorizedOperations ? GROUP_OPERATIONS : OPERATIONS_NOT_REQUESTED;
    const groups = req.groupIds.map((groupId) => ({ ...ctx.broker.groups.share.describe(groupId), authorizedOperations }));
    return { throttleTimeMs: 0, groups };
  },
});
