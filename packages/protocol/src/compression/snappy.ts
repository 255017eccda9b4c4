/**
 * Snappy as Kafka clients send it. Two encodings share codec id 2:
 *
 * - xerial framing (snappy-java's SnappyOutputStream, used by the Java client and by
 *   kafka-python): magic `82 'SNAPPY' 00`, int32 version, int32 compatible version, then
 *   blocks of int32 big-endian length + one raw snappy block each (32 KiB of input per block
 *   in the Java client). A second header may follow a block (concatenated streams).
 * - raw snappy, one block for the whole payload: librdkafka (rd_kafka_snappy_compress_iov)
 *   and kafkajs-snappy write this; the kcat/confluent and kafkajs Produce fixtures confirm it.
 *
 * Every reader accepts both: snappy-java falls back to raw when the magic is absent, librdkafka
 * checks the magic (and needs more than 20 bytes to take the framed path), kafkajs-snappy checks
 * the magic. We write the xerial form, as the Java client does.
 *
 * A raw block starts with its uncompressed length as an unsigned varint; we check it against
 * the caller's limit before the native decoder allocates anything.
 */
import { DecodeError } from '../decode-error.js';
import { onFirstUse } from '../native.js';

const snappy = onFirstUse<typeof import('snappy')>('snappy');

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;
const XERIAL_VERSION = 1;
const XERIAL_COMPATIBLE_VERSION = 1;
/** snappy-java's default block size, which Kafka's Java producer uses. */
const XERIAL_BLOCK_BYTES = 32 * 1024;

const PATH = 'snappy';

function isXerialHeader(data: Buffer, pos: number): boolean {
  return data.length - pos >= XERIAL_HEADER_BYTES && data.compare(XERIAL_MAGIC, 0, 8, pos, pos + 8) === 0;
}

/** The uncompressed length a raw snappy block declares (its unsigned varint preamble). */
function rawLength(block: Buffer, offset: number): number {
  let value = 0;
  for (let i = 0; i < 5; i++) {
    if (i >= block.length) break;
    const b = block[i]!;
    value += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) {
      if (value > 0xffffffff) break;
      return value;
    }
  }
  throw new DecodeError('snappy: bad length preamble', offset, PATH);
}

function decodeRawBlock(block: Buffer, room: number, offset: number): Buffer {
  const declared = rawLength(block, offset);
  if (declared > room) throw new DecodeError(`snappy: block of ${declared} bytes exceeds the remaining limit ${room}`, offset, PATH);
  let out: string | Buffer;
  try {
    out = snappy().uncompressSync(block);
  } catch (cause) {
    throw new DecodeError('snappy: corrupt block', offset, PATH, { cause });
  }
  if (!Buffer.isBuffer(out) || out.length !== declared) throw new DecodeError('snappy: block length mismatch', offset, PATH);
  return out;
}

/** Decodes xerial-framed or raw snappy; throws DecodeError past `maxBytes` of output. */
export function snappyDecompress(data: Buffer, maxBytes: number): Buffer {
  if (!isXerialHeader(data, 0)) return decodeRawBlock(data, maxBytes, 0);
  const chunks: Buffer[] = [];
  let total = 0;
  let pos = 0;
  while (pos < data.length) {
    if (isXerialHeader(data, pos)) {
      pos += XERIAL_HEADER_BYTES; // version fields are informational; snappy-java only warns
      continue;
    }
    if (data.length - pos < 4) throw new DecodeError('snappy: xerial block length is truncated', pos, PATH);
    const size = data.readInt32BE(pos);
    pos += 4;
    if (size < 0 || size > data.length - pos) throw new DecodeError(`snappy: xerial block of ${size} bytes overruns the input`, pos - 4, PATH);
    const out = decodeRawBlock(data.subarray(pos, pos + size), maxBytes - total, pos);
    chunks.push(out);
    total += out.length;
    pos += size;
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

/** Encodes in snappy-java's xerial framing with 32 KiB blocks, as Kafka's Java producer does. */
export function snappyCompress(data: Buffer): Buffer {
  const header = Buffer.allocUnsafe(XERIAL_HEADER_BYTES);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(XERIAL_VERSION, 8);
  header.writeInt32BE(XERIAL_COMPATIBLE_VERSION, 12);
  const parts: Buffer[] = [header];
  let total = header.length;
  // Empty input still gets one (empty) block: librdkafka only takes the framed path for
  // inputs longer than 20 bytes, and a bare 16-byte header would be misread as raw snappy.
  let pos = 0;
  do {
    const block = snappy().compressSync(data.subarray(pos, Math.min(data.length, pos + XERIAL_BLOCK_BYTES)));
    const size = Buffer.allocUnsafe(4);
    size.writeInt32BE(block.length, 0);
    parts.push(size, block);
    total += 4 + block.length;
    pos += XERIAL_BLOCK_BYTES;
  } while (pos < data.length);
  return Buffer.concat(parts, total);
}
