/**
 * Reusable buffers for file reads whose bytes are dropped at a moment the caller knows: a Fetch
 * response's chunks, once the socket has taken them.
 *
 * Why: a consumer reading from the files makes the broker read about one buffer of 1-8 MiB per
 * partition per Fetch. Allocated fresh, each one is a new mapping the kernel must fault in, and an
 * external allocation that V8 counts: at a few hundred MB/s the young collections promote the
 * buffers still waiting for the socket, and the promoted bytes trigger full collections every few
 * tens of milliseconds. Reused, none of that happens.
 *
 * Contract: `lease.alloc(len)` hands out a buffer of exactly `len` bytes (a view of a pooled slab,
 * or a fresh buffer outside the pooled sizes); `lease.release()` gives every slab back, after
 * which no buffer the lease handed out may be read, kept or passed on: the next read overwrites
 * it. A lease that is never released only costs the pool those slabs (the GC frees them).
 *
 * Slabs come in powers of two from `pooledBytesMin` to `pooledBytesMax`; a slab larger than a read
 * only wastes idle memory, never data (reads expose only the bytes they read). At most
 * `idleBytesMax` bytes of slabs wait unused; the rest are dropped on release.
 */
import { readBufferPoolIdleBytesMax } from './limits.js';

const minShift = 16; // 64 KiB: smaller reads are cheap to allocate and come from Node's own pool below 4 KiB
const maxShift = 24; // 16 MiB

export const pooledBytesMin = 1 << minShift;
export const pooledBytesMax = 1 << maxShift;

export interface ReadBufferPoolOptions {
  /** Bytes of unused slabs kept for reuse (default limits.readBufferPoolIdleBytesMax; 0 disables the pool). */
  idleBytesMax?: number;
  /** Overwrite every released slab with 0xee (tests: a use after release then shows as corrupt data). */
  poisonOnRelease?: boolean;
}

export class ReadBufferPool {
  readonly idleBytesMax: number;
  private readonly poison: boolean;
  /** Free slabs per size class (index = shift - minShift). */
  private readonly free: Buffer[][] = Array.from({ length: maxShift - minShift + 1 }, () => []);
  private idle = 0;
  private lent = 0;

  constructor(opts: ReadBufferPoolOptions = {}) {
    const max = opts.idleBytesMax ?? readBufferPoolIdleBytesMax;
    if (!Number.isSafeInteger(max) || max < 0) throw new RangeError(`idleBytesMax must be a non-negative integer, got ${max}`);
    this.idleBytesMax = max;
    this.poison = opts.poisonOnRelease === true;
  }

  lease(): ReadBufferLease {
    return new ReadBufferLease(this);
  }

  /** Bytes of slabs waiting for reuse, and bytes of slabs handed out and not released. */
  get stats(): { idleBytes: number; lentBytes: number } {
    return { idleBytes: this.idle, lentBytes: this.lent };
  }

  /** A slab of at least `len` bytes, or null when `len` is outside the pooled sizes. */
  take(len: number): Buffer | null {
    if (len < pooledBytesMin || len > pooledBytesMax || this.idleBytesMax === 0) return null;
    const k = classOf(len);
    let slab = this.free[k]!.pop();
    if (slab) this.idle -= slab.length;
    else slab = Buffer.allocUnsafeSlow(1 << (k + minShift));
    this.lent += slab.length;
    return slab;
  }

  /** Takes back a slab from take(); the caller no longer uses it or any view of it. */
  give(slab: Buffer): void {
    this.lent -= slab.length;
    if (this.poison) slab.fill(0xee);
    if (this.idle + slab.length > this.idleBytesMax) return;
    this.free[classOf(slab.length)]!.push(slab);
    this.idle += slab.length;
  }
}

export class ReadBufferLease {
  /** Made on the first pooled alloc: most Fetch rounds at the log end read no file and lease nothing. */
  private slabs: Buffer[] | null = null;

  constructor(private readonly pool: ReadBufferPool) {}

  /** A buffer of exactly `len` bytes, valid until release(). */
  alloc(len: number): Buffer {
    const slab = this.pool.take(len);
    if (slab === null) return Buffer.allocUnsafe(len);
    (this.slabs ??= []).push(slab);
    return slab.subarray(0, len);
  }

  /** Gives every slab back to the pool; calling it again does nothing. */
  release(): void {
    const slabs = this.slabs;
    if (slabs === null) return;
    this.slabs = null;
    for (const s of slabs) this.pool.give(s);
  }
}

/** Size class of `len` (pooledBytesMin <= len <= pooledBytesMax): the smallest power of two >= len. */
function classOf(len: number): number {
  const shift = 32 - Math.clz32(len - 1);
  return Math.max(shift, minShift) - minShift;
}
