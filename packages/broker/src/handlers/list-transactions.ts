/**
 * ListTransactions (key 66), v0-2 (KIP-664): the transactional ids this coordinator knows, filtered
 * by state (names Kafka does not know come back in unknownStateFilters), by producer id, from v1
 * by how long the transaction has run (KIP-994: longer than durationFilter ms), and from v2 by a
 * regular expression that must match the whole id (KIP-1152; INVALID_REGULAR_EXPRESSION if it does
 * not compile). The expression is compiled by JavaScript, whose syntax is close to Java's but not
 * identical (no possessive quantifiers, for one).
 */
import { ErrorCode, ListTransactionsRequest, ListTransactionsResponse } from '@fjord/protocol';
import { defineHandler } from './handler.js';

export const listTransactions = defineHandler({
  request: ListTransactionsRequest,
  response: ListTransactionsResponse,
  handle(ctx, req) {
    const v = ctx.apiVersion;
    let pattern: RegExp | undefined;
    const source = v >= 2 ? req.transactionalIdPattern : null;
    if (source !== null && source !== '') {
      try {
        pattern = new RegExp(`^(?:${source})$`);
      } catch {
        return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REGULAR_EXPRESSION, unknownStateFilters: [], transactionStates: [] };
      }
    }
    const r = ctx.broker.txn.list(req.stateFilters, req.producerIdFilters, v >= 1 ? req.durationFilter : -1n, pattern);
    return { throttleTimeMs: 0, ...r };
  },
});
