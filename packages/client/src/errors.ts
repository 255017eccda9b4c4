/**
 * The client's errors. Expected failures from brokers are KafkaError (from @fjord/protocol: `code`,
 * `name` = Kafka's error name, `retriable` as Kafka classifies it). Operational faults each have
 * their own class with `cause` and structured fields; every one carries `retriable` too, so callers
 * can decide with one check.
 */
import { KafkaError, ErrorCode } from '@fjord/protocol/core';

export { KafkaError, ErrorCode };

/** A configuration value is missing, of the wrong type or out of range. Never retriable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly retriable = false;
  constructor(
    /** The option's name as passed to the client, e.g. 'lingerMs'. */
    readonly option: string,
    message: string,
  ) {
    super(`invalid config ${option}: ${message}`);
  }
}

/** An operation did not complete within its time limit. */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
  readonly retriable = true;
  constructor(
    /** What timed out, e.g. 'Produce request to broker 1 (localhost:9092)'. */
    readonly operation: string,
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(`${operation} timed out after ${timeoutMs} ms`, options);
  }
}

/** A fault at one broker address (the message starts with it); retriable. */
abstract class BrokerAddressError extends Error {
  readonly retriable = true;
  constructor(
    readonly address: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${address}: ${message}`, options);
  }
}

/** A connection to a broker could not be made or was lost; requests on it failed. */
export class ConnectionError extends BrokerAddressError {
  override readonly name = 'ConnectionError';
}

/** The broker sent something this client cannot decode (garbage, a frame over the limit, a wrong correlation id). */
export class ProtocolError extends BrokerAddressError {
  override readonly name = 'ProtocolError';
}

/** The client (or producer, admin) was closed; the operation cannot proceed. */
export class ClosedError extends Error {
  override readonly name = 'ClosedError';
  readonly retriable = false;
  constructor(what: string) {
    super(`${what} is closed`);
  }
}

/** The broker does not support any version of an API this client can speak. */
export class UnsupportedVersionError extends KafkaError {
  constructor(
    readonly apiName: string,
    readonly address: string,
  ) {
    super(ErrorCode.UNSUPPORTED_VERSION, `${address} supports no version of ${apiName} this client implements`);
  }
}

/** A Kafka error code raised with the context it happened in. */
export function kafkaError(code: number, context: string, serverMessage?: string | null): KafkaError {
  const e = new KafkaError(code);
  const detail = serverMessage ? `${serverMessage}` : e.message;
  return new KafkaError(code, `${context}: ${detail}`);
}

/** Whether an error (any kind) may succeed when retried. */
export function isRetriable(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { retriable?: unknown }).retriable === true;
}
