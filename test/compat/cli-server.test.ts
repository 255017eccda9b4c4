// `fjord server` as a user meets it: flags, --config files, --set, and the errors for bad ones
// (one line, exit code 2, no stack trace).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { startBroker, cliPath, cliNodeFlags } from '../harness/broker.js';
import { run, spawnTracked } from '../harness/proc.js';
import { kcatMetadata } from '../harness/kcat.js';
import { makeTempDir, removeTempDir, waitFor, withTimeout } from '../harness/util.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await removeTempDir(d);
});

async function fjord(args: string[]) {
  return run(process.execPath, [cliPath, ...args], { timeoutMs: 20_000 });
}

function assertOneLineError(r: Awaited<ReturnType<typeof fjord>>, pattern: RegExp): void {
  assert.equal(r.code, 2, `exit code; stderr: ${r.stderr}`);
  // Start-up may log INFO lines before it fails; the error itself is one line of its own.
  const lines = r.stderr.trim().split('\n').filter((l) => !/ INFO /.test(l));
  assert.equal(lines.length, 1, `one line of error, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^fjord: /);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

test('bad flags and values give one line naming the problem and exit 2', async () => {
  const dir = await makeTempDir();
  dirs.push(dir);
  assertOneLineError(await fjord(['server', '--bogus']), /unknown flag --bogus/);
  assertOneLineError(await fjord(['server', '--data-dir', dir, '--set', 'num.partitions=many']), /num\.partitions/);
  assertOneLineError(await fjord(['server', '--data-dir', dir, '--set', 'novalue']), /KEY=VALUE/);
  assertOneLineError(await fjord(['server', '--data-dir', dir, '--listen', 'nohostport']), /HOST:PORT/);
  assertOneLineError(await fjord(['server', '--config', join(dir, 'missing.properties')]), /missing\.properties/);
  assertOneLineError(await fjord(['nonsense']), /unknown command/);
  const help = await fjord(['server', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--advertised-listener/);
});

test('fjord run as a command (npx fjord server) gets the Node flags of its #! line', async () => {
  assert.deepEqual(cliNodeFlags, ['--no-concurrent-marking']);
  const dir = await makeTempDir();
  dirs.push(dir);
  // Executed directly, as npm's bin link is: the kernel reads the #! line, env splits it (-S).
  const child = spawnTracked(cliPath, ['server', '--listen', '127.0.0.1:0', '--data-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await waitFor(
    'the ready line',
    () => {
      if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}: ${out}`);
      return /ready on 127\.0\.0\.1:\d+/.test(out);
    },
    { timeoutMs: 20_000, intervalMs: 20 },
  );
  // env execs node in place: the same PID runs the broker, with the flags on its command line.
  const argv = (await readFile(`/proc/${child.pid}/cmdline`, 'utf8')).split('\0');
  assert.ok(argv.includes('--no-concurrent-marking'), `broker command line: ${argv.join(' ')}`);
  process.kill(child.pid!, 'SIGTERM');
  assert.equal(await withTimeout('the broker to stop', 20_000, exited), 0);
});

test('a port in use is reported by address', async () => {
  const dir = await makeTempDir();
  dirs.push(dir);
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as { port: number }).port;
  try {
    assertOneLineError(await fjord(['server', '--data-dir', dir, '--listen', `127.0.0.1:${port}`]), /address already in use/);
  } finally {
    blocker.close();
  }
});

test('--config server.properties and --set apply, --set last; --advertised-listener is what clients see', async () => {
  const dir = await makeTempDir();
  dirs.push(dir);
  const props = join(dir, 'server.properties');
  await writeFile(props, '# test\nnum.partitions=5\nauto.create.topics.enable=true\nlog.retention.hours=1\n');
  const broker = await startBroker({
    configs: { 'num.partitions': 3 },
    extraArgs: ['--config', props, '--advertised-listener', 'localhost:0'],
  });
  try {
    const md = await kcatMetadata(broker.bootstrap, 'auto-created');
    const topic = md.topics.find((t) => t.topic === 'auto-created');
    assert.ok(topic, 'auto-created by the metadata request');
    assert.equal(topic.partitions.length, 3, '--set num.partitions=3 overrides the file');
    assert.ok(md.brokers.every((b) => b.name.startsWith('localhost:')), `advertised: ${JSON.stringify(md.brokers)}`);
  } finally {
    await broker.dispose();
  }
});

test('a damaged metadata file stops start-up with one line naming it, and is left as it was', async () => {
  const dir = await makeTempDir();
  dirs.push(dir);
  const broker = await startBroker({ dataDir: dir });
  await broker.stop();
  const file = join(dir, 'fjord-metadata.json');
  await writeFile(file, '{"clusterId": "x", "topi');
  const r = await fjord(['server', '--listen', '127.0.0.1:0', '--data-dir', dir]);
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.trim().split('\n').filter((l) => !/ INFO /.test(l));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^fjord: .*fjord-metadata\.json is corrupt/);
  assert.equal(await readFile(file, 'utf8'), '{"clusterId": "x", "topi', 'the file is not rewritten');
});
