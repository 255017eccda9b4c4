/**
 * `fjord perf produce`: one Producer sends records as fast as it takes them (or paced at
 * --throughput), and every record's latency is send() → acknowledgement. Paced runs also measure
 * from each record's intended send time on a fixed schedule, which includes the time a record
 * waited behind a slow one (no coordinated omission).
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Producer } from '@fjord/client';
import { Histogram } from './histogram.js';
import { prepareTopic } from './cluster.js';
import { Payloads } from './payload.js';
import { IntervalRate, ProgressLine } from './progress.js';
import { fmtInt, fmtMs, fmtRate, latencyText, summarize, usPerMs, plural } from './report.js';
import { cpuSince, Failures, producerRunFields, runProducer, Schedule, sendOnSchedule, sleep, untilDeadline, within, type Outcome, type ProducerRunSettings, type StoppedBy } from './run.js';

export interface ProduceSettings extends ProducerRunSettings {
  /** Keys `key-0` .. `key-(K-1)` in turn; 0 for null keys. */
  keyCount: number;
}

/** Records sent without yielding to the event loop when unpaced (acks and timers get their turn between chunks). */
const unpacedChunk = 256;

export async function runProduce(s: ProduceSettings, stop: AbortSignal): Promise<Outcome> {
  // The producer first: a bad combination of settings is a ConfigError before any network work.
  const producer = runProducer(s, 'fjord-perf-producer');
  const cfg = producer.config;
  let partitions: number[];
  try {
    partitions = await prepareTopic(s.ctx, s.topic, s.create);
  } catch (e) {
    await producer.close({ timeoutMs: 0 }).catch(() => {});
    throw e;
  }
  const payloads = new Payloads(s.recordSize);
  const keys = s.keyCount > 0 ? Array.from({ length: s.keyCount }, (_, i) => Buffer.from(`key-${i}`)) : undefined;
  const ackLatency = new Histogram();
  const paced = s.throughput > 0;
  const intendedLatency = paced ? new Histogram() : undefined;
  const failures = new Failures();
  const limit = s.numRecords ?? Infinity;
  let sent = 0;
  let acked = 0;
  let ackedBytes = 0;
  let lastSettledAt = 0;
  let lastAckAt = 0;
  let stoppedBy: StoppedBy = 'count';
  let runError: string | undefined;

  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const deadline = s.durationMs === undefined ? Infinity : start + s.durationMs;
  const schedule = paced ? new Schedule(start, s.throughput) : undefined;
  const rate = new IntervalRate(start);
  const progress = new ProgressLine(() => {
    const now = performance.now();
    const r = rate.take(now, acked, ackedBytes);
    const total = s.numRecords === undefined ? '' : `/${fmtInt(s.numRecords)}`;
    return `perf produce ${s.topic}: ${fmtInt(acked)}${total} acked · ${fmtInt(sent - acked - failures.count)} in flight · ${fmtInt(failures.count)} failed · ${fmtRate(r.recordsPerSec)} rec/s · ${r.mbPerSec.toFixed(1)} MB/s · p99 ${fmtMs(ackLatency.percentile(99) / usPerMs)} ms · ${((now - start) / 1000).toFixed(1)} s`;
  });
  if (s.progress) progress.start();

  const sendOne = (seq: number, intendedMs: number): void => {
    const sentAt = performance.now();
    const value = payloads.next(seq, intendedMs, sentAt);
    producer.send({ topic: s.topic, key: keys ? keys[seq % keys.length]! : null, value }).then(
      () => {
        const now = performance.now();
        ackLatency.record((now - sentAt) * usPerMs);
        intendedLatency?.record((now - intendedMs) * usPerMs);
        acked++;
        ackedBytes += value.length;
        lastSettledAt = now;
        lastAckAt = now;
      },
      (e: unknown) => {
        failures.add(e);
        lastSettledAt = performance.now();
      },
    );
  };

  // Room for one more record in the producer's buffer (its estimate adds a few dozen bytes of framing).
  const recordRoom = s.recordSize + 128 + (keys ? 16 : 0);
  try {
    if (schedule) ({ sent, stoppedBy } = await sendOnSchedule({ schedule, sent, limit, deadlineMs: deadline, stop, sendOne: (seq) => sendOne(seq, schedule.intendedAt(seq)) }));
    // Unpaced: as fast as the producer's buffer takes them.
    else while (sent < limit) {
      if (stop.aborted) {
        stoppedBy = 'signal';
        break;
      }
      if (performance.now() >= deadline) {
        stoppedBy = 'duration';
        break;
      }
      const end = Math.min(limit, sent + unpacedChunk);
      while (sent < end) {
        if (producer.bufferedBytes + recordRoom > cfg.bufferMemoryBytes) {
          // Wait for room, but not past the time bound (ready() rejecting after maxBlockMs ends the run).
          const room = producer.ready(recordRoom);
          room.catch(() => {});
          await untilDeadline(room, deadline, stop);
          if (performance.now() >= deadline || stop.aborted) break;
        }
        sendOne(sent, performance.now());
        sent++;
      }
      await nextTurn();
    }
  } catch (e) {
    // ready() timed out (maxBlockMs) or the producer failed for good: report what was done.
    runError = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    stoppedBy = 'error';
  }
  const sendEndedAt = performance.now();
  const drained = await within(producer.flush(), s.drainTimeoutMs);
  await producer.close({ timeoutMs: 1000 }).catch(() => {});
  // close() fails what is still buffered; let those rejections land before counting.
  for (let i = 0; i < 100 && acked + failures.count < sent; i++) await sleep(10);
  progress.stop();
  const unsettled = sent - acked - failures.count;

  const endAt = lastSettledAt > 0 ? lastSettledAt : performance.now();
  const elapsedMs = Math.max(endAt - start, 1e-3);
  const latency = summarize(ackLatency);
  const fromIntended = intendedLatency ? summarize(intendedLatency) : null;
  // Throughput over the time the acknowledged records took (failures at the end of a drain do not dilute it).
  const ackSecs = Math.max((lastAckAt > 0 ? lastAckAt : endAt) - start, 1e-3) / 1000;
  const recordsPerSec = acked / ackSecs;
  const mbPerSec = ackedBytes / 1e6 / ackSecs;
  const bad = failures.count + unsettled;
  const json = {
    ...producerRunFields('produce', s, producer, partitions.length),
    keyCount: s.keyCount,
    batchBytes: cfg.batchBytes,
    stoppedBy,
    error: runError ?? null,
    count: acked,
    sent,
    failed: bad,
    errors: failures.top(),
    elapsedMs: round(elapsedMs),
    processCpu: cpuSince(cpuStart, performance.now() - start),
    sendMs: round(sendEndedAt - start),
    bytes: ackedBytes,
    recordsPerSec: round(recordsPerSec),
    mbPerSec: round(mbPerSec),
    latencyMs: latency,
    latencyFromIntendedMs: fromIntended,
  };

  let text = `fjord perf produce: ${s.topic} (${plural(partitions.length, 'partition')}) at ${s.ctx.bootstrap}; ${fmtInt(s.recordSize)}-byte records, acks=${json.acks}, compression ${json.compression}, linger ${cfg.lingerMs} ms, batch ${fmtInt(cfg.batchBytes)} bytes, idempotent ${cfg.idempotent ? 'on' : 'off'}${keys ? `, ${fmtInt(s.keyCount)} keys` : ''}${paced ? `, paced at ${fmtRate(s.throughput)} records/s` : ''}\n`;
  text += `  ${fmtInt(acked)} ${cfg.acks === 0 ? 'written (acks=0: not acknowledged)' : 'acknowledged'}, ${fmtInt(bad)} failed of ${fmtInt(sent)} sent in ${(elapsedMs / 1000).toFixed(3)} s (stopped by ${stoppedBy})\n`;
  text += failures.text('    ');
  if (runError) text += `  the run stopped: ${runError}\n`;
  if (!drained) text += `    the producer did not finish within --drain-timeout-ms ${s.drainTimeoutMs}\n`;
  text += `  throughput: ${fmtRate(recordsPerSec)} records/s, ${mbPerSec.toFixed(2)} MB/s (MB = 10^6 bytes of record values)\n`;
  text += `  this process used ${json.processCpu.percentOfOneCore}% of one core (a figure near 100% means the client side was the limit)\n`;
  text += latencyText('latency, send() -> acknowledged (ms):', latency);
  if (fromIntended) text += latencyText('latency from the intended send time on the schedule (ms; includes waiting behind slow records):', fromIntended);
  return { exitCode: bad > 0 || runError !== undefined ? 1 : 0, json, text };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
