// Long-running consumer-group members, one client process each: confluent-kafka-python and
// kafka-python (test/python group_member op) and KafkaJS (test/clients/kafkajs-member.ts). The
// request goes on the first line of stdin; the process reports events as JSON lines on stdout
// (assigned/revoked/lost with the whole current assignment in `now`, rec for every processed record,
// commit_failed, error, closed) and runs until stop() or kill9(), its own max_seconds, or the
// harness's hard bound, whichever comes first.
import { type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { pythonPath, repoRoot, spawnTracked } from './proc.js';
import { pyScript } from './python.js';
import { withTimeout } from './util.js';

export type MemberDriver = 'ck' | 'kp' | 'kjs';
export const memberDriverNames: Record<MemberDriver, string> = { ck: 'confluent-kafka-python', kp: 'kafka-python', kjs: 'KafkaJS' };

export interface MemberRequest {
  group: string;
  topic: string;
  /** Assignment strategy (ck: partition.assignment.strategy; kp: "range"/"roundrobin"); KafkaJS: round robin only. */
  strategy?: string;
  /** group.instance.id (static membership, confluent-kafka only). */
  instance_id?: string;
  client_id?: string;
  /** sync: commit each record synchronously before the next one (default); none; auto. */
  commit?: 'sync' | 'none' | 'auto';
  session_timeout_ms?: number;
  heartbeat_ms?: number;
  /** Simulated work per record. */
  process_ms?: number;
  /** Close and exit once this many records are processed. */
  max_records?: number;
  max_seconds?: number;
  /** partition -> offset: records at or beyond it are neither processed nor committed. */
  limits?: Record<string, number>;
  /** Client-specific settings (ck: librdkafka names; kp: KafkaConsumer keyword arguments). */
  config?: Record<string, unknown>;
}

export interface MemberEvent {
  ev: string;
  t: number;
  now?: number[];
  added?: number[];
  removed?: number[];
  p?: number;
  o?: number;
  k?: string | null;
  v?: string | null;
  err?: unknown;
  [key: string]: unknown;
}

const memberScript = join(repoRoot, 'dist-test', 'clients', 'kafkajs-member.js');

export class Member {
  readonly events: MemberEvent[] = [];
  private stderrText = '';
  private stdoutRest = '';
  private readonly proc: ChildProcess;
  private readonly hardTimer: NodeJS.Timeout;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(
    readonly name: string,
    readonly driver: MemberDriver,
    bootstrap: string,
    readonly request: MemberRequest,
  ) {
    const [cmd, args] =
      driver === 'kjs' ? [process.execPath, [memberScript]] : [pythonPath, ['-u', pyScript(driver)]];
    this.proc = spawnTracked(cmd, args, {
      cwd: repoRoot,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONHASHSEED: '0' },
    });
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        this.exit = { code, signal };
        clearTimeout(this.hardTimer);
        resolve({ code, signal });
      });
      this.proc.once('error', (e) => {
        this.stderrText += `[harness] spawn error: ${e.message}\n`;
        this.exit = { code: -1, signal: null };
        resolve(this.exit);
      });
    });
    this.proc.stdout!.setEncoding('utf8');
    this.proc.stdout!.on('data', (chunk: string) => this.onStdout(chunk));
    this.proc.stderr!.setEncoding('utf8');
    this.proc.stderr!.on('data', (chunk: string) => {
      if (this.stderrText.length < 256 * 1024) this.stderrText += chunk;
    });
    this.proc.stdin!.on('error', () => {
      // the member may be dead already (kill9); its exit tells the story
    });
    // The driver bounds itself by max_seconds; this bounds a driver that hangs in close().
    const maxSeconds = request.max_seconds ?? 120;
    this.hardTimer = setTimeout(() => this.signal('SIGKILL'), (maxSeconds + 30) * 1000);
    this.hardTimer.unref();
    this.proc.stdin!.write(`${JSON.stringify({ op: 'group_member', bootstrap, max_seconds: maxSeconds, ...request })}\n`);
  }

  private onStdout(chunk: string): void {
    const text = this.stdoutRest + chunk;
    const lines = text.split('\n');
    this.stdoutRest = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      try {
        this.events.push(JSON.parse(line) as MemberEvent);
      } catch {
        this.stderrText += `[harness] not JSON on stdout: ${line.slice(0, 200)}\n`;
      }
    }
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  /** The member's whole current assignment, or undefined before its first assignment. */
  assignment(): number[] | undefined {
    for (let i = this.events.length - 1; i >= 0; i--) {
      const e = this.events[i]!;
      if ((e.ev === 'assigned' || e.ev === 'revoked' || e.ev === 'lost') && e.now) return e.now;
    }
    return undefined;
  }

  records(): MemberEvent[] {
    return this.events.filter((e) => e.ev === 'rec');
  }

  /** Rebalance callbacks (assigned/revoked/lost) at or after event index `from`. */
  rebalanceEvents(from = 0): MemberEvent[] {
    return this.events.slice(from).filter((e) => e.ev === 'assigned' || e.ev === 'revoked' || e.ev === 'lost');
  }

  closed(): MemberEvent | undefined {
    return this.events.find((e) => e.ev === 'closed');
  }

  /** Ask the member to close (a dynamic member leaves the group) and wait for it to exit. */
  async stop(timeoutMs = 30_000): Promise<MemberEvent> {
    if (this.alive) this.proc.stdin!.end('stop\n');
    try {
      await withTimeout(`${this.name} stop`, timeoutMs, this.exited);
    } catch (e) {
      this.signal('SIGKILL');
      await this.exited;
      throw new Error(`${(e as Error).message}\n${this.describe()}`, { cause: e });
    }
    const closed = this.closed();
    if (this.exit?.code !== 0 || !closed) throw new Error(`${this.name} did not close cleanly\n${this.describe()}`);
    return closed;
  }

  /** Wait for the member to exit by itself (max_records reached); returns its closed event. */
  async finished(timeoutMs: number): Promise<MemberEvent> {
    await withTimeout(`${this.name} to finish`, timeoutMs, this.exited).catch(async (e: unknown) => {
      this.signal('SIGKILL');
      await this.exited;
      throw new Error(`${(e as Error).message}\n${this.describe()}`, { cause: e });
    });
    const closed = this.closed();
    if (this.exit?.code !== 0 || !closed) throw new Error(`${this.name} did not finish cleanly\n${this.describe()}`);
    return closed;
  }

  /** SIGKILL this member's process (by the PID this harness started) and wait until it is gone. */
  async kill9(): Promise<void> {
    this.signal('SIGKILL');
    await withTimeout(`${this.name} SIGKILL`, 10_000, this.exited);
  }

  private signal(sig: NodeJS.Signals): void {
    if (this.alive && this.proc.pid !== undefined) {
      try {
        process.kill(this.proc.pid, sig);
      } catch {
        // exited meanwhile
      }
    }
  }

  describe(): string {
    const tail = this.events.filter((e) => e.ev !== 'rec').slice(-25);
    return (
      `--- member ${this.name} (${memberDriverNames[this.driver]}, pid ${this.proc.pid}, exit ${JSON.stringify(this.exit)}, ` +
      `${this.records().length} records) ---\nevents (last 25 without rec): ${tail.map((e) => JSON.stringify(e)).join('\n  ')}\n` +
      `stderr: ${this.stderrText.slice(-3000)}`
    );
  }
}

