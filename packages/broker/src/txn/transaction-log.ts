/**
 * __transaction_state, in Kafka's own layout so Kafka's tools decode it
 * (kafka-dump-log --transaction-log-decoder, TransactionLogMessageFormatter):
 *   key   = int16 version 0 followed by TransactionLogKey (the transactional id);
 *   value = int16 version (0, or 1 from transaction.version 1: flexible, with the previous/next
 *           producer ids and the client's transaction version) followed by TransactionLogValue,
 *           or null: a tombstone for an expired transactional id.
 * One record per state change; the topic is compacted, so the newest record per id is its state.
 */
import { DecodeError, Reader, TransactionLogKey, TransactionLogValue, Writer } from '@fjord/protocol';
import type { InternalTopicSpec } from '../group/internal-topic.js';
import type { CoordinatorRecord } from '../group/records.js';
import { NO_PRODUCER_EPOCH, splitTpKey, tpKey, TransactionMetadata, type TxnTransit } from './transaction-metadata.js';
import { TV_1, txnStateFromId } from './transaction-state.js';

export const TRANSACTION_STATE_TOPIC = '__transaction_state';

export const transactionStateTopicSpec: InternalTopicSpec = {
  name: TRANSACTION_STATE_TOPIC,
  partitionsConfig: 'transaction.state.log.num.partitions',
  replicationConfig: 'transaction.state.log.replication.factor',
  // Kafka's TransactionStateManager.transactionTopicConfigs.
  topicConfigs: (cfg) => ({
    'cleanup.policy': 'compact',
    'compression.type': 'uncompressed',
    'unclean.leader.election.enable': 'false',
    'min.insync.replicas': String(cfg.getInt('transaction.state.log.min.isr')),
    'segment.bytes': String(cfg.getInt('transaction.state.log.segment.bytes')),
  }),
};

export function keyToBytes(transactionalId: string): Buffer {
  const w = new Writer(32);
  w.writeInt16(0);
  TransactionLogKey.encode(w, { transactionalId }, 0);
  return w.toBuffer();
}

/** The value Kafka's TransactionLog.valueToBytes writes for a transition, at the transaction.version's value version. */
export function valueToBytes(t: TxnTransit, transactionVersionLevel: number): Buffer {
  if (t.state === 'Empty' && t.topicPartitions.size > 0) throw new Error(`an Empty transaction has no partitions: ${[...t.topicPartitions].join(',')}`);
  let partitions: Array<{ topic: string; partitionIds: number[] }> | null = null;
  if (t.state !== 'Empty') {
    const byTopic = new Map<string, number[]>();
    for (const k of t.topicPartitions) {
      const { topic, partition } = splitTpKey(k);
      const list = byTopic.get(topic);
      if (list) list.push(partition);
      else byTopic.set(topic, [partition]);
    }
    partitions = [...byTopic].map(([topic, partitionIds]) => ({ topic, partitionIds }));
  }
  const version = transactionVersionLevel >= TV_1 ? 1 : 0;
  const w = new Writer(128);
  w.writeInt16(version);
  TransactionLogValue.encode(
    w,
    {
      producerId: t.producerId,
      producerEpoch: t.producerEpoch,
      transactionTimeoutMs: t.txnTimeoutMs,
      transactionStatus: stateId(t),
      transactionPartitions: partitions,
      transactionLastUpdateTimestampMs: BigInt(t.txnLastUpdateTimestamp),
      transactionStartTimestampMs: BigInt(t.txnStartTimestamp),
      // Tagged fields of v1; version 0 cannot hold them (they read back as their defaults).
      ...(version >= 1
        ? { previousProducerId: t.prevProducerId, nextProducerId: t.nextProducerId, nextProducerEpoch: -1, clientTransactionVersion: t.clientTransactionVersion }
        : { previousProducerId: -1n, nextProducerId: -1n, nextProducerEpoch: -1, clientTransactionVersion: 0 }),
    },
    version,
  );
  return w.toBuffer();
}

function stateId(t: TxnTransit): number {
  const ids = { Empty: 0, Ongoing: 1, PrepareCommit: 2, PrepareAbort: 3, CompleteCommit: 4, CompleteAbort: 5, Dead: 6, PrepareEpochFence: 7 } as const;
  return ids[t.state];
}

export function transitRecord(transactionalId: string, t: TxnTransit, transactionVersionLevel: number): CoordinatorRecord {
  return { key: keyToBytes(transactionalId), value: valueToBytes(t, transactionVersionLevel) };
}

export function tombstone(transactionalId: string): CoordinatorRecord {
  return { key: keyToBytes(transactionalId), value: null };
}

export interface ReadRecord {
  transactionalId: string;
  /** undefined for a tombstone: the id was removed. */
  metadata: TransactionMetadata | undefined;
}

/**
 * Reads a record back (Kafka's TransactionLog.readTxnRecordKey/readTxnRecordValue). The last epoch
 * is not stored, so it comes back as -1, as in Kafka. Returns undefined for a key version this
 * broker does not know (a newer broker's record, skipped as Kafka skips unknown versions); throws
 * DecodeError for bytes that do not parse or a state id that does not exist.
 */
export function readRecord(key: Buffer | null, value: Buffer | null): ReadRecord | undefined {
  if (key === null || key.length < 2) throw new DecodeError('__transaction_state record without a key', 0);
  const keyVersion = key.readInt16BE(0);
  if (keyVersion !== 0) return undefined;
  const { transactionalId } = TransactionLogKey.decode(new Reader(key, 2), 0);
  if (value === null) return { transactionalId, metadata: undefined };
  if (value.length < 2) throw new DecodeError('__transaction_state value shorter than its version', 0);
  const version = value.readInt16BE(0);
  if (version < 0) throw new DecodeError(`TransactionLogValue version ${version} is invalid`, 0);
  // A newer version is read as the newest known one: fields Kafka adds must be tagged (KIP-915).
  const v = TransactionLogValue.decode(new Reader(value, 2), Math.min(version, TransactionLogValue.maxVersion));
  const state = txnStateFromId(v.transactionStatus);
  if (state === undefined) throw new DecodeError(`unknown transaction state id ${v.transactionStatus}`, 0);
  const partitions: string[] = [];
  for (const p of v.transactionPartitions ?? []) for (const id of p.partitionIds) partitions.push(tpKey(p.topic, id));
  return {
    transactionalId,
    metadata: new TransactionMetadata({
      transactionalId,
      producerId: v.producerId,
      prevProducerId: v.previousProducerId,
      nextProducerId: v.nextProducerId,
      producerEpoch: v.producerEpoch,
      lastProducerEpoch: NO_PRODUCER_EPOCH,
      txnTimeoutMs: v.transactionTimeoutMs,
      state,
      topicPartitions: partitions,
      txnStartTimestamp: Number(v.transactionStartTimestampMs),
      txnLastUpdateTimestamp: Number(v.transactionLastUpdateTimestampMs),
      clientTransactionVersion: v.clientTransactionVersion,
    }),
  };
}
