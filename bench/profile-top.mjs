#!/usr/bin/env node
/**
 * Summarizes a V8 .cpuprofile (node --cpu-prof): top functions by self time, with their share of
 * all samples, and the same grouped by file. Idle and GC are listed as V8 names them.
 *
 *   node bench/profile-top.mjs PROFILE.cpuprofile [--top 25] [--window START_US,END_US]
 *
 * Sample times in a .cpuprofile are CLOCK_MONOTONIC microseconds, the clock of
 * process.hrtime.bigint(), so a window recorded by another process on this host (bench/run.mjs
 * records one per workload) selects the samples taken during that workload.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Returns { totalMs (busy), idleMs, functions: [{ name, where, selfMs, pct }], files: [{ file, selfMs, pct }] }. */
export function summarizeProfile(file, top = 25, window = null) {
  const prof = typeof file === 'string' ? JSON.parse(readFileSync(file, 'utf8')) : file;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  const deltas = prof.timeDeltas ?? [];
  let t = prof.startTime;
  for (let i = 0; i < prof.samples.length; i++) {
    const d = Math.max(0, deltas[i] ?? 0);
    t += d;
    if (window && (t < window[0] || t > window[1])) continue;
    const id = prof.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + d);
  }
  const parentOf = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parentOf.set(c, n);
  const fnTotals = new Map();
  const fileTotals = new Map();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    const cf = n.callFrame;
    // Percentages are of busy main-thread time; idle time is reported on its own.
    if (cf.functionName === '(idle)') {
      idle += us;
      continue;
    }
    const url = cf.url ? shorten(cf.url) : '';
    const name = cf.functionName || (url ? '(anonymous)' : '(native)');
    const where = url ? `${url}:${cf.lineNumber + 1}` : '';
    const key = `${name} ${where}`;
    const e = fnTotals.get(key) ?? { name, where, us: 0, callers: new Map() };
    e.us += us;
    fnTotals.set(key, e);
    // Which code called it: for native functions (fs bindings, copies) that is what to fix.
    // Prefer the nearest frame of the application (not node: internals), else the nearest with a URL.
    let parent = parentOf.get(id);
    let firstWithUrl = null;
    while (parent && parentOf.get(parent.id)) {
      const u = parent.callFrame.url;
      if (u && !firstWithUrl) firstWithUrl = parent;
      if (u && !u.startsWith('node:')) break;
      parent = parentOf.get(parent.id);
    }
    if (!parent || !parent.callFrame.url || parent.callFrame.url.startsWith('node:')) parent = firstWithUrl ?? parent;
    if (parent) {
      const pcf = parent.callFrame;
      const pkey = `${pcf.functionName || '(anonymous)'}${pcf.url ? ` (${shorten(pcf.url)}:${pcf.lineNumber + 1})` : ''}`;
      e.callers.set(pkey, (e.callers.get(pkey) ?? 0) + us);
    }
    const fkey = url ? url : name.startsWith('(') ? name : '(native/builtin)';
    fileTotals.set(fkey, (fileTotals.get(fkey) ?? 0) + us);
    total += us;
  }
  const pct = (us) => (total > 0 ? Math.round((us / total) * 1000) / 10 : 0);
  const functions = [...fnTotals.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((e) => ({
      name: e.name,
      where: e.where,
      selfMs: Math.round(e.us / 1000),
      pct: pct(e.us),
      callers: [...e.callers]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 3)
        .map(([caller, us]) => ({ caller, pct: pct(us) })),
    }));
  const files = [...fileTotals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)
    .map(([f, us]) => ({ file: f, selfMs: Math.round(us / 1000), pct: pct(us) }));
  return { totalMs: Math.round(total / 1000), idleMs: Math.round(idle / 1000), functions, files };
}

function shorten(url) {
  let p = url.startsWith('file://') ? fileURLToPath(url) : url;
  const i = p.indexOf('/packages/');
  if (i >= 0) p = p.slice(i + 1);
  const j = p.indexOf('/node_modules/');
  if (j >= 0) p = p.slice(j + 1);
  return p;
}

export function formatProfile(summary) {
  const lines = [
    `main thread busy ${summary.totalMs} ms, idle ${summary.idleMs} ms (percentages are of busy time)`,
    '',
    'self %  self ms  function (location)',
  ];
  for (const f of summary.functions) {
    lines.push(`${String(f.pct).padStart(6)}  ${String(f.selfMs).padStart(7)}  ${f.name}${f.where ? ` (${f.where})` : ''}`);
    // Who called it (for native frames, which have no location of their own, the nearest JS caller).
    if (f.name !== '(garbage collector)' && f.name !== '(program)') {
      for (const c of (f.callers ?? []).slice(0, f.where ? 2 : 3)) lines.push(`${' '.repeat(17)}<- ${String(c.pct).padStart(5)}%  ${c.caller}`);
    }
  }
  lines.push('', 'self %  self ms  file');
  for (const f of summary.files) lines.push(`${String(f.pct).padStart(6)}  ${String(f.selfMs).padStart(7)}  ${f.file}`);
  return lines.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node bench/profile-top.mjs PROFILE.cpuprofile [--top N]\n');
    process.exit(1);
  }
  const ti = process.argv.indexOf('--top');
  const top = ti > 0 ? Number(process.argv[ti + 1]) : 25;
  const wi = process.argv.indexOf('--window');
  const window = wi > 0 ? process.argv[wi + 1].split(',').map(Number) : null;
  process.stdout.write(`${formatProfile(summarizeProfile(file, top, window))}\n`);
}
