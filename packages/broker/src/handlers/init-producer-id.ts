/**
 * InitProducerId (key 22), v0-5. Without a transactional id: a new producer id with epoch 0 for
 * an idempotent producer. With one: the transaction coordinator (txn/transaction-coordinator.ts)
 * bumps the id's epoch, fencing older producers (an ongoing transaction is aborted first and the
 * producer told CONCURRENT_TRANSACTIONS so it retries), and rotates the producer id when the epoch
 * is exhausted. v3+ (KIP-360) carry the producer's current id and epoch so it can resume after an
 * error; a request with only one of them set is INVALID_REQUEST, as in Kafka. Before v4
 * PRODUCER_FENCED is answered as INVALID_PRODUCER_EPOCH.
 * Not advertised: v6 (KIP-939 two-phase commit), which Kafka itself marks unstable.
 */
import { ErrorCode, InitProducerIdRequest, InitProducerIdResponse } from '@fjord/protocol';
import { defineHandler } from './handler.js';

export const initProducerId = defineHandler({
  request: InitProducerIdRequest,
  response: InitProducerIdResponse,
  maxVersion: 5,
  async handle(ctx, req) {
    const v = ctx.apiVersion;
    const pid = v >= 3 ? req.producerId : -1n;
    const epoch = v >= 3 ? req.producerEpoch : -1;
    const answer = (r: { errorCode: number; producerId: bigint; producerEpoch: number }) => ({
      throttleTimeMs: 0,
      errorCode: v < 4 && r.errorCode === ErrorCode.PRODUCER_FENCED ? ErrorCode.INVALID_PRODUCER_EPOCH : r.errorCode,
      producerId: r.producerId,
      producerEpoch: r.producerEpoch,
      ongoingTxnProducerId: -1n,
      ongoingTxnProducerEpoch: -1,
    });
    if ((pid === -1n) !== (epoch === -1)) return answer({ errorCode: ErrorCode.INVALID_REQUEST, producerId: -1n, producerEpoch: -1 });
    return answer(
      await ctx.broker.txn.initProducerId({
        transactionalId: req.transactionalId,
        transactionTimeoutMs: req.transactionTimeoutMs,
        expected: pid === -1n ? undefined : { producerId: pid, producerEpoch: epoch },
      }),
    );
  },
});
