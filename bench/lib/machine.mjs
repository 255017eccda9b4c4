/** What the benchmark ran on: CPU, memory, kernel, disk of the data dir, Node, git commit. */
import { execFileSync } from 'node:child_process';
import { readFileSync, statfsSync } from 'node:fs';
import os from 'node:os';

const gb = (b) => `${(b / 1e9).toFixed(1)} GB`;

export function freeBytes(dir) {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

function mountOf(dir) {
  try {
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => f.length >= 3);
    let best = null;
    for (const [dev, mnt, type] of mounts) {
      if ((dir === mnt || dir.startsWith(mnt.endsWith('/') ? mnt : `${mnt}/`)) && (!best || mnt.length > best.mnt.length)) best = { dev, mnt, type };
    }
    return best;
  } catch {
    return null;
  }
}

export function machineInfo(dataDirParent) {
  let cpuModel = 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpuModel;
  } catch {
    /* not Linux */
  }
  const s = statfsSync(dataDirParent);
  const m = mountOf(dataDirParent);
  return {
    nproc: os.availableParallelism ? os.availableParallelism() : os.cpus().length,
    cpuModel,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    disk: `${dataDirParent} on ${m ? `${m.dev} (${m.type}, mounted at ${m.mnt})` : 'unknown device'}, ${gb(s.blocks * s.bsize)} total, ${gb(s.bavail * s.bsize)} free`,
    node: process.version,
  };
}

export function gitInfo(repoRoot) {
  const git = (...args) => {
    try {
      return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  };
  const commit = git('rev-parse', '--short=12', 'HEAD');
  const subject = git('log', '-1', '--format=%s');
  // Uncommitted changes outside bench/ change what is measured; say so.
  const dirty = git('status', '--porcelain', '--untracked-files=no', '--', '.', ':(exclude)bench');
  return { commit, subject, dirty: dirty ? dirty.split('\n').length : 0 };
}

/**
 * Busy and total CPU time of the whole machine so far, in seconds (first line of /proc/stat), and
 * the part of it the hypervisor gave to other guests (steal; counted in busy).
 */
export function systemCpuSeconds() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    const total = f.slice(0, 8).reduce((s, x) => s + x, 0);
    return { busy: (total - idle) / 100, total: total / 100, steal: (f[7] ?? 0) / 100 };
  } catch {
    return null;
  }
}

/** The 1-minute load average. */
export const loadAverage = () => Number(os.loadavg()[0].toFixed(2));
