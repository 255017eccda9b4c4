import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createServer } from 'node:net';
import { Cluster } from './cluster.js';
import { resolveClientConfig } from './config.js';
import { ConnectionError } from './errors.js';
import { startFakeBroker, type FakeBroker } from './test-support/fake-broker.js';

const brokers: FakeBroker[] = [];
after(async () => {
  for (const b of brokers) await b.close();
});

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('cluster', () => {
  it('bootstraps from the first address that answers, then talks to brokers by node id', async () => {
    const broker = await startFakeBroker({ topics: { a: 3 } });
    brokers.push(broker);
    const dead = await closedPort();
    const cluster = new Cluster(resolveClientConfig({ bootstrapServers: [`127.0.0.1:${dead}`, broker.bootstrap] }));
    try {
      const t = await cluster.topic('a', 2_000);
      assert.equal(t.partitions.length, 3);
      assert.deepEqual(t.available, [0, 1, 2]);
      const conn = await cluster.connectionTo(1);
      assert.equal(conn.nodeId, 1);
    } finally {
      cluster.close();
    }
  });

  it('no reachable bootstrap address: a ConnectionError naming every address', async () => {
    const [p1, p2] = [await closedPort(), await closedPort()];
    const cluster = new Cluster(resolveClientConfig({ bootstrapServers: `127.0.0.1:${p1},127.0.0.1:${p2}` }));
    try {
      await assert.rejects(cluster.refresh(), (e: unknown) => e instanceof ConnectionError && e.message.includes(String(p1)) && e.message.includes(String(p2)));
    } finally {
      cluster.close();
    }
  });

  it('reconnects with exponential backoff after failures', async () => {
    const port = await closedPort();
    const cluster = new Cluster(resolveClientConfig({ bootstrapServers: `127.0.0.1:${port}`, reconnectBackoffMs: 40, reconnectBackoffMaxMs: 1000, backoffJitterRatio: 0 }));
    try {
      const t0 = Date.now();
      for (let i = 0; i < 4; i++) await assert.rejects(cluster.anyConnection(), ConnectionError);
      // Waits before attempts 2, 3 and 4: 40 + 80 + 160 ms.
      const took = Date.now() - t0;
      assert.ok(took >= 270 && took < 1500, `took ${took} ms`);
    } finally {
      cluster.close();
    }
  });
});
