/**
 * OffsetForLeaderEpoch (key 23), v0-4 (v0-1 from the 2024 schemas; KIP-101/279/320). For each
 * partition, the end offset of the requested leader epoch from the leader-epoch cache: the start
 * offset of the next larger epoch, or the log end offset for the current one. currentLeaderEpoch
 * (v2+) is checked: older is FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH.
 */
import { ErrorCode, OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse } from '@fjord/protocol';
import { defineHandler } from './handler.js';

export const offsetForLeaderEpoch = defineHandler({
  request: OffsetForLeaderEpochRequest,
  response: OffsetForLeaderEpochResponse,
  handle(ctx, req) {
    const b = ctx.broker;
    const topics = req.topics.map((t) => ({
      topic: t.topic,
      partitions: t.partitions.map((rp) => {
        const out = { errorCode: ErrorCode.NONE as number, partition: rp.partition, leaderEpoch: -1, endOffset: -1n };
        const p = b.replicas.partition(t.topic, rp.partition);
        if (!p) {
          out.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          return out;
        }
        if (ctx.apiVersion >= 2 && rp.currentLeaderEpoch >= 0 && rp.currentLeaderEpoch !== p.leaderEpoch) {
          out.errorCode = rp.currentLeaderEpoch < p.leaderEpoch ? ErrorCode.FENCED_LEADER_EPOCH : ErrorCode.UNKNOWN_LEADER_EPOCH;
          return out;
        }
        const end = p.log.endOffsetForEpoch(rp.leaderEpoch);
        out.leaderEpoch = end.leaderEpoch;
        out.endOffset = end.endOffset;
        return out;
      }),
    }));
    return { throttleTimeMs: 0, topics };
  },
});
