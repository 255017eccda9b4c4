/**
 * `fjord consume TOPIC...`: prints records as they arrive, without a group (all partitions, or
 * --partition) or as a member of --group (committing what it printed). Stops at --count, after
 * --idle-timeout without records, or on SIGINT/SIGTERM/closed stdout, always cleanly.
 */
import { Consumer, type Admin, type ConsumerRecord, type TopicPartition } from '@fjord/client';
import { clientConfig, commonHelp, describeError, exitCodes, positionals, requireTopics, stopSignal, withAdmin, writeOut, type Context } from '../common.js';
import { CliError, enumFlag, intFlag, listFlag, parseBigIntValue, parseIntValue, parseTimeValue, stringFlag } from '../flags.js';
import type { Leaf } from '../command.js';

const help = `Usage: fjord consume TOPIC... [options]

Prints records. Without --group it reads every partition (or those given with --partition) and
commits nothing; with --group it joins the group, reads what the group assigns and commits
the offsets of the records it printed (periodically, on rebalance and on exit).

Options:
  -o, --from WHERE            where to start (default beginning):
                                beginning | end
                                OFFSET            that offset in every partition (clamped to the log)
                                -N                the last N records of every partition
                                @MS | ISO-DATE    the first record at or after that time
                                                  (@1767225600000, 2026-01-01T00:00:00Z)
                              with --group, beginning/end apply only where the group has no
                              committed offset; an offset or a time overrides the commits
  -g, --group GROUP           consume as a member of GROUP and commit
      --group-protocol P      classic (default) or consumer (KIP-848)
  -p, --partition N           only partition N (no --group; one topic); repeatable
  -c, --count N               exit after N records
      --idle-timeout MS       exit when no record arrived for MS (default: never)
      --isolation LEVEL       read_uncommitted (default) or read_committed
  -F, --format FORMAT         value (default): the value
                              kv: key<TAB>value
                              json: {"topic", "partition", "offset", "timestamp",
                                     "timestampType", "key", "value", "headers": {name: value}}
                                     (a repeated header name has a list of values)
                              template: see --template
  -t, --template TEMPLATE     one line per record with {topic} {partition} {offset}
                              {timestamp} {key} {value} {headers} (name=value,...) and \\t \\n
                              escapes; implies --format template
  -q, --quiet                 no summary on stderr
Keys and values print as UTF-8; a null prints as nothing (json: null).

Examples:
  fjord consume orders --from beginning --idle-timeout 2000
  fjord consume orders -p 0 --from 42 --count 10 --format kv
  fjord consume orders --from 2026-01-31T12:00:00Z --format json | jq .value
  fjord consume orders --group billing
  fjord consume orders -t '{topic}/{partition}@{offset} {key}={value} {headers}'

${commonHelp}`;

type Format = 'value' | 'kv' | 'json' | 'template';
type From = { kind: 'earliest' | 'latest' } | { kind: 'offset'; offset: bigint } | { kind: 'last'; count: bigint } | { kind: 'time'; ms: number };

export function parseFrom(raw: string): From {
  const t = raw.trim();
  if (t === 'beginning' || t === 'earliest') return { kind: 'earliest' };
  if (t === 'end' || t === 'latest') return { kind: 'latest' };
  if (/^\d+$/.test(t)) return { kind: 'offset', offset: parseBigIntValue(t, '--from', { min: 0n }) };
  if (/^-\d+$/.test(t)) return { kind: 'last', count: -parseBigIntValue(t, '--from') };
  if (t.startsWith('@')) return { kind: 'time', ms: parseTimeValue(t.slice(1), '--from @') };
  if (/^\d{4}-\d{2}-\d{2}/.test(t)) return { kind: 'time', ms: parseTimeValue(t, '--from') };
  throw new CliError(`--from expects beginning, end, OFFSET, -N, @MS or an ISO date, got '${raw}'`);
}

const placeholders = ['topic', 'partition', 'offset', 'timestamp', 'key', 'value', 'headers'] as const;

