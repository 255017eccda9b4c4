/**
 * Deserializers turn record bytes into application values, the consumer's counterpart of the
 * producer's serializers. A consumer without them hands out Buffer (or null); with
 * `keyDeserializer` / `valueDeserializer` it hands out what they return. One that throws stops
 * that partition at the record (DeserializationError names it); seek() past it to go on, as with
 * Java's RecordDeserializationException.
 */
export type Deserializer<T> = (bytes: Buffer | null, topic: string) => T;

export const deserializers = Object.freeze({
  /** UTF-8 strings; null stays null. */
  string: ((b: Buffer | null) => (b === null ? null : b.toString('utf8'))) as Deserializer<string | null>,
  /** JSON.parse of UTF-8; null stays null. */
  json: ((b: Buffer | null) => (b === null ? null : (JSON.parse(b.toString('utf8')) as unknown))) as Deserializer<unknown>,
  /** Bytes as they are (views of the fetched data: copy them to keep them long). */
  buffer: ((b: Buffer | null) => b) as Deserializer<Buffer | null>,
});

/** A record's key or value could not be deserialized. Not retriable: the same bytes fail again. */
export class DeserializationError extends Error {
  override readonly name = 'DeserializationError';
  readonly retriable = false;
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly offset: bigint,
    readonly field: 'key' | 'value',
    options?: { cause?: unknown },
  ) {
    super(`cannot deserialize the ${field} of ${topic}-${partition}@${offset}: ${(options?.cause as Error | undefined)?.message ?? 'deserializer failed'}; seek past it to go on`, options);
  }
}
