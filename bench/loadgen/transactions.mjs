/**
 * Exactly-once producers on the wire (issue 4), as the Java producer drives them:
 *
 * - idempotent: acks=all produce with a producer id (InitProducerId without a transactional id),
 *   its epoch and a sequence number per partition in every batch, against the same workload without
 *   them (`plain`). Both modes run the same client code: every batch is copied from a pool of
 *   random-value batches, stamped (producer id, epoch, base sequence; -1s when plain) and its CRC
 *   recomputed (one native pass), so the two figures differ only by what the broker does with a
 *   producer id. 5 requests in flight, the most an idempotent producer may have (Kafka keeps the
 *   last 5 batches per producer to answer duplicates).
 * - txn: `producers` transactional producers, each on its own connection with its own
 *   transactional.id: FindCoordinator (key type 1) and InitProducerId once, then per transaction
 *   AddPartitionsToTxn v3 (`partitionsPerTxn` partitions), one Produce with a transactional batch per
 *   partition (`recordsPerTxn` records in all, sequence numbers per partition), EndTxn(commit); each
 *   step waits for the previous answer, as the Java client does. CONCURRENT_TRANSACTIONS (the
 *   previous transaction's markers are still being written) is retried after 1 ms, and counted.
 *   Optionally paced to `rate` transactions/s over all producers (each producer starts one every
 *   producers/rate seconds, or at once when the previous one ran late: the start lag). Latency =
 *   AddPartitionsToTxn sent to EndTxn answered. Afterwards ListOffsets checks the log: every partition's last stable offset
 *   equals its high watermark, and the high watermarks add up to the records plus one marker per
 *   partition per committed transaction.
 *
 * Bounded by a count and a time; every request by the connection's request timeout.
 */
import {
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnResponse,
  BASE_SEQUENCE_OFFSET,
  CRC_OFFSET,
  EndTxnRequest,
  EndTxnResponse,
  ErrorCode,
  FindCoordinatorRequest,
  FindCoordinatorResponse,
  InitProducerIdRequest,
  InitProducerIdResponse,
  ListOffsetsRequest,
  ListOffsetsResponse,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  ProduceRequest,
  ProduceResponse,
  Reader,
  Writer,
  computeBatchCrc,
  encodeBatch,
  errorName,
} from '@fjord/protocol';
import { randomFillSync } from 'node:crypto';
import { batchPool } from './batches.mjs';
import { BenchError, createTopics, openClient, requireApis } from './client.mjs';
import { nowNs, round, sleep, summarize } from './stats.mjs';

export const idempotentDefaults = {
  recordBytes: 1024,
  recordsPerBatch: 32,
  partitionsPerRequest: 8,
  inflight: 5,
  records: 1_000_000,
  seconds: 60,
  plain: false,
  progress: false,
};

export const txnDefaults = {
  topic: 'lg-txn',
  partitions: 8,
  producers: 1,
  recordsPerTxn: 10,
  partitionsPerTxn: 2,
  recordBytes: 100,
  /** Transactions per second over all producers; 0 = as fast as they go. */
  rate: 0,
  txns: 10_000_000,
  seconds: 10,
  transactionTimeoutMs: 60_000,
  idPrefix: 'lg-txn',
};

/** Retries of an answer that says "not yet" (CONCURRENT_TRANSACTIONS, COORDINATOR_LOAD_IN_PROGRESS), per request. */
const notYetRetriesMax = 2000;
const notYet = new Set([ErrorCode.CONCURRENT_TRANSACTIONS, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS]);

async function initProducerId(client, transactionalId, transactionTimeoutMs) {
  for (let attempt = 1; ; attempt++) {
    const r = await client.conn.request(InitProducerIdRequest, InitProducerIdResponse, client.versions.InitProducerId, {
      transactionalId,
      transactionTimeoutMs,
      producerId: -1n,
      producerEpoch: -1,
    });
    if (r.errorCode === ErrorCode.NONE) return { producerId: r.producerId, producerEpoch: r.producerEpoch };
    if (!notYet.has(r.errorCode) || attempt >= notYetRetriesMax) throw new BenchError(`InitProducerId ${transactionalId ?? '(idempotent)'}: ${errorName(r.errorCode)}`);
    await sleep(2);
  }
}

