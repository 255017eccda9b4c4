/**
 * ListOffsets (key 2), v0-11 (v0 from the 2024 schemas, with its list-of-offsets answer).
 * Special timestamps: -2 earliest (log start offset), -1 latest (high watermark, or the last
 * stable offset for read_committed), -3 max timestamp (KIP-734, v7+), -4 earliest local (KIP-405,
 * v8+: the log start offset, as Fjord has no tiered storage), -5 latest tiered (v9+) and
 * -6 earliest pending upload (v11+): offset -1 without tiered storage, as Kafka answers then.
 * A timestamp >= 0 finds the first record whose timestamp is at or after it (offset -1 if none).
 * isolation_level (v2+) read_committed makes "latest" the last stable offset; a by-timestamp or
 * max-timestamp answer at or past the last fetchable offset (LSO for read_committed, else the
 * high watermark) is withheld (offset -1), as Kafka's Partition.fetchOffsetForTimestamp does.
 * v0 answers with a one-element offsets list; its old by-timestamp meaning ("segment offsets
 * before a time", up to maxNumOffsets of them) is not reproduced: v0 uses the v1+ lookup.
 */
import { ErrorCode, ListOffsetsRequest, ListOffsetsResponse } from '@fjord/protocol';
import { defineHandler } from './handler.js';

const EARLIEST = -2n;
const LATEST = -1n;
const MAX_TIMESTAMP = -3n;
const EARLIEST_LOCAL = -4n;
const LATEST_TIERED = -5n;
const EARLIEST_PENDING_UPLOAD = -6n;

type PartitionResult = ListOffsetsResponse['topics'][number]['partitions'][number];

export const listOffsets = defineHandler({
  request: ListOffsetsRequest,
  response: ListOffsetsResponse,
  async handle(ctx, req) {
    const b = ctx.broker;
    const v = ctx.apiVersion;
    const readCommitted = v >= 2 && req.isolationLevel === 1;
    const topics: ListOffsetsResponse['topics'] = [];
    for (const t of req.topics) {
      const partitions: PartitionResult[] = [];
      for (const rp of t.partitions) {
        const out: PartitionResult = {
          partitionIndex: rp.partitionIndex,
          errorCode: ErrorCode.NONE,
          oldStyleOffsets: [],
          timestamp: -1n,
          offset: -1n,
          leaderEpoch: -1,
        };
        partitions.push(out);
        const p = b.replicas.partition(t.name, rp.partitionIndex);
        if (!p) {
          out.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          continue;
        }
        if (v >= 4 && rp.currentLeaderEpoch >= 0 && rp.currentLeaderEpoch !== p.leaderEpoch) {
          out.errorCode = rp.currentLeaderEpoch < p.leaderEpoch ? ErrorCode.FENCED_LEADER_EPOCH : ErrorCode.UNKNOWN_LEADER_EPOCH;
          continue;
        }
        const ts = rp.timestamp;
        if ((ts === MAX_TIMESTAMP && v < 7) || (ts === EARLIEST_LOCAL && v < 8) || (ts === LATEST_TIERED && v < 9) || (ts === EARLIEST_PENDING_UPLOAD && v < 11) || ts < EARLIEST_PENDING_UPLOAD) {
          out.errorCode = ErrorCode.UNSUPPORTED_VERSION;
          continue;
        }
        try {
          if (ts === EARLIEST || ts === EARLIEST_LOCAL) {
            out.offset = p.logStartOffset;
            out.leaderEpoch = p.leaderEpoch;
          } else if (ts === LATEST) {
            out.offset = readCommitted ? p.lastStableOffset : p.highWatermark;
            out.leaderEpoch = p.leaderEpoch;
          } else if (ts === LATEST_TIERED || ts === EARLIEST_PENDING_UPLOAD) {
            out.offset = -1n;
          } else {
            const found = ts === MAX_TIMESTAMP ? await p.log.offsetOfMaxTimestamp() : await p.log.offsetForTimestamp(ts);
            const lastFetchable = readCommitted ? p.lastStableOffset : p.highWatermark;
            if (found && found.offset < lastFetchable) {
              out.offset = found.offset;
              out.timestamp = found.timestamp;
              out.leaderEpoch = found.leaderEpoch;
            }
          }
        } catch (err) {
          b.logger.error('list offsets failed', { partition: p.key, error: err });
          out.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
          continue;
        }
        if (v === 0) out.oldStyleOffsets = out.offset >= 0n && (rp.maxNumOffsets ?? 1) > 0 ? [out.offset] : [];
      }
      topics.push({ name: t.name, partitions });
    }
    return { throttleTimeMs: 0, topics };
  },
});
