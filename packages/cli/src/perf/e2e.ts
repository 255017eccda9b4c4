/**
 * `fjord perf e2e`: a Producer paced at --throughput and a Consumer (no group, every partition,
 * starting at the end) in this process. Each value carries its intended and actual send times
 * (performance.now()); latency is the consumer's arrival time minus each of them:
 *
 * - from the intended time on a fixed schedule (record i at start + i/rate): what a caller that must
 *   send at that rate sees, including time spent behind a slow record (no coordinated omission);
 * - from the actual send() call: the client and broker path alone.
 *
 * A record acknowledged but not seen by the consumer within --drain-timeout-ms after the send phase
 * counts as lost; lost or failed records make the exit code 1.
 */
import { Consumer, Producer } from '@fjord/client';
import { CliError } from '../flags.js';
import { Histogram } from './histogram.js';
import { explain, prepareTopic } from './cluster.js';
import { Payloads } from './payload.js';
import { ProgressLine } from './progress.js';
import { readStamp } from './stamp.js';
import { fmtInt, fmtMs, fmtRate, latencyText, summarize, usPerMs, plural } from './report.js';
import { cpuSince, Failures, producerRunFields, runProducer, Schedule, sendOnSchedule, sleep, type Outcome, type ProducerRunSettings, type StoppedBy } from './run.js';

export interface E2eSettings extends ProducerRunSettings {
  fetchMaxWaitMs: number | undefined;
  /** The first N records (by sequence) count for loss but not for the latency figures (JIT, connections, first fetch). */
  warmupRecords: number;
}

/** The received-set is a bitmap, one bit per record: this caps its size (16 MiB). */
export const e2eRecordsMax = 134_217_728;

