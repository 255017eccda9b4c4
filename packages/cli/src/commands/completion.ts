/**
 * `fjord completion bash|zsh`: prints a completion script generated from the commands' own flag
 * tables, so it cannot drift from what the parser accepts. Topic and group names are completed by
 * asking the cluster (`fjord topics list`, `fjord groups list`, 1 s limit, errors ignored).
 */
import { allFlags, isGroup, type Command, type Leaf } from '../command.js';
import { commonFlags } from '../common.js';
import { CliError } from '../flags.js';
import { clientCommands } from '../registry.js';
import { perfGroup } from './perf.js';
import { serverFlags } from './server.js';

interface Node {
  /** 'topics create' or 'produce'. */
  path: string;
  summary: string;
  flags: string[];
  /** Flags that take a value, with the values to offer ([] = nothing known). */
  values: Record<string, string[]>;
  positional: string | undefined;
}

interface Top {
  name: string;
  summary: string;
  subcommands: Array<{ name: string; summary: string }>;
}

function leafNode(path: string, leaf: Leaf): Node {
  const spec = { ...commonFlags, ...leaf.flags };
  const values: Record<string, string[]> = {};
  for (const [f, kind] of Object.entries(spec)) if (kind !== 'boolean') values[`--${f}`] = leaf.values?.[f] ?? [];
  return { path, summary: leaf.summary, flags: allFlags(leaf), values, positional: leaf.positional };
}

/** Everything `fjord` accepts, for the scripts. */
export function catalog(): { tops: Top[]; nodes: Node[] } {
  const serverLeaf: Leaf = { name: 'server', summary: 'run a single-node broker', flags: serverFlags, help: '', values: { 'data-dir': ['@file'], config: ['@file'] }, run: async () => 0 };
  const nodes: Node[] = [{ ...leafNode('server', serverLeaf), flags: Object.keys(serverFlags).sort().map((f) => `--${f}`), values: Object.fromEntries(Object.entries(serverFlags).filter(([, k]) => k !== 'boolean').map(([f]) => [`--${f}`, serverLeaf.values?.[f] ?? []])) }];
  const tops: Top[] = [{ name: 'server', summary: serverLeaf.summary, subcommands: [] }];
  const add = (c: Command): void => {
    if (isGroup(c)) {
      tops.push({ name: c.name, summary: c.summary, subcommands: c.subcommands.map((s) => ({ name: s.name, summary: s.summary })) });
      for (const s of c.subcommands) nodes.push(leafNode(`${c.name} ${s.name}`, s));
    } else {
      tops.push({ name: c.name, summary: c.summary, subcommands: [] });
      nodes.push(leafNode(c.name, c));
    }
  };
  for (const c of clientCommands) add(c);
  add({ ...perfGroup, summary: 'load tests: produce, consume, end-to-end latency' });
  tops.push({ name: 'completion', summary: 'print a shell completion script', subcommands: [{ name: 'bash', summary: 'bash completion' }, { name: 'zsh', summary: 'zsh completion' }] });
  tops.push({ name: 'help', summary: 'list the commands', subcommands: [] });
  return { tops, nodes };
}

/** Single-quoted for sh. */
function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function bashScript(): string {
  const { tops, nodes } = catalog();
  const groups = tops.filter((t) => t.subcommands.length > 0);
  const flagCases = nodes.map((n) => `    ${q(n.path)}) flags=${q(n.flags.join(' '))}; positional=${q(n.positional ?? '')} ;;`).join('\n');
  const valueCases = nodes
    .flatMap((n) => Object.entries(n.values).map(([f, vs]) => `    ${q(`${n.path}|${f}`)}) values=${q(vs.join(' '))}; takes=1 ;;`))
    .join('\n');
  return `# bash completion for fjord. Load it with:  source <(fjord completion bash)
# or save it:  fjord completion bash > /etc/bash_completion.d/fjord
_fjord_names() {
  fjord "$1" list --timeout 1000 2>/dev/null | awk 'NR > 1 { print $1 }'
}
_fjord_offer() {
  local cur="$1" token w
  shift
  for token in "$@"; do
    case "$token" in
      @file) COMPREPLY+=( $(compgen -f -- "$cur") ) ;;
      @topic) COMPREPLY+=( $(compgen -W "$(_fjord_names topics)" -- "$cur") ) ;;
      @group) COMPREPLY+=( $(compgen -W "$(_fjord_names groups)" -- "$cur") ) ;;
      *) for w in $(compgen -W "$token" -- "$cur"); do COMPREPLY+=( "$w" ); done ;;
    esac
  done
}
_fjord() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" key flags="" positional="" values="" takes=0
  COMPREPLY=()
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=( $(compgen -W ${q(tops.map((t) => t.name).join(' '))} -- "$cur") )
    return 0
  fi
  case "\${COMP_WORDS[1]}" in
${groups.map((g) => `    ${g.name})\n      if [[ $COMP_CWORD -eq 2 ]]; then COMPREPLY=( $(compgen -W ${q(g.subcommands.map((s) => s.name).join(' '))} -- "$cur") ); return 0; fi\n      key="\${COMP_WORDS[1]} \${COMP_WORDS[2]}" ;;`).join('\n')}
    *) key="\${COMP_WORDS[1]}" ;;
  esac
  case "$key" in
${flagCases}
    *) return 0 ;;
  esac
  case "$key|$prev" in
${valueCases}
  esac
  if [[ $takes -eq 1 ]]; then
    [[ -n "$values" ]] && _fjord_offer "$cur" $values
    return 0
  fi
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$flags" -- "$cur") )
  elif [[ -n "$positional" ]]; then
    _fjord_offer "$cur" "$positional"
  fi
  return 0
}
complete -o default -F _fjord fjord
`;
}

