/**
 * AddOffsetsToTxn (key 25), v0-4: adds the group's partition of __consumer_offsets to the
 * producer's transaction, so that the transaction's marker reaches the offsets it commits with
 * TxnOffsetCommit (Kafka's handleAddOffsetsToTxnRequest). Before v2 PRODUCER_FENCED is answered
 * as INVALID_PRODUCER_EPOCH. __consumer_offsets is created here if it does not exist yet, so the
 * marker has a partition to go to.
 */
import { AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, ErrorCode } from '@fjord/protocol';
import { OFFSETS_TOPIC } from '../group/internal-topic.js';
import { tpKey } from '../txn/transaction-metadata.js';
import { TV_0 } from '../txn/transaction-state.js';
import { defineHandler } from './handler.js';

export const addOffsetsToTxn = defineHandler({
  request: AddOffsetsToTxnRequest,
  response: AddOffsetsToTxnResponse,
  async handle(ctx, req) {
    const b = ctx.broker;
    try {
      await b.groups.offsetsTopic.ensure();
    } catch {
      return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
    }
    const k = tpKey(OFFSETS_TOPIC, b.groups.partitionFor(req.groupId));
    let code = await b.txn.addPartitions(req.transactionalId, req.producerId, req.producerEpoch, [k], TV_0);
    if (ctx.apiVersion < 2 && code === ErrorCode.PRODUCER_FENCED) code = ErrorCode.INVALID_PRODUCER_EPOCH;
    return { throttleTimeMs: 0, errorCode: code };
  },
});
