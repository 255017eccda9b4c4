import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DecodeError, EncodeError } from '../decode-error.js';
import { Reader } from './reader.js';
import { METADATA_TOPIC_ID, ZERO_UUID, isUuid, randomUuid, uuidFromBytes, uuidToBytes } from './uuid.js';
import { Writer, linkedBytesMin, rawByReferenceBytesMin } from './writer.js';
import { writeRecords } from '../codec-support.js';

function bytes(f: (w: Writer) => void): Buffer {
  const w = new Writer(16);
  f(w);
  return w.toBuffer();
}

function throwsDecode(f: () => unknown, offset?: number): void {
  assert.throws(f, (e: unknown) => e instanceof DecodeError && (offset === undefined || e.offset === offset));
}

describe('Writer and Reader', () => {
  it('writes fixed-width integers big-endian', () => {
    const b = bytes((w) => {
      w.writeInt8(-1);
      w.writeInt16(-2);
      w.writeUInt16(0xfffe);
      w.writeInt32(-3);
      w.writeUInt32(0xfffffffd);
      w.writeInt64(-4n);
      w.writeFloat64(1.5);
      w.writeBool(true);
    });
    assert.equal(b.toString('hex'), 'ff' + 'fffe' + 'fffe' + 'fffffffd' + 'fffffffd' + 'fffffffffffffffc' + '3ff8000000000000' + '01');
    const r = new Reader(b);
    assert.equal(r.readInt8(), -1);
    assert.equal(r.readInt16(), -2);
    assert.equal(r.readUInt16(), 0xfffe);
    assert.equal(r.readInt32(), -3);
    assert.equal(r.readUInt32(), 0xfffffffd);
    assert.equal(r.readInt64(), -4n);
    assert.equal(r.readFloat64(), 1.5);
    assert.equal(r.readBool(), true);
    assert.equal(r.remaining, 0);
  });

  it('round-trips every primitive (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        fc.uint8Array({ maxLength: 40 }),
        (i32, i64, u32, s, b) => {
          const buf = bytes((w) => {
            w.writeInt32(i32);
            w.writeInt64(i64);
            w.writeUnsignedVarint(u32);
            w.writeVarint(i32);
            w.writeVarlong(i64);
            w.writeVarlong(Number(BigInt.asIntN(51, i64)));
            w.writeString(s);
            w.writeCompactString(s);
            w.writeNullableString(null);
            w.writeCompactNullableString(null);
            w.writeBytes(b);
            w.writeCompactBytes(b);
          });
          const r = new Reader(buf);
          assert.equal(r.readInt32(), i32);
          assert.equal(r.readInt64(), i64);
          assert.equal(r.readUnsignedVarint(), u32);
          assert.equal(r.readVarint(), i32);
          assert.equal(r.readVarlong(), i64);
          assert.equal(r.readVarlongNumber(), Number(BigInt.asIntN(51, i64)));
          assert.equal(r.readString(), s);
          assert.equal(r.readCompactString(), s);
          assert.equal(r.readNullableString(), null);
          assert.equal(r.readCompactNullableString(), null);
          assert.deepEqual(new Uint8Array(r.readBytes()), b);
          assert.deepEqual(new Uint8Array(r.readCompactBytes()), b);
          assert.equal(r.remaining, 0);
        },
      ),
      { seed: 7, numRuns: 300 },
    );
  });

  it('encodes varints as Kafka does', () => {
    assert.equal(bytes((w) => w.writeUnsignedVarint(0)).toString('hex'), '00');
    assert.equal(bytes((w) => w.writeUnsignedVarint(300)).toString('hex'), 'ac02');
    assert.equal(bytes((w) => w.writeUnsignedVarint(0xffffffff)).toString('hex'), 'ffffffff0f');
    assert.equal(bytes((w) => w.writeVarint(-1)).toString('hex'), '01');
    assert.equal(bytes((w) => w.writeVarint(1)).toString('hex'), '02');
    assert.equal(bytes((w) => w.writeVarint(-2147483648)).toString('hex'), 'ffffffff0f');
    assert.equal(bytes((w) => w.writeVarlong(-1n)).toString('hex'), '01');
    assert.equal(bytes((w) => w.writeVarlong(-9223372036854775808n)).toString('hex'), 'ffffffffffffffffff01');
    assert.equal(bytes((w) => w.writeVarlong(9223372036854775807n)).toString('hex'), 'feffffffffffffffff01');
  });

  it('rejects varints longer than 5 (int) or 10 (long) bytes', () => {
    throwsDecode(() => new Reader(Buffer.from('ffffffff1f', 'hex')).readUnsignedVarint(), 0);
    throwsDecode(() => new Reader(Buffer.from('ffffffffff01', 'hex')).readUnsignedVarint(), 0);
    throwsDecode(() => new Reader(Buffer.from('ffffffffffffffffffff01', 'hex')).readVarlong(), 0);
    throwsDecode(() => new Reader(Buffer.from('ff', 'hex')).readUnsignedVarint(), 1);
    throwsDecode(() => new Reader(Buffer.from('ffff', 'hex')).readVarlong(), 2);
  });

  it('checks every read against the end it was given', () => {
    const buf = Buffer.from('000102030405060708', 'hex');
    const r = new Reader(buf, 2, 5);
    throwsDecode(() => r.readInt32(), 2);
    assert.equal(r.readInt16(), 0x0203);
    throwsDecode(() => r.readInt16(), 4);
    assert.equal(r.readInt8(), 4);
    throwsDecode(() => r.readInt8(), 5);
  });

  it('checks string and bytes lengths against the remaining bytes before allocating', () => {
    throwsDecode(() => new Reader(Buffer.from('7fff41', 'hex')).readString(), 0);
    throwsDecode(() => new Reader(Buffer.from('7fffffff41', 'hex')).readBytes(), 0);
    throwsDecode(() => new Reader(Buffer.from('ffffffff0f41', 'hex')).readCompactBytes(), 0);
    throwsDecode(() => new Reader(Buffer.from('fffe', 'hex')).readNullableString(), 0);
    throwsDecode(() => new Reader(Buffer.from('ffff', 'hex')).readString(), 0);
    throwsDecode(() => new Reader(Buffer.from('fffffffe', 'hex')).readNullableBytes(), 0);
    throwsDecode(() => new Reader(Buffer.from('00', 'hex')).readCompactString(), 0);
  });

  it('checks array counts against the remaining bytes', () => {
    throwsDecode(() => new Reader(Buffer.from('7fffffff00', 'hex')).readArrayLength(4, false), 0);
    throwsDecode(() => new Reader(Buffer.from('ffffffff', 'hex')).readArrayLength(4, false), 0);
    assert.equal(new Reader(Buffer.from('ffffffff', 'hex')).readArrayLength(4, true), -1);
    throwsDecode(() => new Reader(Buffer.from('fffffffe', 'hex')).readArrayLength(4, true), 0);
    throwsDecode(() => new Reader(Buffer.from('ffffffff0f', 'hex')).readCompactArrayLength(1, false), 0);
    assert.equal(new Reader(Buffer.from('00', 'hex')).readCompactArrayLength(1, true), -1);
    assert.equal(new Reader(Buffer.from('0300000000', 'hex')).readCompactArrayLength(2, false), 2);
    throwsDecode(() => new Reader(Buffer.from('0003ffff', 'hex')).readArrayLength(0, false), 0);
  });

  it('returns bytes as zero-copy slices of the input', () => {
    const buf = Buffer.from('0000000361626364', 'hex');
    const b = new Reader(buf).readBytes();
    assert.equal(b.toString(), 'abc');
    assert.equal(b.buffer, buf.buffer);
    buf[4] = 0x7a;
    assert.equal(b.toString(), 'zbc');
  });

  it('links large raw buffers into the output without copying', () => {
    const big = Buffer.alloc(rawByReferenceBytesMin, 7);
    const w = new Writer();
    w.writeInt32(1);
    w.writeRaw(big);
    w.writeInt32(2);
    w.writeRaw(Buffer.from('small'));
    const chunks = w.toChunks();
    assert.equal(chunks.length, 3);
    assert.equal(chunks[1], big);
    assert.equal(w.length, 4 + big.length + 4 + 5);
    assert.equal(w.toBuffer().length, w.length);
  });

  it('links record batches from linkedBytesMin, copies smaller ones (writeLinked, the records fields)', () => {
    const batch = Buffer.alloc(linkedBytesMin, 3);
    const tiny = Buffer.alloc(linkedBytesMin - 1, 4);
    const w = new Writer();
    w.writeInt32(1);
    w.writeLinked(batch);
    w.writeLinked(tiny);
    const chunks = w.toChunks();
    assert.equal(chunks.length, 3);
    assert.equal(chunks[1], batch, 'linked, not copied');
    assert.notEqual(chunks[2]!.buffer, tiny.buffer, 'copied');
    assert.deepEqual(w.toBuffer(), Buffer.concat([Buffer.from([0, 0, 0, 1]), batch, tiny]));
    // A records field (here a Fetch response's, in chunks) goes through writeLinked.
    const rw = new Writer();
    writeRecords(rw, [batch, batch], true);
    assert.equal(rw.toChunks().filter((c) => c === batch).length, 2);
  });

  it('fills a reserved int32 later, also when it ends up in an earlier chunk', () => {
    const w = new Writer(64);
    const at = w.reserveInt32();
    for (let i = 0; i < 100; i++) w.writeInt32(i); // forces new slabs
    w.writeRaw(Buffer.alloc(rawByReferenceBytesMin));
    w.writeInt8(1);
    w.setInt32At(at, w.length - 4);
    const out = w.toBuffer();
    assert.equal(out.readInt32BE(0), out.length - 4);
    assert.equal(out.readInt32BE(4), 0);
    assert.equal(out.readInt32BE(4 + 99 * 4), 99);
    assert.throws(() => w.setInt32At(w.length - 2, 0), RangeError);
  });

  it('writes a slot that straddles two chunks byte by byte', () => {
    const w = new Writer(64);
    w.writeRaw(Buffer.alloc(62, 1));
    w.writeInt16(0); // fills the first 64-byte slab
    w.writeInt16(0); // starts the next slab
    w.setInt32At(62, 0x01020304);
    w.writeRaw(Buffer.alloc(rawByReferenceBytesMin)); // both slabs are now chunks
    w.setInt32At(60, 0x05060708);
    const out = w.toBuffer();
    assert.equal(out.readInt32BE(60), 0x05060708);
    assert.equal(out.readInt16BE(64), 0x0304);
    assert.ok(w.toChunks().length >= 3);
  });

  it('grows for single writes larger than any slab', () => {
    const s = 'x'.repeat(30000);
    const w = new Writer(64);
    w.writeString(s);
    const r = new Reader(w.toBuffer());
    assert.equal(r.readString(), s);
  });

  it('refuses strings too long for the wire format', () => {
    assert.throws(() => new Writer().writeString('x'.repeat(0x8000)), EncodeError);
  });

  it('resets for reuse', () => {
    const w = new Writer(64);
    w.writeInt32(5);
    w.reset();
    assert.equal(w.length, 0);
    w.writeInt8(1);
    assert.equal(w.toBuffer().toString('hex'), '01');
  });
});

