// The exactly-once checker (eos-checker.ts) on synthetic histories: a clean history passes every
// check, and each kind of anomaly trips the check meant for it (and says where).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check, parseProducerLog, parseReaderLog, type History, type ReadEntry, type Reader, type Txn } from './eos-checker.js';

/**
 * Two producers; p1/1 committed over a-0, b-0, b-1; p1/2 aborted over a-0, b-1; p2/1 committed over
 * a-0, b-0; p2/2 unknown and invisible (a-0, b-0). Offsets as a broker with markers would give them.
 */
function cleanHistory(): History {
  const txns: Txn[] = [
    { id: 'p1/1', producer: 'p1', txn: 1, recs: [['a', 0], ['b', 0], ['b', 1]], outcome: 'commit' },
    { id: 'p1/2', producer: 'p1', txn: 2, recs: [['a', 0], ['b', 1]], outcome: 'abort', why: 'chosen' },
    { id: 'p2/1', producer: 'p2', txn: 1, recs: [['a', 0], ['b', 0]], outcome: 'commit' },
    { id: 'p2/2', producer: 'p2', txn: 2, recs: [['a', 0], ['b', 0]], outcome: 'unknown', why: 'killed' },
  ];
  // a-0: p1/1/0 @0, marker @1, p1/2/0 @2 (aborted), marker @3, p2/1/0 @4, marker @5, p2/2/0 @6 (aborted), marker @7
  // b-0: p1/1/1 @0, p2/1/1 @1, marker @2 (p1), marker @3 (p2), p2/2/1 @4, marker @5
  // b-1: p1/1/2 @0, marker @1, p1/2/1 @2, marker @3
  const committed: ReadEntry[] = [
    ['a', 0, 0, 'p1/1/0/3'],
    ['a', 0, 4, 'p2/1/0/2'],
    ['b', 0, 0, 'p1/1/1/3'],
    ['b', 0, 1, 'p2/1/1/2'],
    ['b', 1, 0, 'p1/1/2/3'],
  ];
  const uncommitted: ReadEntry[] = [
    ['a', 0, 0, 'p1/1/0/3'],
    ['a', 0, 2, 'p1/2/0/2'],
    ['a', 0, 4, 'p2/1/0/2'],
    ['a', 0, 6, 'p2/2/0/2'],
    ['b', 0, 0, 'p1/1/1/3'],
    ['b', 0, 1, 'p2/1/1/2'],
    ['b', 0, 4, 'p2/2/1/2'],
    ['b', 1, 0, 'p1/1/2/3'],
    ['b', 1, 2, 'p1/2/1/2'],
  ];
  const readers: Reader[] = [
    { name: 'assign', isolation: 'read_committed', kind: 'assign', complete: true, records: committed.map((e) => [...e] as ReadEntry) },
    { name: 'group', isolation: 'read_committed', kind: 'group', complete: true, records: [...committed, committed[0]!].map((e) => [...e] as ReadEntry) },
    { name: 'final rc', isolation: 'read_committed', kind: 'final', complete: true, records: committed },
    { name: 'final ru', isolation: 'read_uncommitted', kind: 'final', complete: true, records: uncommitted },
  ];
  return {
    txns,
    readers,
    ends: [
      { topic: 'a', partition: 0, highWatermark: 8, lastStableOffset: 8 },
      { topic: 'b', partition: 0, highWatermark: 6, lastStableOffset: 6 },
      { topic: 'b', partition: 1, highWatermark: 4, lastStableOffset: 4 },
    ],
  };
}

function failing(h: History): Record<string, string[]> {
  const r = check(h);
  return Object.fromEntries(r.checks.filter((c) => c.count > 0).map((c) => [c.name, c.anomalies]));
}

const reader = (h: History, name: string): Reader => h.readers.find((r) => r.name === name)!;

test('a clean history passes every check', () => {
  const r = check(cleanHistory());
  assert.deepEqual(failing(cleanHistory()), {}, r.text);
  assert.ok(r.ok);
  assert.equal(r.counts['transactions committed'], 2);
  assert.match(String(r.counts['transactions unknown']), /1 \(wholly visible 0, wholly invisible 1, split 0\)/);
});

test('G1a: an aborted record read under read_committed', () => {
  const h = cleanHistory();
  reader(h, 'assign').records.push(['a', 0, 2, 'p1/2/0/2']);
  const f = failing(h);
  assert.ok(f['aborted-read']?.[0]?.includes('assign read p1/2/0/2 at a-0@2'), JSON.stringify(f));
  assert.ok(f['partial-txn'], 'one of the two records of the aborted transaction is also a partial read');
});

test('lost write: a committed record missing from the final reads and from a reader', () => {
  const h = cleanHistory();
  for (const name of ['final rc', 'final ru', 'assign']) {
    const r = reader(h, name);
    r.records = r.records.filter((e) => e[3] !== 'p1/1/2/3');
  }
  const f = failing(h);
  assert.ok(f['lost-write']?.some((a) => a.includes('p1/1/2/3') && a.includes('final read_committed absent, final read_uncommitted absent')), JSON.stringify(f));
  assert.ok(f['lost-write']?.some((a) => a.includes('assign read 2 of the 3 records of committed p1/1')), JSON.stringify(f));
});

test('duplicates: one record at two offsets', () => {
  const h = cleanHistory();
  for (const name of ['final rc', 'final ru']) reader(h, name).records.push(['a', 0, 8, 'p1/1/0/3']);
  const f = failing(h);
  assert.ok(f['duplicates']?.[0]?.includes('p1/1/0/3 at a-0@0'), JSON.stringify(f));
  assert.ok(f['duplicates']?.[0]?.includes('a-0@8'));
});

