/**
 * Turns the collected results into the summary tables (console and Markdown), checks them against
 * the targets of issue 2 and of the consumer-group issue, and writes bench/RESULTS.md.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/** Issue 2's targets: 1 KiB records, one producer, 8 partitions, measured with librdkafka. */
export const targets = {
  produce1MBps: 300,
  produceAllMBps: 200,
  consumeMBps: 500,
  e2eP99Ms: 3,
  rssMB: 300,
  startupMs: 2000,
};

/** The consumer-group issue's targets (classic protocol, this 2-core machine). */
export const groupTargets = {
  /** A 10-member group is stable this soon after its last member's first JoinGroup. */
  rebalanceMs: 1000,
  /** Partition offsets committed per second by 10 clients. */
  commitsPerSec: 20_000,
  /** The coordinator loads 100,000 committed offsets at start-up in less than this (groupLoadMs). */
  offsetLoadMs: 1000,
  offsetLoadCount: 100_000,
};

/** Issue 4's targets (exactly-once producers, this 2-core machine). */
export const txnTargets = {
  /** Idempotent acks=all produce within this fraction of the same produce without a producer id. */
  idempotentGapMax: 0.1,
  /** Small transactions (10 records over 2 partitions) committed per second, sustained. */
  txnsPerSec: 1000,
};

const fmt = (x, digits = 1) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits));
const krec = (x) => (x === null || x === undefined ? '–' : `${(x / 1000).toFixed(0)}k rec/s`);

function throughputCell(mb, recs, extra = '') {
  if (mb === null || mb === undefined) return '–';
  return `${fmt(mb)} MB/s, ${krec(recs)}${extra}`;
}

function latencyCell(l) {
  if (!l || l.p99 === null || l.p99 === undefined) return '–';
  return `p50 ${fmt(l.p50, 2)} · p95 ${fmt(l.p95, 2)} · p99 ${fmt(l.p99, 2)} · p99.9 ${fmt(l.p999, 2)} · max ${fmt(l.max, 2)} ms`;
}

function rdLatency(e) {
  if (!e) return null;
  const ms = (us) => (typeof us === 'number' && us >= 0 ? us / 1000 : null);
  return { p50: ms(e.e2e_p50_us), p95: null, p99: ms(e.e2e_p99_us), p999: ms(e.e2e_p999_us), max: ms(e.e2e_max_us) };
}

function rdLatencyCell(e) {
  const l = rdLatency(e);
  if (!l || l.p99 === null) return '–';
  return `p50 ${fmt(l.p50, 2)} · p99 ${fmt(l.p99, 2)} · p99.9 ${fmt(l.p999, 2)} · max ${fmt(l.max, 2)} ms`;
}

function status(value, ok, judgedOn) {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'not measured';
  return `${ok(value) ? 'met' : 'MISSED'}${judgedOn ? ` (${judgedOn})` : ''}`;
}

/** Picks the librdkafka figure when there is one (the issue's yardstick), else Fjord's loadgen. */
function judge(rdValue, lgValue) {
  if (rdValue !== null && rdValue !== undefined && Number.isFinite(rdValue)) return [rdValue, 'librdkafka'];
  if (lgValue !== null && lgValue !== undefined && Number.isFinite(lgValue)) return [lgValue, 'Fjord loadgen'];
  return [null, null];
}

const okRd = (r) => (r && r.ok ? r.result : null);

/** " (median of N runs)" when any of the figures is a median of several rounds. */
function medianNote(...runs) {
  const n = Math.max(0, ...runs.map((r) => (r && Array.isArray(r.rounds) ? r.rounds.length : 0)));
  return n > 1 ? ` (median of ${n} runs)` : '';
}

