/**
 * One pipelined connection to one broker. Requests are written as soon as an in-flight slot is
 * free (up to connectionInFlightRequestsMax) and Kafka answers them in order, so responses are
 * matched against the head of a FIFO and its correlation id is checked: a mismatch means the
 * stream is broken, and the connection is closed with every pending request failed.
 *
 * A request that times out closes the connection too (as the Java client does): later responses
 * would arrive behind the missing one, and reusing the socket would mis-attribute them.
 *
 * The handshake is ApiVersions (highest version first, falling back to v0 when the broker
 * answers UNSUPPORTED_VERSION), then an optional authenticate hook (SASL, issue 7). A Connection
 * is single-use: once closed it stays closed; the ConnectionPool opens a new one with backoff.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { DecodeError, ErrorCode, Reader, decodeResponseHeader, encodeRequestFrame, frameSizeBytes, type MessageCodec, type MessageInput } from '@fjord/protocol/core';
import { ApiVersionsRequest, ApiVersionsResponse } from '@fjord/protocol/generated/api-versions.js';
import { ClosedError, ConnectionError, ProtocolError, TimeoutError, UnsupportedVersionError, kafkaError } from '../errors.js';
import type { Logger } from '../logger.js';
import { connectionReadArenaBytes } from '../limits.js';
import { FrameReader } from './frame-reader.js';
import { clientRange, pickVersion } from './versions.js';
import { apiVersionsApi, clientApis } from '../apis.js';

/** A request codec paired with its response codec, e.g. `{ request: ProduceRequest, response: ProduceResponse }`. */
export interface Api<Req, Res> {
  readonly request: MessageCodec<Req>;
  readonly response: MessageCodec<Res>;
}

/** Opens the byte stream to a broker; the TLS hook (issue 7) supplies a tls.connect here. */
export type SocketFactory = (host: string, port: number) => Socket;

export interface ConnectionOptions {
  host: string;
  port: number;
  /** Broker node id, or -1 for a bootstrap address. */
  nodeId: number;
  clientId: string;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  connectionInFlightRequestsMax: number;
  connectionQueuedRequestsMax: number;
  responseFrameBytesMax: number;
  logger: Logger;
  socketFactory?: SocketFactory;
  /** Size of the read arena of a socket this connection opens itself (tests; default connectionReadArenaBytes). */
  readArenaBytes?: number;
  /** Runs after ApiVersions and before any other request (SASL goes here). */
  authenticate?: (connection: Connection) => Promise<void>;
  /** Called once when the connection closes, with the reason (undefined for close()). */
  onClose?: (error: Error | undefined) => void;
}

export interface RequestOptions {
  timeoutMs?: number;
  /** acks=0 Produce: no response comes; the promise resolves once written. */
  expectResponse?: boolean;
  /** Force a version (ApiVersions handshake); otherwise the negotiated one. */
  version?: number;
  /** Use at most this version (e.g. to stay on an API's pre-KIP-890 semantics). */
  maxVersion?: number;
}

interface Pending {
  correlationId: number;
  apiKey: number;
  apiName: string;
  version: number;
  frame: Buffer[];
  expectResponse: boolean;
  timeoutMs: number;
  timer: NodeJS.Timeout | undefined;
  decode: (frame: Buffer, offset: number) => unknown;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

const clientSoftwareName = 'fjord-client';
const clientSoftwareVersion = '0.1.0';

export class Connection {
  readonly address: string;
  private socket: Socket | undefined;
  private nextCorrelationId = 0;
  private readonly inFlight: Pending[] = [];
  private readonly queued: Pending[] = [];
  private readBuf: Buffer[] = [];
  private readBytes = 0;
  /** Size of the frame being read (after its 4-byte length), or -1 before that length is read. */
  private frameBytes = -1;
  /** Cuts frames on a socket of our own (netConnect with onread); the 'data' path above serves socketFactory sockets. */
  private reader: FrameReader | undefined;
  private versions = new Map<number, number>();
  private closedWith: Error | undefined;
  private closed = false;
  private ready = false;

  constructor(private readonly o: ConnectionOptions) {
    this.address = `${o.host}:${o.port}`;
  }

