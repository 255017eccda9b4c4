/** A small, strict flag parser: unknown flags and missing values are errors that name the flag. */
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

export function parseFlags(argv: string[], spec: FlagSpec, short: Record<string, string> = {}): Flags {
  const out: Flags = { _: [] };
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
    } else {
      out._.push(arg);
      continue;
    }
    const kind = spec[name!];
    if (!kind) throw new CliError(`unknown flag ${arg}`);
    if (kind === 'boolean') {
      if (inline !== undefined) throw new CliError(`flag --${name} takes no value`);
      out[name!] = true;
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new CliError(`flag --${name} needs a value`);
    if (kind === 'list') out[name!] = [...((out[name!] as string[] | undefined) ?? []), value];
    else out[name!] = value;
  }
  return out;
}