/** Rows: { workload, loadgen, rdkafka, target, status }. */
export function summaryRows(results) {
  const rows = [];
  const rd = results.rdkafka ?? {};
  const lg1 = results.produce1;
  const lgAll = results.produceAll;
  const rd1 = okRd(rd.produce1);
  const rdAll = okRd(rd.produceAll);
  const rdC = okRd(rd.consume);
  const rdE = okRd(rd.e2e);
  if (lg1 || rd1) {
    const [v, on] = judge(rd1?.mb_per_s, lg1?.mbPerSec);
    rows.push({ workload: `produce acks=1, 8 partitions${medianNote(lg1, rd.produce1)}`, loadgen: throughputCell(lg1?.mbPerSec, lg1?.recordsPerSec), rdkafka: throughputCell(rd1?.mb_per_s, rd1?.msgs_per_s), target: `>= ${targets.produce1MBps} MB/s`, status: status(v, (x) => x >= targets.produce1MBps, on) });
  }
  if (lgAll || rdAll) {
    const [v, on] = judge(rdAll?.mb_per_s, lgAll?.mbPerSec);
    rows.push({ workload: `produce acks=all (fsync group commit)${medianNote(lgAll, rd.produceAll)}`, loadgen: throughputCell(lgAll?.mbPerSec, lgAll?.recordsPerSec), rdkafka: throughputCell(rdAll?.mb_per_s, rdAll?.msgs_per_s), target: `>= ${targets.produceAllMBps} MB/s`, status: status(v, (x) => x >= targets.produceAllMBps, on) });
  }
  const c = results.consume;
  if (c || rdC) {
    const [v, on] = judge(rdC?.mb_per_s, c?.mbPerSec);
    const size = c ? ` (${fmt((c.batchBytes ?? 0) / 1e9, 2)} GB topic)` : '';
    rows.push({ workload: `consume from offset 0${medianNote(c, rd.consume)}`, loadgen: throughputCell(c?.mbPerSec, c?.recordsPerSec, size), rdkafka: throughputCell(rdC?.mb_per_s, rdC?.msgs_per_s), target: `>= ${targets.consumeMBps} MB/s`, status: status(v, (x) => x >= targets.consumeMBps, on) });
  }
  const e = results.e2e;
  if (e || rdE) {
    const [v, on] = judge(rdLatency(rdE)?.p99, e?.latencyMs?.p99);
    rows.push({ workload: `end-to-end latency at 5,000 rec/s${medianNote(e, rd.e2e)}`, loadgen: latencyCell(e?.latencyMs), rdkafka: rdLatencyCell(rdE), target: `p99 <= ${targets.e2eP99Ms} ms`, status: status(v, (x) => x <= targets.e2eP99Ms, on) });
  }
  const m = results.memory;
  if (m && m.rss) {
    const worst = Math.max(m.rss.afterWriteMB ?? -Infinity, m.rss.afterConsumeMB ?? -Infinity);
    const scaled = m.storedGB !== null && m.storedGB < 9.5 ? ` (scaled: ${fmt(m.storedGB, 2)} GB stored)` : '';
    rows.push({
      workload: `broker RSS, ${fmt(m.storedGB, 2)} GB stored, ${m.partitions} partitions`,
      loadgen: `after write ${fmt(m.rss.afterWriteMB, 0)} MB · after consume ${fmt(m.rss.afterConsumeMB, 0)} MB · peak ${fmt(m.rss.peakMB, 0)} MB`,
      rdkafka: '',
      target: `< ${targets.rssMB} MB with 10 GB`,
      status: status(Number.isFinite(worst) ? worst : null, (x) => x < targets.rssMB) + scaled,
    });
  }
  const s = results.startup;
  if (s && s.readyMs && s.readyMs.length) {
    const scaled = s.storedGB !== null && s.storedGB < 9.5 ? ` (scaled: ${fmt(s.storedGB, 2)} GB stored)` : '';
    rows.push({
      workload: `start-up after clean shutdown, ${fmt(s.storedGB, 2)} GB`,
      loadgen: `first ${fmt(s.readyMs[0], 0)} ms · all ${s.readyMs.map((x) => fmt(x, 0)).join(' / ')} ms`,
      rdkafka: '',
      target: `< ${targets.startupMs} ms with 10 GB`,
      status: status(s.readyMs[0], (x) => x < targets.startupMs) + scaled,
    });
  }
  return rows;
}

const int = (x) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : Math.round(x).toLocaleString('en-US'));

