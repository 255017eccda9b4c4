/**
 * JoinGroup (key 11), v0-9. The first phase of a classic group's rebalance; the answer waits until
 * every member has rejoined (or the rebalance timeout), then the leader gets the members and their
 * protocol metadata to run the client-side assignor. v4+: a new dynamic member first gets
 * MEMBER_ID_REQUIRED with its id (KIP-394); v5+: static members (group.instance.id, KIP-345);
 * v9: skipAssignment for a static leader that rejoined a stable group.
 * State machine: group/classic-group.ts.
 */
import { JoinGroupRequest, JoinGroupResponse } from '@fjord/protocol';
import { clientHost } from './group-common.js';
import { defineHandler } from './handler.js';

export const joinGroup = defineHandler({
  request: JoinGroupRequest,
  response: JoinGroupResponse,
  async handle(ctx, req) {
    const r = await ctx.broker.groups.joinGroup(req.groupId, {
      memberId: req.memberId,
      groupInstanceId: ctx.apiVersion >= 5 ? req.groupInstanceId : null,
      clientId: ctx.clientId ?? '',
      clientHost: clientHost(ctx),
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: ctx.apiVersion >= 1 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs,
      protocolType: req.protocolType,
      protocols: req.protocols.map((p) => ({ name: p.name, metadata: p.metadata })),
      reason: ctx.apiVersion >= 8 ? req.reason : null,
      apiVersion: ctx.apiVersion,
    });
    // v0-6 have non-nullable protocol name; Kafka sends "" there before a protocol is chosen.
    const protocolName = r.protocolName ?? (ctx.apiVersion >= 7 ? null : '');
    return { throttleTimeMs: 0, ...r, protocolName };
  },
});
