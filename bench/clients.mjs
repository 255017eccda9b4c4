#!/usr/bin/env node
/**
 * `npm run bench:clients`: Fjord's client, KafkaJS, @platformatic/kafka and librdkafka (rdkafka_bench.c)
 * against one Fjord broker in the same run, with the same workload: 1 KiB random records into
 * 8-partition topics with acks=1 and acks=all, a group consumer reading the acks=1 topic from the
 * start, and end-to-end latency at 5,000 records/s (producer and consumer in one process). Prints a
 * table against issue 5's targets; `--json FILE` writes {"<client>": {produceMBps, consumeMBps,
 * e2eP99Ms, ...}}; `--record` adds the run to bench/RESULTS.md. See bench/README.md. For the Node
 * clients it also times importing the package in a fresh process (a CLI's or a function's start).
 *
 * Each client workload runs in its own Node process (bench/clients/driver.mjs); rounds interleave the
 * clients so that the shared machine's noise hits them alike, and the median round is reported.
 * Only processes started here are signalled, by PID; the data dir is removed at the end.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Admin } from '@fjord/client';
import { startBroker, stopBroker } from './lib/broker.mjs';
import { gitInfo, loadAverage, machineInfo, systemCpuSeconds } from './lib/machine.mjs';
import { buildRdkafkaBench, rdkafkaSourceDefault, runRdkafkaBench } from './lib/rdkafka.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(benchDir, '..');
const CLIENTS = ['fjord', 'fjord-send', 'kafkajs', 'platformatic', 'librdkafka', 'echo'];
const PARTITIONS = 8;
const SIZE = 1024;
const RATE = 5000;
/** The package each Node client's application imports; `import ms` times that import. */
const PACKAGES = { fjord: '@fjord/client', kafkajs: 'kafkajs', platformatic: '@platformatic/kafka' };
const IMPORTS_PER_ROUND = 3;

const { values: flags } = parseArgs({
  options: {
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    records: { type: 'string' },
    'warmup-records': { type: 'string' },
    'e2e-records': { type: 'string' },
    rounds: { type: 'string' },
    'steal-max': { type: 'string', default: '10' },
    'steal-retries': { type: 'string', default: '2' },
    json: { type: 'string' },
    record: { type: 'boolean', default: false },
    'results-file': { type: 'string', default: path.join(benchDir, 'RESULTS.md') },
    'rdkafka-source': { type: 'string', default: rdkafkaSourceDefault },
    help: { type: 'boolean', default: false },
  },
});

if (flags.help) {
  process.stdout.write(`usage: npm run bench:clients -- [--quick] [--rounds N] [--json FILE] [--record] [--only ${CLIENTS.join(',')}]
  --records N        records per produce run (default 200000 = 205 MB; --quick 30000)
  --warmup-records N records each Node client's produce process sends (and its consume process
                     reads), untimed, before its timed run, so that it is timed warm (default
                     100000; --quick 10000; 0: none); librdkafka (C) has no JIT to warm
  --e2e-records N    records of the e2e run at ${RATE}/s (default 50000 = 10 s; --quick 10000)
  --rounds N         rounds, clients interleaved in each; the median is reported (default 3; --quick 1)
  --steal-max PCT    a client's round that lost more than PCT% of the machine's CPU time to
                     hypervisor steal is run again (default 10)
  --steal-retries N  at most N more times (default 2; 0: never); the attempt with the least steal
                     counts, and the ones set aside are listed with the results
  --json FILE        write {"<client>": {"produceMBps", "produceAcksAllMBps", "consumeMBps", "e2eP99Ms", ...}}
  --record           add this run to bench/RESULTS.md
  --only LIST        run only these clients (fjord: sendBatch() of 1,000 records, as the KafkaJS and
                     platformatic drivers send; fjord-send: one send() per record, produce only;
                     echo: e2e only, through a Node process that echoes the records back, no broker:
                     the machine's own floor for the e2e latency at that moment)
`);
  process.exit(0);
}

