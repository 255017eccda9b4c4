/** Structured logging hook: the client never writes to the console by itself. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogEntry {
  level: LogLevel;
  message: string;
  /** Structured context: broker address, node id, api, topic, partition, error. */
  fields?: Record<string, unknown>;
}

export type Logger = (entry: LogEntry) => void;

export const noopLogger: Logger = () => {};

/** Calls the hook and swallows anything it throws: a broken logger must not break the client. */
export function safeLogger(logger: Logger | undefined): Logger {
  if (!logger) return noopLogger;
  return (entry) => {
    try {
      logger(entry);
    } catch {
      /* ignore */
    }
  };
}
