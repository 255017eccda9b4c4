// A client driver process of a test (a Python or Node client): the request goes as JSON on the first
// line of stdin, stdout goes to the caller, stderr is kept (bounded) for failure reports. Bounded
// twice: the driver by its own max_seconds, and a hard timer here (max_seconds + 30 s) for a driver
// that hangs on its way out. Only this process is signalled, by the PID this harness started.
import { type ChildProcess } from 'node:child_process';
import { repoRoot, spawnTracked } from './proc.js';
import { withTimeout } from './util.js';

const kept = 256 * 1024;

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

export class DriverProcess {
  stderrText = '';
  exit: Exit | undefined;
  readonly exited: Promise<Exit>;
  private readonly proc: ChildProcess;
  private readonly hardTimer: NodeJS.Timeout;

  constructor(
    readonly name: string,
    cmd: string,
    args: string[],
    request: Record<string, unknown> & { max_seconds: number },
    onStdout: (chunk: string) => void,
  ) {
    this.proc = spawnTracked(cmd, args, {
      cwd: repoRoot,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONHASHSEED: '0' },
    });
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        this.exit = { code, signal };
        clearTimeout(this.hardTimer);
        resolve(this.exit);
      });
      this.proc.once('error', (e) => {
        this.stderrText += `[harness] spawn error: ${e.message}\n`;
        this.exit = { code: -1, signal: null };
        resolve(this.exit);
      });
    });
    this.proc.stdout!.setEncoding('utf8');
    this.proc.stdout!.on('data', onStdout);
    this.proc.stderr!.setEncoding('utf8');
    this.proc.stderr!.on('data', (chunk: string) => {
      if (this.stderrText.length < kept) this.stderrText += chunk;
    });
    this.proc.stdin!.on('error', () => {
      // the process may be gone already (kill9); its exit tells the story
    });
    this.hardTimer = setTimeout(() => this.signal('SIGKILL'), (request.max_seconds + 30) * 1000);
    this.hardTimer.unref();
    this.proc.stdin!.write(`${JSON.stringify(request)}\n`);
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  /** One more line on stdin. */
  send(line: string): void {
    if (this.alive) this.proc.stdin!.write(`${line}\n`);
  }

  /** The last line on stdin, then its end (which the drivers read as "stop now"). */
  endInput(line: string): void {
    if (this.alive) this.proc.stdin!.end(`${line}\n`);
  }

  /** Waits for the exit, bounded; on timeout SIGKILLs it and throws with `describe()`. */
  async awaitExit(what: string, timeoutMs: number, describe: () => string): Promise<void> {
    try {
      await withTimeout(`${this.name} ${what}`, timeoutMs, this.exited);
    } catch (e) {
      this.signal('SIGKILL');
      await this.exited;
      throw new Error(`${(e as Error).message}\n${describe()}`, { cause: e });
    }
  }

  async kill9(): Promise<void> {
    this.signal('SIGKILL');
    await withTimeout(`${this.name} SIGKILL`, 10_000, this.exited);
  }

  signal(sig: NodeJS.Signals): void {
    if (this.alive && this.proc.pid !== undefined) {
      try {
        process.kill(this.proc.pid, sig);
      } catch {
        // exited meanwhile
      }
    }
  }
}
