/**
 * A small, strict flag parser: unknown flags and missing values are errors that name the flag, and
 * typed readers (integers, offsets, enums, KEY=VALUE lists) whose errors name the flag and the value.
 * Every error here is a usage error (exit code 2).
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}

export type FlagSpec = Record<string, 'string' | 'boolean' | 'list'>;
export type Flags = Record<string, string | boolean | string[] | undefined> & { _: string[] };

/**
 * Parses `argv` by `spec`. `command` (e.g. 'topics create') only makes messages point at its help.
 * A value may follow the flag or be attached with '=' (`--from=-10`); a value may start with '-'.
 */
export function parseFlags(argv: string[], spec: FlagSpec, short: Record<string, string> = {}, command?: string): Flags {
  const out: Flags = { _: [] };
  const seeHelp = command ? ` (see 'fjord ${command} --help')` : '';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out._.push(...argv.slice(i + 1));
      break;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    } else if (arg.startsWith('-') && arg.length === 2 && short[arg[1]!]) {
      name = short[arg[1]!];
    } else if (arg.startsWith('-') && arg.length > 1 && !/^-\d/.test(arg)) {
      throw new CliError(`unknown flag ${arg}${seeHelp}`);
    } else {
      out._.push(arg);
      continue;
    }
    const kind = spec[name!];
    if (!kind) throw new CliError(`unknown flag ${arg.split('=')[0]}${seeHelp}`);
    if (kind === 'boolean') {
      if (inline !== undefined) throw new CliError(`flag --${name} takes no value`);
      out[name!] = true;
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new CliError(`flag --${name} needs a value${seeHelp}`);
    if (kind === 'list') out[name!] = [...((out[name!] as string[] | undefined) ?? []), value];
    else out[name!] = value;
  }
  return out;
}

export function stringFlag(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function listFlag(flags: Flags, name: string): string[] {
  const v = flags[name];
  return Array.isArray(v) ? v : [];
}

/** An integer flag in [min, max]; undefined when absent. */
export function intFlag(flags: Flags, name: string, { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = {}): number | undefined {
  const raw = stringFlag(flags, name);
  if (raw === undefined) return undefined;
  return parseIntValue(raw, `--${name}`, { min, max });
}

export function parseIntValue(raw: string, what: string, { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = {}): number {
  const t = raw.trim();
  if (!/^[-+]?\d+$/.test(t)) throw new CliError(`${what} expects an integer, got '${raw}'`);
  const n = Number(t);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    // Limits of the wire format (int32) are not worth printing; ranges chosen by the command are.
    const range = max >= 2_147_483_647 ? `>= ${min}` : `in ${min}..${max}`;
    throw new CliError(`${what} expects an integer ${range}, got '${raw}'`);
  }
  return n;
}

/** A 64-bit integer (offsets), as bigint. */
export function parseBigIntValue(raw: string, what: string, { min = -(2n ** 63n) }: { min?: bigint } = {}): bigint {
  const t = raw.trim();
  if (!/^[-+]?\d+$/.test(t)) throw new CliError(`${what} expects an integer, got '${raw}'`);
  const n = BigInt(t);
  if (n < min || n >= 2n ** 63n) throw new CliError(`${what} expects an integer >= ${min}, got '${raw}'`);
  return n;
}

export function enumFlag<T extends string>(flags: Flags, name: string, values: readonly T[]): T | undefined {
  const raw = stringFlag(flags, name);
  if (raw === undefined) return undefined;
  if (!(values as readonly string[]).includes(raw)) throw new CliError(`--${name} expects one of ${values.join(', ')}, got '${raw}'`);
  return raw as T;
}

/** KEY=VALUE pairs of a repeatable flag, in order (the value may be empty and may contain '='). */
export function keyValueFlag(flags: Flags, name: string): Array<[string, string]> {
  return listFlag(flags, name).map((kv) => parseKeyValue(kv, `--${name}`));
}

export function parseKeyValue(kv: string, what: string): [string, string] {
  const eq = kv.indexOf('=');
  if (eq <= 0) throw new CliError(`${what} expects KEY=VALUE, got '${kv}'`);
  return [kv.slice(0, eq), kv.slice(eq + 1)];
}

/**
 * A point in time: milliseconds since the epoch, or an ISO-8601 date/time (`2026-01-31`,
 * `2026-01-31T12:00:00Z`; without a zone it is UTC, as kafka-consumer-groups.sh reads it).
 */
export function parseTimeValue(raw: string, what: string): number {
  const t = raw.trim();
  if (/^\d+$/.test(t)) return parseIntValue(t, what, { min: 0 });
  const iso = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(t);
  const ms = iso ? Date.parse(iso[4] || !iso[1] ? t : `${t}Z`) : NaN;
  if (!Number.isFinite(ms) || ms < 0) throw new CliError(`${what} expects milliseconds since the epoch or an ISO date (2026-01-31T12:00:00Z), got '${raw}'`);
  return ms;
}