const positive = (name, v, dflt) => {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) {
    process.stderr.write(`bench:clients: --${name} must be a positive integer, got ${JSON.stringify(v)}\n`);
    process.exit(2);
  }
  return n;
};
const records = positive('records', flags.records, flags.quick ? 30_000 : 200_000);
const warmupRecords = flags['warmup-records'] === '0' ? 0 : positive('warmup-records', flags['warmup-records'], flags.quick ? 10_000 : 100_000);
const e2eRecords = positive('e2e-records', flags['e2e-records'], flags.quick ? 10_000 : 50_000);
const rounds = positive('rounds', flags.rounds, flags.quick ? 1 : 3);
const stealMax = Number(flags['steal-max']);
const stealRetries = Number(flags['steal-retries']);
if (!(stealMax >= 0 && stealMax <= 100) || !Number.isInteger(stealRetries) || stealRetries < 0) {
  process.stderr.write(`bench:clients: --steal-max must be a percentage and --steal-retries a whole number ≥ 0, got ${JSON.stringify(flags['steal-max'])} and ${JSON.stringify(flags['steal-retries'])}\n`);
  process.exit(2);
}
const clients = (flags.only ?? CLIENTS.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
for (const c of clients) {
  if (!CLIENTS.includes(c)) {
    process.stderr.write(`bench:clients: unknown client ${JSON.stringify(c)} (one of ${CLIENTS.join(', ')})\n`);
    process.exit(2);
  }
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'fjord-bench-clients-'));
let broker;
const cleanup = () => {
  if (broker && !broker.exited) {
    try {
      process.kill(broker.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  rmSync(tmp, { recursive: true, force: true });
};
process.once('SIGINT', () => {
  cleanup();
  process.exit(130);
});

/** Runs one driver process; resolves its RESULT object or { error }. Killed (by PID) past its bound. */
function drive(opts) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(benchDir, 'clients/driver.mjs'), JSON.stringify(opts)], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
    const killer = setTimeout(() => {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, opts.timeoutMs + 20_000);
    child.on('exit', (code, signal) => {
      clearTimeout(killer);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code === 0 && line) resolve(JSON.parse(line.slice(7)));
      else resolve({ error: `${opts.client} ${opts.mode}: exit ${code ?? signal}: ${err.trim().split('\n').slice(-3).join(' / ')}` });
    });
  });
}

/**
 * Milliseconds to import `pkg` in a fresh Node process (performance.now() around the dynamic
 * import, so Node's own start is not counted), or { error }.
 */
