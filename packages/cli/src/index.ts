/** The `fjord` command. */
import { CliError } from './flags.js';
import { serverCommand } from './commands/server.js';

const usage = `Usage: fjord <command> [options]

Commands:
  server     run a single-node broker (fjord server --help)

Run 'fjord <command> --help' for a command's options.
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const verbose = rest.includes('--verbose');
  try {
    switch (command) {
      case 'server':
        return await serverCommand(rest);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(usage);
        return command === undefined ? 2 : 0;
      default:
        throw new CliError(`unknown command '${command}' (run 'fjord --help')`);
    }
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`fjord: ${err.message}\n`);
      return err.exitCode;
    }
    if ((err as Error).name === 'ConfigError') {
      process.stderr.write(`fjord: ${(err as Error).message}\n`);
      return 2;
    }
    process.stderr.write(`fjord: ${verbose ? ((err as Error).stack ?? String(err)) : (err as Error).message}\n`);
    return 1;
  }
}
