/**
 * A scripted single-node Kafka broker for unit tests of the client: answers ApiVersions with every
 * codec's range (lowered per API key by `caps`), Metadata with one broker (itself) and the topics
 * given, FindCoordinator with itself, InitProducerId with a fixed id, and hands every other request
 * to `handle`, which returns a response body or undefined (no answer).
 * Not part of the package's public surface.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { ApiVersionsResponse, InitProducerIdResponse, MetadataResponse, Reader, apis, decodeRequestHeader, encodeResponseFrame } from '@fjord/protocol';

export interface FakeRequest {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  body: unknown;
}

export interface FakeBroker {
  port: number;
  bootstrap: string;
  requests: FakeRequest[];
  close(): Promise<void>;
}

export async function startFakeBroker(opts: {
  topics: Record<string, number>;
  producerId?: bigint;
  /** Highest version advertised, per API key (an older broker). */
  caps?: Record<number, number>;
  handle?: (req: FakeRequest) => unknown;
}): Promise<FakeBroker> {
  const requests: FakeRequest[] = [];
  const sockets = new Set<Socket>();
  let port = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onFrames(socket, (frame) => {
      const { header, bodyOffset } = decodeRequestHeader(frame);
      const api = apis.get(header.apiKey)!;
      const req: FakeRequest = { apiKey: header.apiKey, apiVersion: header.apiVersion, correlationId: header.correlationId, body: api.request.decode(new Reader(frame, bodyOffset), header.apiVersion) };
      requests.push(req);
      let res: unknown;
      if (header.apiKey === 18) res = { errorCode: 0, apiKeys: [...apis.values()].map((a) => ({ apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: Math.min(a.maxVersion, opts.caps?.[a.apiKey] ?? a.maxVersion) })) };
      else if (header.apiKey === 3) res = metadata(opts.topics, port);
      else if (header.apiKey === 10 && header.apiVersion <= 3) res = { errorCode: 0, nodeId: 1, host: '127.0.0.1', port, coordinators: [] };
      else if (header.apiKey === 22) res = { errorCode: 0, producerId: opts.producerId ?? 7n, producerEpoch: 0 } satisfies Partial<InitProducerIdResponse>;
      else res = opts.handle?.(req);
      if (res === undefined) return;
      for (const c of encodeResponseFrame(header.apiKey, header.apiVersion, header.correlationId, api.response, res as never)) socket.write(c);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
  return {
    port,
    bootstrap: `127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** Calls `onFrame` with each length-prefixed request frame (without its 4-byte size) the socket delivers. */
export function onFrames(socket: Socket, onFrame: (frame: Buffer) => void): void {
  let buf = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
      const frame = buf.subarray(4, 4 + buf.readInt32BE(0));
      buf = buf.subarray(4 + frame.length);
      onFrame(frame);
    }
  });
}

function metadata(topics: Record<string, number>, port: number): Partial<MetadataResponse> {
  return {
    brokers: [{ nodeId: 1, host: '127.0.0.1', port, rack: null }],
    clusterId: 'fake',
    controllerId: 1,
    topics: Object.entries(topics).map(([name, n], i) => ({
      errorCode: 0,
      name,
      // Distinct per topic: base64's 22nd character carries only 2 of the 128 bits, so it is not the one to vary.
      topicId: `${'ABCDEFGH'[i % 8]}AAAAAAAAAAAAAAAAAAAAA`,
      isInternal: false,
      partitions: Array.from({ length: n }, (_, p) => ({ errorCode: 0, partitionIndex: p, leaderId: 1, leaderEpoch: 0, replicaNodes: [1], isrNodes: [1], offlineReplicas: [] })),
      topicAuthorizedOperations: -2147483648,
    })),
  };
}
