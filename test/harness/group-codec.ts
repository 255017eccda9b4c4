// Decoders for the consumer-group bytes the tests inspect, written from Kafka's published layouts and
// independent of @fjord/protocol (a codec bug there must not hide itself here):
// - the consumer protocol's subscription and assignment (the bytes in JoinGroup/SyncGroup and
//   DescribeGroups, ConsumerProtocolSubscription/Assignment v0-v3);
// - the records of __consumer_offsets (OffsetCommitKey/Value and GroupMetadataKey/Value).
import { Reader } from './wire.js';

function nullableString(r: Reader): string | null {
  const n = r.int16();
  return n < 0 ? null : r.raw(n).toString('utf8');
}

function nullableBytes(r: Reader): Buffer | null {
  const n = r.int32();
  return n < 0 ? null : r.raw(n);
}

function compactString(r: Reader): string | null {
  const n = r.uvarint() - 1;
  return n < 0 ? null : r.raw(n).toString('utf8');
}

function compactBytes(r: Reader): Buffer | null {
  const n = r.uvarint() - 1;
  return n < 0 ? null : r.raw(n);
}

function skipTaggedFields(r: Reader): void {
  const count = r.uvarint();
  for (let i = 0; i < count; i++) {
    r.uvarint();
    r.raw(r.uvarint());
  }
}

export interface Subscription {
  version: number;
  topics: string[];
}

/** ConsumerProtocolSubscription: int16 version, [string topic], bytes userData, (v1+) owned partitions... */
export function decodeSubscription(b: Buffer): Subscription {
  const r = new Reader(b);
  const version = r.int16();
  const topics: string[] = [];
  const n = r.int32();
  for (let i = 0; i < n; i++) topics.push(r.string());
  return { version, topics };
}

export interface Assignment {
  version: number;
  partitions: Map<string, number[]>;
}

/** ConsumerProtocolAssignment: int16 version, [string topic, [int32 partition]], bytes userData. */
export function decodeAssignment(b: Buffer): Assignment {
  const partitions = new Map<string, number[]>();
  if (b.length === 0) return { version: -1, partitions };
  const r = new Reader(b);
  const version = r.int16();
  const n = r.int32();
  for (let i = 0; i < n; i++) {
    const topic = r.string();
    const m = r.int32();
    const ps: number[] = [];
    for (let j = 0; j < m; j++) ps.push(r.int32());
    partitions.set(topic, ps.sort((x, y) => x - y));
  }
  return { version, partitions };
}

export type OffsetsTopicRecord =
  | { type: 'offset'; keyVersion: number; group: string; topic: string; partition: number; value: OffsetCommitValue | null }
  | { type: 'group'; keyVersion: number; group: string; value: GroupMetadataValue | null };

export interface OffsetCommitValue {
  version: number;
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
  commitTimestamp: number;
  expireTimestamp: number;
}

export interface GroupMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  subscription: Buffer | null;
  assignment: Buffer | null;
}

export interface GroupMetadataValue {
  version: number;
  protocolType: string;
  generation: number;
  protocol: string | null;
  leader: string | null;
  currentStateTimestamp: number;
  members: GroupMember[];
}

/** A __consumer_offsets record: key int16 version 0/1 = offset commit, 2 = group metadata; null value = tombstone. */
export function decodeOffsetsTopicRecord(key: Buffer, value: Buffer | null): OffsetsTopicRecord {
  const k = new Reader(key);
  const keyVersion = k.int16();
  if (keyVersion === 0 || keyVersion === 1) {
    const group = k.string();
    const topic = k.string();
    const partition = k.int32();
    return { type: 'offset', keyVersion, group, topic, partition, value: value === null ? null : decodeOffsetCommitValue(value) };
  }
  if (keyVersion === 2) {
    const group = k.string();
    return { type: 'group', keyVersion, group, value: value === null ? null : decodeGroupMetadataValue(value) };
  }
  throw new Error(`__consumer_offsets: unknown key version ${keyVersion}`);
}

/** OffsetCommitValue v0-v3 (fixed) and v4 (flexible). */
export function decodeOffsetCommitValue(b: Buffer): OffsetCommitValue {
  const r = new Reader(b);
  const version = r.int16();
  if (version < 0 || version > 4) throw new Error(`OffsetCommitValue: unknown version ${version}`);
  const flexible = version >= 4;
  const offset = r.int64n();
  const leaderEpoch = version >= 3 ? r.int32() : -1;
  const metadata = flexible ? compactString(r) : nullableString(r);
  const commitTimestamp = r.int64n();
  const expireTimestamp = version === 1 ? r.int64n() : -1;
  if (flexible) skipTaggedFields(r);
  if (r.pos !== b.length) throw new Error(`OffsetCommitValue v${version}: ${b.length - r.pos} bytes left over`);
  return { version, offset, leaderEpoch, metadata, commitTimestamp, expireTimestamp };
}

/** GroupMetadataValue v0-v3 (fixed) and v4 (flexible). */
export function decodeGroupMetadataValue(b: Buffer): GroupMetadataValue {
  const r = new Reader(b);
  const version = r.int16();
  if (version < 0 || version > 4) throw new Error(`GroupMetadataValue: unknown version ${version}`);
  const flexible = version >= 4;
  const str = (): string | null => (flexible ? compactString(r) : nullableString(r));
  const bytes = (): Buffer | null => (flexible ? compactBytes(r) : nullableBytes(r));
  const protocolType = str() ?? '';
  const generation = r.int32();
  const protocol = str();
  const leader = str();
  const currentStateTimestamp = version >= 2 ? r.int64n() : -1;
  const count = flexible ? r.uvarint() - 1 : r.int32();
  const members: GroupMember[] = [];
  for (let i = 0; i < count; i++) {
    const memberId = str() ?? '';
    const groupInstanceId = version >= 3 ? str() : null;
    const clientId = str() ?? '';
    const clientHost = str() ?? '';
    const rebalanceTimeoutMs = version >= 1 ? r.int32() : -1;
    const sessionTimeoutMs = r.int32();
    const subscription = bytes();
    const assignment = bytes();
    if (flexible) skipTaggedFields(r);
    members.push({ memberId, groupInstanceId, clientId, clientHost, rebalanceTimeoutMs, sessionTimeoutMs, subscription, assignment });
  }
  if (flexible) skipTaggedFields(r);
  if (r.pos !== b.length) throw new Error(`GroupMetadataValue v${version}: ${b.length - r.pos} bytes left over`);
  return { version, protocolType, generation, protocol, leader, currentStateTimestamp, members };
}

/** Java's String.hashCode (UTF-16 code units, int32 wrap-around). */
export function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** The __consumer_offsets partition Kafka keeps a group in: Utils.abs(groupId.hashCode) % partitions. */
export function offsetsPartitionFor(group: string, partitions: number): number {
  const h = javaStringHash(group);
  return (h === -2147483648 ? 0 : Math.abs(h)) % partitions;
}
