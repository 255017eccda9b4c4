import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultPartition, murmur2, toPositive } from './partitioner.js';

// The vectors of Kafka's own UtilsTest.testMurmur2 (clients/src/test/java/org/apache/kafka/
// common/utils/UtilsTest.java): Java `int` results of Utils.murmur2.
const KAFKA_VECTORS: Array<[string, number]> = [
  ['21', -973932308],
  ['foobar', -790332482],
  ['a-little-bit-long-string', -985981536],
  ['a-little-bit-longer-string', -1486304829],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
  ['abc', 479470107],
];

test("murmur2 matches Kafka's UtilsTest vectors", () => {
  for (const [key, expected] of KAFKA_VECTORS) {
    assert.equal(murmur2(Buffer.from(key)), expected, key);
  }
});

test('murmur2 covers every tail length and returns int32', () => {
  const data = Buffer.from('abcdefgh');
  for (let n = 0; n <= data.length; n++) {
    const h = murmur2(data.subarray(0, n));
    assert.equal(h, h | 0);
  }
  // The same bytes from a Buffer slice and a plain Uint8Array hash alike.
  assert.equal(murmur2(new Uint8Array(Buffer.from('foobar'))), -790332482);
});

test('toPositive masks the sign bit like Kafka (not Math.abs)', () => {
  assert.equal(toPositive(-2147483648), 0);
  assert.equal(toPositive(-1), 0x7fffffff);
  assert.equal(toPositive(5), 5);
});

test('defaultPartition = toPositive(murmur2(key)) % n', () => {
  for (const [key, hash] of KAFKA_VECTORS) {
    for (const n of [1, 3, 6, 12, 50]) {
      assert.equal(defaultPartition(Buffer.from(key), n), (hash & 0x7fffffff) % n);
    }
  }
  assert.throws(() => defaultPartition(Buffer.from('k'), 0), RangeError);
});

test("murmur2 agrees with kafkajs's DefaultPartitioner hash on random keys", async (t) => {
  // kafkajs is a root dev dependency (used by the compatibility tests); its murmur2 is an
  // independent port of the Java one. Skip quietly where it is not installed.
  const { createRequire } = await import('node:module');
  let theirs: (key: Buffer) => number;
  try {
    theirs = createRequire(import.meta.url)('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer) => number;
  } catch {
    t.skip('kafkajs is not installed');
    return;
  }
  const fc = (await import('fast-check')).default;
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const key = Buffer.from(bytes);
      assert.equal(murmur2(key), theirs(key));
    }),
    { numRuns: 3000 },
  );
});
