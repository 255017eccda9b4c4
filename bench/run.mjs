#!/usr/bin/env node
/**
 * Fjord's benchmark (`npm run bench`): starts its own broker on 127.0.0.1 in a temporary data dir,
 * drives it with Fjord's load generator (bench/loadgen) and, when it can be built, librdkafka's
 * rdkafka_bench.c, prints a table against issue 2's targets and the consumer-group targets, and
 * with --record writes bench/RESULTS.md. See bench/README.md.
 *
 *   npm run bench                          every workload, full sizes
 *   npm run bench -- --quick               small sizes (a smoke run, ~2 minutes)
 *   npm run bench -- --record              full run, then update bench/RESULTS.md
 *   npm run bench -- --only produce,consume,e2e,memory,startup,rdkafka,groups,txn
 *   npm run bench -- --profile             run the broker under node --cpu-prof and print, per
 *                                          workload, the functions with the most self time
 *
 * Every loop is bounded by a count and a time; only processes started here are signalled, by PID;
 * the temporary data dirs are removed at the end (also on Ctrl-C).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { cpuSecondsOf, killBroker, memoryOf, probeMemory, rssBreakdownOf, startBroker, startedFields, stopBroker, cliNodeFlags } from './lib/broker.mjs';
import { freeBytes, gitInfo, loadAverage, machineInfo, systemCpuSeconds } from './lib/machine.mjs';
import { buildRdkafkaBench, rdkafkaSourceDefault, runRdkafkaBench } from './lib/rdkafka.mjs';
import { consoleTable, groupRows, markdownTable, summaryRows, txnRows, txnTargets, writeResults } from './lib/report.mjs';
import { formatProfile, summarizeProfile } from './profile-top.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(benchDir, '..');
const WORKLOADS = ['produce', 'consume', 'e2e', 'rdkafka', 'memory', 'startup', 'groups', 'txn'];
const MB = 1e6;
const GB = 1e9;

const { values: flags } = parseArgs({
  options: {
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    record: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'profile-dir': { type: 'string' },
    'memory-gb': { type: 'string' },
    set: { type: 'string', multiple: true, default: [] },
    'broker-root': { type: 'string' },
    'rdkafka-source': { type: 'string', default: rdkafkaSourceDefault },
    'results-file': { type: 'string', default: path.join(benchDir, 'RESULTS.md') },
    'keep-data': { type: 'boolean', default: false },
    'wait-quiet': { type: 'string', default: '0' },
    'drop-caches': { type: 'boolean', default: false },
    rounds: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (flags.help) {
  process.stdout.write(`usage: npm run bench -- [--quick] [--record] [--only ${WORKLOADS.join(',')}]
  --quick             small sizes, a smoke run of about 2 minutes
  --record            update bench/RESULTS.md with this run (machine, commit, command, figures)
  --only LIST         run only these workloads
  --profile           run each broker under node --cpu-prof; print the top self-time functions per workload
  --profile-dir DIR   where the .cpuprofile files go (default: a directory under the OS temp dir, kept)
  --memory-gb N       data written by the memory/start-up workload (default 10 if the disk has > 40 GB free)
  --set KEY=VALUE     broker config passed to every broker started (repeatable); the groups brokers
                      also get group.initial.rebalance.delay.ms=0 unless it is set here
  --broker-root DIR   run the broker from another checkout (default: this repository)
  --rdkafka-source F  rdkafka_bench.c to build (default ${rdkafkaSourceDefault})
  --rounds N          run the throughput and latency workloads N times, report the median (default 3; 1 with --quick)
  --keep-data         keep the temporary data dirs
  --wait-quiet S      first wait up to S seconds for the machine to be idle (other processes under
                      10% busy over 5 s); this 2-core machine is shared, and others' load skews figures
  --drop-caches       between workloads also drop the page cache (root only): on this VM buffered
                      writes slow down about twofold once ~6 GB sit in the page cache (bench/README.md)
`);
  process.exit(0);
}

const only = new Set((flags.only ?? WORKLOADS.join(',')).split(',').map((s) => s.trim()).filter(Boolean));
for (const w of only) {
  if (!WORKLOADS.includes(w)) {
    process.stderr.write(`bench: unknown workload '${w}'; choose from ${WORKLOADS.join(', ')}\n`);
    process.exit(2);
  }
}

/** Sizes and bounds. Records are 1 KiB. */
const sizes = flags.quick
  ? {
      produce1Records: 200_000,
      produceAllRecords: 100_000,
      produceSeconds: 15,
      consumeSeconds: 30,
      e2eRecords: 10_000,
      e2eSeconds: 15,
      rdProduce1Records: 200_000,
      rdProduceAllRecords: 100_000,
      rdE2eRecords: 10_000,
      rdTimeoutS: 40,
      memoryBytesDefault: 0.3 * GB,
      memoryWriteSeconds: 25,
      memoryConsumeBytes: 0.1 * GB,
      restarts: 1,
      rounds: Number(flags.rounds ?? 1),
      groupRounds: 2,
      idempotentRecords: 100_000,
      idempotentRounds: 1,
      rdIdempotentRecords: 100_000,
      txnSeconds: 5,
      txnRatedSeconds: 5,
      commitSeconds: 2,
      commitsMax: 200_000,
      offsetGroups: 200,
    }
  : {
      produce1Records: 2_097_152, // 2 GiB: also the topic the consume workload reads
      produceAllRecords: 1_048_576,
      produceSeconds: 90,
      consumeSeconds: 120,
      e2eRecords: 50_000, // 10 s at 5,000/s
      e2eSeconds: 40,
      rdProduce1Records: 2_000_000,
      rdProduceAllRecords: 1_000_000,
      rdE2eRecords: 50_000,
      rdTimeoutS: 120,
      memoryBytesDefault: 10 * GB,
      memoryWriteSeconds: 480,
      memoryConsumeBytes: 2 * GB,
      restarts: 3,
      rounds: Number(flags.rounds ?? 3),
      groupRounds: 5, // fresh 10-member groups per rebalance variant
      idempotentRecords: 524_288, // 512 MiB per run, acks=all, idempotent and plain alternately
      idempotentRounds: 3,
      rdIdempotentRecords: 1_000_000, // librdkafka, the same comparison: enable.idempotence vs 5 in flight without
      txnSeconds: 10, // 1 producer as fast as it goes; then N producers as fast as they go
      txnRatedSeconds: 20, // N producers paced to 1,000 transactions/s
      commitSeconds: 5, // per commit mode
      commitsMax: 1_000_000, // per commit mode: the count bound
      offsetGroups: 1000, // x 100 partitions = 100,000 committed offsets for the start-up test
    };

const brokerRoot = path.resolve(flags['broker-root'] ?? repoRoot);
const brokerSets = Object.fromEntries(
  flags.set.map((kv) => {
    const i = kv.indexOf('=');
    if (i <= 0) {
      process.stderr.write(`bench: --set expects KEY=VALUE, got ${kv}\n`);
      process.exit(2);
    }
    return [kv.slice(0, i), kv.slice(i + 1)];
  }),
);

const tmpRoot = mkdtempSync(path.join(os.tmpdir(), 'fjord-bench-'));
const profileDir = flags.profile ? path.resolve(flags['profile-dir'] ?? mkdtempSync(path.join(os.tmpdir(), 'fjord-bench-profiles-'))) : null;
if (profileDir) mkdirSync(profileDir, { recursive: true });

const ctx = {
  brokers: new Set(),
  children: new Set(),
  /** Per-workload time windows (CLOCK_MONOTONIC µs), to slice the broker's CPU profile. */
  windows: [],
  anomalies: [],
  notes: [],
  results: {},
  brokerInfo: {},
  profiles: [],
};

