/**
 * Model-based test: random sequences of append / read / truncate / DeleteRecords / reopen (clean
 * or after a crash) against an in-memory model of the log. After every step the log end, the log
 * start and the full content must match the model; every read returns exactly the whole batches
 * the model says (from the one holding the start offset, below the upper bound, within maxBytes).
 * Runs with in-memory tails of several sizes, none included, so reads are answered from the
 * files, from memory, and from both.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PartitionLog } from './partition-log.js';
import { TailCacheBudget } from './tail-cache.js';
import type { LogConfig } from './config.js';
import { FaultyFs, ManualClock, ManualScheduler, batchOf, readAll, recordsOf, requestOf, tempDir, type FlatRecord } from './testing.js';

const dirs: Array<{ cleanup(): void }> = [];
after(() => dirs.forEach((d) => d.cleanup()));

interface ModelBatch {
  base: bigint;
  last: bigint;
  /** Bytes of the batch as stored. */
  size: number;
  records: FlatRecord[];
}

interface Model {
  batches: ModelBatch[];
  start: bigint;
  end: bigint;
}

type Cmd =
  | { kind: 'append'; batches: Array<Array<{ key: string; size: number }>> }
  | { kind: 'read'; frac: number; maxBytes: number; minOne: boolean; upperFrac: number | null }
  | { kind: 'truncate'; frac: number }
  | { kind: 'deleteRecords'; frac: number }
  | { kind: 'reopen'; clean: boolean };

const recordArb = fc.record({ key: fc.constantFrom('a', 'b', 'c', 'd', 'e'), size: fc.integer({ min: 0, max: 150 }) });
const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('append' as const), batches: fc.array(fc.array(recordArb, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('read' as const), frac: fc.double({ min: 0, max: 1, noNaN: true }), maxBytes: fc.integer({ min: 1, max: 3000 }), minOne: fc.boolean(), upperFrac: fc.option(fc.double({ min: 0, max: 1, noNaN: true })) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), frac: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deleteRecords' as const), frac: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const), clean: fc.boolean() }) },
);

const pick = (lo: bigint, hi: bigint, frac: number): bigint => lo + BigInt(Math.floor(Number(hi - lo) * frac));

function modelRecords(m: Model): FlatRecord[] {
  return m.batches.flatMap((b) => b.records).filter((r) => r.offset >= m.start);
}

