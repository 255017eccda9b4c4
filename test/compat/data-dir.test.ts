// A corrupt or truncated file in the data dir is recovered from or reported by name at start-up,
// never silently served: a .log truncated mid-batch (after a clean shutdown and after kill -9), garbage
// after the last batch, garbage in .index/.timeindex files, garbage in checkpoint files. "Recovered"
// means: every complete batch before the damage is served exactly, nothing after it, the high
// watermark ends at the last complete batch, lookups by offset and time are right, and new writes
// take the next offsets. "Reported" means the broker refuses to start and names the file.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, readFile, readdir, stat, truncate, writeFile, appendFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { BrokerStartError, startBroker, type Broker } from '../harness/broker.js';
import { kcatConsume, kcatQuery } from '../harness/kcat.js';
import { consumeCk, createTopics, produceCk, watermarksCk } from '../harness/fixtures.js';
import { segments } from '../harness/datadir.js';
import { makeTempDir, removeTempDir } from '../harness/util.js';
import { batchesOf } from '../harness/wire.js';
import type { ReadRecord } from '../harness/records.js';

const topic = 'dd';
const count = 500;
const t0 = Math.floor(Date.now() / 1000) * 1000 - 600_000;
const valueOf = (i: number): string => `value-${i}-${'d'.repeat(60)}`;
let pristine: string; // a cleanly shut down data dir, copied for each case
let expected: ReadRecord[];
const cleanup: string[] = [];

before(async () => {
  const b = await startBroker();
  try {
    await createTopics(b.bootstrap, [{ name: topic, config: { 'segment.bytes': '16384', 'index.interval.bytes': '512' } }]);
    await produceCk(
      b.bootstrap,
      topic,
      Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: valueOf(i), headers: [], partition: 0, timestamp: t0 + i * 100 })),
      { config: { 'batch.num.messages': 10, 'linger.ms': 0 } },
    );
    expected = await consumeCk(b.bootstrap, [{ topic, partitions: [0] }]);
    assert.equal(expected.length, count);
    assert.equal(await b.stop(), 0);
    pristine = await makeTempDir('fjord-pristine-');
    await cp(b.dataDir, pristine, { recursive: true });
  } finally {
    await b.dispose();
  }
  assert.ok((await segments(pristine, topic, 0)).length >= 3, 'need several segments');
}, { timeout: 180_000 });
after(async () => {
  for (const d of [pristine, ...cleanup]) if (d) await removeTempDir(d);
}, { timeout: 180_000 });

async function copyOfPristine(): Promise<string> {
  const dir = await makeTempDir('fjord-case-');
  cleanup.push(dir);
  await cp(pristine, dir, { recursive: true });
  return dir;
}

type Outcome = { kind: 'reported'; logs: string } | { kind: 'started'; broker: Broker };

async function start(dataDir: string): Promise<Outcome> {
  try {
    return { kind: 'started', broker: await startBroker({ dataDir }) };
  } catch (e) {
    if (e instanceof BrokerStartError) return { kind: 'reported', logs: e.logs };
    throw e;
  }
}

/** Recovered: exactly the first `survivors` records are served, and new writes continue at `survivors`. */
async function assertRecovered(b: Broker, survivors: number, what: string): Promise<void> {
  const [low, high] = (await watermarksCk(b.bootstrap, topic, [0]))[0]!;
  assert.deepEqual([low, high], [0, survivors], `${what}: watermarks`);
  const read = await consumeCk(b.bootstrap, [{ topic, partitions: [0] }]);
  assert.equal(read.length, survivors, `${what}: records served`);
  read.forEach((r, i) => {
    assert.equal(r.offset, i, `${what}: offset`);
    assert.equal(r.value, expected[i]!.value, `${what}: value at ${i}`);
    assert.equal(r.timestamp, expected[i]!.timestamp, `${what}: timestamp at ${i}`);
  });
  const d = await produceCk(b.bootstrap, topic, [{ key: 'after', value: 'after-recovery', headers: [], partition: 0 }]);
  assert.equal(d[0]!.offset, survivors, `${what}: the next write takes the next offset`);
}

/** For truncation: how many records remain when the file is cut at `cut` (complete batches only). */
async function survivorsAfterCut(dataDir: string, file: string, cut: number): Promise<number> {
  const bytes = await readFile(file);
  const complete = batchesOf(bytes.subarray(0, cut));
  const last = complete[complete.length - 1];
  if (last) return last.baseOffset + last.lastOffsetDelta + 1;
  const segs = await segments(dataDir, topic, 0);
  return segs.find((s) => s.path === file)!.baseOffset;
}

