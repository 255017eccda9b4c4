/**
 * The records of __consumer_offsets, in Kafka's own layout so Kafka's tools decode them
 * (kafka-dump-log --offsets-decoder, GroupMetadataMessageFormatter):
 *   key   = int16 record type (the schema's apiKey: 1 offset commit, 2 group metadata, 3.. consumer
 *           groups) followed by the key struct at version 0;
 *   value = int16 value version followed by the value struct, or null for a tombstone.
 * The codecs are generated from ../shared/kafka-protocol/internal/group-coordinator.
 */
import {
  DecodeError,
  Reader,
  Writer,
  groupCoordinatorRecords,
  type CoordinatorRecordCodecs,
  type MessageCodec,
  type MessageInput,
} from '@fjord/protocol';

/** One record to append to a partition of __consumer_offsets. */
export interface CoordinatorRecord {
  key: Buffer;
  value: Buffer | null;
}

/** The record types (the key's int16 prefix) Fjord writes. */
export const RecordType = {
  OFFSET_COMMIT: 1,
  GROUP_METADATA: 2,
  CONSUMER_GROUP_METADATA: 3,
  CONSUMER_GROUP_PARTITION_METADATA: 4,
  CONSUMER_GROUP_MEMBER_METADATA: 5,
  CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA: 6,
  CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER: 7,
  CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT: 8,
} as const;

/** Encodes a coordinator record; `value === null` writes a tombstone. */
export function encodeRecord<K, V>(
  keyCodec: MessageCodec<K> & { recordType?: number },
  key: MessageInput<K>,
  valueCodec: MessageCodec<V>,
  valueVersion: number,
  value: MessageInput<V> | null,
): CoordinatorRecord {
  const recordType = keyCodec.recordType;
  if (recordType === undefined) throw new Error(`${keyCodec.name} is not a coordinator key`);
  const kw = new Writer(64);
  kw.writeInt16(recordType);
  keyCodec.encode(kw, key, 0);
  if (value === null) return { key: kw.toBuffer(), value: null };
  const vw = new Writer(128);
  vw.writeInt16(valueVersion);
  valueCodec.encode(vw, value, valueVersion);
  return { key: kw.toBuffer(), value: vw.toBuffer() };
}

export interface DecodedRecord {
  recordType: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  key: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  value: any | null;
  valueVersion: number;
}

/**
 * Decodes a record read back from __consumer_offsets. Returns undefined for a record type this
 * broker does not know (Kafka skips those too, so a newer broker's records do not stop a load);
 * throws DecodeError for bytes that do not parse.
 */
export function decodeRecord(key: Buffer | null, value: Buffer | null): DecodedRecord | undefined {
  if (key === null || key.length < 2) throw new DecodeError('coordinator record without a key', 0);
  const recordType = key.readInt16BE(0);
  const codecs: CoordinatorRecordCodecs | undefined = groupCoordinatorRecords.get(recordType);
  if (!codecs) return undefined;
  const k = codecs.key.decode(new Reader(key, 2), codecs.key.minVersion);
  if (value === null) return { recordType, key: k, value: null, valueVersion: -1 };
  if (value.length < 2) throw new DecodeError('coordinator record value shorter than its version', 0);
  const valueVersion = value.readInt16BE(0);
  if (valueVersion < codecs.value.minVersion) throw new DecodeError(`${codecs.value.name} version ${valueVersion} is unknown`, 0);
  // A newer version than the schema knows is read as the newest known one: the fields Kafka may
  // add must be tagged (KIP-915), which the decoder keeps as unknown tagged fields.
  const v = Math.min(valueVersion, codecs.value.maxVersion);
  return { recordType, key: k, value: codecs.value.decode(new Reader(value, 2), v), valueVersion };
}
