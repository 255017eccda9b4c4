import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { compressFrameSync } from 'lz4-napi';
import { compressSync as rawSnappy } from 'snappy';
import { compress as zstdHighLevel } from 'zstd-napi';
import { DecodeError, EncodeError } from '../decode-error.js';
import { CompressionType } from './codec.js';
import { UnsupportedCompressionError, compress, decompress, xxhash32 } from './index.js';

const CODECS = [CompressionType.gzip, CompressionType.snappy, CompressionType.lz4, CompressionType.zstd] as const;
const MiB = 1024 * 1024;

/** Deterministic bytes: half text (compressible), half a simple LCG (nearly incompressible). */
function sample(bytes: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(bytes);
  const text = Buffer.from('the quick brown fox jumps over the lazy dog; ');
  let x = seed >>> 0;
  for (let i = 0; i < bytes; i++) {
    if (i < bytes / 2) out[i] = text[i % text.length]!;
    else {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      out[i] = x >>> 24;
    }
  }
  return out;
}

function throwsDecode(fn: () => unknown, pattern?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DecodeError, `expected DecodeError, got ${String(e)}`);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

test('xxhash32 matches the reference vectors', () => {
  assert.equal(xxhash32(Buffer.alloc(0)), 0x02cc5d05);
  assert.equal(xxhash32(Buffer.from('a')), 0x550d7456);
  assert.equal(xxhash32(Buffer.from('abc')), 0x32d153ff);
  // Inputs of 16+ bytes take the four-lane path; lz4-napi's own frames check it below too.
  assert.equal(typeof xxhash32(sample(1000)), 'number');
});

for (const codec of CODECS) {
  test(`codec ${codec}: round trip of empty, small, 900 KB and 3 MiB inputs`, () => {
    for (const data of [Buffer.alloc(0), Buffer.from('x'), sample(100), sample(900 * 1024), sample(3 * MiB, 7)]) {
      const packed = compress(codec, data);
      const unpacked = decompress(codec, packed, data.length);
      assert.ok(unpacked.equals(data), `codec ${codec}, ${data.length} bytes`);
    }
  });

  test(`codec ${codec}: output over maxBytes is a DecodeError, not an allocation`, () => {
    const zeros = Buffer.alloc(8 * MiB);
    const packed = compress(codec, zeros);
    assert.ok(packed.length < MiB, 'zeros compress well');
    throwsDecode(() => decompress(codec, packed, MiB), /limit/);
    throwsDecode(() => decompress(codec, packed, zeros.length - 1), /limit/);
    assert.equal(decompress(codec, packed, zeros.length).length, zeros.length);
  });

  test(`codec ${codec}: truncated and empty input are DecodeErrors`, () => {
    const packed = compress(codec, sample(200 * 1024));
    for (const cut of [0, 1, 5, 17, packed.length >> 1, packed.length - 1]) {
      throwsDecode(() => decompress(codec, packed.subarray(0, cut), 10 * MiB));
    }
  });
}

test('codec none returns the input and still honours maxBytes', () => {
  const data = Buffer.from('abc');
  assert.equal(decompress(CompressionType.none, data, 3), data);
  throwsDecode(() => decompress(CompressionType.none, data, 2));
  assert.equal(compress(CompressionType.none, data), data);
});

test('unknown codecs 5-7: UnsupportedCompressionError on decompress, EncodeError on compress', () => {
  for (const codec of [5, 6, 7]) {
    assert.throws(() => decompress(codec, Buffer.from('x'), 10), (e: unknown) => {
      assert.ok(e instanceof UnsupportedCompressionError && e instanceof DecodeError);
      assert.equal(e.kind, 'UNSUPPORTED_COMPRESSION_TYPE');
      assert.equal(e.codec, codec);
      return true;
    });
    assert.throws(() => compress(codec, Buffer.from('x')), EncodeError);
  }
});

test('snappy writes the xerial framing of the Java client (magic, version 1, compatible 1, 32 KiB blocks)', () => {
  const data = sample(100 * 1024);
  const packed = compress(CompressionType.snappy, data);
  assert.deepEqual([...packed.subarray(0, 8)], [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
  assert.equal(packed.readInt32BE(8), 1);
  assert.equal(packed.readInt32BE(12), 1);
  // Walk the blocks: each is an int32 length + one raw snappy block of at most 32 KiB of input.
  let pos = 16;
  let blocks = 0;
  while (pos < packed.length) {
    const size = packed.readInt32BE(pos);
    pos += 4 + size;
    blocks++;
  }
  assert.equal(pos, packed.length);
  assert.equal(blocks, Math.ceil(data.length / (32 * 1024)));
  // Empty input still has one block, so librdkafka (framed only when > 20 bytes) reads it framed.
  assert.ok(compress(CompressionType.snappy, Buffer.alloc(0)).length > 20);
});

test('snappy reads raw blocks (librdkafka, kafkajs-snappy) and concatenated xerial streams', () => {
  const data = sample(50 * 1024);
  assert.ok(decompress(CompressionType.snappy, rawSnappy(data), data.length).equals(data));
  const a = compress(CompressionType.snappy, data.subarray(0, 1000));
  const b = compress(CompressionType.snappy, data.subarray(1000));
  assert.ok(decompress(CompressionType.snappy, Buffer.concat([a, b]), data.length).equals(data));
});

test('snappy checks the declared length against the limit before decoding', () => {
  // A raw block claiming 4 GiB: preamble ff ff ff ff 0f, then one literal byte.
  throwsDecode(() => decompress(CompressionType.snappy, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x41]), MiB), /exceeds/);
  // A preamble of six continuation bytes is malformed.
  throwsDecode(() => decompress(CompressionType.snappy, Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), MiB));
  // A xerial block length running past the input.
  const framed = compress(CompressionType.snappy, sample(100));
  framed.writeInt32BE(0x7fffffff, 16);
  throwsDecode(() => decompress(CompressionType.snappy, framed, MiB), /overruns/);
});

