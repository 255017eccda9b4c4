// The transaction state machine on its own (Kafka's TransactionMetadataTest): which transitions
// are legal, what each does to the producer id and epoch, and that a pending transition blocks the
// next one. Plus the __transaction_state record layout round trip, and a model-based run over
// random operation sequences that checks the invariants after every step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrorCode } from '@fjord/protocol';
import { EPOCH_MAX, NO_PRODUCER_EPOCH, NO_PRODUCER_ID, TransactionMetadata, TxnInvariantError, tpKey, type TxnTransit } from './transaction-metadata.js';
import { readRecord, transitRecord } from './transaction-log.js';
import { TV_0, TV_2, validPreviousStates, type TxnStateName } from './transaction-state.js';

const T0 = 1_000_000;

function fresh(epoch = NO_PRODUCER_EPOCH, state: TxnStateName = 'Empty'): TransactionMetadata {
  const m = TransactionMetadata.fresh('tx', 7n, 60_000, T0);
  m.producerEpoch = epoch;
  m.state = state;
  return m;
}

function apply(m: TransactionMetadata, t: TxnTransit | number): TxnTransit {
  assert.notEqual(typeof t, 'number', `expected a transition, got error ${String(t)}`);
  m.completeTransitionTo(t as TxnTransit);
  return t as TxnTransit;
}

test('InitProducerId on a new id gives epoch 0; on a completed one the next epoch', () => {
  const m = fresh();
  apply(m, m.prepareIncrementProducerEpoch(60_000, undefined, T0));
  assert.deepEqual([m.state, m.producerId, m.producerEpoch, m.lastProducerEpoch], ['Empty', 7n, 0, NO_PRODUCER_EPOCH]);
  apply(m, m.prepareIncrementProducerEpoch(30_000, undefined, T0 + 1));
  assert.deepEqual([m.producerEpoch, m.txnTimeoutMs], [1, 30_000]);
});

test('KIP-360: the current epoch bumps and remembers it; the last epoch is a retry; any other is fenced', () => {
  const m = fresh(3);
  apply(m, m.prepareIncrementProducerEpoch(60_000, 3, T0));
  assert.deepEqual([m.producerEpoch, m.lastProducerEpoch], [4, 3]);
  // The producer never heard of epoch 4 and retries with 3: same epoch again, no bump.
  apply(m, m.prepareIncrementProducerEpoch(60_000, 3, T0));
  assert.deepEqual([m.producerEpoch, m.lastProducerEpoch], [4, 3]);
  assert.equal(m.prepareIncrementProducerEpoch(60_000, 1, T0), ErrorCode.PRODUCER_FENCED);
  assert.equal(m.pendingState, undefined, 'a fenced request leaves nothing pending');
});

test('an exhausted epoch cannot be incremented; rotation gives a new producer id at epoch 0', () => {
  const m = fresh(EPOCH_MAX - 1, 'CompleteCommit');
  m.txnStartTimestamp = T0;
  assert.equal(m.isProducerEpochExhausted, true);
  assert.throws(() => m.prepareIncrementProducerEpoch(60_000, undefined, T0), TxnInvariantError);
  apply(m, m.prepareProducerIdRotation(99n, 60_000, T0, true));
  assert.deepEqual([m.producerId, m.prevProducerId, m.producerEpoch, m.lastProducerEpoch, m.state], [99n, 7n, 0, EPOCH_MAX - 1, 'Empty']);
});

test('AddPartitions starts a transaction (start time) and only grows it', () => {
  const m = fresh(0);
  apply(m, m.prepareAddPartitions([tpKey('a', 0)], T0 + 5, TV_0));
  assert.deepEqual([m.state, m.txnStartTimestamp, [...m.topicPartitions]], ['Ongoing', T0 + 5, ['a:0']]);
  apply(m, m.prepareAddPartitions([tpKey('b', 1)], T0 + 9, TV_0));
  assert.deepEqual([m.txnStartTimestamp, [...m.topicPartitions].sort()], [T0 + 5, ['a:0', 'b:1']]);
});

test('commit: Ongoing -> PrepareCommit -> CompleteCommit clears the partitions; TV0 keeps the epoch', () => {
  const m = fresh(2);
  apply(m, m.prepareAddPartitions(['a:0'], T0, TV_0));
  apply(m, m.prepareAbortOrCommit('PrepareCommit', TV_0, NO_PRODUCER_ID, T0 + 1, false));
  assert.deepEqual([m.state, m.producerEpoch], ['PrepareCommit', 2]);
  m.removePartition('a:0');
  apply(m, m.prepareComplete(T0 + 2));
  assert.deepEqual([m.state, m.producerEpoch, m.topicPartitions.size, m.txnStartTimestamp], ['CompleteCommit', 2, 0, T0]);
});

