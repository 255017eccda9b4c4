/**
 * DescribeGroups (key 15), v0-6. Classic groups: state, protocol type and chosen protocol, and the
 * members; metadata and assignments only while Stable, as Kafka shows them. An unknown group (or a
 * consumer-protocol group, described by ConsumerGroupDescribe) is reported Dead before v6 and as
 * GROUP_ID_NOT_FOUND from v6 (KIP-1043).
 */
import { DescribeGroupsRequest, DescribeGroupsResponse, ErrorCode } from '@fjord/protocol';
import { groupIdProblem } from '../group/group.js';
import { GROUP_OPERATIONS, OPERATIONS_NOT_REQUESTED } from './authorized-operations.js';
import { defineHandler } from './handler.js';

export const describeGroups = defineHandler({
  request: DescribeGroupsRequest,
  response: DescribeGroupsResponse,
  handle(ctx, req) {
    const ops = ctx.apiVersion >= 3 && req.includeAuthorizedOperations ? GROUP_OPERATIONS : OPERATIONS_NOT_REQUESTED;
    const groups = req.groups.map((groupId) => {
      const none = { groupId, groupState: 'Dead', protocolType: '', protocolData: '', members: [], authorizedOperations: ops };
      if (groupIdProblem(groupId)) return { ...none, errorCode: ErrorCode.INVALID_GROUP_ID, errorMessage: null };
      const g = ctx.broker.groups.groups.get(groupId);
      if (!g || g.type !== 'classic' || g.stateName() === 'Dead') {
        if (ctx.apiVersion < 6) return { ...none, errorCode: 0, errorMessage: null };
        const why = g && g.type !== 'classic' ? `Group ${groupId} is not a classic group.` : `Group ${groupId} not found.`;
        return { ...none, errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage: why };
      }
      return { ...g.describe(), errorCode: 0, errorMessage: null, authorizedOperations: ops };
    });
    return { throttleTimeMs: 0, groups };
  },
});