test('lz4 writes the Java client frame: FLG 0x60, BD 0x40, correct HC, end mark, no checksums', () => {
  const data = sample(200 * 1024);
  const packed = compress(CompressionType.lz4, data);
  assert.equal(packed.readUInt32LE(0), 0x184d2204);
  assert.equal(packed[4], 0x60);
  assert.equal(packed[5], 0x40);
  assert.equal(packed[6], (xxhash32(Buffer.from([0x60, 0x40])) >>> 8) & 0xff);
  assert.equal(packed.readUInt32LE(packed.length - 4), 0);
  // Blocks never exceed 64 KiB and incompressible ones are stored raw (high bit).
  let pos = 7;
  let raw = 0;
  for (;;) {
    const word = packed.readUInt32LE(pos);
    if (word === 0) break;
    const size = word & 0x7fffffff;
    assert.ok(size <= 64 * 1024);
    if (word & 0x80000000) raw++;
    pos += 4 + size;
  }
  assert.equal(pos + 4, packed.length);
  assert.ok(raw > 0, 'the random half is stored raw');
});

test('lz4 reads frames with content size, block checksums, content checksum and 4 MiB blocks', () => {
  const data = sample(300 * 1024);
  const variants = [
    compressFrameSync(data),
    compressFrameSync(data, { contentChecksum: true }),
    compressFrameSync(data, { blockChecksums: true, contentChecksum: true }),
  ];
  for (const frame of variants) assert.ok(decompress(CompressionType.lz4, frame, data.length).equals(data));
  // Corrupting a checksum is detected.
  const bad = Buffer.from(variants[2]!);
  bad[bad.length - 1]! ^= 0x01;
  throwsDecode(() => decompress(CompressionType.lz4, bad, data.length), /checksum/);
  // Concatenated frames decode to the concatenation.
  const two = Buffer.concat([compress(CompressionType.lz4, data.subarray(0, 10)), compress(CompressionType.lz4, data.subarray(10))]);
  assert.ok(decompress(CompressionType.lz4, two, data.length).equals(data));
});

function withDescriptor(frame: Buffer, flg: number, bd: number): Buffer {
  const out = Buffer.from(frame);
  out[4] = flg;
  out[5] = bd;
  out[6] = (xxhash32(out.subarray(4, 6)) >>> 8) & 0xff;
  return out;
}

test('lz4 rejects what Kafka rejects: bad HC, dependent blocks, bad version, reserved bits, small BD', () => {
  const frame = compress(CompressionType.lz4, sample(1000));
  const badHc = Buffer.from(frame);
  badHc[6]! ^= 0xff;
  throwsDecode(() => decompress(CompressionType.lz4, badHc, MiB), /header checksum/);
  throwsDecode(() => decompress(CompressionType.lz4, withDescriptor(frame, 0x40, 0x40), MiB), /dependent/);
  throwsDecode(() => decompress(CompressionType.lz4, withDescriptor(frame, 0xa0, 0x40), MiB), /version/);
  throwsDecode(() => decompress(CompressionType.lz4, withDescriptor(frame, 0x61, 0x40), MiB), /reserved/);
  throwsDecode(() => decompress(CompressionType.lz4, withDescriptor(frame, 0x60, 0x30), MiB), /block size/);
  throwsDecode(() => decompress(CompressionType.lz4, withDescriptor(frame, 0x60, 0x41), MiB), /reserved/);
  // Trailing garbage after the end mark is neither a frame nor ignored.
  throwsDecode(() => decompress(CompressionType.lz4, Buffer.concat([frame, Buffer.from([1, 2, 3])]), MiB));
});

test('lz4 content size larger than the limit is rejected before decoding', () => {
  // FLG 0x68 (content size present), BD 0x40, content size 2^40, HC, end mark.
  const header = Buffer.alloc(15);
  header.writeUInt32LE(0x184d2204, 0);
  header[4] = 0x68;
  header[5] = 0x40;
  header.writeBigUInt64LE(1n << 40n, 6);
  header[14] = (xxhash32(header.subarray(4, 14)) >>> 8) & 0xff;
  throwsDecode(() => decompress(CompressionType.lz4, Buffer.concat([header, Buffer.alloc(4)]), MiB), /content size/);
});