export function startMember(name: string, driver: MemberDriver, bootstrap: string, request: MemberRequest): Member {
  return new Member(name, driver, bootstrap, request);
}

/** Stop every member still running (SIGKILL if it will not close); for after() hooks and failures. */
export async function stopAll(members: readonly Member[]): Promise<void> {
  await Promise.all(
    members.map(async (m) => {
      if (!m.alive) return;
      try {
        await m.stop(15_000);
      } catch {
        // already killed by stop(); the test that cared has reported it
      }
    }),
  );
}

export interface Balanced {
  byMember: Map<string, number[]>;
  atMs: number;
}

/**
 * Wait until the live `members` hold disjoint assignments that together cover partitions
 * 0..partitions-1 and are balanced (sizes differ by at most one, every member has at least
 * floor(partitions / members) partitions).
 */
export async function waitBalanced(members: readonly Member[], partitions: number, timeoutMs: number): Promise<Balanced> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const byMember = new Map<string, number[]>();
    for (const m of members) {
      const a = m.assignment();
      if (a) byMember.set(m.name, a);
    }
    last = [...byMember].map(([n, a]) => `${n}=[${a.join(',')}]`).join(' ');
    if (byMember.size === members.length && isBalancedPartition([...byMember.values()], partitions)) {
      return { byMember, atMs: Date.now() };
    }
    const dead = members.find((m) => !m.alive);
    if (dead) throw new Error(`member ${dead.name} exited while waiting for a balanced assignment (${last})\n${dead.describe()}`);
    if (Date.now() >= deadline) {
      throw new Error(
        `no balanced, disjoint, complete assignment of ${partitions} partitions over ${members.length} members within ${timeoutMs} ms; last: ${last}\n` +
          members.map((m) => m.describe()).join('\n'),
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function isBalancedPartition(sets: readonly number[][], partitions: number): boolean {
  const seen = new Set<number>();
  for (const s of sets) {
    for (const p of s) {
      if (seen.has(p) || p < 0 || p >= partitions) return false;
      seen.add(p);
    }
  }
  if (seen.size !== partitions) return false;
  const sizes = sets.map((s) => s.length);
  return Math.max(...sizes) - Math.min(...sizes) <= 1 && Math.min(...sizes) >= Math.floor(partitions / sets.length);
}

/** Wait until `check` holds for the members' events, bounded by time. */
export async function waitMembers<T>(
  description: string,
  members: readonly Member[],
  check: () => T | undefined | false,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    const failed = members.find((m) => m.exit !== undefined && m.exit.code !== 0 && m.exit.signal !== 'SIGKILL');
    if (failed) throw new Error(`member ${failed.name} failed while waiting for ${description}\n${failed.describe()}`);
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}\n${members.map((m) => m.describe()).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
