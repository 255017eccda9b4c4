/** A structured logging hook; the default writes one line per event to stderr. */
export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
}

function line(level: string, msg: string, fields?: Record<string, unknown>): string {
  const extra = fields
    ? ' ' +
      Object.entries(fields)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : v instanceof Error ? JSON.stringify(v.message) : JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x))}`)
        .join(' ')
    : '';
  return `${new Date().toISOString()} ${level} ${msg}${extra}\n`;
}

export function consoleLogger(opts: { debug?: boolean } = {}): Logger {
  return {
    info: (m, f) => process.stderr.write(line('INFO', m, f)),
    warn: (m, f) => process.stderr.write(line('WARN', m, f)),
    error: (m, f) => process.stderr.write(line('ERROR', m, f)),
    debug: opts.debug ? (m, f) => process.stderr.write(line('DEBUG', m, f)) : () => {},
  };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {}, debug() {} };
