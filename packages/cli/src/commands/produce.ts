/**
 * `fjord produce TOPIC`: one record per input line (stdin or --file), plain or JSON, optionally in
 * one transaction. Every record's outcome is awaited: the exit code is 0 only if all were written.
 */
import { createReadStream } from 'node:fs';
import { access, constants } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Producer, type Acks, type CompressionName, type ProducerRecord, type RecordMetadata } from '@fjord/client';
import { clientConfig, commonHelp, describeError, exitCodes, positionals, requireTopics, stopSignal, withAdmin } from '../common.js';
import { CliError, enumFlag, intFlag, keyValueFlag, stringFlag } from '../flags.js';
import type { Leaf } from '../command.js';

type Header = [string, string | null];
type Input = Omit<ProducerRecord<string | null, string | null>, 'topic'>;

const help = `Usage: fjord produce TOPIC [options] < input

Writes one record per line of standard input (or --file) and waits until every one is
acknowledged. A summary (records, partitions) goes to stderr.

Options:
  -f, --file PATH              read lines from a file instead of stdin
  -k, --key-separator SEP      split each line at the first SEP into key and value
                               (a line without SEP has no key)
  -H, --header KEY=VALUE       a header on every record; repeatable
  -p, --partition N            write to partition N (default: by key, or sticky for no key)
      --format line|json       line (default): the line is the value; json: each line is
                               {"key":..,"value":..,"headers":{..},"partition":N,"timestamp":MS|ISO}
                               (only "value" is required; null is a tombstone; other JSON
                               values are written as their JSON text; the "topic", "offset"
                               and "timestampType" of 'fjord consume --format json' are ignored)
      --acks 0|1|all           acknowledgement (default all)
      --compression TYPE       none (default), gzip, snappy, lz4, zstd
      --transactional-id ID    write everything in one transaction: committed at the end of the
                               input, aborted on any error or interruption
  -q, --quiet                  no summary

Examples:
  echo hello | fjord produce greetings
  printf 'user1:clicked\\nuser2:scrolled\\n' | fjord produce events --key-separator : -H source=cli
  fjord produce orders --format json --file orders.jsonl --compression zstd
  fjord produce ledger --transactional-id import-2026-01 --file entries.txt

${commonHelp}`;

