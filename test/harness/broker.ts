// Starts a real Fjord broker process for a test: a fresh data dir under the OS temp dir, port 0
// (the real port is parsed from the ready line), captured logs, and bounded stop/kill/restart.
import { type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { repoRoot, spawnTracked } from './proc.js';
import { keepTempDirs, makeTempDir, removeTempDir, withTimeout } from './util.js';

export const cliPath = join(repoRoot, 'packages', 'cli', 'bin', 'fjord.js');
/** The Node flags of the CLI's `#!/usr/bin/env -S node ...` line: `npx fjord server` runs with them, so the tests' brokers do too. */
export const cliNodeFlags = (/^#!\/usr\/bin\/env -S node(.*)/.exec(readFileSync(cliPath, 'utf8'))?.[1] ?? '').trim().split(/\s+/).filter(Boolean);

const readyPattern = /fjord: broker (-?\d+) ready on (\S+):(\d+)/;

export interface BrokerOptions {
  nodeId?: number;
  /** Broker configs by Kafka name, passed as --set key=value. */
  configs?: Record<string, string | number | boolean>;
  /** Extra raw CLI arguments (e.g. --config FILE, --advertised-listener HOST:PORT). */
  extraArgs?: string[];
  /** Reuse an existing data dir instead of a fresh temp dir (the caller owns it). */
  dataDir?: string;
  readyTimeoutMs?: number;
  /** Port to listen on (default 0 = any free port). */
  port?: number;
}

export interface Broker {
  readonly host: string;
  readonly port: number;
  readonly bootstrap: string;
  readonly nodeId: number;
  readonly dataDir: string;
  readonly proc: ChildProcess;
  /** Captured stdout+stderr of every incarnation, oldest first. */
  logs(): string;
  /** Output of the current incarnation only. */
  currentLogs(): string;
  /** SIGTERM and wait for the exit; returns the exit code (null if killed by a signal). */
  stop(timeoutMs?: number): Promise<number | null>;
  /** SIGKILL and wait for the process to be gone. */
  kill9(): Promise<void>;
  /** Start again on the same data dir, on the same port if possible. Stops a running process first. */
  restart(opts?: { clean?: boolean; extraArgs?: string[] }): Promise<void>;
  /** Stop (if running) and remove the data dir (unless the caller owns it or FJORD_TEST_KEEP=1). */
  dispose(): Promise<void>;
}

export class BrokerStartError extends Error {
  constructor(
    message: string,
    readonly logs: string,
    readonly exitCode: number | null,
  ) {
    super(`${message}\n--- broker output ---\n${logs.slice(-6000)}`);
  }
}

interface Incarnation {
  proc: ChildProcess;
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

function launch(args: string[]): Incarnation {
  const proc = spawnTracked(process.execPath, [...cliNodeFlags, cliPath, ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Every test broker overwrites Fetch's read buffers once given back: a response written from
    // reused buffers fails the test as corrupt data instead of passing by luck.
    env: { ...process.env, FORCE_COLOR: '0', FJORD_DEBUG_POISON_READ_BUFFERS: '1' },
  });
  const inc: Incarnation = {
    proc,
    output: [],
    exit: undefined,
    exited: new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        inc.exit = { code, signal };
        resolve({ code, signal });
      });
      proc.once('error', (e) => {
        inc.output.push(`[harness] spawn error: ${e.message}\n`);
        inc.exit = { code: -1, signal: null };
        resolve({ code: -1, signal: null });
      });
    }),
  };
  // Keep at most ~4 MB of log per incarnation so a chatty broker cannot exhaust test memory.
  let kept = 0;
  const keep = (chunk: Buffer): void => {
    if (kept > 4 * 1024 * 1024) return;
    kept += chunk.length;
    inc.output.push(chunk.toString('utf8'));
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  return inc;
}

