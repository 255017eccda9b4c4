/**
 * Consume throughput: reads topics from offset 0 up to the high watermarks seen at the start
 * (ListOffsets latest), with plain Fetch requests (no fetch session): max bytes 50 MB per response,
 * 8 MiB per partition, min bytes 1. Records and bytes are counted from batch headers only (61 bytes
 * per batch; no record decoding), and the next fetch offset comes from the last whole batch of
 * each partition (a partial batch at the end of a partition's data is dropped, as clients do).
 *
 * `fetchers` (default 2) split the partitions between them and each keeps one Fetch in flight on
 * the same connection, so the broker can read one while the client parses the other, like a
 * consumer that prefetches. Bounded by `seconds` and, optionally, by `bytes`.
 */
import { ErrorCode, FetchRequest, FetchResponse, Reader, Writer, errorName } from '@fjord/protocol';
import { latestOffsets, openClient } from './client.mjs';
import { nowNs, round } from './stats.mjs';

export const consumeDefaults = {
  maxBytes: 52_428_800,
  partitionMaxBytes: 8 * 1024 * 1024,
  minBytes: 1,
  maxWaitMs: 500,
  fetchers: 2,
  seconds: 120,
  /** Stop once this many batch bytes were read (0: read everything up to the start's watermarks). */
  bytes: 0,
  /** Stop reading a partition once this many batch bytes of it were read (0: no limit). */
  partitionBytes: 0,
  /** Size of one record's value, to report value MB/s as rdkafka_bench does (0: unknown). */
  recordBytes: 1024,
};

export async function runConsume(options) {
  const o = { ...consumeDefaults, ...options };
  const client = await openClient(o.bootstrap, { clientId: 'fjord-bench-consumer' });
  try {
    const version = client.versions.Fetch;
    const ends = await latestOffsets(client, o.topics);
    /** @type {{ topic: string, partition: number, next: number, end: number }[]} */
    const parts = [];
    for (const t of o.topics) {
      for (let p = 0; p < t.partitions; p++) parts.push({ topic: t.name, partition: p, next: 0, end: ends.get(`${t.name}-${p}`), bytes: 0 });
    }
    const expectedRecords = parts.reduce((s, p) => s + p.end, 0);
    if (expectedRecords === 0) {
      return { workload: 'consume', partitions: parts.length, expectedRecords: 0, records: 0, firstError: 'nothing to read: ListOffsets (latest) is 0 for every partition', complete: false };
    }
    const fetchers = Array.from({ length: Math.min(o.fetchers, parts.length) }, () => []);
    parts.forEach((p, i) => fetchers[i % fetchers.length].push(p));

    const state = { records: 0, batchBytes: 0, wireBytes: 0, fetches: 0, emptyFetches: 0, gaps: 0, errors: new Map(), firstError: null };
    const t0 = nowNs();
    const deadline = t0 + BigInt(Math.round(o.seconds * 1e9));
    const done = () =>
      state.firstError !== null || nowNs() >= deadline || (o.bytes > 0 && state.batchBytes >= o.bytes);

    const runFetcher = async (mine) => {
      while (!done()) {
        const want = mine.filter((p) => p.next < p.end && (o.partitionBytes <= 0 || p.bytes < o.partitionBytes));
        if (want.length === 0) return;
        const byTopic = new Map();
        for (const p of want) {
          if (!byTopic.has(p.topic)) byTopic.set(p.topic, []);
          byTopic.get(p.topic).push({ partition: p.partition, currentLeaderEpoch: -1, fetchOffset: BigInt(p.next), lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: o.partitionMaxBytes });
        }
        const w = new Writer(1024);
        FetchRequest.encode(
          w,
          {
            replicaId: -1,
            maxWaitMs: o.maxWaitMs,
            minBytes: o.minBytes,
            maxBytes: o.maxBytes,
            isolationLevel: 0,
            sessionId: 0,
            sessionEpoch: -1,
            topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
            forgottenTopicsData: [],
            rackId: '',
          },
          version,
        );
        const { frame, bodyOffset } = await client.conn.sendRaw(1, version, w.toChunks());
        state.fetches++;
        state.wireBytes += frame.length + 4;
        const res = FetchResponse.decode(new Reader(frame, bodyOffset), version);
        if (res.errorCode !== ErrorCode.NONE) {
          state.firstError ??= `Fetch: ${errorName(res.errorCode)}`;
          return;
        }
        let got = 0;
        for (const t of res.responses) {
          for (const pd of t.partitions) {
            const p = want.find((x) => x.topic === t.topic && x.partition === pd.partitionIndex);
            if (pd.errorCode !== ErrorCode.NONE) {
              const name = errorName(pd.errorCode);
              state.errors.set(name, (state.errors.get(name) ?? 0) + 1);
              state.firstError ??= `${t.topic}-${pd.partitionIndex} at ${p?.next}: ${name}`;
              continue;
            }
            if (p === undefined || pd.records === null) continue;
            got += walkBatches(pd.records, p, state);
          }
        }
        if (got === 0) state.emptyFetches++;
      }
    };
    await Promise.all(fetchers.map(runFetcher));
    const secs = Number(nowNs() - t0) / 1e9;
    const complete = state.firstError === null && parts.every((p) => p.next >= p.end || (o.partitionBytes > 0 && p.bytes >= o.partitionBytes));
    return {
      workload: 'consume',
      topics: o.topics.length,
      partitions: parts.length,
      fetchVersion: version,
      fetchers: fetchers.length,
      maxBytes: o.maxBytes,
      partitionMaxBytes: o.partitionMaxBytes,
      expectedRecords,
      records: state.records,
      batchBytes: state.batchBytes,
      fetches: state.fetches,
      emptyFetches: state.emptyFetches,
      offsetGaps: state.gaps,
      secs: round(secs, 3),
      recordsPerSec: round(state.records / secs, 0),
      mbPerSec: o.recordBytes > 0 ? round((state.records * o.recordBytes) / 1e6 / secs, 1) : null,
      batchMbPerSec: round(state.batchBytes / 1e6 / secs, 1),
      wireMbPerSec: round(state.wireBytes / 1e6 / secs, 1),
      partitionsRead: parts.filter((p) => p.bytes > 0).length,
      errors: Object.fromEntries(state.errors),
      firstError: state.firstError,
      complete: complete || (o.bytes > 0 && state.batchBytes >= o.bytes),
    };
  } finally {
    client.conn.close();
  }
}

/**
 * Walks whole batches in a partition's records, reading headers only; advances `p.next`. Returns
 * the records counted. A batch starting below `p.next` (the broker may return a batch that begins
 * before the fetch offset) counts only its records at or after it.
 */
function walkBatches(buf, p, state) {
  let pos = 0;
  let counted = 0;
  while (buf.length - pos >= 61) {
    const size = 12 + buf.readInt32BE(pos + 8);
    if (size < 61 || pos + size > buf.length) break;
    const base = Number(buf.readBigInt64BE(pos));
    const last = base + buf.readInt32BE(pos + 23);
    const count = buf.readInt32BE(pos + 57);
    if (last >= p.next) {
      if (base > p.next) state.gaps++;
      const skipped = base < p.next ? p.next - base : 0;
      counted += Math.max(0, count - skipped);
      state.batchBytes += size;
      p.bytes += size;
      p.next = last + 1;
    }
    pos += size;
  }
  state.records += counted;
  return counted;
}
