import type { Reader } from './primitives/reader.js';
import type { Writer } from './primitives/writer.js';

/** A tagged field the decoder did not know: kept as raw bytes and written back on encode. */
export interface TaggedField {
  tag: number;
  data: Buffer;
}

/**
 * A `records` field. Decoding gives a zero-copy slice (or null); encoding also accepts a list of
 * buffers written back to back (length prefix = total), each linked into the output without copying
 * when large, so fetch data read from segment files is never copied into the response.
 */
export type Records = Buffer | readonly Buffer[] | null;

/**
 * What `encode` accepts for a message of type T: every field may be left out (undefined), which
 * means the field's default. Decoded messages (complete) are valid input as they are.
 */
export type MessageInput<T> = T extends Buffer
  ? T
  : T extends readonly (infer E)[]
    ? readonly MessageInput<E>[]
    : T extends object
      ? { [K in keyof T]?: K extends 'unknownTaggedFields' ? T[K] : MessageInput<T[K]> }
      : T;

export type MessageKind = 'request' | 'response' | 'header' | 'data' | 'coordinator-key' | 'coordinator-value';

/**
 * The codec of one message (all versions): generated from the Kafka JSON schemas. Synchronous and
 * pure. `decode` throws only DecodeError; `encode` throws EncodeError when the message cannot be
 * written at that version without losing data.
 */
export interface MessageCodec<T> {
  readonly name: string;
  /** API key for requests and responses; -1 for headers and other structs. */
  readonly apiKey: number;
  readonly kind: MessageKind;
  /** For coordinator record keys and values: the int16 record type that prefixes the key. */
  readonly recordType?: number;
  readonly minVersion: number;
  readonly maxVersion: number;
  /** First flexible (compact + tagged fields) version; Infinity if none is. */
  readonly flexibleVersionsMin: number;
  /** The highest version is still under development upstream (hidden from ApiVersions by default). */
  readonly latestVersionUnstable: boolean;
  encode(w: Writer, message: MessageInput<T>, version: number): void;
  decode(r: Reader, version: number): T;
}

/** The message type a codec decodes to. */
export type MessageOf<C> = C extends MessageCodec<infer T> ? T : never;

/** One API key: its request and response codecs and version range (the union of current and legacy versions). */
export interface ApiInfo {
  readonly apiKey: number;
  /** The API's name without the Request/Response suffix, e.g. 'Produce'. */
  readonly name: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly request: MessageCodec<any>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly response: MessageCodec<any>;
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly flexibleVersionsMin: number;
  readonly latestVersionUnstable: boolean;
  /** Server roles that answer this API in Kafka: 'broker', 'controller'. */
  readonly listeners: readonly string[];
}

/** The key and value codecs of one record type of a coordinator's internal topic. */
export interface CoordinatorRecordCodecs {
  readonly recordType: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly key: MessageCodec<any>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly value: MessageCodec<any>;
}
