/**
 * LZ4 as Kafka uses it: the LZ4 *frame* format (KIP-57 made magic v1+ batches carry a correct
 * header checksum). The frame parsing is ours so every length is checked before anything is
 * allocated; each block is decoded by the native lz4-napi block decoder with an explicit
 * output bound (the frame's block maximum, or less when the caller's limit is closer).
 *
 * What the clients write (read from the Produce fixtures of kcat/confluent, kafka-python and
 * kafkajs, and from Kafka's Lz4BlockOutputStream):
 *   Java client      FLG 0x60 BD 0x40: independent 64 KiB blocks, no checksums, no content size
 *   librdkafka       FLG 0x60 BD 0x40 (LZ4F defaults): same shape as Java
 *   kafka-python     FLG 0x68 BD 0x40: adds the 8-byte content size
 *   kafkajs-lz4      FLG 0x64 BD 0x70: 4 MiB blocks plus a content checksum
 * We write exactly what the Java client writes, which every reader above accepts.
 *
 * Read side, as Kafka's Lz4BlockInputStream: version must be 01, reserved bits 0, blocks
 * independent (dependent blocks are rejected like Java does), block size id 4-7, HC verified.
 * Block checksums and the content checksum are verified when present (recent Kafka verifies the
 * content checksum too). Concatenated frames are accepted; anything else after the end mark is
 * an error.
 */
import { DecodeError } from '../decode-error.js';
import { onFirstUse } from '../native.js';
import { xxhash32 } from './xxhash32.js';

const lz4 = onFirstUse<typeof import('lz4-napi')>('lz4-napi');

const MAGIC = 0x184d2204;
const UNCOMPRESSED_BLOCK_FLAG = 0x80000000;
const FLG_VERSION_01 = 0x40;
const FLG_BLOCK_INDEPENDENT = 0x20;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_RESERVED = 0x03; // bit 0 is DictID in newer specs; Kafka treats both as reserved
const BD_RESERVED = 0x8f;
/** The block size we write: 64 KiB (BD 0x40), Kafka's default. */
const WRITE_BLOCK_BYTES = 64 * 1024;
const WRITE_FLG = FLG_VERSION_01 | FLG_BLOCK_INDEPENDENT;
const WRITE_BD = 0x40;

const PATH = 'lz4';

function fail(message: string, offset: number): never {
  throw new DecodeError(`lz4: ${message}`, offset, PATH);
}

/** HC byte: second byte of xxh32 over the descriptor (FLG through content size). */
function headerChecksum(descriptor: Uint8Array): number {
  return (xxhash32(descriptor) >>> 8) & 0xff;
}

interface FrameHeader {
  flg: number;
  blockMaxBytes: number;
  contentSize: number | null;
  /** Position of the first block. */
  dataStart: number;
}

function readFrameHeader(data: Buffer, pos: number, maxBytes: number): FrameHeader {
  if (data.length - pos < 7) fail('frame header is truncated', pos);
  if (data.readUInt32LE(pos) !== MAGIC) fail('bad frame magic', pos);
  const flg = data[pos + 4]!;
  const bd = data[pos + 5]!;
  if ((flg & 0xc0) !== FLG_VERSION_01) fail(`unsupported frame version ${flg >>> 6}`, pos + 4);
  if ((flg & FLG_RESERVED) !== 0) fail('reserved FLG bits are set (dictionary ids are unsupported)', pos + 4);
  if ((flg & FLG_BLOCK_INDEPENDENT) === 0) fail('dependent blocks are unsupported (as in Kafka)', pos + 4);
  if ((bd & BD_RESERVED) !== 0) fail('reserved BD bits are set', pos + 5);
  const blockSizeId = (bd >>> 4) & 0x07;
  if (blockSizeId < 4) fail(`block size id ${blockSizeId} is invalid`, pos + 5);
  const blockMaxBytes = 1 << (2 * blockSizeId + 8);
  let descriptorEnd = pos + 6;
  let contentSize: number | null = null;
  if ((flg & FLG_CONTENT_SIZE) !== 0) {
    if (data.length - descriptorEnd < 9) fail('frame header is truncated', descriptorEnd);
    const size = data.readBigUInt64LE(descriptorEnd);
    if (size > BigInt(maxBytes)) fail(`content size ${size} exceeds the ${maxBytes}-byte limit`, descriptorEnd);
    contentSize = Number(size);
    descriptorEnd += 8;
  }
  const hc = data[descriptorEnd]!;
  if (hc !== headerChecksum(data.subarray(pos + 4, descriptorEnd))) fail('frame header checksum mismatch', descriptorEnd);
  return { flg, blockMaxBytes, contentSize, dataStart: descriptorEnd + 1 };
}

