// A KafkaJS consumer-group member run as its own process by the group tests (test/harness/members.ts),
// with the same contract as the Python drivers' group_member op: the request is the first line of
// stdin; "stop" (or the end of stdin) closes the consumer, which leaves the group; events are JSON
// lines on stdout (started, assigned, revoked, rec, commit_failed, error) and the last is "closed".
//
// KafkaJS rebalances eagerly with its round-robin assignor. A "rec" is emitted only once its offset
// is committed (commit = "sync"): a record whose commit fails is not resolved, so KafkaJS reads it
// again from the last resolved offset (or the new owner reads it from the committed offset).
import { createInterface } from 'node:readline';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaType, logLevel as LogLevelType, Consumer, EachBatchPayload } from 'kafkajs';

const { Kafka, logLevel } = kafkajs as unknown as { Kafka: typeof KafkaType; logLevel: typeof LogLevelType };

interface MemberRequest {
  bootstrap: string;
  group: string;
  topic: string;
  commit?: 'sync' | 'none' | 'auto';
  session_timeout_ms?: number;
  heartbeat_ms?: number;
  process_ms?: number;
  max_records?: number;
  max_seconds?: number;
  limits?: Record<string, number>;
  client_id?: string;
}

function emit(ev: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ...ev, t: Date.now() })}\n`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const lines = createInterface({ input: process.stdin });
  const iterator = lines[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) throw new Error('kafkajs-member: no request on stdin');
  const req = JSON.parse(first.value) as MemberRequest;

  let stopRequested = false;
  let wake: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const requestStop = (): void => {
    stopRequested = true;
    wake();
  };
  void (async () => {
    for (;;) {
      const next = await iterator.next();
      if (next.done || next.value.trim() === 'stop') break;
    }
    requestStop();
  })();

  const kafka = new Kafka({
    clientId: req.client_id ?? 'fjord-kafkajs-member',
    brokers: [req.bootstrap],
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1_000 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry: { level: number; log: { message: string } }) => {
      process.stderr.write(`kafkajs ${entry.level} ${JSON.stringify(entry.log)}\n`);
    },
  });
  const consumer: Consumer = kafka.consumer({
    groupId: req.group,
    sessionTimeout: req.session_timeout_ms ?? 6_000,
    heartbeatInterval: req.heartbeat_ms ?? 500,
    rebalanceTimeout: 20_000,
    maxWaitTimeInMs: 100,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
  const topic = req.topic;
  const commit = req.commit ?? 'sync';
  const limits = new Map(Object.entries(req.limits ?? {}).map(([p, o]) => [Number(p), o]));
  const counts = { processed: 0, commit_failed: 0, rebalances: 0 };
  let current: number[] = [];

  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    counts.rebalances++;
    const assignment = e.payload.memberAssignment as Record<string, number[]>;
    current = [...(assignment[topic] ?? [])].sort((a, b) => a - b);
    emit({ ev: 'assigned', added: current, now: current, member_id: e.payload.memberId, leader: e.payload.isLeader });
  });
  consumer.on(consumer.events.REBALANCING, () => {
    const removed = current;
    current = [];
    emit({ ev: 'revoked', removed, now: [] });
  });
  consumer.on(consumer.events.CRASH, (e) => {
    emit({ ev: 'error', err: { name: e.payload.error.name, str: e.payload.error.message }, restart: e.payload.restart });
  });

  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  emit({ ev: 'started', pid: process.pid });

  const maxRecords = req.max_records ?? Number.POSITIVE_INFINITY;
  const eachBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary, pause }: EachBatchPayload): Promise<void> => {
    const p = batch.partition;
    for (const m of batch.messages) {
      if (!isRunning() || isStale() || stopRequested || counts.processed >= maxRecords) return;
      const o = Number(m.offset);
      const limit = limits.get(p);
      if (limit !== undefined && o >= limit) {
        // Records past the limit are neither processed nor committed; stop fetching them.
        pause();
        return;
      }
      if (req.process_ms) await sleep(req.process_ms);
      if (commit === 'sync') {
        try {
          await commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition: p, offset: String(o + 1) }] }] });
        } catch (e) {
          counts.commit_failed++;
          emit({ ev: 'commit_failed', p, o, err: { name: (e as Error).name, str: (e as Error).message } });
          throw e; // unresolved: read again; a rebalance error makes KafkaJS rejoin
        }
      }
      resolveOffset(m.offset);
      counts.processed++;
      emit({ ev: 'rec', p, o, k: m.key?.toString('utf8') ?? null, v: m.value?.toString('utf8') ?? null });
      if (counts.processed >= maxRecords) requestStop();
      await heartbeat();
    }
  };
  await consumer.run({ autoCommit: commit === 'auto', eachBatchAutoResolve: false, eachBatch });

  const maxMs = (req.max_seconds ?? 120) * 1000;
  await Promise.race([stopped, sleep(maxMs)]);
  emit({ ev: 'closing' });
  await consumer.disconnect();
  emit({ ...counts, ev: 'closed', now: current });
  process.exit(0);
}

main().catch((e: unknown) => {
  process.stderr.write(`kafkajs-member: ${(e as Error).stack ?? String(e)}\n`);
  emit({ ev: 'fatal', err: String(e) });
  process.exit(3);
});
