/**
 * ConsumerGroupHeartbeat (key 68), v0-1: the consumer group protocol of KIP-848. One request joins
 * (epoch 0), heartbeats (current epoch; owned partitions when they changed) or leaves (-1, or -2
 * for a static member that will come back); the answer carries the member epoch, the heartbeat
 * interval and, when it changed, the partitions the member may use. v1: the client generates its
 * member id (KIP-1082) and may subscribe with a regex (RE2/J syntax, matched with a translated JS
 * RegExp: see compileTopicRegex). Not implemented: classic members inside a consumer group (online
 * upgrade of a group with members), rack-aware assignment, topic authorization (no ACLs yet).
 * The group logic is in group/consumer-groups.ts.
 */
import { ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse } from '@fjord/protocol';
import { clientHost } from './group-common.js';
import { defineHandler } from './handler.js';

export const consumerGroupHeartbeat = defineHandler({
  request: ConsumerGroupHeartbeatRequest,
  response: ConsumerGroupHeartbeatResponse,
  async handle(ctx, req) {
    const r = await ctx.broker.groups.consumer.heartbeat({
      groupId: req.groupId,
      memberId: req.memberId,
      memberEpoch: req.memberEpoch,
      instanceId: req.instanceId,
      rackId: req.rackId,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      subscribedTopicNames: req.subscribedTopicNames,
      subscribedTopicRegex: ctx.apiVersion >= 1 ? req.subscribedTopicRegex : null,
      serverAssignor: req.serverAssignor,
      topicPartitions: req.topicPartitions,
      clientId: ctx.clientId ?? '',
      clientHost: clientHost(ctx),
      apiVersion: ctx.apiVersion,
    });
    return { throttleTimeMs: 0, ...r };
  },
});
