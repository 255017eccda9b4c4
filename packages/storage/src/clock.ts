/** Time, timers and logging come in through these small ports (STYLE habit 4). */

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Runs background work later; the returned function cancels it. */
export interface Scheduler {
  schedule(delayMs: number, fn: () => void): () => void;
}

/** Node timers, unref'd so background work never keeps the process alive. */
export const nodeScheduler: Scheduler = {
  schedule(delayMs, fn) {
    const t = setTimeout(fn, Math.max(0, Math.min(delayMs, 0x7fff_ffff)));
    t.unref();
    return () => clearTimeout(t);
  },
};

/** Same shape as the broker's Logger, so the broker can pass its own. */
export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {}, debug() {} };
