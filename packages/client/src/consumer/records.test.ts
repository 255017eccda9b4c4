import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BATCH_HEADER_BYTES, CRC_OFFSET, CompressionType, DecodeError, TIMESTAMP_TYPE_MASK, computeBatchCrc, decodeBatch, encodeBatch, encodeControlBatch } from '@fjord/protocol';
import { decodePartitionRecords, scanPartitionRecords, type ConsumerRecord } from './records.js';

function txnBatch(baseOffset: bigint, producerId: bigint, values: string[], compression: number = CompressionType.none): Buffer {
  return encodeBatch({ baseOffset, producerId, producerEpoch: 0, baseSequence: 0, isTransactional: true, compression, records: values.map((v) => ({ key: null, value: v, timestamp: 1000n })) });
}

function marker(type: 'COMMIT' | 'ABORT', offset: bigint, producerId: bigint): Buffer {
  return encodeControlBatch({ type, coordinatorEpoch: 0, producerId, producerEpoch: 0, baseOffset: offset, timestamp: 1000n, partitionLeaderEpoch: 0 });
}

const values = (r: { records: Array<{ value: Buffer | null }> }): string[] => r.records.map((x) => x.value!.toString());

describe('decodePartitionRecords', () => {
  it('drops records before the fetch offset in a compressed batch and skips control batches', () => {
    const data = Buffer.concat([
      encodeBatch({ baseOffset: 10n, compression: CompressionType.gzip, records: ['a', 'b', 'c'].map((v, i) => ({ key: `k${i}`, value: v, timestamp: 5n, headers: [{ key: 'h', value: Buffer.from('x') }] })) }),
      marker('COMMIT', 13n, 7n),
    ]);
    const r = decodePartitionRecords('t', 0, data, 11n, 'read_uncommitted', null);
    assert.deepEqual(values(r), ['b', 'c']);
    assert.deepEqual(r.records.map((x) => x.offset), [11n, 12n]);
    assert.deepEqual(r.records[0]!.headers, [['h', Buffer.from('x')]]);
    assert.equal(r.records[0]!.key!.toString(), 'k1');
    assert.equal(r.nextOffset, 14n, 'past the marker');
  });

  it('read_committed: interleaved aborted transactions listed in abort order are all filtered (as Java sorts them)', () => {
    // producer 1: 0-1 (aborted), producer 2: 2-3 (aborted), producer 1: 4 (committed after its abort)
    const data = Buffer.concat([
      txnBatch(0n, 1n, ['p1-a', 'p1-b']),
      txnBatch(2n, 2n, ['p2-a', 'p2-b']),
      marker('ABORT', 4n, 2n),
      marker('ABORT', 5n, 1n),
      txnBatch(6n, 1n, ['p1-ok'], CompressionType.lz4),
      marker('COMMIT', 7n, 1n),
      encodeBatch({ baseOffset: 8n, records: [{ key: null, value: 'plain', timestamp: 1n }] }),
    ]);
    // Abort order: producer 2 first; the fetch answer lists them that way (not sorted by first offset).
    const aborted = [{ producerId: 2n, firstOffset: 2n }, { producerId: 1n, firstOffset: 0n }];
    const rc = decodePartitionRecords('t', 0, data, 0n, 'read_committed', aborted);
    assert.deepEqual(values(rc), ['p1-ok', 'plain']);
    assert.equal(rc.nextOffset, 9n);
    const ru = decodePartitionRecords('t', 0, data, 0n, 'read_uncommitted', aborted);
    assert.deepEqual(values(ru), ['p1-a', 'p1-b', 'p2-a', 'p2-b', 'p1-ok', 'plain']);
  });

  it('only aborted records: the position still moves past them', () => {
    const data = Buffer.concat([txnBatch(0n, 3n, ['x']), marker('ABORT', 1n, 3n)]);
    const r = decodePartitionRecords('t', 0, data, 0n, 'read_committed', [{ producerId: 3n, firstOffset: 0n }]);
    assert.deepEqual(r.records, []);
    assert.equal(r.nextOffset, 2n);
  });

  it('a partial batch at the end is left for the next fetch', () => {
    const a = encodeBatch({ baseOffset: 0n, records: [{ key: null, value: 'one', timestamp: 1n }] });
    const b = encodeBatch({ baseOffset: 1n, records: [{ key: null, value: 'two', timestamp: 1n }] });
    const r = decodePartitionRecords('t', 0, Buffer.concat([a, b.subarray(0, b.length - 3)]), 0n, 'read_uncommitted', null);
    assert.deepEqual(values(r), ['one']);
    assert.equal(r.nextOffset, 1n);
    assert.equal(r.batchCount, 1);
  });
});

