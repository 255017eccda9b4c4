// Child-process helpers for the compatibility tests: every child is bounded by a timeout and,
// when the timeout fires, killed by its own PID (never by name). Output is captured for
// failure messages.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

/** Repository root: this file is compiled to dist-test/harness/proc.js. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Debian's interpreter: it has python3-confluent-kafka, python3-kafka and the codec modules. */
export const pythonPath = process.env['FJORD_TEST_PYTHON'] ?? '/usr/bin/python3';
export const kcatPath = process.env['FJORD_TEST_KCAT'] ?? 'kcat';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

export interface RunOptions {
  stdin?: string | Buffer;
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Bytes of stdout kept; more is an error (protects the test process from a runaway child). */
  stdoutBytesMax?: number;
}

const liveChildren = new Set<ChildProcess>();

/** Kill every child this process started and that is still running (called on exit). */
export function killAllChildren(): void {
  for (const child of liveChildren) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  liveChildren.clear();
}
process.once('exit', killAllChildren);

/** Spawn and remember the child so that it is killed if the test process exits first. */
export function spawnTracked(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  const child = spawn(command, args, options);
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  child.once('error', () => liveChildren.delete(child));
  return child;
}

export function run(command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  const started = Date.now();
  const stdoutBytesMax = options.stdoutBytesMax ?? 512 * 1024 * 1024;
  return new Promise((resolvePromise, reject) => {
    const child = spawnTracked(command, args, {
      cwd: options.cwd ?? repoRoot,
      // No .pyc files in the source tree from the Python drivers.
      env: { PYTHONDONTWRITEBYTECODE: '1', ...(options.env ?? process.env) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let timedOut = false;
    let overflow = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // exited meanwhile
        }
      }
    }, options.timeoutMs);
    child.stdout!.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > stdoutBytesMax) {
        if (!overflow && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
        overflow = true;
        return;
      }
      out.push(chunk);
    });
    child.stderr!.on('data', (chunk: Buffer) => err.push(chunk));
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${command}: ${e.message}`, { cause: e }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (overflow) {
        reject(new Error(`${command} wrote more than ${stdoutBytesMax} bytes on stdout`));
        return;
      }
      resolvePromise({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
        durationMs: Date.now() - started,
      });
    });
    child.stdin!.on('error', () => {
      // the child may exit before reading all of stdin; its exit status tells the story
    });
    if (options.stdin !== undefined) child.stdin!.end(options.stdin);
    else child.stdin!.end();
  });
}

export function describeRun(what: string, r: RunResult): string {
  const tail = (s: string): string => (s.length > 4000 ? `...${s.slice(-4000)}` : s);
  return (
    `${what}: exit ${r.code ?? r.signal}${r.timedOut ? ' (TIMED OUT, killed)' : ''} after ${r.durationMs} ms\n` +
    `--- stderr ---\n${tail(r.stderr)}\n--- stdout ---\n${tail(r.stdout)}`
  );
}
