// The checks of the exactly-once crash test (test/compat/eos-crash.test.ts), after Jepsen's Kafka
// workload: pure functions over what the transactional producers logged (test/python/txn_checker.py,
// test/clients/kafkajs-eos.ts) and what every reader read. No I/O here, so every check has a
// synthetic history that must trip it (eos-checker.test.ts).
//
// Record values are "<producer>/<txn>/<k>/<n>": record k of the n records of transaction <txn> of
// the producer process <producer>; the producer's log says where each record was sent and how each
// transaction ended (commit, abort, unknown).

export type Outcome = 'commit' | 'abort' | 'unknown';

export interface Txn {
  /** "<producer>/<txn>" */
  id: string;
  producer: string;
  txn: number;
  /** Where record k was sent. */
  recs: Array<[string, number]>;
  outcome: Outcome;
  /** For aborts: "chosen" or "after-error"; for unknowns: the error. */
  why?: string;
}

/** [topic, partition, offset, value] */
export type ReadEntry = [string, number, number, string | null];

export interface Reader {
  name: string;
  isolation: 'read_committed' | 'read_uncommitted';
  /** assign and final readers read each partition once, in order; group readers may re-read. */
  kind: 'assign' | 'group' | 'final';
  /** Read up to the end of every partition (a final read that reached EOF, a reader that reached its targets). */
  complete: boolean;
  records: ReadEntry[];
}

export interface PartitionEnd {
  topic: string;
  partition: number;
  highWatermark: number;
  lastStableOffset: number;
}

export interface History {
  txns: Txn[];
  readers: Reader[];
  /** HW and LSO of every partition once every producer has stopped. */
  ends?: PartitionEnd[];
}

export interface CheckResult {
  name: string;
  what: string;
  /** How many anomalies; `anomalies` holds the first few, described. */
  count: number;
  anomalies: string[];
}

export interface Report {
  checks: CheckResult[];
  counts: Record<string, number | string>;
  ok: boolean;
  text: string;
}

const anomaliesShownMax = 15;

class Check {
  count = 0;
  readonly anomalies: string[] = [];
  constructor(
    readonly name: string,
    readonly what: string,
  ) {}
  add(description: string): void {
    this.count++;
    if (this.anomalies.length < anomaliesShownMax) this.anomalies.push(description);
  }
  result(): CheckResult {
    return { name: this.name, what: this.what, count: this.count, anomalies: this.anomalies };
  }
}

interface Parsed {
  txnId: string;
  k: number;
  n: number;
}

export function parseValue(v: string | null): Parsed | undefined {
  if (v === null) return undefined;
  const m = /^(.+)\/(\d+)\/(\d+)\/(\d+)$/.exec(v);
  if (!m) return undefined;
  return { txnId: `${m[1]}/${m[2]}`, k: Number(m[3]), n: Number(m[4]) };
}

const pos = (t: string, p: number, o: number): string => `${t}-${p}@${o}`;
const tp = (t: string, p: number): string => `${t}-${p}`;

/** Parse one producer log (JSON lines; a half-written last line is ignored). */
export function parseProducerLog(text: string, fallbackName: string): Txn[] {
  let name = fallbackName;
  const byTxn = new Map<number, Txn>();
  for (const line of text.split('\n')) {
    if (!line.endsWith('}')) continue;
    let ev: { ev: string; txn?: number; recs?: Array<[string, number]>; name?: string; why?: string; err?: unknown };
    try {
      ev = JSON.parse(line);
    } catch {
      continue;
    }
    if (ev.ev === 'start' && ev.name) name = ev.name;
    if (ev.txn === undefined) continue;
    if (ev.ev === 'begin') {
      byTxn.set(ev.txn, { id: `${name}/${ev.txn}`, producer: name, txn: ev.txn, recs: ev.recs ?? [], outcome: 'unknown', why: 'no outcome logged (process killed or stopped)' });
      continue;
    }
    const t = byTxn.get(ev.txn);
    if (!t) continue;
    if (ev.ev === 'commit') {
      t.outcome = 'commit';
      delete t.why;
    } else if (ev.ev === 'abort') {
      t.outcome = 'abort';
      t.why = ev.why ?? 'abort';
    } else if (ev.ev === 'unknown') {
      t.outcome = 'unknown';
      t.why = JSON.stringify(ev.err ?? null).slice(0, 300);
    }
  }
  return [...byTxn.values()];
}

