/**
 * Fuzzing the decoders: random bytes, and valid streams with bytes flipped, truncated or extended.
 * The only acceptable outcomes are a result within maxBytes or a DecodeError; never another
 * exception, a crash in a native decoder, or an allocation past the limit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DecodeError } from '../decode-error.js';
import { CompressionType } from './codec.js';
import { compress, decompress } from './index.js';

const CODECS = [CompressionType.gzip, CompressionType.snappy, CompressionType.lz4, CompressionType.zstd] as const;
const MAX_BYTES = 256 * 1024;
const RUNS = Number(process.env.FJORD_FUZZ_RUNS ?? 300);
/** Bounded time: one fuzz case that takes longer than this means a decoder loops or crawls. */
const CASE_MS_MAX = 2000;

function timed(what: string, fn: () => void): void {
  const start = performance.now();
  fn();
  const ms = performance.now() - start;
  assert.ok(ms < CASE_MS_MAX, `${what} took ${ms.toFixed(0)} ms`);
}

function decodeOrDecodeError(codec: number, data: Buffer): void {
  timed(`codec ${codec}, ${data.length} bytes`, () => {
    try {
      const out = decompress(codec, data, MAX_BYTES);
      assert.ok(out.length <= MAX_BYTES, `codec ${codec} returned ${out.length} bytes`);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
    }
  });
}

const payload = fc.uint8Array({ maxLength: 4096 }).map((a) => Buffer.from(a));
const text = fc.string({ maxLength: 3000 }).map((s) => Buffer.from(s.repeat(3)));

for (const codec of CODECS) {
  test(`fuzz codec ${codec}: random bytes`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => decodeOrDecodeError(codec, Buffer.from(bytes))),
      { numRuns: RUNS },
    );
  });

  test(`fuzz codec ${codec}: mutated valid streams`, () => {
    fc.assert(
      fc.property(
        fc.oneof(payload, text),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 6 }),
        fc.nat(),
        fc.uint8Array({ maxLength: 16 }),
        (data, flips, cut, tail) => {
          const packed = Buffer.from(compress(codec, data));
          for (const [at, xor] of flips) packed[at % packed.length]! ^= xor;
          decodeOrDecodeError(codec, packed);
          decodeOrDecodeError(codec, packed.subarray(0, cut % (packed.length + 1)));
          decodeOrDecodeError(codec, Buffer.concat([compress(codec, data), Buffer.from(tail)]));
        },
      ),
      { numRuns: RUNS },
    );
  });

  test(`fuzz codec ${codec}: valid streams round trip`, () => {
    fc.assert(
      fc.property(fc.oneof(payload, text), (data) => {
        assert.ok(decompress(codec, compress(codec, data), data.length).equals(data));
      }),
      { numRuns: RUNS },
    );
  });
}