/** Rows for the consumer-group workloads (same columns; librdkafka has no part in them). */
export function groupRows(g) {
  const rows = [];
  if (!g) return rows;
  const failed = (r) => !r || r.ok === false;
  const failCell = (r) => `FAILED: ${(r?.error ?? 'not run').slice(0, 120)}`;
  const delay = `group.initial.rebalance.delay.ms=${g.initialDelayMs ?? 0}`;
  const rebalanceRow = (r, label, pick) => {
    if (!r) return;
    const x = failed(r) ? null : pick(r);
    rows.push({
      workload: label,
      loadgen: failed(r) ? failCell(r) : x && x.n ? `median ${fmt(x.median, 0)} · max ${fmt(x.max, 0)} ms (${x.n} groups${r.firstError ? `; ${r.firstError}` : ''})` : '–',
      rdkafka: '',
      target: `stable <= ${groupTargets.rebalanceMs} ms after the last join`,
      status: status(x?.max, (v) => v <= groupTargets.rebalanceMs),
    });
  };
  rebalanceRow(g.rebalance, `rebalance: fresh 10-member group, 100 partitions, members join together (${delay})`, (r) => r.stabiliseMs);
  rebalanceRow(g.rebalanceStaggered, `rebalance: fresh 10-member group, members join 50 ms apart (${delay})`, (r) => r.stabiliseMs);
  rebalanceRow(g.rebalance, 'rebalance: an 11th member joins a stable 10-member group (heartbeat every 300 ms)', (r) => r.extraJoinMs);
  const d = g.rebalanceDefaultDelay;
  if (d) {
    rows.push({
      workload: 'rebalance: fresh 10-member group with Kafka\'s default group.initial.rebalance.delay.ms=3000',
      loadgen: failed(d) ? failCell(d) : `${fmt(d.stabiliseMs?.median, 0)} ms`,
      rdkafka: '',
      target: 'none: the delay is deliberate',
      status: 'note',
    });
  }
  for (const k of ['commits1', 'commits4']) {
    const c = g[k];
    if (!c) continue;
    rows.push({
      workload: `offset commits: 10 clients x 10 partitions per OffsetCommit, ${c.inflight ?? k.slice(-1)} in flight each`,
      loadgen: failed(c) ? failCell(c) : `${int(c.commitsPerSec)} commits/s · ${int(c.requestsPerSec)} requests/s · p50 ${fmt(c.requestLatencyMs?.p50, 2)} · p99 ${fmt(c.requestLatencyMs?.p99, 2)} ms`,
      rdkafka: '',
      target: `>= ${int(groupTargets.commitsPerSec)} commits/s`,
      status: status(failed(c) ? null : c.commitsPerSec, (v) => v >= groupTargets.commitsPerSec),
    });
  }
  const h = g.historyRestart;
  if (h) {
    rows.push({
      workload: `start-up after the commit workloads: ~${int(h.records)} commit records in __consumer_offsets, ${int(h.started?.committedOffsets)} live offsets`,
      loadgen: `groupLoadMs ${fmt(h.started?.groupLoadMs, 0)} · spawn → ready ${fmt(h.readyMs, 0)} ms`,
      rdkafka: '',
      target: 'none (load time follows the records, not the live offsets)',
      status: 'note',
    });
  }
  const s = g.startup;
  if (s) {
    const scaled = s.offsets < groupTargets.offsetLoadCount ? ` (scaled: ${int(s.offsets)} offsets)` : '';
    for (const [k, label] of [['clean', 'after SIGTERM'], ['killed', 'after SIGKILL']]) {
      const x = s[k];
      if (!x) continue;
      const st = x.started;
      const checked = x.verify && x.verify.ok !== false ? ` · ${int(x.verify.matched)}/${int(x.verify.checked)} read back` : '';
      rows.push({
        workload: `start-up with ${int(s.offsets)} committed offsets (${int(s.groups)} groups), ${label}`,
        loadgen: `groupLoadMs ${st ? fmt(st.groupLoadMs, 0) : '–'} · spawn → ready ${fmt(x.readyMs, 0)} ms · ${st ? int(st.committedOffsets) : '–'} offsets loaded${checked}`,
        rdkafka: '',
        target: `load < ${groupTargets.offsetLoadMs} ms with ${int(groupTargets.offsetLoadCount)}`,
        status: status(st?.groupLoadMs, (v) => v < groupTargets.offsetLoadMs) + scaled,
      });
    }
  }
  return rows;
}

