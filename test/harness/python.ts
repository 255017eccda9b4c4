// Runs the Python client drivers in test/python with Debian's interpreter. Each driver reads one JSON
// request on stdin and prints one JSON result on stdout; anything else (exit != 0, no JSON) fails.
import { join } from 'node:path';
import { describeRun, pythonPath, repoRoot, run, type RunResult } from './proc.js';

export type PyDriver = 'ck' | 'kp';
export const pyDriverNames: Record<PyDriver, string> = { ck: 'confluent-kafka-python', kp: 'kafka-python' };

export function pyScript(name: string): string {
  return join(repoRoot, 'test', 'python', `${name}.py`);
}

export async function runPythonRaw(script: string, input: unknown, timeoutMs: number): Promise<RunResult> {
  return run(pythonPath, ['-u', pyScript(script)], {
    stdin: JSON.stringify(input),
    timeoutMs,
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONHASHSEED: '0' },
  });
}

/** Run a driver op and return its parsed JSON result; throws with the driver's output on failure. */
export async function py<T = any>(script: PyDriver | string, op: string, args: Record<string, unknown>, timeoutMs = 90_000): Promise<T> {
  const r = await runPythonRaw(script, { op, ...args }, timeoutMs);
  if (r.code !== 0 || r.timedOut) throw new Error(describeRun(`python ${script}.py ${op}`, r));
  const lastLine = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(lastLine) as T;
  } catch {
    throw new Error(describeRun(`python ${script}.py ${op}: no JSON result`, r));
  }
}
