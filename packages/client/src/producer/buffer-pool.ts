/**
 * buffer.memory: bytes reserved by records waiting to be acknowledged. A reservation that does not
 * fit waits (FIFO, so records keep their order) until acknowledgements free room, for at most
 * maxBlockMs; then it fails with TimeoutError naming bufferMemoryBytes. `onReserved` runs after
 * every reservation granted: the producer's spare batch buffers count against the same limit and
 * give way there (SpareBatchBuffers.fit).
 */
import { TimeoutError } from '../errors.js';

interface Waiter {
  bytes: number;
  resolve: () => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

/** What whenRoom() answers when there is room: one settled promise, not a new one per call. */
const roomNow: Promise<void> = Promise.resolve();

export class BufferPool {
  private usedBytes = 0;
  private readonly waiters: Waiter[] = [];

  constructor(
    readonly limitBytes: number,
    private readonly onReserved: () => void = () => {},
  ) {}

  get used(): number {
    return this.usedBytes;
  }

  /** Reserves now if there is room and nobody is waiting; false otherwise. */
  tryReserve(bytes: number): boolean {
    if (this.waiters.length > 0 || this.usedBytes + bytes > this.limitBytes) return false;
    this.usedBytes += bytes;
    this.onReserved();
    return true;
  }

  /** Waits for room (FIFO). */
  reserve(bytes: number, maxBlockMs: number): Promise<void> {
    if (this.tryReserve(bytes)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w: Waiter = { bytes, resolve, reject, timer: undefined };
      w.timer = setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new TimeoutError(`waiting for ${bytes} bytes of bufferMemoryBytes (${this.limitBytes}, ${this.usedBytes} in use)`, maxBlockMs));
        this.serve();
      }, maxBlockMs);
      this.waiters.push(w);
    });
  }

  /** Resolves when the pool has room for `bytes` and nobody waits (does not reserve). */
  whenRoom(bytes: number, maxBlockMs: number): Promise<void> {
    if (this.waiters.length === 0 && this.usedBytes + bytes <= this.limitBytes) return roomNow;
    return this.reserve(bytes, maxBlockMs).then(() => this.release(bytes));
  }

  release(bytes: number): void {
    this.usedBytes -= bytes;
    this.serve();
  }

  private serve(): void {
    while (this.waiters.length > 0 && this.usedBytes + this.waiters[0]!.bytes <= this.limitBytes) {
      const w = this.waiters.shift()!;
      clearTimeout(w.timer);
      this.usedBytes += w.bytes;
      this.onReserved();
      w.resolve();
    }
  }

  /** Fails every waiter (producer closing). */
  failAll(e: Error): void {
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(e);
    }
  }
}
