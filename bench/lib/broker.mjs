/**
 * Starts and stops a Fjord broker for the benchmark: `node packages/cli/bin/fjord.js server` on
 * 127.0.0.1:0 with its own data dir, ready when it prints `fjord: broker <id> ready on <host:port>`.
 * Only the process spawned here is ever signalled, by its PID.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import path from 'node:path';

export const readyTimeoutMsDefault = 120_000;
export const stopTimeoutMsDefault = 60_000;
const tailLinesMax = 60;
const readyPattern = /fjord: broker (\S+) ready on (\S+):(\d+)/;
/** The broker's own start-up summary (stderr): `… INFO broker started nodeId=1 … groupLoadMs=12`. */
const startedPattern = / INFO broker started (.*)$/;

/** The Node flags of the CLI's `#!/usr/bin/env -S node ...` line: `npx fjord server` runs with them, so the benchmark's broker does too. */
export function cliNodeFlags(cli) {
  return (/^#!\/usr\/bin\/env -S node(.*)/.exec(readFileSync(cli, 'utf8'))?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
}

/**
 * options: { repoRoot, dataDir, sets: {key: value}, nodeArgs: [], logFile, readyTimeoutMs }.
 * Resolves once the ready line is printed: { pid, port, bootstrap, readyMs, ... }. Rejects (after
 * killing the process it spawned) if it exits or does not get ready in time.
 */
export function startBroker(options) {
  const { repoRoot, dataDir, sets = {}, nodeArgs = [], env, logFile, readyTimeoutMs = readyTimeoutMsDefault } = options;
  const cli = path.join(repoRoot, 'packages/cli/bin/fjord.js');
  const args = [
    ...cliNodeFlags(cli),
    ...nodeArgs,
    cli,
    'server',
    '--listen',
    '127.0.0.1:0',
    '--data-dir',
    dataDir,
    ...Object.entries(sets).flatMap(([k, v]) => ['--set', `${k}=${v}`]),
  ];
  const command = [process.execPath, ...args];
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: env ? { ...process.env, ...env } : process.env });
  const log = logFile ? createWriteStream(logFile, { flags: 'a' }) : null;
  const broker = {
    child,
    pid: child.pid,
    command,
    port: null,
    bootstrap: null,
    readyMs: null,
    exited: false,
    exitCode: null,
    exitSignal: null,
    /** Set when the process exits while we did not ask it to. */
    unexpectedExit: null,
    stopping: false,
    tail: [],
    warnings: [],
    /** Fields of the `broker started` log line (numbers where they parse), once it is printed. */
    started: null,
  };
  const exitPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      broker.exited = true;
      broker.exitCode = code;
      broker.exitSignal = signal;
      broker.exitedAt = process.hrtime.bigint();
      if (!broker.stopping) broker.unexpectedExit = `exit code ${code}, signal ${signal}`;
      resolve();
    });
  });
  broker.exitPromise = exitPromise;

  return new Promise((resolve, reject) => {
    let ready = false;
    const timer = setTimeout(() => {
      if (!ready) {
        killOwn(broker);
        reject(new Error(`broker did not print its ready line within ${readyTimeoutMs} ms; last output:\n${broker.tail.join('\n')}`));
      }
    }, readyTimeoutMs);
    const onLine = (stream) => (line) => {
      log?.write(`[${stream}] ${line}\n`);
      broker.tail.push(line);
      if (broker.tail.length > tailLinesMax) broker.tail.shift();
      if (/error|warn|uncaught|exception/i.test(line) && broker.warnings.length < 500) broker.warnings.push(line);
      const st = broker.started === null && startedPattern.exec(line);
      if (st) broker.started = parseFields(st[1]);
      const m = !ready && readyPattern.exec(line);
      if (m) {
        ready = true;
        clearTimeout(timer);
        broker.readyMs = Number(process.hrtime.bigint() - t0) / 1e6;
        broker.nodeId = m[1];
        broker.port = Number(m[3]);
        broker.bootstrap = `127.0.0.1:${broker.port}`;
        resolve(broker);
      }
    };
    lines(child.stdout, onLine('out'));
    lines(child.stderr, onLine('err'));
    exitPromise.then(() => {
      log?.end();
      if (!ready) {
        clearTimeout(timer);
        reject(new Error(`broker exited before it was ready (code ${broker.exitCode}, signal ${broker.exitSignal}); last output:\n${broker.tail.join('\n')}`));
      }
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** `a=1 b=x c="y"` -> { a: 1, b: 'x', c: 'y' } (values without spaces, as the broker's logger writes them). */
function parseFields(text) {
  const out = {};
  for (const m of text.matchAll(/(\w+)=(\S+)/g)) {
    const v = m[2];
    out[m[1]] = /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v === 'true' ? true : v === 'false' ? false : v;
  }
  return out;
}

/** Waits (bounded) for the `broker started` line, which may trail the ready line (another pipe). */
export async function startedFields(broker, timeoutMs = 3000) {
  const until = Date.now() + timeoutMs;
  while (broker.started === null && !broker.exited && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  return broker.started;
}

function lines(stream, fn) {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (s) => {
    rest += s;
    let i;
    while ((i = rest.indexOf('\n')) >= 0) {
      fn(rest.slice(0, i));
      rest = rest.slice(i + 1);
    }
    if (rest.length > 65536) {
      fn(rest);
      rest = '';
    }
  });
  stream.on('end', () => rest && fn(rest));
}

function killOwn(broker) {
  if (!broker.exited) {
    try {
      process.kill(broker.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/**
 * SIGTERM (clean shutdown), then waits up to `timeoutMs`; SIGKILL if it is still there. Returns
 * { clean, code, signal, shutdownMs }.
 */
export async function stopBroker(broker, timeoutMs = stopTimeoutMsDefault) {
  if (broker.exited) return { clean: false, code: broker.exitCode, signal: broker.exitSignal, shutdownMs: 0, alreadyExited: true };
  broker.stopping = true;
  const t0 = process.hrtime.bigint();
  process.kill(broker.pid, 'SIGTERM');
  let timer;
  const timedOut = await Promise.race([
    broker.exitPromise.then(() => false),
    new Promise((r) => {
      timer = setTimeout(() => r(true), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    killOwn(broker);
    await broker.exitPromise;
  }
  const shutdownMs = Number((broker.exitedAt ?? process.hrtime.bigint()) - t0) / 1e6;
  return { clean: !timedOut && broker.exitCode === 0, code: broker.exitCode, signal: broker.exitSignal, shutdownMs, timedOut };
}

/**
 * SIGKILL (no clean shutdown: the next start recovers) to the broker spawned here, by its PID;
 * resolves once it has exited. Returns { code, signal, killMs }.
 */
export async function killBroker(broker) {
  if (broker.exited) return { code: broker.exitCode, signal: broker.exitSignal, killMs: 0, alreadyExited: true };
  broker.stopping = true;
  const t0 = process.hrtime.bigint();
  killOwn(broker);
  await broker.exitPromise;
  return { code: broker.exitCode, signal: broker.exitSignal, killMs: Number((broker.exitedAt ?? process.hrtime.bigint()) - t0) / 1e6 };
}

/** VmRSS and VmHWM of a process in MiB, from /proc/<pid>/status. */
export function memoryOf(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
    return { rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024 };
  } catch {
    return { rssMiB: null, hwmMiB: null };
  }
}

const clockTicks = 100; // USER_HZ on Linux

/** CPU seconds (user + system, all threads) used so far by a process, from /proc/<pid>/stat. */
export function cpuSecondsOf(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return null;
  }
}

/**
 * What the RSS is made of, from /proc/<pid>/smaps_rollup (MiB): anonymous memory (heap, Buffers,
 * malloc) versus file pages mapped into the process (e.g. mmap'ed index files).
 */
export function rssBreakdownOf(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN) / 1024;
    return { rssMiB: kb('Rss'), anonMiB: kb('Anonymous'), fileMiB: kb('Pss_File'), shmemMiB: kb('Pss_Shmem') };
  } catch {
    return null;
  }
}

/** Asks a broker started with the memory probe for its memory usage; resolves with the parsed line or null. */
export async function probeMemory(pid, probeFile, timeoutMs = 2000) {
  let before = 0;
  try {
    before = readFileSync(probeFile, 'utf8').length;
  } catch {
    /* no file yet */
  }
  try {
    process.kill(pid, 'SIGUSR2');
  } catch {
    return null;
  }
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    let text = '';
    try {
      text = readFileSync(probeFile, 'utf8');
    } catch {
      continue;
    }
    if (text.length > before) {
      const line = text.slice(before).trim().split('\n').pop();
      try {
        return JSON.parse(line);
      } catch {
        return null;
      }
    }
  }
  return null;
}
