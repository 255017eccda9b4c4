/**
 * Helpers for this package's tests (not exported from index.ts): temp dirs, a manual clock and
 * scheduler, batch builders, and a FileSystem wrapper that counts syncs and injects faults.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeBatch, encodeBatch, splitBatches, type BatchSpan, type EncodeRecordInput } from '@fjord/protocol';
import type { Clock, Logger, Scheduler } from './clock.js';
import { nodeFileSystem, type FileSystem } from './fs-port.js';
import type { PartitionLog, ReadResult } from './partition-log.js';

export function tempDir(prefix = 'fjord-storage-'): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export class ManualClock implements Clock {
  constructor(public t = 1_700_000_000_000) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): number {
    this.t += ms;
    return this.t;
  }
}

/** Runs scheduled tasks only when told to (`runDue`). */
export class ManualScheduler implements Scheduler {
  private tasks: Array<{ at: number; fn: () => void; cancelled: boolean }> = [];
  constructor(private readonly clock: Clock) {}
  schedule(delayMs: number, fn: () => void): () => void {
    const task = { at: this.clock.now() + delayMs, fn, cancelled: false };
    this.tasks.push(task);
    return () => {
      task.cancelled = true;
    };
  }
  /** Runs every task due at the clock's time; returns how many ran. */
  runDue(): number {
    const now = this.clock.now();
    const due = this.tasks.filter((t) => t.at <= now && !t.cancelled);
    this.tasks = this.tasks.filter((t) => t.at > now && !t.cancelled);
    for (const t of due) t.fn();
    return due.length;
  }
  get pending(): number {
    return this.tasks.filter((t) => !t.cancelled).length;
  }
}

export class CapturingLogger implements Logger {
  lines: Array<{ level: string; msg: string; fields?: Record<string, unknown> }> = [];
  info(msg: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: 'info', msg, ...(fields ? { fields } : {}) });
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: 'warn', msg, ...(fields ? { fields } : {}) });
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: 'error', msg, ...(fields ? { fields } : {}) });
  }
  debug(): void {}
  /** Every line as text, fields included, for substring assertions. */
  text(): string {
    return this.lines.map((l) => `${l.level} ${l.msg} ${JSON.stringify(l.fields ?? {}, (_k, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Error ? v.message : v))}`).join('\n');
  }
}

/** Delegates to the node adapter; counts calls and fails on demand. */
export class FaultyFs implements FileSystem {
  fdatasyncs = 0;
  fsyncDirs = 0;
  writes = 0;
  /** fdatasync waits this long first (to make group commit observable). */
  fdatasyncDelayMs = 0;
  failFdatasync: Error | null = null;
  /** The next writeSync writes only this many bytes and then throws (a torn write). */
  tornWriteAfterBytes: number | null = null;
  failFtruncate: Error | null = null;
  /** Decides whether a rename fails (returns the error to throw). */
  failRename: ((from: string, to: string) => Error | null) | null = null;
  /** Every read waits this long first (to hold reads in flight). */
  readDelayMs = 0;

  constructor(private readonly inner: FileSystem = nodeFileSystem) {}