test('TV2: prepare bumps the epoch; an exhausted epoch moves to the next producer id on completion', () => {
  const m = fresh(5);
  apply(m, m.prepareAddPartitions(['a:0'], T0, TV_2));
  apply(m, m.prepareAbortOrCommit('PrepareAbort', TV_2, NO_PRODUCER_ID, T0 + 1, false));
  assert.deepEqual([m.producerEpoch, m.lastProducerEpoch], [6, 5]);
  apply(m, m.prepareComplete(T0 + 2));
  assert.deepEqual([m.state, m.producerId, m.producerEpoch], ['CompleteAbort', 7n, 6]);

  const x = fresh(EPOCH_MAX - 2);
  apply(x, x.prepareAddPartitions(['a:0'], T0, TV_2));
  apply(x, x.prepareAbortOrCommit('PrepareCommit', TV_2, 42n, T0 + 1, false));
  assert.deepEqual([x.producerEpoch, x.nextProducerId], [EPOCH_MAX - 1, 42n]);
  apply(x, x.prepareComplete(T0 + 2));
  assert.deepEqual([x.producerId, x.producerEpoch, x.prevProducerId, x.nextProducerId], [42n, 0, 7n, NO_PRODUCER_ID]);
});

test('TV2 may abort from Empty or a completed state (no partitions, start time = now)', () => {
  const m = fresh(1);
  apply(m, m.prepareAbortOrCommit('PrepareAbort', TV_2, NO_PRODUCER_ID, T0 + 3, true));
  assert.deepEqual([m.state, m.producerEpoch, m.txnStartTimestamp], ['PrepareAbort', 2, T0 + 3]);
  // TV0 may not: the transition is refused as illegal.
  const n = fresh(1);
  assert.throws(() => n.prepareAbortOrCommit('PrepareCommit', TV_0, NO_PRODUCER_ID, T0, false), TxnInvariantError);
});

test('fencing bumps the epoch once, not again after a fence that was not stored, never past the maximum', () => {
  const m = fresh(4, 'Ongoing');
  assert.equal(m.prepareFenceProducerEpoch().producerEpoch, 5);
  m.pendingState = undefined;
  m.hasFailedEpochFence = true;
  assert.equal(m.prepareFenceProducerEpoch().producerEpoch, 4);
  const top = fresh(EPOCH_MAX, 'Ongoing');
  assert.equal(top.prepareFenceProducerEpoch().producerEpoch, EPOCH_MAX);
  // A fence is never completed: it always turns into PrepareAbort first.
  const f = fresh(1, 'Ongoing');
  const t = f.prepareFenceProducerEpoch();
  assert.throws(() => f.completeTransitionTo(t), TxnInvariantError);
});

test('a pending transition blocks the next one; completing the wrong one is an invariant failure', () => {
  const m = fresh(0);
  const t = m.prepareAddPartitions(['a:0'], T0, TV_0);
  assert.equal(m.pendingTransitionInProgress, true);
  assert.throws(() => m.prepareAddPartitions(['b:0'], T0, TV_0), TxnInvariantError);
  assert.throws(() => m.completeTransitionTo({ ...t, state: 'Empty' }), TxnInvariantError);
  m.completeTransitionTo(t);
  assert.throws(() => m.completeTransitionTo(t), TxnInvariantError, 'nothing pending any more');
});

test('removing a partition outside PrepareCommit/PrepareAbort is an invariant failure', () => {
  const m = fresh(0);
  apply(m, m.prepareAddPartitions(['a:0'], T0, TV_0));
  assert.throws(() => m.removePartition('a:0'), TxnInvariantError);
});

test('Dead only from Empty or completed states, and never completed', () => {
  for (const s of ['Ongoing', 'PrepareCommit', 'PrepareAbort'] as const) {
    assert.throws(() => fresh(0, s).prepareDead(), TxnInvariantError, s);
  }
  const m = fresh(0, 'CompleteAbort');
  const t = m.prepareDead();
  assert.throws(() => m.completeTransitionTo(t), TxnInvariantError);
});

test('the legal transitions are Kafka\'s', () => {
  assert.deepEqual([...validPreviousStates.PrepareCommit], ['Ongoing']);
  assert.deepEqual([...validPreviousStates.CompleteAbort], ['PrepareAbort']);
  assert.deepEqual([...validPreviousStates.PrepareEpochFence], ['Ongoing']);
  assert.deepEqual([...validPreviousStates.PrepareAbort].sort(), ['CompleteAbort', 'CompleteCommit', 'Empty', 'Ongoing', 'PrepareEpochFence']);
});

