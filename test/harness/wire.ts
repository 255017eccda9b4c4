// Raw Kafka wire access for the bad-input and protocol-detail tests: hand-written encoders for the
// handful of requests the tests need, independent of @fjord/protocol so that a codec bug cannot hide
// itself. Also CRC32C and RecordBatch v2 encoding for crafting valid, corrupt and over-size batches.
import { connect, type Socket } from 'node:net';
import * as zlib from 'node:zlib';

// ---------------------------------------------------------------- primitives

export class Writer {
  private buf = Buffer.alloc(256);
  private pos = 0;
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  int8(v: number): this {
    this.ensure(1);
    this.buf.writeInt8(v, this.pos);
    this.pos += 1;
    return this;
  }
  int16(v: number): this {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }
  int32(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }
  uint32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }
  int64(v: bigint | number): this {
    this.ensure(8);
    this.buf.writeBigInt64BE(BigInt(v), this.pos);
    this.pos += 8;
    return this;
  }
  bool(v: boolean): this {
    return this.int8(v ? 1 : 0);
  }
  raw(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  uvarint(v: number): this {
    let x = v >>> 0;
    while (x >= 0x80) {
      this.int8(((x & 0x7f) | 0x80) << 24 >> 24);
      x >>>= 7;
    }
    return this.int8((x << 24) >> 24);
  }
  varint(v: number): this {
    return this.uvarint(((v << 1) ^ (v >> 31)) >>> 0);
  }
  varlong(v: bigint | number): this {
    let x = BigInt(v);
    x = (x << 1n) ^ (x >> 63n);
    x = BigInt.asUintN(64, x);
    while (x >= 0x80n) {
      this.raw(Uint8Array.of(Number((x & 0x7fn) | 0x80n)));
      x >>= 7n;
    }
    return this.raw(Uint8Array.of(Number(x)));
  }
  string(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.int16(b.length).raw(b);
  }
  nullableString(s: string | null): this {
    return s === null ? this.int16(-1) : this.string(s);
  }
  compactString(s: string | null): this {
    if (s === null) return this.uvarint(0);
    const b = Buffer.from(s, 'utf8');
    return this.uvarint(b.length + 1).raw(b);
  }
  bytes(b: Uint8Array | null): this {
    return b === null ? this.int32(-1) : this.int32(b.length).raw(b);
  }
  compactBytes(b: Uint8Array | null): this {
    return b === null ? this.uvarint(0) : this.uvarint(b.length + 1).raw(b);
  }
  array<T>(items: readonly T[], each: (w: this, item: T) => void): this {
    this.int32(items.length);
    for (const it of items) each(this, it);
    return this;
  }
  compactArray<T>(items: readonly T[], each: (w: this, item: T) => void): this {
    this.uvarint(items.length + 1);
    for (const it of items) each(this, it);
    return this;
  }
  /** An empty tagged-field section. */
  tags(): this {
    return this.uvarint(0);
  }
  get length(): number {
    return this.pos;
  }
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}