/** Compiles a --template into a function of a record; unknown placeholders are usage errors. */
export function compileTemplate(template: string): (r: ConsumerRecord) => string {
  const parts: Array<string | (typeof placeholders)[number]> = [];
  const re = /\{([^{}]*)\}|\\([nt\\])/g;
  let last = 0;
  for (let m = re.exec(template); m; m = re.exec(template)) {
    parts.push(template.slice(last, m.index));
    if (m[1] !== undefined) {
      if (!(placeholders as readonly string[]).includes(m[1])) throw new CliError(`--template: unknown placeholder {${m[1]}} (known: ${placeholders.map((p) => `{${p}}`).join(' ')})`);
      parts.push(m[1] as (typeof placeholders)[number]);
    } else {
      parts.push(m[2] === 'n' ? '\n' : m[2] === 't' ? '\t' : '\\');
    }
    last = m.index + m[0].length;
  }
  parts.push(template.slice(last));
  // Literal text and placeholders alternate: even indexes are text.
  return (r) =>
    parts
      .map((p, i) => {
        if (i % 2 === 0) return p;
        switch (p) {
          case 'topic': return r.topic;
          case 'partition': return String(r.partition);
          case 'offset': return String(r.offset);
          case 'timestamp': return String(r.timestamp);
          case 'key': return text(r.key);
          case 'value': return text(r.value);
          case 'headers': return r.headers.map(([k, v]) => `${k}=${text(v)}`).join(',');
          default: return p;
        }
      })
      .join('') + '\n';
}

function text(b: Buffer | null): string {
  return b === null ? '' : b.toString('utf8');
}

export function recordJson(r: ConsumerRecord): string {
  const headers: Record<string, string | null | Array<string | null>> = {};
  for (const [k, v] of r.headers) {
    const s = v === null ? null : v.toString('utf8');
    const prev = headers[k];
    if (!Object.hasOwn(headers, k)) headers[k] = s;
    else headers[k] = Array.isArray(prev) ? [...prev, s] : [prev as string | null, s];
  }
  return JSON.stringify({
    topic: r.topic,
    partition: r.partition,
    offset: Number(r.offset),
    timestamp: r.timestamp,
    timestampType: r.timestampType,
    key: r.key === null ? null : r.key.toString('utf8'),
    value: r.value === null ? null : r.value.toString('utf8'),
    headers,
  }) + '\n';
}

function formatter(format: Format, template: string | undefined): (r: ConsumerRecord) => string {
  switch (format) {
    case 'value': return (r) => `${text(r.value)}\n`;
    case 'kv': return (r) => `${text(r.key)}\t${text(r.value)}\n`;
    case 'json': return recordJson;
    case 'template': return compileTemplate(template!);
  }
}

const key = (tp: TopicPartition): string => `${tp.topic}\0${tp.partition}`;

/** Start offsets per partition for --from OFFSET, -N and a time, looked up once (clamped into each log). */
async function startOffsets(admin: Admin, tps: TopicPartition[], from: From, isolation: 'read_uncommitted' | 'read_committed'): Promise<Map<string, bigint>> {
  const opts = { isolationLevel: isolation };
  const [earliest, latest, byTime] = await Promise.all([
    admin.listOffsets(tps.map((p) => ({ ...p, spec: 'earliest' as const })), opts),
    admin.listOffsets(tps.map((p) => ({ ...p, spec: 'latest' as const })), opts),
    from.kind === 'time' ? admin.listOffsets(tps.map((p) => ({ ...p, spec: { timestamp: from.ms } })), opts) : Promise.resolve([]),
  ]);
  const e = new Map(earliest.map((r) => [key(r), r.offset]));
  const l = new Map(latest.map((r) => [key(r), r.offset]));
  const t = new Map(byTime.map((r) => [key(r), r.offset]));
  const out = new Map<string, bigint>();
  for (const tp of tps) {
    const k = key(tp);
    const lo = e.get(k) ?? 0n;
    const hi = l.get(k) ?? lo;
    let want: bigint;
    switch (from.kind) {
      case 'earliest': want = lo; break;
      case 'latest': want = hi; break;
      case 'offset': want = from.offset; break;
      case 'last': want = hi - from.count; break;
      case 'time': {
        const at = t.get(k) ?? -1n;
        want = at < 0n ? hi : at;
        break;
      }
    }
    out.set(k, want < lo ? lo : want > hi ? hi : want);
  }
  return out;
}

