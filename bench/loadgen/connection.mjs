/**
 * One Kafka connection over node:net for the load generator: frames requests with the codecs of
 * @fjord/protocol, pipelines them (responses are matched by correlation id and must arrive in
 * order, as Kafka promises per connection) and reassembles response frames with at most one copy.
 *
 * Limits: every request has a deadline (requestTimeoutMs); a response frame larger than
 * responseFrameBytesMax is treated as garbage and the connection is closed.
 */
import net from 'node:net';
import {
  Reader,
  RequestHeader,
  Writer,
  decodeResponseHeader,
  requestHeaderVersion,
} from '@fjord/protocol';

export const responseFrameBytesMax = 256 * 1024 * 1024;
export const requestTimeoutMsDefault = 30_000;
export const connectTimeoutMs = 10_000;

export class ConnectionError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'ConnectionError';
  }
}

export class KafkaConnection {
  /** @param {net.Socket} socket */
  constructor(socket, clientId, requestTimeoutMs) {
    this.socket = socket;
    this.clientId = clientId;
    this.requestTimeoutMs = requestTimeoutMs;
    this.nextCorrelationId = 1;
    /** In-flight requests, oldest first. */
    this.pending = [];
    this.closed = false;
    this.closeError = null;
    // Frame reassembly: either collecting the 4-byte size, or filling `frame`.
    this.sizeBuf = Buffer.alloc(4);
    this.sizeHave = 0;
    this.frame = null;
    this.frameHave = 0;
    this.bytesIn = 0;
    this.bytesOut = 0;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (err) => this.fail(new ConnectionError(`socket error: ${err.message}`, { cause: err })));
    socket.on('close', () => this.fail(new ConnectionError('connection closed by the broker')));
    this.timer = setInterval(() => this.checkTimeouts(), 250);
    this.timer.unref();
  }

  static connect(host, port, { clientId = 'fjord-bench', requestTimeoutMs = requestTimeoutMsDefault } = {}) {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      const t = setTimeout(() => {
        socket.destroy();
        reject(new ConnectionError(`connect to ${host}:${port} timed out after ${connectTimeoutMs} ms`));
      }, connectTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(t);
        socket.removeAllListeners('error');
        resolve(new KafkaConnection(socket, clientId, requestTimeoutMs));
      });
      socket.once('error', (err) => {
        clearTimeout(t);
        reject(new ConnectionError(`connect to ${host}:${port}: ${err.message}`, { cause: err }));
      });
    });
  }

  get inflight() {
    return this.pending.length;
  }

  /** Encodes the request header (a few bytes, fresh per request) in front of a pre-encoded body. */
  headerChunk(apiKey, apiVersion, correlationId, bodyBytes) {
    const w = new Writer(64);
    const sizeAt = w.reserveInt32();
    RequestHeader.encode(
      w,
      { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId, clientId: this.clientId },
      requestHeaderVersion(apiKey, apiVersion),
    );
    w.setInt32At(sizeAt, w.length - 4 + bodyBytes);
    return w.toBuffer();
  }

  /**
   * Sends a request whose body is already encoded (chunks), and resolves with the raw response:
   * `{ frame, bodyOffset }` (frame without the size prefix). `sentAt` is process.hrtime.bigint().
   */
  sendRaw(apiKey, apiVersion, bodyChunks) {
    if (this.closed) return Promise.reject(this.closeError ?? new ConnectionError('connection is closed'));
    const correlationId = this.nextCorrelationId++ & 0x7fffffff;
    let bodyBytes = 0;
    for (const c of bodyChunks) bodyBytes += c.length;
    const head = this.headerChunk(apiKey, apiVersion, correlationId, bodyBytes);
    return new Promise((resolve, reject) => {
      this.pending.push({ correlationId, apiKey, apiVersion, resolve, reject, deadline: Date.now() + this.requestTimeoutMs });
      const s = this.socket;
      s.cork();
      s.write(head);
      for (const c of bodyChunks) s.write(c);
      s.uncork();
      this.bytesOut += head.length + bodyBytes;
    });
  }

  /** Encodes `body` with `codec` at `apiVersion`, sends it and decodes the response with `responseCodec`. */
  async request(codec, responseCodec, apiVersion, body) {
    const w = new Writer(256);
    codec.encode(w, body, apiVersion);
    const { frame, bodyOffset } = await this.sendRaw(codec.apiKey, apiVersion, w.toChunks());
    return responseCodec.decode(new Reader(frame, bodyOffset), apiVersion);
  }

  /** Sends a request that gets no response (Produce with acks=0). */
  sendNoResponse(apiKey, apiVersion, bodyChunks) {
    const correlationId = this.nextCorrelationId++ & 0x7fffffff;
    let bodyBytes = 0;
    for (const c of bodyChunks) bodyBytes += c.length;
    const s = this.socket;
    s.cork();
    s.write(this.headerChunk(apiKey, apiVersion, correlationId, bodyBytes));
    for (const c of bodyChunks) s.write(c);
    s.uncork();
  }

  onData(chunk) {
    this.bytesIn += chunk.length;
    let off = 0;
    const n = chunk.length;
    while (off < n) {
      if (this.frame === null) {
        // Fast path: a whole frame lies inside this chunk; hand out a zero-copy slice.
        if (this.sizeHave === 0 && n - off >= 4) {
          const size = chunk.readInt32BE(off);
          if (!this.checkSize(size)) return;
          if (n - off - 4 >= size) {
            this.deliver(chunk.subarray(off + 4, off + 4 + size));
            off += 4 + size;
            continue;
          }
          this.frame = Buffer.allocUnsafe(size);
          this.frameHave = 0;
          off += 4;
          continue;
        }
        const take = Math.min(4 - this.sizeHave, n - off);
        chunk.copy(this.sizeBuf, this.sizeHave, off, off + take);
        this.sizeHave += take;
        off += take;
        if (this.sizeHave === 4) {
          const size = this.sizeBuf.readInt32BE(0);
          this.sizeHave = 0;
          if (!this.checkSize(size)) return;
          this.frame = Buffer.allocUnsafe(size);
          this.frameHave = 0;
          if (size === 0) this.finishFrame();
        }
        continue;
      }
      const take = Math.min(this.frame.length - this.frameHave, n - off);
      chunk.copy(this.frame, this.frameHave, off, off + take);
      this.frameHave += take;
      off += take;
      if (this.frameHave === this.frame.length) this.finishFrame();
    }
  }

  checkSize(size) {
    if (size < 4 || size > responseFrameBytesMax) {
      this.fail(new ConnectionError(`response frame size ${size} is outside [4, ${responseFrameBytesMax}]`));
      this.socket.destroy();
      return false;
    }
    return true;
  }

  finishFrame() {
    const frame = this.frame;
    this.frame = null;
    this.frameHave = 0;
    this.deliver(frame);
  }

  deliver(frame) {
    const req = this.pending.shift();
    if (req === undefined) {
      this.fail(new ConnectionError('response without a request'));
      this.socket.destroy();
      return;
    }
    let header;
    try {
      header = decodeResponseHeader(frame, req.apiKey, req.apiVersion);
    } catch (err) {
      req.reject(new ConnectionError(`bad response header: ${err.message}`, { cause: err }));
      return;
    }
    if (header.correlationId !== req.correlationId) {
      const err = new ConnectionError(`response correlation id ${header.correlationId}, expected ${req.correlationId} (out of order)`);
      req.reject(err);
      this.fail(err);
      this.socket.destroy();
      return;
    }
    req.resolve({ frame, bodyOffset: header.bodyOffset });
  }

  checkTimeouts() {
    const head = this.pending[0];
    if (head !== undefined && Date.now() > head.deadline) {
      this.fail(new ConnectionError(`request (api key ${head.apiKey}, correlation id ${head.correlationId}) timed out after ${this.requestTimeoutMs} ms`));
      this.socket.destroy();
    }
  }

  fail(err) {
    if (this.closed) return;
    this.closed = true;
    this.closeError = err;
    clearInterval(this.timer);
    const pending = this.pending;
    this.pending = [];
    for (const p of pending) p.reject(err);
  }

  close() {
    if (!this.closed) {
      this.closed = true;
      this.closeError = new ConnectionError('connection closed by the load generator');
      clearInterval(this.timer);
      for (const p of this.pending.splice(0)) p.reject(this.closeError);
    }
    this.socket.destroy();
  }
}
