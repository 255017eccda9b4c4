#!/usr/bin/env node
// `fjord perf` next to librdkafka's load generator, against one `fjord server` started here:
//   produce: 1 KiB records, 8 partitions, acks=1, 200,000 records
//   e2e:     5,000 records/s for 20 s, acks=1, linger 0
// Usage: node bench/perf-cli.mjs [--records N] [--e2e-ms T] [--no-rdkafka]
// Prints every command, its figures and a markdown table; the broker is stopped by PID and its
// data dir removed at the end. Needs the built workspace (npm run build); librdkafka is optional
// (gcc + librdkafka-dev; built to /tmp from ../shared/tools/rdkafka_bench.c).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, cpus, totalmem } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'packages/cli/bin/fjord.js');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const records = opt('--records', 200_000);
const e2eMs = opt('--e2e-ms', 20_000);
const e2eRate = 5_000;
const withRdkafka = !args.includes('--no-rdkafka');

function cpuTimes() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + f[4];
  return { idle, total: f.reduce((a, b) => a + b, 0) };
}

function busySince(t0) {
  const t1 = cpuTimes();
  const total = t1.total - t0.total;
  return total > 0 ? 1 - (t1.idle - t0.idle) / total : 0;
}

function procCpuSeconds(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

async function startBroker() {
  const dir = mkdtempSync(join(tmpdir(), 'fjord-perf-bench-'));
  const proc = spawn(process.execPath, [cli, 'server', '--listen', '127.0.0.1:0', '--data-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`broker not ready in 30 s:\n${out}`)), 30_000);
    const onData = (d) => {
      out += d;
      const m = /ready on \S+?:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`broker exited ${code}:\n${out}`)));
  });
  return { proc, dir, bootstrap: `127.0.0.1:${port}` };
}

async function stopBroker(b) {
  const exited = new Promise((r) => b.proc.once('exit', r));
  process.kill(b.proc.pid, 'SIGTERM');
  const t = setTimeout(() => process.kill(b.proc.pid, 'SIGKILL'), 15_000);
  await exited;
  clearTimeout(t);
  rmSync(b.dir, { recursive: true, force: true });
}

function runTimed(cmd, argv, broker) {
  const t0 = cpuTimes();
  const c0 = procCpuSeconds(broker.proc.pid);
  const started = Date.now();
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 300_000, maxBuffer: 64 * 1024 * 1024 });
  const wallMs = Date.now() - started;
  const brokerCpu = (procCpuSeconds(broker.proc.pid) - c0) / (wallMs / 1000);
  return { ...r, wallMs, machineBusy: busySince(t0), brokerCpu };
}

function rdkafkaBinary() {
  const bin = join(tmpdir(), 'rdkafka_bench_perfcli');
  if (existsSync(bin)) return bin;
  const src = join(root, '..', 'shared', 'tools', 'rdkafka_bench.c');
  if (!existsSync(src)) return undefined;
  const r = spawnSync('gcc', ['-O2', '-Wall', '-o', bin, src, '-lrdkafka', '-lpthread'], { encoding: 'utf8' });
  return r.status === 0 ? bin : undefined;
}

const rdkafkaResult = (stdout) => Object.fromEntries((/^RESULT (.*)$/m.exec(stdout)?.[1] ?? '').split(' ').filter(Boolean).map((kv) => kv.split('=')));
const pct = (x) => `${Math.round(x * 100)}%`;

