// KafkaJS processes for the exactly-once crash checker (test/compat/eos-crash.test.ts), with the
// contract and log format of test/python/txn_checker.py, so the checker cannot tell the clients
// apart: the request is the first line of stdin; "stop" (or the end of stdin) finishes; a line
// {"targets": {...}} asks a reader to finish once it has read that far; the result is the last
// stdout line.
//
// - txn_producer: a KafkaJS transactional producer (idempotent, one request in flight). Outcomes as
//   in txn_checker.py: "commit" when commit() resolved, "abort" when abort() resolved (chosen, or
//   after a failed send: KafkaJS sent no EndTxn commit then), "unknown" for everything else. KafkaJS
//   does not say whether a failed commit may still have happened, so a failed commit is unknown and
//   the producer is replaced (a new InitProducerId for the same transactional id fences the old one).
// - reader: a KafkaJS group consumer (KafkaJS has no group-less consumer), read_committed (its
//   default), subscribed to every topic from the beginning; every record to the log as
//   [topic, partition, offset, value]. Its aborted-transaction filter is replaced by the Java
//   client's (kafkajs-aborted-order.ts says why).
//
// Every KafkaJS call is bounded: its retries are limited and each transactional step has a timeout.
import './kafkajs-aborted-order.js'; // first: it must patch KafkaJS before KafkaJS loads
import { appendFileSync, openSync, closeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaType, logLevel as LogLevelType, Producer, Consumer } from 'kafkajs';

const { Kafka, logLevel } = kafkajs as unknown as { Kafka: typeof KafkaType; logLevel: typeof LogLevelType };

interface BaseRequest {
  op: 'txn_producer' | 'reader';
  bootstrap: string;
  name: string;
  topics: Record<string, number>;
  log_file: string;
  max_seconds?: number;
}

interface ProducerRequest extends BaseRequest {
  transactional_id: string;
  seed?: number;
  abort_ratio?: number;
  records_min?: number;
  records_max?: number;
  pause_ms?: number;
  max_txns?: number;
  op_timeout_ms?: number;
  transaction_timeout_ms?: number;
}

