/**
 * Transactions for a producer with a transactional id (Kafka's transaction protocol v1, KIP-98):
 * InitProducerId through the transaction coordinator (fencing older producers of the same id),
 * AddPartitionsToTxn before a partition's first batch of a transaction, AddOffsetsToTxn plus
 * TxnOffsetCommit (to the group coordinator) for sendOffsetsToTransaction, and EndTxn.
 *
 * Versions are capped below KIP-890 (transactions v2: Produce 12+, AddPartitionsToTxn 4+, EndTxn
 * 5+) so that partitions are always added explicitly and the epoch stays fixed; using v2 is later work.
 *
 * Coordinator errors: NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE look the coordinator up again;
 * COORDINATOR_LOAD_IN_PROGRESS and CONCURRENT_TRANSACTIONS are retried with backoff; PRODUCER_FENCED,
 * INVALID_PRODUCER_EPOCH and TRANSACTIONAL_ID_AUTHORIZATION_FAILED are fatal for the producer.
 */
import { ErrorCode } from '@fjord/protocol/core';
import type { Cluster } from '../cluster.js';
import { backoffMs } from '../connection/backoff.js';
import { KafkaError, TimeoutError, isRetriable, kafkaError } from '../errors.js';
import type { ResolvedProducerConfig } from './config.js';
import { addOffsetsToTxnApi, addPartitionsToTxnApi, endTxnApi, initProducerIdApi, txnOffsetCommitApi } from '../apis.js';

/** Highest versions before KIP-890's transactions v2. */
export const txnV1MaxVersions = { produce: 11, addPartitionsToTxn: 3, endTxn: 4, addOffsetsToTxn: 3 } as const;

/** The transaction API was used out of order (send outside a transaction, commit twice, ...). Not retriable. */
export class TransactionStateError extends Error {
  override readonly name = 'TransactionStateError';
  readonly retriable = false;
}

const fatalCodes: ReadonlySet<number> = new Set([ErrorCode.PRODUCER_FENCED, ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED]);
const refindCodes: ReadonlySet<number> = new Set([ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE]);
const retryCodes: ReadonlySet<number> = new Set([ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.CONCURRENT_TRANSACTIONS]);

/** Whether a Kafka error code fences the producer (no further use possible). */
export function isFatalTxnError(e: unknown): boolean {
  return e instanceof KafkaError && fatalCodes.has(e.code);
}

export class TransactionManager {
  private coordinator = -1;

  constructor(
    private readonly cluster: Cluster,
    private readonly config: ResolvedProducerConfig,
    readonly transactionalId: string,
  ) {}

  async initProducerId(): Promise<{ producerId: bigint; producerEpoch: number }> {
    const res = await this.toCoordinator('InitProducerId', (node) =>
      this.cluster.send(node, initProducerIdApi, { transactionalId: this.transactionalId, transactionTimeoutMs: this.config.transactionTimeoutMs, producerId: -1n, producerEpoch: -1 }),
    );
    return { producerId: res.producerId, producerEpoch: res.producerEpoch };
  }

  async addPartitions(pid: bigint, epoch: number, partitions: Array<{ topic: string; partition: number }>): Promise<void> {
    const byTopic = new Map<string, number[]>();
    for (const p of partitions) (byTopic.get(p.topic) ?? byTopic.set(p.topic, []).get(p.topic)!).push(p.partition);
    const topics = [...byTopic].map(([name, ps]) => ({ name, partitions: ps }));
    await this.toCoordinator('AddPartitionsToTxn', async (node) => {
      const res = await this.cluster.send(node, addPartitionsToTxnApi, { v3AndBelowTransactionalId: this.transactionalId, v3AndBelowProducerId: pid, v3AndBelowProducerEpoch: epoch, v3AndBelowTopics: topics }, { maxVersion: txnV1MaxVersions.addPartitionsToTxn });
      // One code for the call: the first partition error, with OPERATION_NOT_ATTEMPTED (a sibling failed) ranked last.
      let errorCode = 0;
      for (const t of res.resultsByTopicV3AndBelow) for (const p of t.resultsByPartition) if (p.partitionErrorCode !== 0 && (errorCode === 0 || errorCode === ErrorCode.OPERATION_NOT_ATTEMPTED)) errorCode = p.partitionErrorCode;
      return { errorCode };
    });
  }

