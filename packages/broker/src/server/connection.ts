/**
 * One client connection: framing, ordered dispatch, in-order responses, backpressure.
 *
 * - A frame's size is checked against socket.request.max.bytes before any buffer is allocated;
 *   a negative, zero or oversized size closes the connection (Kafka's InvalidReceiveException).
 * - Requests start in arrival order. A handler marked `pipelined` (Produce) lets the next request
 *   start as soon as its synchronous part (the ordered append) is done; any other handler runs to
 *   completion before the next request of this connection starts, as Kafka processes them.
 * - Responses are written in request order; a request with no response (acks=0) just frees its slot.
 * - The socket stops being read while too many requests are in flight or too many response bytes
 *   are unsent, and resumes when they drain.
 * - A request that cannot be parsed closes the connection and is logged; nothing else is affected.
 */
import type { Socket } from 'node:net';
import { DecodeError, Reader, decodeRequestHeader, encodeResponseFrame } from '@fjord/protocol';
import type { BrokerContext } from '../broker-context.js';
import { CLOSE_CONNECTION, NO_RESPONSE, type Handler, type RequestContext } from '../handlers/handler.js';
import type { HandlerRegistry } from '../handlers/registry.js';
import { disabledApiKeys } from '../handlers/index.js';

export interface ConnectionLimits {
  requestFrameBytesMax: number;
  inflightRequestsMax: number;
  writeBufferBytesMax: number;
  idleMs: number;
}

interface Slot {
  done: boolean;
  chunks: Buffer[] | null;
  /** RequestContext.afterWrite callbacks: run once the socket has taken `chunks` (or never will). */
  afterWrite: Array<() => void> | null;
}

export class Connection {
  private readonly peer: string;
  private readonly abort = new AbortController();
  private readonly sizeBuf = Buffer.alloc(4);
  private sizeFilled = 0;
  /** Size of the frame being received, or -1 while reading a size prefix. */
  private frameSize = -1;
  /** Parts of that frame received so far: memory grows with bytes actually received, not with the claimed size. */
  private frameParts: Buffer[] = [];
  private frameFilled = 0;
  /** Frames received but not started yet, and their bytes. */
  private readonly pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Started requests, in order, awaiting their response bytes. */
  private readonly slots: Slot[] = [];
  /** True while a non-pipelined request runs: the next one waits. */
  private busy = false;
  private paused = false;
  private closed = false;

