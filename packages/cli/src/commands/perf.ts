/**
 * `fjord perf produce|consume|e2e`: load tests built on @fjord/client, in the spirit of Kafka's
 * kafka-producer-perf-test and kafka-consumer-perf-test, with latency percentiles from a
 * log-linear histogram, a text histogram, a live progress line and --json.
 * Exit codes: 0 done, 1 records failed or were lost (or the broker/topic could not be reached),
 * 2 usage errors.
 */
import { commonHelp, type Context } from '../common.js';
import { runCommand, type Group, type Leaf } from '../command.js';
import { CliError, enumFlag, intFlag, stringFlag, type FlagSpec, type Flags } from '../flags.js';
import { acksFlag, boundsFlags, compressionFlag, defaultDurationMs, defaultNumRecords, onOff, rateFlag, topicFlag } from '../perf/options.js';
import { runProduce } from '../perf/produce.js';
import { runConsume } from '../perf/consume.js';
import { runE2e } from '../perf/e2e.js';
import { stderrLogger, type Common, type Outcome } from '../perf/run.js';
import type { CreateSettings } from '../perf/cluster.js';
import { stampBytes } from '../perf/stamp.js';

const bounds = `  --num-records N          stop after N records
  --duration-ms T          stop after T ms (with neither bound: ${defaultNumRecords.toLocaleString('en-US')} records, capped at ${defaultDurationMs / 1000} s)`;

const common = `  --json                   print one JSON object with every figure on stdout instead of the report
  --progress               show the live progress line (stderr, twice a second) even when stderr
                           is not a terminal; --no-progress never shows it
  (--timeout bounds connecting and the topic lookup; --verbose also prints the client's log)`;

const exits = `Exit codes: 0 every record made it, 1 records failed or were lost (the report counts them) or
the topic is missing, 2 usage error, 3 cannot connect to the cluster.`;

const produceHelp = `Usage: fjord perf produce --topic TOPIC [options]

Sends records with one producer and reports throughput and the latency of each record from
send() to its acknowledgement: p50/p95/p99/p99.9/max and a histogram.

Options:
  --topic TOPIC            the topic (or give it as the one argument)
${bounds}
  --record-size B          bytes of (random) value per record (default 1024)
  --throughput R           records/s, paced on a fixed schedule; -1 = as fast as possible (default -1)
  --acks 0|1|all           (default all)
  --compression C          none, gzip, snappy, lz4 or zstd (default none)
  --linger-ms MS           (client default 5)
  --batch-bytes B          (client default 16384)
  --key-count K            keyed records, round-robin over K keys (default: null keys)
  --idempotent / --no-idempotent   (client default: on with acks=all)
  --create-topic           create the topic if it does not exist
  --partitions P           its partitions (with --create-topic; default: the broker's num.partitions)
  --replication-factor N   its replication factor (with --create-topic)
  --drain-timeout-ms T     after the bound, wait this long for outstanding acknowledgements (default 30000)
${common}

Examples:
  fjord perf produce --topic bench --create-topic --partitions 8 --num-records 200000 --record-size 1024 --acks 1
  fjord perf produce --topic bench --throughput 5000 --duration-ms 30000 --json

${exits}

${commonHelp}`;

const consumeHelp = `Usage: fjord perf consume --topic TOPIC [options]

Reads records with one consumer and reports records/s and MB/s. Records written by
'fjord perf produce' or 'fjord perf e2e' carry their send time: their age on arrival is reported too.

Options:
  --topic TOPIC            the topic (or give it as the one argument)
${bounds}
  --group G                consume as a member of group G (default: no group, every partition)
  --from beginning|end     where to start without a committed offset (default beginning)
  --fetch-max-wait-ms MS   how long a fetch waits for data (client default 500)
  --idle-timeout-ms T      stop when no record has arrived for T ms (default 10000)
${common}

Examples:
  fjord perf consume --topic bench --num-records 200000
  fjord perf consume --topic bench --group perf-readers --from end --duration-ms 60000 --json

${exits}

${commonHelp}`;