test('zstd reads frames without a content size and rejects a content size over the limit', () => {
  const data = sample(500 * 1024);
  const packed = zstdHighLevel(data);
  assert.ok(decompress(CompressionType.zstd, packed, data.length).equals(data));
  const small = zstdHighLevel(Buffer.from('hello'));
  assert.ok(decompress(CompressionType.zstd, small, 5).equals(Buffer.from('hello')));
  throwsDecode(() => decompress(CompressionType.zstd, small, 4));
  // A hand-made frame: magic, FHD 0xe0 (single segment, 8-byte content size), content size
  // 2^40, then one raw last block of 5 bytes. The claim is refused before any allocation.
  const lying = Buffer.alloc(4 + 1 + 8 + 3 + 5);
  lying.writeUInt32LE(0xfd2fb528, 0);
  lying[4] = 0xe0;
  lying.writeBigUInt64LE(1n << 40n, 5);
  lying.writeUIntLE(1 | (5 << 3), 13, 3);
  lying.write('hello', 16);
  throwsDecode(() => decompress(CompressionType.zstd, lying, MiB), /declares/);
  // The same frame with an honest content size decodes.
  lying.writeBigUInt64LE(5n, 5);
  assert.equal(decompress(CompressionType.zstd, lying, MiB).toString(), 'hello');
  // A frame with no content size and a 2^27 window would make the decoder allocate 128 MiB:
  // FHD 0x00, window descriptor 0x88 (exponent 17 => 2^27), one raw last block of 5 bytes.
  const wide = Buffer.alloc(4 + 1 + 1 + 3 + 5);
  wide.writeUInt32LE(0xfd2fb528, 0);
  wide[5] = 0x88;
  wide.writeUIntLE(1 | (5 << 3), 6, 3);
  wide.write('hello', 9);
  throwsDecode(() => decompress(CompressionType.zstd, wide, MiB), /too much memory/);
  assert.equal(decompress(CompressionType.zstd, wide, 64 * MiB).toString(), 'hello', 'allowed when the limit is that large');
  // Concatenated frames are one stream, as zstd-jni reads them.
  const two = Buffer.concat([zstdHighLevel(data.subarray(0, 7)), zstdHighLevel(data.subarray(7))]);
  assert.ok(decompress(CompressionType.zstd, two, data.length).equals(data));
});

test('gzip accepts multi-member streams and rejects trailing truncation', () => {
  const two = Buffer.concat([gzipSync(Buffer.from('ab')), gzipSync(Buffer.from('cd'))]);
  assert.equal(decompress(CompressionType.gzip, two, 10).toString(), 'abcd');
  throwsDecode(() => decompress(CompressionType.gzip, Buffer.from('not gzip at all'), 10), /gzip/);
});

// The reference lz4 and zstd command-line tools, when installed, check our frames from outside
// this library (lz4-napi both compresses and decompresses in the tests above).
function tool(name: string): boolean {
  return spawnSync(name, ['--version'], { stdio: 'ignore' }).status === 0;
}

test('the reference lz4 and zstd tools read what we write and we read what they write', (t) => {
  const haveLz4 = tool('lz4');
  const haveZstd = tool('zstd');
  if (!haveLz4 && !haveZstd) {
    t.skip('neither lz4 nor zstd is installed');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'fjord-compression-'));
  try {
    const data = sample(400 * 1024, 3);
    writeFileSync(join(dir, 'plain'), data);
    if (haveLz4) {
      writeFileSync(join(dir, 'ours.lz4'), compress(CompressionType.lz4, data));
      assert.equal(spawnSync('lz4', ['-d', '-f', '-q', join(dir, 'ours.lz4'), join(dir, 'ours.out')]).status, 0);
      assert.ok(readFileSync(join(dir, 'ours.out')).equals(data));
      // The CLI's defaults: content checksum on, 4 MiB blocks; then with content size and block checksums.
      for (const flags of [[], ['--content-size', '-BX', '-B4']]) {
        assert.equal(spawnSync('lz4', ['-f', '-q', ...flags, join(dir, 'plain'), join(dir, 'theirs.lz4')]).status, 0);
        assert.ok(decompress(CompressionType.lz4, readFileSync(join(dir, 'theirs.lz4')), data.length).equals(data), flags.join(' '));
      }
    }
    if (haveZstd) {
      writeFileSync(join(dir, 'ours.zst'), compress(CompressionType.zstd, data));
      assert.equal(spawnSync('zstd', ['-d', '-f', '-q', join(dir, 'ours.zst'), '-o', join(dir, 'ours.zout')]).status, 0);
      assert.ok(readFileSync(join(dir, 'ours.zout')).equals(data));
      // Piped input: the frame has no content size, as zstd-jni's streaming writer produces.
      const piped = spawnSync('zstd', ['-q', '-c', '-19'], { input: data });
      assert.equal(piped.status, 0);
      assert.ok(decompress(CompressionType.zstd, piped.stdout, data.length).equals(data));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
