/**
 * Turns the collected results into the summary table (console and Markdown), checks them against
 * the targets of issue 2, and writes bench/RESULTS.md.
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

## Runs
`;

/** Replaces the "latest" block and appends the run's section. */
export function writeResults(file, latestMarkdown, runMarkdown) {
  let text = existsSync(file) ? readFileSync(file, 'utf8') : header;
  const begin = '<!-- latest:begin -->';
  const end = '<!-- latest:end -->';
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i >= 0 && j > i) text = `${text.slice(0, i + begin.length)}\n${latestMarkdown}\n${text.slice(j)}`;
  else text = `${header.replace(`${begin}\n${end}`, `${begin}\n${latestMarkdown}\n${end}`)}\n${text}`;
  if (!text.endsWith('\n')) text += '\n';
  text += `\n${runMarkdown}\n`;
  writeFileSync(file, text);
}
