/**
 * DeleteGroups (key 42), v0-2. Only an empty group can go (NON_EMPTY_GROUP otherwise); its offsets
 * and metadata are tombstoned in __consumer_offsets. Unknown groups get GROUP_ID_NOT_FOUND.
 */
import { DeleteGroupsRequest, DeleteGroupsResponse } from '@fjord/protocol';
import { defineHandler } from './handler.js';

export const deleteGroups = defineHandler({
  request: DeleteGroupsRequest,
  response: DeleteGroupsResponse,
  async handle(ctx, req) {
    const results = await ctx.broker.groups.deleteGroups(req.groupsNames);
    return { throttleTimeMs: 0, results };
  },
});
