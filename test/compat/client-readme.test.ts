// The runnable examples of packages/client/README.md (issue 5: "documented with runnable examples"),
// run as a user would run them: every ```js block is written to a file and started with node
// against a broker started here, in the README's order of use (page views in, per-page counts out,
// then the admin, transactions and KafkaJS-facade blocks). What they did is checked with kcat
// (librdkafka) and the admin client, not only by their own output. A block added to the README
// without a case here fails the first test, so the examples cannot drift from what runs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Admin } from '@fjord/client';
import { startBroker, type Broker } from '../harness/broker.js';
import { kcatConsume } from '../harness/kcat.js';
import { keyPartition } from '../harness/murmur2.js';
import { describeRun, repoRoot, run, spawnTracked, type RunResult } from '../harness/proc.js';
import { makeTempDir, removeTempDir, waitFor } from '../harness/util.js';

interface Example {
  /** The `## ` heading the block stands under. */
  section: string;
  code: string;
}

/** Every ```js block of the README with its section heading, in order. */
function readmeExamples(file: string): Example[] {
  const out: Example[] = [];
  let section = '';
  let code: string[] | null = null;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (code !== null) {
      if (line.startsWith('```')) {
        out.push({ section, code: code.join('\n') + '\n' });
        code = null;
      } else code.push(line);
    } else if (line.startsWith('## ')) section = line.slice(3).trim();
    else if (line.trim() === '```js') code = [];
  }
  return out;
}

const sections = {
  produce: 'Produce page-view events',
  count: 'Count page views (consumer)',
  transactions: 'Transactions',
  admin: 'Admin',
  kafkajs: 'KafkaJS facade',
};
const pages = ['/home', '/pricing', '/docs', '/blog'];

let broker: Broker;
let dir: string;
let admin: Admin;
const examples = readmeExamples(join(repoRoot, 'packages', 'client', 'README.md'));

before(async () => {
  broker = await startBroker({ configs: { 'group.initial.rebalance.delay.ms': 0 } });
  admin = new Admin({ bootstrapServers: broker.bootstrap });
  // The examples import '@fjord/client' as an application would: through a node_modules beside them.
  dir = await makeTempDir('fjord-readme-');
  await symlink(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
}, { timeout: 180_000 });
after(async () => {
  await admin?.close().catch(() => {});
  await broker?.dispose();
  if (dir) await removeTempDir(dir);
}, { timeout: 180_000 });

/**
 * The block of `section`, as a file of the temp dir: its broker address is this test's broker. A
 * fragment (no import of its own) gets the imports and `bootstrapServers` it assumes.
 */
async function exampleFile(section: string): Promise<string> {
  const ex = examples.find((e) => e.section === section);
  assert.ok(ex, `packages/client/README.md has no js block under "## ${section}"`);
  let code = ex.code.replaceAll('localhost:9092', broker.bootstrap);
  if (!/^import /m.test(code)) code = `import { Admin, Consumer, Producer } from '@fjord/client';\nconst bootstrapServers = process.env.FJORD;\n${code}`;
  const file = join(dir, `${section.replace(/\W+/g, '-').toLowerCase()}.mjs`);
  await writeFile(file, code);
  return file;
}

const env = (): NodeJS.ProcessEnv => ({ ...process.env, FJORD: broker.bootstrap });

async function runExample(section: string, timeoutMs = 60_000): Promise<RunResult> {
  const r = await run(process.execPath, [await exampleFile(section)], { timeoutMs, cwd: dir, env: env() });
  assert.equal(r.code, 0, describeRun(`README example "${section}"`, r));
  return r;
}

/**
 * Starts a block that runs until it is stopped, waits until its stdout has a line `done` accepts,
 * then sends `signal` and waits for the exit. Resolves with that line, stdout, stderr and the exit.
 */
async function runUntil(section: string, done: (line: string) => boolean, signal: NodeJS.Signals, timeoutMs = 60_000) {
  const child = spawnTracked(process.execPath, [await exampleFile(section)], { cwd: dir, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let line: string | undefined;
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    line ??= stdout.split('\n').slice(0, -1).find(done);
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await waitFor(`README example "${section}" to print what it should`, () => line !== undefined || child.exitCode !== null, { timeoutMs, intervalMs: 50 });
    assert.ok(line !== undefined, `README example "${section}" exited (${child.exitCode}) before printing what it should\n--- stderr ---\n${stderr}\n--- stdout ---\n${stdout}`);
    child.kill(signal);
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000).unref())]);
    return { line, stdout, stderr, code };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

