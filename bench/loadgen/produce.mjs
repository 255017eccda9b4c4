/**
 * Produce throughput: pre-encoded Produce requests sent back to back over `connections`
 * connections, each with up to `inflight` requests pipelined. Bounded by `records` and `seconds`
 * (no new request after `seconds`; in-flight ones are awaited, each bounded by the request timeout).
 *
 * Defaults (one producer, 8 partitions): 1 connection, 8 requests in flight, 32 records of 1 KiB per
 * batch, every partition in every request (256 KiB per request, up to 2 MiB outstanding). That is
 * about what librdkafka keeps outstanding at full speed (one connection to the leader, batches of up
 * to 1 MB, several requests in flight), while keeping acks=all group commits fed.
 */
import { ErrorCode, ProduceResponse, Reader, errorName } from '@fjord/protocol';
import { batchPool, produceBodies } from './batches.mjs';
import { BenchError, createTopics, openClient } from './client.mjs';
import { nowNs, round, summarize } from './stats.mjs';

export const produceDefaults = {
  recordBytes: 1024,
  recordsPerBatch: 32,
  partitionsPerRequest: 8,
  inflight: 8,
  connections: 1,
  acks: 1,
  records: 2_000_000,
  seconds: 60,
  progress: false,
};

/**
 * options: { bootstrap, topics: [{ name, partitions, configs? }], create, ...produceDefaults }.
 * Returns a result object (figures in MB = 1e6 bytes of record values, as rdkafka_bench reports).
 */
export async function runProduce(options) {
  const o = { ...produceDefaults, ...options };
  const clients = [];
  for (let i = 0; i < o.connections; i++) clients.push(await openClient(o.bootstrap, { clientId: `fjord-bench-producer-${i}` }));
  try {
    if (o.create) await createTopics(clients[0], o.topics);
    const version = clients[0].versions.Produce;
    const pool = batchPool({ recordBytes: o.recordBytes, recordsPerBatch: o.recordsPerBatch });
    const totalPartitions = o.topics.reduce((s, t) => s + t.partitions, 0);
    const groups = Math.ceil(totalPartitions / o.partitionsPerRequest);
    const bodies = produceBodies({
      topics: o.topics,
      partitionsPerRequest: o.partitionsPerRequest,
      acks: o.acks,
      timeoutMs: 30_000,
      version,
      pool,
      variants: Math.max(1, Math.ceil(16 / groups)),
    });
    const state = {
      nextBody: 0,
      sentRecords: 0,
      ackedRecords: 0,
      ackedBytesWire: 0,
      requests: 0,
      errors: new Map(),
      latenciesMs: [],
      firstError: null,
    };
    const t0 = nowNs();
    const deadline = t0 + BigInt(Math.round(o.seconds * 1e9));
    let lastAck = t0;
    let lastProgress = Date.now();

    const canSend = () => state.firstError === null && state.sentRecords < o.records && nowNs() < deadline;
    const onResponse = ({ frame, bodyOffset }, body, at) => {
      const res = ProduceResponse.decode(new Reader(frame, bodyOffset), version);
      let ok = 0;
      for (const t of res.responses) {
        for (const p of t.partitionResponses) {
          if (p.errorCode === ErrorCode.NONE) ok++;
          else {
            const name = errorName(p.errorCode);
            state.errors.set(name, (state.errors.get(name) ?? 0) + 1);
            state.firstError ??= `${t.name}-${p.index}: ${name} ${p.errorMessage ?? ''}`.trim();
          }
        }
      }
      state.ackedRecords += ok * o.recordsPerBatch;
      state.ackedBytesWire += body.bytes;
      if (o.progress && Date.now() - lastProgress > 5000) {
        lastProgress = Date.now();
        const secs = Number(at - t0) / 1e9;
        process.stderr.write(`produce: ${state.ackedRecords} records acked in ${secs.toFixed(1)} s, ${((state.ackedRecords * o.recordBytes) / 1e6 / secs).toFixed(1)} MB/s\n`);
      }
    };

    // One pump per connection: keep `inflight` requests outstanding until a bound is reached, then
    // wait for the in-flight ones. Resolves when every connection is drained.
    await new Promise((resolve) => {
      let active = clients.length;
      for (const client of clients) {
        let done = false;
        const finish = () => {
          if (done) return;
          done = true;
          if (--active === 0) resolve();
        };
        const pump = () => {
          while (canSend() && client.conn.inflight < o.inflight) {
            const body = bodies[state.nextBody++ % bodies.length];
            state.sentRecords += body.batches * o.recordsPerBatch;
            state.requests++;
            const sentAt = nowNs();
            client.conn.sendRaw(0, version, body.chunks).then(
              (response) => {
                const at = nowNs();
                lastAck = at;
                state.latenciesMs.push(Number(at - sentAt) / 1e6);
                onResponse(response, body, at);
                pump();
              },
              (err) => {
                state.firstError ??= `${err.name}: ${err.message}`;
                if (client.conn.inflight === 0 || client.conn.closed) finish();
              },
            );
          }
          if (client.conn.inflight === 0) finish();
        };
        pump();
      }
    });

    const secs = Number(lastAck - t0) / 1e9;
    const lat = summarize(state.latenciesMs);
    return {
      workload: 'produce',
      acks: o.acks,
      topics: o.topics.length,
      partitions: totalPartitions,
      recordBytes: o.recordBytes,
      recordsPerBatch: o.recordsPerBatch,
      partitionsPerRequest: o.partitionsPerRequest,
      inflight: o.inflight,
      connections: o.connections,
      produceVersion: version,
      records: state.ackedRecords,
      requests: state.requests,
      secs: round(secs, 3),
      recordsPerSec: round(state.ackedRecords / secs, 0),
      mbPerSec: round((state.ackedRecords * o.recordBytes) / 1e6 / secs, 1),
      wireMbPerSec: round(state.ackedBytesWire / 1e6 / secs, 1),
      requestLatencyMs: lat,
      errors: Object.fromEntries(state.errors),
      firstError: state.firstError,
      complete: state.firstError === null && state.ackedRecords >= o.records,
    };
  } finally {
    for (const c of clients) c.conn.close();
  }
}

export { BenchError };
