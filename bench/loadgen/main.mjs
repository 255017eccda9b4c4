#!/usr/bin/env node
/**
 * Fjord's load generator, one workload per run:
 *
 *   node bench/loadgen/main.mjs produce --bootstrap 127.0.0.1:9092 --topic t --partitions 8 --create --acks 1
 *   node bench/loadgen/main.mjs consume --bootstrap 127.0.0.1:9092 --topic t --partitions 8
 *   node bench/loadgen/main.mjs e2e     --bootstrap 127.0.0.1:9092 --topic lat --rate 5000 --records 50000
 *   node bench/loadgen/main.mjs create  --bootstrap 127.0.0.1:9092 --topic-prefix mem --topic-count 125 --partitions 8
 *   node bench/loadgen/main.mjs offsets --bootstrap 127.0.0.1:9092 --topic-prefix mem --topic-count 125 --partitions 8
 *
 * Consumer groups (classic protocol; see rebalance.mjs and offset-commits.mjs):
 *
 *   node bench/loadgen/main.mjs rebalance --bootstrap 127.0.0.1:9092 --members 10 --partitions 100 --rounds 5 --extra-member
 *   node bench/loadgen/main.mjs commits   --bootstrap 127.0.0.1:9092 --clients 10 --partitions-per-request 10 --inflight 1 --seconds 5
 *   node bench/loadgen/main.mjs offsets-fill   --bootstrap 127.0.0.1:9092 --groups 1000 --partitions 100 --offset-base 1
 *   node bench/loadgen/main.mjs offsets-verify --bootstrap 127.0.0.1:9092 --groups 1000 --partitions 100 --offset-base 1
 *
 * Exactly-once producers (see transactions.mjs):
 *
 *   node bench/loadgen/main.mjs idempotent --bootstrap 127.0.0.1:9092 --topic t --partitions 8 --create [--plain]
 *   node bench/loadgen/main.mjs txn        --bootstrap 127.0.0.1:9092 --topic tx --producers 4 --rate 1000 --seconds 10
 *
 * Topics: `--topic NAME` or `--topic-prefix P --topic-count N` (P-0 .. P-(N-1)), each with
 * `--partitions` partitions. Prints human-readable lines on stderr and one `RESULT {json}` line on
 * stdout. Exit status 0 when the workload ran (see `complete` in the result), 1 on a failure.
 */
import { parseArgs } from 'node:util';
import { createTopics, latestOffsets, openClient } from './client.mjs';
import { runConsume } from './consume.mjs';
import { runE2e } from './e2e.mjs';
import { runCommits, runOffsetsFill, runOffsetsVerify } from './offset-commits.mjs';
import { runRebalance } from './rebalance.mjs';
import { runProduce } from './produce.mjs';
import { runIdempotentProduce, runTransactions } from './transactions.mjs';
import { nowNs, round } from './stats.mjs';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    bootstrap: { type: 'string', default: '127.0.0.1:9092' },
    topic: { type: 'string' },
    'topic-prefix': { type: 'string' },
    'topic-count': { type: 'string', default: '1' },
    partitions: { type: 'string' }, // 8 for the topic workloads, 100 for the group ones
    create: { type: 'boolean', default: false },
    config: { type: 'string', multiple: true, default: [] },
    acks: { type: 'string', default: '1' },
    records: { type: 'string' },
    seconds: { type: 'string' },
    bytes: { type: 'string' },
    rate: { type: 'string' },
    'record-bytes': { type: 'string', default: '1024' },
    'batch-records': { type: 'string' },
    'partitions-per-request': { type: 'string' },
    inflight: { type: 'string' },
    connections: { type: 'string' },
    fetchers: { type: 'string' },
    'max-bytes': { type: 'string' },
    'partition-max-bytes': { type: 'string' },
    'partition-bytes': { type: 'string' },
    progress: { type: 'boolean', default: false },
    'fetch-session': { type: 'boolean', default: false },
    // consumer groups
    members: { type: 'string' },
    rounds: { type: 'string' },
    'heartbeat-ms': { type: 'string' },
    'stagger-ms': { type: 'string' },
    'extra-member': { type: 'boolean', default: false },
    'hold-ms': { type: 'string' },
    clients: { type: 'string' },
    commits: { type: 'string' },
    groups: { type: 'string' },
    'group-prefix': { type: 'string' },
    'offset-base': { type: 'string' },
    'groups-per-request': { type: 'string' },
    // exactly-once producers
    plain: { type: 'boolean', default: false },
    producers: { type: 'string' },
    'records-per-txn': { type: 'string' },
    'partitions-per-txn': { type: 'string' },
    txns: { type: 'string' },
    'id-prefix': { type: 'string' },
  },
});

const num = (name) => (values[name] === undefined ? undefined : Number(values[name]));
const defined = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

