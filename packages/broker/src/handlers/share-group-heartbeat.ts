/**
 * ShareGroupHeartbeat (key 76), v1 (KIP-932; v0 was the early-access version Kafka 4.1 removed).
 * One request joins a share group (epoch 0, with the subscribed topics), heartbeats (the current
 * epoch; subscriptions only when they changed) or leaves (-1). The member id is the client's
 * (KIP-1082). The answer carries the member epoch, the heartbeat interval
 * (group.share.heartbeat.interval.ms) and, on joining or when it changed, the member's partitions,
 * assigned by the server-side SimpleAssignor. Not implemented: rack-aware assignment (Kafka's is
 * not either), group configs (share.heartbeat.interval.ms and friends per group), topic
 * authorization (no ACLs yet). The group logic is in group/share-groups.ts.
 */
import { ShareGroupHeartbeatRequest, ShareGroupHeartbeatResponse } from '@fjord/protocol';
import { clientHost } from './group-common.js';
import { defineHandler } from './handler.js';

export const shareGroupHeartbeat = defineHandler({
  request: ShareGroupHeartbeatRequest,
  response: ShareGroupHeartbeatResponse,
  minVersion: 1,
  async handle(ctx, req) {
    const r = await ctx.broker.groups.share.heartbeat({
      groupId: req.groupId,
      memberId: req.memberId,
      memberEpoch: req.memberEpoch,
      rackId: req.rackId,
      subscribedTopicNames: req.subscribedTopicNames,
      clientId: ctx.clientId ?? '',
      clientHost: clientHost(ctx),
    });
    return { throttleTimeMs: 0, ...r };
  },
});