const e2eHelp = `Usage: fjord perf e2e --topic TOPIC --throughput R [options]

Runs a producer paced at R records/s and a consumer (no group, every partition, from the end) in one
process and reports the latency from each record's send to its arrival in the consumer: from the
intended send time on the schedule (no coordinated omission) and from the actual send() call.

Options:
  --topic TOPIC            the topic (or give it as the one argument)
  --throughput R           records/s (required)
${bounds}
  --record-size B          bytes per record, at least ${stampBytes} (the send stamp; default 1024)
  --acks 0|1|all           (default all)
  --compression C          none, gzip, snappy, lz4 or zstd (default none)
  --linger-ms MS           (default 0 here: latency is the point)
  --batch-bytes B          (client default 16384)
  --fetch-max-wait-ms MS   how long a fetch waits for data (client default 500)
  --create-topic           create the topic if it does not exist
  --partitions P           its partitions (with --create-topic)
  --replication-factor N   its replication factor (with --create-topic)
  --drain-timeout-ms T     after the bound, wait this long for records still on their way (default 10000)
  --warmup-records N       leave the first N records out of the latency figures (default 0; they
                           still count for loss)
${common}

Examples:
  fjord perf e2e --topic lat --create-topic --partitions 8 --throughput 5000 --duration-ms 20000 --acks 1

${exits}

${commonHelp}`;

const commonSpec: FlagSpec = {
  topic: 'string',
  'num-records': 'string',
  'duration-ms': 'string',
  json: 'boolean',
  progress: 'boolean',
  'no-progress': 'boolean',
};

const producerSpec: FlagSpec = {
  'record-size': 'string',
  throughput: 'string',
  acks: 'string',
  compression: 'string',
  'linger-ms': 'string',
  'batch-bytes': 'string',
  'create-topic': 'boolean',
  partitions: 'string',
  'replication-factor': 'string',
  'drain-timeout-ms': 'string',
};

