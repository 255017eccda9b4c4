// Exactly-once under kill -9 (issue 4), after Jepsen's Kafka workloads. Transactional producers
// (three confluent-kafka-python processes and one KafkaJS process, each its own transactional.id)
// write transactions of 2-6 records over 2+ partitions of three topics and commit or abort each at
// random, logging every outcome they were told (commit acknowledged, abort acknowledged, unknown).
// read_committed readers (confluent-kafka-python with assign(), confluent-kafka-python in a group,
// KafkaJS in a group) log every record they read, with its offset. Meanwhile the broker is killed
// with SIGKILL and restarted several times, and one producer process is killed and replaced by a
// new process with the same transactional.id. Afterwards every partition is read from the start at
// read_committed and at read_uncommitted, the running readers are drained to the same end, and the
// checker (test/harness/eos-checker.ts) looks for: aborted reads (G1a), lost writes of
// acknowledged commits, duplicates, partial transactions, inconsistent offsets across readers,
// unknown transactions visible only in part or only to some readers, rewinds, producer order,
// records read and later gone, readers that never reach the end, and transactions left hanging
// (last stable offset below the high watermark).
//
// Bounded: 5 crashes (FJORD_EOS_CRASHES), each 1-5 s after the clients have recovered from the
// previous one (at most 25 s); the whole run takes 30-45 s on this 2-core machine. FJORD_EOS_SEED replays the random choices of producers and of the crash
// timing (the broker's own timing still varies). FJORD_TEST_KEEP=1 keeps every process's log and
// the broker's output in the work dir; FJORD_EOS_DEBUG=eos adds librdkafka's debug log of each
// confluent-kafka producer there. Loopback only; only processes started here are
// signalled, by PID.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBroker, type Broker } from '../harness/broker.js';
import { createTopics } from '../harness/fixtures.js';
import { keepTempDirs, makeTempDir, removeTempDir, sleep, waitFor } from '../harness/util.js';
import { EosProcess, outcomeCounts, partitionEnds, type EosClient } from '../harness/eos.js';
import { check, parseProducerLog, parseReaderLog, type PartitionEnd, type Reader, type Txn } from '../harness/eos-checker.js';

const topics: Record<string, number> = { 'eos-a': 3, 'eos-b': 2, 'eos-c': 2 };
const crashes = Number(process.env['FJORD_EOS_CRASHES'] ?? 5);
const seed = Number(process.env['FJORD_EOS_SEED'] ?? Math.floor(Math.random() * 1_000_000));
/** Commits acknowledged (over all producers) after each restart before the next crash may come. */
const commitsPerRound = 25;
/** Then the broker runs this long more, at random, before it is killed. */
const runMsMin = 1_000;
const runMsMax = 5_000;
const roundMsMax = 20_000;
const producerSeconds = 100;
const readerSeconds = 130;

let broker: Broker;
let work: string;

