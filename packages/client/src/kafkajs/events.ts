/**
 * KafkaJS's instrumentation events: `on(eventName, listener)` returns a remover; listeners receive
 * `{ id, type, timestamp, payload }`. A listener that throws or rejects is logged, never rethrown.
 */
import { KafkaJSNonRetriableError } from './errors.js';
import type { Logger } from './logger.js';

export interface InstrumentationEvent<T> {
  id: string;
  type: string;
  timestamp: number;
  payload: T;
}

export type RemoveInstrumentationEventListener = () => void;

let nextEventId = 0;

export class Instrumentation<Names extends Record<string, string>> {
  private readonly listeners = new Map<string, Set<(event: InstrumentationEvent<unknown>) => unknown>>();

  constructor(
    readonly events: Names,
    private readonly logger: Logger,
  ) {}

  on(eventName: string, listener: (event: InstrumentationEvent<any>) => unknown): RemoveInstrumentationEventListener {
    const known = Object.values(this.events);
    if (!known.includes(eventName)) throw new KafkaJSNonRetriableError(`Event name should be one of ${known.join(', ')}`);
    let set = this.listeners.get(eventName);
    if (!set) this.listeners.set(eventName, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  emit(eventName: string, payload: unknown): void {
    const set = this.listeners.get(eventName);
    if (!set || set.size === 0) return;
    const event: InstrumentationEvent<unknown> = { id: String(nextEventId++), type: eventName, timestamp: Date.now(), payload };
    for (const l of [...set]) {
      Promise.resolve()
        .then(() => l(event))
        .catch((e: Error) => this.logger.error(`Failed to execute listener: ${e?.message}`, { eventName, stack: e?.stack }));
    }
  }
}
