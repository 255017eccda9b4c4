// Imported for its effect, before kafkajs itself: replaces KafkaJS 2.2.4's read_committed filter
// (src/consumer/filterAbortedMessages.js) with the Java consumer's algorithm.
//
// Why: a Fetch answer lists the aborted transactions in the order of their abort markers (Kafka's
// transaction index; Fjord answers the same), not by first offset; the Java client and librdkafka
// sort them by first offset and, before each transactional batch, start ignoring every producer
// whose aborted transaction begins at or before the batch's last offset. KafkaJS looks only at the
// head of the list as given and starts ignoring at most one producer per record, so when aborted
// transactions interleave (one left open across a crash until its producer's successor fences it,
// while other producers commit and abort around it) it hands aborted records to the application.
// The exactly-once crash test found this (eos-crash.test.ts); with the stock filter its KafkaJS
// reader reports aborted reads that the broker's answer does not contain. The rest of KafkaJS's
// consumer (fetching, control records, groups, offsets) is used as shipped.
// FJORD_EOS_KAFKAJS_STOCK_FILTER=1 keeps KafkaJS's own filter, to see the difference.
import { createRequire } from 'node:module';

interface AbortedTransaction {
  producerId: string;
  firstOffset: string;
}

interface KafkaJsMessage {
  key: Buffer | null;
  isControlRecord?: boolean;
  batchContext: { producerId: string; inTransaction: boolean; isControlBatch: boolean; firstOffset: string; lastOffsetDelta: number };
}

const abortMarkerKey = Buffer.from([0, 0, 0, 0]);

export function filterAbortedMessagesJavaOrder<M extends KafkaJsMessage>({ messages, abortedTransactions }: { messages: M[]; abortedTransactions?: AbortedTransaction[] | null }): M[] {
  if (!abortedTransactions || abortedTransactions.length === 0) return messages;
  const pending = [...abortedTransactions].sort((a, b) => (BigInt(a.firstOffset) < BigInt(b.firstOffset) ? -1 : BigInt(a.firstOffset) > BigInt(b.firstOffset) ? 1 : 0));
  const abortedProducers = new Set<string>();
  return messages.filter((m) => {
    const { producerId, inTransaction, isControlBatch, firstOffset, lastOffsetDelta } = m.batchContext;
    if (!inTransaction) return true;
    const batchLastOffset = BigInt(firstOffset) + BigInt(lastOffsetDelta);
    while (pending.length > 0 && BigInt(pending[0]!.firstOffset) <= batchLastOffset) abortedProducers.add(String(pending.shift()!.producerId));
    if (isControlBatch) {
      // An abort marker ends the producer's aborted transaction; control records are dropped later.
      if (m.key && Buffer.from(m.key).equals(abortMarkerKey)) abortedProducers.delete(String(producerId));
      return true;
    }
    return !abortedProducers.has(String(producerId));
  });
}

if (process.env['FJORD_EOS_KAFKAJS_STOCK_FILTER'] !== '1') {
  const require = createRequire(import.meta.url);
  const path = require.resolve('kafkajs/src/consumer/filterAbortedMessages.js');
  require(path);
  const cached = require.cache[path];
  if (!cached) throw new Error(`kafkajs-aborted-order: ${path} is not in the module cache`);
  cached.exports = filterAbortedMessagesJavaOrder;
}
