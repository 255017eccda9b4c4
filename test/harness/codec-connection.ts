// A client connection that speaks Kafka through the generated codecs of @fjord/protocol: requests
// are framed with encodeRequestFrame (request header version per requestHeaderVersion), responses
// are matched by correlation id and decoded at the same version (response header per
// responseHeaderVersion). Every wait has a timeout. Unlike wire.ts this trusts the codecs; it is for
// tests that cover many APIs and versions, where hand-written encoders would not scale.
import { connect, type Socket } from 'node:net';
import {
  CreateTopicsRequest,
  CreateTopicsResponse,
  decodeResponseHeader,
  encodeRequestFrame,
  Reader,
  RequestHeader,
  Writer,
  type MessageCodec,
  type MessageInput,
} from '@fjord/protocol';

/** Frames above this are treated as a broken stream (no response in these tests comes near it). */
const responseFrameBytesMax = 64 * 1024 * 1024;

export class ConnectionClosedError extends Error {}

export class CodecConnection {
  private buffered: Buffer = Buffer.alloc(0);
  private readonly frames = new Map<number, Buffer>();
  private readonly waiters = new Map<number, () => void>();
  private nextCorrelationId = 1;
  closed = false;
  private readonly closedPromise: Promise<void>;

  private constructor(
    private readonly socket: Socket,
    readonly clientId: string,
  ) {
    this.closedPromise = new Promise((resolve) => {
      socket.once('close', () => {
        this.closed = true;
        for (const w of this.waiters.values()) w();
        resolve();
      });
    });
    socket.on('error', () => {
      // surfaces as 'close'; the pending request then fails with ConnectionClosedError
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  static open(host: string, port: number, { clientId = 'fjord-codec-test', timeoutMs = 5_000 } = {}): Promise<CodecConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${host}:${port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.setNoDelay(true);
        resolve(new CodecConnection(socket, clientId));
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 4) {
      const size = this.buffered.readInt32BE(0);
      if (size < 4 || size > responseFrameBytesMax) {
        this.socket.destroy(new Error(`broker sent a frame of size ${size}`));
        return;
      }
      if (this.buffered.length < 4 + size) break;
      const frame = Buffer.from(this.buffered.subarray(4, 4 + size));
      this.buffered = this.buffered.subarray(4 + size);
      const correlationId = frame.readInt32BE(0);
      this.frames.set(correlationId, frame);
      this.waiters.get(correlationId)?.();
    }
  }

  /** Send a frame built by the caller (size prefix included); returns nothing, the caller knows its id. */
  sendFrame(chunks: readonly Buffer[]): void {
    this.socket.cork();
    for (const c of chunks) this.socket.write(c);
    this.socket.uncork();
  }

  /** A fresh correlation id. */
  correlationId(): number {
    return this.nextCorrelationId++;
  }

  /** The response frame (without size prefix) for `correlationId`; rejects on close or timeout. */
  awaitFrame(correlationId: number, timeoutMs: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const settle = (): void => {
        const frame = this.frames.get(correlationId);
        if (frame) {
          done();
          resolve(frame);
        } else if (this.closed) {
          done();
          reject(new ConnectionClosedError(`connection closed before the response to correlation id ${correlationId}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no response to correlation id ${correlationId} within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(correlationId);
        this.frames.delete(correlationId);
      };
      this.waiters.set(correlationId, settle);
      settle();
    });
  }

  /**
   * Encode `body` at `version`, send it, and decode the response at the same version. Throws if the
   * response body leaves bytes unread (a sign that broker and codec disagree about the layout).
   */
  /** CreateTopics v7 of one topic; throws unless the broker answers with no error. */
  async createTopic(name: string, numPartitions: number): Promise<void> {
    const r = await this.request(CreateTopicsRequest, CreateTopicsResponse, 7, {
      topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 10_000,
      validateOnly: false,
    });
    const code = r.topics[0]?.errorCode;
    if (code !== 0) throw new Error(`CreateTopics ${name}: error ${code}`);
  }

  async request<Req, Res>(request: MessageCodec<Req>, response: MessageCodec<Res>, version: number, body: MessageInput<Req>, timeoutMs = 10_000): Promise<Res> {
    const cid = this.correlationId();
    this.sendFrame(encodeRequestFrame(version, cid, this.clientId, request, body));
    const frame = await this.awaitFrame(cid, timeoutMs);
    const { bodyOffset } = decodeResponseHeader(frame, request.apiKey, version);
    const r = new Reader(frame, bodyOffset);
    const decoded = response.decode(r, version);
    if (r.remaining !== 0) throw new Error(`${response.name} v${version}: ${r.remaining} bytes left after the body`);
    return decoded;
  }

  /**
   * Send a request header v1 for any API key and version (no codec needed) followed by `body`; for
   * versions and keys the codecs do not have. Returns the correlation id.
   */
  sendRawRequest(apiKey: number, apiVersion: number, body: Buffer = Buffer.alloc(0)): number {
    const cid = this.correlationId();
    const w = new Writer();
    const sizeAt = w.reserveInt32();
    RequestHeader.encode(w, { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId: cid, clientId: this.clientId }, 1);
    w.writeCopy(body);
    w.setInt32At(sizeAt, w.length - 4);
    this.sendFrame(w.toChunks());
    return cid;
  }

  /** True when the broker closes the connection within `timeoutMs`. */
  async waitClosed(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([this.closedPromise.then(() => true), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
