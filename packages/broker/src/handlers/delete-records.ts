/**
 * DeleteRecords (key 21), v0-2. Moves a partition's log start offset up to the given offset
 * (-1: the high watermark); whole segments below it are deleted. An offset above the high
 * watermark is OFFSET_OUT_OF_RANGE; a compact-only topic is POLICY_VIOLATION, as in Kafka.
 * Answers with the new low watermark (the log start offset).
 */
import { DeleteRecordsRequest, DeleteRecordsResponse, ErrorCode } from '@fjord/protocol';
import { defineHandler } from './handler.js';

export const deleteRecords = defineHandler({
  request: DeleteRecordsRequest,
  response: DeleteRecordsResponse,
  async handle(ctx, req) {
    const b = ctx.broker;
    const topics: DeleteRecordsResponse['topics'] = [];
    for (const t of req.topics) {
      const partitions: DeleteRecordsResponse['topics'][number]['partitions'] = [];
      const state = b.metadata.topic(t.name);
      const policy = state ? (b.topics.effectiveConfig(state).get('cleanup.policy') ?? 'delete') : 'delete';
      for (const rp of t.partitions) {
        const p = b.replicas.partition(t.name, rp.partitionIndex);
        const out = { partitionIndex: rp.partitionIndex, lowWatermark: -1n, errorCode: ErrorCode.NONE as number };
        partitions.push(out);
        if (!p) {
          out.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          continue;
        }
        if (!policy.split(',').map((s) => s.trim()).includes('delete')) {
          out.errorCode = ErrorCode.POLICY_VIOLATION;
          continue;
        }
        const target = rp.offset === -1n ? p.highWatermark : rp.offset;
        if (target < 0n || target > p.highWatermark) {
          out.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
          out.lowWatermark = p.logStartOffset;
          continue;
        }
        try {
          if (target > p.logStartOffset) await p.log.deleteRecordsBefore(target);
          out.lowWatermark = p.logStartOffset;
        } catch (err) {
          b.logger.error('delete records failed', { partition: p.key, error: err });
          out.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
        }
      }
      topics.push({ name: t.name, partitions });
    }
    return { throttleTimeMs: 0, topics };
  },
});