describe('PartitionLog model', () => {
  it('matches an in-memory model under random operations', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({ segmentBytes: fc.integer({ min: 400, max: 3000 }), indexIntervalBytes: fc.integer({ min: 0, max: 600 }) }),
        fc.array(cmdArb, { minLength: 5, maxLength: 30 }),
        // [all logs' budget, one log's cap] of the in-memory tail; 0 = every read from the files
        fc.constantFrom([0, 0], [400, 400], [2000, 700], [1 << 20, 1 << 20]),
        async (cfg, cmds, [tailBytes, tailLogBytes]) => {
          const t = tempDir('fjord-model-');
          dirs.push(t);
          const dir = `${t.path}/m-0`;
          const config: Partial<LogConfig> = { ...cfg };
          const clock = new ManualClock();
          const open = (clean: boolean, prev?: PartitionLog): Promise<PartitionLog> =>
            PartitionLog.open({
              dir,
              topic: 'm',
              partition: 0,
              config,
              clock,
              hadCleanShutdown: clean,
              fs: new FaultyFs(),
              scheduler: new ManualScheduler(clock),
              tailCache: new TailCacheBudget(tailBytes!, tailLogBytes!),
              ...(prev ? { recoveryPoint: prev.recoveryPoint, logStartOffset: prev.logStartOffset } : {}),
            });
          let log = await open(true);
          const m: Model = { batches: [], start: 0n, end: 0n };
          let seq = 0;
          try {
            for (const cmd of cmds) {
              switch (cmd.kind) {
                case 'append': {
                  const bufs = cmd.batches.map((b) => batchOf(b.map((r) => ({ key: r.key, value: `${seq++}:${'v'.repeat(r.size)}`, timestamp: BigInt(clock.now()) }))));
                  const { buf, spans } = requestOf(bufs);
                  const total = bufs.reduce((n, b) => n + b.length, 0);
                  if (total > cfg.segmentBytes) {
                    assert.throws(() => log.append(buf, spans, { leaderEpoch: 0, now: clock.now() }));
                    break;
                  }
                  const res = log.append(buf, spans, { leaderEpoch: 0, now: clock.now() });
                  assert.equal(res.firstOffset, m.end);
                  let next = m.end;
                  for (const [k, b] of cmd.batches.entries()) {
                    const records = b.map((r, i) => ({ offset: next + BigInt(i), key: r.key, value: '', timestamp: BigInt(clock.now()) }));
                    m.batches.push({ base: next, last: next + BigInt(b.length - 1), size: bufs[k]!.length, records });
                    next += BigInt(b.length);
                  }
                  // values: fill from what was encoded
                  const got = recordsOf([buf]);
                  const flat = m.batches.flatMap((x) => x.records).slice(-got.length);
                  got.forEach((g, i) => (flat[i]!.value = g.value));
                  m.end = next;
                  await log.waitForDurable(res.lastOffset);
                  log.updateHighWatermark(log.logEndOffset);
                  clock.advance(1);
                  break;
                }
                case 'read': {
                  if (m.end === m.start) break;
                  const off = pick(m.start, m.end - 1n, cmd.frac);
                  const upper = cmd.upperFrac === null ? m.end : pick(off, m.end, cmd.upperFrac);
                  const r = await log.read(off, cmd.maxBytes, { minOneBatch: cmd.minOne, ...(cmd.upperFrac === null ? {} : { maxOffset: upper }) });
                  const got = recordsOf(r);
                  // What the model says comes back: whole batches from the one holding `off`.
                  let wantBytes = 0;
                  let wantNext = off;
                  for (const b of m.batches) {
                    if (b.last < off) continue;
                    if (b.last >= upper || (wantBytes + b.size > cmd.maxBytes && !(cmd.minOne && wantBytes === 0))) break;
                    wantBytes += b.size;
                    wantNext = b.last + 1n;
                  }
                  assert.equal(r.bytes, wantBytes, `bytes of the read at ${off} (max ${cmd.maxBytes}, upper ${upper}, minOne ${cmd.minOne})`);
                  assert.equal(r.nextOffset, wantNext, `next offset of the read at ${off}`);
                  assert.equal(r.chunks.reduce((n, c) => n + c.length, 0), r.bytes);
                  const want = new Map(m.batches.flatMap((b) => b.records).map((x) => [x.offset, x]));
                  for (const g of got) assert.deepEqual(g, want.get(g.offset));
                  if (got.length > 0) {
                    const firstBatch = m.batches.find((b) => b.last >= off)!;
                    assert.equal(got[0]!.offset, firstBatch.base);
                  }
                  break;
                }
                case 'truncate': {
                  const off = pick(m.start, m.end, cmd.frac);
                  await log.truncateTo(off);
                  if (off < m.end) {
                    m.batches = m.batches.filter((b) => b.last < off);
                    const keptEnd = m.batches.length > 0 ? m.batches[m.batches.length - 1]!.last + 1n : 0n;
                    m.end = keptEnd > m.start ? keptEnd : m.start;
                  }
                  log.updateHighWatermark(log.logEndOffset);
                  break;
                }
                case 'deleteRecords': {
                  const off = pick(m.start, m.end, cmd.frac);
                  await log.deleteRecordsBefore(off);
                  if (off > m.start) m.start = off;
                  break;
                }
                case 'reopen': {
                  if (cmd.clean) await log.close();
                  else await log.flush(); // kill -9 after the last acknowledged write: nothing else written
                  log = await open(cmd.clean, log);
                  log.updateHighWatermark(log.logEndOffset);
                  break;
                }
              }
              assert.equal(log.logEndOffset, m.end, `log end after ${cmd.kind}`);
              assert.equal(log.logStartOffset, m.start, `log start after ${cmd.kind}`);
              assert.deepEqual(await readAll(log, 2048), modelRecords(m), `content after ${cmd.kind}`);
            }
          } finally {
            await log.close().catch(() => {});
            t.cleanup();
            run++;
          }
        },
      ),
      { numRuns: 60 },
    );
    assert.ok(run >= 60);
  });
});
