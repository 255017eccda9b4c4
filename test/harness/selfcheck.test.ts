// Checks of the test harness itself (no broker needed): the independent murmur2, CRC32C and batch
// encoder agree with the real clients' own implementations, the Python drivers compile, the big-value
// generators of TypeScript and Python produce the same bytes, and the record comparison catches
// every kind of difference it is meant to catch.
import { test } from 'node:test';
import { dirname } from 'node:path';
import assert from 'node:assert/strict';
import { py, pyScript } from './python.js';
import { pythonPath, run } from './proc.js';
import { murmur2, murmur2Vectors } from './murmur2.js';
import { crc32c, encodeBatch } from './wire.js';
import { bigValue, sha256Hex } from './fixtures.js';
import { diffRecords, expectLayout, makeRecords, type ReadRecord } from './records.js';

test('python drivers compile and report client versions', { timeout: 60_000 }, async () => {
  const compileAll = 'import sys\nfor f in sys.argv[1:]:\n    compile(open(f).read(), f, "exec")';
  const r = await run(pythonPath, ['-c', compileAll, pyScript('_common'), pyScript('ck'), pyScript('kp')], { timeoutMs: 30_000 });
  assert.equal(r.code, 0, r.stderr);
  const ck = await py('ck', 'version', {});
  assert.match(ck.version, /^\d+\.\d+/);
  const kp = await py('kp', 'version', {});
  assert.deepEqual(kp.codecs, { gzip: true, snappy: true, lz4: true, zstd: true }, 'kafka-python lacks a codec module (python3-snappy/-lz4/-zstandard)');
});

test('murmur2 agrees with kafka-python and the Java vectors', { timeout: 30_000 }, async () => {
  for (const [key, hash] of murmur2Vectors) assert.equal(murmur2(Buffer.from(key)), hash, key);
  const keys = ['', 'a', 'ab', 'abc', 'abcd', 'abcde', 'ключ', '🙂', 'x'.repeat(301)];
  const code = `import json,sys\nfrom kafka.partitioner.default import murmur2\nprint(json.dumps([murmur2(k.encode()) for k in json.load(sys.stdin)]))`;
  const r = await run(pythonPath, ['-c', code], { stdin: JSON.stringify(keys), timeoutMs: 20_000 });
  assert.equal(r.code, 0, r.stderr);
  const theirs = (JSON.parse(r.stdout) as number[]).map((h) => h | 0);
  assert.deepEqual(keys.map((k) => murmur2(Buffer.from(k, 'utf8'))), theirs);
});

test('CRC32C and RecordBatch v2 encoding are what kafka-python decodes', { timeout: 30_000 }, async () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  const batch = encodeBatch(
    [
      { key: 'k1', value: 'v1', headers: [['h', 'x']], timestampDelta: 0 },
      { key: null, value: 'v2', headers: [], timestampDelta: 5 },
      { key: 'k3', value: null, headers: [['a', 'b'], ['a', null]], timestampDelta: 9 },
    ],
    { baseTimestamp: 1_700_000_000_000 },
  );
  const code = [
    'import json,sys',
    'from kafka.record.default_records import DefaultRecordBatch',
    'b = DefaultRecordBatch(bytes.fromhex(sys.stdin.read()))',
    'out = {"crc": b.validate_crc(), "records": [[r.offset, r.timestamp, r.key and r.key.decode(), r.value and r.value.decode(), [[k, v and v.decode()] for k, v in r.headers]] for r in b]}',
    'print(json.dumps(out))',
  ].join('\n');
  const r = await run(pythonPath, ['-c', code], { stdin: batch.toString('hex'), timeoutMs: 20_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), {
    crc: true,
    records: [
      [0, 1_700_000_000_000, 'k1', 'v1', [['h', 'x']]],
      [1, 1_700_000_000_005, null, 'v2', []],
      [2, 1_700_000_000_009, 'k3', null, [['a', 'b'], ['a', null]]],
    ],
  });
});

test('big values: TypeScript and Python generate the same bytes', { timeout: 30_000 }, async () => {
  const code = 'import sys, hashlib\nsys.path.insert(0, sys.argv[1])\nfrom _common import big_value\nprint(hashlib.sha256(big_value("seed-1", 900001)).hexdigest())';
  const r = await run(pythonPath, ['-c', code, dirname(pyScript('_common'))], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), sha256Hex(bigValue('seed-1', 900_001)));
});

test('diffRecords reports every kind of difference', () => {
  const recs = makeRecords(20, { tag: 't', baseTimestamp: 1000 });
  const expected = expectLayout(recs, 3);
  const exact: ReadRecord[] = expected.map((e) => ({ topic: 't', partition: e.partition, offset: e.offset, key: e.key, value: e.value, headers: e.headers, timestamp: e.timestamp as number }));
  assert.deepEqual(diffRecords(expected, exact), []);
  const mutate = (i: number, f: (r: ReadRecord) => ReadRecord): ReadRecord[] => exact.map((r, j) => (j === i ? f({ ...r }) : r));
  assert.equal(diffRecords(expected, mutate(3, (r) => ({ ...r, value: 'x' }))).length, 1);
  assert.equal(diffRecords(expected, mutate(3, (r) => ({ ...r, key: 'x' }))).length, 1);
  assert.equal(diffRecords(expected, mutate(3, (r) => ({ ...r, timestamp: 1 }))).length, 1);
  assert.equal(diffRecords(expected, mutate(3, (r) => ({ ...r, headers: [...r.headers].reverse().concat([['z', 'z']]) }))).length, 1);
  assert.ok(diffRecords(expected, exact.slice(1)).length >= 2, 'missing record');
  assert.ok(diffRecords(expected, [...exact, exact[0]!]).length >= 1, 'duplicate');
  assert.ok(diffRecords(expected, mutate(0, (r) => ({ ...r, offset: r.offset + 100 }))).length >= 2, 'moved record');
  const ranged = expectLayout(recs, 3, { timestamp: { min: 10, max: 20 } });
  assert.equal(diffRecords(ranged, exact).length, 8, 'timestamps outside the range (listing capped at 8)');
});
