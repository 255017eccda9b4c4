/**
 * InitProducerId (key 22), v0-6. Without a transactional id: a new producer id with epoch 0 for
 * an idempotent producer. With one: the transaction coordinator (txn/transaction-coordinator.ts)
 * fences older epochs of that id and returns its producer id and the next epoch.
 */
import { InitProducerIdRequest, InitProducerIdResponse } from '@fjord/protocol';
import { defineHandler } from './handler.js';

export const initProducerId = defineHandler({
  request: InitProducerIdRequest,
  response: InitProducerIdResponse,
  async handle(ctx, req) {
    const v = ctx.apiVersion;
    const r = await ctx.broker.txn.initProducerId({
      transactionalId: req.transactionalId,
      transactionTimeoutMs: req.transactionTimeoutMs,
      producerId: v >= 3 ? req.producerId : -1n,
      producerEpoch: v >= 3 ? req.producerEpoch : -1,
      apiVersion: v,
    });
    return { throttleTimeMs: 0, ...r, ongoingTxnProducerId: -1n, ongoingTxnProducerEpoch: -1 };
  },
});