export const consumeCommand: Leaf = {
  name: 'consume',
  summary: 'print records from topics',
  positional: '@topic',
  values: { from: ['beginning', 'end'], group: ['@group'], 'group-protocol': ['classic', 'consumer'], isolation: ['read_uncommitted', 'read_committed'], format: ['value', 'kv', 'json', 'template'] },
  flags: {
    from: 'string',
    group: 'string',
    'group-protocol': 'string',
    partition: 'list',
    count: 'string',
    'idle-timeout': 'string',
    isolation: 'string',
    format: 'string',
    template: 'string',
    quiet: 'boolean',
  },
  short: { o: 'from', g: 'group', p: 'partition', c: 'count', F: 'format', t: 'template', q: 'quiet' },
  help,
  async run(ctx) {
    const topics = [...new Set(positionals(ctx, 'TOPIC...', 1, Infinity))];
    const fromRaw = stringFlag(ctx.flags, 'from');
    const from = parseFrom(fromRaw ?? 'beginning');
    const group = stringFlag(ctx.flags, 'group');
    if (group === '') throw new CliError('--group must not be empty');
    const groupProtocol = enumFlag(ctx.flags, 'group-protocol', ['classic', 'consumer'] as const) ?? 'classic';
    const partitions = listFlag(ctx.flags, 'partition').map((p) => parseIntValue(p, '--partition', { min: 0, max: 2_147_483_647 }));
    if (partitions.length > 0 && group !== undefined) throw new CliError('--partition cannot be combined with --group (the group assigns partitions)');
    if (partitions.length > 0 && topics.length > 1) throw new CliError('--partition needs exactly one topic');
    const count = intFlag(ctx.flags, 'count', { min: 1 });
    const idleMs = intFlag(ctx.flags, 'idle-timeout', { min: 1, max: 2_147_483_647 });
    const isolation = enumFlag(ctx.flags, 'isolation', ['read_uncommitted', 'read_committed'] as const) ?? 'read_uncommitted';
    const template = stringFlag(ctx.flags, 'template');
    const format: Format = enumFlag(ctx.flags, 'format', ['value', 'kv', 'json', 'template'] as const) ?? (template !== undefined ? 'template' : 'value');
    if (format === 'template' && template === undefined) throw new CliError('--format template needs --template TEMPLATE');
    if (template !== undefined && format !== 'template') throw new CliError(`--template cannot be combined with --format ${format}`);
    const render = formatter(format, template);

    // Topics must exist; start offsets are looked up before the consumer starts.
    const explicitStart = from.kind === 'offset' || from.kind === 'last' || from.kind === 'time' || group === undefined;
    const { assigned, starts } = await withAdmin(ctx, async (admin) => {
      const described = await requireTopics(admin, topics);
      const all = described.flatMap((d) => d.partitions.map((p) => ({ topic: d.name, partition: p.partition })));
      for (const p of partitions) {
        const n = described[0]!.partitions.length;
        if (p >= n) throw new CliError(`--partition ${p} does not exist: topic '${topics[0]}' has partitions 0..${n - 1}`, exitCodes.failed);
      }
      const assigned = partitions.length > 0 ? [...new Set(partitions)].map((partition) => ({ topic: topics[0]!, partition })) : all;
      return { assigned, starts: explicitStart ? await startOffsets(admin, assigned, from, isolation) : new Map<string, bigint>() };
    });

    return consume(ctx, { topics, group, groupProtocol, assigned, starts, from, count, idleMs, isolation, render });
  },
};

interface ConsumeJob {
  topics: string[];
  group: string | undefined;
  groupProtocol: 'classic' | 'consumer';
  assigned: TopicPartition[];
  starts: Map<string, bigint>;
  from: From;
  count: number | undefined;
  idleMs: number | undefined;
  isolation: 'read_uncommitted' | 'read_committed';
  render: (r: ConsumerRecord) => string;
}