const broker = await startBroker();
const rows = [];
const details = [];
try {
  console.log(`machine: ${cpus().length} CPUs (${cpus()[0]?.model}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}; broker ${broker.bootstrap} (pid ${broker.proc.pid})`);
  const fjord = (argv) => {
    const full = ['perf', ...argv, '--bootstrap', broker.bootstrap, '--json'];
    console.log(`$ fjord ${full.join(' ')}`);
    const r = runTimed(process.execPath, [cli, ...full], broker);
    if (r.status !== 0) throw new Error(`fjord perf exited ${r.status}: ${r.stderr}`);
    const j = JSON.parse(r.stdout);
    details.push({ command: `fjord ${full.join(' ')}`, wallMs: r.wallMs, machineBusy: r.machineBusy, brokerCpu: r.brokerCpu, json: j });
    return { j, r };
  };

  const p = fjord(['produce', '--topic', 'perf-produce', '--create-topic', '--partitions', '8', '--record-size', '1024', '--acks', '1', '--num-records', String(records)]);
  const pl = p.j.latencyMs;
  rows.push(['produce 1 KiB, 8 partitions, acks=1', 'fjord perf produce', `${Math.round(p.j.recordsPerSec).toLocaleString('en-US')} rec/s · ${p.j.mbPerSec.toFixed(1)} MB/s`, `send→ack p50 ${pl.p50} · p99 ${pl.p99} · p99.9 ${pl.p99_9} · max ${pl.max} ms`, `broker ${pct(p.r.brokerCpu)} · client ${p.j.processCpu.percentOfOneCore}% · machine ${pct(p.r.machineBusy)}`]);

  // librdkafka batches up to 1 MB by default (batch.size 1000000); the Fjord client 16 KiB (Java's default).
  const pb = fjord(['produce', '--topic', 'perf-produce-big', '--create-topic', '--partitions', '8', '--record-size', '1024', '--acks', '1', '--batch-bytes', '1048576', '--num-records', String(records)]);
  const pbl = pb.j.latencyMs;
  rows.push(['produce as above, --batch-bytes 1048576', 'fjord perf produce', `${Math.round(pb.j.recordsPerSec).toLocaleString('en-US')} rec/s · ${pb.j.mbPerSec.toFixed(1)} MB/s`, `send→ack p50 ${pbl.p50} · p99 ${pbl.p99} · p99.9 ${pbl.p99_9} · max ${pbl.max} ms`, `broker ${pct(pb.r.brokerCpu)} · client ${pb.j.processCpu.percentOfOneCore}% · machine ${pct(pb.r.machineBusy)}`]);

  const c = fjord(['consume', '--topic', 'perf-produce', '--num-records', String(records)]);
  rows.push(['consume the same, from the beginning', 'fjord perf consume', `${Math.round(c.j.recordsPerSec).toLocaleString('en-US')} rec/s · ${c.j.mbPerSec.toFixed(1)} MB/s`, `first record after ${c.j.firstRecordMs} ms`, `broker ${pct(c.r.brokerCpu)} · client ${c.j.processCpu.percentOfOneCore}% · machine ${pct(c.r.machineBusy)}`]);

  const e = fjord(['e2e', '--topic', 'perf-e2e', '--create-topic', '--partitions', '8', '--record-size', '1024', '--acks', '1', '--throughput', String(e2eRate), '--duration-ms', String(e2eMs)]);
  const el = e.j.latencyMs;
  const es = e.j.latencyFromSendMs;
  rows.push([`e2e at ${e2eRate.toLocaleString('en-US')} rec/s for ${e2eMs / 1000} s, acks=1, linger 0`, 'fjord perf e2e', `${e.j.count.toLocaleString('en-US')} received · ${e.j.lost} lost`, `from schedule p50 ${el.p50} · p99 ${el.p99} · p99.9 ${el.p99_9} · max ${el.max} ms; from send() p50 ${es.p50} · p99 ${es.p99} · max ${es.max} ms`, `broker ${pct(e.r.brokerCpu)} · client ${e.j.processCpu.percentOfOneCore}% · machine ${pct(e.r.machineBusy)}`]);

  const bin = withRdkafka ? rdkafkaBinary() : undefined;
  if (bin) {
    const rk = (argv) => {
      const full = ['-b', broker.bootstrap, ...argv, '--quiet'];
      console.log(`$ rdkafka_bench ${full.join(' ')}`);
      const r = runTimed(bin, full, broker);
      const res = rdkafkaResult(r.stdout);
      details.push({ command: `rdkafka_bench ${full.join(' ')}`, wallMs: r.wallMs, machineBusy: r.machineBusy, brokerCpu: r.brokerCpu, result: res, exit: r.status });
      return { res, r };
    };
    const rp = rk(['-m', 'produce', '-t', 'rk-produce', '-s', '1024', '-n', String(records), '-a', '1', '-p', '8', '--timeout', '120']);
    rows.push(['produce 1 KiB, 8 partitions, acks=1', 'librdkafka (rdkafka_bench)', `${Math.round(Number(rp.res.msgs_per_s)).toLocaleString('en-US')} rec/s · ${rp.res.mb_per_s} MB/s`, `enqueue→DR p50 ${(Number(rp.res.dr_p50_us) / 1000).toFixed(1)} · p99 ${(Number(rp.res.dr_p99_us) / 1000).toFixed(1)} ms`, `broker ${pct(rp.r.brokerCpu)} · machine ${pct(rp.r.machineBusy)}`]);
    const rc = rk(['-m', 'consume', '-t', 'rk-produce', '-n', String(records), '--timeout', '120']);
    rows.push(['consume the same, from the beginning', 'librdkafka (rdkafka_bench)', `${Math.round(Number(rc.res.msgs_per_s)).toLocaleString('en-US')} rec/s · ${rc.res.mb_per_s} MB/s`, '', `broker ${pct(rc.r.brokerCpu)} · machine ${pct(rc.r.machineBusy)}`]);
    const n = Math.round((e2eRate * e2eMs) / 1000);
    const re = rk(['-m', 'e2e', '-t', 'rk-e2e', '-s', '1024', '-r', String(e2eRate), '-n', String(n), '-a', '1', '-l', '0', '-w', '0', '-p', '8', '--timeout', '120']);
    const us = (k) => (Number(re.res[`e2e_${k}`]) / 1000).toFixed(2);
    rows.push([`e2e at ${e2eRate.toLocaleString('en-US')} rec/s for ${e2eMs / 1000} s, acks=1, linger 0`, 'librdkafka (rdkafka_bench, -w 0)', `${Number(re.res.received).toLocaleString('en-US')} received · ${re.res.missing} missing`, `produce() → poll p50 ${us('p50_us')} · p99 ${us('p99_us')} · p99.9 ${us('p999_us')} · max ${us('max_us')} ms`, `broker ${pct(re.r.brokerCpu)} · machine ${pct(re.r.machineBusy)}`]);
  } else if (withRdkafka) {
    console.log('librdkafka: not built (needs gcc and librdkafka-dev); skipped');
  }
} finally {
  await stopBroker(broker);
}

console.log('\n| workload | tool | throughput | latency | CPU (broker, client: % of one core; machine: % of both) |\n|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
console.log('\nDETAILS');
for (const d of details) console.log(JSON.stringify(d));
