import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompressionType, encodeBatch, encodeControlBatch } from '@fjord/protocol';
import { decodePartitionRecords, scanPartitionRecords } from './records.js';

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
