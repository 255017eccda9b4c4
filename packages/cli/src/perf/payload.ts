/** Record values for perf runs: incompressible random bytes, stamped at the start when they fit. */
import { randomBytes, randomInt } from 'node:crypto';
import { stampBytes, writeStamp } from './stamp.js';

const poolBytes = 1 << 20;

export class Payloads {
  readonly runId = randomInt(0, 2 ** 32);
  private readonly pool: Buffer;
  private offset = 0;

  constructor(readonly recordSize: number) {
    this.pool = randomBytes(Math.max(poolBytes, 2 * recordSize));
  }

  get stamped(): boolean {
    return this.recordSize >= stampBytes;
  }

  /**
   * A fresh value (the producer keeps a reference until the batch is encoded, so none is reused).
   * `intendedMs` and `sentMs` are performance.now() readings.
   */
  next(seq: number, intendedMs: number, sentMs: number): Buffer {
    const size = this.recordSize;
    const value = Buffer.allocUnsafe(size);
    if (this.offset + size > this.pool.length) this.offset = 0;
    this.pool.copy(value, 0, this.offset, this.offset + size);
    this.offset += 61; // a different slice each time, so equal values are rare
    if (size >= stampBytes) writeStamp(value, { runId: this.runId, seq, wallMs: performance.timeOrigin + sentMs, intendedMs, sentMs });
    return value;
  }
}
