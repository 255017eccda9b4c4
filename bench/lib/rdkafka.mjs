/**
 * The librdkafka yardstick: builds ../shared/tools/rdkafka_bench.c when gcc and librdkafka's
 * headers are there, runs its modes against the broker and parses its `RESULT key=value` lines.
 * Optional: when it cannot be built, the benchmark says why and goes on without it.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export const rdkafkaSourceDefault = '/work/shared/tools/rdkafka_bench.c';

/** Returns { ok: true, binary } or { ok: false, reason }. */
export function buildRdkafkaBench(source, outDir) {
  if (!existsSync(source)) return { ok: false, reason: `${source} not found` };
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
  } catch {
    return { ok: false, reason: 'gcc is not installed' };
  }
  const headerDirs = ['/usr/include/librdkafka/rdkafka.h', '/usr/local/include/librdkafka/rdkafka.h'];
  if (!headerDirs.some((h) => existsSync(h))) return { ok: false, reason: 'librdkafka headers not found (apt-get install -y librdkafka-dev)' };
  const binary = path.join(outDir, 'rdkafka_bench');
  try {
    execFileSync('gcc', ['-O2', '-Wall', '-o', binary, source, '-lrdkafka', '-lpthread'], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    return { ok: false, reason: `gcc failed: ${String(err.stderr ?? err.message).trim().split('\n').slice(-3).join(' | ')}` };
  }
  let version = null;
  try {
    version = execFileSync('sh', ['-c', "dpkg-query -W -f '${Version}' librdkafka-dev 2>/dev/null || true"], { encoding: 'utf8' }).trim() || null;
  } catch {
    /* not Debian */
  }
  return { ok: true, binary, version };
}

/**
 * Runs one mode; `args` are its flags. Bounded by the tool's own --timeout plus a margin, after
 * which the child (and only it) is killed. Resolves { ok, result, code, stderrTail, command }.
 */
export function runRdkafkaBench(binary, args, timeoutS) {
  const fullArgs = [...args, '--timeout', String(timeoutS), '--quiet'];
  return new Promise((resolve) => {
    const child = spawn(binary, fullArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => {
      err += d;
      if (err.length > 100_000) err = err.slice(-50_000);
    });
    const t0 = Date.now();
    const killer = setTimeout(() => {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, (timeoutS + 30) * 1000);
    child.on('exit', (code, signal) => {
      clearTimeout(killer);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      const result = line ? parseResultLine(line) : null;
      resolve({
        ok: code === 0 && result !== null,
        code,
        signal,
        result,
        stdout: out.trim(),
        stderrTail: signal
          ? `killed by the benchmark after ${((Date.now() - t0) / 1000).toFixed(0)} s (its --timeout ${timeoutS} s + 30 s) ${err.trim().split('\n').slice(-3).join(' / ')}`
          : err.trim().split('\n').slice(-8).join('\n'),
        command: [path.basename(binary), ...fullArgs].join(' '),
      });
    });
  });
}

export function parseResultLine(line) {
  const out = {};
  for (const kv of line.slice('RESULT '.length).trim().split(/\s+/)) {
    const i = kv.indexOf('=');
    if (i < 0) continue;
    const v = kv.slice(i + 1);
    out[kv.slice(0, i)] = v !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
  }
  return out;
}