describe('scanPartitionRecords', () => {
  it('gives the next offset and batch count decodePartitionRecords gives, from headers alone, whatever the cut', () => {
    const data = Buffer.concat([
      encodeBatch({ baseOffset: 10n, compression: CompressionType.lz4, records: ['a', 'b', 'c'].map((v) => ({ key: null, value: v, timestamp: 5n })) }),
      marker('COMMIT', 13n, 7n),
      encodeBatch({ baseOffset: 14n, records: ['d', 'e'].map((v) => ({ key: null, value: v, timestamp: 5n })) }),
    ]);
    for (const fetchOffset of [0n, 10n, 12n, 13n, 14n, 16n]) {
      for (let cut = 0; cut <= data.length; cut += 7) {
        const part = data.subarray(0, cut);
        const scan = scanPartitionRecords(part, fetchOffset);
        const full = decodePartitionRecords('t', 0, part, fetchOffset, 'read_uncommitted', null);
        assert.deepEqual([scan.nextOffset, scan.batchCount, scan.corrupt], [full.nextOffset, full.batchCount, false], `fetch ${fetchOffset}, ${cut} bytes`);
      }
    }
  });

  it('flags a header whose length is impossible, and decoding it raises the error', () => {
    const data = Buffer.from(encodeBatch({ baseOffset: 0n, records: [{ key: null, value: 'x', timestamp: 1n }] }));
    data.writeInt32BE(10, 8); // batchLength under the minimum
    assert.equal(scanPartitionRecords(data, 0n).corrupt, true);
    assert.throws(() => decodePartitionRecords('t', 0, data, 0n, 'read_uncommitted', null));
  });
});

/** What the consumer made before it decoded straight into ConsumerRecords: decodeBatch's Records, mapped. */
function viaDecodeBatch(data: Buffer, fetchOffset: bigint): ConsumerRecord[] {
  const { header, records } = decodeBatch(data, 0);
  const timestampType = (header.attributes & TIMESTAMP_TYPE_MASK) !== 0 ? 'LogAppendTime' : 'CreateTime';
  return records
    .filter((r) => r.offset >= fetchOffset)
    .map((r) => ({ topic: 't', partition: 3, offset: r.offset, timestamp: Number(r.timestamp), timestampType, key: r.key, value: r.value, headers: r.headers.map((h): [string, Buffer | null] => [h.key, h.value]), leaderEpoch: header.partitionLeaderEpoch }));
}

function outcome(fn: () => unknown): unknown {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    return `${e.constructor.name}: ${e.message}`;
  }
}

const near = (x: bigint, by: bigint): fc.Arbitrary<bigint> => fc.bigInt({ min: x - by, max: x + by });
const bytesArb = fc.option(fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)), { nil: null });
const batchArb = fc.record({
  // Offsets and timestamps on both sides of 2^53, where the number arithmetic must give way to bigints.
  baseOffset: fc.oneof(fc.bigInt({ min: 0n, max: 1n << 20n }), near(1n << 53n, 20n), fc.bigInt({ min: 1n << 53n, max: 1n << 62n })),
  baseTimestamp: fc.oneof(fc.constant(-1n), fc.bigInt({ min: 0n, max: 2_000_000_000_000n }), near(1n << 53n, 1000n), near(-(1n << 53n), 1000n), fc.bigInt({ min: -(1n << 61n), max: 1n << 61n })),
  deltas: fc.array(fc.oneof(fc.bigInt({ min: -1000n, max: 1000n }), near(1n << 53n, 1000n), near(-(1n << 53n), 1000n), near(1n << 52n, 1000n), fc.bigInt({ min: -(1n << 61n), max: 1n << 61n })), { minLength: 1, maxLength: 6 }),
  compression: fc.constantFrom(CompressionType.none, CompressionType.gzip),
  logAppend: fc.boolean(),
  skip: fc.nat({ max: 7 }),
  leaderEpoch: fc.integer({ min: -1, max: 1000 }),
  fields: fc.array(fc.record({ key: bytesArb, value: bytesArb, headers: fc.array(fc.record({ key: fc.string({ maxLength: 6 }), value: bytesArb }), { maxLength: 3 }) }), { minLength: 6, maxLength: 6 }),
});

function encodeArb(b: typeof batchArb extends fc.Arbitrary<infer T> ? T : never): Buffer {
  return encodeBatch({
    baseOffset: b.baseOffset,
    baseTimestamp: b.baseTimestamp,
    partitionLeaderEpoch: b.leaderEpoch,
    compression: b.compression,
    timestampType: b.logAppend ? 'logAppend' : 'create',
    records: b.deltas.map((d, i) => ({ ...b.fields[i]!, offsetDelta: i * 3, timestamp: b.baseTimestamp + d })),
  });
}

describe('decodePartitionRecords makes the ConsumerRecords decodeBatch would give', () => {
  it('for any keys, values, headers, offsets and timestamps (past 2^53 too), codec and fetch offset', () => {
    fc.assert(
      fc.property(batchArb, (b) => {
        const data = encodeArb(b);
        const fetchOffset = b.baseOffset + BigInt(b.skip);
        const got = decodePartitionRecords('t', 3, data, fetchOffset, 'read_uncommitted', null).records;
        assert.deepEqual(got, viaDecodeBatch(data, fetchOffset));
        for (const r of got) assert.ok(r.headers.every((h) => Array.isArray(h) && h.length === 2));
      }),
      { numRuns: 500 },
    );
  });

  it('and fails as it would on corrupt records (bytes flipped, CRC repaired): a DecodeError, never a crash', () => {
    fc.assert(
      fc.property(batchArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), (b, flips) => {
        const data = Buffer.from(encodeArb({ ...b, compression: CompressionType.none }));
        for (const [at, x] of flips) data[BATCH_HEADER_BYTES + (at % (data.length - BATCH_HEADER_BYTES))]! ^= x;
        data.writeUInt32BE(computeBatchCrc(data, 0, data.length), CRC_OFFSET);
        const want = outcome(() => viaDecodeBatch(data, b.baseOffset));
        const got = outcome(() => decodePartitionRecords('t', 3, data, b.baseOffset, 'read_uncommitted', null).records);
        assert.deepEqual(got, want);
      }),
      { numRuns: 500 },
    );
  });
});
