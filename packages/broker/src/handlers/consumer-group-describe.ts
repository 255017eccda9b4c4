/**
 * ConsumerGroupDescribe (key 69), v0-1: groups of the consumer protocol (KIP-848) with their
 * epochs, assignor, members, and each member's current and target assignment (topic ids and
 * names). v1 adds the member type (KIP-1099): always 1 (consumer protocol), Fjord has no classic
 * members inside consumer groups. A classic group or an unknown id answers GROUP_ID_NOT_FOUND, an
 * empty id INVALID_GROUP_ID. Authorized operations: every group operation (no ACLs yet).
 */
import { ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse } from '@fjord/protocol';
import { GROUP_OPERATIONS, OPERATIONS_NOT_REQUESTED } from './authorized-operations.js';
import { defineHandler } from './handler.js';

export const consumerGroupDescribe = defineHandler({
  request: ConsumerGroupDescribeRequest,
  response: ConsumerGroupDescribeResponse,
  handle(ctx, req) {
    const authorizedOperations = req.includeAuthorizedOperations ? GROUP_OPERATIONS : OPERATIONS_NOT_REQUESTED;
    const groups = req.groupIds.map((groupId) => {
      const d = ctx.broker.groups.consumer.describe(groupId);
      if ('errorCode' in d) {
        return { groupId, errorCode: d.errorCode, errorMessage: d.errorMessage, groupState: '', groupEpoch: 0, assignmentEpoch: 0, assignorName: '', members: [], authorizedOperations };
      }
      return { ...d, errorCode: 0, errorMessage: null, authorizedOperations };
    });
    return { throttleTimeMs: 0, groups };
  },
});