  open = (p: string, f: Parameters<FileSystem['open']>[1]) => this.inner.open(p, f);
  openSync = (p: string, f: Parameters<FileSystem['openSync']>[1]) => this.inner.openSync(p, f);
  close = (fd: number) => this.inner.close(fd);
  closeSync = (fd: number) => this.inner.closeSync(fd);
  writeSync = (fd: number, buf: Uint8Array, offset: number, length: number, position: number): number => {
    this.writes++;
    if (this.tornWriteAfterBytes !== null) {
      const n = Math.min(this.tornWriteAfterBytes, length);
      this.tornWriteAfterBytes = null;
      if (n > 0) this.inner.writeSync(fd, buf, offset, n, position);
      throw Object.assign(new Error('ENOSPC: no space left on device (injected)'), { code: 'ENOSPC' });
    }
    return this.inner.writeSync(fd, buf, offset, length, position);
  };
  write = (fd: number, buf: Uint8Array, offset: number, length: number, position: number) => this.inner.write(fd, buf, offset, length, position);
  read = async (fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number> => {
    if (this.readDelayMs > 0) await new Promise((r) => setTimeout(r, this.readDelayMs));
    return this.inner.read(fd, buf, offset, length, position);
  };
  fdatasync = async (fd: number): Promise<void> => {
    this.fdatasyncs++;
    if (this.fdatasyncDelayMs > 0) await new Promise((r) => setTimeout(r, this.fdatasyncDelayMs));
    if (this.failFdatasync) throw this.failFdatasync;
    return this.inner.fdatasync(fd);
  };
  ftruncateSync = (fd: number, len: number): void => {
    if (this.failFtruncate) throw this.failFtruncate;
    this.inner.ftruncateSync(fd, len);
  };
  ftruncate = (fd: number, len: number) => this.inner.ftruncate(fd, len);
  fstat = (fd: number) => this.inner.fstat(fd);
  stat = (p: string) => this.inner.stat(p);
  readdir = (p: string) => this.inner.readdir(p);
  mkdir = (p: string) => this.inner.mkdir(p);
  rename = async (a: string, b: string): Promise<void> => {
    const err = this.failRename?.(a, b);
    if (err) throw err;
    return this.inner.rename(a, b);
  };
  unlink = (p: string) => this.inner.unlink(p);
  rmrf = (p: string) => this.inner.rmrf(p);
  readFile = (p: string) => this.inner.readFile(p);
  fsyncDir = async (p: string): Promise<void> => {
    this.fsyncDirs++;
    if (this.failFdatasync) throw this.failFdatasync;
    return this.inner.fsyncDir(p);
  };
}

export interface TestRecord {
  key?: string | null;
  value?: string | null;
  timestamp?: bigint;
}

/** One batch (baseOffset 0, as a producer sends it). */
export function batchOf(
  records: TestRecord[],
  opts: { compression?: number; producerId?: bigint; producerEpoch?: number; baseSequence?: number; transactional?: boolean } = {},
): Buffer {
  return encodeBatch({
    ...(opts.compression !== undefined ? { compression: opts.compression } : {}),
    ...(opts.producerId !== undefined ? { producerId: opts.producerId, producerEpoch: opts.producerEpoch ?? 0, baseSequence: opts.baseSequence ?? 0 } : {}),
    ...(opts.transactional ? { isTransactional: true } : {}),
    records: records.map(
      (r): EncodeRecordInput => ({
        key: r.key ?? null,
        value: r.value === undefined ? 'v' : r.value,
        ...(r.timestamp !== undefined ? { timestamp: r.timestamp } : {}),
      }),
    ),
  });
}

/** A produce request's records blob: the batches back to back, and their spans. */
export function requestOf(batches: Buffer[]): { buf: Buffer; spans: BatchSpan[] } {
  const buf = Buffer.concat(batches);
  return { buf, spans: splitBatches(buf) };
}

/** Appends one request made of `batches` (each a list of records). */
export function appendBatches(log: PartitionLog, batches: TestRecord[][], now: number, leaderEpoch = 0) {
  const { buf, spans } = requestOf(batches.map((b) => batchOf(b)));
  return log.append(buf, spans, { leaderEpoch, now });
}

export interface FlatRecord {
  offset: bigint;
  key: string | null;
  value: string | null;
  timestamp: bigint;
}

/** Decodes every batch in a read result. */
export function recordsOf(r: ReadResult | Buffer[]): FlatRecord[] {
  const chunks = Array.isArray(r) ? r : r.chunks;
  const out: FlatRecord[] = [];
  for (const c of chunks) {
    for (const span of splitBatches(c)) {
      const { records } = decodeBatch(c, span.pos);
      for (const rec of records) {
        out.push({
          offset: rec.offset,
          key: rec.key ? rec.key.toString() : null,
          value: rec.value ? rec.value.toString() : null,
          timestamp: rec.timestamp,
        });
      }
    }
  }
  return out;
}

/** Reads the whole log from its start offset in slices of maxBytes. */
export async function readAll(log: PartitionLog, maxBytes = 1 << 20): Promise<FlatRecord[]> {
  const out: FlatRecord[] = [];
  let next = log.logStartOffset;
  while (next < log.logEndOffset) {
    const r = await log.read(next, maxBytes, { minOneBatch: true });
    if (r.bytes === 0) break;
    out.push(...recordsOf(r).filter((x) => x.offset >= next));
    next = r.nextOffset;
  }
  return out;
}
