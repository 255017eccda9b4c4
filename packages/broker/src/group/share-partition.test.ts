// SharePartition state transitions with a controlled clock and scheduler: acquire, accept,
// release, reject, gaps, lock timeout, the delivery count limit, the SPSO, the in-flight limit,
// persisted state (written before an acknowledgement resolves, rolled back when the write fails,
// and what a restart rebuilds from it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '@fjord/protocol';
import { AcknowledgeType as A, RecordState as S, SharePartition, type LogBatch, type SharePartitionHost, type StateBatch } from './share-partition.js';

interface Harness {
  sp: SharePartition;
  host: SharePartitionHost;
  writes: Array<{ startOffset: bigint; batches: StateBatch[] }>;
  advance(ms: number): void;
  failWrites: boolean;
  changed: number;
}

function harness(opts: { limit?: number; lockMs?: number; maxLocks?: number; start?: bigint; persisted?: StateBatch[] } = {}): Harness {
  let now = 1_000;
  let timers: Array<{ at: number; fn: () => void; live: boolean }> = [];
  const h = {
    writes: [] as Harness['writes'],
    failWrites: false,
    changed: 0,
    advance(ms: number) {
      now += ms;
      for (;;) {
        const due = timers.filter((t) => t.live && t.at <= now).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        due.live = false;
        due.fn();
      }
      timers = timers.filter((t) => t.live);
    },
  } as Harness;
  h.host = {
    now: () => now,
    schedule(delayMs, fn) {
      const t = { at: now + delayMs, fn, live: true };
      timers.push(t);
      return () => {
        t.live = false;
      };
    },
    deliveryCountLimit: () => opts.limit ?? 3,
    lockDurationMs: () => opts.lockMs ?? 1_000,
    maxInFlightRecords: () => opts.maxLocks ?? 200,
    persist: async (startOffset, batches) => {
      if (h.failWrites) throw Object.assign(new Error('disk says no'), { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE });
      h.writes.push({ startOffset, batches });
    },
    changed: () => {
      h.changed++;
    },
    warn: () => {},
  };
  h.sp = new SharePartition(h.host, opts.start ?? 0n, opts.persisted ?? []);
  return h;
}

/** Log batches of `size` records from `from` up to (not including) `to`. */
function log(from: number, to: number, size = 5): LogBatch[] {
  const out: LogBatch[] = [];
  for (let b = from; b < to; b += size) out.push({ baseOffset: BigInt(b), lastOffset: BigInt(Math.min(b + size, to) - 1) });
  return out;
}

function fetch(h: Harness, member: string, maxRecords: number, hw: number, batchSize = 5): Array<[number, number, number]> {
  const from = Number(h.sp.nextFetchOffset());
  if (from >= hw) return [];
  // What the log returns: whole batches from the one holding `from` to the high watermark.
  const read = log(Math.floor(from / batchSize) * batchSize, hw, batchSize);
  return h.sp.acquire(member, maxRecords, BigInt(from), read).map((r) => [Number(r.firstOffset), Number(r.lastOffset), r.deliveryCount]);
}

const ack = (first: number, last: number, ...types: number[]) => ({ firstOffset: BigInt(first), lastOffset: BigInt(last), acknowledgeTypes: types });

test('acquire takes whole log batches; a second member gets the next records, never the same ones', () => {
  const h = harness();
  assert.deepEqual(fetch(h, 'm1', 7, 20), [[0, 9, 1]]); // 7 rounded up to the end of batch 5-9
  assert.deepEqual(fetch(h, 'm2', 100, 20), [[10, 19, 1]]);
  assert.deepEqual(fetch(h, 'm1', 100, 20), [], 'nothing left to acquire');
  assert.equal(h.sp.startOffset, 0n);
  assert.equal(h.sp.endOffset, 20n);
});

test('accept moves the SPSO once durable; accepted records are never delivered again', async () => {
  const h = harness();
  fetch(h, 'm1', 10, 10);
  const r = await h.sp.acknowledge('m1', [ack(0, 9, A.ACCEPT)]);
  assert.deepEqual(r, { errorCode: 0, errorMessage: null });
  assert.deepEqual(h.writes, [{ startOffset: 0n, batches: [{ firstOffset: 0n, lastOffset: 9n, deliveryState: S.ACKNOWLEDGED, deliveryCount: 1 }] }]);
  assert.equal(h.sp.startOffset, 10n);
  assert.deepEqual(fetch(h, 'm2', 10, 10), []);
  h.advance(10_000);
  assert.deepEqual(fetch(h, 'm2', 10, 10), [], 'no lock to time out');
});

test('release makes records available again with the delivery count incremented on the next acquisition', async () => {
  const h = harness();
  fetch(h, 'm1', 10, 10);
  assert.equal((await h.sp.acknowledge('m1', [ack(0, 9, A.RELEASE)])).errorCode, 0);
  assert.equal(h.sp.startOffset, 0n);
  assert.deepEqual(fetch(h, 'm2', 10, 10), [[0, 9, 2]]);
});

