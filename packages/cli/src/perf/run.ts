/** Pieces every perf run shares: the outcome shape, the pacing schedule, bounded waits, failure counts. */
import { Producer, type Acks, type CompressionName, type Logger, type ProducerConfig } from '@fjord/client';
import type { CreateSettings } from './cluster.js';
import type { Context } from '../common.js';

export type StoppedBy = 'count' | 'duration' | 'signal' | 'error';

export interface Outcome {
  /** 0 every record made it, 1 some failed. */
  exitCode: number;
  json: Record<string, unknown>;
  text: string;
}

export interface Common {
  /** --bootstrap, --timeout (start-up requests: is the broker there, does the topic exist), --verbose. */
  ctx: Context;
  topic: string;
  /** Stop after this many records / this long (at least one is set). */
  numRecords: number | undefined;
  durationMs: number | undefined;
  progress: boolean;
  logger: Logger;
}

/** What perf produce and perf e2e share: the records they write and the producer's settings. */
export interface ProducerRunSettings extends Common {
  recordSize: number;
  /** Records/s; -1 for as fast as possible. */
  throughput: number;
  acks: Acks | undefined;
  compression: CompressionName | undefined;
  lingerMs: number | undefined;
  batchBytes: number | undefined;
  idempotent?: boolean | undefined;
  create: CreateSettings | undefined;
  /** After the bound, how long to wait for the acknowledgements of records in flight. */
  drainTimeoutMs: number;
}

/** The run's producer: the settings given, the client's defaults for the rest (`defaults` first). A bad combination is a ConfigError here, before any network work. */
export function runProducer(s: ProducerRunSettings, clientId: string, defaults: Partial<ProducerConfig> = {}): Producer {
  return new Producer({
    bootstrapServers: s.ctx.bootstrap,
    connectTimeoutMs: s.ctx.timeoutMs,
    clientId,
    logger: s.logger,
    ...defaults,
    ...(s.acks === undefined ? {} : { acks: s.acks }),
    ...(s.compression === undefined ? {} : { compression: s.compression }),
    ...(s.lingerMs === undefined ? {} : { lingerMs: s.lingerMs }),
    ...(s.batchBytes === undefined ? {} : { batchBytes: s.batchBytes }),
    ...(s.idempotent === undefined ? {} : { idempotent: s.idempotent }),
  });
}

/** The JSON fields every producing run reports first: what was written, where, and how. */
export function producerRunFields(command: string, s: ProducerRunSettings, producer: Producer, partitions: number) {
  const cfg = producer.config;
  return {
    command,
    topic: s.topic,
    bootstrap: s.ctx.bootstrap,
    partitions,
    recordSize: s.recordSize,
    acks: cfg.acks === -1 ? ('all' as const) : cfg.acks,
    compression: s.compression ?? 'none',
    lingerMs: cfg.lingerMs,
    idempotent: cfg.idempotent,
    targetThroughput: s.throughput,
    bounds: { numRecords: s.numRecords ?? null, durationMs: s.durationMs ?? null },
  };
}

/** Resolves after `ms` or as soon as `signal` aborts; never rejects, and leaves no timer or listener behind once settled. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (!(ms > 0) || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.min(ms, 2_147_483_647));
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Waits for `p` until `deadline` (performance.now() ms) or `signal`; the loser leaves nothing behind. p's rejection is passed on. */
export async function untilDeadline(p: Promise<unknown>, deadline: number, signal: AbortSignal): Promise<void> {
  if (deadline === Infinity) {
    await p;
    return;
  }
  const ac = new AbortController();
  const onStop = (): void => ac.abort();
  signal.addEventListener('abort', onStop, { once: true });
  try {
    await Promise.race([p, sleep(deadline - performance.now(), ac.signal)]);
  } finally {
    ac.abort();
    signal.removeEventListener('abort', onStop);
  }
}

/** Runs `p` for at most `ms`; true if it settled in time. */
export async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = p.then(
    () => true,
    () => true,
  );
  const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([settled, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A fixed-rate schedule: record i is due at start + i/rate, whatever happened to the ones before
 * it. Latency measured from these intended times includes the time a record waited because an
 * earlier one was slow (no coordinated omission).
 */
export class Schedule {
  readonly periodMs: number;
  constructor(
    readonly startMs: number,
    rate: number,
  ) {
    this.periodMs = 1000 / rate;
  }
  intendedAt(i: number): number {
    return this.startMs + i * this.periodMs;
  }
  /** How many records are due by `nowMs` (records 0 .. n-1). */
  dueBy(nowMs: number): number {
    return Math.floor((nowMs - this.startMs) / this.periodMs) + 1;
  }
}

/**
 * Sends records from `sent` on `schedule` (`sendOne(seq)` for each, in order) until `limit` are
 * sent, `deadlineMs` passes, `stop` aborts or `failed()` says the run cannot go on. Sleeps between
 * due records; a run that falls behind sends what is due at once.
 */
export async function sendOnSchedule(o: {
  schedule: Schedule;
  sent: number;
  limit: number;
  deadlineMs: number;
  stop: AbortSignal;
  failed?: () => boolean;
  sendOne: (seq: number) => void;
}): Promise<{ sent: number; stoppedBy: StoppedBy }> {
  let sent = o.sent;
  while (sent < o.limit) {
    if (o.stop.aborted) return { sent, stoppedBy: 'signal' };
    if (o.failed?.()) return { sent, stoppedBy: 'error' };
    const now = performance.now();
    if (now >= o.deadlineMs) return { sent, stoppedBy: 'duration' };
    const due = Math.min(o.limit, o.schedule.dueBy(now));
    if (due <= sent) {
      await sleep(Math.min(o.deadlineMs, o.schedule.intendedAt(sent)) - now, o.stop);
      continue;
    }
    while (sent < due) o.sendOne(sent++);
  }
  return { sent, stoppedBy: 'count' };
}

/** Counts failures by message, so that a report shows what went wrong without a line per record. */
export class Failures {
  count = 0;
  private readonly byMessage = new Map<string, number>();
  add(e: unknown): void {
    this.count++;
    const m = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    this.byMessage.set(m, (this.byMessage.get(m) ?? 0) + 1);
  }
  /** The most frequent messages, most frequent first. */
  top(n = 3): Array<{ error: string; count: number }> {
    return [...this.byMessage].sort((a, b) => b[1] - a[1]).slice(0, n).map(([error, count]) => ({ error, count }));
  }
  text(indent = '  '): string {
    return this.top().map((t) => `${indent}${t.count.toLocaleString('en-US')} x ${t.error}\n`).join('');
  }
}

/** With --verbose the client's info, warn and error entries go to stderr; otherwise none (failures are counted in the report). */
export function stderrLogger(verbose: boolean): Logger {
  return ({ level, message, fields }) => {
    if (!verbose || level === 'debug') return;
    const f = fields ? ` ${JSON.stringify(fields, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}` : '';
    process.stderr.write(`fjord: ${level} ${message}${f}\n`);
  };
}

/** CPU this process used since `since` (process.cpuUsage()), over `wallMs`: tells whether the client side was the limit. */
export function cpuSince(since: NodeJS.CpuUsage, wallMs: number): { userMs: number; systemMs: number; percentOfOneCore: number } {
  const d = process.cpuUsage(since);
  const userMs = Math.round(d.user / 1000);
  const systemMs = Math.round(d.system / 1000);
  return { userMs, systemMs, percentOfOneCore: wallMs > 0 ? Math.round(((userMs + systemMs) / wallMs) * 100) : 0 };
}