describe('packages/client/README.md examples', () => {
  test('every js block of the README is one of the examples run below', () => {
    assert.deepEqual(
      examples.map((e) => e.section),
      [sections.produce, sections.count, sections.transactions, sections.admin, sections.kafkajs],
    );
  });

  test('page-views.mjs: one awaited record and 10,000 with ready(), keyed by page; kcat reads them all', { timeout: 120_000 }, async () => {
    const r = await runExample(sections.produce);
    const stored = /^\/home view stored at page-views-(\d+)@(\d+)$/m.exec(r.stdout);
    assert.ok(stored, describeRun('no "stored at" line', r));
    assert.equal(Number(stored[1]), keyPartition('/home', 3), 'the same partition as the Java client and murmur2_random');
    assert.match(r.stdout, /^10000 of 10000 acknowledged$/m);

    const records = await kcatConsume(broker.bootstrap, 'page-views');
    assert.equal(records.length, 10_001);
    for (const page of pages) {
      const ofPage = records.filter((x) => x.key === page);
      assert.equal(ofPage.length, page === '/home' ? 2501 : 2500, page);
      assert.ok(ofPage.every((x) => x.partition === keyPartition(page, 3)), `${page}: every record in partition ${keyPartition(page, 3)}`);
      assert.ok(ofPage.every((x) => (JSON.parse(x.value!) as { page: string }).page === page), `${page}: values name their page`);
    }
    const first = records.find((x) => x.partition === Number(stored[1]) && x.offset === Number(stored[2]));
    assert.deepEqual(first?.headers, [['source', 'web']]);
  });

  test('page-counts.mjs: counts every view per page, and Ctrl-C closes it with its offsets committed', { timeout: 120_000 }, async () => {
    // console.log of the counts object: { '/home': 2501, '/pricing': 2500, ... }
    const countsOf = (line: string): Record<string, number> => Object.fromEntries([...line.matchAll(/'([^']+)': (\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
    const counted = (line: string): boolean => Object.values(countsOf(line)).reduce((a, b) => a + b, 0) >= 10_001;
    const r = await runUntil(sections.count, counted, 'SIGINT');
    assert.deepEqual(countsOf(r.line!), { '/home': 2501, '/pricing': 2500, '/docs': 2500, '/blog': 2500 });
    assert.equal(r.code, 0, `page-counts.mjs after SIGINT: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, /^assigned page-views-\d page-views-\d page-views-\d$/m);
    const lag = await admin.groupLag('page-counter');
    assert.equal(lag.length, 3);
    for (const p of lag) assert.equal(p.lag, 0n, `page-views-${p.partition}: committed ${p.committed} of ${p.logEndOffset}`);
  });

  test('the admin block: partitions, a config, lag, and the group reset to an hour ago', { timeout: 120_000 }, async () => {
    const r = await runExample(sections.admin);
    for (let p = 0; p < 3; p++) assert.match(r.stdout, new RegExp(`^page-views-${p} \\d+n \\d+n 0n$`, 'm'), describeRun('groupLag line', r));
    const [topic] = await admin.describeTopics(['page-views']);
    assert.equal(topic?.partitions.length, 6);
    const [configs] = await admin.describeConfigs([{ type: 'topic', name: 'page-views', keys: ['retention.ms'] }]);
    assert.equal(configs?.entries.find((e) => e.name === 'retention.ms')?.value, '86400000');
    // Every record is younger than an hour: the reset puts the group back at the start.
    const offsets = await admin.listGroupOffsets('page-counter', { topics: ['page-views'] });
    assert.deepEqual(offsets.filter((o) => o.partition < 3).sort((a, b) => a.partition - b.partition).map((o) => o.offset), [0n, 0n, 0n]);
  });

  test('the transactions block: the record is committed for read_committed readers, with the group offset', { timeout: 120_000 }, async () => {
    await runExample(sections.transactions);
    const records = await kcatConsume(broker.bootstrap, 'page-counts', { config: { 'isolation.level': 'read_committed' } });
    assert.deepEqual(records.map((x) => [x.key, x.value]), [['/home', '42']]);
    const offsets = await admin.listGroupOffsets('page-counter', { topics: ['page-views'] });
    assert.equal(offsets.find((o) => o.partition === 0)?.offset, 1234n);
  });

  test('the KafkaJS facade block: produces and consumes through the KafkaJS API', { timeout: 120_000 }, async () => {
    const r = await runUntil(sections.kafkajs, (line) => /^\d+ 0 \{"total":42\}$/.test(line), 'SIGTERM');
    assert.ok(r.line);
    const records = await kcatConsume(broker.bootstrap, 'orders');
    assert.deepEqual(records.map((x) => [x.key, x.value, x.headers]), [['o-1', '{"total":42}', [['source', 'web']]]]);
  });
});