export async function runE2e(s: E2eSettings, stop: AbortSignal): Promise<Outcome> {
  const limit = Math.min(s.numRecords ?? Infinity, s.durationMs === undefined ? Infinity : Math.ceil((s.durationMs / 1000) * s.throughput) + 1);
  if (limit > e2eRecordsMax) throw new CliError(`perf e2e tracks at most ${fmtInt(e2eRecordsMax)} records; lower --num-records, --duration-ms or --throughput`);
  // Latency is the point: no linger unless asked for.
  const producer = runProducer(s, 'fjord-perf-e2e-producer', { lingerMs: 0 });
  const cfg = producer.config;
  let consumer: Consumer | undefined;
  const payloads = new Payloads(s.recordSize);
  const fromIntended = new Histogram();
  const fromSend = new Histogram();
  const ackLatency = new Histogram();
  const sendLag = new Histogram();
  const failures = new Failures();
  const received = new Uint8Array(Math.ceil(limit / 8));
  let sent = 0;
  let acked = 0;
  let seen = 0;
  let duplicates = 0;
  let foreign = 0;
  let stoppedBy: StoppedBy = 'count';
  const halt = new AbortController();
  let consumeLoop: Promise<void> = Promise.resolve();
  let consumeError: unknown;
  let partitions: number[] = [];
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const progress = new ProgressLine(() => {
    const now = performance.now();
    return `perf e2e ${s.topic}: ${fmtInt(sent)} sent · ${fmtInt(acked)} acked · ${fmtInt(seen)} received · ${fmtInt(failures.count)} failed · p99 ${fmtMs(fromIntended.percentile(99) / usPerMs)} ms · ${((now - start) / 1000).toFixed(1)} s`;
  });
  let sendPhaseMs = 0;
  let drainMs = 0;
  try {
    partitions = await prepareTopic(s.ctx, s.topic, s.create);
    consumer = new Consumer({
      bootstrapServers: s.ctx.bootstrap,
      connectTimeoutMs: s.ctx.timeoutMs,
      clientId: 'fjord-perf-e2e-consumer',
      logger: s.logger,
      ...(s.fetchMaxWaitMs === undefined ? {} : { fetchMaxWaitMs: s.fetchMaxWaitMs }),
    });
    const tps = partitions.map((partition) => ({ topic: s.topic, partition }));
    consumer.assign(tps);
    // Positions fixed before the first send, so that no record of this run falls before them.
    for (const { topic, partition, offset } of await consumer.endOffsets(tps)) consumer.seek({ topic, partition, offset });
    await producer.connect();

    const c = consumer;
    consumeLoop = (async () => {
      try {
        for await (const batch of c.batches({ signal: halt.signal })) {
          const now = performance.now();
          for (const r of batch.records) {
            const st = readStamp(r.value);
            if (!st || st.runId !== payloads.runId || !(st.seq >= 0 && st.seq < limit)) {
              foreign++;
              continue;
            }
            const bit = 1 << (st.seq & 7);
            const i = st.seq >>> 3;
            if (received[i]! & bit) {
              duplicates++;
              continue;
            }
            received[i]! |= bit;
            seen++;
            if (st.seq < s.warmupRecords) continue;
            fromIntended.record((now - st.intendedMs) * usPerMs);
            fromSend.record((now - st.sentMs) * usPerMs);
          }
        }
      } catch (e) {
        consumeError = e;
      }
    })();

    if (s.progress) progress.start();
    const schedule = new Schedule(performance.now(), s.throughput);
    const deadline = s.durationMs === undefined ? Infinity : schedule.startMs + s.durationMs;
    const sendOne = (seq: number): void => {
      const intendedMs = schedule.intendedAt(seq);
      const sentAt = performance.now();
      const measured = seq >= s.warmupRecords;
      if (measured) sendLag.record((sentAt - intendedMs) * usPerMs);
      const value = payloads.next(seq, intendedMs, sentAt);
      producer.send({ topic: s.topic, value }).then(
        () => {
          if (measured) ackLatency.record((performance.now() - sentAt) * usPerMs);
          acked++;
        },
        (e: unknown) => failures.add(e),
      );
    };
    ({ sent, stoppedBy } = await sendOnSchedule({ schedule, sent, limit, deadlineMs: deadline, stop, failed: () => consumeError !== undefined, sendOne }));
    sendPhaseMs = performance.now() - schedule.startMs;

    // Wait for the records in flight: every send settled and every acknowledged one received.
    const drainStart = performance.now();
    while (performance.now() - drainStart < s.drainTimeoutMs && consumeError === undefined) {
      if (acked + failures.count >= sent && seen >= acked) break;
      await sleep(5);
    }
    drainMs = performance.now() - drainStart;
  } catch (e) {
    throw sent === 0 ? explain(s.ctx, e) : e;
  } finally {
    progress.stop();
    halt.abort();
    await producer.close({ timeoutMs: 1000 }).catch(() => {});
    await consumeLoop;
    if (consumer) await Promise.race([consumer.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000).unref())]);
  }
  for (let i = 0; i < 100 && acked + failures.count < sent; i++) await sleep(10);

  // Acknowledged but never seen, and sent but never settled, are both losses.
  const lost = Math.max(0, sent - failures.count - seen);
  const bad = failures.count + lost;
  const intended = summarize(fromIntended);
  const actual = summarize(fromSend);
  const ack = summarize(ackLatency);
  const lag = summarize(sendLag);
  const achieved = sent / (Math.max(sendPhaseMs, 1e-3) / 1000);
  const json = {
    ...producerRunFields('e2e', s, producer, partitions.length),
    achievedThroughput: Math.round(achieved * 1000) / 1000,
    stoppedBy: consumeError === undefined ? stoppedBy : 'error',
    error: consumeError === undefined ? null : String((consumeError as Error).message ?? consumeError),
    count: seen,
    sent,
    acked,
    failed: failures.count,
    lost,
    duplicates,
    warmupRecords: s.warmupRecords,
    otherRecords: foreign,
    errors: failures.top(),
    sendMs: Math.round(sendPhaseMs),
    processCpu: cpuSince(cpuStart, performance.now() - start),
    drainMs: Math.round(drainMs),
    latencyMs: intended,
    latencyFromSendMs: actual,
    ackLatencyMs: ack,
    sendLagMs: lag,
  };
  let text = `fjord perf e2e: ${s.topic} (${plural(partitions.length, 'partition')}) at ${s.ctx.bootstrap}; ${fmtInt(s.recordSize)}-byte records at ${fmtRate(s.throughput)} records/s, acks=${json.acks}, linger ${cfg.lingerMs} ms, compression ${json.compression}\n`;
  text += `  ${fmtInt(sent)} sent in ${(sendPhaseMs / 1000).toFixed(3)} s (${fmtRate(achieved)} records/s; stopped by ${json.stoppedBy}), ${fmtInt(acked)} acknowledged, ${fmtInt(seen)} received, ${fmtInt(failures.count)} failed, ${fmtInt(lost)} lost${duplicates ? `, ${fmtInt(duplicates)} duplicates` : ''}\n`;
  text += failures.text('    ');
  if (s.warmupRecords > 0) text += `  the first ${fmtInt(s.warmupRecords)} records (warm-up) are left out of the latency figures\n`;
  if (json.error) text += `  consumer stopped: ${json.error}\n`;
  text += latencyText('end-to-end latency from the intended send time (ms; the schedule: no coordinated omission):', intended);
  text += `  end-to-end latency from the actual send() (ms): ${percentileShort(actual)}\n`;
  text += `  producer send() -> acknowledged (ms): ${percentileShort(ack)}\n`;
  text += `  send lag behind the schedule (ms): ${percentileShort(lag)}\n`;
  text += `  this process used ${json.processCpu.percentOfOneCore}% of one core\n`;
  return { exitCode: bad > 0 || consumeError !== undefined ? 1 : 0, json, text };
}

function percentileShort(s: ReturnType<typeof summarize>): string {
  return `p50 ${fmtMs(s.p50)}  p95 ${fmtMs(s.p95)}  p99 ${fmtMs(s.p99)}  p99.9 ${fmtMs(s.p99_9)}  max ${fmtMs(s.max)}`;
}