test('reject and gap archive; per-offset acknowledgements split the batch', async () => {
  const h = harness();
  fetch(h, 'm1', 10, 10);
  const r = await h.sp.acknowledge('m1', [ack(0, 4, A.ACCEPT, A.REJECT, A.GAP, A.RELEASE, A.ACCEPT), ack(5, 9, A.ACCEPT)]);
  assert.equal(r.errorCode, 0);
  assert.equal(h.sp.startOffset, 3n, 'SPSO stops at the released offset');
  assert.deepEqual(
    h.writes[0]!.batches.map((b) => [Number(b.firstOffset), Number(b.lastOffset), b.deliveryState]),
    [
      [0, 0, S.ACKNOWLEDGED],
      [1, 2, S.ARCHIVED],
      [3, 3, S.AVAILABLE],
      [4, 9, S.ACKNOWLEDGED],
    ],
  );
  assert.deepEqual(fetch(h, 'm2', 10, 10), [[3, 3, 2]]);
  assert.equal((await h.sp.acknowledge('m2', [ack(3, 3, A.ACCEPT)])).errorCode, 0);
  assert.equal(h.sp.startOffset, 10n);
  assert.equal(h.sp.inFlight().length, 0);
});

test('only the member holding the lock may acknowledge, and only acquired records', async () => {
  const h = harness();
  fetch(h, 'm1', 10, 10);
  assert.equal((await h.sp.acknowledge('m2', [ack(0, 9, A.ACCEPT)])).errorCode, ErrorCode.INVALID_RECORD_STATE);
  assert.equal((await h.sp.acknowledge('m1', [ack(0, 9, A.ACCEPT)])).errorCode, 0);
  assert.equal((await h.sp.acknowledge('m1', [ack(5, 9, A.ACCEPT)])).errorCode, 0, 'behind the SPSO: already final, ignored');
  fetch(h, 'm1', 5, 20);
  assert.equal((await h.sp.acknowledge('m1', [ack(10, 25, A.ACCEPT)])).errorCode, ErrorCode.INVALID_REQUEST, 'past the acquired records');
  assert.equal(h.writes.length, 1, 'failed acknowledgements write nothing');
});

test('a failed acknowledgement changes nothing: all offsets of the request or none', async () => {
  const h = harness();
  fetch(h, 'm1', 5, 10);
  fetch(h, 'm2', 5, 10);
  const r = await h.sp.acknowledge('m1', [ack(0, 4, A.ACCEPT), ack(5, 9, A.ACCEPT)]);
  assert.equal(r.errorCode, ErrorCode.INVALID_RECORD_STATE);
  assert.equal(h.sp.startOffset, 0n);
  assert.equal((await h.sp.acknowledge('m1', [ack(0, 4, A.ACCEPT)])).errorCode, 0, 'the first batch was not consumed by the failed request');
});