describe('uuids', () => {
  it('use Kafka display form', () => {
    assert.equal(ZERO_UUID, uuidFromBytes(Buffer.alloc(16)));
    const one = Buffer.alloc(16);
    one[15] = 1;
    assert.equal(METADATA_TOPIC_ID, uuidFromBytes(one));
    // Kafka's Uuid.toString of 0x0123456789abcdef_fedcba9876543210
    const b = Buffer.from('0123456789abcdeffedcba9876543210', 'hex');
    assert.equal(uuidFromBytes(b), 'ASNFZ4mrze_-3LqYdlQyEA');
    assert.deepEqual(uuidToBytes('ASNFZ4mrze_-3LqYdlQyEA'), b);
    assert.throws(() => uuidToBytes('short'), TypeError);
    assert.ok(isUuid('ASNFZ4mrze_-3LqYdlQyEA'));
    assert.ok(!isUuid('ASNFZ4mrze_-3LqYdlQyE+'));
  });

  it('round-trip through Reader and Writer', () => {
    const w = new Writer();
    w.writeUuid('ASNFZ4mrze_-3LqYdlQyEA');
    assert.equal(new Reader(w.toBuffer()).readUuid(), 'ASNFZ4mrze_-3LqYdlQyEA');
    assert.throws(() => new Writer().writeUuid('not a uuid'), EncodeError);
  });

  it('randomUuid never returns a reserved id or one with a dash, and is injectable', () => {
    for (let i = 0; i < 2000; i++) {
      const u = randomUuid();
      assert.equal(u.length, 22);
      assert.ok(!u.includes('-'), u);
      assert.notEqual(u, ZERO_UUID);
    }
    // A source that first yields ids Kafka must skip.
    const bad = [Buffer.alloc(16, 0xff), Buffer.alloc(16, 0xfb)]; // '-' appears in both
    let calls = 0;
    const u = randomUuid((b) => {
      const src = bad[calls++] ?? Buffer.alloc(16, 0x11);
      b.set(src);
    });
    assert.equal(calls, 3);
    assert.ok(!u.includes('-'));
    const bytes = uuidToBytes(u);
    assert.equal(bytes[6]! >> 4, 4, 'version 4');
    assert.equal(bytes[8]! >> 6, 2, 'IETF variant');
  });
});
