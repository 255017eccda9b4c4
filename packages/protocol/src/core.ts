/**
 * @fjord/protocol/core: everything in @fjord/protocol except the message codecs, so that a program
 * which sends a few APIs (the client) loads those APIs' generated modules
 * (`@fjord/protocol/generated/<api>.js`) and not all of them.
 */
export { DecodeError, EncodeError } from './decode-error.js';
export { Writer, rawByReferenceBytesMin } from './primitives/writer.js';
export { Reader, emptyElementsMax } from './primitives/reader.js';
export { ZERO_UUID, METADATA_TOPIC_ID, isUuid, uuidToBytes, uuidFromBytes, randomUuid } from './primitives/uuid.js';
export type { Uuid, RandomFill } from './primitives/uuid.js';
export type {
  ApiInfo,
  CoordinatorRecordCodecs,
  MessageCodec,
  MessageInput,
  MessageKind,
  MessageOf,
  Records,
  TaggedField,
} from './message-codec.js';
export { recordsToBuffer } from './records-field.js';
export { loadNativeModules } from './native.js';
export * from './framing/index.js';
export * from './errors/error-codes.js';
export * from './records/index.js';
export * from './compression/index.js';