function topicsFromFlags() {
  const partitions = Number(values.partitions ?? 8);
  const configs = Object.fromEntries(values.config.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  if (values.topic) return [{ name: values.topic, partitions, configs }];
  if (values['topic-prefix']) {
    return Array.from({ length: Number(values['topic-count']) }, (_, i) => ({ name: `${values['topic-prefix']}-${i}`, partitions, configs }));
  }
  throw new Error('give --topic NAME or --topic-prefix P --topic-count N');
}

async function main() {
  const workload = positionals[0];
  const bootstrap = values.bootstrap;
  let result;
  switch (workload) {
    case 'produce':
      result = await runProduce(
        defined({
          bootstrap,
          topics: topicsFromFlags(),
          create: values.create,
          acks: values.acks === 'all' ? -1 : Number(values.acks),
          records: num('records'),
          seconds: num('seconds'),
          recordBytes: num('record-bytes'),
          recordsPerBatch: num('batch-records'),
          partitionsPerRequest: num('partitions-per-request'),
          inflight: num('inflight'),
          connections: num('connections'),
          progress: values.progress,
        }),
      );
      break;
    case 'consume':
      result = await runConsume(
        defined({
          bootstrap,
          topics: topicsFromFlags(),
          seconds: num('seconds'),
          bytes: num('bytes'),
          fetchers: num('fetchers'),
          maxBytes: num('max-bytes'),
          partitionMaxBytes: num('partition-max-bytes'),
          partitionBytes: num('partition-bytes'),
          recordBytes: num('record-bytes'),
        }),
      );
      break;
    case 'e2e':
      result = await runE2e(
        defined({
          bootstrap,
          topic: values.topic ?? 'fjord-bench-e2e',
          partitions: num('partitions'),
          rate: num('rate'),
          records: num('records'),
          seconds: num('seconds'),
          recordBytes: num('record-bytes'),
          acks: values.acks === 'all' ? -1 : Number(values.acks),
          fetchSession: values['fetch-session'],
        }),
      );
      break;
    case 'create': {
      const topics = topicsFromFlags();
      const client = await openClient(bootstrap);
      const t0 = nowNs();
      try {
        await createTopics(client, topics);
      } finally {
        client.conn.close();
      }
      const secs = Number(nowNs() - t0) / 1e9;
      result = { workload: 'create', topics: topics.length, partitions: topics.reduce((s, t) => s + t.partitions, 0), secs: round(secs, 3), complete: true };
      break;
    }
    case 'offsets': {
      const topics = topicsFromFlags();
      const client = await openClient(bootstrap);
      let ends;
      try {
        ends = new Map();
        for (let i = 0; i < topics.length; i += 50) for (const [k, v] of await latestOffsets(client, topics.slice(i, i + 50))) ends.set(k, v);
      } finally {
        client.conn.close();
      }
      let total = 0;
      for (const v of ends.values()) total += v;
      result = { workload: 'offsets', partitions: ends.size, totalRecords: total, complete: true };
      break;
    }
    case 'rebalance':
      result = await runRebalance(
        defined({
          bootstrap,
          topic: values.topic,
          partitions: num('partitions'),
          members: num('members'),
          rounds: num('rounds'),
          heartbeatMs: num('heartbeat-ms'),
          staggerMs: num('stagger-ms'),
          extraMember: values['extra-member'],
          holdMs: num('hold-ms'),
          seconds: num('seconds'),
          groupPrefix: values['group-prefix'],
        }),
      );
      break;
    case 'commits':
      result = await runCommits(
        defined({
          bootstrap,
          topic: values.topic,
          partitions: num('partitions'),
          clients: num('clients'),
          partitionsPerRequest: num('partitions-per-request'),
          inflight: num('inflight'),
          commits: num('commits'),
          seconds: num('seconds'),
          groupPrefix: values['group-prefix'],
        }),
      );
      break;
    case 'offsets-fill':
    case 'offsets-verify': {
      const o = defined({
        bootstrap,
        topic: values.topic,
        partitions: num('partitions'),
        groups: num('groups'),
        groupPrefix: values['group-prefix'],
        offsetBase: num('offset-base'),
        connections: num('connections'),
        inflight: num('inflight'),
        seconds: num('seconds'),
        groupsPerRequest: num('groups-per-request'),
      });
      result = workload === 'offsets-fill' ? await runOffsetsFill(o) : await runOffsetsVerify(o);
      break;
    }
    case 'idempotent':
      result = await runIdempotentProduce(
        defined({
          bootstrap,
          topics: topicsFromFlags(),
          create: values.create,
          plain: values.plain,
          records: num('records'),
          seconds: num('seconds'),
          recordBytes: num('record-bytes'),
          recordsPerBatch: num('batch-records'),
          partitionsPerRequest: num('partitions-per-request'),
          inflight: num('inflight'),
          progress: values.progress,
        }),
      );
      break;
    case 'txn':
      result = await runTransactions(
        defined({
          bootstrap,
          topic: values.topic,
          partitions: num('partitions'),
          producers: num('producers'),
          recordsPerTxn: num('records-per-txn'),
          partitionsPerTxn: num('partitions-per-txn'),
          // Small records by default (txnDefaults: 100 bytes); --record-bytes has a 1 KiB default for the others.
          recordBytes: values['record-bytes'] === '1024' ? undefined : num('record-bytes'),
          rate: num('rate'),
          txns: num('txns'),
          seconds: num('seconds'),
          idPrefix: values['id-prefix'],
        }),
      );
      break;
    default:
      throw new Error(`unknown workload ${workload ?? '(none)'}: produce, consume, e2e, create, offsets, rebalance, commits, offsets-fill, offsets-verify, idempotent or txn`);
  }
  const cpu = process.cpuUsage();
  result.loadgenCpuSecs = round((cpu.user + cpu.system) / 1e6, 2);
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    // The message again on the last line: bench/run.mjs reports the last lines of stderr.
    process.stderr.write(`loadgen: ${err.stack ?? err}\nloadgen: ${err.message ?? err}\n`);
    process.exit(1);
  },
);
