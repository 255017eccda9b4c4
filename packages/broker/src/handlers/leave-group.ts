/**
 * LeaveGroup (key 13), v0-5. v0-2 remove one member by id; v3+ remove a batch, by member id or by
 * group.instance.id (KIP-345: how an operator removes a static member), with per-member errors.
 */
import { LeaveGroupRequest, LeaveGroupResponse } from '@fjord/protocol';
import { defineHandler } from './handler.js';

export const leaveGroup = defineHandler({
  request: LeaveGroupRequest,
  response: LeaveGroupResponse,
  handle(ctx, req) {
    const batched = ctx.apiVersion >= 3;
    const who = batched
      ? req.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, reason: ctx.apiVersion >= 5 ? m.reason : null }))
      : [{ memberId: req.memberId, groupInstanceId: null, reason: null }];
    const r = ctx.broker.groups.leaveGroup(req.groupId, who);
    if (!batched) return { throttleTimeMs: 0, errorCode: r.errorCode || (r.members[0] ?? 0), members: [] };
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      members: r.errorCode ? [] : who.map((m, i) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode: r.members[i]! })),
    };
  },
});
