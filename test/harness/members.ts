// Long-running consumer-group members, one client process each: confluent-kafka-python and
// kafka-python (test/python group_member op) and KafkaJS (test/clients/kafkajs-member.ts). The
// request goes on the first line of stdin; the process reports events as JSON lines on stdout
// (assigned/revoked/lost with the whole current assignment in `now`, rec for every processed record,
// commit_failed, error, closed) and runs until stop() or kill9(), its own max_seconds, or the
// harness's hard bound, whichever comes first.
import { join } from 'node:path';
import { DriverProcess, type Exit } from './driver-process.js';
import { pythonPath, repoRoot } from './proc.js';
import { pyScript } from './python.js';

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
  private stdoutRest = '';
  private readonly proc: DriverProcess;

  constructor(
    readonly name: string,
    readonly driver: MemberDriver,
    bootstrap: string,
    readonly request: MemberRequest,
  ) {
    const [cmd, args] =
      driver === 'kjs' ? [process.execPath, [memberScript]] : [pythonPath, ['-u', pyScript(driver)]];
    // The driver bounds itself by max_seconds; the process wrapper bounds a driver that hangs in close().
    const maxSeconds = request.max_seconds ?? 120;
    this.proc = new DriverProcess(name, cmd, args, { op: 'group_member', bootstrap, ...request, max_seconds: maxSeconds }, (chunk) => this.onStdout(chunk));
  }

  get exited(): Promise<Exit> {
    return this.proc.exited;
  }

  get exit(): Exit | undefined {
    return this.proc.exit;
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
        this.proc.stderrText += `[harness] not JSON on stdout: ${line.slice(0, 200)}\n`;
      }
    }
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get alive(): boolean {
    return this.proc.alive;
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
    this.proc.endInput('stop');
    await this.proc.awaitExit('stop', timeoutMs, () => this.describe());
    return this.closedCleanly('close');
  }

  /** Wait for the member to exit by itself (max_records reached); returns its closed event. */
  async finished(timeoutMs: number): Promise<MemberEvent> {
    await this.proc.awaitExit('to finish', timeoutMs, () => this.describe());
    return this.closedCleanly('finish');
  }

  private closedCleanly(what: string): MemberEvent {
    const closed = this.closed();
    if (this.exit?.code !== 0 || !closed) throw new Error(`${this.name} did not ${what} cleanly\n${this.describe()}`);
    return closed;
  }

  /** SIGKILL this member's process (by the PID this harness started) and wait until it is gone. */
  kill9(): Promise<void> {
    return this.proc.kill9();
  }

  describe(): string {
    const tail = this.events.filter((e) => e.ev !== 'rec').slice(-25);
    return (
      `--- member ${this.name} (${memberDriverNames[this.driver]}, pid ${this.proc.pid}, exit ${JSON.stringify(this.exit)}, ` +
      `${this.records().length} records) ---\nevents (last 25 without rec): ${tail.map((e) => JSON.stringify(e)).join('\n  ')}\n` +
      `stderr: ${this.proc.stderrText.slice(-3000)}`
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
