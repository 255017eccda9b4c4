/**
 * Fuzzing every generated decoder at every version: random bytes, and mutations of valid
 * encodings (bit flips, truncations, length and count fields overwritten with huge or negative
 * values). The only exception allowed out is DecodeError (never an "internal" one, which would be
 * a decoder bug turned into a DecodeError); no decode may take long; and what a decode returns
 * holds no more array elements than there were input bytes (counts are checked before allocating).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecodeError } from './decode-error.js';
import { descriptors } from './generated/descriptors.js';
import { messageCodecs } from './generated/index.js';
import type { MessageCodec } from './message-codec.js';
import { emptyElementsMax, Reader } from './primitives/reader.js';
import { Writer } from './primitives/writer.js';
import { Rng, randomMessage } from './test-support/random-message.js';

const SEED = Number(process.env.FJORD_TEST_SEED ?? 4242);
const RANDOM_INPUTS = 24;
const VALID_SAMPLES = 3;
const MUTATIONS_PER_SAMPLE = 24;
/** Generous: a decode is microseconds; this only catches runaway loops, not GC pauses. */
const DECODE_MS_MAX = 250;

/** Values written over a 4-byte window to forge lengths and counts. */
const INT32_ATTACKS = [0x7fffffff, -1, -2, 0x80000000 | 0, 0x00ffffff, 0x10000];
/** A 5-byte unsigned varint of 2^32 - 1 (forged compact length) and one that overflows. */
const VARINT_ATTACKS = [Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), Buffer.from([0x80, 0x80, 0x80, 0x40])];

let decodes = 0;
let maxDecodeMs = 0;

function countElements(x: unknown, budget: { n: number }): void {
  if (Array.isArray(x)) {
    budget.n += x.length;
    for (const e of x) countElements(e, budget);
  } else if (x !== null && typeof x === 'object' && !Buffer.isBuffer(x)) {
    for (const v of Object.values(x)) countElements(v, budget);
  }
}

function tryDecode(codec: MessageCodec<unknown>, input: Buffer, v: number, what: string): void {
  const start = performance.now();
  let result: unknown;
  try {
    result = codec.decode(new Reader(input), v);
  } catch (e) {
    if (!(e instanceof DecodeError)) {
      assert.fail(`${what}: threw ${(e as Error)?.name}: ${(e as Error)?.message} for input ${input.toString('hex')}`);
    }
    if (e.message.startsWith('internal')) assert.fail(`${what}: ${e.message} (cause ${String((e.cause as Error)?.stack)}) input ${input.toString('hex')}`);
  }
  const ms = performance.now() - start;
  decodes++;
  if (ms > maxDecodeMs) maxDecodeMs = ms;
  if (result !== undefined) {
    const budget = { n: 0 };
    countElements(result, budget);
    assert.ok(budget.n <= input.length + emptyElementsMax, `${what}: ${budget.n} array elements from ${input.length} bytes`);
  }
}

function mutate(rng: Rng, valid: Buffer): Buffer {
  const b = Buffer.from(valid);
  switch (rng.int(0, 5)) {
    case 0: {
      // bit flips
      const flips = rng.int(1, 4);
      for (let i = 0; i < flips && b.length > 0; i++) {
        const at = rng.int(0, b.length - 1);
        b[at] = b[at]! ^ (1 << rng.int(0, 7));
      }
      return b;
    }
    case 1:
      return b.subarray(0, rng.int(0, Math.max(0, b.length - 1)));
    case 2: {
      if (b.length < 4) return b;
      b.writeInt32BE(rng.pick(INT32_ATTACKS), rng.int(0, b.length - 4));
      return b;
    }
    case 3: {
      if (b.length < 2) return b;
      b.writeInt16BE(rng.pick([0x7fff, -1, -2, -32768]), rng.int(0, b.length - 2));
      return b;
    }
    case 4: {
      const at = rng.int(0, b.length);
      return Buffer.concat([b.subarray(0, at), rng.pick(VARINT_ATTACKS), b.subarray(at)]);
    }
    default: {
      // replace a byte range with random bytes
      if (b.length === 0) return rng.bytes(rng.int(1, 8));
      const at = rng.int(0, b.length - 1);
      const n = Math.min(rng.int(1, 8), b.length - at);
      rng.bytes(n).copy(b, at);
      return b;
    }
  }
}

describe('decoder fuzzing', () => {
  for (const [name, codec] of messageCodecs) {
    it(`${name} v${codec.minVersion}-${codec.maxVersion}`, () => {
      const rng = new Rng(SEED ^ name.length * 7919 ^ codec.apiKey * 104729);
      const d = descriptors[name]!;
      for (let v = codec.minVersion; v <= codec.maxVersion; v++) {
        for (let i = 0; i < RANDOM_INPUTS; i++) {
          tryDecode(codec, rng.bytes(rng.int(0, i < 8 ? 8 : 96)), v, `${name} v${v} random ${i}`);
        }
        for (let s = 0; s < VALID_SAMPLES; s++) {
          const w = new Writer();
          codec.encode(w, randomMessage(rng, d, v, { unknownTags: true, recordChunks: false, arrayMax: 2 }) as never, v);
          const valid = w.toBuffer();
          for (let i = 0; i < MUTATIONS_PER_SAMPLE; i++) tryDecode(codec, mutate(rng, valid), v, `${name} v${v} mutation`);
          // Forged counts at every position of one small sample.
          if (s === 0 && valid.length <= 200) {
            for (let at = 0; at + 4 <= valid.length; at++) {
              const b = Buffer.from(valid);
              b.writeInt32BE(0x7fffffff, at);
              tryDecode(codec, b, v, `${name} v${v} int32 count at ${at}`);
              const c = Buffer.concat([valid.subarray(0, at), VARINT_ATTACKS[0]!, valid.subarray(at + 1)]);
              tryDecode(codec, c, v, `${name} v${v} varint count at ${at}`);
            }
          }
        }
      }
    });
  }

  it('stayed fast', () => {
    assert.ok(decodes > 50_000, `only ${decodes} decodes`);
    assert.ok(maxDecodeMs < DECODE_MS_MAX, `slowest decode took ${maxDecodeMs.toFixed(1)} ms`);
  });
});
