/**
 * What every client command shares: the common flags (--bootstrap, --timeout, --json, --verbose,
 * --help), connecting, the topic-exists check, output (tables, JSON with 64-bit offsets) and the
 * mapping of the client's typed errors to one-line messages and exit codes.
 *
 * Exit codes: 0 ok, 1 the operation failed (a Kafka error, a timeout, bad input data), 2 usage
 * (unknown flag, bad value, missing argument), 3 cannot connect to the cluster.
 */
import { Admin, ConfigError, ConnectionError, KafkaError, ProtocolError, TimeoutError, type AdminConfig, type TopicDescription } from '@fjord/client';
import { CliError, intFlag, parseFlags, stringFlag, type FlagSpec, type Flags } from './flags.js';

export const exitCodes = { ok: 0, failed: 1, usage: 2, cannotConnect: 3 } as const;

export const defaultBootstrap = '127.0.0.1:9092';
export const defaultTimeoutMs = 5_000;

/** The flags every client command takes. */
export const commonFlags: FlagSpec = {
  bootstrap: 'string',
  timeout: 'string',
  verbose: 'boolean',
  help: 'boolean',
};
export const commonShort: Record<string, string> = { b: 'bootstrap', h: 'help' };

export const commonHelp = `Common options:
  -b, --bootstrap HOST:PORT[,...]  brokers to start from (env FJORD_BOOTSTRAP; default ${defaultBootstrap})
      --timeout MS                 time limit for connecting and for each request (default ${defaultTimeoutMs})
      --verbose                    stack traces with errors
  -h, --help                       this help

Exit codes: 0 ok, 1 operation failed (Kafka error, timeout), 2 usage error (unknown flag,
bad value, missing argument), 3 cannot connect to the cluster.
`;

export interface Context {
  /** 'topics create', for messages. */
  command: string;
  flags: Flags;
  bootstrap: string;
  timeoutMs: number;
  json: boolean;
  verbose: boolean;
}

/**
 * Parses a command's flags (its own plus the common ones). Returns undefined after printing the
 * help when --help was given.
 */
export function parseCommand(argv: string[], command: string, spec: FlagSpec, help: string, short: Record<string, string> = {}): Context | undefined {
  const flags = parseFlags(argv, { ...commonFlags, ...spec }, { ...commonShort, ...short }, command);
  if (flags.help) {
    process.stdout.write(help);
    return undefined;
  }
  return {
    command,
    flags,
    bootstrap: resolveBootstrap(flags),
    timeoutMs: intFlag(flags, 'timeout', { min: 1, max: 2_147_483_647 }) ?? defaultTimeoutMs,
    json: flags.json === true,
    verbose: flags.verbose === true,
  };
}

/** --bootstrap, else FJORD_BOOTSTRAP, else 127.0.0.1:9092; each entry must be host:port. */
export function resolveBootstrap(flags: Flags): string {
  const fromFlag = stringFlag(flags, 'bootstrap');
  const env = process.env['FJORD_BOOTSTRAP'];
  const value = fromFlag ?? (env !== undefined && env.trim() !== '' ? env : defaultBootstrap);
  const source = fromFlag !== undefined ? '--bootstrap' : env ? 'FJORD_BOOTSTRAP' : 'default bootstrap';
  const list = value.split(',').map((s) => s.trim());
  for (const s of list) {
    const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(s);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new CliError(`${source} expects HOST:PORT[,HOST:PORT...], got '${value}'`);
  }
  return list.join(',');
}

/** Client settings derived from the context: every wait bounded by --timeout. */
export function clientConfig(ctx: Context): AdminConfig & { bootstrapServers: string } {
  return {
    bootstrapServers: ctx.bootstrap,
    clientId: 'fjord-cli',
    connectTimeoutMs: ctx.timeoutMs,
    requestTimeoutMs: Math.max(ctx.timeoutMs, 1_000),
  };
}

/** Fails with exit code 3 and the fix when the cluster cannot be reached within --timeout. */
export function cannotConnect(ctx: Context, cause?: unknown): CliError {
  const e = new CliError(`cannot connect to ${ctx.bootstrap} within ${ctx.timeoutMs} ms (is the broker running? set --bootstrap or FJORD_BOOTSTRAP)`, exitCodes.cannotConnect);
  if (cause !== undefined) (e as { cause?: unknown }).cause = cause;
  return e;
}

/** An Admin that has fetched metadata once (so "cannot connect" is told apart from later failures). */
export async function openAdmin(ctx: Context): Promise<Admin> {
  const admin = new Admin({ ...clientConfig(ctx), apiTimeoutMs: ctx.timeoutMs });
  try {
    await admin.connect();
  } catch (e) {
    await admin.close();
    if (e instanceof TimeoutError || e instanceof ConnectionError) throw cannotConnect(ctx, e);
    throw e;
  }
  return admin;
}

/** Runs `fn` with a connected Admin and closes it afterwards. */
export async function withAdmin<T>(ctx: Context, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = await openAdmin(ctx);
  try {
    return await fn(admin);
  } finally {
    await admin.close();
  }
}

export function unknownTopic(name: string): CliError {
  return new CliError(`topic '${name}' does not exist (create it with: fjord topics create ${name})`, exitCodes.failed);
}

/** Descriptions of these topics; a missing one fails with the unknown-topic message. */
export async function requireTopics(admin: Admin, names: string[]): Promise<TopicDescription[]> {
  const existing = new Set(await admin.listTopics({ includeInternal: true }));
  const missing = names.find((n) => !existing.has(n));
  if (missing !== undefined) throw unknownTopic(missing);
  return admin.describeTopics(names);
}

