/**
 * Exponential backoff with jitter, as Kafka's ExponentialBackoff: base * 2^attempts, capped,
 * then multiplied by a random factor in [1 - jitter, 1 + jitter]. Randomness is injected.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  jitterRatio: number;
  random?: () => number;
}

export function backoffMs(attempts: number, o: BackoffOptions): number {
  const random = o.random ?? Math.random;
  const exp = Math.min(o.maxMs, o.initialMs * 2 ** Math.max(0, Math.min(attempts, 30)));
  const factor = 1 - o.jitterRatio + 2 * o.jitterRatio * random();
  return Math.max(0, Math.round(Math.min(exp, o.maxMs) * factor));
}
