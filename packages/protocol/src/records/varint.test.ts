import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DecodeError } from '../decode-error.js';
import {
  readZigZagVarint,
  readZigZagVarlong,
  readZigZagVarlongNumeric,
  writeZigZagVarint,
  writeZigZagVarlong,
  zigZagVarintSize,
  zigZagVarlongSize,
  type RecordCursor,
} from './varint.js';

function cursor(bytes: number[]): RecordCursor {
  return { buf: Buffer.from(bytes), pos: 0, end: bytes.length };
}

function encodeInt(value: number): number[] {
  const buf = Buffer.alloc(5);
  const end = writeZigZagVarint(buf, 0, value);
  assert.equal(end, zigZagVarintSize(value));
  return [...buf.subarray(0, end)];
}

function encodeLong(value: bigint): number[] {
  const buf = Buffer.alloc(10);
  const end = writeZigZagVarlong(buf, 0, value);
  assert.equal(end, zigZagVarlongSize(value));
  return [...buf.subarray(0, end)];
}

test('zig-zag varint encodings (protobuf sint32 layout)', () => {
  assert.deepEqual(encodeInt(0), [0x00]);
  assert.deepEqual(encodeInt(-1), [0x01]);
  assert.deepEqual(encodeInt(1), [0x02]);
  assert.deepEqual(encodeInt(63), [0x7e]);
  assert.deepEqual(encodeInt(-64), [0x7f]);
  assert.deepEqual(encodeInt(64), [0x80, 0x01]);
  assert.deepEqual(encodeInt(300), [0xd8, 0x04]);
  assert.deepEqual(encodeInt(2147483647), [0xfe, 0xff, 0xff, 0xff, 0x0f]);
  assert.deepEqual(encodeInt(-2147483648), [0xff, 0xff, 0xff, 0xff, 0x0f]);
  // -1 length (null key/value) is the single byte 0x01, which the fixtures show for null keys.
});

test('zig-zag varlong encodings, including the int64 extremes', () => {
  assert.deepEqual(encodeLong(0n), [0x00]);
  assert.deepEqual(encodeLong(-1n), [0x01]);
  assert.deepEqual(encodeLong(1n << 31n), [0x80, 0x80, 0x80, 0x80, 0x10]);
  assert.deepEqual(encodeLong(9223372036854775807n), [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  assert.deepEqual(encodeLong(-9223372036854775808n), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
});

test('varint and varlong round trip over their whole ranges', () => {
  fc.assert(
    fc.property(fc.integer({ min: -2147483648, max: 2147483647 }), (v) => {
      const c = cursor(encodeInt(v));
      assert.equal(readZigZagVarint(c), v);
      assert.equal(c.pos, c.end);
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), (v) => {
      const c = cursor(encodeLong(v));
      assert.equal(readZigZagVarlong(c), v);
      assert.equal(c.pos, c.end);
    }),
    { numRuns: 2000 },
  );
});

test('readers stop at the cursor end and reject overlong encodings', () => {
  assert.throws(() => readZigZagVarint(cursor([])), DecodeError);
  assert.throws(() => readZigZagVarint(cursor([0x80, 0x80])), DecodeError);
  assert.throws(() => readZigZagVarint(cursor([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])), /longer than 5/);
  assert.throws(() => readZigZagVarlong(cursor([0x80, 0x80, 0x80, 0x80, 0x80])), DecodeError);
  assert.throws(() => readZigZagVarlong(cursor(new Array<number>(10).fill(0x80).concat([1]))), /longer than 10/);
  // The end bound is honoured even when the buffer itself has more bytes.
  assert.throws(() => readZigZagVarint({ buf: Buffer.from([0x80, 0x01]), pos: 0, end: 1 }), DecodeError);
});

test('writers refuse values outside int32 / int64', () => {
  assert.throws(() => writeZigZagVarint(Buffer.alloc(5), 0, 2147483648), RangeError);
  assert.throws(() => writeZigZagVarint(Buffer.alloc(5), 0, 1.5), RangeError);
  assert.throws(() => writeZigZagVarlong(Buffer.alloc(10), 0, 1n << 63n), RangeError);
});

test('readZigZagVarlongNumeric: a number exactly when the value is a safe integer, else the bigint; same bytes read, same errors', () => {
  const check = (v: bigint): void => {
    const c = cursor(encodeLong(v));
    const got = readZigZagVarlongNumeric(c);
    if (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) assert.equal(got, Number(v));
    else assert.equal(got, v);
    assert.equal(c.pos, c.end);
  };
  for (const v of [0n, -1n, 1n, (1n << 27n) - 1n, -(1n << 27n), 1n << 27n, -(1n << 27n) - 1n, 2n ** 53n - 1n, 2n ** 53n, -(2n ** 53n) + 1n, -(2n ** 53n), 2n ** 63n - 1n, -(2n ** 63n)]) check(v);
  fc.assert(fc.property(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), check), { numRuns: 2000 });
  fc.assert(fc.property(fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), (v) => check(BigInt(v))), { numRuns: 2000 });
  for (const bytes of [[], [0x80], [0x80, 0x80, 0x80, 0x80], [0x80, 0x80, 0x80, 0x80, 0x80]]) {
    assert.throws(() => readZigZagVarlongNumeric(cursor(bytes)), (e: unknown) => e instanceof DecodeError && /runs past the end/.test(e.message));
  }
  assert.throws(() => readZigZagVarlongNumeric(cursor(new Array<number>(10).fill(0x80).concat([1]))), /longer than 10/);
});