  constructor(
    private readonly socket: Socket,
    private readonly broker: BrokerContext,
    private readonly registry: HandlerRegistry,
    private readonly limits: ConnectionLimits,
    private readonly onClose: (c: Connection) => void,
  ) {
    this.peer = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true);
    if (limits.idleMs > 0) socket.setTimeout(limits.idleMs, () => this.close('idle'));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.maybeResume());
    socket.on('error', (err) => this.broker.logger.debug('socket error', { peer: this.peer, error: err.message }));
    socket.on('close', () => this.close());
  }

  close(reason?: string): void {
    if (this.closed) return;
    this.closed = true;
    if (reason) this.broker.logger.debug('closing connection', { peer: this.peer, reason });
    this.abort.abort();
    this.pending.length = 0;
    this.pendingBytes = 0;
    // Slots still here were never handed to the socket.
    for (const slot of this.slots) this.afterWritten(slot.afterWrite);
    this.slots.length = 0;
    this.socket.destroy();
    this.onClose(this);
  }

  private onData(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length && !this.closed) {
      if (this.frameSize < 0) {
        let size: number;
        if (this.sizeFilled === 0 && chunk.length - off >= 4) {
          size = chunk.readInt32BE(off);
          off += 4;
        } else {
          const n = Math.min(4 - this.sizeFilled, chunk.length - off);
          chunk.copy(this.sizeBuf, this.sizeFilled, off, off + n);
          this.sizeFilled += n;
          off += n;
          if (this.sizeFilled < 4) return;
          this.sizeFilled = 0;
          size = this.sizeBuf.readInt32BE(0);
        }
        if (size <= 0 || size > this.limits.requestFrameBytesMax) {
          this.broker.logger.warn('invalid request size, closing connection', {
            peer: this.peer,
            size,
            max: this.limits.requestFrameBytesMax,
          });
          this.close();
          return;
        }
        if (chunk.length - off >= size) {
          // The whole frame is in this chunk: use it in place, no copy.
          this.enqueue(chunk.subarray(off, off + size));
          off += size;
          continue;
        }
        this.frameSize = size;
        this.frameParts = [];
        this.frameFilled = 0;
      }
      const n = Math.min(this.frameSize - this.frameFilled, chunk.length - off);
      this.frameParts.push(chunk.subarray(off, off + n));
      this.frameFilled += n;
      off += n;
      if (this.frameFilled === this.frameSize) {
        const frame = this.frameParts.length === 1 ? this.frameParts[0]! : Buffer.concat(this.frameParts, this.frameSize);
        this.frameSize = -1;
        this.frameParts = [];
        this.enqueue(frame);
      }
    }
  }

  private enqueue(frame: Buffer): void {
    this.pending.push(frame);
    this.pendingBytes += frame.length;
    this.pump();
    this.maybePause();
  }

  /** Starts pending requests while the ordering rule allows. */
  private pump(): void {
    while (!this.busy && !this.closed && this.pending.length > 0) {
      const frame = this.pending.shift()!;
      this.pendingBytes -= frame.length;
      this.start(frame);
    }
  }

  private start(frame: Buffer): void {
    let header;
    try {
      header = decodeRequestHeader(frame);
    } catch (err) {
      this.protocolError('cannot parse request header', err);
      return;
    }
    const { apiKey, apiVersion, correlationId, clientId } = header.header;
    const handler = this.registry.get(apiKey);
    if (!handler) {
      this.protocolError(`unknown API key ${apiKey}`, undefined, { apiKey, apiVersion });
      return;
    }
    if (apiVersion < handler.minVersion || apiVersion > handler.maxVersion) {
      const reply = this.registry.unsupportedVersion(handler, apiVersion, correlationId, disabledApiKeys(this.broker.config));
      if (reply) {
        this.slots.push({ done: true, chunks: reply, afterWrite: null });
        this.flush();
      } else {
        this.protocolError(`unsupported version ${apiVersion} of ${handler.name}`, undefined, { apiKey, apiVersion });
      }
      return;
    }
    let request;
    try {
      request = handler.request.decode(new Reader(frame, header.bodyOffset), apiVersion);
    } catch (err) {
      this.protocolError(`cannot parse ${handler.name} v${apiVersion}`, err, { correlationId });
      return;
    }
    const slot: Slot = { done: false, chunks: null, afterWrite: null };
    const ctx: RequestContext = {
      broker: this.broker,
      apiKey,
      apiVersion,
      correlationId,
      clientId,
      peer: this.peer,
      closed: this.abort.signal,
      holdConnection: (until) => this.hold(until),
      afterWrite: (fn) => {
        if (this.closed) this.afterWritten([fn]);
        else (slot.afterWrite ??= []).push(fn);
      },
    };
    this.slots.push(slot);
    let result;
    try {
      result = handler.handle(ctx, request);
    } catch (err) {
      this.handlerFailure(handler, err);
      return;
    }
    if (result instanceof Promise) {
      const pipelined = this.registry.isPipelined(apiKey);
      if (!pipelined) this.busy = true;
      result.then(
        (res) => {
          this.finish(slot, handler, ctx, res);
          if (!pipelined) {
            this.busy = false;
            this.pump();
          }
        },
        (err) => this.handlerFailure(handler, err),
      );
    } else {
      this.finish(slot, handler, ctx, result);
    }
  }

  /** Stops dispatching until `until` settles (see RequestContext.holdConnection). */
  private hold(until: Promise<unknown>): void {
    this.busy = true;
    const release = (): void => {
      this.busy = false;
      this.pump();
    };
    until.then(release, release);
  }

  private finish(slot: Slot, handler: Handler, ctx: RequestContext, res: unknown): void {
    if (this.closed) return;
    if (res === CLOSE_CONNECTION) {
      this.close('handler asked to close');
      return;
    }
    slot.done = true;
    if (res !== NO_RESPONSE) {
      try {
        slot.chunks = encodeResponseFrame(handler.apiKey, ctx.apiVersion, ctx.correlationId, handler.response, res);
      } catch (err) {
        this.handlerFailure(handler, err);
        return;
      }
    }
    this.flush();
  }

  private flush(): void {
    let wrote = false;
    while (this.slots.length > 0 && this.slots[0]!.done) {
      const slot = this.slots.shift()!;
      const chunks = slot.chunks;
      if (!chunks || chunks.length === 0) {
        this.afterWritten(slot.afterWrite);
        continue;
      }
      if (!wrote) this.socket.cork();
      wrote = true;
      const last = chunks.length - 1;
      for (let i = 0; i < last; i++) this.socket.write(chunks[i]!);
      const after = slot.afterWrite;
      // The callback comes once the bytes are in the kernel, or with an error once they never will be.
      if (after) this.socket.write(chunks[last]!, () => this.afterWritten(after));
      else this.socket.write(chunks[last]!);
    }
    if (wrote) this.socket.uncork();
    this.maybePause();
    this.maybeResume();
  }

  private afterWritten(fns: Array<() => void> | null): void {
    if (!fns) return;
    for (const fn of fns) {
      try {
        fn();
      } catch (err) {
        this.broker.logger.error('afterWrite callback failed', { peer: this.peer, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      }
    }
  }

  private maybePause(): void {
    if (this.paused || this.closed) return;
    if (this.pending.length + this.slots.length >= this.limits.inflightRequestsMax || this.pendingBytes > this.limits.requestFrameBytesMax || this.socket.writableLength > this.limits.writeBufferBytesMax) {
      this.paused = true;
      this.socket.pause();
    }
  }

  private maybeResume(): void {
    if (!this.paused || this.closed) return;
    if (this.pending.length + this.slots.length < this.limits.inflightRequestsMax && this.pendingBytes <= this.limits.requestFrameBytesMax && this.socket.writableLength <= this.limits.writeBufferBytesMax) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private protocolError(what: string, err?: unknown, fields?: Record<string, unknown>): void {
    this.broker.logger.warn(`${what}; closing connection`, {
      peer: this.peer,
      ...fields,
      ...(err ? { error: err instanceof DecodeError || err instanceof Error ? err.message : String(err) } : {}),
    });
    this.close();
  }

  private handlerFailure(handler: Handler, err: unknown): void {
    this.broker.logger.error(`${handler.name} handler failed; closing connection`, {
      peer: this.peer,
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
    this.close();
  }
}
