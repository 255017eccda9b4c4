import type { Records } from './message-codec.js';

/**
 * A `records` field as one Buffer (null stays null). Decoded messages always hold a Buffer or
 * null, so this only copies for chunk lists built for encoding.
 */
export function recordsToBuffer(records: Records): Buffer | null {
  if (records === null || Buffer.isBuffer(records)) return records;
  const chunks = records as readonly Buffer[];
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}
