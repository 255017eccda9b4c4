// Processes of the exactly-once crash test: transactional producers and read_committed readers,
// one client process each (test/python/txn_checker.py for confluent-kafka-python, and
// test/clients/kafkajs-eos.ts for KafkaJS). The request goes on the first line of stdin; the
// process logs to its own file (read back by the checker, test/harness/eos-checker.ts) and prints
// its result as the last stdout line. Every process is bounded by its own max_seconds and by a hard
// timer here; only processes started here are signalled, by PID.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ListOffsetsRequest, ListOffsetsResponse } from '@fjord/protocol';
import { CodecConnection } from './codec-connection.js';
import { DriverProcess, type Exit } from './driver-process.js';
import { pythonPath, repoRoot } from './proc.js';
import { pyScript } from './python.js';
import type { PartitionEnd } from './eos-checker.js';

export type EosClient = 'ck' | 'kjs';
export const eosClientNames: Record<EosClient, string> = { ck: 'confluent-kafka-python', kjs: 'KafkaJS' };

const kafkajsScript = join(repoRoot, 'dist-test', 'clients', 'kafkajs-eos.js');

export class EosProcess {
  private stdoutText = '';
  private readonly proc: DriverProcess;

  constructor(
    readonly name: string,
    readonly client: EosClient,
    readonly request: Record<string, unknown> & { op: string; log_file: string; max_seconds: number },
  ) {
    const [cmd, args] = client === 'kjs' ? [process.execPath, [kafkajsScript]] : [pythonPath, ['-u', pyScript('txn_checker')]];
    this.proc = new DriverProcess(name, cmd, args, request, (chunk) => {
      if (this.stdoutText.length < 256 * 1024) this.stdoutText += chunk;
    });
  }

  get exited(): Promise<Exit> {
    return this.proc.exited;
  }

  get exit(): Exit | undefined {
    return this.proc.exit;
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get alive(): boolean {
    return this.proc.alive;
  }

  get logFile(): string {
    return this.request.log_file;
  }

  send(line: string): void {
    this.proc.send(line);
  }

  /** The result line, once the process has exited (undefined if it printed none). */
  result<T = Record<string, unknown>>(): T | undefined {
    const last = this.stdoutText.trim().split('\n').pop() ?? '';
    try {
      return JSON.parse(last) as T;
    } catch {
      return undefined;
    }
  }

  /** Ask it to finish ("stop", or a targets line first) and wait, bounded; SIGKILL if it will not exit. */
  async finish(timeoutMs: number, line = 'stop'): Promise<void> {
    // The end of stdin means "stop now" to the drivers, so a targets line leaves stdin open.
    if (line === 'stop') this.proc.endInput(line);
    else this.proc.send(line);
    await this.proc.awaitExit('to finish', timeoutMs, () => this.describe());
  }

  kill9(): Promise<void> {
    return this.proc.kill9();
  }

  async log(): Promise<string> {
    return existsSync(this.logFile) ? readFile(this.logFile, 'utf8') : '';
  }

  describe(): string {
    return `--- ${this.name} (${eosClientNames[this.client]} ${this.request.op}, pid ${this.proc.pid}, exit ${JSON.stringify(this.exit)}) ---\nstdout: ${this.stdoutText.slice(-2000)}\nstderr: ${this.proc.stderrText.slice(-3000)}`;
  }
}

/** Count the outcome lines of a producer log written so far. */
export function outcomeCounts(log: string): { commit: number; abort: number; unknown: number } {
  const c = { commit: 0, abort: 0, unknown: 0 };
  for (const line of log.split('\n')) {
    if (line.startsWith('{"ev":"commit"')) c.commit++;
    else if (line.startsWith('{"ev":"abort"')) c.abort++;
    else if (line.startsWith('{"ev":"unknown"')) c.unknown++;
  }
  return c;
}

/**
 * High watermark and last stable offset of every partition, straight from the broker (ListOffsets
 * v7, latest, read_uncommitted and read_committed), so the test reports what the broker answered
 * rather than what a client made of it.
 */
export async function partitionEnds(host: string, port: number, topics: Record<string, number>): Promise<PartitionEnd[]> {
  const conn = await CodecConnection.open(host, port, { clientId: 'fjord-eos-check' });
  try {
    const ask = async (isolationLevel: number): Promise<Map<string, number>> => {
      const res = await conn.request(ListOffsetsRequest, ListOffsetsResponse, 7, {
        replicaId: -1,
        isolationLevel,
        topics: Object.entries(topics).map(([name, n]) => ({
          name,
          partitions: Array.from({ length: n }, (_, p) => ({ partitionIndex: p, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 })),
        })),
        timeoutMs: 10_000,
      });
      const out = new Map<string, number>();
      for (const t of res.topics) {
        for (const p of t.partitions) {
          if (p.errorCode !== 0) throw new Error(`ListOffsets ${t.name}-${p.partitionIndex} (isolation ${isolationLevel}): error code ${p.errorCode}`);
          out.set(`${t.name}:${p.partitionIndex}`, Number(p.offset));
        }
      }
      return out;
    };
    const hw = await ask(0);
    const lso = await ask(1);
    return Object.entries(topics).flatMap(([topic, n]) =>
      Array.from({ length: n }, (_, partition) => ({ topic, partition, highWatermark: hw.get(`${topic}:${partition}`) ?? -1, lastStableOffset: lso.get(`${topic}:${partition}`) ?? -1 })),
    );
  } finally {
    conn.close();
  }
}
