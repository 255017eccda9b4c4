/**
 * KafkaJS's logging contract: a `logLevel` scale, a `logCreator(level)` returning the function that
 * receives `{ namespace, level, label, log: { timestamp, message, ...extra } }`, and `Logger`
 * objects with info/warn/error/debug/namespace/setLogLevel. @fjord/client's logger hook feeds it:
 * each client entry becomes one KafkaJS entry whose namespace is the entry's component.
 */
import type { LogEntry, Logger as FjordLogger } from '../logger.js';

export const logLevel = { NOTHING: 0, ERROR: 1, WARN: 2, INFO: 4, DEBUG: 5 } as const;
export type logLevel = (typeof logLevel)[keyof typeof logLevel];

export interface LoggerEntryContent {
  readonly timestamp: string;
  readonly message: string;
  [key: string]: unknown;
}

export interface LogEntryKafkaJS {
  namespace: string;
  level: logLevel;
  label: string;
  log: LoggerEntryContent;
}

export type logCreator = (level: logLevel) => (entry: LogEntryKafkaJS) => void;

export interface Logger {
  info(message: string, extra?: object): void;
  error(message: string, extra?: object): void;
  warn(message: string, extra?: object): void;
  debug(message: string, extra?: object): void;
  namespace(namespace: string, level?: logLevel): Logger;
  setLogLevel(level: logLevel): void;
}

const labels: Record<number, string> = { 1: 'ERROR', 2: 'WARN', 4: 'INFO', 5: 'DEBUG' };

/** Without a logCreator: one JSON line per entry on the console, as KafkaJS users are used to seeing. */
export const consoleLogCreator: logCreator = () => (entry) => {
  const line = JSON.stringify({ level: entry.label, ...entry.log, logger: 'kafkajs', namespace: entry.namespace || undefined });
  if (entry.level === logLevel.ERROR) console.error(line);
  else if (entry.level === logLevel.WARN) console.warn(line);
  else console.log(line);
};

/** The root logger of one Kafka instance; namespaces share its level unless given their own. */
export function createLogger(creator: logCreator, initialLevel: logLevel): Logger {
  let rootLevel: logLevel = initialLevel;
  let sink: (entry: LogEntryKafkaJS) => void;
  try {
    sink = creator(initialLevel);
  } catch {
    sink = () => {};
  }
  if (typeof sink !== 'function') sink = () => {};
  const make = (ns: string, ownLevel: logLevel | undefined): Logger => {
    const emit = (level: logLevel, message: string, extra?: object): void => {
      if (level > (ownLevel ?? rootLevel) || level === logLevel.NOTHING) return;
      try {
        sink({ namespace: ns, level, label: labels[level] ?? 'INFO', log: { timestamp: new Date().toISOString(), logger: 'kafkajs', message, ...extra } });
      } catch {
        /* a broken log function must not break the client */
      }
    };
    return {
      info: (m, e) => emit(logLevel.INFO, m, e),
      error: (m, e) => emit(logLevel.ERROR, m, e),
      warn: (m, e) => emit(logLevel.WARN, m, e),
      debug: (m, e) => emit(logLevel.DEBUG, m, e),
      namespace: (child, level) => make(ns ? `${ns}.${child}` : child, level ?? ownLevel),
      setLogLevel: (level) => {
        rootLevel = level;
      },
    };
  };
  return make('', undefined);
}

const fromFjord = { error: logLevel.ERROR, warn: logLevel.WARN, info: logLevel.INFO, debug: logLevel.DEBUG } as const;

/** @fjord/client's logger hook writing into a KafkaJS logger (component -> namespace). */
export function fjordLoggerFor(logger: Logger, tap?: (entry: LogEntry) => void): FjordLogger {
  const byComponent = new Map<string, Logger>();
  return (entry) => {
    tap?.(entry);
    const { component, ...fields } = entry.fields ?? {};
    const ns = typeof component === 'string' ? component : 'fjord';
    let l = byComponent.get(ns);
    if (!l) byComponent.set(ns, (l = logger.namespace(ns)));
    const level = fromFjord[entry.level];
    if (level === logLevel.ERROR) l.error(entry.message, fields);
    else if (level === logLevel.WARN) l.warn(entry.message, fields);
    else if (level === logLevel.INFO) l.info(entry.message, fields);
    else l.debug(entry.message, fields);
  };
}