async function consume(ctx: Context, job: ConsumeJob): Promise<number> {
  const { group } = job;
  const stop = stopSignal();
  const done = new AbortController();
  const finish = (): void => done.abort();
  stop.signal.addEventListener('abort', finish);
  let idleTimer: NodeJS.Timeout | undefined;
  let idled = false;
  const touch = (): void => {
    if (job.idleMs === undefined) return;
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      idled = true;
      finish();
    }, job.idleMs);
  };

  let closing = false;
  /** Next offset to commit per partition: one past the last record printed. */
  const printed = new Map<string, TopicPartition & { offset: bigint }>();
  const seeked = new Set<string>();
  const warn = (what: string, e: unknown): void => {
    process.stderr.write(`fjord: warning: ${what}: ${describeError(e, ctx.verbose).message}\n`);
  };
  /**
   * Commits, for each assigned partition, one past the last record printed, or where the consumer
   * stands when nothing was printed from it (so a member that read nothing keeps its start
   * position, as Kafka's console consumer does). Records handed out but not printed (the rest of
   * a batch cut by --count) are never committed.
   */
  const commit = async (only?: TopicPartition[]): Promise<void> => {
    const keys = only && new Set(only.map(key));
    const list: Array<TopicPartition & { offset: bigint }> = [];
    for (const tp of consumer.assignment()) {
      if (keys && !keys.has(key(tp))) continue;
      const offset = printed.get(key(tp))?.offset ?? consumer.position(tp);
      if (offset !== undefined) list.push({ ...tp, offset });
    }
    if (list.length > 0) await consumer.commit(list);
  };

  const consumer = new Consumer(
    {
      ...clientConfig(ctx),
      ...(group === undefined ? {} : { groupId: group, groupProtocol: job.groupProtocol }),
      // Commits are the CLI's own (what it printed), never the consumer's automatic ones.
      enableAutoCommit: false,
      autoOffsetReset: job.from.kind === 'latest' ? 'latest' : 'earliest',
      isolationLevel: job.isolation,
      defaultApiTimeoutMs: ctx.timeoutMs,
      // close() waits out a Fetch long poll (up to fetch.max.wait.ms) before it returns: a short one
      // lets --count, --idle-timeout and Ctrl-C end the command promptly (an idle poll costs little).
      fetchMaxWaitMs: 100,
    },
    {
      onPartitionsAssigned: (ps) => {
        touch();
        // An explicit --from offset or time overrides the group's commits, once per partition.
        for (const p of ps) {
          const start = job.starts.get(key(p));
          if (start !== undefined && !seeked.has(key(p))) {
            seeked.add(key(p));
            consumer.seek({ ...p, offset: start });
          }
        }
      },
      onPartitionsRevoked: async (ps) => {
        // On close the CLI has committed already (and the consumer no longer takes commits).
        if (closing) return;
        await commit(ps).catch((e: unknown) => warn('commit before rebalance failed', e));
        for (const p of ps) printed.delete(key(p));
      },
    },
  );

  let records = 0;
  let failure: unknown;
  let commitTimer: NodeJS.Timeout | undefined;
  try {
    if (group === undefined) {
      consumer.assign(job.assigned);
      for (const p of job.assigned) consumer.seek({ ...p, offset: job.starts.get(key(p))! });
    } else {
      consumer.subscribe(job.topics);
      let committing = false;
      commitTimer = setInterval(() => {
        if (committing) return;
        committing = true;
        // A failure here (a rebalance under way) is retried at the next tick: reported only with --verbose.
        commit().catch((e: unknown) => ctx.verbose && warn('periodic commit failed', e)).finally(() => (committing = false));
      }, 5_000);
    }
    touch();
    outer: for await (const batch of consumer.batches({ signal: done.signal })) {
      touch();
      let out = '';
      for (const r of batch.records) {
        out += job.render(r);
        records++;
        printed.set(key(r), { topic: r.topic, partition: r.partition, offset: r.offset + 1n });
        if (job.count !== undefined && records >= job.count) {
          await writeOut(out, stop.signal);
          break outer;
        }
      }
      await writeOut(out, stop.signal);
      if (done.signal.aborted) break;
    }
  } catch (e) {
    failure = e;
  } finally {
    clearTimeout(idleTimer);
    clearInterval(commitTimer);
    stop.signal.removeEventListener('abort', finish);
  }
  if (group !== undefined) {
    try {
      await commit();
    } catch (e) {
      failure ??= e;
    }
  }
  closing = true;
  await consumer.close().catch(() => {});
  stop.dispose();
  if (!ctx.flags.quiet) {
    const why = job.count !== undefined && records >= job.count ? '' : idled ? ` (idle for ${job.idleMs} ms)` : stop.reason() && stop.reason() !== 'EPIPE' ? ` (stopped by ${stop.reason()})` : '';
    process.stderr.write(`consumed ${records} record${records === 1 ? '' : 's'}${why}\n`);
  }
  if (failure !== undefined) throw failure;
  return 0;
}
