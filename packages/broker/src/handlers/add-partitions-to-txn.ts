/**
 * AddPartitionsToTxn (key 24), v0-5. v0-3 come from clients: one transaction, its partitions added
 * by the transaction coordinator. v4+ (KIP-890) come from brokers: a batch of transactions, each
 * either added or, with verifyOnly, only checked (TRANSACTION_ABORTABLE for a partition not in the
 * transaction); v5 is sent for transactions v2 produces. As Kafka: a partition of an unknown topic
 * fails the whole transaction's request (UNKNOWN_TOPIC_OR_PARTITION, the others
 * OPERATION_NOT_ATTEMPTED); a client may not add internal topics (TOPIC_AUTHORIZATION_FAILED, as
 * Kafka's authorizer never grants them); before v2 PRODUCER_FENCED is INVALID_PRODUCER_EPOCH.
 * No authorization yet (issue 7): v4+ from a client is served like one from a broker.
 */
import { AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, ErrorCode } from '@fjord/protocol';
import type { BrokerContext } from '../broker-context.js';
import { INTERNAL_TOPICS } from '../topics/topic-names.js';
import { tpKey, type TopicPartitionKey } from '../txn/transaction-metadata.js';
import { tvForAddPartitionsToTxn } from '../txn/transaction-state.js';
import { TRANSACTION_VERSION_FINALIZED } from '../txn/transaction-version.js';
import { defineHandler } from './handler.js';

type TopicResult = AddPartitionsToTxnResponse['resultsByTopicV3AndBelow'][number];

interface Txn {
  transactionalId: string;
  producerId: bigint;
  producerEpoch: number;
  verifyOnly: boolean;
  topics: Array<{ name: string; partitions: number[] }>;
}

async function handleTransaction(b: BrokerContext, t: Txn, apiVersion: number): Promise<TopicResult[]> {
  // Unique partitions, grouped by topic in request order.
  const byTopic = new Map<string, Set<number>>();
  for (const topic of t.topics) {
    const set = byTopic.get(topic.name) ?? new Set<number>();
    for (const p of topic.partitions) set.add(p);
    byTopic.set(topic.name, set);
  }
  const codes = new Map<TopicPartitionKey, number>();
  let failed = false;
  for (const [name, parts] of byTopic) {
    const state = b.metadata.topic(name);
    for (const p of parts) {
      let code = 0;
      if (apiVersion < 4 && INTERNAL_TOPICS.has(name)) code = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
      else if (!state || p < 0 || p >= state.partitions.length) code = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      if (code !== 0) failed = true;
      codes.set(tpKey(name, p), code);
    }
  }
  if (failed) {
    for (const [k, c] of codes) if (c === 0) codes.set(k, ErrorCode.OPERATION_NOT_ATTEMPTED);
  } else if (t.verifyOnly) {
    for (const [k, c] of b.txn.verifyPartitions(t.transactionalId, t.producerId, t.producerEpoch, [...codes.keys()])) codes.set(k, c);
  } else {
    let code = await b.txn.addPartitions(t.transactionalId, t.producerId, t.producerEpoch, [...codes.keys()], tvForAddPartitionsToTxn(apiVersion));
    if (apiVersion < 2 && code === ErrorCode.PRODUCER_FENCED) code = ErrorCode.INVALID_PRODUCER_EPOCH;
    for (const k of codes.keys()) codes.set(k, code);
  }
  return [...byTopic].map(([name, parts]) => ({
    name,
    resultsByPartition: [...parts].map((p) => ({ partitionIndex: p, partitionErrorCode: codes.get(tpKey(name, p))! })),
  }));
}

export const addPartitionsToTxn = defineHandler({
  request: AddPartitionsToTxnRequest,
  response: AddPartitionsToTxnResponse,
  maxVersion: TRANSACTION_VERSION_FINALIZED >= 2 ? 5 : 4,
  async handle(ctx, req) {
    const v = ctx.apiVersion;
    if (v < 4) {
      const topics = await handleTransaction(
        ctx.broker,
        { transactionalId: req.v3AndBelowTransactionalId, producerId: req.v3AndBelowProducerId, producerEpoch: req.v3AndBelowProducerEpoch, verifyOnly: false, topics: req.v3AndBelowTopics },
        v,
      );
      return { throttleTimeMs: 0, errorCode: 0, resultsByTransaction: [], resultsByTopicV3AndBelow: topics };
    }
    const results = await Promise.all(
      req.transactions.map(async (t) => ({ transactionalId: t.transactionalId, topicResults: await handleTransaction(ctx.broker, t, v) })),
    );
    return { throttleTimeMs: 0, errorCode: 0, resultsByTransaction: results, resultsByTopicV3AndBelow: [] };
  },
});