interface ReaderRequest extends BaseRequest {
  group: string;
  drain_seconds?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class TimeoutError extends Error {}

async function bounded<T>(what: string, ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new TimeoutError(`${what}: no result within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** A seeded PRNG (mulberry32), so a producer's choices replay from its seed. */
function rngFrom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** JSON lines appended synchronously: the log survives a kill -9 of this process. */
class Log {
  private readonly fd: number;
  constructor(path: string) {
    this.fd = openSync(path, 'a');
  }
  write(obj: unknown): void {
    appendFileSync(this.fd, `${JSON.stringify(obj)}\n`);
  }
  close(): void {
    closeSync(this.fd);
  }
}

interface Control {
  stop: boolean;
  targets: Record<string, number> | null;
  wake: () => void;
}

function readControl(lines: AsyncIterator<string>): Control {
  const control: Control = { stop: false, targets: null, wake: () => {} };
  void (async () => {
    for (;;) {
      const next = await lines.next();
      if (next.done || next.value.trim() === 'stop') break;
      const line = next.value.trim();
      if (line.startsWith('{')) {
        const msg = JSON.parse(line) as { targets?: Record<string, number> };
        if (msg.targets) control.targets = msg.targets;
        control.wake();
      }
    }
    control.stop = true;
    control.wake();
  })();
  return control;
}

function errJson(e: unknown): Record<string, unknown> {
  const err = e as { name?: string; message?: string; type?: string; retriable?: boolean };
  return { name: err.name ?? typeof e, str: err.message ?? String(e), type: err.type, retriable: err.retriable };
}

function kafkaFor(req: BaseRequest): KafkaType {
  return new Kafka({
    clientId: req.name,
    brokers: [req.bootstrap],
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    retry: { retries: 6, initialRetryTime: 100, maxRetryTime: 1_000 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry: { level: number; log: { message: string } }) => {
      process.stderr.write(`kafkajs ${entry.level} ${JSON.stringify(entry.log).slice(0, 500)}\n`);
    },
  });
}

async function txnProducer(req: ProducerRequest, control: Control): Promise<Record<string, unknown>> {
  const rng = rngFrom(req.seed ?? 1);
  const randint = (lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));
  const log = new Log(req.log_file);
  const kafka = kafkaFor(req);
  const deadline = Date.now() + (req.max_seconds ?? 60) * 1000;
  const opMs = req.op_timeout_ms ?? 10_000;
  const allParts: Array<[string, number]> = [];
  for (const t of Object.keys(req.topics).sort()) for (let p = 0; p < req.topics[t]!; p++) allParts.push([t, p]);
  const counts = { commit: 0, abort: 0, unknown: 0, instances: 0, init_failures: 0 };
  log.write({ ev: 'start', pid: process.pid, name: req.name, tid: req.transactional_id, client: 'KafkaJS 2.2.4' });

  const drop = (p: Producer): void => {
    // Not awaited for long: a producer stuck on a dead connection must not hold the run up.
    void bounded('disconnect', 2_000, p.disconnect()).catch(() => {});
  };
  const newProducer = async (): Promise<Producer | null> => {
    while (Date.now() < deadline && !control.stop) {
      counts.instances++;
      const p = kafka.producer({
        transactionalId: req.transactional_id,
        idempotent: true,
        maxInFlightRequests: 1,
        transactionTimeout: req.transaction_timeout_ms ?? 10_000,
        retry: { retries: 6, initialRetryTime: 100, maxRetryTime: 1_000 },
      });
      try {
        await bounded('connect', opMs, p.connect());
        return p;
      } catch (e) {
        counts.init_failures++;
        log.write({ ev: 'init_failed', instance: counts.instances, err: errJson(e) });
        drop(p);
        await sleep(200);
      }
    }
    return null;
  };

  let producer = await newProducer();
  let txn = 0;
  while (producer !== null && !control.stop && Date.now() < deadline && txn < (req.max_txns ?? 1_000_000)) {
    // transaction() runs InitProducerId (with the transactional id) the first time; nothing is sent
    // before it resolves, so a failure here is no transaction at all.
    let tx;
    try {
      tx = await bounded('transaction()', opMs, producer.transaction());
    } catch (e) {
      counts.init_failures++;
      log.write({ ev: 'init_failed', instance: counts.instances, err: errJson(e) });
      drop(producer);
      producer = await newProducer();
      continue;
    }
    txn++;
    const n = randint(req.records_min ?? 2, req.records_max ?? 6);
    const pool = [...allParts];
    const width = Math.min(pool.length, Math.max(2, randint(2, n)));
    const parts: Array<[string, number]> = [];
    for (let i = 0; i < width; i++) parts.push(pool.splice(Math.floor(rng() * pool.length), 1)[0]!);
    const recs = Array.from({ length: n }, (_, k) => parts[k % parts.length]!);
    for (let i = recs.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [recs[i], recs[j]] = [recs[j]!, recs[i]!];
    }
    const choice = rng() < (req.abort_ratio ?? 0.3) ? 'abort' : 'commit';
    log.write({ ev: 'begin', txn, recs, plan: choice });
    const byTopic = new Map<string, Array<{ key: string; value: string; partition: number }>>();
    recs.forEach(([t, p], k) => {
      if (!byTopic.has(t)) byTopic.set(t, []);
      byTopic.get(t)!.push({ key: req.name, value: `${req.name}/${txn}/${k}/${n}`, partition: p });
    });
    let stage = 'send';
    try {
      await bounded('sendBatch', opMs, tx.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) }));
      if (choice === 'commit') {
        stage = 'commit';
        await bounded('commit', opMs, tx.commit());
        log.write({ ev: 'commit', txn });
        counts.commit++;
      } else {
        stage = 'abort';
        await bounded('abort', opMs, tx.abort());
        log.write({ ev: 'abort', txn, why: 'chosen' });
        counts.abort++;
      }
    } catch (e) {
      let aborted = false;
      if (stage === 'send') {
        try {
          await bounded('abort after a failed send', opMs, tx.abort());
          aborted = true;
        } catch (e2) {
          log.write({ ev: 'unknown', txn, err: { first: errJson(e), abort: errJson(e2) } });
        }
      } else {
        log.write({ ev: 'unknown', txn, err: errJson(e), stage });
      }
      if (aborted) {
        log.write({ ev: 'abort', txn, why: 'after-error', err: errJson(e) });
        counts.abort++;
      } else {
        counts.unknown++;
        drop(producer);
        producer = await newProducer();
      }
    }
    await sleep(rng() * (req.pause_ms ?? 5));
  }
  if (producer !== null) await bounded('disconnect', 5_000, producer.disconnect()).catch(() => {});
  log.write({ ev: 'end', txns: txn });
  log.close();
  return { ...counts, txns: txn, name: req.name };
}

async function reader(req: ReaderRequest, control: Control): Promise<Record<string, unknown>> {
  const log = new Log(req.log_file);
  const kafka = kafkaFor(req);
  const consumer: Consumer = kafka.consumer({
    groupId: req.group,
    sessionTimeout: 6_000,
    heartbeatInterval: 500,
    rebalanceTimeout: 10_000,
    maxWaitTimeInMs: 100,
    readUncommitted: false,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
  const seenMax = new Map<string, number>();
  const counts = { records: 0, errors: 0, crashes: 0 };
  consumer.on(consumer.events.CRASH, (e) => {
    counts.crashes++;
    process.stderr.write(`kafkajs reader crash (restart ${e.payload.restart}): ${e.payload.error.message}\n`);
  });
  await bounded('consumer connect', 15_000, consumer.connect());
  await bounded('subscribe', 15_000, consumer.subscribe({ topics: Object.keys(req.topics).sort(), fromBeginning: true }));
  const reachedAll = (): boolean => control.targets !== null && Object.entries(control.targets).every(([k, o]) => (seenMax.get(k) ?? -1) >= o);
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      const o = Number(message.offset);
      log.write([topic, partition, o, message.value?.toString('utf8') ?? null]);
      counts.records++;
      const k = `${topic}:${partition}`;
      if (o > (seenMax.get(k) ?? -1)) seenMax.set(k, o);
      if (reachedAll()) control.wake();
    },
  });
  const end = Date.now() + (req.max_seconds ?? 120) * 1000;
  let drainEnd: number | null = null;
  while (!control.stop && Date.now() < end) {
    if (control.targets !== null) {
      drainEnd ??= Date.now() + (req.drain_seconds ?? 20) * 1000;
      if (reachedAll() || Date.now() >= drainEnd) break;
    }
    await new Promise<void>((resolve) => {
      control.wake = resolve;
      setTimeout(resolve, 100);
    });
  }
  const reached = reachedAll();
  const missing: Record<string, [number, number]> = {};
  for (const [k, o] of Object.entries(control.targets ?? {})) if ((seenMax.get(k) ?? -1) < o) missing[k] = [seenMax.get(k) ?? -1, o];
  await bounded('consumer disconnect', 10_000, consumer.disconnect()).catch(() => {});
  log.close();
  return { ...counts, ev: 'closed', reached, missing };
}

async function main(): Promise<void> {
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done) throw new Error('kafkajs-eos: no request on stdin');
  const req = JSON.parse(first.value) as BaseRequest;
  const control = readControl(lines);
  const result = req.op === 'txn_producer' ? await txnProducer(req as ProducerRequest, control) : await reader(req as ReaderRequest, control);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

main().catch((e: unknown) => {
  process.stderr.write(`kafkajs-eos: ${(e as Error).stack ?? String(e)}\n`);
  process.stdout.write(`${JSON.stringify({ fatal: String(e) })}\n`);
  process.exit(3);
});