/** Runs one perf run: SIGINT/SIGTERM end it early (it still reports), then prints the report or JSON. */
async function execute(ctx: Context, run: (stop: AbortSignal) => Promise<Outcome>): Promise<number> {
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let outcome: Outcome;
  try {
    outcome = await run(stop.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  process.stdout.write(ctx.json ? `${JSON.stringify(outcome.json)}\n` : outcome.text);
  return outcome.exitCode;
}

/** What every perf command takes, checked before any network work. */
function commonSettings(ctx: Context, command: string): Common {
  const topic = topicFlag(ctx.flags, command);
  const { numRecords, durationMs } = boundsFlags(ctx.flags);
  return {
    ctx,
    topic,
    numRecords,
    durationMs,
    progress: onOff(ctx.flags, 'progress') ?? Boolean(process.stderr.isTTY),
    logger: stderrLogger(ctx.verbose),
  };
}

function createSettings(flags: Flags): CreateSettings | undefined {
  const partitions = intFlag(flags, 'partitions', { min: 1, max: 100_000 });
  const replicationFactor = intFlag(flags, 'replication-factor', { min: 1, max: 32_767 });
  if (!flags['create-topic']) {
    if (partitions !== undefined) throw new CliError('--partitions needs --create-topic');
    if (replicationFactor !== undefined) throw new CliError('--replication-factor needs --create-topic');
    return undefined;
  }
  return { partitions, replicationFactor };
}

const recordSizeMax = 100 * 1024 * 1024;

export const perfProduce: Leaf = {
  name: 'produce',
  summary: 'producer throughput and send() -> ack latency',
  flags: { ...commonSpec, ...producerSpec, 'key-count': 'string', idempotent: 'boolean', 'no-idempotent': 'boolean' },
  help: produceHelp,
  async run(ctx) {
    const f = ctx.flags;
    const settings = {
      ...commonSettings(ctx, 'produce'),
      recordSize: intFlag(f, 'record-size', { min: 0, max: recordSizeMax }) ?? 1024,
      throughput: rateFlag(f, 'throughput', 100_000_000, true) ?? -1,
      acks: acksFlag(f),
      compression: compressionFlag(f),
      lingerMs: intFlag(f, 'linger-ms', { min: 0, max: 3_600_000 }),
      batchBytes: intFlag(f, 'batch-bytes', { min: 1, max: 1024 * 1024 * 1024 }),
      keyCount: intFlag(f, 'key-count', { min: 1, max: 100_000_000 }) ?? 0,
      idempotent: onOff(f, 'idempotent'),
      create: createSettings(f),
      drainTimeoutMs: intFlag(f, 'drain-timeout-ms', { min: 0, max: 3_600_000 }) ?? 30_000,
    };
    return execute(ctx, (stop) => runProduce(settings, stop));
  },
};

export const perfConsume: Leaf = {
  name: 'consume',
  summary: 'consumer throughput (and the age of records perf wrote)',
  flags: { ...commonSpec, group: 'string', from: 'string', 'fetch-max-wait-ms': 'string', 'idle-timeout-ms': 'string' },
  help: consumeHelp,
  async run(ctx) {
    const f = ctx.flags;
    const group = stringFlag(f, 'group');
    if (group === '') throw new CliError('--group must not be empty');
    const settings = {
      ...commonSettings(ctx, 'consume'),
      group,
      from: enumFlag(f, 'from', ['beginning', 'end'] as const) ?? 'beginning',
      fetchMaxWaitMs: intFlag(f, 'fetch-max-wait-ms', { min: 0, max: 600_000 }),
      idleTimeoutMs: intFlag(f, 'idle-timeout-ms', { min: 1, max: 86_400_000 }) ?? 10_000,
    };
    return execute(ctx, (stop) => runConsume(settings, stop));
  },
};

export const perfE2e: Leaf = {
  name: 'e2e',
  summary: 'latency from send to arrival in a consumer, at a fixed rate',
  flags: { ...commonSpec, ...producerSpec, 'fetch-max-wait-ms': 'string', 'warmup-records': 'string' },
  help: e2eHelp,
  async run(ctx) {
    const f = ctx.flags;
    const throughput = rateFlag(f, 'throughput', 10_000_000, false);
    if (throughput === undefined) throw new CliError('fjord perf e2e needs --throughput R (records/s)');
    const settings = {
      ...commonSettings(ctx, 'e2e'),
      recordSize: intFlag(f, 'record-size', { min: stampBytes, max: recordSizeMax }) ?? 1024,
      throughput,
      acks: acksFlag(f),
      compression: compressionFlag(f),
      lingerMs: intFlag(f, 'linger-ms', { min: 0, max: 3_600_000 }),
      batchBytes: intFlag(f, 'batch-bytes', { min: 1, max: 1024 * 1024 * 1024 }),
      fetchMaxWaitMs: intFlag(f, 'fetch-max-wait-ms', { min: 0, max: 600_000 }),
      create: createSettings(f),
      drainTimeoutMs: intFlag(f, 'drain-timeout-ms', { min: 0, max: 3_600_000 }) ?? 10_000,
      warmupRecords: intFlag(f, 'warmup-records', { min: 0, max: 1_000_000_000 }) ?? 0,
    };
    return execute(ctx, (stop) => runE2e(settings, stop));
  },
};

export const perfGroup: Group = {
  name: 'perf',
  summary: `Load tests against any Kafka-compatible broker: throughput, latency percentiles
(p50/p95/p99/p99.9/max), a latency histogram, a live progress line and --json. Each run is bounded
by --num-records and/or --duration-ms (with neither: ${defaultNumRecords.toLocaleString('en-US')} records, capped at ${defaultDurationMs / 1000} s).`,
  subcommands: [perfProduce, perfConsume, perfE2e],
};

/** `fjord perf ...` with the arguments after 'perf'. */
export async function perfCommand(argv: string[]): Promise<number> {
  return runCommand(perfGroup, argv);
}
