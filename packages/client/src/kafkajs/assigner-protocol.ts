/**
 * KafkaJS's `AssignerProtocol`: the bytes of a classic consumer group's member metadata (Kafka's
 * ConsumerProtocolSubscription) and member assignment (ConsumerProtocolAssignment), each behind a
 * 2-byte version, in KafkaJS's shapes. Applications use it to read `describeGroups()` members
 * (`MemberAssignment.decode(member.memberAssignment)`); the bytes are Kafka's, so what a Java or
 * librdkafka member wrote decodes too (fields of later versions are read and left out).
 *
 * One difference in what is written: KafkaJS writes member metadata's version-0 fields (topics,
 * user data) behind whatever version it is given, where this writes Kafka's fields of that version
 * (owned partitions from 1, generation from 2, rack from 3). KafkaJS reads both; so does decode().
 */
import { DecodeError } from '@fjord/protocol/core';
import { ConsumerProtocolAssignment } from '@fjord/protocol/generated/data/consumer-protocol-assignment.js';
import { ConsumerProtocolSubscription } from '@fjord/protocol/generated/data/consumer-protocol-subscription.js';
import { encodeAssignment, encodeSubscription, readAssignment, readSubscription } from '../consumer/group.js';

// `userData` is typed Buffer, as in KafkaJS's types, so that code written against them compiles;
// like KafkaJS, decode() gives null where the member wrote none (Java members do).
export interface MemberMetadata {
  version: number;
  topics: string[];
  userData: Buffer;
}

/** topic -> partitions */
export type Assignment = Record<string, number[]>;

export interface MemberAssignment {
  version: number;
  assignment: Assignment;
  userData: Buffer;
}

export interface ISerializer<T> {
  encode(value: T): Buffer;
  decode(buffer: Buffer): T | null;
}

/** A version this client can write: KafkaJS writes what it is given; Kafka defines 0-3. */
function writableVersion(v: unknown, max: number): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`version must be an integer from 0 to ${max}, got ${String(v)}`);
  return v;
}

export const AssignerProtocol: { MemberMetadata: ISerializer<MemberMetadata>; MemberAssignment: ISerializer<MemberAssignment> } = {
  MemberMetadata: {
    encode({ version, topics, userData = Buffer.alloc(0) }: { version?: number; topics: string[]; userData?: Buffer | null }): Buffer {
      const v = writableVersion(version, ConsumerProtocolSubscription.maxVersion);
      return encodeSubscription({ topics, userData, ownedPartitions: [], generationId: -1, rackId: null }, v);
    },
    decode(buffer: Buffer): MemberMetadata {
      let read: ReturnType<typeof readSubscription>;
      try {
        read = readSubscription(buffer);
      } catch (e) {
        // KafkaJS writes version 0's fields (topics, user data) behind any version: read those.
        if (!(e instanceof DecodeError)) throw e;
        read = readSubscription(buffer, 0);
      }
      return { version: read.version, topics: read.subscription.topics, userData: read.subscription.userData as Buffer };
    },
  },
  MemberAssignment: {
    encode({ version, assignment, userData = Buffer.alloc(0) }: { version?: number; assignment: Assignment; userData?: Buffer | null }): Buffer {
      const v = writableVersion(version, ConsumerProtocolAssignment.maxVersion);
      return encodeAssignment({ assignedPartitions: Object.entries(assignment).map(([topic, partitions]) => ({ topic, partitions })), userData }, v);
    },
    /** null for an empty buffer (a member without an assignment yet), as KafkaJS. */
    decode(buffer: Buffer): MemberAssignment | null {
      if (buffer.length === 0) return null;
      const { version, assignment: a } = readAssignment(buffer);
      const assignment: Assignment = {};
      for (const t of a.assignedPartitions) (assignment[t.topic] ??= []).push(...t.partitions);
      return { version, assignment, userData: a.userData as Buffer };
    },
  },
};