function decodeBlock(block: Buffer, outMax: number, offset: number, why: string): Buffer {
  // lz4-napi's block decoder takes the output capacity as a 4-byte little-endian prefix and
  // fails if the block decodes to more than that, so the bound is enforced natively.
  const input = Buffer.allocUnsafe(4 + block.length);
  input.writeUInt32LE(outMax, 0);
  block.copy(input, 4);
  try {
    return lz4().uncompressSync(input);
  } catch (cause) {
    throw new DecodeError(`lz4: ${why}`, offset, PATH, { cause });
  }
}

/**
 * Decodes one or more concatenated LZ4 frames; throws DecodeError past `maxBytes` of output.
 * The result may share memory with `data`.
 */
export function lz4Decompress(data: Buffer, maxBytes: number): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  let pos = 0;
  do {
    const frame = readFrameHeader(data, pos, maxBytes - total);
    const frameChunks: Buffer[] = [];
    let frameTotal = 0;
    pos = frame.dataStart;
    for (;;) {
      if (data.length - pos < 4) fail('block size is truncated', pos);
      const word = data.readUInt32LE(pos);
      pos += 4;
      if (word === 0) break; // end mark
      const size = word & ~UNCOMPRESSED_BLOCK_FLAG;
      if (size > frame.blockMaxBytes) fail(`block of ${size} bytes exceeds the frame's ${frame.blockMaxBytes}`, pos - 4);
      const checksumBytes = (frame.flg & FLG_BLOCK_CHECKSUM) !== 0 ? 4 : 0;
      if (data.length - pos < size + checksumBytes) fail('block is truncated', pos);
      const block = data.subarray(pos, pos + size);
      if (checksumBytes !== 0 && xxhash32(block) !== data.readUInt32LE(pos + size)) {
        fail('block checksum mismatch', pos + size);
      }
      const room = maxBytes - total - frameTotal;
      let out: Buffer;
      if ((word & UNCOMPRESSED_BLOCK_FLAG) !== 0) {
        if (size > room) fail(`decompressed data exceeds the ${maxBytes}-byte limit`, pos);
        out = block;
      } else {
        if (room <= 0) fail(`decompressed data exceeds the ${maxBytes}-byte limit`, pos);
        const capped = room < frame.blockMaxBytes;
        const why = capped
          ? `block is corrupt or decompressed data exceeds the ${maxBytes}-byte limit`
          : `block is corrupt or decodes past the ${frame.blockMaxBytes}-byte block maximum`;
        out = decodeBlock(block, capped ? room : frame.blockMaxBytes, pos, why);
      }
      frameChunks.push(out);
      frameTotal += out.length;
      pos += size + checksumBytes;
    }
    const content = frameChunks.length === 1 ? frameChunks[0]! : Buffer.concat(frameChunks, frameTotal);
    if ((frame.flg & FLG_CONTENT_CHECKSUM) !== 0) {
      if (data.length - pos < 4) fail('content checksum is truncated', pos);
      if (xxhash32(content) !== data.readUInt32LE(pos)) fail('content checksum mismatch', pos);
      pos += 4;
    }
    if (frame.contentSize !== null && frame.contentSize !== frameTotal) {
      fail(`frame declares ${frame.contentSize} bytes but holds ${frameTotal}`, pos);
    }
    chunks.push(content);
    total += frameTotal;
  } while (pos < data.length);
  // A frame made of one stored (uncompressed) block yields a view of `data`, not a copy.
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

/**
 * Encodes one LZ4 frame the way Kafka's Java client does: FLG 0x60, BD 0x40 (independent
 * 64 KiB blocks), correct HC, no checksums, no content size; incompressible blocks stored raw.
 */
export function lz4Compress(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.from([0x04, 0x22, 0x4d, 0x18, WRITE_FLG, WRITE_BD, 0]);
  header[6] = headerChecksum(header.subarray(4, 6));
  parts.push(header);
  let total = header.length;
  for (let pos = 0; pos < data.length; pos += WRITE_BLOCK_BYTES) {
    const chunk = data.subarray(pos, Math.min(data.length, pos + WRITE_BLOCK_BYTES));
    // lz4-napi prefixes the block with its uncompressed size (4 bytes LE); the frame does not.
    const compressed = lz4().compressSync(chunk).subarray(4);
    const raw = compressed.length >= chunk.length;
    const body = raw ? chunk : compressed;
    const size = Buffer.allocUnsafe(4);
    size.writeUInt32LE((body.length | (raw ? UNCOMPRESSED_BLOCK_FLAG : 0)) >>> 0, 0);
    parts.push(size, body);
    total += 4 + body.length;
  }
  parts.push(Buffer.alloc(4)); // end mark
  return Buffer.concat(parts, total + 4);
}