async function waitReady(inc: Incarnation, timeoutMs: number): Promise<{ nodeId: number; host: string; port: number }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const m = readyPattern.exec(inc.output.join(''));
    if (m) return { nodeId: Number(m[1]), host: m[2]!, port: Number(m[3]) };
    if (inc.exit) {
      throw new BrokerStartError(
        `broker exited before it was ready (code ${inc.exit.code}, signal ${inc.exit.signal})`,
        inc.output.join(''),
        inc.exit.code,
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  if (inc.proc.pid !== undefined && !inc.exit) process.kill(inc.proc.pid, 'SIGKILL');
  await inc.exited;
  throw new BrokerStartError(`broker not ready within ${timeoutMs} ms`, inc.output.join(''), null);
}

function buildArgs(listenPort: number, dataDir: string, nodeId: number, opts: BrokerOptions, extra: string[]): string[] {
  const args = ['server', '--listen', `127.0.0.1:${listenPort}`, '--data-dir', dataDir, '--node-id', String(nodeId)];
  for (const [k, v] of Object.entries(opts.configs ?? {})) args.push('--set', `${k}=${String(v)}`);
  args.push(...(opts.extraArgs ?? []), ...extra);
  return args;
}

/** Start a broker; the returned object must be disposed (use `after(() => broker.dispose())`). */
export async function startBroker(opts: BrokerOptions = {}): Promise<Broker> {
  if (!existsSync(cliPath)) throw new Error(`no CLI at ${cliPath}: is packages/cli built?`);
  const ownDataDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await makeTempDir('fjord-data-'));
  const nodeId = opts.nodeId ?? 1;
  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  const history: Incarnation[] = [];
  let current: Incarnation;
  let host = '127.0.0.1';
  let port = 0;

  const startIncarnation = async (listenPort: number, extra: string[]): Promise<void> => {
    const inc = launch(buildArgs(listenPort, dataDir, nodeId, opts, extra));
    history.push(inc);
    current = inc;
    const ready = await waitReady(inc, readyTimeoutMs);
    host = ready.host;
    port = ready.port;
  };

  try {
    await startIncarnation(opts.port ?? 0, []);
  } catch (e) {
    if (ownDataDir && !keepTempDirs) await removeTempDir(dataDir);
    throw e;
  }

  const stopCurrent = async (timeoutMs: number): Promise<number | null> => {
    const inc = current;
    if (inc.exit) return inc.exit.code;
    inc.proc.kill('SIGTERM');
    try {
      const { code } = await withTimeout('broker SIGTERM shutdown', timeoutMs, inc.exited);
      return code;
    } catch (e) {
      if (inc.proc.pid !== undefined && !inc.exit) process.kill(inc.proc.pid, 'SIGKILL');
      await inc.exited;
      throw new Error(`${(e as Error).message}; killed with SIGKILL\n${inc.output.join('').slice(-4000)}`);
    }
  };

  const broker: Broker = {
    get host() {
      return host;
    },
    get port() {
      return port;
    },
    get bootstrap() {
      return `${host}:${port}`;
    },
    nodeId,
    dataDir,
    get proc() {
      return current.proc;
    },
    logs: () => history.map((h, i) => `=== broker run ${i + 1} ===\n${h.output.join('')}`).join('\n'),
    currentLogs: () => current.output.join(''),
    stop: (timeoutMs = 20_000) => stopCurrent(timeoutMs),
    async kill9() {
      const inc = current;
      if (inc.exit) return;
      process.kill(inc.proc.pid!, 'SIGKILL');
      await withTimeout('broker SIGKILL', 10_000, inc.exited);
    },
    async restart(r = {}) {
      if (!current.exit) {
        if (r.clean === false) await broker.kill9();
        else await stopCurrent(20_000);
      }
      const previousPort = port;
      try {
        await startIncarnation(previousPort, r.extraArgs ?? []);
      } catch (e) {
        // The old port may be taken by now; a new one is acceptable for tests that re-read bootstrap.
        if (e instanceof BrokerStartError && /EADDRINUSE/.test(e.logs)) await startIncarnation(0, r.extraArgs ?? []);
        else throw e;
      }
    },
    async dispose() {
      if (!current.exit) {
        try {
          await stopCurrent(10_000);
        } catch {
          // already reported by the test that cared; make sure nothing is left running
        }
      }
      if (ownDataDir && !keepTempDirs) await removeTempDir(dataDir);
    },
  };
  return broker;
}