export function zshScript(): string {
  const { tops, nodes } = catalog();
  const groups = tops.filter((t) => t.subcommands.length > 0);
  const desc = (items: Array<{ name: string; summary: string }>): string => items.map((i) => q(`${i.name}:${i.summary.replace(/:/g, '\\:')}`)).join(' ');
  return `#compdef fjord
# zsh completion for fjord. Load it with:  source <(fjord completion zsh)   (after compinit)
# or save it as _fjord in a directory of your $fpath.
_fjord_names() {
  fjord "$1" list --timeout 1000 2>/dev/null | awk 'NR > 1 { print $1 }'
}
_fjord_offer() {
  local token
  for token in "$@"; do
    case "$token" in
      @file) _files ;;
      @topic) compadd -- \${(f)"$(_fjord_names topics)"} ;;
      @group) compadd -- \${(f)"$(_fjord_names groups)"} ;;
      *) compadd -- \${=token} ;;
    esac
  done
}
_fjord() {
  local key prev="\${words[CURRENT-1]}" flags="" positional="" values="" takes=0
  local -a items
  if (( CURRENT == 2 )); then
    items=(${desc(tops)})
    _describe -t commands 'fjord command' items
    return
  fi
  case "\${words[2]}" in
${groups.map((g) => `    ${g.name})\n      if (( CURRENT == 3 )); then items=(${desc(g.subcommands)}); _describe -t subcommands 'fjord ${g.name} subcommand' items; return; fi\n      key="\${words[2]} \${words[3]}" ;;`).join('\n')}
    *) key="\${words[2]}" ;;
  esac
  case "$key" in
${nodes.map((n) => `    ${q(n.path)}) flags=${q(n.flags.join(' '))}; positional=${q(n.positional ?? '')} ;;`).join('\n')}
    *) return 1 ;;
  esac
  case "$key|$prev" in
${nodes.flatMap((n) => Object.entries(n.values).map(([f, vs]) => `    ${q(`${n.path}|${f}`)}) values=${q(vs.join(' '))}; takes=1 ;;`)).join('\n')}
  esac
  if (( takes )); then
    [[ -n "$values" ]] && _fjord_offer \${=values}
    return
  fi
  if [[ "$PREFIX" == -* ]]; then
    compadd -- \${=flags}
  elif [[ -n "$positional" ]]; then
    _fjord_offer "$positional"
  fi
}
if (( $+functions[compdef] )); then
  compdef _fjord fjord
fi
`;
}

export const completionHelp = `Usage: fjord completion bash|zsh

Prints a shell completion script for commands, subcommands, flags and flag values; topic and
group names are completed by asking the cluster (FJORD_BOOTSTRAP).

Examples:
  source <(fjord completion bash)                    # this shell
  fjord completion bash > /etc/bash_completion.d/fjord
  source <(fjord completion zsh)                     # in ~/.zshrc, after compinit
`;

export async function completionCommand(argv: string[]): Promise<number> {
  const [shell, ...rest] = argv;
  if (shell === '--help' || shell === '-h' || shell === 'help') {
    process.stdout.write(completionHelp);
    return 0;
  }
  if (rest.length > 0) throw new CliError(`unexpected argument '${rest[0]}' (see 'fjord completion --help')`);
  if (shell === 'bash') process.stdout.write(bashScript());
  else if (shell === 'zsh') process.stdout.write(zshScript());
  else throw new CliError(shell === undefined ? `missing shell: fjord completion bash|zsh` : `unknown shell '${shell}': fjord completion bash|zsh`);
  return 0;
}
