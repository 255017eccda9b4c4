/**
 * DescribeTransactions (key 65), v0 (KIP-664): the state of each transactional id: producer id and
 * epoch, timeout, start time and, while a transaction is open or completing, its partitions (those
 * still without a marker). An unknown id is TRANSACTIONAL_ID_NOT_FOUND, an empty one INVALID_REQUEST.
 */
import { DescribeTransactionsRequest, DescribeTransactionsResponse } from '@fjord/protocol';
import { defineHandler } from './handler.js';

export const describeTransactions = defineHandler({
  request: DescribeTransactionsRequest,
  response: DescribeTransactionsResponse,
  handle(ctx, req) {
    return { throttleTimeMs: 0, transactionStates: req.transactionalIds.map((id) => ctx.broker.txn.describe(id)) };
  },
});