export const produceCommand: Leaf = {
  name: 'produce',
  summary: 'write records from stdin or a file',
  positional: '@topic',
  values: { file: ['@file'], format: ['line', 'json'], acks: ['0', '1', 'all'], compression: ['none', 'gzip', 'snappy', 'lz4', 'zstd'] },
  flags: {
    file: 'string',
    'key-separator': 'string',
    header: 'list',
    partition: 'string',
    format: 'string',
    acks: 'string',
    compression: 'string',
    'transactional-id': 'string',
    quiet: 'boolean',
  },
  short: { f: 'file', k: 'key-separator', H: 'header', p: 'partition', q: 'quiet' },
  help,
  async run(ctx) {
    const [topic] = positionals(ctx, 'TOPIC', 1);
    const file = stringFlag(ctx.flags, 'file');
    const keySeparator = stringFlag(ctx.flags, 'key-separator');
    if (keySeparator === '') throw new CliError('--key-separator must not be empty');
    const headers: Header[] = keyValueFlag(ctx.flags, 'header');
    const partition = intFlag(ctx.flags, 'partition', { min: 0, max: 2_147_483_647 });
    const format = enumFlag(ctx.flags, 'format', ['line', 'json'] as const) ?? 'line';
    if (format === 'json' && keySeparator !== undefined) throw new CliError('--key-separator applies to --format line only (JSON lines carry their "key")');
    const acksRaw = enumFlag(ctx.flags, 'acks', ['0', '1', 'all', '-1'] as const) ?? 'all';
    const acks: Acks = acksRaw === '0' ? 0 : acksRaw === '1' ? 1 : 'all';
    const compression = enumFlag(ctx.flags, 'compression', ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) ?? 'none';
    const transactionalId = stringFlag(ctx.flags, 'transactional-id');
    if (transactionalId === '') throw new CliError('--transactional-id must not be empty');
    if (transactionalId !== undefined && acks !== 'all') throw new CliError('--transactional-id needs --acks all (transactions are idempotent)');
    const quiet = ctx.flags.quiet === true;
    if (file !== undefined) {
      try {
        await access(file, constants.R_OK);
      } catch (e) {
        throw new CliError(`cannot read --file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    }

    const partitionCount = await withAdmin(ctx, async (admin) => (await requireTopics(admin, [topic!]))[0]!.partitions.length);
    const checkPartition = (p: number, where: string): void => {
      if (p >= partitionCount) throw new CliError(`${where}partition ${p} does not exist: topic '${topic}' has partitions 0..${partitionCount - 1}`, exitCodes.failed);
    };
    if (partition !== undefined) checkPartition(partition, '--partition: ');

    return produce(ctx, {
      topic: topic!,
      input: file === undefined ? process.stdin : createReadStream(file),
      inputName: file ?? 'stdin',
      parse: (line, n) => {
        const rec = format === 'json' ? parseJsonLine(line, `${file ?? 'stdin'} line ${n}`) : parsePlainLine(line, keySeparator);
        const p = rec.partition ?? partition;
        if (p !== undefined) checkPartition(p, `${file ?? 'stdin'} line ${n}: `);
        const hs: Header[] = [...headers, ...((rec.headers as Header[] | undefined) ?? [])];
        return { ...rec, ...(p === undefined ? {} : { partition: p }), ...(hs.length ? { headers: hs } : {}) };
      },
      skipBlank: format === 'json',
      config: { acks, compression, transactionalId },
      quiet,
    });
  },
};

function parsePlainLine(line: string, sep: string | undefined): Input {
  if (sep === undefined) return { value: line };
  const i = line.indexOf(sep);
  return i < 0 ? { key: null, value: line } : { key: line.slice(0, i), value: line.slice(i + sep.length) };
}

const jsonFields = new Set(['key', 'value', 'headers', 'partition', 'timestamp']);
/** Fields of `fjord consume --format json` output that produce accepts and ignores, so one can be piped into the other. */
const ignoredJsonFields = new Set(['topic', 'offset', 'timestampType']);

/** A JSON line: {"key", "value", "headers", "partition", "timestamp"}; strings are written as they are, other JSON as its text. */
export function parseJsonLine(line: string, where: string): Input {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch (e) {
    throw new CliError(`${where}: not valid JSON (${(e as Error).message})`, exitCodes.failed);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new CliError(`${where}: expected a JSON object like {"key": "k", "value": "v"}`, exitCodes.failed);
  const rec = o as Record<string, unknown>;
  const unknown = Object.keys(rec).find((k) => !jsonFields.has(k) && !ignoredJsonFields.has(k));
  if (unknown !== undefined) throw new CliError(`${where}: unknown field "${unknown}" (fields: key, value, headers, partition, timestamp)`, exitCodes.failed);
  if (!('value' in rec)) throw new CliError(`${where}: no "value" (use "value": null for a tombstone)`, exitCodes.failed);
  const text = (v: unknown): string | null => (v === null || v === undefined ? null : typeof v === 'string' ? v : JSON.stringify(v));
  const out: Input = { key: text(rec.key), value: text(rec.value) };
  if (rec.headers !== undefined && rec.headers !== null) {
    let hs: Header[];
    if (Array.isArray(rec.headers)) {
      if (!rec.headers.every((h) => Array.isArray(h) && h.length === 2 && typeof h[0] === 'string')) throw new CliError(`${where}: "headers" must be {"name": "value"} or [["name", "value"], ...]`, exitCodes.failed);
      hs = (rec.headers as Array<[string, unknown]>).map(([k, v]) => [k, text(v)]);
    } else if (typeof rec.headers === 'object') {
      hs = Object.entries(rec.headers as Record<string, unknown>).flatMap(([k, v]): Header[] => (Array.isArray(v) ? v.map((x): Header => [k, text(x)]) : [[k, text(v)]]));
    } else {
      throw new CliError(`${where}: "headers" must be {"name": "value"} or [["name", "value"], ...]`, exitCodes.failed);
    }
    out.headers = hs;
  }
  if (rec.partition !== undefined && rec.partition !== null) {
    if (!Number.isInteger(rec.partition) || (rec.partition as number) < 0) throw new CliError(`${where}: "partition" must be an integer >= 0, got ${JSON.stringify(rec.partition)}`, exitCodes.failed);
    out.partition = rec.partition as number;
  }
  if (rec.timestamp !== undefined && rec.timestamp !== null) {
    const t = rec.timestamp;
    const ms = typeof t === 'number' ? t : typeof t === 'string' ? (/^\d+$/.test(t) ? Number(t) : Date.parse(t)) : NaN;
    if (!Number.isSafeInteger(ms) || ms < 0) throw new CliError(`${where}: "timestamp" must be ms since the epoch or an ISO date, got ${JSON.stringify(t)}`, exitCodes.failed);
    out.timestamp = ms;
  }
  return out;
}

interface ProduceJob {
  topic: string;
  input: NodeJS.ReadableStream;
  inputName: string;
  parse: (line: string, lineNumber: number) => Input;
  skipBlank: boolean;
  config: { acks: Acks; compression: CompressionName; transactionalId: string | undefined };
  quiet: boolean;
}

async function produce(ctx: Parameters<Leaf['run']>[0], job: ProduceJob): Promise<number> {
  const { acks, compression, transactionalId } = job.config;
  const base = clientConfig(ctx);
  const producer = new Producer({
    ...base,
    acks,
    compression,
    ...(transactionalId === undefined ? {} : { transactionalId }),
    maxBlockMs: ctx.timeoutMs,
    // Kafka requires delivery.timeout.ms >= linger.ms + request.timeout.ms; a record gets at least 30 s.
    deliveryTimeoutMs: Math.max(30_000, base.requestTimeoutMs! + 5),
  });
  const stop = stopSignal();
  const partitions = new Set<number>();
  let read = 0;
  let acknowledged = 0;
  let failed = 0;
  let firstFailure: unknown;
  let inputError: unknown;
  let inFlight = 0;
  let settled: (() => void) | undefined;
  const onSettled = (): void => {
    inFlight--;
    if (inFlight === 0) settled?.();
  };
  let lines: ReturnType<typeof createInterface> | undefined;
  const onAbort = (): void => lines?.close();
  stop.signal.addEventListener('abort', onAbort);
  job.input.on('error', (e: Error) => {
    inputError ??= new CliError(`cannot read ${job.inputName}: ${(e as NodeJS.ErrnoException).code ?? e.message}`, exitCodes.failed);
    lines?.close();
  });
  try {
    if (transactionalId !== undefined) {
      await producer.initTransactions();
      producer.beginTransaction();
    }
    // Made only now, right before it is iterated: readline drops the lines (and the end) it reads
    // before its async iterator exists, so an await in between would lose input.
    lines = createInterface({ input: job.input, crlfDelay: Infinity });
    let n = 0;
    for await (const line of stop.signal.aborted ? [] : lines) {
      n++;
      if (job.skipBlank && line.trim() === '') continue;
      let record: Input;
      try {
        record = job.parse(line, n);
      } catch (e) {
        inputError = e;
        break;
      }
      await producer.ready();
      read++;
      inFlight++;
      producer.send({ topic: job.topic, ...record }).then(
        (m: RecordMetadata) => {
          acknowledged++;
          partitions.add(m.partition);
          onSettled();
        },
        (e: unknown) => {
          failed++;
          firstFailure ??= e;
          onSettled();
        },
      );
      if (stop.signal.aborted) break;
    }
    await producer.flush();
    if (inFlight > 0) await new Promise<void>((r) => (settled = r));
    const interrupted = stop.reason();
    if (transactionalId !== undefined) {
      if (failed > 0 || inputError !== undefined || interrupted) {
        await producer.abortTransaction();
        acknowledged = 0;
        partitions.clear();
      } else {
        await producer.commitTransaction();
      }
    }
  } catch (e) {
    firstFailure ??= e;
    if (transactionalId !== undefined) await producer.abortTransaction().catch(() => {});
    if (transactionalId !== undefined) {
      acknowledged = 0;
      partitions.clear();
    }
  } finally {
    stop.signal.removeEventListener('abort', onAbort);
    stop.dispose();
    await producer.close({ timeoutMs: 2_000 }).catch(() => {});
  }

  const problem = inputError ?? firstFailure;
  const ps = [...partitions].sort((a, b) => a - b);
  if (!job.quiet || problem !== undefined) {
    const txn = transactionalId === undefined ? '' : problem !== undefined || stop.reason() ? ' (transaction aborted)' : ' (transaction committed)';
    const interrupted = stop.reason() && stop.reason() !== 'EPIPE' ? ` (stopped by ${stop.reason()})` : '';
    const failedPart = failed > 0 ? `, ${failed} failed` : '';
    process.stderr.write(`produced ${acknowledged} of ${read} record${read === 1 ? '' : 's'} to ${job.topic}${ps.length ? ` (partitions ${ps.join(', ')})` : ''}${failedPart}${txn}${interrupted}\n`);
  }
  if (problem !== undefined) {
    const { message } = describeError(problem, ctx.verbose);
    process.stderr.write(`fjord: ${failed > 0 ? `record failed: ` : ''}${message}\n`);
    return exitCodes.failed;
  }
  if (transactionalId !== undefined && stop.reason()) return exitCodes.failed;
  return 0;
}
