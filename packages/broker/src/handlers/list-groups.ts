/**
 * ListGroups (key 16), v0-5. Every group this coordinator holds, with its protocol type; v4+ can
 * filter by state (KIP-518) and report it, v5+ can filter by type ("classic", "consumer") and
 * report it (KIP-848). Filters are case-insensitive, as in Kafka.
 */
import { ListGroupsRequest, ListGroupsResponse } from '@fjord/protocol';
import { defineHandler } from './handler.js';

export const listGroups = defineHandler({
  request: ListGroupsRequest,
  response: ListGroupsResponse,
  handle(ctx, req) {
    const v = ctx.apiVersion;
    const groups = ctx.broker.groups.listGroups(v >= 4 ? req.statesFilter : [], v >= 5 ? req.typesFilter : []);
    return { throttleTimeMs: 0, errorCode: 0, groups };
  },
});