const log = (s) => process.stderr.write(`bench: ${s}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const round = (x, d = 1) => (x === null || x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(d)));

// ---------------------------------------------------------------------------------------------
// Processes

let cleaningUp = false;
async function cleanup() {
  if (cleaningUp) return;
  cleaningUp = true;
  for (const child of ctx.children) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const b of ctx.brokers) await stopBroker(b, 15_000).catch(() => {});
  if (!flags['keep-data']) rmSync(tmpRoot, { recursive: true, force: true });
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    log(`${sig}: stopping the broker and load generators started by this run`);
    cleanup().finally(() => process.exit(130));
  });
}

async function launchBroker(name, dataDir, { probeFile, sets = {} } = {}) {
  mkdirSync(dataDir, { recursive: true });
  const profileName = `broker-${name}-${Date.now()}.cpuprofile`;
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${profileName}`] : [];
  // The memory probe (bench/lib/memory-probe.mjs) answers SIGUSR2 with the broker's memory breakdown.
  if (probeFile) nodeArgs.push('--import', pathToFileURL(path.join(benchDir, 'lib/memory-probe.mjs')).href);
  const env = probeFile ? { FJORD_BENCH_MEMORY_PROBE: probeFile } : undefined;
  const allSets = { ...brokerSets, ...sets };
  const broker = await startBroker({ repoRoot: brokerRoot, dataDir, sets: allSets, nodeArgs, env, logFile: path.join(tmpRoot, `broker-${name}.log`) });
  broker.name = name;
  broker.sets = allSets;
  broker.probeFile = probeFile ?? null;
  broker.profileName = profileDir ? profileName : null;
  ctx.brokers.add(broker);
  const cli = path.join(brokerRoot, 'packages/cli/bin/fjord.js');
  broker.commandLine = [
    'node',
    ...cliNodeFlags(cli),
    ...(nodeArgs.length ? ['--cpu-prof'] : []),
    path.relative(repoRoot, cli),
    'server --listen 127.0.0.1:0 --data-dir <temp dir>',
    ...Object.entries(allSets).map(([k, v]) => `--set ${k}=${v}`),
  ].join(' ');
  // The command the issue-2 workloads ran against (the groups brokers carry extra settings).
  if (Object.keys(sets).length === 0) ctx.brokerInfo.command ??= broker.commandLine;
  log(`broker '${name}' (pid ${broker.pid}) ready on ${broker.bootstrap} after ${broker.readyMs.toFixed(0)} ms`);
  return broker;
}

async function haltBroker(broker) {
  const r = await stopBroker(broker);
  ctx.brokers.delete(broker);
  if (!r.clean) {
    ctx.anomalies.push(`broker '${broker.name}' did not shut down cleanly on SIGTERM: ${r.timedOut ? 'still running after 60 s (killed)' : `exit code ${r.code}, signal ${r.signal}`}; last output: ${broker.tail.slice(-5).join(' / ')}`);
  }
  if (broker.profileName) ctx.profiles.push({ broker: broker.name, file: path.join(profileDir, broker.profileName) });
  log(`broker '${broker.name}' stopped in ${r.shutdownMs.toFixed(0)} ms (exit code ${r.code}${r.signal ? `, signal ${r.signal}` : ''})`);
  return r;
}

/** SIGKILL to a broker started here (by PID): no clean shutdown, so its next start recovers. */
async function crashBroker(broker) {
  const r = await killBroker(broker);
  ctx.brokers.delete(broker);
  // A killed broker writes no CPU profile.
  log(`broker '${broker.name}' killed (SIGKILL) in ${r.killMs.toFixed(0)} ms`);
  return r;
}

/** Runs one load generator workload in its own process; resolves with its RESULT object. */
function loadgen(args, timeoutS) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(benchDir, 'loadgen/main.mjs'), ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    ctx.children.add(child);
    let out = '';
    let errTail = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => {
      process.stderr.write(d.replace(/^(?=.)/gm, '  loadgen: '));
      errTail = (errTail + d).slice(-4000);
    });
    const killer = setTimeout(() => {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, timeoutS * 1000);
    child.on('exit', (code, signal) => {
      clearTimeout(killer);
      ctx.children.delete(child);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code === 0 && line) resolve({ ok: true, ...JSON.parse(line.slice(7)) });
      else resolve({ ok: false, error: `load generator ${signal ? `killed (${signal}, over ${timeoutS} s)` : `exit code ${code}`}: ${errTail.trim().split('\n').slice(-4).join(' / ')}` });
    });
  });
}

/**
 * Runs `fn` as the workload `name` against `broker`: records its time window, the broker's CPU
 * use (all threads, % of one core) and memory after it, and notes a broker that died meanwhile.
 */
async function measure(broker, name, fn) {
  if (broker.exited) return { ok: false, error: 'broker is not running' };
  log(`${name} ...`);
  const load = loadAverage();
  const sys0 = systemCpuSeconds();
  const cpu0 = cpuSecondsOf(broker.pid);
  const t0 = nowUs();
  let peakRssMiB = 0;
  const sampler = setInterval(() => {
    const x = memoryOf(broker.pid).rssMiB;
    if (x !== null && x > peakRssMiB) peakRssMiB = x;
  }, 250);
  const r = await fn().finally(() => clearInterval(sampler));
  const t1 = nowUs();
  const cpu1 = cpuSecondsOf(broker.pid);
  const sys1 = systemCpuSeconds();
  const mem = memoryOf(broker.pid);
  const wallS = (t1 - t0) / 1e6;
  ctx.windows.push({ broker: broker.name, name, startUs: t0, endUs: t1 });
  r.brokerCpuPct = cpu0 !== null && cpu1 !== null ? round(((cpu1 - cpu0) / wallS) * 100, 0) : null;
  r.brokerRssMB = mem.rssMiB !== null ? round((mem.rssMiB * 1024 * 1024) / MB, 0) : null;
  r.brokerPeakRssMB = peakRssMiB > 0 ? round((Math.max(peakRssMiB, mem.rssMiB ?? 0) * 1024 * 1024) / MB, 0) : r.brokerRssMB;
  r.wallS = round(wallS, 1);
  // How busy the whole (shared) machine was: other processes' CPU is noise in these figures.
  r.loadAverage = load;
  r.machineBusyPct = sys0 && sys1 ? round(((sys1.busy - sys0.busy) / (sys1.total - sys0.total)) * 100, 0) : null;
  if (r.brokerCpuPct !== null && r.machineBusyPct !== null) {
    const clientCpuPct = r.loadgenCpuSecs !== undefined ? (r.loadgenCpuSecs / wallS) * 100 : null;
    const cores = os.availableParallelism ? os.availableParallelism() : os.cpus().length;
    r.otherCpuPct = clientCpuPct !== null ? round(Math.max(0, (r.machineBusyPct * cores) - r.brokerCpuPct - clientCpuPct), 0) : null;
  }
  if (broker.unexpectedExit) {
    ctx.anomalies.push(`broker '${broker.name}' died during ${name}: ${broker.unexpectedExit}; last output:\n${broker.tail.slice(-15).join('\n')}`);
  }
  if (r.ok === false || r.error) ctx.anomalies.push(`${name}: ${r.error ?? r.stderrTail ?? 'failed'}`);
  else if (r.firstError) ctx.anomalies.push(`${name}: ${r.firstError}`);
  noteBrokerWarnings(broker, `during ${name}`);
  log(`${name}: ${oneLine(r)}`);
  return r;
}

