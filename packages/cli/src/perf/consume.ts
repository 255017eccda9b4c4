/**
 * `fjord perf consume`: one Consumer reads the topic (all partitions from the beginning or the end
 * without a group, or as a member of --group) and counts records and value bytes. Records that
 * `perf produce` or `perf e2e` wrote carry their send time, so their age on arrival (wall clock,
 * this machine's or across machines as far as their clocks agree) is reported too.
 */
import { Consumer } from '@fjord/client';
import { Histogram } from './histogram.js';
import { explain, prepareTopic } from './cluster.js';
import { IntervalRate, ProgressLine } from './progress.js';
import { readStamp } from './stamp.js';
import { fmtInt, fmtMs, fmtRate, latencyText, summarize, usPerMs, plural } from './report.js';
import { cpuSince, type Common, type Outcome } from './run.js';

export interface ConsumeSettings extends Common {
  group: string | undefined;
  from: 'beginning' | 'end';
  fetchMaxWaitMs: number | undefined;
  /** Stop when no record has arrived for this long. */
  idleTimeoutMs: number;
}

type ConsumeStop = 'count' | 'duration' | 'idle' | 'signal';

export async function runConsume(s: ConsumeSettings, stop: AbortSignal): Promise<Outcome> {
  const partitions = await prepareTopic(s.ctx, s.topic);
  const consumer = new Consumer({
    bootstrapServers: s.ctx.bootstrap,
    connectTimeoutMs: s.ctx.timeoutMs,
    clientId: 'fjord-perf-consumer',
    logger: s.logger,
    ...(s.group === undefined ? {} : { groupId: s.group }),
    autoOffsetReset: s.from === 'beginning' ? 'earliest' : 'latest',
    ...(s.fetchMaxWaitMs === undefined ? {} : { fetchMaxWaitMs: s.fetchMaxWaitMs }),
  });
  const tps = partitions.map((partition) => ({ topic: s.topic, partition }));
  if (s.group === undefined) {
    consumer.assign(tps);
    if (s.from === 'beginning') consumer.seekToBeginning(tps);
    else consumer.seekToEnd(tps);
  } else {
    consumer.subscribe([s.topic]);
  }

  const age = new Histogram();
  const limit = s.numRecords ?? Infinity;
  let count = 0;
  let bytes = 0;
  let unstamped = 0;
  let firstAt: number | undefined;
  let lastAt: number | undefined;
  let stoppedBy: ConsumeStop = 'count';
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const rate = new IntervalRate(start);
  const progress = new ProgressLine(() => {
    const now = performance.now();
    const r = rate.take(now, count, bytes);
    const total = s.numRecords === undefined ? '' : `/${fmtInt(s.numRecords)}`;
    const ageText = age.count > 0 ? ` · age p99 ${fmtMs(age.percentile(99) / usPerMs)} ms` : '';
    return `perf consume ${s.topic}: ${fmtInt(count)}${total} records · ${fmtRate(r.recordsPerSec)} rec/s · ${r.mbPerSec.toFixed(1)} MB/s${ageText} · ${((now - start) / 1000).toFixed(1)} s`;
  });
  if (s.progress) progress.start();

  // One signal ends the iteration, whichever bound is hit first.
  const halt = new AbortController();
  const end = (why: ConsumeStop): void => {
    if (halt.signal.aborted) return;
    stoppedBy = why;
    halt.abort();
  };
  const onStop = (): void => end('signal');
  stop.addEventListener('abort', onStop);
  const durationTimer = s.durationMs === undefined ? undefined : setTimeout(() => end('duration'), s.durationMs);
  const idleTimer = setTimeout(() => end('idle'), s.idleTimeoutMs);
  let failure: unknown;
  try {
    if (stop.aborted) end('signal');
    for await (const batch of consumer.batches({ signal: halt.signal })) {
      const now = performance.now();
      const wallNow = performance.timeOrigin + now;
      firstAt ??= now;
      lastAt = now;
      idleTimer.refresh();
      for (const r of batch.records) {
        count++;
        bytes += r.value?.length ?? 0;
        const st = readStamp(r.value);
        if (st) age.record((wallNow - st.wallMs) * usPerMs);
        else unstamped++;
        if (count >= limit) break;
      }
      if (count >= limit) {
        end('count');
        break;
      }
    }
  } catch (e) {
    failure = e;
  } finally {
    clearTimeout(durationTimer);
    clearTimeout(idleTimer);
    stop.removeEventListener('abort', onStop);
    progress.stop();
    // A group member commits and leaves; bounded, so that a dead broker cannot hold the exit.
    await Promise.race([consumer.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000).unref())]);
  }
  if (failure !== undefined && count === 0) throw explain(s.ctx, failure);

  const activeMs = firstAt === undefined || lastAt === undefined ? 0 : lastAt - start;
  const secs = Math.max(activeMs, 1e-3) / 1000;
  const recordsPerSec = count === 0 ? 0 : count / secs;
  const mbPerSec = count === 0 ? 0 : bytes / 1e6 / secs;
  const ageSummary = age.count > 0 ? summarize(age) : null;
  const json = {
    command: 'consume',
    topic: s.topic,
    bootstrap: s.ctx.bootstrap,
    partitions: partitions.length,
    group: s.group ?? null,
    from: s.from,
    bounds: { numRecords: s.numRecords ?? null, durationMs: s.durationMs ?? null, idleTimeoutMs: s.idleTimeoutMs },
    stoppedBy: failure === undefined ? stoppedBy : 'error',
    error: failure === undefined ? null : String((failure as Error).message ?? failure),
    count,
    bytes,
    elapsedMs: round(activeMs),
    processCpu: cpuSince(cpuStart, performance.now() - start),
    firstRecordMs: firstAt === undefined ? null : round(firstAt - start),
    recordsPerSec: round(recordsPerSec),
    mbPerSec: round(mbPerSec),
    stampedRecords: age.count,
    ageMs: ageSummary,
  };
  let text = `fjord perf consume: ${s.topic} (${plural(partitions.length, 'partition')}) at ${s.ctx.bootstrap}; ${s.group === undefined ? `no group, from the ${s.from}` : `group ${s.group}`}\n`;
  text += `  ${fmtInt(count)} records, ${(bytes / 1e6).toFixed(2)} MB of values in ${(activeMs / 1000).toFixed(3)} s (stopped by ${json.stoppedBy}${failure === undefined ? '' : `: ${json.error}`})\n`;
  if (firstAt !== undefined) text += `  first record after ${fmtMs(firstAt - start)} ms (connection, ${s.group === undefined ? 'offset lookup' : 'group join'} and first fetch)\n`;
  text += `  throughput: ${fmtRate(recordsPerSec)} records/s, ${mbPerSec.toFixed(2)} MB/s (MB = 10^6 bytes of record values; time from start to the last record)\n`;
  text += `  this process used ${json.processCpu.percentOfOneCore}% of one core\n`;
  if (ageSummary) text += latencyText(`age on arrival of the ${fmtInt(age.count)} records stamped by fjord perf (ms, wall clock: now - send time):`, ageSummary);
  else if (count > 0) text += `  no record carries a fjord perf send stamp, so no age is reported\n`;
  if (unstamped > 0 && ageSummary) text += `  (${fmtInt(unstamped)} records without a stamp)\n`;
  return { exitCode: failure === undefined ? 0 : 1, json, text };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
