/**
 * EndTxn (key 26), v0-5: commits or aborts the producer's transaction. Answered once
 * PrepareCommit/PrepareAbort is durable in __transaction_state; the coordinator then writes the
 * markers. v5 is transactions v2 (KIP-890 part 2): the epoch is bumped by every EndTxn and the
 * answer carries the producer id and epoch to use next (a new producer id when the epoch ran
 * out). Before v2 PRODUCER_FENCED is answered as INVALID_PRODUCER_EPOCH.
 * v5 is advertised only while transaction.version 2 is finalized (txn/transaction-version.ts).
 */
import { EndTxnRequest, EndTxnResponse, ErrorCode } from '@fjord/protocol';
import { tvForEndTxn } from '../txn/transaction-state.js';
import { TRANSACTION_VERSION_FINALIZED } from '../txn/transaction-version.js';
import { defineHandler } from './handler.js';

export const endTxn = defineHandler({
  request: EndTxnRequest,
  response: EndTxnResponse,
  maxVersion: TRANSACTION_VERSION_FINALIZED >= 2 ? 5 : 4,
  async handle(ctx, req) {
    const r = await ctx.broker.txn.endTxn(req.transactionalId, req.producerId, req.producerEpoch, req.committed, tvForEndTxn(ctx.apiVersion));
    const errorCode = ctx.apiVersion < 2 && r.errorCode === ErrorCode.PRODUCER_FENCED ? ErrorCode.INVALID_PRODUCER_EPOCH : r.errorCode;
    return { throttleTimeMs: 0, errorCode, producerId: r.producerId, producerEpoch: r.producerEpoch };
  },
});
