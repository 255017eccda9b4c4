// A confluent-kafka-python (librdkafka) transactional session driven command by command (the
// txn_session op of test/python/ck.py): the test sends one command, the process answers it, so a
// test can interleave producers, look at the broker between steps, or restart it mid-transaction.
import { type ChildProcess } from 'node:child_process';
import { pythonPath, repoRoot, spawnTracked } from './proc.js';
import { pyScript } from './python.js';
import { withTimeout } from './util.js';

export interface TxnError {
  code: number | null;
  name: string;
  str: string;
  retriable?: boolean;
  abortable?: boolean;
  fatal?: boolean;
}

export interface TxnReply {
  ev: 'done';
  id: number;
  error?: TxnError;
  [key: string]: unknown;
}

export class TxnSession {
  private readonly proc: ChildProcess;
  private nextId = 1;
  private readonly waiting = new Map<number, (r: TxnReply) => void>();
  private stdoutRest = '';
  private stderrText = '';
  private readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;

  constructor(bootstrap: string) {
    this.proc = spawnTracked(pythonPath, ['-u', pyScript('ck')], {
      cwd: repoRoot,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONHASHSEED: '0' },
    });
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code) => {
        this.exitCode = code;
        for (const [id, done] of this.waiting) done({ ev: 'done', id, error: { code: null, name: 'EXITED', str: `session exited (${code})\n${this.describe()}` } });
        this.waiting.clear();
        resolve(code);
      });
    });
    this.proc.stdout!.setEncoding('utf8');
    this.proc.stdout!.on('data', (chunk: string) => this.onStdout(chunk));
    this.proc.stderr!.setEncoding('utf8');
    this.proc.stderr!.on('data', (chunk: string) => {
      if (this.stderrText.length < 256 * 1024) this.stderrText += chunk;
    });
    this.proc.stdin!.on('error', () => undefined);
    this.proc.stdin!.write(`${JSON.stringify({ op: 'txn_session', bootstrap })}\n`);
  }

  private onStdout(chunk: string): void {
    const parts = (this.stdoutRest + chunk).split('\n');
    this.stdoutRest = parts.pop() ?? '';
    for (const line of parts) {
      if (line.trim() === '') continue;
      this.lines.push(line);
      let ev: TxnReply;
      try {
        ev = JSON.parse(line) as TxnReply;
      } catch {
        continue;
      }
      if (ev.ev === 'done') {
        const done = this.waiting.get(ev.id);
        this.waiting.delete(ev.id);
        done?.(ev);
      }
    }
  }

  /** Sends one command and resolves with its answer (which may carry an error). */
  call(op: string, args: Record<string, unknown> = {}, timeoutMs = 90_000): Promise<TxnReply> {
    const id = this.nextId++;
    const reply = new Promise<TxnReply>((resolve) => this.waiting.set(id, resolve));
    this.proc.stdin!.write(`${JSON.stringify({ id, op, ...args })}\n`);
    return withTimeout(`txn_session ${op}`, timeoutMs, reply).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\n${this.describe()}`, { cause: e });
    });
  }

  /** call(), failing the test if the command failed. */
  async ok(op: string, args: Record<string, unknown> = {}, timeoutMs?: number): Promise<TxnReply> {
    const r = await this.call(op, args, timeoutMs);
    if (r.error) throw new Error(`txn_session ${op} ${JSON.stringify(args).slice(0, 300)} failed: ${JSON.stringify(r.error)}\n${this.describe()}`);
    return r;
  }

  async close(): Promise<void> {
    if (this.exitCode === undefined) {
      this.proc.stdin!.write(`${JSON.stringify({ id: this.nextId++, op: 'exit' })}\n`);
      this.proc.stdin!.end();
    }
    try {
      await withTimeout('txn_session exit', 30_000, this.exited);
    } catch {
      if (this.proc.pid !== undefined && this.exitCode === undefined) process.kill(this.proc.pid, 'SIGKILL');
      await this.exited;
    }
  }

  /** SIGKILL the client process (by the PID this harness started): its transaction is left open. */
  async kill9(): Promise<void> {
    if (this.exitCode === undefined && this.proc.pid !== undefined) process.kill(this.proc.pid, 'SIGKILL');
    await withTimeout('txn_session SIGKILL', 10_000, this.exited);
  }

  describe(): string {
    return `--- txn_session (pid ${this.proc.pid}, exit ${this.exitCode}) ---\nlast lines:\n  ${this.lines.slice(-15).join('\n  ')}\nstderr: ${this.stderrText.slice(-3000)}`;
  }
}
