/**
 * DescribeProducers (key 61), v0 (KIP-664). Per partition, the producers its producer state
 * remembers (storage, producer-state.ts): id, epoch, last sequence, last timestamp, the epoch of
 * the last transaction coordinator that ended one of its transactions, and the first offset of
 * its open transaction (-1 when none). Kafka's errors: UNKNOWN_TOPIC_OR_PARTITION for a partition
 * the broker does not know. Not yet: ACLs (Kafka requires READ on the topic), so no
 * TOPIC_AUTHORIZATION_FAILED; NOT_LEADER_OR_FOLLOWER needs replication.
 */
import { DescribeProducersRequest, DescribeProducersResponse, ErrorCode } from '@fjord/protocol';
import { defineHandler } from './handler.js';

type PartitionResponse = DescribeProducersResponse['topics'][number]['partitions'][number];

export const describeProducers = defineHandler({
  request: DescribeProducersRequest,
  response: DescribeProducersResponse,
  handle(ctx, req) {
    const b = ctx.broker;
    const topics = req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((index): PartitionResponse => {
        const p = b.replicas.partition(t.name, index);
        if (!p) return { partitionIndex: index, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null, activeProducers: [] };
        return { partitionIndex: index, errorCode: ErrorCode.NONE, errorMessage: null, activeProducers: p.log.activeProducers() };
      }),
    }));
    return { throttleTimeMs: 0, topics };
  },
});