function importMs(pkg) {
  const script = `const t = performance.now(); await import(${JSON.stringify(pkg)}); process.stdout.write(String(performance.now() - t));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
  const ms = Number(r.stdout);
  return r.status === 0 && r.stdout !== '' && Number.isFinite(ms) ? ms : { error: `import ${pkg}: exit ${r.status ?? r.signal}: ${r.stderr.trim().split('\n').slice(-2).join(' / ')}` };
}

const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  return v.length === 0 ? null : v[Math.floor((v.length - 1) / 2)];
};
const r2 = (x) => (x === null ? null : Math.round(x * 100) / 100);

async function main() {
  const started = new Date().toISOString();
  const load0 = loadAverage();
  broker = await startBroker({ repoRoot, dataDir: path.join(tmp, 'data'), sets: { 'group.initial.rebalance.delay.ms': 0 } });
  const bootstrap = broker.bootstrap;
  const admin = new Admin({ bootstrapServers: bootstrap, clientId: 'bench-clients' });
  const built = clients.includes('librdkafka') ? buildRdkafkaBench(flags['rdkafka-source'], tmp) : null;
  if (built && !built.ok) process.stderr.write(`bench:clients: librdkafka skipped: ${built.reason}\n`);
  /** A client's figures: each round's (or attempt's) go into these lists. */
  const resultLists = () => ({ produce1: [], produceAll: [], consume: [], e2e: [], warmup: [], imports: [], errors: [] });
  const runs = Object.fromEntries(clients.map((c) => [c, { ...resultLists(), steal: [], setAside: [] }]));
  // Each client's topics go once it is done with them: their files, and so their page cache, go
  // with them. Kept, the ~2 GB a round writes piled up, and on this VM every write got slower as
  // the page cache filled, whichever client came later in a round paying for it.
  const dropTopics = (topic) => admin.deleteTopics(['acks1', 'acksall', 'lat', 'warm'].map(topic)).catch((err) => process.stderr.write(`bench:clients: deleting topics: ${err.message}\n`));
  const produceTimeoutMs = 300_000;

  /** One client's workloads in one round, into a fresh set of result lists; with the steal while it ran. */
  const runClient = async (client, round, attempt) => {
    const R = resultLists();
    const topic = (what) => `bc-${client}-${what}-${round}${attempt > 0 ? `-again${attempt}` : ''}`;
    // The hypervisor's steal while this client ran: CPU time the VM wanted and other guests got.
    const cpu0 = systemCpuSeconds();
    try {
      if (client === 'echo') {
        const e = await drive({ client, mode: 'e2e', size: SIZE, records: e2eRecords, rate: RATE, timeoutMs: (e2eRecords / RATE) * 1000 + 60_000 });
        if (e.error) R.errors.push(e.error);
        else R.e2e.push(e);
        return R;
      }
      await admin.createTopics(['acks1', 'acksall', 'lat', 'warm'].map((w) => ({ name: topic(w), numPartitions: PARTITIONS })));
      if (client === 'librdkafka') {
        if (!built?.ok) return R;
        const rd = (args, timeoutS) => runRdkafkaBench(built.binary, ['-b', bootstrap, ...args], timeoutS);
        const p1 = await rd(['-m', 'produce', '-t', topic('acks1'), '-s', String(SIZE), '-n', String(records), '-a', '1', '-p', String(PARTITIONS)], 300);
        const pa = await rd(['-m', 'produce', '-t', topic('acksall'), '-s', String(SIZE), '-n', String(records), '-a', 'all', '-p', String(PARTITIONS)], 300);
        const c = await rd(['-m', 'consume', '-t', topic('acks1'), '-n', String(records)], 300);
        const e = await rd(['-m', 'e2e', '-t', topic('lat'), '-s', String(SIZE), '-r', String(RATE), '-n', String(e2eRecords), '-p', String(PARTITIONS), '-l', '0'], 120);
        for (const [k, x, field] of [['produce1', p1, 'mb_per_s'], ['produceAll', pa, 'mb_per_s'], ['consume', c, 'mb_per_s']]) {
          if (x.ok && x.result.complete === 1) R[k].push(x.result[field]);
          else R.errors.push(`${k}: ${x.stderrTail || JSON.stringify(x.result)}`);
        }
        if (e.ok && e.result.complete === 1) R.e2e.push({ p50: e.result.e2e_p50_us / 1000, p99: e.result.e2e_p99_us / 1000, p999: e.result.e2e_p999_us / 1000, max: e.result.e2e_max_us / 1000 });
        else R.errors.push(`e2e: ${e.stderrTail || JSON.stringify(e.result)}`);
        await dropTopics(topic);
        return R;
      }
      if (PACKAGES[client]) {
        for (let i = 0; i < IMPORTS_PER_ROUND; i++) {
          const ms = importMs(PACKAGES[client]);
          if (typeof ms === 'number') R.imports.push(ms);
          else R.errors.push(ms.error);
        }
      }
      const base = { client, bootstrap, size: SIZE, partitions: PARTITIONS };
      const warm = { warmupTopic: topic('warm'), warmupRecords };
      const p1 = await drive({ ...base, ...warm, mode: 'produce', topic: topic('acks1'), records, acks: 1, timeoutMs: produceTimeoutMs });
      const pa = await drive({ ...base, ...warm, mode: 'produce', topic: topic('acksall'), records, acks: 'all', timeoutMs: produceTimeoutMs });
      // fjord-send differs from fjord only in how it produces: its consume and e2e would repeat fjord's.
      const producesOnly = client === 'fjord-send';
      const c = producesOnly ? null : await drive({ ...base, ...warm, mode: 'consume', topic: topic('acks1'), records, groupId: `${topic('acks1')}-g`, timeoutMs: produceTimeoutMs });
      const e = producesOnly ? null : await drive({ ...base, mode: 'e2e', topic: topic('lat'), records: e2eRecords, rate: RATE, groupId: `${topic('lat')}-g`, timeoutMs: (e2eRecords / RATE) * 1000 + 60_000 });
      for (const [k, x] of [['produce1', p1], ['produceAll', pa], ['consume', c]]) {
        if (x === null) continue;
        if (x.error) R.errors.push(x.error);
        else R[k].push(x.MBps);
        if (x.warmupMBps !== undefined) R.warmup.push(x.warmupMBps);
      }
      if (e?.error) R.errors.push(e.error);
      else if (e) R.e2e.push(e);
      await dropTopics(topic);
      return R;
    } finally {
      const cpu1 = systemCpuSeconds();
      R.steal = cpu0 && cpu1 && cpu1.total > cpu0.total ? (100 * (cpu1.steal - cpu0.steal)) / (cpu1.total - cpu0.total) : null;
    }
  };

  for (let round = 0; round < rounds; round++) {
    // Rotate the order each round so no client always runs first (cold) or last.
    const order = clients.map((_, i) => clients[(i + round) % clients.length]);
    for (const client of order) {
      // A round that lost more than stealMax% of the machine's CPU to other guests is run again
      // (at most stealRetries times), for every client alike; the attempt with the least steal counts.
      let kept = null;
      for (let attempt = 0; ; attempt++) {
        process.stderr.write(`round ${round + 1}/${rounds}: ${client}${attempt > 0 ? ` (again: ${Math.round(kept.steal)}% steal)` : ''}\n`);
        const got = await runClient(client, round, attempt);
        // An attempt set aside still reports its errors: a failure is never hidden by a rerun.
        const setAside = (x) => {
          runs[client].setAside.push({ round: round + 1, stealPct: Math.round(x.steal ?? 0) });
          runs[client].errors.push(...x.errors.map((e) => `(round ${round + 1}, attempt set aside) ${e}`));
        };
        if (kept === null || (got.steal ?? 0) < (kept.steal ?? 0)) {
          if (kept) setAside(kept);
          kept = got;
        } else setAside(got);
        if ((got.steal ?? 0) <= stealMax || attempt >= stealRetries) break;
      }
      const R = runs[client];
      for (const k of Object.keys(resultLists())) R[k].push(...kept[k]);
      if (kept.steal !== null) R.steal.push(kept.steal);
    }
  }
  await admin.close();
  await stopBroker(broker);

  const summary = {};
  for (const c of clients) {
    const R = runs[c];
    summary[c] = {
      produceMBps: r2(median(R.produce1)),
      produceAcksAllMBps: r2(median(R.produceAll)),
      consumeMBps: r2(median(R.consume)),
      e2eP99Ms: r2(median(R.e2e.map((x) => x.p99))),
      e2eP50Ms: r2(median(R.e2e.map((x) => x.p50))),
      importMs: r2(median(R.imports)),
      rounds: { produceMBps: R.produce1.map(r2), produceAcksAllMBps: R.produceAll.map(r2), consumeMBps: R.consume.map(r2), e2eP99Ms: R.e2e.map((x) => r2(x.p99)), ...(R.warmup.length ? { warmupMBps: R.warmup.map(r2) } : {}), ...(R.imports.length ? { importMs: R.imports.map((x) => Math.round(x)) } : {}), stealPct: R.steal.map((x) => Math.round(x)) },
      ...(R.setAside.length ? { setAside: R.setAside } : {}),
      ...(R.errors.length ? { errors: R.errors } : {}),
    };
  }
  // The command as run, paths relative to the repository and the temp dir named as such.
  const brokerCommand = ['node', ...broker.command.slice(1).map((a) => (a === path.join(tmp, 'data') ? '<temp dir>' : path.isAbsolute(a) ? path.relative(repoRoot, a) : a))].join(' ');
  const report = render(summary, { started, load0, load1: loadAverage(), rdkafkaVersion: built?.ok ? built.version : null, brokerCommand });
  process.stdout.write(report.console);
  if (flags.json) writeFileSync(flags.json, JSON.stringify(summary, null, 2) + '\n');
  if (flags.record) recordResults(report.markdown);
}

/** The table, the ratios against the targets (Fjord ≥2× KafkaJS, ≥1.2× platformatic, ≥1/1.5 of librdkafka; p99 ≤ 5 ms). */
function render(s, meta) {
  const cols = [
    ['produce acks=1 MB/s', 'produceMBps'],
    ['produce acks=all MB/s', 'produceAcksAllMBps'],
    ['consume MB/s', 'consumeMBps'],
    ['e2e p50 ms', 'e2eP50Ms'],
    ['e2e p99 ms', 'e2eP99Ms'],
    ['import ms', 'importMs'],
  ];
  const rows = [['client', ...cols.map((c) => c[0])], ...Object.entries(s).map(([c, v]) => [c, ...cols.map(([, k]) => fmt(v[k]))])];
  const checks = [];
  const f = s.fjord;
  if (f) {
    const need = { kafkajs: 2, platformatic: 1.2, librdkafka: 1 / 1.5 };
    for (const [other, factor] of Object.entries(need)) {
      if (!s[other]) continue;
      for (const [label, k] of cols.slice(0, 3)) {
        const a = f[k];
        const b = s[other][k];
        if (a === null || b === null) continue;
        const ratio = a / b;
        checks.push(`${ratio >= factor ? 'met   ' : 'MISSED'} ${label}: fjord ${fmt(a)} vs ${other} ${fmt(b)} = ${ratio.toFixed(2)}× (target ≥ ${factor === 1 / 1.5 ? '1/1.5 = 0.67' : factor}×)`);
      }
    }
    if (f.e2eP99Ms !== null) checks.push(`${f.e2eP99Ms <= 5 ? 'met   ' : 'MISSED'} e2e p99 at ${RATE} records/s: fjord ${fmt(f.e2eP99Ms)} ms (target ≤ 5 ms)`);
  }
  if (s.echo?.e2eP99Ms !== null && s.echo?.e2eP99Ms !== undefined) {
    checks.push(`floor  the machine's own e2e p99 in this run (loopback echo between two Node processes, same schedule, no broker): ${fmt(s.echo.e2eP99Ms)} ms`);
  }
  // Steal is the VM waiting for a core the host gave another guest: a round that lost much of its
  // CPU that way says more about the neighbours than about the client.
  const steals = Object.entries(s).flatMap(([c, v]) => v.rounds.stealPct.map((pct, i) => ({ c, round: i + 1, pct })));
  if (steals.length > 0) {
    const worst = steals.reduce((a, b) => (b.pct > a.pct ? b : a));
    checks.push(`noise  hypervisor steal while each client ran (% of the machine's CPU time): median ${median(steals.map((x) => x.pct))}%, max ${worst.pct}% (${worst.c}, round ${worst.round}); stealPct per round below`);
  }
  const setAside = Object.entries(s).flatMap(([c, v]) => (v.setAside ?? []).map((x) => `${c} round ${x.round} at ${x.stealPct}%`));
  if (setAside.length > 0) checks.push(`noise  run again for steal over ${stealMax}% (the attempt with the least steal counts), set aside: ${setAside.join(', ')}`);
  const errors = Object.entries(s).flatMap(([c, v]) => (v.errors ?? []).map((e) => `${c}: ${e}`));
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((x, i) => String(x).padEnd(widths[i])).join('  ');
  const m = machineInfo(os.tmpdir());
  const g = gitInfo(repoRoot);
  const head = `${rounds} round(s); ${records} records per produce and consume run (Node clients after ${warmupRecords} untimed), ${e2eRecords} e2e records at ${RATE}/s; load average ${meta.load0} before, ${meta.load1} after`;
  const console_ = [head, line(rows[0]), ...rows.slice(1).map(line), '', ...checks, ...(errors.length ? ['', 'errors:', ...errors] : []), ''].join('\n');
  const md = [
    `### Clients — ${meta.started.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `- machine: ${m.nproc} × ${m.cpuModel}, ${m.memory}, ${m.kernel}; Node ${m.node}; commit ${g.commit ?? '?'} (${g.subject ?? ''})${g.dirty ? `, ${g.dirty} uncommitted file(s) outside bench/` : ''}`,
    `- command: \`npm run bench:clients -- ${process.argv.slice(2).filter((a) => a !== '--record').join(' ')}\`; ${head}`,
    `- broker: \`${meta.brokerCommand}\``,
    `- clients: @fjord/client (this repo), kafkajs 2.2.4, @platformatic/kafka 1.35.0, librdkafka ${meta.rdkafkaVersion ?? '(not run)'} (rdkafka_bench.c)`,
    '',
    `| ${rows[0].join(' | ')} |`,
    `|${rows[0].map(() => '---').join('|')}|`,
    ...rows.slice(1).map((r) => `| ${r.join(' | ')} |`),
    '',
    ...checks.map((c) => `- ${c.replace(/^(met|MISSED|floor|noise)\s*/, (x) => `**${x.trim()}** `)}`),
    ...(errors.length ? ['', ...errors.map((e) => `- error: ${e}`)] : []),
    '',
    `Per round: ${Object.entries(s).map(([c, v]) => `${c} ${JSON.stringify(v.rounds)}`).join('; ')}`,
    '',
  ].join('\n');
  return { console: console_, markdown: md };
}

const fmt = (x) => (x === null || x === undefined ? '–' : x >= 100 ? x.toFixed(0) : x.toFixed(2));

function recordResults(md) {
  const file = flags['results-file'];
  const marker = '## Clients (npm run bench:clients)';
  let text = readFileSync(file, 'utf8');
  if (!text.includes(marker)) text = `${text.trimEnd()}\n\n${marker}\n\nNewest first; bench/README.md says what each column measures.\n\n`;
  // The newest run goes first in the section: before its first run, or at its end if it has none.
  const at = text.indexOf(marker);
  const nextSection = text.indexOf('\n## ', at + marker.length);
  const end = nextSection < 0 ? text.length : nextSection + 1;
  const firstRun = text.indexOf('\n### ', at);
  const insertAt = firstRun >= 0 && firstRun < end ? firstRun + 1 : end;
  text = `${text.slice(0, insertAt)}${md}\n${text.slice(insertAt)}`;
  writeFileSync(file, text);
  process.stderr.write(`bench:clients: recorded in ${file}\n`);
}

main()
  .catch((e) => {
    process.stderr.write(`bench:clients: ${e.stack ?? e}\n`);
    process.exitCode = 1;
  })
  .finally(cleanup);
