/**
 * Serializers turn application values into record bytes. A producer without serializers takes
 * Buffer, Uint8Array, string (UTF-8) or null; with `keySerializer` / `valueSerializer` it takes
 * whatever they accept. A serializer that throws makes send() reject with InvalidRecordError.
 */
export type Serializer<T> = (value: T, topic: string) => Buffer | null;

export const serializers = Object.freeze({
  /** UTF-8 strings; null stays null (a tombstone value). */
  string: ((v: string | null) => (v === null ? null : Buffer.from(v, 'utf8'))) as Serializer<string | null>,
  /** JSON.stringify, UTF-8; null stays null. */
  json: ((v: unknown) => (v === null ? null : Buffer.from(JSON.stringify(v), 'utf8'))) as Serializer<unknown>,
  /** Bytes as they are. */
  buffer: ((v: Buffer | null) => v) as Serializer<Buffer | null>,
});
