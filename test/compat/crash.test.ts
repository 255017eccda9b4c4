// Acceptance: kill -9 the broker while confluent-kafka-python produces with acks=all; restart on the
// same data dir and port. Every acknowledged record is at its acknowledged offset, offsets are
// contiguous from 0 (no gaps, no offset used twice), and the producer's writes continue after restart.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBroker, type Broker } from '../harness/broker.js';
import { runPythonRaw } from '../harness/python.js';
import { describeRun } from '../harness/proc.js';
import { consumeCk, createTopics, produceCk, watermarksCk } from '../harness/fixtures.js';
import { makeTempDir, removeTempDir, sleep, waitFor } from '../harness/util.js';
import { startupStats } from '../harness/startup.js';

const topic = 'crash';
const partitions = 3;
const crashes = 3;
let broker: Broker;
let work: string;

before(async () => {
  broker = await startBroker();
  work = await makeTempDir('fjord-crash-');
  await createTopics(broker.bootstrap, [{ name: topic, num_partitions: partitions }]);
}, { timeout: 180_000 });
after(async () => {
  await broker?.dispose();
  if (work) await removeTempDir(work);
}, { timeout: 180_000 });

interface Ack {
  i: number;
  p?: number;
  o?: number;
  t?: number;
  error?: string;
}

async function readAcks(file: string): Promise<Ack[]> {
  if (!existsSync(file)) return [];
  const text = await readFile(file, 'utf8');
  // The last line may be half-written while the producer runs.
  return text
    .split('\n')
    .filter((l) => l.endsWith('}'))
    .map((l) => JSON.parse(l) as Ack);
}

describe('kill -9 during acks=all production', () => {
  test('three crashes: every acknowledged record survives at its offset; offsets contiguous; writes continue', { timeout: 240_000 }, async (t) => {
    const ackFile = join(work, 'acks.jsonl');
    const stopFile = join(work, 'stop');
    const producer = runPythonRaw(
      'ck',
      {
        op: 'crash_producer',
        bootstrap: broker.bootstrap,
        topic,
        partitions,
        ack_file: ackFile,
        stop_file: stopFile,
        max_records: 2_000_000,
        max_seconds: 150,
        value_bytes: 200,
      },
      200_000,
    );
    let producerDone = false;
    void producer.finally(() => {
      producerDone = true;
    });

    const acked = async (since = 0): Promise<number> => (await readAcks(ackFile)).filter((a) => a.error === undefined && (a.t ?? 0) > since).length;
    const failWith = async (e: unknown): Promise<never> => {
      await writeFile(stopFile, '');
      const r = describeRun('producer', await producer);
      throw new Error(`${(e as Error).message}\n${r}\n${broker.logs().slice(-4000)}`);
    };

    // Three crashes, each in the middle of a stream of acknowledged writes; the producer runs
    // throughout and must get acknowledgements again after every restart.
    let lastRestart = 0;
    for (let crash = 1; crash <= crashes; crash++) {
      await waitFor(`3,000 acknowledgements before crash ${crash}`, async () => !producerDone && (await acked(lastRestart)) >= 3000, {
        timeoutMs: 60_000,
        intervalMs: 100,
      }).catch(failWith);
      await broker.kill9();
      await sleep(300); // the producer keeps retrying against a dead port meanwhile
      lastRestart = Date.now();
      await broker.restart({ clean: false });
      const stats = startupStats(broker.currentLogs());
      if (stats) assert.equal(stats.cleanShutdown, false, `after kill -9 the broker must not report a clean shutdown: ${stats.line}`);
    }
    await waitFor('2,000 acknowledgements after the last restart', async () => (await acked(lastRestart)) >= 2000, {
      timeoutMs: 60_000,
      intervalMs: 200,
    }).catch(failWith);
    await writeFile(stopFile, '');
    const run = await producer;
    assert.equal(run.code, 0, describeRun('crash producer', run));
    const summary = JSON.parse(run.stdout.trim().split('\n').pop()!);
    assert.equal(summary.not_delivered, 0, `records left undelivered: ${JSON.stringify(summary)}`);
    const acks = (await readAcks(ackFile)).filter((a) => a.error === undefined);

    // Read what the broker serves after crash recovery.
    const records = await consumeCk(broker.bootstrap, [{ topic }], { maxSeconds: 120 });
    const byPartition = new Map<number, Map<number, string>>();
    for (const r of records) {
      let m = byPartition.get(r.partition);
      if (!m) byPartition.set(r.partition, (m = new Map()));
      assert.ok(!m.has(r.offset), `offset ${r.offset} of partition ${r.partition} read twice`);
      m.set(r.offset, r.value!);
    }
    // Contiguous offsets 0..n-1 in every partition.
    for (let p = 0; p < partitions; p++) {
      const m = byPartition.get(p) ?? new Map<number, string>();
      const offsets = [...m.keys()].sort((a, b) => a - b);
      const gaps = offsets.filter((o, i) => o !== i);
      assert.deepEqual(gaps.slice(0, 5), [], `partition ${p}: offsets not contiguous from 0 (first bad: ${gaps[0]})`);
    }
    // Every acknowledged record is at its acknowledged offset, and no two acks share an offset.
    const seen = new Set<string>();
    const lost: string[] = [];
    for (const a of acks) {
      const pos = `${a.p}@${a.o}`;
      assert.ok(!seen.has(pos), `two acknowledged records at ${pos}`);
      seen.add(pos);
      const v = byPartition.get(a.p!)?.get(a.o!);
      if (v === undefined || !v.startsWith(`rec-${a.i}|`)) lost.push(`record ${a.i} acked at ${pos}, found ${v === undefined ? 'nothing' : v.slice(0, 20)}`);
    }
    assert.deepEqual(lost.slice(0, 10), [], `${lost.length} of ${acks.length} acknowledged records lost or moved`);

    t.diagnostic(`${acks.length} records acknowledged, ${records.length} stored, ${summary.produced} produced, ${crashes} crashes`);
    // A clean restart serves the same: nothing recovered was only in memory.
    const before = new Map([...byPartition].map(([p, m]) => [p, m.size]));
    await broker.restart({ clean: true });
    const marks = await watermarksCk(broker.bootstrap, topic, [0, 1, 2]);
    for (let p = 0; p < partitions; p++) assert.deepEqual(marks[p], [0, before.get(p) ?? 0], `partition ${p} after a clean restart`);

    // And a new producer can still write, right after the last offset.
    const d = await produceCk(broker.bootstrap, topic, [{ key: 'after', value: 'after-crash', headers: [], partition: 0 }]);
    assert.equal(d[0]!.offset, before.get(0) ?? 0);
  });
});
