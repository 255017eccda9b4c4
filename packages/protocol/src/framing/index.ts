/**
 * Frames: on TCP every request and response is an int32 size followed by that many bytes (header +
 * body). These helpers read sizes, read request headers (picking the header version from the API
 * key and version), and write whole frames as chunk lists ready for `writev`.
 */
import { DecodeError } from '../decode-error.js';
import type { MessageCodec, MessageInput, TaggedField } from '../message-codec.js';
import { Reader } from '../primitives/reader.js';
import { Writer } from '../primitives/writer.js';
import { RequestHeader, ResponseHeader, hasApiVersion, requestHeaderVersion, responseHeaderVersion } from '../generated/headers.js';

/** Bytes of the size prefix. */
export const frameSizeBytes = 4;

/**
 * The size announced by the frame prefix at `offset`, or -1 if fewer than 4 bytes are available.
 * Callers must check it against their limit (and against negative sizes) before buffering the frame.
 */
export function readFrameSize(buf: Buffer, offset = 0): number {
  if (buf.length - offset < frameSizeBytes) return -1;
  return buf.readInt32BE(offset);
}

export interface RequestHeaderInfo {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  /** Null when the client sent a null client id (and always for header v0). */
  clientId: string | null;
  /** Header v2 tagged fields (none are defined in Kafka 4.x). */
  unknownTaggedFields?: TaggedField[];
}

export interface DecodedRequestHeader {
  header: RequestHeaderInfo;
  /** 0, 1 or 2. */
  headerVersion: number;
  /** Where the request body starts in the frame. */
  bodyOffset: number;
  /** The API key and version are ones this package has codecs for. */
  supported: boolean;
}

/**
 * Reads the request header of a frame (without its size prefix). apiKey and apiVersion are read
 * first and choose the header version. For an API key or version without codecs the header is read
 * as v1 (apiKey, apiVersion, correlationId, clientId; no tagged fields), which is enough to answer
 * (ApiVersions) or to close the connection; then `supported` is false and the body offset is only
 * meaningful for header v1. Throws DecodeError if the header itself is malformed.
 */
export function decodeRequestHeader(frame: Buffer, offset = 0, end: number = frame.length): DecodedRequestHeader {
  const r = new Reader(frame, offset, end);
  if (r.remaining < 4) throw new DecodeError('request header is truncated', offset, 'RequestHeader');
  const apiKey = frame.readInt16BE(offset);
  const apiVersion = frame.readInt16BE(offset + 2);
  const supported = hasApiVersion(apiKey, apiVersion);
  const wanted = requestHeaderVersion(apiKey, apiVersion);
  const headerVersion = supported || wanted === 0 ? wanted : 1;
  const h = RequestHeader.decode(r, headerVersion);
  const header: RequestHeaderInfo = {
    apiKey: h.requestApiKey,
    apiVersion: h.requestApiVersion,
    correlationId: h.correlationId,
    clientId: headerVersion === 0 ? null : h.clientId,
  };
  if (h.unknownTaggedFields) header.unknownTaggedFields = h.unknownTaggedFields;
  return { header, headerVersion, bodyOffset: r.pos, supported };
}

/**
 * Encodes a whole response frame: size prefix, response header of the right version for the API
 * version, and the body. Returns chunks for `writev` (large record data inside stays by reference).
 */
export function encodeResponseFrame<T>(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  codec: MessageCodec<T>,
  body: MessageInput<T>,
  initialBytes?: number,
): Buffer[] {
  const w = new Writer(initialBytes);
  const sizeAt = w.reserveInt32();
  ResponseHeader.encode(w, { correlationId }, responseHeaderVersion(apiKey, apiVersion));
  codec.encode(w, body, apiVersion);
  w.setInt32At(sizeAt, w.length - frameSizeBytes);
  return w.toChunks();
}

/** Encodes a whole request frame (size prefix, request header, body), as a client sends it. */
export function encodeRequestFrame<T>(
  apiVersion: number,
  correlationId: number,
  clientId: string | null,
  codec: MessageCodec<T>,
  body: MessageInput<T>,
): Buffer[] {
  const w = new Writer();
  const sizeAt = w.reserveInt32();
  const headerVersion = requestHeaderVersion(codec.apiKey, apiVersion);
  RequestHeader.encode(
    w,
    { requestApiKey: codec.apiKey, requestApiVersion: apiVersion, correlationId, clientId },
    headerVersion,
  );
  codec.encode(w, body, apiVersion);
  w.setInt32At(sizeAt, w.length - frameSizeBytes);
  return w.toChunks();
}

/**
 * Reads the response header of a frame (without its size prefix) for a request of `apiKey` at
 * `apiVersion`; returns the correlation id and where the body starts.
 */
export function decodeResponseHeader(
  frame: Buffer,
  apiKey: number,
  apiVersion: number,
  offset = 0,
  end: number = frame.length,
): { correlationId: number; headerVersion: number; bodyOffset: number } {
  const r = new Reader(frame, offset, end);
  const headerVersion = responseHeaderVersion(apiKey, apiVersion);
  const h = ResponseHeader.decode(r, headerVersion);
  return { correlationId: h.correlationId, headerVersion, bodyOffset: r.pos };
}