/** Rows for the exactly-once workloads (issue 4; Fjord's load generator only). */
export function txnRows(x) {
  const rows = [];
  if (!x) return rows;
  const failed = (r) => !r || r.ok === false;
  const failCell = (r) => `FAILED: ${(r?.error ?? r?.firstError ?? 'not run').slice(0, 120)}`;
  const idem = x.idempotentMedian;
  const plain = x.plainMedian;
  if (idem || plain) {
    const ok = !failed(idem) && !failed(plain) && Number.isFinite(idem.mbPerSec) && Number.isFinite(plain.mbPerSec);
    const gap = ok ? (plain.mbPerSec - idem.mbPerSec) / plain.mbPerSec : null;
    const n = Math.max(idem?.rounds?.length ?? 1, plain?.rounds?.length ?? 1);
    const gapText = (g) => (g >= 0 ? `${fmt(g * 100)}% slower` : `${fmt(-g * 100)}% faster`);
    // librdkafka: enable.idempotence=true against 5 requests in flight without a producer id.
    const rdIdem = x.rd?.idempotentMedian;
    const rdPlain = x.rd?.plainMedian;
    const rdOk = rdIdem && rdPlain && !failed(rdIdem) && !failed(rdPlain) && Number.isFinite(rdIdem.result?.mb_per_s) && Number.isFinite(rdPlain.result?.mb_per_s);
    const rdGap = rdOk ? (rdPlain.result.mb_per_s - rdIdem.result.mb_per_s) / rdPlain.result.mb_per_s : null;
    const rdCell = !x.rd ? '' : rdOk ? `enable.idempotence ${fmt(rdIdem.result.mb_per_s)} MB/s · plain, 5 in flight ${fmt(rdPlain.result.mb_per_s)} MB/s · ${gapText(rdGap)}` : failCell(failed(rdIdem) ? rdIdem : rdPlain);
    const [judged, judgedOn] = judge(rdGap, gap);
    rows.push({
      workload: `produce acks=all, idempotent vs no producer id, 1 KiB records, 8 partitions, 5 in flight${n > 1 ? ` (median of ${n} runs each)` : ''}`,
      loadgen: ok ? `idempotent ${fmt(idem.mbPerSec)} MB/s · plain ${fmt(plain.mbPerSec)} MB/s · ${gapText(gap)}` : failCell(failed(idem) ? idem : plain),
      rdkafka: rdCell,
      target: `within ${fmt(txnTargets.idempotentGapMax * 100, 0)}% of plain`,
      status: status(judged ?? null, (v) => v <= txnTargets.idempotentGapMax, x.rd ? judgedOn : undefined),
    });
  }
  const latency = (l) => (l ? `p50 ${fmt(l.p50, 2)} · p95 ${fmt(l.p95, 2)} · p99 ${fmt(l.p99, 2)} · max ${fmt(l.max, 2)} ms` : '–');
  const txnCell = (r) => (failed(r) ? failCell(r) : `${int(r.txnsPerSec)} txns/s · ${latency(r.latencyMs)}`);
  if (x.single) rows.push({ workload: 'transactions (10 records over 2 partitions, commit), 1 producer, as fast as it goes', loadgen: txnCell(x.single), rdkafka: '', target: 'none (how many producers 1,000/s needs)', status: 'note' });
  const n = x.producersForTarget;
  if (x.ceiling) rows.push({ workload: `transactions, ${n} producers (connections), as fast as they go`, loadgen: txnCell(x.ceiling), rdkafka: '', target: 'none (the ceiling)', status: 'note' });
  if (x.rated) {
    const r = x.rated;
    rows.push({
      workload: `transactions, ${n} producers (connections) paced to ${int(txnTargets.txnsPerSec)}/s together`,
      loadgen: failed(r) ? failCell(r) : `${int(r.txnsPerSec)} txns/s sustained over ${fmt(r.secs, 0)} s · ${latency(r.latencyMs)}${r.startLagMs ? ` · start lag p99 ${fmt(r.startLagMs.p99, 2)} ms` : ''}`,
      rdkafka: '',
      target: `>= ${int(txnTargets.txnsPerSec)} txns/s sustained`,
      status: status(failed(r) ? null : r.txnsPerSec, (v) => v >= txnTargets.txnsPerSec * 0.99),
    });
  }
  return rows;
}