test('a write that fails rolls the records back to acquired', async () => {
  const h = harness();
  fetch(h, 'm1', 10, 10);
  h.failWrites = true;
  const r = await h.sp.acknowledge('m1', [ack(0, 9, A.ACCEPT)]);
  assert.equal(r.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
  assert.equal(h.sp.startOffset, 0n);
  h.failWrites = false;
  assert.equal((await h.sp.acknowledge('m1', [ack(0, 9, A.ACCEPT)])).errorCode, 0);
  assert.equal(h.sp.startOffset, 10n);
});

test('records are not acquirable while their release is being written', async () => {
  const h = harness();
  fetch(h, 'm1', 10, 10);
  let finish!: () => void;
  h.host.persist = () => new Promise<void>((r) => (finish = r));
  const pending = h.sp.acknowledge('m1', [ack(0, 9, A.RELEASE)]);
  assert.deepEqual(fetch(h, 'm2', 10, 10), [], 'pending release');
  finish();
  await pending;
  assert.deepEqual(fetch(h, 'm2', 10, 10), [[0, 9, 2]]);
});

test('lock timeout releases with the count kept, then archives at group.share.delivery.count.limit', async () => {
  const h = harness({ limit: 3, lockMs: 1_000 });
  assert.deepEqual(fetch(h, 'm1', 10, 10), [[0, 9, 1]]);
  h.advance(999);
  assert.deepEqual(fetch(h, 'm2', 10, 10), [], 'still locked');
  h.advance(1);
  assert.ok(h.changed > 0, 'waiting fetches are woken');
  assert.deepEqual(h.writes.at(-1)!.batches, [{ firstOffset: 0n, lastOffset: 9n, deliveryState: S.AVAILABLE, deliveryCount: 1 }]);
  assert.deepEqual(fetch(h, 'm2', 10, 10), [[0, 9, 2]]);
  h.advance(1_000);
  assert.deepEqual(fetch(h, 'm1', 10, 10), [[0, 9, 3]]);
  h.advance(1_000);
  assert.deepEqual(h.writes.at(-1)!.batches, [{ firstOffset: 0n, lastOffset: 9n, deliveryState: S.ARCHIVED, deliveryCount: 3 }]);
  assert.equal(h.sp.startOffset, 10n, 'archived records are done');
  assert.deepEqual(fetch(h, 'm1', 10, 10), []);
});

test('a release at the delivery limit archives, and an acknowledgement after the lock ran out fails', async () => {
  const h = harness({ limit: 2 });
  fetch(h, 'm1', 10, 10);
  await h.sp.acknowledge('m1', [ack(0, 9, A.RELEASE)]);
  fetch(h, 'm1', 10, 10);
  await h.sp.acknowledge('m1', [ack(0, 9, A.RELEASE)]);
  assert.equal(h.sp.startOffset, 10n);
  fetch(h, 'm1', 10, 20);
  h.advance(1_000);
  assert.equal((await h.sp.acknowledge('m1', [ack(10, 19, A.ACCEPT)])).errorCode, ErrorCode.INVALID_RECORD_STATE);
});

test('renew extends the lock without a write', async () => {
  const h = harness({ lockMs: 1_000 });
  fetch(h, 'm1', 10, 10);
  h.advance(800);
  assert.equal((await h.sp.acknowledge('m1', [ack(0, 9, A.RENEW)])).errorCode, 0);
  assert.equal(h.writes.length, 0);
  h.advance(800);
  assert.equal((await h.sp.acknowledge('m1', [ack(0, 9, A.ACCEPT)])).errorCode, 0, 'still held');
});

test('releasing a member (session closed) keeps delivery counts and frees only its records', async () => {
  const h = harness();
  fetch(h, 'm1', 5, 10);
  fetch(h, 'm2', 5, 10);
  assert.equal((await h.sp.releaseAcquired('m1')).errorCode, 0);
  assert.deepEqual(fetch(h, 'm3', 10, 10), [[0, 4, 2]]);
  assert.equal((await h.sp.acknowledge('m2', [ack(5, 9, A.ACCEPT)])).errorCode, 0);
});

test('group.share.partition.max.record.locks bounds new acquisitions', async () => {
  const h = harness({ maxLocks: 10 });
  assert.deepEqual(fetch(h, 'm1', 100, 50), [[0, 9, 1]]);
  assert.equal(h.sp.canAcquire(), false);
  assert.deepEqual(fetch(h, 'm2', 100, 50), []);
  await h.sp.acknowledge('m1', [ack(0, 4, A.ACCEPT)]);
  assert.equal(h.sp.canAcquire(), true);
  assert.deepEqual(fetch(h, 'm2', 100, 50), [[10, 14, 1]]);
});

test('strict mode and batch size: exact record limits and smaller in-flight batches', () => {
  const h = harness();
  const read = log(0, 20, 10);
  assert.deepEqual(
    h.sp.acquire('m1', 7, 0n, read, { strict: true, batchSize: 3 }).map((r) => [Number(r.firstOffset), Number(r.lastOffset)]),
    [
      [0, 2],
      [3, 5],
      [6, 6],
    ],
  );
  assert.equal(h.sp.endOffset, 7n);
});

test('a restart rebuilds from persisted state; acquired-but-unpersisted offsets are available again', async () => {
  const h = harness();
  fetch(h, 'm1', 5, 15);
  fetch(h, 'm2', 5, 15);
  fetch(h, 'm3', 5, 15);
  await h.sp.acknowledge('m2', [ack(5, 9, A.ACCEPT)]);
  await h.sp.acknowledge('m3', [ack(10, 14, A.RELEASE)]);
  // The state as the share coordinator merged it: SPSO 0, 5-9 acknowledged, 10-14 available.
  const persisted: StateBatch[] = [
    { firstOffset: 5n, lastOffset: 9n, deliveryState: S.ACKNOWLEDGED, deliveryCount: 1 },
    { firstOffset: 10n, lastOffset: 14n, deliveryState: S.AVAILABLE, deliveryCount: 1 },
  ];
  const again = harness({ start: h.writes.at(-1)!.startOffset, persisted });
  assert.deepEqual(fetch(again, 'x', 100, 15), [
    [0, 4, 1],
    [10, 14, 2],
  ]);
  assert.equal(again.sp.endOffset, 15n);
  await again.sp.acknowledge('x', [ack(0, 4, A.ACCEPT), ack(10, 14, A.ACCEPT)]);
  assert.equal(again.sp.startOffset, 15n);
});

test('the log start offset moving archives available records before it', () => {
  const h = harness({ persisted: [{ firstOffset: 0n, lastOffset: 9n, deliveryState: S.AVAILABLE, deliveryCount: 1 }] });
  h.sp.onLogStartOffset(6n);
  assert.equal(h.sp.startOffset, 6n);
  assert.deepEqual(fetch(h, 'm1', 100, 10), [[6, 9, 2]]);
});
