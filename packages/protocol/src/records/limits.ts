/** Limits of the records codec, with units in their names (STYLE: a limit on everything). */

/**
 * Default cap on a batch's decompressed records section in decodeBatch. Kafka's default
 * max.message.bytes is ~1 MiB of *compressed* bytes; 64 MiB leaves room for ratios far beyond
 * what real producers reach while bounding what a hostile batch can make us allocate.
 */
export const decompressedBatchBytesMax = 64 * 1024 * 1024;