/** Parse a reader log: one [topic, partition, offset, value] JSON array per line. */
export function parseReaderLog(text: string): ReadEntry[] {
  const out: ReadEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.endsWith(']')) continue;
    try {
      out.push(JSON.parse(line) as ReadEntry);
    } catch {
      // a line cut by a kill; the reader's next line is whole
    }
  }
  return out;
}

export function check(history: History): Report {
  const txns = new Map(history.txns.map((t) => [t.id, t]));
  const rc = history.readers.filter((r) => r.isolation === 'read_committed');
  const finalRc = history.readers.find((r) => r.kind === 'final' && r.isolation === 'read_committed');
  const finalRu = history.readers.find((r) => r.kind === 'final' && r.isolation === 'read_uncommitted');

  const unknownRecords = new Check('unknown-records', 'every value read is a record some producer sent, in the partition it was sent to');
  const g1a = new Check('aborted-read', 'G1a: no read_committed reader reads a record of a transaction whose abort was acknowledged');
  const lost = new Check('lost-write', 'every record of every transaction whose commit was acknowledged is in the final read_committed and read_uncommitted reads and was read by every complete read_committed reader');
  const dups = new Check('duplicates', 'each record is at one position (topic, partition, offset) only, in every reader and across readers');
  const partial = new Check('partial-txn', 'each complete read_committed reader sees all or none of the records of every transaction');
  const inconsistent = new Check('inconsistent-offsets', 'one offset of a partition holds the same record for every reader');
  const unknown = new Check('unknown-txns', 'a transaction of unknown outcome is wholly visible or wholly invisible, and the same to every complete read_committed reader');
  const nonmono = new Check('nonmonotonic', 'assign() and final readers get every partition in strictly increasing offsets (no rewinds, no repeats)');
  const order = new Check('producer-order', "one producer's committed transactions appear in each partition in the order they were committed");
  const readLost = new Check('read-then-lost', 'a record a read_committed reader read is still at that offset in the final read_committed and read_uncommitted reads');
  const incomplete = new Check('reader-incomplete', 'every reader reaches the end of every partition (the final reads reach EOF; the running readers reach the last committed offsets)');
  const lso = new Check('last-stable-offset', 'once every producer has stopped, the last stable offset of every partition reaches its high watermark (no transaction left hanging) and no read_committed read goes past it');

  // Position -> value, over all readers.
  const atPosition = new Map<string, { value: string | null; reader: string }>();
  // Record value -> positions, over all readers.
  const positionsOf = new Map<string, Map<string, string[]>>();
  // Per reader: txn id -> set of k read.
  const seenByReader = new Map<string, Map<string, Set<number>>>();
  const readerRecords = new Map<string, number>();

  for (const r of history.readers) {
    readerRecords.set(r.name, r.records.length);
    const seen = new Map<string, Set<number>>();
    seenByReader.set(r.name, seen);
    const lastOffset = new Map<string, number>();
    let rewinds = 0;
    for (const [t, p, o, v] of r.records) {
      const here = pos(t, p, o);
      const prior = atPosition.get(here);
      if (prior === undefined) atPosition.set(here, { value: v, reader: r.name });
      else if (prior.value !== v) inconsistent.add(`${here}: ${prior.reader} read ${JSON.stringify(prior.value)}, ${r.name} read ${JSON.stringify(v)}`);
      if (v !== null) {
        let m = positionsOf.get(v);
        if (!m) positionsOf.set(v, (m = new Map()));
        const readers = m.get(here) ?? [];
        if (!readers.includes(r.name)) readers.push(r.name);
        m.set(here, readers);
      }
      const last = lastOffset.get(tp(t, p));
      if (last !== undefined && o <= last) {
        rewinds++;
        if (r.kind !== 'group') nonmono.add(`${r.name}: ${tp(t, p)} offset ${o} read after offset ${last}`);
      }
      lastOffset.set(tp(t, p), o);
      const parsed = parseValue(v);
      const txn = parsed ? txns.get(parsed.txnId) : undefined;
      if (!parsed || !txn) {
        unknownRecords.add(`${r.name} read ${JSON.stringify(v)} at ${here}: ${parsed ? 'no producer logged that transaction' : 'not a checker value'}`);
        continue;
      }
      const sentTo = txn.recs[parsed.k];
      if (!sentTo || sentTo[0] !== t || sentTo[1] !== p || parsed.n !== txn.recs.length) {
        unknownRecords.add(`${r.name} read ${v} at ${here}, but the producer sent record ${parsed.k} of ${txn.recs.length} to ${sentTo ? tp(sentTo[0], sentTo[1]) : 'nowhere'}`);
        continue;
      }
      if (r.isolation === 'read_committed' && txn.outcome === 'abort') {
        g1a.add(`${r.name} read ${v} at ${here}; the producer's abort of ${txn.id} was acknowledged (${txn.why})`);
      }
      let ks = seen.get(txn.id);
      if (!ks) seen.set(txn.id, (ks = new Set()));
      ks.add(parsed.k);
    }
    if (rewinds > 0 && r.kind === 'group') readerRecords.set(`${r.name} (re-reads after rebalances)`, rewinds);
    if (!r.complete) incomplete.add(`${r.name} (${r.kind}, ${r.isolation}) did not reach the end of every partition`);
  }

  for (const [v, m] of positionsOf) {
    if (m.size > 1) dups.add(`${v} at ${[...m].map(([where, readers]) => `${where} (${readers.join(', ')})`).join(' and ')}`);
  }

  const finalRuAt = new Map<string, string | null>();
  for (const [t, p, o, v] of finalRu?.records ?? []) finalRuAt.set(pos(t, p, o), v);
  const finalRcAt = new Map<string, string | null>();
  for (const [t, p, o, v] of finalRc?.records ?? []) finalRcAt.set(pos(t, p, o), v);
  const whereIn = (reader: Reader | undefined, value: string): string => {
    if (!reader) return 'no such read';
    const hit = reader.records.find((e) => e[3] === value);
    return hit ? pos(hit[0], hit[1], hit[2]) : 'absent';
  };

  const completeRc = rc.filter((r) => r.complete);
  let committedRecords = 0;
  const unknownVerdicts = { visible: 0, invisible: 0, partial: 0 };
  for (const txn of txns.values()) {
    const n = txn.recs.length;
    const values = txn.recs.map((_, k) => `${txn.id}/${k}/${n}`);
    if (txn.outcome === 'commit') {
      committedRecords += n;
      for (const [k, v] of values.entries()) {
        const [t, p] = txn.recs[k]!;
        const inRc = finalRc ? whereIn(finalRc, v) : 'no final read_committed read';
        const inRu = whereIn(finalRu, v);
        if (inRc === 'absent' || inRu === 'absent') {
          lost.add(`${v} (sent to ${tp(t, p)}, commit acknowledged): final read_committed ${inRc}, final read_uncommitted ${inRu}`);
        }
      }
      for (const r of completeRc) {
        if (r === finalRc) continue;
        const ks = seenByReader.get(r.name)?.get(txn.id)?.size ?? 0;
        if (ks < n) lost.add(`${r.name} read ${ks} of the ${n} records of committed ${txn.id}`);
      }
    }
    // All or nothing, per complete read_committed reader.
    const verdicts: string[] = [];
    for (const r of completeRc) {
      const ks = seenByReader.get(r.name)?.get(txn.id);
      const c = ks?.size ?? 0;
      if (c > 0 && c < n) {
        const missing = values.flatMap((v, k) => (ks!.has(k) ? [] : [`${v} (sent to ${tp(...txn.recs[k]!)})`]));
        partial.add(`${r.name} read ${c} of the ${n} records of ${txn.id} (${txn.outcome}); missing ${missing.slice(0, 4).join(', ')}${missing.length > 4 ? ', ...' : ''}; final read_uncommitted has them at ${values.map((v) => whereIn(finalRu, v)).join(', ')}`);
      }
      verdicts.push(`${r.name}=${c === 0 ? 'none' : c === n ? 'all' : `${c}/${n}`}`);
    }
    if (txn.outcome === 'unknown' && completeRc.length > 0) {
      const all = verdicts.every((x) => x.endsWith('=all'));
      const none = verdicts.every((x) => x.endsWith('=none'));
      if (all) unknownVerdicts.visible++;
      else if (none) unknownVerdicts.invisible++;
      else {
        unknownVerdicts.partial++;
        unknown.add(`${txn.id} (${txn.why ?? ''}): ${verdicts.join(', ')}`);
      }
    }
  }

  // Order of one producer's committed transactions within a partition (final read_committed).
  if (finalRc) {
    const lastByProducerPartition = new Map<string, { txn: number; k: number; offset: number }>();
    const byPosition = [...finalRc.records].sort((x, y) => (x[0] === y[0] ? (x[1] === y[1] ? x[2] - y[2] : x[1] - y[1]) : x[0] < y[0] ? -1 : 1));
    for (const [t, p, o, v] of byPosition) {
      const parsed = parseValue(v);
      const txn = parsed ? txns.get(parsed.txnId) : undefined;
      if (!parsed || !txn) continue;
      const key = `${txn.producer} ${tp(t, p)}`;
      const last = lastByProducerPartition.get(key);
      if (last && (txn.txn < last.txn || (txn.txn === last.txn && parsed.k < last.k))) {
        order.add(`${tp(t, p)}: ${v} at offset ${o} after ${txn.producer}/${last.txn}/${last.k} at offset ${last.offset}`);
      }
      lastByProducerPartition.set(key, { txn: txn.txn, k: parsed.k, offset: o });
    }
  }

  // What a read_committed reader read stays where it was.
  for (const r of rc) {
    if (r === finalRc) continue;
    for (const [t, p, o, v] of r.records) {
      const here = pos(t, p, o);
      const inRc = finalRcAt.has(here) ? finalRcAt.get(here) : undefined;
      const inRu = finalRuAt.has(here) ? finalRuAt.get(here) : undefined;
      if (finalRc && inRc === undefined) readLost.add(`${r.name} read ${JSON.stringify(v)} at ${here}; the final read_committed read has ${inRu === undefined ? 'nothing there' : `nothing there (read_uncommitted: ${JSON.stringify(inRu)})`}`);
      else if (finalRu && inRu === undefined) readLost.add(`${r.name} read ${JSON.stringify(v)} at ${here}; the final read_uncommitted read has nothing there`);
    }
  }
  if (finalRc && finalRu) {
    for (const [t, p, o, v] of finalRc.records) {
      if (!finalRuAt.has(pos(t, p, o))) readLost.add(`the final read_committed read has ${JSON.stringify(v)} at ${pos(t, p, o)}; the final read_uncommitted read has nothing there`);
    }
  }
  if (!finalRc) incomplete.add('no final read_committed read');
  if (!finalRu) incomplete.add('no final read_uncommitted read');

  for (const e of history.ends ?? []) {
    if (e.lastStableOffset !== e.highWatermark) lso.add(`${tp(e.topic, e.partition)}: last stable offset ${e.lastStableOffset}, high watermark ${e.highWatermark}`);
    for (const r of rc) {
      const beyond = r.records.find(([t, p, o]) => t === e.topic && p === e.partition && o >= e.lastStableOffset);
      if (beyond) lso.add(`${r.name} read ${JSON.stringify(beyond[3])} at ${pos(beyond[0], beyond[1], beyond[2])}, at or past the last stable offset ${e.lastStableOffset}`);
    }
  }

  const checks = [unknownRecords, g1a, lost, dups, partial, inconsistent, unknown, nonmono, order, readLost, incomplete, lso].map((c) => c.result());
  const outcomes = { commit: 0, abort: 0, 'abort after-error': 0, unknown: 0 };
  for (const t of txns.values()) {
    if (t.outcome === 'abort' && t.why === 'after-error') outcomes['abort after-error']++;
    else outcomes[t.outcome]++;
  }
  const counts: Record<string, number | string> = {
    'transactions committed': outcomes.commit,
    'transactions aborted (chosen)': outcomes.abort,
    'transactions aborted (after an error)': outcomes['abort after-error'],
    'transactions unknown': `${outcomes.unknown} (wholly visible ${unknownVerdicts.visible}, wholly invisible ${unknownVerdicts.invisible}, split ${unknownVerdicts.partial})`,
    'records of committed transactions': committedRecords,
    'distinct positions read': atPosition.size,
  };
  for (const [name, n] of readerRecords) counts[`records read by ${name}`] = n;
  const ok = checks.every((c) => c.count === 0);
  const lines = ['exactly-once checker:', ...Object.entries(counts).map(([k, v]) => `  ${k}: ${v}`)];
  for (const c of checks) {
    lines.push(`  [${c.count === 0 ? 'ok' : `${c.count} ANOMALIES`}] ${c.name}: ${c.what}`);
    for (const a of c.anomalies) lines.push(`      ${a}`);
    if (c.count > c.anomalies.length) lines.push(`      ... and ${c.count - c.anomalies.length} more`);
  }
  return { checks, counts, ok, text: lines.join('\n') };
}