/** Broker log lines that look like errors or warnings, grouped (timestamps and peers stripped). */
function noteBrokerWarnings(broker, when) {
  const groups = new Map();
  for (const w of broker.warnings.splice(0)) {
    const key = w.replace(/^\S*\d{4}-\d\d-\d\dT[\d:.]+Z\s*/, '').replace(/peer=\S+/g, 'peer=…').replace(/\(node:\d+\)/, '(node)');
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  for (const [line, n] of groups) ctx.anomalies.push(`broker '${broker.name}' logged ${when}${n > 1 ? ` (${n} times)` : ''}: ${line}`);
}

function oneLine(r) {
  if (r.ok === false) return `FAILED ${r.error ?? r.stderrTail ?? ''}`;
  if (r.workload === 'produce' || r.workload === 'consume') return `${r.mbPerSec} MB/s, ${r.recordsPerSec} records/s, ${r.records} records in ${r.secs} s (broker CPU ${r.brokerCpuPct}%)`;
  if (r.workload === 'e2e') return `p50 ${r.latencyMs.p50} p99 ${r.latencyMs.p99} p99.9 ${r.latencyMs.p999} max ${r.latencyMs.max} ms; ${r.received}/${r.sent} received`;
  if (r.workload === 'rebalance') return `stable after the last join: median ${r.stabiliseMs.median} max ${r.stabiliseMs.max} ms over ${r.stabiliseMs.n} groups${r.extraJoinMs ? `; one more member: median ${r.extraJoinMs.median} max ${r.extraJoinMs.max} ms` : ''}`;
  if (r.workload === 'commits') return `${r.commitsPerSec} commits/s, ${r.requestsPerSec} requests/s (${r.inflight} in flight per client), request p50 ${r.requestLatencyMs.p50} p99 ${r.requestLatencyMs.p99} ms; ${r.verifiedPartitions} partitions read back correctly (broker CPU ${r.brokerCpuPct}%)`;
  if (r.workload === 'offsets-fill') return `${r.commits} offsets committed in ${r.secs} s (${r.commitsPerSec}/s)`;
  if (r.workload === 'idempotent') return `${r.mode}: ${r.mbPerSec} MB/s, ${r.recordsPerSec} records/s, ${r.records} records in ${r.secs} s, request p99 ${r.requestLatencyMs?.p99} ms (broker CPU ${r.brokerCpuPct}%)`;
  if (r.workload === 'txn') return `${r.txnsPerSec} transactions/s (${r.committed} committed in ${r.secs} s, ${r.producers} producers${r.rate ? ` paced to ${r.rate}/s` : ''}), latency p50 ${r.latencyMs?.p50} p99 ${r.latencyMs?.p99} max ${r.latencyMs?.max} ms (broker CPU ${r.brokerCpuPct}%)`;
  if (r.workload === 'offsets-verify') return `${r.matched}/${r.checked} offsets read back as committed (${r.wrong} wrong, ${r.missing} missing) in ${r.secs} s`;
  if (r.result) return Object.entries(r.result).map(([k, v]) => `${k}=${v}`).join(' ');
  return JSON.stringify(r).slice(0, 300);
}

/**
 * Between workloads: write back the dirty pages the previous one left (`sync`, bounded), so each
 * starts without a writeback backlog that is not its own, then a second of rest.
 */
async function settle() {
  try {
    execFileSync('sync', [], { timeout: 120_000, stdio: 'ignore' });
  } catch {
    /* no sync(1): carry on */
  }
  if (flags['drop-caches']) {
    try {
      writeFileSync('/proc/sys/vm/drop_caches', '3');
    } catch (err) {
      console.error(`bench: --drop-caches: cannot drop the page cache (${err.code ?? err.message}); carrying on`);
    }
  }
  await sleep(1000);
}

const lgTopic = (name, partitions = 8) => ['--topic', name, '--partitions', String(partitions)];

// ---------------------------------------------------------------------------------------------
// Phase 1: throughput and latency on one broker (8-partition topics)

async function throughputPhase() {
  const dataDir = path.join(tmpRoot, 'data-throughput');
  const R = ctx.results;
  let built = null;
  if (only.has('rdkafka')) {
    built = buildRdkafkaBench(flags['rdkafka-source'], tmpRoot);
    if (!built.ok) {
      log(`librdkafka yardstick SKIPPED: ${built.reason}`);
      R.rdkafka = { skipped: built.reason };
      built = null;
    }
  }
  // Rounds: this machine is shared and noisy, so every workload runs `rounds` times (interleaved,
  // so noise hits both clients alike) and the median round is reported. Each round writes about
  // 6.5 GB; fewer rounds when the disk is short.
  const perRoundBytes = 6.5 * GB;
  const fit = Math.max(1, Math.floor((freeBytes(tmpRoot) - 15 * GB) / perRoundBytes));
  const rounds = Math.min(sizes.rounds, fit);
  if (rounds < sizes.rounds) ctx.notes.push(`disk space allows ${rounds} round(s) of the throughput workloads instead of ${sizes.rounds}`);
  ctx.rounds = rounds;
  const broker = await launchBroker('throughput', dataDir);
  ctx.brokerInfo.freshStartMs = round(broker.readyMs, 0);
  const all = [];
  try {
    for (let i = 1; i <= rounds; i++) {
      const tag = rounds > 1 ? ` [round ${i}/${rounds}]` : '';
      all.push(await throughputRound(broker, i, tag, built));
    }
  } finally {
    ctx.brokerInfo.throughputShutdown = await haltBroker(broker);
    rmSync(dataDir, { recursive: true, force: true });
  }
  const pick = (get, key, lowerIsBetter) => median(all.map(get), key, lowerIsBetter);
  if (only.has('produce')) {
    R.produce1 = pick((r) => r.produce1, (r) => r.mbPerSec);
    R.produceAll = pick((r) => r.produceAll, (r) => r.mbPerSec);
  }
  if (only.has('consume')) R.consume = pick((r) => r.consume, (r) => r.mbPerSec);
  if (only.has('e2e')) R.e2e = pick((r) => r.e2e, (r) => r.latencyMs?.p99, true);
  if (built) {
    R.rdkafka = {
      version: built.version,
      produce1: pick((r) => r.rd.produce1, (r) => r.result?.mb_per_s),
      produceAll: pick((r) => r.rd.produceAll, (r) => r.result?.mb_per_s),
      consume: pick((r) => r.rd.consume, (r) => r.result?.mb_per_s),
      e2e: pick((r) => r.rd.e2e, (r) => r.result?.e2e_p99_us, true),
    };
  }
}

/**
 * The median of the runs that worked, by `key`, with every round's value attached (`rounds`).
 * When none worked, the first failure.
 */
function median(runs, key, lowerIsBetter = false) {
  const present = runs.filter(Boolean);
  if (present.length === 0) return undefined;
  const good = present.filter((r) => r.ok !== false && Number.isFinite(key(r)));
  if (good.length === 0) return present[0];
  const sorted = [...good].sort((a, b) => key(a) - key(b));
  // With an even count, take the less favourable of the two middle runs.
  const mid = (sorted.length - 1) / 2;
  const m = { ...sorted[lowerIsBetter ? Math.ceil(mid) : Math.floor(mid)] };
  m.rounds = present.map((r) => (r.ok !== false && Number.isFinite(key(r)) ? key(r) : null));
  return m;
}

async function throughputRound(broker, i, tag, built) {
  const out = { rd: {} };
  const b = ['--bootstrap', broker.bootstrap];
  const lg1 = `lg-acks1-${i}`;
  if (only.has('produce') || only.has('consume')) {
    await settle();
    out.produce1 = await measure(broker, `produce acks=1 (loadgen)${tag}`, () =>
      loadgen(['produce', ...b, ...lgTopic(lg1), '--create', '--acks', '1', '--records', String(sizes.produce1Records), '--seconds', String(sizes.produceSeconds), '--progress'], sizes.produceSeconds + 90),
    );
  }
  if (only.has('produce')) {
    await settle();
    out.produceAll = await measure(broker, `produce acks=all (loadgen)${tag}`, () =>
      loadgen(['produce', ...b, ...lgTopic(`lg-acksall-${i}`), '--create', '--acks', 'all', '--records', String(sizes.produceAllRecords), '--seconds', String(sizes.produceSeconds), '--progress'], sizes.produceSeconds + 90),
    );
  }
  if (only.has('consume')) {
    await settle();
    out.consume = await measure(broker, `consume from offset 0 (loadgen)${tag}`, () =>
      loadgen(['consume', ...b, ...lgTopic(lg1), '--seconds', String(sizes.consumeSeconds)], sizes.consumeSeconds + 60),
    );
  }
  if (only.has('e2e')) {
    await settle();
    out.e2e = await measure(broker, `e2e latency at 5,000 records/s (loadgen)${tag}`, () =>
      loadgen(['e2e', ...b, ...lgTopic(`lg-lat-${i}`), '--rate', '5000', '--records', String(sizes.e2eRecords), '--seconds', String(sizes.e2eSeconds)], sizes.e2eSeconds + 60),
    );
  }
  if (built) {
    const T = sizes.rdTimeoutS;
    const run = (args) => runRdkafkaBench(built.binary, ['-b', broker.bootstrap, ...args], T);
    const rd = out.rd;
    const rk1 = `rk-acks1-${i}`;
    await settle();
    rd.produce1 = await measure(broker, `produce acks=1 (librdkafka)${tag}`, () => run(['-m', 'produce', '-t', rk1, '-s', '1024', '-n', String(sizes.rdProduce1Records), '-a', '1', '-p', '8']));
    await settle();
    rd.produceAll = await measure(broker, `produce acks=all (librdkafka)${tag}`, () => run(['-m', 'produce', '-t', `rk-acksall-${i}`, '-s', '1024', '-n', String(sizes.rdProduceAllRecords), '-a', 'all', '-p', '8']));
    const delivered = rd.produce1.result?.delivered ?? 0;
    if (delivered > 0) {
      await settle();
      rd.consume = await measure(broker, `consume from offset 0 (librdkafka)${tag}`, () => run(['-m', 'consume', '-t', rk1, '-n', String(delivered)]));
    }
    // linger.ms=0: the target is the broker's latency; librdkafka's default linger.ms=5 alone
    // would add up to 5 ms to every record.
    await settle();
    rd.e2e = await measure(broker, `e2e latency at 5,000 records/s (librdkafka, linger.ms=0)${tag}`, () =>
      run(['-m', 'e2e', '-t', `rk-lat-${i}`, '-s', '1024', '-r', '5000', '-n', String(sizes.rdE2eRecords), '-p', '8', '-l', '0']),
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Phase 2: memory with 1,000 partitions and a large store; start-up after a clean shutdown

function dirBytes(dir) {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) {
      try {
        total += statSync(path.join(e.parentPath ?? e.path, e.name)).size;
      } catch {
        /* removed meanwhile */
      }
    }
  }
  return total;
}

async function memoryPhase() {
  const free = freeBytes(tmpRoot);
  let total;
  if (flags['memory-gb']) total = Number(flags['memory-gb']) * GB;
  else if (flags.quick) total = sizes.memoryBytesDefault;
  else if (free > 40 * GB) total = sizes.memoryBytesDefault;
  else {
    total = Math.max(0.5 * GB, Math.floor(free / 4 / GB) * GB);
    ctx.notes.push(`only ${(free / GB).toFixed(1)} GB free on the data disk (<= 40 GB): the memory/start-up workload writes ${(total / GB).toFixed(1)} GB instead of 10 GB`);
  }
  if (total > free * 0.8) throw new Error(`not enough disk for the memory workload: ${(total / GB).toFixed(1)} GB wanted, ${(free / GB).toFixed(1)} GB free`);
  const topicCount = 125;
  const partitionsPerTopic = 8;
  const topics = ['--topic-prefix', 'mem', '--topic-count', String(topicCount), '--partitions', String(partitionsPerTopic)];
  const dataDir = path.join(tmpRoot, 'data-memory');
  const m = { partitions: topicCount * partitionsPerTopic, requestedGB: round(total / GB, 2), rss: {} };
  const s = { readyMs: [], shutdownMs: [] };
  ctx.results.memory = m;
  ctx.results.startup = s;
  const mb = (x) => (x === null ? null : round((x * 1024 * 1024) / MB, 0));
  const probeFile = path.join(tmpRoot, 'memory-probe.jsonl');
  let broker = await launchBroker('memory', dataDir, { probeFile });
  const mib = (x) => (x === null || x === undefined || !Number.isFinite(x) ? null : round((x * 1024 * 1024) / MB, 0));
  const composition = async () => {
    const probe = await probeMemory(broker.pid, probeFile);
    const smaps = rssBreakdownOf(broker.pid);
    const b = (x) => (typeof x === 'number' ? round(x / MB, 0) : null);
    return {
      heapUsedMB: b(probe?.heapUsed),
      heapTotalMB: b(probe?.heapTotal),
      externalMB: b(probe?.external),
      arrayBuffersMB: b(probe?.arrayBuffers),
      anonMB: mib(smaps?.anonMiB),
      fileMappedMB: mib(smaps?.fileMiB),
    };
  };
  m.composition = {};
  try {
    const b = ['--bootstrap', broker.bootstrap];
    m.rss.freshMB = mb(memoryOf(broker.pid).rssMiB);
    m.create = await measure(broker, `create ${topicCount} topics x ${partitionsPerTopic} partitions`, () => loadgen(['create', ...b, ...topics], 120));
    m.rss.afterCreateMB = mb(memoryOf(broker.pid).rssMiB);
    const records = Math.ceil(total / 1024);
    await settle();
    m.fill = await measure(broker, `write ${(total / GB).toFixed(1)} GB over ${m.partitions} partitions (loadgen, acks=1)`, () =>
      loadgen(['produce', ...b, ...topics, '--acks', '1', '--records', String(records), '--batch-records', '16', '--partitions-per-request', '16', '--inflight', '8', '--seconds', String(sizes.memoryWriteSeconds), '--progress'], sizes.memoryWriteSeconds + 120),
    );
    await sleep(2000);
    const afterWrite = memoryOf(broker.pid);
    m.rss.afterWriteMB = mb(afterWrite.rssMiB);
    m.composition.afterWrite = await composition();
    m.storedBytes = dirBytes(dataDir);
    m.storedGB = round(m.storedBytes / GB, 2);
    s.storedGB = m.storedGB;
    if (m.fill.ok && !m.fill.complete) ctx.notes.push(`the memory workload stopped writing at its time bound (${sizes.memoryWriteSeconds} s): ${m.storedGB} GB stored of ${m.requestedGB} GB asked`);
    // Read the first (consume bytes / partitions) of every partition, so every partition's log,
    // indexes and read path are touched, as when consumers of all of them catch up.
    const perPartition = Math.ceil(sizes.memoryConsumeBytes / m.partitions);
    await settle();
    m.consume = await measure(broker, `consume the first ${(perPartition / MB).toFixed(1)} MB of each of ${m.partitions} partitions (loadgen)`, () =>
      loadgen(['consume', ...b, ...topics, '--bytes', String(Math.round(sizes.memoryConsumeBytes * 1.5)), '--partition-bytes', String(perPartition), '--partition-max-bytes', String(Math.min(1024 * 1024, perPartition)), '--seconds', '120'], 180),
    );
    await sleep(1000);
    const afterConsume = memoryOf(broker.pid);
    m.rss.afterConsumeMB = mb(afterConsume.rssMiB);
    m.rss.peakMB = mb(afterConsume.hwmMiB);
    m.composition.afterConsume = await composition();
    const before = await loadgen(['offsets', ...b, ...topics], 60);
    s.recordsBeforeShutdown = before.totalRecords ?? null;
    const stop = await haltBroker(broker);
    s.shutdownMs.push(round(stop.shutdownMs, 0));
    s.cleanShutdown = stop.clean;
    for (let i = 0; i < sizes.restarts; i++) {
      broker = await launchBroker(`restart-${i + 1}`, dataDir);
      s.readyMs.push(round(broker.readyMs, 0));
      if (i === 0) {
        await sleep(500);
        s.rssAfterRestartMB = mb(memoryOf(broker.pid).rssMiB);
        const after = await loadgen(['offsets', '--bootstrap', broker.bootstrap, ...topics], 60);
        s.recordsAfterRestart = after.totalRecords ?? null;
        if (after.ok === false) ctx.anomalies.push(`after restart: ${after.error}`);
        else if (s.recordsAfterRestart !== s.recordsBeforeShutdown) {
          ctx.anomalies.push(`after a clean restart the partitions hold ${s.recordsAfterRestart} records, ${s.recordsBeforeShutdown} before the shutdown`);
        }
      }
      noteBrokerWarnings(broker, 'at start-up');
      // A moment before SIGTERM: a signal sent the instant the ready line appears can arrive before
      // the broker installs its handler (see the report); this workload measures start-up, not that.
      await sleep(300);
      const st = await haltBroker(broker);
      s.shutdownMs.push(round(st.shutdownMs, 0));
    }
  } finally {
    if (!broker.exited) await haltBroker(broker);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Phase 0: consumer groups (classic protocol): rebalance time, commit rate, start-up with many offsets

/**
 * The groups brokers run with group.initial.rebalance.delay.ms=0 (unless --set gives it): the
 * delay only postpones the first rebalance of an empty group on purpose, so with Kafka's 3000 ms
 * the rebalance figure would measure the timer. One extra broker keeps 3000 ms to show what it adds.
 */
async function groupsPhase() {
  const phaseStart = Date.now();
  const g = {};
  ctx.results.groups = g;
  const delaySet = brokerSets['group.initial.rebalance.delay.ms'] === undefined ? { 'group.initial.rebalance.delay.ms': '0' } : {};
  g.initialDelayMs = Number(brokerSets['group.initial.rebalance.delay.ms'] ?? 0);
  const rounds = String(sizes.groupRounds);
  const lgTimeoutS = 180;

  // Rebalances and commit rate, on one broker.
  const dataDir = path.join(tmpRoot, 'data-groups');
  let broker = await launchBroker('groups', dataDir, { sets: delaySet });
  g.brokerCommand = broker.commandLine;
  try {
    const b = ['--bootstrap', broker.bootstrap];
    await settle();
    g.rebalance = await measure(broker, `rebalance: ${rounds} fresh 10-member groups, first JoinGroups together, then an 11th member (loadgen)`, () =>
      loadgen(['rebalance', ...b, '--members', '10', '--partitions', '100', '--rounds', rounds, '--heartbeat-ms', '300', '--extra-member', '--group-prefix', 'lg-rebalance'], lgTimeoutS),
    );
    await settle();
    g.rebalanceStaggered = await measure(broker, `rebalance: ${rounds} fresh 10-member groups, members starting 50 ms apart (loadgen)`, () =>
      loadgen(['rebalance', ...b, '--members', '10', '--partitions', '100', '--rounds', rounds, '--heartbeat-ms', '300', '--stagger-ms', '50', '--group-prefix', 'lg-rebalance-staggered'], lgTimeoutS),
    );
    for (const inflight of [1, 4]) {
      await settle();
      g[`commits${inflight}`] = await measure(broker, `offset commits: 10 clients x 10 partitions per request, ${inflight} in flight each (loadgen)`, () =>
        loadgen(['commits', ...b, '--clients', '10', '--partitions', '100', '--partitions-per-request', '10', '--inflight', String(inflight), '--commits', String(sizes.commitsMax), '--seconds', String(sizes.commitSeconds), '--group-prefix', `lg-commit-${inflight}`], lgTimeoutS),
      );
    }
    // The coordinator replays all of __consumer_offsets at start-up, superseded commits included
    // (the active segment is never compacted): time a restart after the commit workloads' history.
    await haltBroker(broker);
    broker = await launchBroker('groups-restart', dataDir, { sets: delaySet });
    g.historyRestart = {
      records: (g.commits1?.commits ?? 0) + (g.commits4?.commits ?? 0),
      liveOffsets: (g.commits1?.verifiedPartitions ?? 0) + (g.commits4?.verifiedPartitions ?? 0),
      readyMs: round(broker.readyMs, 0),
      started: await startedFields(broker),
    };
    noteBrokerWarnings(broker, 'at start-up after the commit workloads');
  } finally {
    await haltBroker(broker);
    rmSync(dataDir, { recursive: true, force: true });
  }

  // What Kafka's default initial rebalance delay adds: one fresh group on a broker that keeps it.
  const delayDir = path.join(tmpRoot, 'data-groups-delay');
  broker = await launchBroker('groups-delay-3000', delayDir, { sets: { 'group.initial.rebalance.delay.ms': '3000' } });
  try {
    await settle();
    g.rebalanceDefaultDelay = await measure(broker, 'rebalance: one fresh 10-member group with group.initial.rebalance.delay.ms=3000 (loadgen)', () =>
      loadgen(['rebalance', '--bootstrap', broker.bootstrap, '--members', '10', '--partitions', '100', '--rounds', '1', '--heartbeat-ms', '300', '--group-prefix', 'lg-rebalance-delay'], lgTimeoutS),
    );
  } finally {
    await haltBroker(broker);
    rmSync(delayDir, { recursive: true, force: true });
  }

  // Start-up with many committed offsets: after SIGTERM, then after SIGKILL.
  const startDir = path.join(tmpRoot, 'data-groups-startup');
  const groups = sizes.offsetGroups;
  const offsets = ['--topic', 'lg-offsets-topic', '--partitions', '100', '--groups', String(groups), '--group-prefix', 'lg-load'];
  const s = { groups, offsets: groups * 100 };
  g.startup = s;
  broker = await launchBroker('groups-offsets', startDir, { sets: delaySet });
  try {
    await settle();
    s.fill = await measure(broker, `commit ${s.offsets} offsets (${groups} groups x 100 partitions, 100 per request)`, () =>
      loadgen(['offsets-fill', '--bootstrap', broker.bootstrap, ...offsets, '--offset-base', '1', '--connections', '4', '--inflight', '4', '--seconds', '60'], lgTimeoutS),
    );
    const stop = await haltBroker(broker);
    s.shutdownMs = round(stop.shutdownMs, 0);
    broker = await launchBroker('groups-offsets-restart', startDir, { sets: delaySet });
    s.clean = { readyMs: round(broker.readyMs, 0), started: await startedFields(broker) };
    noteBrokerWarnings(broker, 'at start-up');
    s.clean.verify = await measure(broker, `read back all ${s.offsets} offsets after a clean restart (OffsetFetch)`, () =>
      loadgen(['offsets-verify', '--bootstrap', broker.bootstrap, ...offsets, '--offset-base', '1', '--seconds', '60'], lgTimeoutS),
    );
    // New values for every offset, then SIGKILL as soon as the last commit is acknowledged (it is
    // durable by then): the next start has no clean-shutdown marker and recovers the log.
    s.refill = await measure(broker, `commit ${s.offsets} new offset values, then SIGKILL`, () =>
      loadgen(['offsets-fill', '--bootstrap', broker.bootstrap, ...offsets, '--offset-base', '10000000', '--connections', '4', '--inflight', '4', '--seconds', '60'], lgTimeoutS),
    );
    await crashBroker(broker);
    broker = await launchBroker('groups-offsets-after-kill', startDir, { sets: delaySet });
    s.killed = { readyMs: round(broker.readyMs, 0), started: await startedFields(broker) };
    noteBrokerWarnings(broker, 'at start-up after SIGKILL');
    s.killed.verify = await measure(broker, `read back all ${s.offsets} offsets after SIGKILL and restart (OffsetFetch)`, () =>
      loadgen(['offsets-verify', '--bootstrap', broker.bootstrap, ...offsets, '--offset-base', '10000000', '--seconds', '60'], lgTimeoutS),
    );
    for (const [k, want] of [['clean', s.offsets], ['killed', s.offsets]]) {
      const got = s[k].started?.committedOffsets;
      if (got !== want) ctx.anomalies.push(`groups start-up (${k === 'clean' ? 'after SIGTERM' : 'after SIGKILL'}): the broker loaded ${got ?? 'an unknown number of'} committed offsets, ${want} were committed`);
    }
  } finally {
    if (!broker.exited) await haltBroker(broker);
    rmSync(startDir, { recursive: true, force: true });
    g.phaseS = round((Date.now() - phaseStart) / 1000, 0);
  }
}

// ---------------------------------------------------------------------------------------------
// Phase 4: exactly-once producers (issue 4)

/**
 * One broker, default settings. (a) acks=all produce with and without a producer id, alternately
 * (the order flips every round, so drift and neighbours' noise hit both alike); the median of each
 * is compared; then the same with librdkafka when rdkafka_bench builds: enable.idempotence=true
 * against max.in.flight.requests.per.connection=5 without it (an idempotent producer keeps at most
 * 5 requests in flight; librdkafka's default otherwise is a million, which would measure the
 * client's pipelining, not the broker's producer state). (b) Small transactions: one producer as fast as it goes, which says how many
 * producers 1,000 transactions/s needs; that many producers as fast as they go (the ceiling); and
 * that many paced to 1,000/s together (the sustained-rate figure and its latencies).
 */
async function txnPhase() {
  const phaseStart = Date.now();
  const x = { idempotent: [], plain: [] };
  ctx.results.txn = x;
  const dataDir = path.join(tmpRoot, 'data-txn');
  const broker = await launchBroker('txn', dataDir);
  x.brokerCommand = broker.commandLine;
  const b = ['--bootstrap', broker.bootstrap];
  const timeoutS = 180;
  try {
    for (let i = 1; i <= sizes.idempotentRounds; i++) {
      const tag = sizes.idempotentRounds > 1 ? ` [round ${i}/${sizes.idempotentRounds}]` : '';
      const modes = i % 2 === 1 ? ['plain', 'idempotent'] : ['idempotent', 'plain'];
      for (const mode of modes) {
        await settle();
        const args = ['idempotent', ...b, ...lgTopic(`lg-${mode}-${i}`), '--create', '--records', String(sizes.idempotentRecords), '--seconds', '90', '--progress', ...(mode === 'plain' ? ['--plain'] : [])];
        x[mode].push(await measure(broker, `produce acks=all, ${mode === 'plain' ? 'no producer id' : 'idempotent'}, 5 in flight (loadgen)${tag}`, () => loadgen(args, timeoutS)));
      }
    }
    x.idempotentMedian = median(x.idempotent, (r) => r.mbPerSec);
    x.plainMedian = median(x.plain, (r) => r.mbPerSec);
    const built = buildRdkafkaBench(flags['rdkafka-source'], tmpRoot);
    if (built.ok) {
      const rd = { version: built.version, idempotent: [], plain: [] };
      x.rd = rd;
      for (let i = 1; i <= sizes.idempotentRounds; i++) {
        const tag = sizes.idempotentRounds > 1 ? ` [round ${i}/${sizes.idempotentRounds}]` : '';
        const modes = i % 2 === 1 ? ['plain', 'idempotent'] : ['idempotent', 'plain'];
        for (const mode of modes) {
          await settle();
          const prop = mode === 'plain' ? 'max.in.flight.requests.per.connection=5' : 'enable.idempotence=true';
          const args = ['-b', broker.bootstrap, '-m', 'produce', '-t', `rk-${mode}-${i}`, '-s', '1024', '-n', String(sizes.rdIdempotentRecords), '-a', 'all', '-p', '8', '-X', prop];
          rd[mode].push(await measure(broker, `produce acks=all, ${mode === 'plain' ? 'no producer id, 5 in flight' : 'enable.idempotence=true'} (librdkafka)${tag}`, () => runRdkafkaBench(built.binary, args, sizes.rdTimeoutS)));
        }
      }
      rd.idempotentMedian = median(rd.idempotent, (r) => r.result?.mb_per_s);
      rd.plainMedian = median(rd.plain, (r) => r.result?.mb_per_s);
    } else {
      log(`librdkafka idempotent comparison SKIPPED: ${built.reason}`);
    }
    const txnArgs = (topic, producers, seconds, rate) => ['txn', ...b, '--topic', topic, '--partitions', '8', '--producers', String(producers), '--seconds', String(seconds), ...(rate ? ['--rate', String(rate)] : [])];
    await settle();
    x.single = await measure(broker, 'transactions: 1 producer as fast as it goes, 10 records over 2 partitions each (loadgen)', () => loadgen(txnArgs('lg-txn-single', 1, sizes.txnSeconds), timeoutS));
    // Enough producers that each runs at no more than half what one alone reaches: a producer's
    // transactions are serial, so one paced near its own ceiling starts late whenever one is slow.
    const single = x.single.ok !== false ? x.single.txnsPerSec : null;
    x.producersForTarget = single ? Math.min(32, Math.max(1, Math.ceil((txnTargets.txnsPerSec * 2) / single))) : 8;
    const n = x.producersForTarget;
    await settle();
    x.ceiling = await measure(broker, `transactions: ${n} producers as fast as they go (loadgen)`, () => loadgen(txnArgs('lg-txn-ceiling', n, sizes.txnSeconds), timeoutS));
    await settle();
    x.rated = await measure(broker, `transactions: ${n} producers paced to ${txnTargets.txnsPerSec}/s together (loadgen)`, () => loadgen(txnArgs('lg-txn-rated', n, sizes.txnRatedSeconds, txnTargets.txnsPerSec), timeoutS));
  } finally {
    await haltBroker(broker);
    rmSync(dataDir, { recursive: true, force: true });
    x.phaseS = round((Date.now() - phaseStart) / 1000, 0);
  }
}

// ---------------------------------------------------------------------------------------------
// Report

function commandLine() {
  const args = process.argv.slice(2).join(' ');
  return process.env.npm_lifecycle_event === 'bench' ? `npm run bench${args ? ` -- ${args}` : ''}` : `node bench/run.mjs${args ? ` ${args}` : ''}`;
}

/** Broker CPU and how busy the rest of the machine was during a workload. */
function cpuNote(r) {
  if (!r || r.brokerCpuPct === undefined) return '';
  const parts = [`broker CPU ${r.brokerCpuPct}% of a core`];
  if (r.loadgenCpuSecs !== undefined) parts.push(`load generator ${r.loadgenCpuSecs} CPU s`);
  if (r.machineBusyPct !== null && r.machineBusyPct !== undefined) parts.push(`machine ${r.machineBusyPct}% busy${r.otherCpuPct !== null && r.otherCpuPct !== undefined ? ` (other processes ~${r.otherCpuPct}% of a core)` : ''}`);
  if (r.loadAverage !== undefined) parts.push(`load average ${r.loadAverage} before`);
  return parts.join(', ');
}

/** " (median of 3 rounds: a / b / c unit)" when a workload ran more than once. */
function roundsNote(r, unit, scale = 1) {
  if (!r || !Array.isArray(r.rounds) || r.rounds.length < 2) return '';
  return ` (median of ${r.rounds.length} rounds: ${r.rounds.map((x) => (x === null ? 'failed' : round(x * scale, 2))).join(' / ')} ${unit})`;
}

function details(machine) {
  const R = ctx.results;
  const lines = [];
  const p = (r, label) => {
    if (!r) return;
    if (r.ok === false) return lines.push(`- ${label}: FAILED — ${r.error}`);
    lines.push(
      `- ${label}: ${r.mbPerSec} MB/s${roundsNote(r, 'MB/s')}; ${r.records} records (${((r.records * 1024) / GB).toFixed(2)} GB) in ${r.secs} s; ${r.connections} connection(s), ${r.inflight} requests in flight, ${r.recordsPerBatch} records/batch, ${r.partitionsPerRequest} partitions/request, Produce v${r.produceVersion}; ack latency per request p50 ${r.requestLatencyMs?.p50} / p99 ${r.requestLatencyMs?.p99} ms; ${cpuNote(r)}`,
    );
  };
  p(R.produce1, 'produce acks=1 (loadgen)');
  p(R.produceAll, 'produce acks=all (loadgen)');
  if (R.consume) {
    const c = R.consume;
    if (c.ok === false) lines.push(`- consume (loadgen): FAILED — ${c.error}`);
    else lines.push(`- consume (loadgen): ${c.mbPerSec} MB/s${roundsNote(c, 'MB/s')}; ${c.records}/${c.expectedRecords} records, ${(c.batchBytes / GB).toFixed(2)} GB of batches in ${c.secs} s (${c.batchMbPerSec} MB/s of batches); ${c.fetchers} Fetch requests in flight on 1 connection, Fetch v${c.fetchVersion}, max bytes ${c.maxBytes}, partition max bytes ${c.partitionMaxBytes}; ${c.fetches} fetches (${c.emptyFetches} empty), ${c.offsetGaps} offset gaps; ${cpuNote(c)}`);
  }
  if (R.e2e) {
    const e = R.e2e;
    if (e.ok === false) lines.push(`- e2e (loadgen): FAILED — ${e.error}`);
    else lines.push(`- e2e (loadgen): p99 ${e.latencyMs?.p99} ms${roundsNote(e, 'ms p99')}; ${e.sent} records at ${e.achievedRate}/s (target rate ${e.rate}), ${e.received} received, ${e.missing} missing, first ${e.warmupRecords} excluded; produce ack p99 ${e.produceAckMs?.p99} ms; ${e.lateSends} late sends; ${cpuNote(e)}`);
  }
  const rd = R.rdkafka;
  if (rd?.skipped) lines.push(`- librdkafka: skipped — ${rd.skipped}`);
  else if (rd) {
    lines.push(`- librdkafka ${rd.version ?? ''}: rdkafka_bench.c built with gcc -O2; defaults except as shown`);
    for (const [k, label] of [['produce1', 'produce acks=1'], ['produceAll', 'produce acks=all'], ['consume', 'consume'], ['e2e', 'e2e']]) {
      const r = rd[k];
      if (!r) continue;
      const note = k === 'e2e' ? roundsNote(r, 'ms p99', 0.001) : roundsNote(r, 'MB/s');
      lines.push(`  - ${label}${note}: \`${r.command.replace(/-b \S+/, '-b <broker>')}\` → ${r.result ? Object.entries(r.result).filter(([x]) => !['mode', 'topic'].includes(x)).map(([x, v]) => `${x}=${v}`).join(' ') : `FAILED (exit ${r.code}): ${r.stderrTail}`}; ${cpuNote(r)}`);
    }
  }
  const m = R.memory;
  if (m) {
    lines.push(`- memory: ${m.partitions} partitions (125 topics x 8), ${m.storedGB ?? '–'} GB in the data dir (asked ${m.requestedGB} GB); RSS fresh ${m.rss.freshMB} MB, after creating topics ${m.rss.afterCreateMB} MB, after writing ${m.rss.afterWriteMB} MB, after consuming ${m.consume?.batchBytes ? (m.consume.batchBytes / GB).toFixed(2) : '–'} GB from ${m.consume?.partitionsRead ?? '–'} partitions ${m.rss.afterConsumeMB} MB; highest RSS sampled (every 250 ms) while writing ${m.fill?.brokerPeakRssMB ?? '–'} MB, while reading ${m.consume?.brokerPeakRssMB ?? '–'} MB; VmHWM ${m.rss.peakMB} MB`);
    for (const [when, c] of Object.entries(m.composition ?? {})) {
      if (c) lines.push(`  - RSS ${when === 'afterWrite' ? 'after writing' : 'after consuming'}: V8 heap ${c.heapUsedMB} MB used of ${c.heapTotalMB} MB, Buffers/ArrayBuffers outside the heap ${c.arrayBuffersMB} MB (external ${c.externalMB} MB), anonymous memory ${c.anonMB} MB, mapped file pages ${c.fileMappedMB} MB`);
    }
    if (m.create) lines.push(`  - creating the topics: ${m.create.ok === false ? `FAILED — ${m.create.error}` : `${m.create.secs} s`}`);
    if (m.fill) lines.push(`  - writing: ${m.fill.ok === false ? `FAILED — ${m.fill.error}` : `${m.fill.mbPerSec} MB/s, ${m.fill.records} records in ${m.fill.secs} s, 16 partitions x 16 records per request; ${cpuNote(m.fill)}`}`);
    if (m.consume) lines.push(`  - reading back: ${m.consume.ok === false ? `FAILED — ${m.consume.error}` : `${m.consume.mbPerSec} MB/s over ${m.consume.partitions} partitions; ${cpuNote(m.consume)}`}`);
  }
  const s = R.startup;
  if (s && s.readyMs) {
    lines.push(`- start-up: spawn to ready line ${s.readyMs.join(' / ')} ms over ${s.readyMs.length} restart(s) of a cleanly stopped broker (page cache warm); shutdowns took ${s.shutdownMs.join(' / ')} ms (first one clean: ${s.cleanShutdown}); RSS after restart ${s.rssAfterRestartMB} MB; records before/after restart ${s.recordsBeforeShutdown} / ${s.recordsAfterRestart}`);
  }
  if (ctx.brokerInfo.freshStartMs !== undefined) lines.push(`- broker start-up on an empty data dir: ${ctx.brokerInfo.freshStartMs} ms`);
  if (R.groups) lines.push(...groupDetails(R.groups));
  if (R.txn) lines.push(...txnDetails(R.txn));
  void machine;
  return lines.join('\n');
}

function groupDetails(g) {
  const lines = [`- consumer groups (${g.phaseS ?? '–'} s in all; broker \`${g.brokerCommand ?? '–'}\`):`];
  const fail = (r) => `FAILED — ${r.error ?? r.firstError}`;
  const rebalance = (r, label) => {
    if (!r) return;
    if (r.ok === false) return lines.push(`  - ${label}: ${fail(r)}`);
    const per = r.rounds.map((x) => (x.error ? `failed (${x.error})` : `${x.stabiliseMs} ms (gen ${x.generation}, ${x.joinRequests} JoinGroup)`)).join(' / ');
    lines.push(`  - ${label}: stable after the last member's first JoinGroup: median ${r.stabiliseMs.median}, max ${r.stabiliseMs.max} ms; per group ${per}; ${r.members} members on their own connections, JoinGroup v9 with the MEMBER_ID_REQUIRED round trip, range assignment of ${r.partitions} partitions by the leader, heartbeat every ${r.heartbeatMs} ms, session timeout ${r.sessionTimeoutMs} ms; ${cpuNote(r)}`);
    if (r.extraJoinMs) {
      const per2 = r.rounds.filter((x) => x.extraJoin).map((x) => `${x.extraJoin.stabiliseMs} ms (noticed by heartbeat after ${x.extraJoin.noticeMs.min}-${x.extraJoin.noticeMs.max} ms)`).join(' / ');
      lines.push(`  - an 11th member joins each of those groups once stable: all 11 hold their SyncGroup answer after median ${r.extraJoinMs.median}, max ${r.extraJoinMs.max} ms from its first JoinGroup; per group ${per2}`);
    }
  };
  rebalance(g.rebalance, 'rebalance, members join together');
  rebalance(g.rebalanceStaggered, 'rebalance, members join 50 ms apart');
  const d = g.rebalanceDefaultDelay;
  if (d) lines.push(`  - with group.initial.rebalance.delay.ms=3000 (Kafka's default): ${d.ok === false ? fail(d) : `stable ${d.stabiliseMs.median} ms after the last member's first JoinGroup (one group)`}`);
  for (const k of ['commits1', 'commits4']) {
    const c = g[k];
    if (!c) continue;
    if (c.ok === false) lines.push(`  - offset commits (${k.slice(-1)} in flight): ${fail(c)}`);
    else lines.push(`  - offset commits, ${c.inflight} in flight per client: ${c.commitsPerSec} commits/s, ${c.requestsPerSec} requests/s; ${c.commits} partition offsets in ${c.requests} OffsetCommit v${c.offsetCommitVersion} requests in ${c.secs} s; ${c.clients} clients, each its own group (generation -1) and ${c.partitionsPerRequest} partitions; request latency p50 ${c.requestLatencyMs.p50} / p99 ${c.requestLatencyMs.p99} / max ${c.requestLatencyMs.max} ms; ${c.verifiedPartitions} partitions read back at the last acknowledged offset, ${c.wrongPartitions} not; ${cpuNote(c)}`);
  }
  const h = g.historyRestart;
  if (h) {
    const st = h.started ?? {};
    lines.push(`  - restart after those commits (SIGTERM): spawn → ready ${h.readyMs} ms; broker: startupMs ${st.startupMs}, groupLoadMs ${st.groupLoadMs}, groups ${st.groups}, committedOffsets ${st.committedOffsets}; __consumer_offsets held about ${h.records} OffsetCommit records (one per committed partition offset) for ${h.liveOffsets} live offsets, plus the rebalance workloads' group records`);
  }
  const s = g.startup;
  if (s) {
    const f = (r) => (r ? (r.ok === false ? fail(r) : `${r.commits} offsets in ${r.secs} s (${r.commitsPerSec}/s, request p99 ${r.requestLatencyMs?.p99} ms)`) : '–');
    lines.push(`  - start-up: committed ${f(s.fill)}; SIGTERM took ${s.shutdownMs} ms`);
    for (const [k, label] of [['clean', 'after SIGTERM'], ['killed', `after new values for all offsets (${f(s.refill)}) and SIGKILL`]]) {
      const x = s[k];
      if (!x) continue;
      const st = x.started ?? {};
      const v = x.verify;
      lines.push(`  - restart ${label}: spawn → ready ${x.readyMs} ms; broker: startupMs ${st.startupMs}, groupLoadMs ${st.groupLoadMs}, groups ${st.groups}, committedOffsets ${st.committedOffsets}, cleanShutdown ${st.cleanShutdown}, recoveredSegments ${st.recoveredSegments}; read back ${v ? (v.ok === false ? fail(v) : `${v.matched}/${v.checked} as committed (${v.wrong} wrong, ${v.missing} missing) in ${v.secs} s`) : '–'}`);
    }
  }
  return lines;
}

function txnDetails(x) {
  const lines = [`- exactly-once producers (${x.phaseS ?? '–'} s in all; broker \`${x.brokerCommand ?? '–'}\`):`];
  const fail = (r) => `FAILED — ${r.error ?? r.firstError}`;
  for (const mode of ['plain', 'idempotent']) {
    const runs = x[mode] ?? [];
    if (!runs.length) continue;
    const per = runs.map((r) => (r.ok === false ? fail(r) : `${r.mbPerSec} MB/s (request p50 ${r.requestLatencyMs?.p50} / p99 ${r.requestLatencyMs?.p99} ms; ${cpuNote(r)})`)).join('; ');
    const r = runs.find((y) => y.ok !== false) ?? {};
    lines.push(`  - produce acks=all, ${mode === 'plain' ? 'no producer id' : 'idempotent (producer id, epoch, sequence per partition)'}: ${runs.length} run(s) of ${r.records ?? '–'} records of ${r.recordBytes ?? '–'} bytes, ${r.recordsPerBatch ?? '–'} per batch, ${r.partitionsPerRequest ?? '–'} partitions per request, ${r.inflight ?? '–'} requests in flight, Produce v${r.produceVersion ?? '–'}: ${per}`);
  }
  for (const mode of ['plain', 'idempotent']) {
    const runs = x.rd?.[mode] ?? [];
    if (!runs.length) continue;
    const per = runs.map((r) => (r.ok === false ? `FAILED — ${r.stderrTail ?? r.error}` : `${r.result.mb_per_s} MB/s (${cpuNote(r)})`)).join('; ');
    lines.push(`  - produce acks=all, librdkafka ${x.rd.version ?? ''}, ${mode === 'plain' ? 'max.in.flight.requests.per.connection=5, no producer id' : 'enable.idempotence=true'}: ${runs.length} run(s) of \`${runs[0].command ?? 'rdkafka_bench'}\`: ${per}`);
  }
  for (const [k, label] of [['single', '1 producer, as fast as it goes'], ['ceiling', `${x.producersForTarget} producers, as fast as they go`], ['rated', `${x.producersForTarget} producers paced to ${txnTargets.txnsPerSec}/s together`]]) {
    const r = x[k];
    if (!r) continue;
    if (r.ok === false) {
      lines.push(`  - transactions, ${label}: ${fail(r)}`);
      continue;
    }
    const s = r.stepMs ?? {};
    const log = r.check ? `${r.check.offsetsAdded} offsets added, ${r.check.expected} expected (records + markers); ${r.check.hanging.length ? `open transactions: ${r.check.hanging.join(', ')}` : 'last stable offset = high watermark everywhere'}` : '–';
    lines.push(
      `  - transactions, ${label}: ${r.txnsPerSec} txns/s, ${r.committed} committed in ${r.secs} s; ${r.recordsPerTxn} records of ${r.recordBytes} bytes over ${r.partitionsPerTxn} partitions each (AddPartitionsToTxn v${r.versions?.AddPartitionsToTxn}, Produce v${r.versions?.Produce} acks=all, EndTxn v${r.versions?.EndTxn}); ` +
        `latency p50 ${r.latencyMs?.p50} / p95 ${r.latencyMs?.p95} / p99 ${r.latencyMs?.p99} / max ${r.latencyMs?.max} ms, of which AddPartitionsToTxn p50 ${s.addPartitions?.p50}, Produce p50 ${s.produce?.p50}, EndTxn p50 ${s.endTxn?.p50} ms; ` +
        `CONCURRENT_TRANSACTIONS retries: AddPartitionsToTxn ${r.retries?.addPartitions}, EndTxn ${r.retries?.endTxn}${r.rate ? `; start lag behind the schedule p50 ${r.startLagMs?.p50} / p99 ${r.startLagMs?.p99} / max ${r.startLagMs?.max} ms, ${r.lateStarts} transactions started more than one interval (${round((r.producers / r.rate) * 1000, 1)} ms) late` : ''}; log afterwards: ${log}; ${cpuNote(r)}`,
    );
  }
  return lines;
}

function runMarkdown(machine, git, rows) {
  const date = new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  const out = [
    `### ${date} · ${git.commit ?? 'unknown commit'}${git.dirty ? ` (+${git.dirty} uncommitted files outside bench/)` : ''}${flags.quick ? ' · quick' : ''}${profileDir ? ' · profiled (node --cpu-prof on the broker)' : ''}`,
    '',
    `- commit: ${git.commit ?? '?'} — ${git.subject ?? ''}`,
    `- machine: ${machine.nproc} CPUs (${machine.cpuModel}), ${machine.memory} RAM, ${machine.kernel}`,
    `- disk: ${machine.disk}`,
    `- node: ${machine.node}`,
    `- command: \`${commandLine()}\``,
    `- broker: \`${ctx.brokerInfo.command ?? ctx.results.groups?.brokerCommand ?? '–'}\``,
    '',
    markdownTable(rows),
    '',
    details(machine),
  ];
  if (ctx.notes.length) out.push('', 'Notes:', ...ctx.notes.map((n) => `- ${n}`));
  if (ctx.anomalies.length) out.push('', 'Problems seen:', ...ctx.anomalies.map((a) => `- ${a.replace(/\n/g, '\n  ')}`));
  return out.join('\n');
}

function printProfiles() {
  for (const p of ctx.profiles) {
    let prof;
    try {
      prof = JSON.parse(readFileSync(p.file, 'utf8'));
    } catch (err) {
      log(`profile ${p.file}: ${err.message}`);
      continue;
    }
    for (const w of ctx.windows.filter((x) => x.broker === p.broker)) {
      const summary = summarizeProfile(prof, 15, [w.startUs, w.endUs]);
      process.stdout.write(`\n=== broker CPU profile: ${w.name} (${p.file}) ===\n${formatProfile(summary)}\n`);
    }
  }
  writeFileSync(path.join(profileDir, 'windows.json'), JSON.stringify(ctx.windows, null, 2));
  log(`profiles in ${profileDir} (per-workload windows in windows.json; node bench/profile-top.mjs FILE --window START,END)`);
}

/** Waits (bounded) until other processes leave the machine nearly idle. */
async function waitQuiet(maxS) {
  const until = Date.now() + maxS * 1000;
  for (;;) {
    const a = systemCpuSeconds();
    await sleep(5000);
    const b = systemCpuSeconds();
    const busy = a && b ? ((b.busy - a.busy) / (b.total - a.total)) * 100 : 0;
    if (busy < 10) return log(`machine idle (${busy.toFixed(0)}% busy over 5 s); starting`);
    if (Date.now() >= until) {
      ctx.notes.push(`waited ${maxS} s for an idle machine; it stayed ${busy.toFixed(0)}% busy`);
      return log(`machine still ${busy.toFixed(0)}% busy after ${maxS} s; starting anyway`);
    }
    log(`machine ${busy.toFixed(0)}% busy (load average ${loadAverage()}); waiting for it to quieten`);
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const machine = machineInfo(tmpRoot);
  const git = gitInfo(repoRoot);
  log(`${machine.nproc} CPUs (${machine.cpuModel}), ${machine.memory}, ${machine.kernel}, node ${machine.node}`);
  log(`disk: ${machine.disk}`);
  log(`commit ${git.commit}${git.dirty ? ` (+${git.dirty} uncommitted files outside bench/)` : ''}; workloads: ${[...only].join(', ')}${flags.quick ? ' (quick)' : ''}`);
  const quietS = Number(flags['wait-quiet']);
  if (quietS > 0) await waitQuiet(quietS);
  const started = Date.now();
  const sysStart = systemCpuSeconds();
  let failed = false;
  try {
    // Groups first: small writes and fsyncs, measured on the same machine state as `--only groups`.
    if (only.has('groups')) await groupsPhase();
    if (only.has('txn')) await txnPhase();
    if (['produce', 'consume', 'e2e', 'rdkafka'].some((w) => only.has(w))) await throughputPhase();
    if (only.has('memory') || only.has('startup')) await memoryPhase();
  } catch (err) {
    failed = true;
    ctx.anomalies.push(`benchmark aborted: ${err.message}`);
    log(`ERROR: ${err.stack ?? err}`);
  } finally {
    await cleanup();
  }
  const sysEnd = systemCpuSeconds();
  if (sysStart && sysEnd) ctx.machineBusyPct = round(((sysEnd.busy - sysStart.busy) / (sysEnd.total - sysStart.total)) * 100, 0);
  const others = Object.values(ctx.results)
    .flatMap((r) => (r && typeof r === 'object' ? [r, ...Object.values(r).filter((x) => x && typeof x === 'object')] : []))
    .map((r) => r.otherCpuPct)
    .filter((x) => typeof x === 'number');
  if (others.length) {
    const mean = others.reduce((a, b) => a + b, 0) / others.length;
    ctx.noise = `other processes on this shared machine used ~${mean.toFixed(0)}% of a core on average during the load-generator workloads (max ${Math.max(...others)}%); the whole machine was ${ctx.machineBusyPct}% busy over the run`;
    if (mean > 25) ctx.notes.unshift(`NOISY RUN: ${ctx.noise}; throughput and latency figures are depressed by it`);
    else ctx.notes.unshift(ctx.noise);
  }
  if (!only.has('memory')) delete ctx.results.memory;
  if (!only.has('startup')) delete ctx.results.startup;
  const issue2Rows = summaryRows(ctx.results);
  const groupsRows = groupRows(ctx.results.groups);
  const txnsRows = txnRows(ctx.results.txn);
  const rows = [...issue2Rows, ...groupsRows, ...txnsRows];
  process.stdout.write(`\n${consoleTable(rows)}\n\n${details(machine)}\n`);
  if (ctx.notes.length) process.stdout.write(`\nNotes:\n${ctx.notes.map((n) => `- ${n}`).join('\n')}\n`);
  if (ctx.anomalies.length) process.stdout.write(`\nProblems seen:\n${ctx.anomalies.map((a) => `- ${a}`).join('\n')}\n`);
  process.stdout.write(`\ntotal time ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  if (profileDir) printProfiles();
  if (flags.record) {
    const latest = (r) => (r.length ? [`Latest: ${new Date().toISOString().slice(0, 10)}, commit ${git.commit}, \`${commandLine()}\` (details under Runs).`, '', markdownTable(r)].join('\n') : undefined);
    writeResults(flags['results-file'], { latest: latest(issue2Rows), 'latest-groups': latest(groupsRows), 'latest-txn': latest(txnsRows) }, runMarkdown(machine, git, rows));
    log(`recorded in ${path.relative(process.cwd(), flags['results-file'])}`);
  }
  const workloadFailed = Object.values(ctx.results).some((r) => r && (r.ok === false || ((r === ctx.results.groups || r === ctx.results.txn) && Object.values(r).some((x) => x && x.ok === false))));
  process.exitCode = failed || workloadFailed || ctx.anomalies.some((a) => a.includes('died')) ? 1 : 0;
}

await main();
