import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createServer, type Server, type Socket } from 'node:net';
import { ApiVersionsResponse, MetadataRequest, MetadataResponse, apis, decodeRequestHeader, encodeResponseFrame, type MessageCodec } from '@fjord/protocol';
import { Connection } from './connection.js';
import { onFrames } from '../test-support/fake-broker.js';
import { ConnectionError, ProtocolError, TimeoutError } from '../errors.js';
import { clientDefaults } from '../limits.js';
import { noopLogger } from '../logger.js';

const metadataApi = { request: MetadataRequest, response: MetadataResponse };

interface Req {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
}

/** A fake broker: answers ApiVersions with every codec's range, and hands other requests to `onRequest`. */
async function fakeBroker(onRequest: (socket: Socket, req: Req) => void, opts: { silent?: boolean } = {}): Promise<{ server: Server; port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    if (opts.silent) return;
    onFrames(socket, (frame) => {
      const { header } = decodeRequestHeader(frame);
      if (header.apiKey === 18) {
        const apiKeys = [...apis.values()].map((a) => ({ apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: a.maxVersion }));
        reply(socket, header, ApiVersionsResponse, { errorCode: 0, apiKeys });
      } else onRequest(socket, header);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port, sockets };
}

function reply<T>(socket: Socket, req: Req, codec: MessageCodec<T>, body: Parameters<MessageCodec<T>['encode']>[1], correlationId = req.correlationId): void {
  for (const c of encodeResponseFrame(req.apiKey, req.apiVersion, correlationId, codec, body)) socket.write(c);
}

function connection(port: number, o: Partial<ConstructorParameters<typeof Connection>[0]> = {}): Connection {
  return new Connection({
    host: '127.0.0.1',
    port,
    nodeId: 1,
    clientId: 'test',
    requestTimeoutMs: 2_000,
    connectTimeoutMs: 2_000,
    connectionInFlightRequestsMax: clientDefaults.connectionInFlightRequestsMax,
    connectionQueuedRequestsMax: clientDefaults.connectionQueuedRequestsMax,
    responseFrameBytesMax: 1024 * 1024,
    logger: noopLogger,
    ...o,
  });
}

const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

describe('connection', () => {
  it('negotiates versions and pipelines requests, matching responses in order', async () => {
    const held: Req[] = [];
    let sock: Socket | undefined;
    const { server, port } = await fakeBroker((socket, req) => {
      sock = socket;
      held.push(req);
      // Answer only once all 20 are here: proves they were written without waiting for answers.
      if (held.length === 20) for (const r of held) reply(socket, r, MetadataResponse, { clusterId: `c${r.correlationId}`, controllerId: 1 });
    });
    servers.push(server);
    const c = connection(port);
    await c.connect();
    assert.equal(c.versionOf(MetadataRequest.apiKey), apis.get(3)!.maxVersion);
    const results = await Promise.all(Array.from({ length: 20 }, () => c.send(metadataApi, { topics: [] })));
    assert.deepEqual(results.map((r) => r.clusterId), held.map((r) => `c${r.correlationId}`));
    assert.ok(sock);
    c.close();
  });

  it('a broker that accepts and never answers gives a TimeoutError within connectTimeoutMs', async () => {
    const { server, port } = await fakeBroker(() => {}, { silent: true });
    servers.push(server);
    const c = connection(port, { connectTimeoutMs: 300 });
    const t0 = Date.now();
    await assert.rejects(c.connect(), (e: unknown) => e instanceof TimeoutError && e.timeoutMs === 300 && /connecting to 127\.0\.0\.1/.test(e.message));
    assert.ok(Date.now() - t0 < 1500);
    assert.equal(c.isOpen, false);
  });

  it('a request without an answer times out and closes the connection, failing the rest', async () => {
    const { server, port } = await fakeBroker(() => {});
    servers.push(server);
    const closes: Array<Error | undefined> = [];
    const c = connection(port, { requestTimeoutMs: 200, onClose: (e) => closes.push(e) });
    await c.connect();
    const a = c.send(metadataApi, { topics: [] });
    const b = c.send(metadataApi, { topics: [] });
    await assert.rejects(a, (e: unknown) => e instanceof TimeoutError && /Metadata v\d+ request to broker 1/.test(e.message));
    await assert.rejects(b, TimeoutError);
    assert.equal(c.isOpen, false);
    assert.equal(closes.length, 1);
    await assert.rejects(c.send(metadataApi, { topics: [] }), TimeoutError);
  });

  it('garbage from the broker gives a ProtocolError, not a crash or a huge allocation', async () => {
    const { server, port } = await fakeBroker((socket) => socket.write(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')));
    servers.push(server);
    const c = connection(port);
    await c.connect();
    await assert.rejects(c.send(metadataApi, { topics: [] }), (e: unknown) => e instanceof ProtocolError && /not speaking Kafka/.test(e.message) && e.retriable);
  });

  it('a wrong correlation id closes the connection with a ProtocolError', async () => {
    const { server, port } = await fakeBroker((socket, req) => reply(socket, req, MetadataResponse, {}, req.correlationId + 7));
    servers.push(server);
    const c = connection(port);
    await c.connect();
    await assert.rejects(c.send(metadataApi, { topics: [] }), (e: unknown) => e instanceof ProtocolError && /correlation id/.test(e.message));
  });

  it('a refused connection is a retriable ConnectionError naming the address', async () => {
    const { server, port } = await fakeBroker(() => {});
    await new Promise((r) => server.close(r));
    const c = connection(port);
    await assert.rejects(c.connect(), (e: unknown) => e instanceof ConnectionError && e.retriable && e.address === `127.0.0.1:${port}`);
  });

  it('respects connectionInFlightRequestsMax', async () => {
    let seen = 0;
    const pending: Array<[Socket, Req]> = [];
    const { server, port } = await fakeBroker((socket, req) => {
      seen++;
      pending.push([socket, req]);
    });
    servers.push(server);
    const c = connection(port, { connectionInFlightRequestsMax: 2 });
    await c.connect();
    const all = Promise.all(Array.from({ length: 5 }, () => c.send(metadataApi, { topics: [] })));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(seen, 2);
    while (seen < 5 || pending.length > 0) {
      const p = pending.shift();
      if (p) reply(p[0], p[1], MetadataResponse, {});
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal((await all).length, 5);
    c.close();
  });
});
