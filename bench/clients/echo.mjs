/**
 * The machine's own floor for the e2e workload: the same schedule, record size and latency measure
 * as the client drivers, but the records go through a second Node process that only echoes the
 * bytes back (no broker, no client library, no disk). What this measures is what two processes
 * exchanging 5,000 messages a second over loopback cost on this machine at this moment; on a
 * shared, noisy machine its p99 alone can exceed the e2e target, and then no client can meet it.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { percentiles, sendPacedAndWait, stampOf, stampedValue } from './common.mjs';

const serverSource = `
const net = require('node:net');
const s = net.createServer((c) => { c.setNoDelay(true); c.pipe(c); c.on('error', () => {}); });
s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));
`;

export async function e2e({ records, size, rate, deadlineMs }) {
  const server = spawn(process.execPath, ['-e', serverSource], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.once('exit', (code) => reject(new Error(`echo server exited (${code})`)));
      server.stdout.once('data', (d) => resolve(Number(String(d).trim())));
    });
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.setNoDelay(true);
    await new Promise((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    const latencies = [];
    let pending = Buffer.alloc(0);
    sock.on('data', (d) => {
      const now = performance.now();
      pending = pending.length === 0 ? d : Buffer.concat([pending, d]);
      let pos = 0;
      for (; pending.length - pos >= size; pos += size) latencies.push(now - stampOf(pending.subarray(pos, pos + size)));
      pending = pending.subarray(pos);
    });
    await sendPacedAndWait({
      rate,
      records,
      deadlineMs,
      latencies,
      sendDue: async (times) => {
        for (const t of times) sock.write(stampedValue(size, t));
      },
    });
    sock.destroy();
    return { received: latencies.length, ...percentiles(latencies) };
  } finally {
    if (server.exitCode === null) server.kill('SIGKILL');
  }
}