test('partial transaction: a complete reader sees part of a committed transaction', () => {
  const h = cleanHistory();
  const r = reader(h, 'group');
  r.records = r.records.filter((e) => e[3] !== 'p2/1/1/2');
  const f = failing(h);
  assert.ok(f['partial-txn']?.[0]?.includes('group read 1 of the 2 records of p2/1 (commit); missing p2/1/1/2 (sent to b-0)'), JSON.stringify(f));
});

test('inconsistent offsets: two readers, two records at one offset', () => {
  const h = cleanHistory();
  reader(h, 'group').records[0] = ['a', 0, 0, 'p2/1/0/2'];
  const f = failing(h);
  assert.ok(f['inconsistent-offsets']?.[0]?.includes('a-0@0'), JSON.stringify(f));
});

test('unknown transaction visible to one reader and not another', () => {
  const h = cleanHistory();
  for (const name of ['assign', 'final rc']) {
    reader(h, name).records.push(['a', 0, 6, 'p2/2/0/2'], ['b', 0, 4, 'p2/2/1/2']);
  }
  const f = failing(h);
  assert.ok(f['unknown-txns']?.[0]?.includes('p2/2'), JSON.stringify(f));
  assert.ok(f['unknown-txns']?.[0]?.includes('assign=all'));
  assert.ok(f['unknown-txns']?.[0]?.includes('group=none'));
});

test('nonmonotonic: an assign() reader going back', () => {
  const h = cleanHistory();
  reader(h, 'assign').records.push(['a', 0, 0, 'p1/1/0/3']);
  const f = failing(h);
  assert.ok(f['nonmonotonic']?.[0]?.includes('assign: a-0 offset 0 read after offset 4'), JSON.stringify(f));
  // The group reader re-read the same record (after a rebalance): allowed.
  assert.ok(!f['nonmonotonic']?.some((a) => a.startsWith('group')));
});

test('producer order: a later transaction before an earlier one in a partition', () => {
  const h = cleanHistory();
  h.txns.push({ id: 'p1/3', producer: 'p1', txn: 3, recs: [['b', 1]], outcome: 'commit' });
  for (const name of ['final rc', 'final ru', 'assign', 'group']) {
    const r = reader(h, name);
    r.records = r.records.map((e) => (e[3] === 'p1/1/2/3' ? ['b', 1, 5, e[3]] : e));
    r.records.push(['b', 1, 0, 'p1/3/0/1']);
  }
  h.ends = [];
  const f = failing(h);
  assert.ok(f['producer-order']?.[0]?.includes('b-1: p1/1/2/3 at offset 5 after p1/3/0'), JSON.stringify(f));
});

test('read then lost: a record read under read_committed is gone from the final reads', () => {
  const h = cleanHistory();
  reader(h, 'group').records.push(['a', 0, 9, 'p2/1/0/2']);
  const f = failing(h);
  assert.ok(f['read-then-lost']?.[0]?.includes('group read "p2/1/0/2" at a-0@9'), JSON.stringify(f));
  assert.ok(f['duplicates']);
});

test('unknown records, incomplete readers, a hanging transaction', () => {
  const h = cleanHistory();
  reader(h, 'final ru').records.push(['a', 0, 8, 'garbage'], ['b', 0, 6, 'p1/1/1/3x']);
  reader(h, 'final ru').records.push(['b', 1, 4, 'p1/1/0/3']);
  reader(h, 'group').complete = false;
  h.ends![0]!.lastStableOffset = 6;
  const f = failing(h);
  assert.equal(f['unknown-records']?.length, 3, JSON.stringify(f));
  assert.ok(f['unknown-records']?.[2]?.includes('sent record 0 of 3 to a-0'));
  assert.ok(f['reader-incomplete']?.[0]?.includes('group'));
  assert.ok(f['last-stable-offset']?.[0]?.includes('a-0: last stable offset 6, high watermark 8'));
});

test('logs: a half-written last line is ignored; outcomes and kills are read', () => {
  const log = [
    '{"ev":"start","name":"p9","tid":"t"}',
    '{"ev":"begin","txn":1,"recs":[["a",0],["b",1]]}',
    '{"ev":"commit","txn":1}',
    '{"ev":"begin","txn":2,"recs":[["a",0],["b",1]]}',
    '{"ev":"abort","txn":2,"why":"after-error"}',
    '{"ev":"begin","txn":3,"recs":[["a",0],["b",0]]}',
    '{"ev":"unknown","txn":3,"err":{"name":"_FATAL"}}',
    '{"ev":"begin","txn":4,"recs":[["a",0],["b",0]]}',
    '{"ev":"comm',
  ].join('\n');
  const txns = parseProducerLog(log, 'fallback');
  assert.deepEqual(
    txns.map((t) => [t.id, t.outcome, t.why]),
    [
      ['p9/1', 'commit', undefined],
      ['p9/2', 'abort', 'after-error'],
      ['p9/3', 'unknown', '{"name":"_FATAL"}'],
      ['p9/4', 'unknown', 'no outcome logged (process killed or stopped)'],
    ],
  );
  assert.deepEqual(parseReaderLog('["a",0,1,"x/1/0/1"]\n["a",0,2,"x/1/0'), [['a', 0, 1, 'x/1/0/1']]);
});
