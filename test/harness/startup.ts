// Reads the broker's start-up report: whether the previous shutdown was clean and how much of the log
// was scanned. The broker logs `broker started ... cleanShutdown=B recoveredSegments=N
// bytesScannedAtStartup=N`; an older form, `fjord: loaded N partitions (clean shutdown: no recovery)`,
// is also understood.
export interface StartupStats {
  cleanShutdown: boolean;
  recoveredSegments: number | undefined;
  bytesScanned: number | undefined;
  line: string;
}

export function startupStats(logs: string): StartupStats | undefined {
  const lines = logs.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    const clean = /cleanShutdown=(true|false)/.exec(line);
    if (clean) {
      const seg = /recoveredSegments=(\d+)/.exec(line);
      const bytes = /bytesScanned(?:AtStartup)?=(\d+)/.exec(line);
      return {
        cleanShutdown: clean[1] === 'true',
        recoveredSegments: seg ? Number(seg[1]) : undefined,
        bytesScanned: bytes ? Number(bytes[1]) : undefined,
        line,
      };
    }
    const old = /fjord: loaded (\d+) partitions \(clean shutdown: no recovery\)/.exec(line);
    if (old) return { cleanShutdown: true, recoveredSegments: 0, bytesScanned: 0, line };
    const recovery = /recovery: (clean shutdown|unclean shutdown), (\d+) segments scanned/.exec(line);
    if (recovery) return { cleanShutdown: recovery[1] === 'clean shutdown', recoveredSegments: Number(recovery[2]), bytesScanned: undefined, line };
  }
  return undefined;
}