  async addOffsets(pid: bigint, epoch: number, groupId: string): Promise<void> {
    await this.toCoordinator('AddOffsetsToTxn', (node) => this.cluster.send(node, addOffsetsToTxnApi, { transactionalId: this.transactionalId, producerId: pid, producerEpoch: epoch, groupId }, { maxVersion: txnV1MaxVersions.addOffsetsToTxn }));
  }

  async commitOffsets(pid: bigint, epoch: number, groupId: string, offsets: ReadonlyArray<{ topic: string; partition: number; offset: bigint }>): Promise<void> {
    const byTopic = new Map<string, Array<{ partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; committedMetadata: string | null }>>();
    for (const o of offsets) (byTopic.get(o.topic) ?? byTopic.set(o.topic, []).get(o.topic)!).push({ partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: -1, committedMetadata: '' });
    await this.withRetries('TxnOffsetCommit', async () => {
      const node = await this.findCoordinator(0, groupId);
      const res = await this.cluster.send(node, txnOffsetCommitApi, {
        transactionalId: this.transactionalId,
        groupId,
        producerId: pid,
        producerEpoch: epoch,
        generationIdOrMemberEpoch: -1,
        memberId: '',
        groupInstanceId: null,
        // v6+ names topics by id; earlier versions by name. Both are filled, the codec writes the one its version has.
        topics: await Promise.all([...byTopic].map(async ([name, partitions]) => ({ name, topicId: (await this.cluster.topic(name, this.config.maxBlockMs)).topicId, partitions }))),
      });
      for (const t of res.topics) for (const p of t.partitions) if (p.errorCode !== 0) return { errorCode: p.errorCode, context: `${t.name || t.topicId}-${p.partitionIndex}` };
      return { errorCode: 0 };
    });
  }

  async endTxn(pid: bigint, epoch: number, committed: boolean): Promise<void> {
    await this.toCoordinator(committed ? 'EndTxn(commit)' : 'EndTxn(abort)', (node) => this.cluster.send(node, endTxnApi, { transactionalId: this.transactionalId, producerId: pid, producerEpoch: epoch, committed }, { maxVersion: txnV1MaxVersions.endTxn }));
  }

  private async findCoordinator(keyType: number, key: string): Promise<number> {
    if (keyType === 1 && this.coordinator >= 0) return this.coordinator;
    const node = await this.cluster.findCoordinator(keyType, key);
    if (keyType === 1) this.coordinator = node;
    return node;
  }

  private toCoordinator<T extends { errorCode: number }>(what: string, op: (node: number) => Promise<T>): Promise<T> {
    return this.withRetries(what, async () => op(await this.findCoordinator(1, this.transactionalId)));
  }

  /** Runs `op` until it returns errorCode 0, retrying coordinator moves and retriable faults within maxBlockMs. */
  private async withRetries<T extends { errorCode: number; context?: string }>(what: string, op: () => Promise<T>): Promise<T> {
    const c = this.config;
    const deadline = Date.now() + c.maxBlockMs;
    for (let attempt = 0; ; attempt++) {
      let error: Error;
      try {
        const res = await op();
        if (res.errorCode === 0) return res;
        error = kafkaError(res.errorCode, `${what} for transactional id ${JSON.stringify(this.transactionalId)}${res.context ? ` (${res.context})` : ''}`);
        if (refindCodes.has(res.errorCode)) this.coordinator = -1;
        if (!refindCodes.has(res.errorCode) && !retryCodes.has(res.errorCode) && !(error as KafkaError).retriable) throw error;
      } catch (e) {
        if (!isRetriable(e) || this.cluster.isClosed) throw e;
        error = e as Error;
        if (!(e instanceof KafkaError)) this.coordinator = -1;
      }
      if (Date.now() >= deadline) throw new TimeoutError(what, c.maxBlockMs, { cause: error });
      await this.cluster.sleep(backoffMs(attempt, { initialMs: c.client.retryBackoffMs, maxMs: c.client.retryBackoffMaxMs, jitterRatio: c.client.backoffJitterRatio, random: c.client.random }));
    }
  }
}
