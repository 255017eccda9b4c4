/**
 * End-to-end latency: a producer sends `rate` records/s (1 KiB, acks=1) while a consumer on its
 * own connection long-polls (Fetch, min bytes 1, max wait 500 ms) every partition of the topic.
 * Each record's value starts with [run id u64][sequence u64][send time u64, CLOCK_MONOTONIC ns]; the
 * latency of a record is the time its fetch response was parsed minus its send time. Both ends run
 * in this process, so the clock is the same.
 *
 * Pacing: a timer wakes at least every millisecond and sends the records that are due, as one
 * batch on one partition (the next partition each time, like a sticky partitioner); each record is
 * stamped when it is encoded, just before the socket write (what rdkafka_bench.c does at produce()
 * with linger.ms=0). The first `warmupFraction` of the records are excluded from the percentiles.
 */
import { randomBytes, randomFillSync } from 'node:crypto';
import { ErrorCode, FetchRequest, FetchResponse, ProduceRequest, ProduceResponse, Reader, Writer, decodeBatch, encodeBatch, errorName } from '@fjord/protocol';
import { createTopics, openClient } from './client.mjs';
import { nowNs, round, sleep, summarize } from './stats.mjs';

export const e2eDefaults = {
  rate: 5000,
  records: 50_000,
  recordBytes: 1024,
  partitions: 8,
  acks: 1,
  warmupFraction: 0.1,
  seconds: 60,
  /** After the last send, wait at most this long for the consumer to see everything. */
  drainMs: 10_000,
  /** Producer requests in flight at most (beyond it the producer is falling behind: counted). */
  inflightMax: 64,
  /** Consume through a KIP-227 fetch session (incremental fetches), as librdkafka does. */
  fetchSession: false,
};

const stampBytes = 24;