function rngFrom(s: number): () => number {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

before(async () => {
  broker = await startBroker({ configs: { 'group.initial.rebalance.delay.ms': 0 } });
  work = await makeTempDir('fjord-eos-');
  await createTopics(
    broker.bootstrap,
    Object.entries(topics).map(([name, n]) => ({ name, num_partitions: n })),
  );
}, { timeout: 60_000 });

after(async () => {
  await broker?.dispose();
  if (work && !keepTempDirs) await removeTempDir(work);
}, { timeout: 60_000 });

describe('exactly-once across broker kill -9 (issue 4)', () => {
  test(`transactional producers and read_committed readers across ${crashes} broker crashes: no aborted read, no lost or duplicated write, all-or-nothing, one record per offset`, { timeout: 150_000 }, async (t) => {
    const rng = rngFrom(seed);
    t.diagnostic(`seed ${seed} (FJORD_EOS_SEED=${seed} replays the producers' and the crash timing's choices); work dir ${work}`);
    const started = Date.now();
    const producers: EosProcess[] = [];
    const readers: EosProcess[] = [];
    const all = (): EosProcess[] => [...producers, ...readers];

    const startProducer = (name: string, client: EosClient, tid: string, i: number): EosProcess => {
      const p = new EosProcess(name, client, {
        op: 'txn_producer',
        bootstrap: broker.bootstrap,
        name,
        transactional_id: tid,
        topics,
        log_file: join(work, `producer-${name}.jsonl`),
        seed: seed * 10 + i,
        abort_ratio: 0.3,
        records_min: 2,
        records_max: 6,
        pause_ms: 5,
        op_timeout_ms: 10_000,
        transaction_timeout_ms: 10_000,
        max_seconds: producerSeconds,
        // FJORD_EOS_DEBUG=eos: librdkafka's debug contexts, logged beside the producer's log.
        ...(process.env['FJORD_EOS_DEBUG'] && client === 'ck' ? { debug: process.env['FJORD_EOS_DEBUG'] } : {}),
      });
      producers.push(p);
      return p;
    };
    const startReader = (name: string, client: EosClient, mode: 'assign' | 'group'): EosProcess => {
      const r = new EosProcess(name, client, {
        op: 'reader',
        bootstrap: broker.bootstrap,
        name,
        topics,
        mode,
        group: `eos-${name}`,
        isolation: 'read_committed',
        log_file: join(work, `reader-${name}.jsonl`),
        drain_seconds: 25,
        max_seconds: readerSeconds,
      });
      readers.push(r);
      return r;
    };

    const fail = (message: string): never => {
      throw new Error(`${message}\n${all().map((p) => p.describe()).join('\n')}\n--- broker ---\n${broker.logs().slice(-5000)}`);
    };
    const commits = async (): Promise<number> => {
      let n = 0;
      for (const p of producers) n += outcomeCounts(await p.log()).commit;
      return n;
    };
    const waitCommits = async (what: string, atLeast: number): Promise<void> => {
      const deadline = Date.now() + roundMsMax;
      for (;;) {
        const dead = producers.find((p) => !p.alive && p.exit?.signal !== 'SIGKILL');
        if (dead) fail(`producer ${dead.name} exited during the run`);
        if ((await commits()) >= atLeast) return;
        if (Date.now() >= deadline) fail(`timed out after ${roundMsMax} ms waiting for ${what} (${await commits()} of ${atLeast})`);
        await sleep(100);
      }
    };

    try {
      startReader('ck-assign', 'ck', 'assign');
      startReader('ck-group', 'ck', 'group');
      startReader('kjs-group', 'kjs', 'group');
      startProducer('ck1', 'ck', 'eos-tid-1', 1);
      const victim = startProducer('ck2', 'ck', 'eos-tid-2', 2);
      startProducer('ck3', 'ck', 'eos-tid-3', 3);
      startProducer('kjs1', 'kjs', 'eos-tid-4', 4);

      // Crashes: each once another `commitsPerRound` commits were acknowledged (the clients have
      // recovered from the previous one) and then a random 1-5 s more, so that the kill lands in
      // different phases of the transactions.
      const port = broker.port;
      for (let crash = 1; crash <= crashes; crash++) {
        await waitCommits(`${commitsPerRound} more commits before crash ${crash}`, (await commits()) + commitsPerRound);
        await sleep(runMsMin + Math.floor(rng() * (runMsMax - runMsMin)));
        if (crash === 2) {
          // A producer process dies mid-run; its successor (same transactional.id, a new process)
          // fences it, which must abort or complete whatever it left open.
          await victim.kill9();
          startProducer('ck2b', 'ck', 'eos-tid-2', 5);
        }
        await broker.kill9();
        await sleep(100 + Math.floor(rng() * 600));
        await broker.restart({ clean: false });
        if (broker.port !== port) fail(`the broker came back on port ${broker.port}, not ${port}: the clients cannot follow`);
        t.diagnostic(`crash ${crash} at ${((Date.now() - started) / 1000).toFixed(1)} s (${await commits()} commits so far)`);
      }
      await waitCommits(`${commitsPerRound} commits after the last restart`, (await commits()) + commitsPerRound);

      // Producers finish their current transaction and exit.
      await Promise.all(producers.filter((p) => p.alive).map((p) => p.finish(40_000)));
      for (const p of producers) {
        if (p !== victim && p.exit?.code !== 0) fail(`producer ${p.name} did not finish cleanly`);
      }

      // With every producer gone, no transaction may stay open: the last stable offset reaches the
      // high watermark (a transaction a killed producer left open is aborted by its successor's
      // InitProducerId; one left by a replaced instance at the latest by its timeout, 10 s).
      let ends: PartitionEnd[] = [];
      await waitFor(
        'the last stable offset of every partition to reach its high watermark',
        async () => {
          ends = await partitionEnds(broker.host, broker.port, topics);
          return ends.every((e) => e.lastStableOffset === e.highWatermark);
        },
        { timeoutMs: 20_000, intervalMs: 250 },
      ).catch(() => {
        // reported by the checker's last-stable-offset check, with the offsets
      });

      const finals = (['read_committed', 'read_uncommitted'] as const).map(
        (isolation) =>
          new EosProcess(`final ${isolation}`, 'ck', {
            op: 'final_read',
            bootstrap: broker.bootstrap,
            name: `final-${isolation}`,
            topics,
            isolation,
            log_file: join(work, `final-${isolation}.jsonl`),
            max_seconds: 30,
          }),
      );
      await Promise.all(finals.map((f) => f.exited));
      for (const f of finals) if (f.exit?.code !== 0) fail(`${f.name} failed\n${f.describe()}`);
      const finalRecords = await Promise.all(finals.map(async (f) => parseReaderLog(await f.log())));

      // Drain the running readers to the last record the final read_committed read found.
      const targets: Record<string, number> = {};
      for (const [tp, p, o] of finalRecords[0]!) targets[`${tp}:${p}`] = Math.max(targets[`${tp}:${p}`] ?? -1, o);
      await Promise.all(readers.map((r) => r.finish(40_000, JSON.stringify({ targets }))));

      const txns: Txn[] = [];
      for (const p of producers) txns.push(...parseProducerLog(await p.log(), p.name));
      const history: Reader[] = [];
      for (const r of readers) {
        const res = r.result<{ reached?: boolean; missing?: unknown; records?: number }>();
        if (!res?.reached) t.diagnostic(`${r.name} did not reach the targets: ${JSON.stringify(res)}`);
        history.push({ name: r.name, isolation: 'read_committed', kind: r.request['mode'] === 'assign' ? 'assign' : 'group', complete: res?.reached === true, records: parseReaderLog(await r.log()) });
      }
      finals.forEach((f, i) => {
        const res = f.result<{ eof?: boolean }>();
        history.push({ name: f.name, isolation: i === 0 ? 'read_committed' : 'read_uncommitted', kind: 'final', complete: res?.eof === true, records: finalRecords[i]! });
      });
      const report = check({ txns, readers: history, ends });
      const producerResults = producers.map((p) => `${p.name}: ${JSON.stringify(p.result() ?? { exit: p.exit })}`);
      const text = `${report.text}\n  producers: ${producerResults.join('; ')}\n  ends: ${ends.map((e) => `${e.topic}-${e.partition} hw ${e.highWatermark} lso ${e.lastStableOffset}`).join(', ')}\n  ${crashes} broker crashes, 1 producer killed, ${((Date.now() - started) / 1000).toFixed(1)} s`;
      for (const line of text.split('\n')) t.diagnostic(line);
      if (!report.ok) fail(`exactly-once anomalies (seed ${seed}; logs kept in ${work} with FJORD_TEST_KEEP=1):\n${text}`);
      assert.ok(txns.filter((x) => x.outcome === 'commit').length >= commitsPerRound * (crashes + 1), 'fewer commits than the run waited for');
    } finally {
      await Promise.all(all().filter((p) => p.alive).map((p) => p.kill9().catch(() => {})));
      if (keepTempDirs) await writeFile(join(work, 'broker.log'), broker.logs());
    }
  });
});