export function consoleTable(rows) {
  const head = { workload: 'workload', loadgen: 'Fjord loadgen', rdkafka: 'librdkafka (rdkafka_bench)', target: 'target', status: 'status' };
  const cols = Object.keys(head);
  const all = [head, ...rows];
  const width = Object.fromEntries(cols.map((c) => [c, Math.max(...all.map((r) => String(r[c] ?? '').length))]));
  const line = (r) => cols.map((c) => String(r[c] ?? '').padEnd(width[c])).join(' | ');
  return [line(head), cols.map((c) => '-'.repeat(width[c])).join('-+-'), ...rows.map(line)].join('\n');
}

export function markdownTable(rows) {
  const esc = (s) => String(s ?? '').replace(/\|/g, '\\|');
  const out = ['| workload | Fjord loadgen | librdkafka (rdkafka_bench) | target | status |', '|---|---|---|---|---|'];
  for (const r of rows) out.push(`| ${esc(r.workload)} | ${esc(r.loadgen)} | ${esc(r.rdkafka) || '–'} | ${esc(r.target)} | ${esc(r.status)} |`);
  return out.join('\n');
}

const header = `# Fjord benchmark results

Written by \`npm run bench -- --record\` (bench/run.mjs; see bench/README.md for what each workload
does). Targets are issue 2's: 1 KiB records, one producer, 8 partitions, measured with librdkafka on
this 2-core machine; a target is judged on the librdkafka figure when there is one. MB = 10^6 bytes
of record values (what rdkafka_bench reports). The latest run's summary is kept at the top; every
recorded run is appended below it, oldest first.

<!-- latest:begin -->
<!-- latest:end -->

Consumer groups (classic protocol; Fjord's load generator only):

<!-- latest-groups:begin -->
<!-- latest-groups:end -->

Exactly-once producers (issue 4; librdkafka only for the idempotent comparison):

<!-- latest-txn:begin -->
<!-- latest-txn:end -->

## Runs
`;

/** The summary blocks, in the order the header has them. */
const blockNames = ['latest', 'latest-groups', 'latest-txn'];

/**
 * Replaces the "latest" summary blocks this run has figures for ({ latest, 'latest-groups',
 * 'latest-txn' }: a run of only the group workloads leaves the others as they were) and appends the
 * run's section.
 */

export function writeResults(file, latestBlocks, runMarkdown) {
  let text = existsSync(file) ? readFileSync(file, 'utf8') : header;
  for (const [name, markdown] of Object.entries(latestBlocks)) {
    if (markdown === undefined) continue;
    const begin = `<!-- ${name}:begin -->`;
    const end = `<!-- ${name}:end -->`;
    if (!text.includes(begin)) {
      // A file written before this block existed: add it (with the header's words) after the
      // block that precedes it in the header.
      const previousEnd = `<!-- ${blockNames[blockNames.indexOf(name) - 1] ?? 'latest'}:end -->`;
      const blockInHeader = header.slice(header.indexOf(previousEnd) + previousEnd.length, header.indexOf(end) + end.length);
      const at = text.indexOf(previousEnd);
      text = at >= 0 ? `${text.slice(0, at + previousEnd.length)}${blockInHeader}${text.slice(at + previousEnd.length)}` : `${header}\n${text}`;
    }
    const i = text.indexOf(begin);
    const j = text.indexOf(end);
    text = `${text.slice(0, i + begin.length)}\n${markdown}\n${text.slice(j)}`;
  }
  if (!text.endsWith('\n')) text += '\n';
  text += `\n${runMarkdown}\n`;
  writeFileSync(file, text);
}
