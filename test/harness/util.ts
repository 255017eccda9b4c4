// Small bounded helpers: temp dirs, waiting for conditions, timeouts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';

const tempDirs = new Set<string>();

/** A fresh directory under the OS temp dir; removed by removeTempDir or at the end of the test file. */
export async function makeTempDir(prefix = 'fjord-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export async function removeTempDir(dir: string): Promise<void> {
  tempDirs.delete(dir);
  await rm(dir, { recursive: true, force: true });
}

/** Keep temp dirs of a failed run for inspection when FJORD_TEST_KEEP=1. */
export const keepTempDirs = process.env['FJORD_TEST_KEEP'] === '1';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Poll `check` until it returns a value other than undefined/false, at most `timeoutMs`.
 * The last error thrown by `check` (or the description) is reported on timeout.
 */
export async function waitFor<T>(
  description: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs, intervalMs = 200 }: { timeoutMs: number; intervalMs?: number },
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let attempts = 0;
  while (true) {
    attempts++;
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? `: last error: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms (${attempts} attempts) waiting for ${description}${why}`, {
        cause: lastError,
      });
    }
    await sleep(intervalMs);
  }
}

/** Reject if `promise` does not settle within `ms`. */
export async function withTimeout<T>(what: string, ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A unique topic name per call, readable in logs. */
let topicCounter = 0;
export function topicName(stem: string): string {
  topicCounter++;
  return `${stem}-${process.pid}-${topicCounter}`;
}
