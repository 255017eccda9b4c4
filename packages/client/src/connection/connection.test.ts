import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { ApiVersionsResponse, MetadataRequest, MetadataResponse, apis, decodeRequestHeader, encodeResponseFrame, type MessageCodec } from '@fjord/protocol';
import { Connection } from './connection.js';
import { onFrames } from '../test-support/fake-broker.js';
import { ClosedError, ConnectionError, ProtocolError, TimeoutError } from '../errors.js';
import { clientDefaults } from '../limits.js';
import { noopLogger } from '../logger.js';
import { metadataApi } from '../apis.js';

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

/** A Metadata response frame, size prefix included, carrying `clusterId` (its length sets the frame's). */
function metadataFrame(req: Req, clusterId: string): Buffer {
  return Buffer.concat(encodeResponseFrame(req.apiKey, req.apiVersion, req.correlationId, MetadataResponse, { clusterId, controllerId: 1 }));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Writes `bytes` cut at the given positions, pausing between pieces so each arrives as a read of its own. */
async function writeInPieces(socket: Socket, bytes: Buffer, cuts: number[]): Promise<void> {
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    socket.write(bytes.subarray(at, cut));
    at = cut;
    await sleep(15);
  }
}

function everyPiece(bytes: Buffer, pieceBytes: number): number[] {
  const cuts: number[] = [];
  for (let at = pieceBytes; at < bytes.length; at += pieceBytes) cuts.push(at);
  return cuts;
}

/**
 * A broker that waits for `count` Metadata requests, then runs `script` with the socket and them.
 * The client's socket is either its own (net.connect with onread) or a socketFactory's ('data' events).
 */
async function scripted(count: number, script: (socket: Socket, reqs: Req[]) => Promise<void>, path: 'onread' | 'data', o: Partial<ConstructorParameters<typeof Connection>[0]> = {}): Promise<Connection> {
  let reqs: Req[] = [];
  const { server, port } = await fakeBroker((socket, req) => {
    socket.setNoDelay(true);
    reqs.push(req);
    if (reqs.length < count) return;
    const batch = reqs;
    reqs = [];
    void script(socket, batch);
  });
  servers.push(server);
  const c = connection(port, { ...(path === 'data' ? { socketFactory: (host, p) => netConnect(p, host) } : {}), ...o });
  await c.connect();
  return c;
}

function sendMany(c: Connection, n: number): Promise<string[]> {
  return Promise.all(Array.from({ length: n }, () => c.send(metadataApi, { topics: [] }).then((r) => r.clusterId ?? '')));
}

const idOf = (req: Req, bytes: number): string => `c${req.correlationId}-`.padEnd(bytes, 'x');

for (const path of ['onread', 'data'] as const) {
  describe(`connection reading responses (${path === 'onread' ? 'own socket, onread' : "socketFactory, 'data'"})`, () => {
    it('many small frames in one read', async () => {
      let expected: string[] = [];
      const c = await scripted(
        30,
        async (socket, reqs) => {
          expected = reqs.map((r, i) => idOf(r, 10 + i));
          socket.write(Buffer.concat(reqs.map((r, i) => metadataFrame(r, expected[i]!))));
        },
        path,
      );
      assert.deepEqual(await sendMany(c, 30), expected);
      assert.equal(expected.length, 30);
      c.close();
    });

    it('frames split inside the 4-byte size, right after it, and between frames', async () => {
      let cuts: number[] = [];
      let expected: string[] = [];
      const c = await scripted(
        2,
        async (socket, reqs) => {
          expected = reqs.map((r) => idOf(r, 40));
          const frames = reqs.map((r, i) => metadataFrame(r, expected[i]!));
          await writeInPieces(socket, Buffer.concat(frames), cuts.map((x) => (x < 0 ? frames[0]!.length - x - 1 : x)));
        },
        path,
      );
      // Negative: -1 is the first byte of the second frame, -3 its third, and so on.
      for (const round of [[1], [2], [3], [4], [5], [1, 2, 3, 4, 5], [-1], [-3], [-5], [-6], [2, -2, -4]]) {
        cuts = round;
        assert.deepEqual(await sendMany(c, 2), expected, `cut at ${round.join(',')}`);
      }
      c.close();
    });

    for (const [name, count, idBytes, piece] of [
      ['a frame larger than the read arena, between small ones', 3, (i: number) => (i === 1 ? 6000 : 20), 1500],
      ['many frames through small arenas: rollover with a partial frame', 25, (i: number) => 60 + (i % 7) * 13, 333],
    ] as const) {
      it(name, async () => {
        let expected: string[] = [];
        const c = await scripted(
          count,
          async (socket, reqs) => {
            expected = reqs.map((r, i) => idOf(r, idBytes(i)));
            const bytes = Buffer.concat(reqs.map((r, i) => metadataFrame(r, expected[i]!)));
            await writeInPieces(socket, bytes, everyPiece(bytes, piece));
          },
          path,
          { readArenaBytes: 1024 },
        );
        assert.deepEqual(await sendMany(c, count), expected);
        c.close();
      });
    }

    it('a frame over responseFrameBytesMax gives a ProtocolError and closes, even with its size split', async () => {
      const c = await scripted(
        1,
        async (socket, [req]) => {
          await writeInPieces(socket, metadataFrame(req!, 'y'.repeat(3000)), [2]);
        },
        path,
        { responseFrameBytesMax: 2048 },
      );
      await assert.rejects(c.send(metadataApi, { topics: [] }), (e: unknown) => e instanceof ProtocolError && /frame size \d+ outside 4\.\.responseFrameBytesMax \(2048\)/.test(e.message));
      assert.equal(c.isOpen, false);
    });

    it('closed while a frame is half read: the rest is ignored', async () => {
      let halfSent!: () => void;
      const half = new Promise<void>((r) => (halfSent = r));
      const c = await scripted(
        1,
        async (socket, [req]) => {
          const bytes = metadataFrame(req!, 'z'.repeat(5000));
          socket.write(bytes.subarray(0, 100));
          await sleep(15);
          halfSent();
          await sleep(15);
          socket.write(bytes.subarray(100));
        },
        path,
        { readArenaBytes: 1024 },
      );
      const pending = c.send(metadataApi, { topics: [] });
      await half;
      c.close();
      await assert.rejects(pending, ClosedError);
      await sleep(40);
      assert.equal(c.isOpen, false);
    });
  });
}
