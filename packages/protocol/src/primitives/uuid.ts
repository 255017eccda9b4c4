import { randomFillSync } from 'node:crypto';

/**
 * Uuids are strings in Kafka's display form: the 16 bytes as URL-safe base64 without padding
 * (22 characters), exactly what Kafka's `Uuid.toString()` prints and its tools accept.
 */
export type Uuid = string;

/** All zeros: Kafka's "no uuid" (`Uuid.ZERO_UUID`). */
export const ZERO_UUID: Uuid = 'AAAAAAAAAAAAAAAAAAAAAA';
/** 0…01: the topic id reserved for `__cluster_metadata` (`Uuid.METADATA_TOPIC_ID`, also `Uuid.ONE_UUID`). */
export const METADATA_TOPIC_ID: Uuid = 'AAAAAAAAAAAAAAAAAAAAAQ';

const UUID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

export function isUuid(s: string): boolean {
  return UUID_PATTERN.test(s) && Buffer.from(s, 'base64url').toString('base64url') === s;
}

/** The 16 bytes of a uuid string; throws a TypeError if it is not a valid uuid. */
export function uuidToBytes(uuid: Uuid): Buffer {
  if (!UUID_PATTERN.test(uuid)) throw new TypeError(`invalid uuid ${JSON.stringify(uuid)}`);
  const bytes = Buffer.from(uuid, 'base64url');
  if (bytes.length !== 16) throw new TypeError(`invalid uuid ${JSON.stringify(uuid)}`);
  return bytes;
}

/** The uuid string of 16 bytes at `offset`. */
export function uuidFromBytes(bytes: Uint8Array, offset = 0): Uuid {
  if (offset < 0 || offset + 16 > bytes.length) throw new RangeError('uuidFromBytes: need 16 bytes');
  return Buffer.from(bytes.buffer, bytes.byteOffset + offset, 16).toString('base64url');
}

/** Source of random bytes, injectable so that tests and simulations can be replayed. */
export type RandomFill = (bytes: Uint8Array) => void;

const defaultRandomFill: RandomFill = (bytes) => {
  randomFillSync(bytes);
};

/**
 * A new random (version 4) uuid, following Kafka's `Uuid.randomUuid()`: never ZERO_UUID or the
 * metadata topic id (Kafka's reserved ids), and never one whose string form starts with '-' (it
 * would look like a command-line option to Kafka's tools). Kafka trunk went further in KAFKA-20072
 * and rejects a '-' anywhere (member ids built from it are split on '-' by some tools); we follow
 * the stricter rule, which implies the older one.
 */
export function randomUuid(randomFill: RandomFill = defaultRandomFill): Uuid {
  const bytes = Buffer.alloc(16);
  for (;;) {
    randomFill(bytes);
    bytes[6] = (bytes[6]! & 0x0f) | 0x40; // version 4, as java.util.UUID.randomUUID()
    bytes[8] = (bytes[8]! & 0x3f) | 0x80; // IETF variant
    const s = bytes.toString('base64url');
    if (s !== ZERO_UUID && s !== METADATA_TOPIC_ID && !s.includes('-')) return s;
  }
}