// ---------------------------------------------------------------------------------------------
// Idempotent (or plain) acks=all produce

export async function runIdempotentProduce(options) {
  const o = { ...idempotentDefaults, ...options };
  const client = await openClient(o.bootstrap, { clientId: `fjord-bench-${o.plain ? 'plain' : 'idempotent'}-producer` });
  try {
    if (o.create) await createTopics(client, o.topics);
    let producerId = -1n;
    let producerEpoch = -1;
    if (!o.plain) {
      requireApis(client, ['InitProducerId']);
      ({ producerId, producerEpoch } = await initProducerId(client, null, 60_000));
    }
    const version = client.versions.Produce;
    const pool = batchPool({ recordBytes: o.recordBytes, recordsPerBatch: o.recordsPerBatch });
    const pairs = [];
    for (const t of o.topics) for (let p = 0; p < t.partitions; p++) pairs.push([t.name, p]);
    const groups = [];
    for (let i = 0; i < pairs.length; i += o.partitionsPerRequest) groups.push(pairs.slice(i, i + o.partitionsPerRequest));
    const nextSequence = new Map();
    let nextGroup = 0;
    let nextBatch = 0;
    /** A fresh Produce body: copies of pool batches, stamped with the producer fields, CRCs redone. */
    const buildBody = () => {
      const group = groups[nextGroup++ % groups.length];
      const byTopic = new Map();
      let bytes = 0;
      for (const [name, index] of group) {
        const src = pool[nextBatch++ % pool.length];
        const batch = Buffer.allocUnsafe(src.length);
        src.copy(batch);
        if (!o.plain) {
          const key = `${name}-${index}`;
          const seq = nextSequence.get(key) ?? 0;
          nextSequence.set(key, (seq + o.recordsPerBatch) % 2 ** 31);
          batch.writeBigInt64BE(producerId, PRODUCER_ID_OFFSET);
          batch.writeInt16BE(producerEpoch, PRODUCER_EPOCH_OFFSET);
          batch.writeInt32BE(seq, BASE_SEQUENCE_OFFSET);
        }
        batch.writeUInt32BE(computeBatchCrc(batch, 0, batch.length), CRC_OFFSET);
        bytes += batch.length;
        if (!byTopic.has(name)) byTopic.set(name, []);
        byTopic.get(name).push({ index, records: batch });
      }
      const w = new Writer(4096);
      ProduceRequest.encode(w, { transactionalId: null, acks: -1, timeoutMs: 30_000, topicData: [...byTopic].map(([name, partitionData]) => ({ name, partitionData })) }, version);
      return { chunks: w.toChunks(), bytes, batches: group.length };
    };

    const state = { sentRecords: 0, ackedRecords: 0, requests: 0, errors: new Map(), latenciesMs: [], firstError: null };
    const t0 = nowNs();
    const deadline = t0 + BigInt(Math.round(o.seconds * 1e9));
    let lastAck = t0;
    let lastProgress = Date.now();
    const canSend = () => state.firstError === null && state.sentRecords < o.records && nowNs() < deadline;
    await new Promise((resolve) => {
      let done = false;
      const finish = () => {
        if (!done) {
          done = true;
          resolve();
        }
      };
      const pump = () => {
        while (canSend() && client.conn.inflight < o.inflight) {
          const body = buildBody();
          state.sentRecords += body.batches * o.recordsPerBatch;
          state.requests++;
          const sentAt = nowNs();
          client.conn.sendRaw(ProduceRequest.apiKey, version, body.chunks).then(
            ({ frame, bodyOffset }) => {
              const at = nowNs();
              lastAck = at;
              state.latenciesMs.push(Number(at - sentAt) / 1e6);
              const res = ProduceResponse.decode(new Reader(frame, bodyOffset), version);
              for (const t of res.responses) {
                for (const p of t.partitionResponses) {
                  if (p.errorCode === ErrorCode.NONE) state.ackedRecords += o.recordsPerBatch;
                  else {
                    const name = errorName(p.errorCode);
                    state.errors.set(name, (state.errors.get(name) ?? 0) + 1);
                    state.firstError ??= `${t.name}-${p.index}: ${name} ${p.errorMessage ?? ''}`.trim();
                  }
                }
              }
              if (o.progress && Date.now() - lastProgress > 5000) {
                lastProgress = Date.now();
                const secs = Number(at - t0) / 1e9;
                process.stderr.write(`${o.plain ? 'plain' : 'idempotent'}: ${state.ackedRecords} records acked in ${secs.toFixed(1)} s, ${((state.ackedRecords * o.recordBytes) / 1e6 / secs).toFixed(1)} MB/s\n`);
              }
              pump();
            },
            (err) => {
              state.firstError ??= `${err.name}: ${err.message}`;
              if (client.conn.inflight === 0 || client.conn.closed) finish();
            },
          );
        }
        if (client.conn.inflight === 0) finish();
      };
      pump();
    });
    const secs = Number(lastAck - t0) / 1e9;
    return {
      workload: 'idempotent',
      mode: o.plain ? 'plain' : 'idempotent',
      producerId: String(producerId),
      acks: -1,
      partitions: pairs.length,
      recordBytes: o.recordBytes,
      recordsPerBatch: o.recordsPerBatch,
      partitionsPerRequest: o.partitionsPerRequest,
      inflight: o.inflight,
      produceVersion: version,
      records: state.ackedRecords,
      requests: state.requests,
      secs: round(secs, 3),
      recordsPerSec: round(state.ackedRecords / secs, 0),
      mbPerSec: round((state.ackedRecords * o.recordBytes) / 1e6 / secs, 1),
      requestLatencyMs: summarize(state.latenciesMs),
      errors: Object.fromEntries(state.errors),
      firstError: state.firstError,
      complete: state.firstError === null && state.ackedRecords >= o.records,
    };
  } finally {
    client.conn.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Transactions

/** Per partition: [high watermark, last stable offset]. */
async function partitionEnds(client, topic, partitions) {
  const ask = async (isolationLevel) => {
    const res = await client.conn.request(ListOffsetsRequest, ListOffsetsResponse, client.versions.ListOffsets, {
      replicaId: -1,
      isolationLevel,
      topics: [{ name: topic, partitions: Array.from({ length: partitions }, (_, p) => ({ partitionIndex: p, currentLeaderEpoch: -1, timestamp: -1n })) }],
      timeoutMs: 10_000,
    });
    const out = [];
    for (const p of res.topics[0].partitions) {
      if (p.errorCode !== ErrorCode.NONE) throw new BenchError(`ListOffsets ${topic}-${p.partitionIndex}: ${errorName(p.errorCode)}`);
      out[p.partitionIndex] = Number(p.offset);
    }
    return out;
  };
  const hw = await ask(0);
  const lso = await ask(1);
  return hw.map((h, p) => [h, lso[p]]);
}

function firstPartitionError(res) {
  for (const t of res.resultsByTopicV3AndBelow) {
    for (const p of t.resultsByPartition) if (p.partitionErrorCode !== ErrorCode.NONE) return { code: p.partitionErrorCode, where: `${t.name}-${p.partitionIndex}` };
  }
  return null;
}

export async function runTransactions(options) {
  const o = { ...txnDefaults, ...options };
  if (o.partitionsPerTxn > o.partitions) throw new BenchError(`${o.partitionsPerTxn} partitions per transaction need a topic of at least that many`);
  if (o.recordsPerTxn % o.partitionsPerTxn !== 0) throw new BenchError('records per transaction must split evenly over its partitions');
  const perPartition = o.recordsPerTxn / o.partitionsPerTxn;
  const tag = Date.now().toString(36);
  const clients = [];
  try {
    for (let i = 0; i < o.producers; i++) clients.push(await openClient(o.bootstrap, { clientId: `fjord-bench-txn-${i}` }));
    requireApis(clients[0], ['FindCoordinator', 'InitProducerId', 'AddPartitionsToTxn', 'EndTxn']);
    await createTopics(clients[0], [{ name: o.topic, partitions: o.partitions }]);
    const v = clients[0].versions;
    const before = await partitionEnds(clients[0], o.topic, o.partitions);
    const values = Array.from({ length: 64 }, () => randomFillSync(Buffer.allocUnsafe(o.recordBytes)));
    const producers = [];
    for (const [i, client] of clients.entries()) {
      const transactionalId = `${o.idPrefix}-${tag}-${i}`;
      const fc = await client.conn.request(FindCoordinatorRequest, FindCoordinatorResponse, v.FindCoordinator, v.FindCoordinator >= 4 ? { keyType: 1, coordinatorKeys: [transactionalId] } : { key: transactionalId, keyType: 1 });
      const c = v.FindCoordinator >= 4 ? fc.coordinators[0] : fc;
      if (!c || c.errorCode !== ErrorCode.NONE) throw new BenchError(`FindCoordinator (transaction) ${transactionalId}: ${c ? errorName(c.errorCode) : 'no answer'}`);
      producers.push({ i, client, transactionalId, ...(await initProducerId(client, transactionalId, o.transactionTimeoutMs)), sequences: new Array(o.partitions).fill(0) });
    }
    const state = {
      committed: 0,
      started: 0,
      retries: { addPartitions: 0, endTxn: 0 },
      lateStarts: 0,
      startLagMs: [],
      latenciesMs: [],
      stepMs: { addPartitions: [], produce: [], endTxn: [] },
      errors: new Map(),
      firstError: null,
    };
    const fail = (what, code) => {
      const name = errorName(code);
      state.errors.set(`${what} ${name}`, (state.errors.get(`${what} ${name}`) ?? 0) + 1);
      state.firstError ??= `${what}: ${name}`;
    };
    const t0 = nowNs();
    const deadline = t0 + BigInt(Math.round(o.seconds * 1e9));
    const intervalNs = o.rate > 0 ? BigInt(Math.round((o.producers / o.rate) * 1e9)) : 0n;
    let lastCommit = t0;

    const runProducer = async (pr) => {
      const { client, transactionalId, producerId, producerEpoch } = pr;
      // Paced producers start spread over one interval, so their transactions interleave evenly.
      let scheduled = t0 + (intervalNs * BigInt(pr.i)) / BigInt(o.producers);
      for (let j = 0; state.firstError === null && state.started < o.txns; j++) {
        if (intervalNs > 0n) {
          const now = nowNs();
          if (scheduled > now) await sleep(Number(scheduled - now) / 1e6);
          else {
            // Behind schedule (the previous transaction took longer than the interval): start at
            // once and catch up; how far behind is the start lag.
            state.startLagMs.push(Number(now - scheduled) / 1e6);
            if (now - scheduled > intervalNs) state.lateStarts++;
          }
          scheduled += intervalNs;
        }
        if (nowNs() >= deadline) break;
        state.started++;
        const first = (pr.i * o.partitionsPerTxn + j * o.partitionsPerTxn) % o.partitions;
        const parts = Array.from({ length: o.partitionsPerTxn }, (_, k) => (first + k) % o.partitions);
        const tA = nowNs();
        // 1. AddPartitionsToTxn
        for (let attempt = 1; ; attempt++) {
          const res = await client.conn.request(AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, v.AddPartitionsToTxn, {
            transactions: [],
            v3AndBelowTransactionalId: transactionalId,
            v3AndBelowProducerId: producerId,
            v3AndBelowProducerEpoch: producerEpoch,
            v3AndBelowTopics: [{ name: o.topic, partitions: parts }],
          });
          const bad = res.errorCode !== ErrorCode.NONE ? { code: res.errorCode } : firstPartitionError(res);
          if (!bad) break;
          if (notYet.has(bad.code) && attempt < notYetRetriesMax) {
            state.retries.addPartitions++;
            await sleep(1);
            continue;
          }
          fail('AddPartitionsToTxn', bad.code);
          return;
        }
        const tB = nowNs();
        // 2. Produce: one transactional batch per partition
        const partitionData = parts.map((p) => {
          const ts = BigInt(Date.now());
          const records = Array.from({ length: perPartition }, (_, r) => ({ key: null, value: values[(j + r) % values.length], timestamp: ts }));
          const batch = encodeBatch({ records, baseTimestamp: ts, isTransactional: true, producerId, producerEpoch, baseSequence: pr.sequences[p] });
          pr.sequences[p] = (pr.sequences[p] + perPartition) % 2 ** 31;
          return { index: p, records: batch };
        });
        const produced = await client.conn.request(ProduceRequest, ProduceResponse, v.Produce, { transactionalId, acks: -1, timeoutMs: 30_000, topicData: [{ name: o.topic, partitionData }] });
        for (const t of produced.responses) {
          for (const p of t.partitionResponses) {
            if (p.errorCode !== ErrorCode.NONE) {
              fail('Produce', p.errorCode);
              return;
            }
          }
        }
        const tC = nowNs();
        // 3. EndTxn(commit)
        for (let attempt = 1; ; attempt++) {
          const res = await client.conn.request(EndTxnRequest, EndTxnResponse, v.EndTxn, { transactionalId, producerId, producerEpoch, committed: true });
          if (res.errorCode === ErrorCode.NONE) break;
          if (notYet.has(res.errorCode) && attempt < notYetRetriesMax) {
            state.retries.endTxn++;
            await sleep(1);
            continue;
          }
          fail('EndTxn', res.errorCode);
          return;
        }
        const tD = nowNs();
        lastCommit = tD;
        state.committed++;
        state.latenciesMs.push(Number(tD - tA) / 1e6);
        state.stepMs.addPartitions.push(Number(tB - tA) / 1e6);
        state.stepMs.produce.push(Number(tC - tB) / 1e6);
        state.stepMs.endTxn.push(Number(tD - tC) / 1e6);
      }
    };
    await Promise.all(
      producers.map((pr) =>
        runProducer(pr).catch((err) => {
          state.firstError ??= `${err.name}: ${err.message}`;
        }),
      ),
    );
    const secs = Number(lastCommit - t0) / 1e9;
    // The log afterwards: no transaction left open, and records + one marker per partition per commit.
    let check = null;
    try {
      const after = await partitionEnds(clients[0], o.topic, o.partitions);
      const added = after.reduce((s, [hw], p) => s + hw - before[p][0], 0);
      const hanging = after.map(([hw, lso], p) => (hw !== lso ? `${o.topic}-${p}: hw ${hw} lso ${lso}` : null)).filter(Boolean);
      const expected = state.committed * (o.recordsPerTxn + o.partitionsPerTxn);
      check = { offsetsAdded: added, expected, hanging };
      if (added !== expected && state.firstError === null) state.firstError = `the topic grew by ${added} offsets; ${state.committed} committed transactions should add ${expected} (records and markers)`;
      if (hanging.length && state.firstError === null) state.firstError = `last stable offset below the high watermark after every commit: ${hanging.join(', ')}`;
    } catch (err) {
      state.firstError ??= `checking the log: ${err.message}`;
    }
    return {
      workload: 'txn',
      producers: o.producers,
      rate: o.rate,
      recordsPerTxn: o.recordsPerTxn,
      partitionsPerTxn: o.partitionsPerTxn,
      recordBytes: o.recordBytes,
      versions: { AddPartitionsToTxn: v.AddPartitionsToTxn, Produce: v.Produce, EndTxn: v.EndTxn, InitProducerId: v.InitProducerId },
      committed: state.committed,
      secs: round(secs, 3),
      txnsPerSec: round(state.committed / secs, 0),
      latencyMs: summarize(state.latenciesMs),
      stepMs: { addPartitions: summarize(state.stepMs.addPartitions), produce: summarize(state.stepMs.produce), endTxn: summarize(state.stepMs.endTxn) },
      retries: state.retries,
      lateStarts: state.lateStarts,
      // Over every paced transaction: the ones that started on time count as 0.
      startLagMs: o.rate > 0 ? summarize([...state.startLagMs, ...new Array(Math.max(0, state.started - state.startLagMs.length)).fill(0)]) : null,
      check,
      errors: Object.fromEntries(state.errors),
      firstError: state.firstError,
      complete: state.firstError === null,
    };
  } finally {
    for (const c of clients) c.conn.close();
  }
}
