/**
 * How a client command is described: its flags (for parsing, help and shell completion), its help
 * text and what it runs. A command either runs itself (`fjord produce`) or has subcommands
 * (`fjord topics create`).
 */
import { commonFlags, parseCommand, type Context } from './common.js';
import { CliError, type FlagSpec } from './flags.js';

export interface Leaf {
  name: string;
  summary: string;
  /** The command's own flags; the common ones (commonFlags) are added. */
  flags: FlagSpec;
  short?: Record<string, string>;
  help: string;
  /** For shell completion: a flag's values ('@topic', '@group' and '@file' are looked up / files). */
  values?: Record<string, string[]>;
  /** For shell completion: what the positional arguments name. */
  positional?: '@topic' | '@group';
  run(ctx: Context): Promise<number>;
}

export interface Group {
  name: string;
  summary: string;
  subcommands: Leaf[];
}

export type Command = Leaf | Group;

export function isGroup(c: Command): c is Group {
  return 'subcommands' in c;
}

export function groupHelp(g: Group): string {
  const width = Math.max(...g.subcommands.map((s) => s.name.length));
  return `Usage: fjord ${g.name} <subcommand> [options]

${g.summary[0]!.toUpperCase()}${g.summary.slice(1)}.

Subcommands:
${g.subcommands.map((s) => `  ${s.name.padEnd(width)}  ${s.summary}`).join('\n')}

Run 'fjord ${g.name} <subcommand> --help' for its options and examples.
`;
}

/** Runs a command with the arguments after its name. */
export async function runCommand(c: Command, argv: string[]): Promise<number> {
  if (!isGroup(c)) return runLeaf(c, c.name, argv);
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(groupHelp(c));
    return sub === undefined ? 2 : 0;
  }
  const leaf = c.subcommands.find((s) => s.name === sub);
  if (!leaf) throw new CliError(`unknown subcommand '${sub}' for 'fjord ${c.name}' (one of: ${c.subcommands.map((s) => s.name).join(', ')})`);
  return runLeaf(leaf, `${c.name} ${leaf.name}`, rest);
}

async function runLeaf(leaf: Leaf, path: string, argv: string[]): Promise<number> {
  const ctx = parseCommand(argv, path, leaf.flags, leaf.help, leaf.short);
  if (!ctx) return 0;
  return leaf.run(ctx);
}

/** Every flag a leaf accepts (its own and the common ones), for completion. */
export function allFlags(leaf: Leaf): string[] {
  return [...new Set([...Object.keys(leaf.flags), ...Object.keys(commonFlags)])].sort().map((f) => `--${f}`);
}
