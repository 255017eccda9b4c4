/**
 * TxnOffsetCommit (key 28), v0-6: offsets committed inside the producer's transaction, visible
 * only once it commits (group/coordinator.ts keeps them pending until the marker). As Kafka:
 * partitions of unknown topics get UNKNOWN_TOPIC_OR_PARTITION (v6, by topic id:
 * UNKNOWN_TOPIC_ID); the write is checked against the transaction as a produce is (KIP-890: the
 * group's partition of __consumer_offsets must be in the transaction, added by AddOffsetsToTxn,
 * or by this request itself from v5 with transactions v2); the group then checks the member
 * fields (v3+; v0-2 carry none). Before v2 COORDINATOR_LOAD_IN_PROGRESS is answered as
 * COORDINATOR_NOT_AVAILABLE (clients before Kafka 2.0 did not retry it).
 * v5-6 are advertised only while transaction.version 2 is finalized (txn/transaction-version.ts).
 */
import { ErrorCode, TxnOffsetCommitRequest, TxnOffsetCommitResponse } from '@fjord/protocol';
import type { OffsetToCommit } from '../group/coordinator.js';
import { groupIdProblem } from '../group/group.js';
import { TRANSACTION_VERSION_FINALIZED } from '../txn/transaction-version.js';
import { defineHandler } from './handler.js';

export const txnOffsetCommit = defineHandler({
  request: TxnOffsetCommitRequest,
  response: TxnOffsetCommitResponse,
  maxVersion: TRANSACTION_VERSION_FINALIZED >= 2 ? 6 : 4,
  async handle(ctx, req) {
    const b = ctx.broker;
    const v = ctx.apiVersion;
    const byId = v >= 6;
    const items: OffsetToCommit[] = [];
    // Per response slot: an index into items, or an error found before the group is asked.
    const slots: Array<Array<number | { error: number }>> = [];
    for (const t of req.topics) {
      const state = byId ? b.metadata.topicById(t.topicId) : b.metadata.topic(t.name);
      slots.push(
        t.partitions.map((p) => {
          if (!state) return { error: byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
          if (p.partitionIndex < 0 || p.partitionIndex >= state.partitions.length) return { error: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
          items.push({ topic: state.name, partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: v >= 2 ? p.committedLeaderEpoch : -1, metadata: p.committedMetadata });
          return items.length - 1;
        }),
      );
    }
    let codes: number[] = [];
    if (items.length > 0) {
      if (groupIdProblem(req.groupId)) {
        codes = items.map(() => ErrorCode.INVALID_GROUP_ID);
      } else {
        const verified = await b.txn.verifyTxnOffsetCommit(req.transactionalId, req.producerId, req.producerEpoch, b.groups.partitionFor(req.groupId), v);
        codes =
          verified !== 0
            ? items.map(() => verified)
            : await b.groups.commitTransactionalOffsets(
                req.groupId,
                {
                  memberId: v >= 3 ? req.memberId : '',
                  groupInstanceId: v >= 3 ? req.groupInstanceId : null,
                  generationIdOrMemberEpoch: v >= 3 ? req.generationIdOrMemberEpoch : -1,
                  apiVersion: v,
                },
                req.producerId,
                req.producerEpoch,
                items,
              );
      }
    }
    const final = (c: number) => (v < 2 && c === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS ? ErrorCode.COORDINATOR_NOT_AVAILABLE : c);
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t, ti) => ({
        name: t.name,
        topicId: t.topicId,
        partitions: t.partitions.map((p, pi) => {
          const slot = slots[ti]![pi]!;
          return { partitionIndex: p.partitionIndex, errorCode: final(typeof slot === 'number' ? codes[slot]! : slot.error) };
        }),
      })),
    };
  },
});