/** Positional arguments: exactly `min`..`max` of them, or a usage error naming what is missing. */
export function positionals(ctx: Context, names: string, min: number, max = min): string[] {
  const args = ctx.flags._;
  if (args.length < min) throw new CliError(`missing ${names} (usage: fjord ${ctx.command} ${names}; see 'fjord ${ctx.command} --help')`);
  if (args.length > max) throw new CliError(`unexpected argument '${args[max]}' (see 'fjord ${ctx.command} --help')`);
  return args;
}

// ----------------------------------------------------------------------------------------------
// Output

/** JSON with bigints as numbers when exact (offsets always are in practice), else as strings. */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(
    value,
    (_k, v: unknown) => (typeof v === 'bigint' ? (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v),
    indent,
  );
}

export function printJson(value: unknown): void {
  process.stdout.write(`${toJson(value, 2)}\n`);
}

/** A left-aligned table with a header row; cells are strings (null/undefined print as '-'). */
export function formatTable(header: string[], rows: Array<Array<string | number | bigint | null | undefined>>): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

export function printTable(header: string[], rows: Array<Array<string | number | bigint | null | undefined>>): void {
  process.stdout.write(formatTable(header, rows));
}

// ----------------------------------------------------------------------------------------------
// Errors

const hints: Record<string, string> = {
  TOPIC_ALREADY_EXISTS: 'use --if-not-exists to accept an existing topic',
  INVALID_REPLICATION_FACTOR: 'the replication factor cannot exceed the number of brokers (see fjord cluster info)',
  INVALID_PARTITIONS: 'a topic can only gain partitions, never lose them',
  NON_EMPTY_GROUP: 'stop the group\'s consumers first',
  GROUP_ID_NOT_FOUND: 'see fjord groups list',
  UNKNOWN_MEMBER_ID: 'stop the group\'s consumers first (offsets can be changed only while the group is empty)',
  INVALID_CONFIG: 'see fjord configs get for the current values',
  OFFSET_OUT_OF_RANGE: 'the offset is outside the partition\'s log (see fjord topics describe; --before end deletes everything)',
  POLICY_VIOLATION: 'the broker\'s policy refused it',
  TOPIC_AUTHORIZATION_FAILED: 'the principal lacks the ACL',
  GROUP_AUTHORIZATION_FAILED: 'the principal lacks the ACL',
  CLUSTER_AUTHORIZATION_FAILED: 'the principal lacks the ACL',
};

/** What to print (one line) and the exit code for any error a command can end with. */
export function describeError(err: unknown, verbose: boolean): { message: string; exitCode: number } {
  const e = err instanceof Error ? err : new Error(String(err));
  let message: string;
  let exitCode: number = exitCodes.failed;
  if (e instanceof CliError) {
    message = e.message;
    exitCode = e.exitCode;
  } else if (e instanceof ConfigError) {
    message = e.message;
    exitCode = exitCodes.usage;
  } else if (e instanceof KafkaError) {
    const hint = hints[e.name];
    message = `${e.message}${hint ? ` (${hint})` : ''}`;
  } else if (e instanceof TimeoutError) {
    message = `${e.message} (the cluster did not answer in time; a longer --timeout may help)`;
  } else if (e instanceof ConnectionError) {
    message = `lost the connection to ${e.address}: ${e.message} (is the broker running?)`;
    exitCode = exitCodes.cannotConnect;
  } else if (e instanceof ProtocolError) {
    message = `${e.message} (is that address a Kafka broker?)`;
  } else {
    message = e.message || e.name;
  }
  message = message.replace(/\s*\n\s*/g, ' ');
  if (verbose) message = `${message}\n${stackOf(e)}`;
  return { message, exitCode };
}

function stackOf(e: Error): string {
  const lines = [e.stack ?? `${e.name}: ${e.message}`];
  let cause = (e as { cause?: unknown }).cause;
  for (let depth = 0; cause instanceof Error && depth < 5; depth++) {
    lines.push(`caused by: ${cause.stack ?? cause.message}`);
    cause = (cause as { cause?: unknown }).cause;
  }
  return lines.join('\n');
}

// ----------------------------------------------------------------------------------------------
// Signals and closed output

let activeStops = 0;

/**
 * A reader that went away (`fjord topics list | head -1`) ends the command quietly with exit code 0,
 * as Unix tools do, instead of an 'error' event nobody handles. Commands with a stopSignal() stop
 * through it instead (a consumer commits first).
 */
export function installPipeGuard(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    if (activeStops === 0) process.exit(0);
  });
}

/**
 * An AbortSignal that fires on SIGINT/SIGTERM, or when stdout is closed (EPIPE: `| head`), so
 * long-running commands stop cleanly. `dispose()` removes the handlers.
 */
export function stopSignal(): { signal: AbortSignal; reason: () => string | undefined; dispose: () => void } {
  activeStops++;
  const ac = new AbortController();
  let reason: string | undefined;
  const stop = (why: string) => (): void => {
    reason ??= why;
    ac.abort();
  };
  const onInt = stop('SIGINT');
  const onTerm = stop('SIGTERM');
  const onPipe = (e: NodeJS.ErrnoException): void => {
    if (e.code === 'EPIPE') stop('EPIPE')();
  };
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  process.stdout.on('error', onPipe);
  return {
    signal: ac.signal,
    reason: () => reason,
    dispose: () => {
      activeStops--;
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      process.stdout.off('error', onPipe);
    },
  };
}

/** Writes to stdout and waits when its buffer is full (a slow pipe slows the command, not memory). */
export async function writeOut(text: string, signal?: AbortSignal): Promise<void> {
  if (text === '' || signal?.aborted) return;
  if (process.stdout.write(text)) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      process.stdout.off('drain', done);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    process.stdout.on('drain', done);
    signal?.addEventListener('abort', done);
  });
}
