/** The `fjord` command. */
import { CliError } from './flags.js';
import { runCommand } from './command.js';
import { clientCommands } from './registry.js';
import { describeError, exitCodes, installPipeGuard } from './common.js';

const usage = `Usage: fjord <command> [options]

Commands:
  server     run a single-node broker (fjord server --help)
  topics     list|create|describe|alter|delete|add-partitions topics
  produce    write records from stdin or a file
  consume    print records (from an offset or a time; as a group member or not)
  groups     list|describe|delete consumer groups (lag per partition), reset-offsets
  configs    get|set|delete topic and broker configs
  records    delete records below an offset
  cluster    info: cluster id, controller, brokers
  completion bash|zsh shell completion script
  perf       load tests: perf produce|consume|e2e (throughput, latency percentiles)

Run 'fjord <command> --help' for a command's options and examples.
Every client command takes --bootstrap HOST:PORT (env FJORD_BOOTSTRAP, default 127.0.0.1:9092),
--timeout MS and --verbose.

Exit codes: 0 ok, 1 operation failed (Kafka error, timeout), 2 usage error (unknown flag,
bad value, missing argument), 3 cannot connect to the cluster.
`;

/** Common flags given before the command (`fjord -b host:9092 topics list`) move after it. */
function hoistLeadingFlags(argv: string[]): string[] {
  const leading: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const a = argv[i]!;
    if (a === '--verbose') leading.push(argv[i++]!);
    else if (/^--(bootstrap|timeout)=/.test(a)) leading.push(argv[i++]!);
    else if ((a === '-b' || a === '--bootstrap' || a === '--timeout') && i + 1 < argv.length) leading.push(argv[i++]!, argv[i++]!);
    else break;
  }
  if (leading.length === 0 || i >= argv.length) return argv;
  const [command, ...rest] = argv.slice(i);
  const sub = rest[0] !== undefined && !rest[0].startsWith('-') ? [rest.shift()!] : [];
  return [command!, ...sub, ...leading, ...rest];
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = hoistLeadingFlags(argv);
  if (command !== 'server') installPipeGuard();
  const verbose = rest.includes('--verbose');
  try {
    switch (command) {
      // Loaded on demand: the broker's code is not needed by the client commands (faster start).
      case 'server':
        return await (await import('./commands/server.js')).serverCommand(rest);
      case 'perf':
        return await (await import('./commands/perf.js')).perfCommand(rest);
      case 'completion':
        return await (await import('./commands/completion.js')).completionCommand(rest);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(usage);
        return command === undefined ? 2 : 0;
      default: {
        const c = clientCommands.find((x) => x.name === command);
        if (c) return await runCommand(c, rest);
        throw new CliError(`unknown command '${command}' (run 'fjord --help')`);
      }
    }
  } catch (err) {
    // Client commands: one line naming the problem (a stack only with --verbose) and a documented exit code.
    if (command !== 'server') {
      const { message, exitCode } = describeError(err, verbose);
      process.stderr.write(`fjord: ${message}\n`);
      return exitCode;
    }
    if (err instanceof CliError) {
      process.stderr.write(`fjord: ${err.message}\n`);
      return err.exitCode;
    }
    if ((err as Error).name === 'ConfigError') {
      process.stderr.write(`fjord: ${(err as Error).message}\n`);
      return exitCodes.usage;
    }
    process.stderr.write(`fjord: ${verbose ? ((err as Error).stack ?? String(err)) : (err as Error).message}\n`);
    return exitCodes.failed;
  }
}