export class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  private need(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.buf.length)
      throw new Error(`wire: reading ${what} needs ${n} bytes at ${this.pos}, have ${this.buf.length - this.pos}`);
  }
  int8(): number {
    this.need(1, 'int8');
    return this.buf.readInt8(this.pos++);
  }
  int16(): number {
    this.need(2, 'int16');
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  int32(): number {
    this.need(4, 'int32');
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  uint32(): number {
    this.need(4, 'uint32');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  int64(): bigint {
    this.need(8, 'int64');
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  /** int64 that the test expects to fit a JS number. */
  int64n(): number {
    return Number(this.int64());
  }
  bool(): boolean {
    return this.int8() !== 0;
  }
  uvarint(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.buf[this.pos++];
      if (b === undefined) throw new Error('wire: truncated varint');
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
    throw new Error('wire: varint too long');
  }
  varint(): number {
    const u = this.uvarint();
    return (u >>> 1) ^ -(u & 1);
  }
  varlong(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      const b = this.buf[this.pos++];
      if (b === undefined) throw new Error('wire: truncated varlong');
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return (result >> 1n) ^ -(result & 1n);
      shift += 7n;
    }
    throw new Error('wire: varlong too long');
  }
  raw(n: number): Buffer {
    this.need(n, 'bytes');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  string(): string {
    const n = this.int16();
    if (n < 0) throw new Error('wire: null string where non-null expected');
    return this.raw(n).toString('utf8');
  }
  nullableString(): string | null {
    const n = this.int16();
    return n < 0 ? null : this.raw(n).toString('utf8');
  }
  compactString(): string | null {
    const n = this.uvarint();
    return n === 0 ? null : this.raw(n - 1).toString('utf8');
  }
  bytes(): Buffer | null {
    const n = this.int32();
    return n < 0 ? null : this.raw(n);
  }
  compactBytes(): Buffer | null {
    const n = this.uvarint();
    return n === 0 ? null : this.raw(n - 1);
  }
  array<T>(each: (r: this) => T): T[] {
    const n = this.int32();
    if (n < 0) return [];
    if (n > this.buf.length) throw new Error(`wire: array length ${n} exceeds buffer`);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(each(this));
    return out;
  }
  compactArray<T>(each: (r: this) => T): T[] {
    const n = this.uvarint();
    if (n === 0) return [];
    if (n - 1 > this.buf.length) throw new Error(`wire: array length ${n - 1} exceeds buffer`);
    const out: T[] = [];
    for (let i = 0; i < n - 1; i++) out.push(each(this));
    return out;
  }
  /** Skip a tagged-field section. */
  tags(): void {
    const n = this.uvarint();
    for (let i = 0; i < n; i++) {
      this.uvarint();
      const size = this.uvarint();
      this.raw(size);
    }
  }
  get remaining(): number {
    return this.buf.length - this.pos;
  }
}

// ---------------------------------------------------------------- CRC32C (Castagnoli), table-driven

const crcTable = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

export function crc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = crcTable[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

// ---------------------------------------------------------------- RecordBatch v2

export interface RawRecord {
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Array<[string, Buffer | string | null]>;
  timestampDelta?: number;
}

const asBuf = (v: Buffer | string): Buffer => (typeof v === 'string' ? Buffer.from(v, 'utf8') : v);

/** Encode an uncompressed magic-2 batch (no producer id). baseOffset is 0 as clients send it. */
export function encodeBatch(records: readonly RawRecord[], { baseTimestamp = Date.now(), attributes = 0 } = {}): Buffer {
  const body = new Writer();
  records.forEach((r, i) => {
    const rec = new Writer();
    rec.int8(0).varlong(r.timestampDelta ?? 0).varint(i);
    if (r.key === null) rec.varint(-1);
    else rec.varint(asBuf(r.key).length).raw(asBuf(r.key));
    if (r.value === null) rec.varint(-1);
    else rec.varint(asBuf(r.value).length).raw(asBuf(r.value));
    const hs = r.headers ?? [];
    rec.varint(hs.length);
    for (const [k, v] of hs) {
      rec.varint(Buffer.byteLength(k)).raw(Buffer.from(k));
      if (v === null) rec.varint(-1);
      else rec.varint(asBuf(v).length).raw(asBuf(v));
    }
    const recBytes = rec.finish();
    body.varint(recBytes.length).raw(recBytes);
  });
  const maxDelta = Math.max(0, ...records.map((r) => r.timestampDelta ?? 0));
  const afterCrc = new Writer()
    .int16(attributes)
    .int32(records.length - 1)
    .int64(baseTimestamp)
    .int64(baseTimestamp + maxDelta)
    .int64(-1n)
    .int16(-1)
    .int32(-1)
    .int32(records.length)
    .raw(body.finish())
    .finish();
  const head = new Writer()
    .int64(0n)
    .int32(4 + 1 + 4 + afterCrc.length) // partitionLeaderEpoch + magic + crc + rest
    .int32(-1)
    .int8(2)
    .uint32(crc32c(afterCrc))
    .finish();
  return Buffer.concat([head, afterCrc]);
}

/** Byte offset of the CRC field in a v2 batch. */
export const batchCrcOffset = 8 + 4 + 4 + 1;

/** A legacy magic-1 message set with one message (what pre-0.11 clients send). */
export function encodeLegacyMessageV1(key: string | null, value: string, timestamp = Date.now()): Buffer {
  const msg = new Writer()
    .int8(1)
    .int8(0)
    .int64(timestamp)
    .bytes(key === null ? null : Buffer.from(key))
    .bytes(Buffer.from(value))
    .finish();
  const crc = (zlib as unknown as { crc32(b: Uint8Array): number }).crc32(msg);
  const withCrc = new Writer().uint32(crc).raw(msg).finish();
  return new Writer().int64(0n).int32(withCrc.length).raw(withCrc).finish();
}

// ---------------------------------------------------------------- connection

export interface ResponseFrame {
  correlationId: number;
  /** Bytes after the correlation id (a flexible response header's tagged fields are still in front). */
  body: Buffer;
}

/** One TCP connection speaking raw frames; responses are matched by correlation id. */
export class RawConnection {
  private pending = Buffer.alloc(0);
  private frames: ResponseFrame[] = [];
  /** Correlation ids in the order their responses arrived. */
  readonly arrivalOrder: number[] = [];
  private waiters: Array<() => void> = [];
  private nextCorrelationId = 1;
  closed = false;
  closeError: Error | undefined;
  private readonly closedPromise: Promise<void>;

  private constructor(readonly socket: Socket) {
    this.closedPromise = new Promise((resolve) => {
      socket.once('close', () => {
        this.closed = true;
        this.wake();
        resolve();
      });
    });
    socket.on('error', (e) => {
      this.closeError = e;
    });
    socket.on('data', (chunk: Buffer) => {
      this.pending = Buffer.concat([this.pending, chunk]);
      while (this.pending.length >= 4) {
        const size = this.pending.readInt32BE(0);
        if (size < 4 || size > 512 * 1024 * 1024) {
          this.closeError = new Error(`wire: broker sent a frame of size ${size}`);
          socket.destroy();
          return;
        }
        if (this.pending.length < 4 + size) break;
        const frame = this.pending.subarray(4, 4 + size);
        this.pending = this.pending.subarray(4 + size);
        this.frames.push({ correlationId: frame.readInt32BE(0), body: Buffer.from(frame.subarray(4)) });
        this.arrivalOrder.push(frame.readInt32BE(0));
      }
      this.wake();
    });
  }

  static open(host: string, port: number, timeoutMs = 5_000): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`wire: connect to ${host}:${port} timed out`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.setNoDelay(true);
        resolve(new RawConnection(socket));
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Send arbitrary bytes (no framing added). */
  sendRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Frame a request with header v1 (or v2 when `flexibleHeader`) and send it; returns the correlation id. */
  send(apiKey: number, apiVersion: number, body: Uint8Array, { flexibleHeader = false, clientId = 'fjord-compat-raw', correlationId }: { flexibleHeader?: boolean; clientId?: string | null; correlationId?: number } = {}): number {
    const cid = correlationId ?? this.nextCorrelationId++;
    const header = new Writer().int16(apiKey).int16(apiVersion).int32(cid).nullableString(clientId);
    if (flexibleHeader) header.tags();
    const payload = Buffer.concat([header.finish(), body]);
    const frame = Buffer.alloc(4 + payload.length);
    frame.writeInt32BE(payload.length, 0);
    payload.copy(frame, 4);
    this.socket.write(frame);
    return cid;
  }

  /** Wait for the response with this correlation id; rejects if the connection closes first. */
  async receive(correlationId: number, timeoutMs = 10_000): Promise<ResponseFrame> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const i = this.frames.findIndex((f) => f.correlationId === correlationId);
      if (i >= 0) return this.frames.splice(i, 1)[0]!;
      if (this.closed) throw new ConnectionClosedError(`connection closed before response ${correlationId}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`wire: no response ${correlationId} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Send and wait; for flexible responses (header v1) the header's tagged fields are skipped. */
  async request(apiKey: number, apiVersion: number, body: Uint8Array, opts: { flexible?: boolean; timeoutMs?: number } = {}): Promise<Reader> {
    const flexible = opts.flexible ?? false;
    const cid = this.send(apiKey, apiVersion, body, { flexibleHeader: flexible });
    const frame = await this.receive(cid, opts.timeoutMs);
    const r = new Reader(frame.body);
    // ApiVersions responses always use header v0 (KIP-511), even at flexible versions.
    if (flexible && apiKey !== 18) r.tags();
    return r;
  }

  /** Resolves true when the broker closes the connection within `timeoutMs`, false otherwise. */
  async waitClosed(timeoutMs: number): Promise<boolean> {
    if (this.closed) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const r = await Promise.race([this.closedPromise.then(() => true), timedOut]);
    clearTimeout(timer);
    return r;
  }

  /** Responses received that nobody asked for (e.g. an answer to garbage). */
  unclaimedFrames(): ResponseFrame[] {
    return [...this.frames];
  }

  close(): void {
    this.socket.destroy();
  }
}

export class ConnectionClosedError extends Error {}

// ---------------------------------------------------------------- requests used by the tests

export const ApiKey = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  ApiVersions: 18,
  IncrementalAlterConfigs: 44,
} as const;

export interface ApiVersionsResult {
  errorCode: number;
  apiKeys: Array<{ apiKey: number; min: number; max: number }>;
  throttleMs?: number;
}

export function parseApiVersions(r: Reader, version: number): ApiVersionsResult {
  const errorCode = r.int16();
  if (version >= 3) {
    const apiKeys = r.compactArray((x) => {
      const v = { apiKey: x.int16(), min: x.int16(), max: x.int16() };
      x.tags();
      return v;
    });
    const throttleMs = r.int32();
    r.tags();
    return { errorCode, apiKeys, throttleMs };
  }
  const apiKeys = r.array((x) => ({ apiKey: x.int16(), min: x.int16(), max: x.int16() }));
  if (version >= 1) return { errorCode, apiKeys, throttleMs: r.int32() };
  return { errorCode, apiKeys };
}

export async function apiVersions(conn: RawConnection, version = 0): Promise<ApiVersionsResult> {
  const body = version >= 3 ? new Writer().compactString('fjord-compat').compactString('1.0').tags().finish() : Buffer.alloc(0);
  const r = await conn.request(ApiKey.ApiVersions, version, body, { flexible: version >= 3 });
  return parseApiVersions(r, version);
}

export interface ProducePartitionResult {
  partition: number;
  errorCode: number;
  baseOffset: number;
  logStartOffset: number;
  errorMessage: string | null;
}

/** Produce v8 (the newest non-flexible version): one topic, partitions with raw record bytes. */
export function produceBody(topic: string, partitions: Array<{ partition: number; records: Buffer | null }>, { acks = -1, timeoutMs = 10_000 } = {}): Buffer {
  return new Writer()
    .nullableString(null)
    .int16(acks)
    .int32(timeoutMs)
    .array([topic], (w, t) => {
      w.string(t).array(partitions, (w2, p) => {
        w2.int32(p.partition).bytes(p.records);
      });
    })
    .finish();
}

export async function produce(conn: RawConnection, topic: string, partitions: Array<{ partition: number; records: Buffer | null }>, opts: { acks?: number } = {}): Promise<ProducePartitionResult[]> {
  const r = await conn.request(ApiKey.Produce, 8, produceBody(topic, partitions, opts));
  const out: ProducePartitionResult[] = [];
  r.array((t) => {
    t.string();
    t.array((p) => {
      const partition = p.int32();
      const errorCode = p.int16();
      const baseOffset = p.int64n();
      p.int64(); // log append time
      const logStartOffset = p.int64n();
      p.array((e) => [e.int32(), e.nullableString()]);
      const errorMessage = p.nullableString();
      out.push({ partition, errorCode, baseOffset, logStartOffset, errorMessage });
    });
  });
  r.int32();
  return out;
}

export interface ListOffsetsResult {
  partition: number;
  errorCode: number;
  timestamp: number;
  offset: number;
}

/** ListOffsets v1 (timestamp -1 latest, -2 earliest, or a time). */
export async function listOffsets(conn: RawConnection, topic: string, queries: Array<{ partition: number; timestamp: number }>): Promise<ListOffsetsResult[]> {
  const body = new Writer()
    .int32(-1)
    .array([topic], (w, t) => w.string(t).array(queries, (w2, q) => w2.int32(q.partition).int64(q.timestamp)))
    .finish();
  const r = await conn.request(ApiKey.ListOffsets, 1, body);
  const out: ListOffsetsResult[] = [];
  r.array((t) => {
    t.string();
    t.array((p) => out.push({ partition: p.int32(), errorCode: p.int16(), timestamp: p.int64n(), offset: p.int64n() }));
  });
  return out;
}

/** ListOffsets v7 (flexible), which allows timestamp -3 = the record with the largest timestamp (KIP-734). */
export async function listOffsetsV7(conn: RawConnection, topic: string, queries: Array<{ partition: number; timestamp: number }>): Promise<Array<ListOffsetsResult & { leaderEpoch: number }>> {
  const body = new Writer()
    .int32(-1)
    .int8(0)
    .compactArray([topic], (w, t) =>
      w
        .compactString(t)
        .compactArray(queries, (w2, q) => w2.int32(q.partition).int32(-1).int64(q.timestamp).tags())
        .tags(),
    )
    .tags()
    .finish();
  const r = await conn.request(ApiKey.ListOffsets, 7, body, { flexible: true });
  r.int32();
  const out: Array<ListOffsetsResult & { leaderEpoch: number }> = [];
  r.compactArray((t) => {
    t.compactString();
    t.compactArray((p) => {
      out.push({ partition: p.int32(), errorCode: p.int16(), timestamp: p.int64n(), offset: p.int64n(), leaderEpoch: p.int32() });
      p.tags();
    });
    t.tags();
  });
  r.tags();
  return out;
}

export interface FetchPartitionResult {
  partition: number;
  errorCode: number;
  highWatermark: number;
  records: Buffer | null;
}

/** Fetch v4 of one partition from `offset`. */
export async function fetch(conn: RawConnection, topic: string, partition: number, offset: number, { maxBytes = 64 * 1024 * 1024, maxWaitMs = 0, minBytes = 0 } = {}): Promise<FetchPartitionResult> {
  const body = new Writer()
    .int32(-1)
    .int32(maxWaitMs)
    .int32(minBytes)
    .int32(maxBytes)
    .int8(0)
    .array([topic], (w, t) => w.string(t).array([partition], (w2, p) => w2.int32(p).int64(offset).int32(maxBytes)))
    .finish();
  const r = await conn.request(ApiKey.Fetch, 4, body, { timeoutMs: maxWaitMs + 10_000 });
  r.int32();
  const results: FetchPartitionResult[] = [];
  r.array((t) => {
    t.string();
    t.array((p) => {
      const part = p.int32();
      const errorCode = p.int16();
      const highWatermark = p.int64n();
      p.int64(); // last stable offset
      p.array((a) => [a.int64(), a.int64()]);
      results.push({ partition: part, errorCode, highWatermark, records: p.bytes() });
    });
  });
  const res = results.find((x) => x.partition === partition);
  if (!res) throw new Error(`wire: fetch response has no partition ${partition}`);
  return res;
}

/** Walk the batches in fetched bytes: base offset, record count, CRC check. */
export interface BatchInfo {
  baseOffset: number;
  lastOffsetDelta: number;
  count: number;
  crcOk: boolean;
  /** attributes & 7: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd */
  codec: number;
  logAppendTime: boolean;
  baseTimestamp: number;
  maxTimestamp: number;
  bytes: Buffer;
}

export function batchesOf(records: Buffer | null): BatchInfo[] {
  const out: BatchInfo[] = [];
  if (!records) return out;
  let pos = 0;
  while (pos + 12 <= records.length) {
    const len = records.readInt32BE(pos + 8);
    if (pos + 12 + len > records.length) break; // a partial batch at the end of a fetch is allowed
    const bytes = records.subarray(pos, pos + 12 + len);
    const crc = bytes.readUInt32BE(batchCrcOffset);
    out.push({
      baseOffset: Number(bytes.readBigInt64BE(0)),
      lastOffsetDelta: bytes.readInt32BE(23),
      count: bytes.readInt32BE(57),
      crcOk: crc32c(bytes.subarray(21)) === crc,
      codec: bytes.readInt16BE(21) & 7,
      logAppendTime: (bytes.readInt16BE(21) & 8) !== 0,
      baseTimestamp: Number(bytes.readBigInt64BE(27)),
      maxTimestamp: Number(bytes.readBigInt64BE(35)),
      bytes,
    });
    pos += 12 + len;
  }
  return out;
}

export interface MetadataResult {
  brokers: Array<{ nodeId: number; host: string; port: number }>;
  controllerId: number;
  topics: Array<{ errorCode: number; name: string; partitions: Array<{ errorCode: number; partition: number; leader: number; replicas: number[]; isr: number[] }> }>;
}

/** Metadata v1 (null topics = all). */
export async function metadata(conn: RawConnection, topics: string[] | null): Promise<MetadataResult> {
  const w = new Writer();
  if (topics === null) w.int32(-1);
  else w.array(topics, (x, t) => x.string(t));
  const r = await conn.request(ApiKey.Metadata, 1, w.finish());
  const brokers = r.array((b) => {
    const v = { nodeId: b.int32(), host: b.string(), port: b.int32() };
    b.nullableString();
    return v;
  });
  const controllerId = r.int32();
  const ts = r.array((t) => {
    const errorCode = t.int16();
    const name = t.string();
    t.bool();
    const partitions = t.array((p) => ({
      errorCode: p.int16(),
      partition: p.int32(),
      leader: p.int32(),
      replicas: p.array((x) => x.int32()),
      isr: p.array((x) => x.int32()),
    }));
    return { errorCode, name, partitions };
  });
  return { brokers, controllerId, topics: ts };
}

export const ConfigOp = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

/** IncrementalAlterConfigs v0 on one resource (type 2 = topic, 4 = broker). */
export async function incrementalAlterConfigs(
  conn: RawConnection,
  resource: { type: number; name: string },
  ops: Array<{ name: string; op: number; value: string | null }>,
  validateOnly = false,
): Promise<{ errorCode: number; errorMessage: string | null }> {
  const body = new Writer()
    .array([resource], (w, res) =>
      w.int8(res.type).string(res.name).array(ops, (w2, o) => w2.string(o.name).int8(o.op).nullableString(o.value)),
    )
    .bool(validateOnly)
    .finish();
  const r = await conn.request(ApiKey.IncrementalAlterConfigs, 0, body);
  r.int32();
  const res = r.array((x) => ({ errorCode: x.int16(), errorMessage: x.nullableString(), type: x.int8(), name: x.string() }));
  if (res.length !== 1) throw new Error(`wire: IncrementalAlterConfigs returned ${res.length} resources`);
  return { errorCode: res[0]!.errorCode, errorMessage: res[0]!.errorMessage };
}

/** Open, run, close. */
export async function withConnection<T>(host: string, port: number, f: (c: RawConnection) => Promise<T>): Promise<T> {
  const c = await RawConnection.open(host, port);
  try {
    return await f(c);
  } finally {
    c.close();
  }
}

/** DescribeCluster v0 (flexible). */
export async function describeCluster(conn: RawConnection): Promise<{ errorCode: number; clusterId: string | null; controllerId: number; brokers: Array<{ nodeId: number; host: string | null; port: number }> }> {
  const r = await conn.request(60, 0, new Writer().bool(false).tags().finish(), { flexible: true });
  r.int32();
  const errorCode = r.int16();
  r.compactString();
  const clusterId = r.compactString();
  const controllerId = r.int32();
  const brokers = r.compactArray((b) => {
    const v = { nodeId: b.int32(), host: b.compactString(), port: b.int32() };
    b.compactString();
    b.tags();
    return v;
  });
  r.int32();
  r.tags();
  return { errorCode, clusterId, controllerId, brokers };
}

/** OffsetForLeaderEpoch v2 for one partition. */
export async function offsetForLeaderEpoch(conn: RawConnection, topic: string, partition: number, currentLeaderEpoch: number, leaderEpoch: number): Promise<{ errorCode: number; leaderEpoch: number; endOffset: number }> {
  const body = new Writer()
    .array([topic], (w, t) => w.string(t).array([partition], (w2, p) => w2.int32(p).int32(currentLeaderEpoch).int32(leaderEpoch)))
    .finish();
  const r = await conn.request(23, 2, body);
  r.int32();
  const out: Array<{ errorCode: number; partition: number; leaderEpoch: number; endOffset: number }> = [];
  r.array((t) => {
    t.string();
    t.array((p) => out.push({ errorCode: p.int16(), partition: p.int32(), leaderEpoch: p.int32(), endOffset: p.int64n() }));
  });
  const res = out.find((x) => x.partition === partition);
  if (!res) throw new Error('wire: OffsetForLeaderEpoch response lacks the partition');
  return res;
}

/** DescribeLogDirs v1 (null topics = all). */
export async function describeLogDirs(conn: RawConnection): Promise<Array<{ errorCode: number; logDir: string; topics: Array<{ name: string; partitions: Array<{ partition: number; size: number; offsetLag: number; isFuture: boolean }> }> }>> {
  const r = await conn.request(35, 1, new Writer().int32(-1).finish());
  r.int32();
  return r.array((d) => ({
    errorCode: d.int16(),
    logDir: d.string(),
    topics: d.array((t) => ({
      name: t.string(),
      partitions: t.array((p) => ({ partition: p.int32(), size: p.int64n(), offsetLag: p.int64n(), isFuture: p.bool() })),
    })),
  }));
}

export interface MetadataV12Topic {
  errorCode: number;
  name: string | null;
  topicId: string;
  partitions: Array<{ errorCode: number; partition: number; leader: number; leaderEpoch: number; replicas: number[]; isr: number[] }>;
}

/** Metadata v12 (flexible, with topic ids and leader epochs); null topics = all. */
export async function metadataV12(conn: RawConnection, topics: string[] | null): Promise<{ clusterId: string | null; controllerId: number; topics: MetadataV12Topic[] }> {
  const w = new Writer();
  if (topics === null) w.uvarint(0);
  else w.compactArray(topics, (x, t) => x.raw(Buffer.alloc(16)).compactString(t).tags());
  w.bool(false).bool(false).tags();
  const r = await conn.request(ApiKey.Metadata, 12, w.finish(), { flexible: true });
  r.int32();
  r.compactArray((b) => {
    b.int32();
    b.compactString();
    b.int32();
    b.compactString();
    b.tags();
  });
  const clusterId = r.compactString();
  const controllerId = r.int32();
  const ts = r.compactArray((t) => {
    const errorCode = t.int16();
    const name = t.compactString();
    const topicId = t.raw(16).toString('hex');
    t.bool();
    const partitions = t.compactArray((p) => {
      const v = {
        errorCode: p.int16(),
        partition: p.int32(),
        leader: p.int32(),
        leaderEpoch: p.int32(),
        replicas: p.compactArray((x) => x.int32()),
        isr: p.compactArray((x) => x.int32()),
      };
      p.compactArray((x) => x.int32());
      p.tags();
      return v;
    });
    t.int32();
    t.tags();
    return { errorCode, name, topicId, partitions };
  });
  r.tags();
  return { clusterId, controllerId, topics: ts };
}