export async function runE2e(options) {
  const o = { ...e2eDefaults, ...options };
  const topic = o.topic;
  const producer = await openClient(o.bootstrap, { clientId: 'fjord-bench-e2e-producer' });
  const consumer = await openClient(o.bootstrap, { clientId: 'fjord-bench-e2e-consumer' });
  try {
    await createTopics(producer, [{ name: topic, partitions: o.partitions }]);
    const runId = randomBytes(8);
    const latencyNs = new Float64Array(o.records).fill(-1);
    const state = { fetches: 0, received: 0, foreign: 0, dup: 0, sent: 0, lateSends: 0, produceErrors: 0, firstError: null, produceAckMs: [] };
    const offsets = new Array(o.partitions).fill(0);
    let stopConsumer = false;

    // Consumer: one long-poll Fetch at a time over all partitions. With `fetchSession` it uses a
    // KIP-227 session as librdkafka and the Java client do: a full request creates it, then
    // incremental requests list only the partitions whose fetch offset moved.
    const fetchVersion = consumer.versions.Fetch;
    let sessionId = 0;
    let sessionEpoch = o.fetchSession ? 0 : -1;
    const sentOffsets = new Array(o.partitions).fill(-1);
    const consumeLoop = async () => {
      while (!stopConsumer && state.received < o.records) {
        const incremental = o.fetchSession && sessionId !== 0;
        const partitions = [];
        offsets.forEach((next, partition) => {
          if (!incremental || sentOffsets[partition] !== next) {
            partitions.push({ partition, currentLeaderEpoch: -1, fetchOffset: BigInt(next), lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1_048_576 });
            sentOffsets[partition] = next;
          }
        });
        const w = new Writer(512);
        FetchRequest.encode(
          w,
          {
            replicaId: -1,
            maxWaitMs: 500,
            minBytes: 1,
            maxBytes: 52_428_800,
            isolationLevel: 0,
            sessionId,
            sessionEpoch,
            topics: partitions.length ? [{ topic, partitions }] : [],
            forgottenTopicsData: [],
            rackId: '',
          },
          fetchVersion,
        );
        const { frame, bodyOffset } = await consumer.conn.sendRaw(1, fetchVersion, w.toChunks());
        const at = nowNs();
        const res = FetchResponse.decode(new Reader(frame, bodyOffset), fetchVersion);
        state.fetches++;
        if (res.errorCode !== ErrorCode.NONE) {
          state.firstError ??= `fetch: ${errorName(res.errorCode)} (session ${sessionId}, epoch ${sessionEpoch})`;
          break;
        }
        if (o.fetchSession) {
          if (sessionId === 0) sessionId = res.sessionId;
          sessionEpoch = sessionId === 0 ? 0 : sessionEpoch + 1;
          if (sessionId === 0) state.firstError ??= 'the broker did not create a fetch session';
        }
        for (const t of res.responses) {
          for (const pd of t.partitions) {
            if (pd.errorCode !== ErrorCode.NONE) {
              state.firstError ??= `fetch ${t.topic}-${pd.partitionIndex}: ${errorName(pd.errorCode)}`;
              continue;
            }
            const buf = pd.records;
            if (buf === null) continue;
            let pos = 0;
            while (buf.length - pos >= 61) {
              const size = 12 + buf.readInt32BE(pos + 8);
              if (pos + size > buf.length) break;
              const { header, records } = decodeBatch(buf, pos);
              const last = Number(header.baseOffset) + header.lastOffsetDelta;
              if (last >= offsets[pd.partitionIndex]) {
                for (const r of records) {
                  if (Number(r.offset) < offsets[pd.partitionIndex]) continue;
                  const v = r.value;
                  if (v === null || v.length < stampBytes || !v.subarray(0, 8).equals(runId)) {
                    state.foreign++;
                    continue;
                  }
                  const seq = Number(v.readBigUInt64BE(8));
                  const sentNs = v.readBigUInt64BE(16);
                  if (seq >= o.records || latencyNs[seq] >= 0) {
                    state.dup++;
                    continue;
                  }
                  latencyNs[seq] = Number(at - sentNs);
                  state.received++;
                }
                offsets[pd.partitionIndex] = last + 1;
              }
              pos += size;
            }
          }
        }
      }
    };
    const consumerDone = consumeLoop().catch((err) => {
      state.firstError ??= `consumer: ${err.message}`;
    });
    await sleep(500); // let the first long poll reach the broker before the clock starts

    // Producer.
    const produceVersion = producer.versions.Produce;
    const payload = Buffer.allocUnsafe(o.recordBytes);
    randomFillSync(payload);
    runId.copy(payload, 0);
    let partition = 0;
    const t0 = nowNs();
    const intervalNs = 1e9 / o.rate;
    const deadline = t0 + BigInt(Math.round(o.seconds * 1e9));
    const inflight = new Set();
    while (state.sent < o.records && nowNs() < deadline && state.firstError === null) {
      const elapsed = Number(nowNs() - t0);
      const due = Math.min(o.records, Math.floor(elapsed / intervalNs) + 1);
      if (due > state.sent) {
        if (elapsed - (state.sent * intervalNs) > 10e6) state.lateSends++;
        const stamp = nowNs();
        const records = [];
        for (let seq = state.sent; seq < due; seq++) {
          const value = Buffer.from(payload);
          value.writeBigUInt64BE(BigInt(seq), 8);
          value.writeBigUInt64BE(stamp, 16);
          records.push({ key: null, value });
        }
        const batch = encodeBatch({ records, baseTimestamp: BigInt(Date.now()) });
        state.sent = due;
        const w = new Writer(256);
        ProduceRequest.encode(w, { transactionalId: null, acks: o.acks, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }] }, produceVersion);
        partition = (partition + 1) % o.partitions;
        if (inflight.size >= o.inflightMax) state.lateSends++;
        const sentAt = nowNs();
        const p = producer.conn.sendRaw(0, produceVersion, w.toChunks()).then(
          ({ frame, bodyOffset }) => {
            state.produceAckMs.push(Number(nowNs() - sentAt) / 1e6);
            const res = ProduceResponse.decode(new Reader(frame, bodyOffset), produceVersion);
            for (const t of res.responses) for (const pr of t.partitionResponses) {
              if (pr.errorCode !== ErrorCode.NONE) {
                state.produceErrors++;
                state.firstError ??= `produce ${t.name}-${pr.index}: ${errorName(pr.errorCode)}`;
              }
            }
          },
          (err) => {
            state.firstError ??= `producer: ${err.message}`;
          },
        );
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
      }
      // Sleep until the next record is due (timers have ~1 ms granularity).
      const nextDueNs = state.sent * intervalNs - Number(nowNs() - t0);
      await sleep(Math.max(0, Math.floor(nextDueNs / 1e6)));
    }
    const sendSecs = Number(nowNs() - t0) / 1e9;
    await Promise.allSettled([...inflight]);
    const drainUntil = Date.now() + o.drainMs;
    while (state.received < state.sent && Date.now() < drainUntil && state.firstError === null) await sleep(10);
    stopConsumer = true;
    await Promise.race([consumerDone, sleep(1000)]);

    const warmup = Math.floor(state.sent * o.warmupFraction);
    const sample = [];
    let missing = 0;
    for (let i = 0; i < state.sent; i++) {
      if (latencyNs[i] < 0) missing++;
      else if (i >= warmup) sample.push(latencyNs[i] / 1e6);
    }
    return {
      workload: 'e2e',
      topic,
      partitions: o.partitions,
      acks: o.acks,
      rate: o.rate,
      achievedRate: round(state.sent / sendSecs, 0),
      recordBytes: o.recordBytes,
      sent: state.sent,
      received: state.received,
      missing,
      duplicates: state.dup,
      foreign: state.foreign,
      lateSends: state.lateSends,
      warmupRecords: warmup,
      fetchSession: o.fetchSession,
      fetches: state.fetches,
      latencyMs: summarize(sample),
      produceAckMs: summarize(state.produceAckMs),
      firstError: state.firstError,
      complete: state.firstError === null && missing === 0 && state.sent === o.records,
    };
  } finally {
    producer.conn.close();
    consumer.conn.close();
  }
}
