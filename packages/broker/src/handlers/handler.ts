/**
 * The handler contract: one file per API key under handlers/, each exporting one defineHandler().
 * The registry (handlers/index.ts) is the single list; ApiVersions is derived from it.
 */
import type { MessageCodec } from '@fjord/protocol';
import type { BrokerContext } from '../broker-context.js';

/** Returned by a handler when Kafka sends no response (Produce with acks=0). */
export const NO_RESPONSE: unique symbol = Symbol('NO_RESPONSE');

/** Returned by a handler to close the connection instead of answering (Produce acks=0 with an error). */
export const CLOSE_CONNECTION: unique symbol = Symbol('CLOSE_CONNECTION');

export type HandlerResult<Res> = Res | typeof NO_RESPONSE | typeof CLOSE_CONNECTION;

export interface RequestContext {
  readonly broker: BrokerContext;
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
  /** Remote address, for logs. */
  readonly peer: string;
  /** Resolves when the connection closes; long waits (Fetch, acks=all) give up then. */
  readonly closed: AbortSignal;
  /**
   * For a pipelined handler whose ordered phase must wait (a transactions-v2 Produce that first
   * adds its partition to the transaction): the connection dispatches none of its next requests
   * until `until` settles, as Kafka mutes a channel while a request is in progress, so appends
   * from one connection still land in request order.
   */
  holdConnection(until: Promise<unknown>): void;
  /**
   * Runs `fn` once the socket no longer needs this request's response bytes: after they were
   * written to the kernel, or as soon as it is known they never will be (no response, an encoding
   * failure, the connection closed). Fetch gives its read buffers back here.
   */
  afterWrite(fn: () => void): void;
}

export interface Handler<Req = any, Res = any> {
  readonly apiKey: number;
  readonly name: string;
  readonly request: MessageCodec<Req>;
  readonly response: MessageCodec<Res>;
  readonly minVersion: number;
  readonly maxVersion: number;
  handle(ctx: RequestContext, request: Req): HandlerResult<Res> | Promise<HandlerResult<Res>>;
}

export function defineHandler<Req, Res>(spec: {
  request: MessageCodec<Req>;
  response: MessageCodec<Res>;
  /** Defaults to every version the schema lists. */
  minVersion?: number;
  maxVersion?: number;
  handle: Handler<Req, Res>['handle'];
}): Handler<Req, Res> {
  const name = spec.request.name.replace(/Request$/, '');
  return {
    apiKey: spec.request.apiKey,
    name,
    request: spec.request,
    response: spec.response,
    minVersion: spec.minVersion ?? spec.request.minVersion,
    maxVersion: spec.maxVersion ?? spec.request.maxVersion,
    handle: spec.handle,
  };
}