async function runCase(what: string, damagedFile: string, dataDir: string, survivors: number): Promise<void> {
  const o = await start(dataDir);
  if (o.kind === 'reported') {
    assert.ok(o.logs.includes(basename(damagedFile)), `${what}: the broker refused to start without naming ${basename(damagedFile)}:\n${o.logs.slice(-3000)}`);
    return;
  }
  try {
    await assertRecovered(o.broker, survivors, what);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- broker ---\n${o.broker.logs().slice(-3000)}`, { cause: e });
  } finally {
    await o.broker.dispose();
  }
}

describe('damaged data dir at start-up', () => {
  test('last .log truncated mid-batch after a clean shutdown', { timeout: 90_000 }, async () => {
    const dir = await copyOfPristine();
    const last = (await segments(dir, topic, 0)).at(-1)!;
    const cut = last.bytes - 37;
    const survivors = await survivorsAfterCut(dir, last.path, cut);
    assert.ok(survivors < count);
    await truncate(last.path, cut);
    await runCase('truncated after clean shutdown', last.path, dir, survivors);
  });

  test('older segment .log truncated mid-batch (a hole in the middle of the log)', { timeout: 90_000 }, async () => {
    const dir = await copyOfPristine();
    const segs = await segments(dir, topic, 0);
    const victim = segs[1]!;
    const cut = Math.floor(victim.bytes / 2);
    const survivors = await survivorsAfterCut(dir, victim.path, cut);
    await truncate(victim.path, cut);
    // Serving the next segment after a hole would break offset contiguity; Kafka would also truncate
    // (or refuse). Either the log ends at the hole or start-up names the file.
    await runCase('truncated middle segment', victim.path, dir, survivors);
  });

  test('garbage after the last batch of the last .log', { timeout: 90_000 }, async () => {
    const dir = await copyOfPristine();
    const last = (await segments(dir, topic, 0)).at(-1)!;
    await appendFile(last.path, Buffer.from('00000000000000640000000002garbage-garbage-garbage-garbage-garbage', 'ascii'));
    await runCase('garbage tail', last.path, dir, count);
  });

  test('.log truncated mid-batch after kill -9', { timeout: 90_000 }, async () => {
    const dir = await copyOfPristine();
    const b = await startBroker({ dataDir: dir });
    let survivors: number;
    let victim: string;
    try {
      await produceCk(b.bootstrap, topic, Array.from({ length: 50 }, (_, i) => ({ key: `x${i}`, value: `extra-${i}`, headers: [], partition: 0 })), {
        config: { 'batch.num.messages': 10, 'linger.ms': 0 },
      });
      await b.kill9();
      const last = (await segments(dir, topic, 0)).at(-1)!;
      victim = last.path;
      const cut = last.bytes - 20;
      survivors = await survivorsAfterCut(dir, last.path, cut);
      await truncate(last.path, cut);
    } finally {
      await b.dispose();
    }
    // Records past `count` are the extra ones; compare only what `expected` knows, then the count.
    const o = await start(dir);
    if (o.kind === 'reported') {
      assert.ok(o.logs.includes(basename(victim)), `refused to start without naming ${basename(victim)}:\n${o.logs.slice(-3000)}`);
      return;
    }
    try {
      const [low, high] = (await watermarksCk(o.broker.bootstrap, topic, [0]))[0]!;
      assert.deepEqual([low, high], [0, survivors]);
      const read = await consumeCk(o.broker.bootstrap, [{ topic, partitions: [0] }]);
      assert.equal(read.length, survivors);
      assert.ok(read.every((r, i) => r.offset === i && r.value === (i < count ? expected[i]!.value : `extra-${i - count}`)));
      const d = await produceCk(o.broker.bootstrap, topic, [{ key: 'after', value: 'after', headers: [], partition: 0 }]);
      assert.equal(d[0]!.offset, survivors);
    } finally {
      await o.broker.dispose();
    }
  });

  test('garbage in the .index and .timeindex of an old segment', { timeout: 90_000 }, async () => {
    const dir = await copyOfPristine();
    const first = (await segments(dir, topic, 0))[0]!;
    const index = first.path.replace(/\.log$/, '.index');
    const timeindex = first.path.replace(/\.log$/, '.timeindex');
    for (const f of [index, timeindex]) {
      const size = (await stat(f)).size;
      assert.ok(size > 0, `${f} is empty; expected index entries with index.interval.bytes=512`);
      const junk = Buffer.alloc(size);
      for (let i = 0; i < size; i++) junk[i] = (i * 131 + 17) & 0xff;
      await writeFile(f, junk);
    }
    const o = await start(dir);
    if (o.kind === 'reported') {
      assert.ok(o.logs.includes(basename(index)) || o.logs.includes(basename(timeindex)), `refused to start without naming the index:\n${o.logs.slice(-3000)}`);
      return;
    }
    try {
      // Lookups that go through the damaged indexes must still be right.
      for (const off of [0, 7, 33, 64, 100, 150]) {
        const r = await kcatConsume(o.broker.bootstrap, topic, { partition: 0, offset: off, count: 1 });
        assert.equal(r[0]?.offset, off, `fetch from offset ${off}`);
        assert.equal(r[0]?.value, valueOf(off));
      }
      for (const i of [0, 5, 42, 99]) assert.equal(await kcatQuery(o.broker.bootstrap, topic, 0, t0 + i * 100), i, `offset for time of record ${i}`);
      await assertRecovered(o.broker, count, 'garbage index');
    } finally {
      await o.broker.dispose();
    }
  });

  test('garbage in every checkpoint file', { timeout: 90_000 }, async () => {
    const dir = await copyOfPristine();
    const found: string[] = [];
    const walk = async (d: string): Promise<void> => {
      for (const e of await readdir(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) await walk(p);
        else if (/checkpoint/i.test(e.name)) found.push(p);
      }
    };
    await walk(dir);
    assert.ok(found.length > 0, `no checkpoint files in the data dir: ${(await readdir(dir)).join(', ')}`);
    for (const f of found) await writeFile(f, 'garbage\n\u0000\u00ff not a checkpoint\n');
    const o = await start(dir);
    if (o.kind === 'reported') {
      assert.ok(found.some((f) => o.logs.includes(basename(f))), `refused to start without naming a checkpoint file:\n${o.logs.slice(-3000)}`);
      return;
    }
    try {
      await assertRecovered(o.broker, count, 'garbage checkpoints');
    } finally {
      await o.broker.dispose();
    }
  });
});
