// Regression test for the KafkaJS reader of eos-crash.test.ts reading aborted records (seed 344840):
// the Fetch answer at eos-b-0 offset 1177 listed the aborted transactions in abort-marker order
// (as Kafka does), "pid 1 first 1187, ..., pid 3 first 1178"; KafkaJS's own filter then let pid 3's
// record at 1178 through. The batches below are the first ones of that answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { filterAbortedMessagesJavaOrder } from './kafkajs-aborted-order.js';

const require = createRequire(import.meta.url);

interface Msg {
  offset: string;
  key: Buffer | null;
  isControlRecord: boolean;
  batchContext: { producerId: string; inTransaction: boolean; isControlBatch: boolean; firstOffset: string; lastOffsetDelta: number };
}

const commit = Buffer.from([0, 0, 0, 1]);
const abort = Buffer.from([0, 0, 0, 0]);
const rec = (offset: number, pid: number): Msg => ({ offset: String(offset), key: null, isControlRecord: false, batchContext: { producerId: String(pid), inTransaction: true, isControlBatch: false, firstOffset: String(offset), lastOffsetDelta: 0 } });
const marker = (offset: number, pid: number, key: Buffer): Msg => ({ offset: String(offset), key, isControlRecord: true, batchContext: { producerId: String(pid), inTransaction: true, isControlBatch: true, firstOffset: String(offset), lastOffsetDelta: 0 } });

// eos-b-0 from 1177: pid 3's transaction (first 1178) was aborted only after pid 1's (first 1187).
const messages = [marker(1177, 1, commit), rec(1178, 3), rec(1179, 1), rec(1180, 2), marker(1181, 2, commit), marker(1182, 1, commit), rec(1187, 1), marker(1188, 1, abort), rec(1189, 1), marker(1192, 1, commit)];
const abortedTransactions = [
  { producerId: '1', firstOffset: '1187' },
  { producerId: '3', firstOffset: '1178' },
];
const delivered = (ms: Msg[]): string[] => ms.filter((m) => !m.isControlRecord).map((m) => m.offset);

test("KafkaJS's own filter lets an aborted record through when the list is in abort order (why it is replaced)", () => {
  // This process may have patched the module already: load KafkaJS's source afresh.
  const path = require.resolve('kafkajs/src/consumer/filterAbortedMessages.js');
  const saved = require.cache[path];
  delete require.cache[path];
  const original = require(path) as (a: { messages: Msg[]; abortedTransactions: typeof abortedTransactions }) => Msg[];
  if (saved) require.cache[path] = saved;
  assert.deepEqual(delivered(original({ messages, abortedTransactions })), ['1178', '1179', '1180', '1189']);
});

test('the Java-order filter drops both aborted transactions', () => {
  assert.deepEqual(delivered(filterAbortedMessagesJavaOrder({ messages, abortedTransactions })), ['1179', '1180', '1189']);
});

test("KafkaJS's Batch uses the replacement once kafkajs-aborted-order is imported", async () => {
  await import('./kafkajs-aborted-order.js');
  const Batch = require('kafkajs/src/consumer/batch.js') as new (topic: string, fetchedOffset: string, data: unknown) => { messages: Msg[] };
  const b = new Batch('eos-b', '1177', { partition: 0, highWatermark: '4422', abortedTransactions, messages });
  assert.deepEqual(delivered(b.messages), ['1179', '1180', '1189']);
});
