/**
 * `fjord server`: runs a complete single-node broker in this process.
 * Precedence: Kafka defaults < --config FILE < --set key=value < the dedicated flags.
 */
import { readFileSync } from 'node:fs';
import { Broker, BrokerConfig, ConfigError, consoleLogger, parseHostPort, parseProperties } from '@fjord/broker';
import { CliError, parseFlags, type FlagSpec } from '../flags.js';

export const serverHelp = `Usage: fjord server [options]

Runs a single-node Fjord broker (a complete Kafka-compatible cluster of one).

Options:
  --listen HOST:PORT               where to accept connections (default 127.0.0.1:9092; port 0 picks one)
  --advertised-listener HOST:PORT  the address clients are told to use (default: the listen address)
  --data-dir DIR                   where data lives (default ./fjord-data)
  --node-id N                      broker id (default 1)
  --config FILE                    a Kafka-style server.properties file
  --set KEY=VALUE                  any broker config by its Kafka name; repeatable
  --verbose                        debug logging
  -h, --help                       this help

Examples:
  fjord server
  fjord server --listen 0.0.0.0:9092 --advertised-listener kafka.local:9092
  fjord server --data-dir /var/lib/fjord --set num.partitions=6 --set log.retention.hours=24
`;

/** The server's flags (exported for shell completion). */
export const serverFlags: FlagSpec = {
  listen: 'string',
  'advertised-listener': 'string',
  'data-dir': 'string',
  'node-id': 'string',
  config: 'string',
  set: 'list',
  verbose: 'boolean',
  help: 'boolean',
};

export async function serverCommand(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, serverFlags, { h: 'help' }, 'server');
  if (flags.help) {
    process.stdout.write(serverHelp);
    return 0;
  }
  if (flags._.length > 0) throw new CliError(`unexpected argument '${flags._[0]}' (see fjord server --help)`);
  const config = new BrokerConfig();
  const configFile = flags.config as string | undefined;
  if (configFile) {
    let text: string;
    try {
      text = readFileSync(configFile, 'utf8');
    } catch (err) {
      throw new CliError(`cannot read --config ${configFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    for (const [k, v] of parseProperties(text, configFile)) config.set(k, v);
  }
  for (const kv of (flags.set as string[] | undefined) ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new CliError(`--set expects KEY=VALUE, got '${kv}'`);
    config.set(kv.slice(0, eq).trim(), kv.slice(eq + 1));
  }
  if (!config.explicit('log.dirs') && !config.explicit('log.dir')) config.set('log.dir', './fjord-data');
  if (flags['data-dir']) {
    config.set('log.dirs', flags['data-dir'] as string);
  }
  if (flags['node-id'] !== undefined) config.set('node.id', flags['node-id'] as string);
  if (flags.listen) {
    const { host, port } = parseHostPort(flags.listen as string, '--listen');
    config.set('listeners', `PLAINTEXT://${host.includes(':') ? `[${host}]` : host}:${port}`);
  }
  if (flags['advertised-listener']) {
    const { host, port } = parseHostPort(flags['advertised-listener'] as string, '--advertised-listener');
    config.set('advertised.listeners', `PLAINTEXT://${host.includes(':') ? `[${host}]` : host}:${port}`);
  }

  const logger = consoleLogger({ debug: Boolean(flags.verbose) });
  // A test aid (the test harness sets it): Fetch's read buffers are overwritten when given back, so
  // a response still being written from reused buffers would reach the client as corrupt batches.
  const poisonOnRelease = process.env['FJORD_DEBUG_POISON_READ_BUFFERS'] === '1';
  const broker = new Broker({ config, logger, readBuffers: { poisonOnRelease } });
  // Signals are caught from the start: one that arrives while the broker starts (or right as it
  // prints the ready line) stops it cleanly once it is up, instead of killing it half-way.
  let signalled: ((signal: string) => void) | undefined;
  let pendingSignal: string | undefined;
  const onSignal = (signal: string): void => {
    if (signalled) signalled(signal);
    else pendingSignal ??= signal;
  };
  const onTerm = (): void => onSignal('SIGTERM');
  const onInt = (): void => onSignal('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  try {
    await broker.start();
  } catch (err) {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    if (err instanceof ConfigError) throw new CliError(err.message);
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') throw new CliError(`cannot listen on ${config.get('listeners')}: address already in use`);
    if (e.code === 'EACCES') throw new CliError(`cannot listen on ${config.get('listeners')} or open ${broker.dataDir}: permission denied`);
    // Damaged data the broker refuses to serve: the message names the file and what to do.
    if (e.name === 'MetadataFileError' || e.name === 'StorageError' || e.name === 'CheckpointFormatError') throw new CliError(e.message, 1);
    logger.error('broker failed to start', { error: e.stack ?? e.message });
    return 1;
  }
  const ep = broker.endpoint();
  const bound = broker.address();

  return new Promise<number>((resolve) => {
    let stopping = false;
    signalled = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      logger.info('shutting down', { signal });
      broker.stop().then(
        () => resolve(0),
        (err: unknown) => {
          logger.error('shutdown failed', { error: (err as Error).stack ?? String(err) });
          resolve(1);
        },
      );
    };
    process.stdout.write(`fjord: broker ${broker.nodeId} ready on ${bound.host}:${bound.port} (advertised ${ep.host}:${ep.port}, data ${broker.dataDir})\n`);
    if (pendingSignal) signalled(pendingSignal);
  });
}
