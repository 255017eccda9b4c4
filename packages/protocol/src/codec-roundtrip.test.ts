/**
 * Every generated message at every version: random valid messages (built from the schema
 * descriptors) encode, decode to what was put in (defaults for fields the version lacks), and
 * re-encode to the same bytes. Flexible versions also carry unknown tagged fields.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { descriptors } from './generated/descriptors.js';
import { messageCodecs } from './generated/index.js';
import { Reader } from './primitives/reader.js';
import { Writer } from './primitives/writer.js';
import { Rng, expectedDecode, randomMessage } from './test-support/random-message.js';

const SAMPLES_PER_VERSION = 12;
const SEED = Number(process.env.FJORD_TEST_SEED ?? 20261121);

function encode(codec: { encode(w: Writer, m: never, v: number): void }, m: unknown, v: number): Buffer {
  const w = new Writer(64);
  codec.encode(w, m as never, v);
  return w.toBuffer();
}

describe('generated codecs round-trip', () => {
  it('has a descriptor for every codec and a codec for every descriptor', () => {
    assert.deepEqual([...messageCodecs.keys()].sort(), Object.keys(descriptors).sort());
  });

  let total = 0;
  for (const [name, codec] of messageCodecs) {
    const d = descriptors[name]!;
    it(`${name} v${codec.minVersion}-${codec.maxVersion}`, () => {
      const rng = new Rng(SEED ^ hash(name));
      for (let v = codec.minVersion; v <= codec.maxVersion; v++) {
        for (let i = 0; i < SAMPLES_PER_VERSION; i++) {
          const input = randomMessage(rng, d, v);
          const where = `${name} v${v} sample ${i} (seed ${SEED})`;
          const bytes = encode(codec, input, v);
          const r = new Reader(bytes);
          const decoded = codec.decode(r, v);
          assert.equal(r.pos, bytes.length, `${where}: decode must consume the whole encoding`);
          assert.deepStrictEqual(decoded, expectedDecode(d, d.root, input, v), where);
          assert.deepStrictEqual(encode(codec, decoded, v), bytes, `${where}: re-encoding differs`);
          total++;
        }
      }
    });
  }

  it('covered many message versions', () => {
    assert.ok(total > 1000, `only ${total} round trips`);
  });
});

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