  get nodeId(): number {
    return this.o.nodeId;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Requests written and not yet answered plus those waiting for a slot. */
  get load(): number {
    return this.inFlight.length + this.queued.length;
  }

  /** The version negotiated for an API key, or -1 when the broker and this client share none. */
  versionOf(apiKey: number): number {
    return this.versions.get(apiKey) ?? -1;
  }

  /** Opens the socket and runs the handshake, all within connectTimeoutMs. */
  async connect(): Promise<void> {
    const { connectTimeoutMs } = this.o;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(`connecting to ${this.address}`, connectTimeoutMs)), connectTimeoutMs);
    });
    try {
      await Promise.race([this.handshake(), timeout]);
    } catch (e) {
      this.destroy(e as Error);
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  private async handshake(): Promise<void> {
    await this.openSocket();
    await this.negotiateVersions();
    if (this.o.authenticate) await this.o.authenticate(this);
    this.ready = true;
    this.o.logger({ level: 'debug', message: 'connected', fields: { address: this.address, nodeId: this.o.nodeId } });
  }

  private openSocket(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = this.o.socketFactory ? this.o.socketFactory(this.o.host, this.o.port) : this.netSocket();
      this.socket = socket;
      socket.setNoDelay(true);
      const onError = (err: Error): void => {
        socket.off('connect', onConnect);
        reject(new ConnectionError(this.address, `cannot connect: ${err.message}`, { cause: err }));
      };
      const onConnect = (): void => {
        socket.off('error', onError);
        socket.on('error', (err) => this.destroy(new ConnectionError(this.address, `socket error: ${err.message}`, { cause: err })));
        socket.on('close', () => this.destroy(new ConnectionError(this.address, 'connection closed by the broker')));
        if (!this.reader) socket.on('data', (chunk: Buffer) => this.onData(chunk));
        resolve();
      };
      socket.once('error', onError);
      socket.once('connect', onConnect);
    });
  }

  /**
   * A plain TCP socket whose reads land in the FrameReader's buffers (net.connect's onread): no
   * chunk is allocated per read and a large frame is not joined from chunks.
   */
  private netSocket(): Socket {
    const reader = new FrameReader(
      this.o.readArenaBytes ?? connectionReadArenaBytes,
      this.o.responseFrameBytesMax,
      (frame) => this.onFrame(frame),
      (size) => this.destroy(this.badFrameSize(size)),
    );
    this.reader = reader;
    return netConnect({
      host: this.o.host,
      port: this.o.port,
      onread: {
        buffer: () => reader.buffer(),
        // true: keep reading (false would pause the socket).
        callback: (bytes: number) => {
          if (!this.closed) reader.read(bytes);
          return true;
        },
      },
    });
  }

  private badFrameSize(size: number): ProtocolError {
    return new ProtocolError(this.address, `response frame size ${size} outside 4..responseFrameBytesMax (${this.o.responseFrameBytesMax}); the peer is not speaking Kafka`);
  }

  private async negotiateVersions(): Promise<void> {
    const own = clientRange(ApiVersionsRequest);
    let res = await this.send(apiVersionsApi, { clientSoftwareName, clientSoftwareVersion }, { version: own.maxVersion });
    if (res.errorCode === ErrorCode.UNSUPPORTED_VERSION) {
      res = await this.send(apiVersionsApi, {}, { version: 0 });
    }
    if (res.errorCode !== 0) throw kafkaError(res.errorCode, `ApiVersions from ${this.address}`);
    const versions = new Map<number, number>();
    for (const k of res.apiKeys) {
      const api = clientApis.get(k.apiKey);
      if (!api) continue;
      const v = pickVersion(clientRange(api.request), k);
      if (v >= 0) versions.set(k.apiKey, v);
    }
    this.versions = versions;
  }

  /**
   * Sends a request at the negotiated version (or `options.version`) and resolves with the
   * decoded response. Rejects with TimeoutError, ConnectionError, ProtocolError,
   * UnsupportedVersionError or ClosedError; never with a Kafka error code (those are data).
   */
  send<Req, Res>(api: Api<Req, Res>, body: MessageInput<Req>, options: RequestOptions = {}): Promise<Res> {
    if (this.closed) return Promise.reject(this.closedWith ?? new ClosedError(`connection to ${this.address}`));
    const apiKey = api.request.apiKey;
    const apiName = api.request.name.replace(/Request$/, '');
    const negotiated = this.versionOf(apiKey);
    const version = options.version ?? (options.maxVersion !== undefined && negotiated > options.maxVersion ? options.maxVersion : negotiated);
    if (version < 0) return Promise.reject(new UnsupportedVersionError(apiName, this.address));
    if (this.queued.length >= this.o.connectionQueuedRequestsMax) {
      return Promise.reject(new ConnectionError(this.address, `more than connectionQueuedRequestsMax (${this.o.connectionQueuedRequestsMax}) requests queued`));
    }
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = (this.nextCorrelationId + 1) & 0x7fffffff;
    let frame: Buffer[];
    try {
      frame = encodeRequestFrame(version, correlationId, this.o.clientId, api.request, body);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    return new Promise<Res>((resolve, reject) => {
      const p: Pending = {
        correlationId,
        apiKey,
        apiName,
        version,
        frame,
        expectResponse: options.expectResponse ?? true,
        timeoutMs: options.timeoutMs ?? this.o.requestTimeoutMs,
        timer: undefined,
        decode: (buf, offset) => api.response.decode(new Reader(buf, offset), version),
        resolve: resolve as (v: unknown) => void,
        reject,
      };
      // Requests other than the handshake wait for it; the handshake itself goes straight out.
      if (!this.ready && options.version === undefined) this.queued.push(p);
      else if (this.inFlight.length < this.o.connectionInFlightRequestsMax && this.queued.length === 0) this.write(p);
      else this.queued.push(p);
      if (this.ready) this.pump();
    });
  }

  private pump(): void {
    while (this.ready && !this.closed && this.queued.length > 0 && this.inFlight.length < this.o.connectionInFlightRequestsMax) {
      this.write(this.queued.shift()!);
    }
  }

  private write(p: Pending): void {
    const socket = this.socket!;
    if (p.expectResponse) {
      this.inFlight.push(p);
      p.timer = setTimeout(() => {
        this.destroy(new TimeoutError(`${p.apiName} v${p.version} request to ${this.describe()}`, p.timeoutMs));
      }, p.timeoutMs);
      // One writev per request instead of one write per chunk (a Produce frame is many chunks).
      socket.cork();
      for (const chunk of p.frame) socket.write(chunk);
      socket.uncork();
    } else {
      const last = p.frame.length - 1;
      p.frame.forEach((chunk, i) => {
        if (i < last) socket.write(chunk);
        else socket.write(chunk, (err) => (err ? p.reject(new ConnectionError(this.address, `write failed: ${err.message}`, { cause: err })) : p.resolve(undefined)));
      });
    }
  }

  private describe(): string {
    return this.o.nodeId >= 0 ? `broker ${this.o.nodeId} (${this.address})` : this.address;
  }

  /**
   * Splits the byte stream of a socketFactory socket (TLS) into frames. Chunks are joined only once a whole frame (or its 4-byte
   * size) is there, so a large Fetch response arriving in many socket reads is copied once, not
   * once per read.
   */
  private onData(chunk: Buffer): void {
    this.readBuf.push(chunk);
    this.readBytes += chunk.length;
    while (!this.closed && this.readBytes >= frameSizeBytes) {
      if (this.frameBytes < 0) {
        if (this.readBuf[0]!.length < frameSizeBytes) this.readBuf = [Buffer.concat(this.readBuf, this.readBytes)];
        const size = this.readBuf[0]!.readInt32BE(0);
        if (size < 4 || size > this.o.responseFrameBytesMax) {
          this.destroy(this.badFrameSize(size));
          return;
        }
        this.frameBytes = size;
      }
      const total = frameSizeBytes + this.frameBytes;
      if (this.readBytes < total) return;
      const head = this.readBuf.length === 1 ? this.readBuf[0]! : Buffer.concat(this.readBuf, this.readBytes);
      const frame = head.subarray(frameSizeBytes, total);
      const rest = head.subarray(total);
      this.readBuf = rest.length > 0 ? [rest] : [];
      this.readBytes = rest.length;
      this.frameBytes = -1;
      this.onFrame(frame);
    }
  }

  private onFrame(frame: Buffer): void {
    const p = this.inFlight.shift();
    if (!p) {
      this.destroy(new ProtocolError(this.address, 'response without a request'));
      return;
    }
    clearTimeout(p.timer);
    let body: unknown;
    try {
      const h = decodeResponseHeader(frame, p.apiKey, p.version);
      if (h.correlationId !== p.correlationId) {
        this.inFlight.unshift(p);
        this.destroy(new ProtocolError(this.address, `correlation id ${h.correlationId} where ${p.correlationId} (${p.apiName}) was expected`));
        return;
      }
      // A broker that does not support our ApiVersions version answers with a v0 body.
      const v0 = p.apiKey === ApiVersionsRequest.apiKey && frame.length >= h.bodyOffset + 2 && frame.readInt16BE(h.bodyOffset) === ErrorCode.UNSUPPORTED_VERSION;
      body = v0 ? ApiVersionsResponse.decode(new Reader(frame, h.bodyOffset), 0) : p.decode(frame, h.bodyOffset);
    } catch (e) {
      const err = new ProtocolError(this.address, `cannot decode ${p.apiName} v${p.version} response: ${(e as Error).message}`, { cause: e });
      p.reject(err);
      this.destroy(err);
      return;
    }
    p.resolve(body);
    this.pump();
  }

  /** Closes the connection; pending requests fail with ClosedError. */
  close(): void {
    this.destroy(undefined);
  }

  private destroy(error: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.closedWith = error;
    this.reader?.stop();
    this.socket?.destroy();
    const failure = error ?? new ClosedError(`connection to ${this.address}`);
    for (const p of this.inFlight.splice(0).concat(this.queued.splice(0))) {
      clearTimeout(p.timer);
      p.reject(failure);
    }
    if (error) this.o.logger({ level: 'warn', message: 'connection closed', fields: { address: this.address, nodeId: this.o.nodeId, error: error.message } });
    this.o.onClose?.(error);
  }
}

/** Decode errors surface as ProtocolError; re-exported for callers that check. */
export { DecodeError };