test('__transaction_state records round-trip at value versions 0 and 1 (the last epoch is not stored)', () => {
  const m = fresh(3);
  const t = m.prepareAddPartitions(['orders:0', 'orders:2', '__consumer_offsets:17'], T0, TV_2);
  for (const tv of [0, 1, 2]) {
    const rec = transitRecord('tx', t, tv);
    assert.equal(rec.key.readInt16BE(0), 0);
    assert.equal(rec.value!.readInt16BE(0), tv >= 1 ? 1 : 0);
    const back = readRecord(rec.key, rec.value)!;
    assert.equal(back.transactionalId, 'tx');
    const b = back.metadata!;
    assert.deepEqual(
      [b.state, b.producerId, b.producerEpoch, b.lastProducerEpoch, b.txnTimeoutMs, b.txnStartTimestamp, [...b.topicPartitions].sort()],
      ['Ongoing', 7n, 3, NO_PRODUCER_EPOCH, 60_000, T0, ['__consumer_offsets:17', 'orders:0', 'orders:2']],
    );
    // v0 cannot hold the client's transaction version nor the previous producer id.
    assert.deepEqual([b.clientTransactionVersion, b.prevProducerId], tv >= 1 ? [TV_2, 7n] : [0, -1n]);
  }
  assert.equal(readRecord(transitRecord('tx', t, 1).key, null)!.metadata, undefined, 'tombstone');
});

/**
 * Model: random sequences of client operations against one id, with every prepared transition
 * completed (as if durable) or dropped (as if the write failed). After each step: the epoch never
 * decreases for one producer id, an id in Empty/Complete* has no partitions, Ongoing has some, and
 * nothing is left pending.
 */
test('model: random operation sequences keep the invariants', () => {
  type Op = { kind: 'init' | 'add' | 'commit' | 'abort' | 'fence'; tv: number; ok: boolean; p: number };
  const op = fc.record({
    kind: fc.constantFrom('init', 'add', 'commit', 'abort', 'fence'),
    tv: fc.constantFrom(TV_0, TV_2),
    ok: fc.boolean(),
    p: fc.integer({ min: 0, max: 3 }),
  }) as fc.Arbitrary<Op>;
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const m = fresh();
      let now = T0;
      let nextPid = 100n;
      for (const o of ops) {
        now += 10;
        const before = { pid: m.producerId, epoch: m.producerEpoch };
        let t: TxnTransit | number | undefined;
        const s = m.state;
        if (o.kind === 'init') {
          if (s === 'Empty' || s === 'CompleteCommit' || s === 'CompleteAbort') {
            t = m.isProducerEpochExhausted ? m.prepareProducerIdRotation(nextPid++, 60_000, now, false) : m.prepareIncrementProducerEpoch(60_000, undefined, now);
          }
        } else if (m.producerEpoch < 0) {
          continue;
        } else if (o.kind === 'add') {
          if (s !== 'PrepareCommit' && s !== 'PrepareAbort') t = m.prepareAddPartitions([tpKey('t', o.p)], now, o.tv);
        } else if (o.kind === 'fence') {
          if (s === 'Ongoing') {
            const f = m.prepareFenceProducerEpoch();
            m.pendingState = undefined;
            m.producerEpoch = f.producerEpoch;
            t = m.prepareAbortOrCommit('PrepareAbort', TV_0, NO_PRODUCER_ID, now, false);
          }
        } else if (s === 'Ongoing' && !(o.tv === TV_2 && m.isProducerEpochExhausted)) {
          t = m.prepareAbortOrCommit(o.kind === 'commit' ? 'PrepareCommit' : 'PrepareAbort', o.tv, NO_PRODUCER_ID, now, false);
        }
        if (t === undefined || typeof t === 'number') continue;
        if (!o.ok) {
          m.pendingState = undefined;
          continue;
        }
        m.completeTransitionTo(t);
        if (m.state === 'PrepareCommit' || m.state === 'PrepareAbort') {
          for (const k of [...m.topicPartitions]) m.removePartition(k);
          m.completeTransitionTo(m.prepareComplete(now));
        }
        if (m.producerId === before.pid) assert.ok(m.producerEpoch >= before.epoch, `epoch went back ${before.epoch} -> ${m.producerEpoch}`);
        assert.ok(m.producerEpoch <= EPOCH_MAX);
        if (m.state === 'Ongoing') assert.ok(m.topicPartitions.size > 0);
        else assert.equal(m.topicPartitions.size, 0, m.state);
        assert.equal(m.pendingState, undefined);
      }
    }),
    { numRuns: 300 },
  );
});
