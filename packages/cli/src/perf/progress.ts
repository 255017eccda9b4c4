/**
 * The live progress line on stderr. On a terminal it is redrawn in place; with --progress into a
 * file or pipe it is one line per tick. Ticks are at most every intervalMs (default 500 ms, two a
 * second) and the timer never keeps the process alive.
 */
export class ProgressLine {
  private timer: NodeJS.Timeout | undefined;
  private readonly tty: boolean;
  private drawn = false;

  constructor(
    private readonly render: () => string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly intervalMs = 500,
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.draw(), this.intervalMs);
    this.timer.unref();
  }

  private draw(): void {
    const line = this.render();
    if (this.tty) {
      const width = this.stream.columns > 0 ? this.stream.columns - 1 : 200;
      this.stream.write(`\r\x1b[2K${line.slice(0, width)}`);
      this.drawn = true;
    } else {
      this.stream.write(`${line}\n`);
    }
  }

  /** Stops the ticks and clears the line, so that the report starts on a clean line. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.tty && this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }
}

/** Records and bytes counted between two ticks, for the rates in the progress line. */
export class IntervalRate {
  private lastAt: number;
  private lastCount = 0;
  private lastBytes = 0;

  constructor(now: number) {
    this.lastAt = now;
  }

  /** Rates since the previous call: records/s and MB/s (10^6 bytes). */
  take(now: number, count: number, bytes: number): { recordsPerSec: number; mbPerSec: number } {
    const secs = Math.max(1e-9, (now - this.lastAt) / 1000);
    const r = { recordsPerSec: (count - this.lastCount) / secs, mbPerSec: (bytes - this.lastBytes) / 1e6 / secs };
    this.lastAt = now;
    this.lastCount = count;
    this.lastBytes = bytes;
    return r;
  }
}
