/**
 * ShareAcknowledge (key 79), v1-2 (KIP-932; v2 adds IsRenewAck and AcquisitionLockTimeoutMs,
 * KIP-1222). Acknowledges records a member acquired with ShareFetch: accept, release, reject,
 * gap, and (v2, IsRenewAck) renew the acquisition lock. Each partition's acknowledgements apply
 * all or nothing and are durable in __share_group_state before the answer. The request belongs
 * to the member's share session: it cannot open one (epoch 0), and epoch -1 closes it, releasing
 * the records the member still holds. Bad input gets Kafka's codes: INVALID_REQUEST (malformed
 * batches), INVALID_RECORD_STATE (not acquired by this member), UNKNOWN_TOPIC_ID,
 * SHARE_SESSION_NOT_FOUND, INVALID_SHARE_SESSION_EPOCH.
 * Not implemented: group authorization (no ACLs yet), the share.renew.acknowledge.enable group
 * config (renewals are always allowed).
 */
import { ErrorCode, ShareAcknowledgeRequest, ShareAcknowledgeResponse } from '@fjord/protocol';
import { defineHandler } from './handler.js';

/** Kafka's member id limit (a UUID string); longer or empty ids are INVALID_REQUEST. */
const MEMBER_ID_LENGTH_MAX = 36;

/** Why a share request's group or member id is unusable, or undefined. */
export function shareRequestProblem(groupId: string | null, memberId: string | null): string | undefined {
  if (groupId === null || groupId === '') return 'The group id must not be empty';
  if (memberId === null || memberId === '' || memberId.length > MEMBER_ID_LENGTH_MAX) return 'Invalid member id';
  return undefined;
}

const NO_LEADER = { leaderId: -1, leaderEpoch: -1 };

export const shareAcknowledge = defineHandler({
  request: ShareAcknowledgeRequest,
  response: ShareAcknowledgeResponse,
  minVersion: 1,
  async handle(ctx, req) {
    const lockMs = ctx.broker.config.getInt('group.share.record.lock.duration.ms');
    const problem = shareRequestProblem(req.groupId, req.memberId);
    if (problem) return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem, acquisitionLockTimeoutMs: lockMs, responses: [], nodeEndpoints: [] };
    const r = await ctx.broker.groups.share.partitions.acknowledge({
      groupId: req.groupId!,
      memberId: req.memberId!,
      shareSessionEpoch: req.shareSessionEpoch,
      isRenewAck: ctx.apiVersion >= 2 && req.isRenewAck,
      topics: req.topics.map((t) => ({ topicId: t.topicId, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, acks: p.acknowledgementBatches })) })),
    });
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      errorMessage: r.errorMessage,
      acquisitionLockTimeoutMs: r.acquisitionLockTimeoutMs,
      responses: r.responses.map((t) => ({ topicId: t.topicId, partitions: t.partitions.map((p) => ({ ...p, currentLeader: NO_LEADER })) })),
      nodeEndpoints: [],
    };
  },
});
