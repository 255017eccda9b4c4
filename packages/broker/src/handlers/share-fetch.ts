/**
 * ShareFetch (key 78), v1-2 (KIP-932; v2 adds ShareAcquireMode, KIP-1206, and IsRenewAck,
 * KIP-1222). Fetches records for a share group member: each partition's records are acquired for
 * group.share.record.lock.duration.ms (AcquisitionLockTimeoutMs) and returned with the acquired
 * offset ranges and their delivery counts; piggybacked acknowledgements are applied first and are
 * durable before the answer. Share sessions (epoch 0 opens, -1 closes and releases the member's
 * records) track the partitions. Long poll: waits up to MaxWaitMs for records to acquire (an
 * append, a release, a lock running out). Reads are whole batches from the log, sliced to the
 * acquired ranges; no per-record work.
 * Not implemented: MinBytes (anything acquired answers), read_committed share groups
 * (share.isolation.level), group configs (share.auto.offset.reset is always "latest",
 * share.record.lock.duration.ms per group), topic/group authorization (no ACLs yet), fetching
 * from followers (one node).
 */
import { ErrorCode, ShareFetchRequest, ShareFetchResponse } from '@fjord/protocol';
import { defineHandler } from './handler.js';
import { shareRequestProblem } from './share-acknowledge.js';

const NO_LEADER = { leaderId: -1, leaderEpoch: -1 };

export const shareFetch = defineHandler({
  request: ShareFetchRequest,
  response: ShareFetchResponse,
  minVersion: 1,
  async handle(ctx, req) {
    const lockMs = ctx.broker.config.getInt('group.share.record.lock.duration.ms');
    const fail = (errorCode: number, errorMessage: string): ShareFetchResponse => ({ throttleTimeMs: 0, errorCode, errorMessage, acquisitionLockTimeoutMs: lockMs, responses: [], nodeEndpoints: [] });
    const v = ctx.apiVersion;
    const problem = shareRequestProblem(req.groupId, req.memberId);
    if (problem) return fail(ErrorCode.INVALID_REQUEST, problem);
    if (v >= 2 && req.shareAcquireMode !== 0 && req.shareAcquireMode !== 1) return fail(ErrorCode.INVALID_REQUEST, `Unknown share acquire mode: ${req.shareAcquireMode}`);
    const isRenewAck = v >= 2 && req.isRenewAck;
    // KIP-1222: a renewal carries no fetch parameters.
    if (isRenewAck && (req.maxBytes !== 0 || req.minBytes !== 0 || req.maxRecords !== 0 || req.maxWaitMs !== 0)) {
      return fail(ErrorCode.INVALID_REQUEST, 'MaxBytes, MinBytes, MaxRecords and MaxWaitMs must be 0 when IsRenewAck is set');
    }
    const r = await ctx.broker.groups.share.partitions.fetch(
      {
        groupId: req.groupId!,
        memberId: req.memberId!,
        shareSessionEpoch: req.shareSessionEpoch,
        maxWaitMs: req.maxWaitMs,
        minBytes: req.minBytes,
        maxBytes: req.maxBytes,
        maxRecords: req.maxRecords,
        batchSize: req.batchSize,
        shareAcquireMode: v >= 2 ? req.shareAcquireMode : 0,
        isRenewAck,
        topics: req.topics.map((t) => ({ topicId: t.topicId, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, acks: p.acknowledgementBatches })) })),
        forgotten: req.forgottenTopicsData.map((f) => ({ topicId: f.topicId, partitions: f.partitions })),
      },
      ctx.closed,
    );
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
