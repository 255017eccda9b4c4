/**
 * The stamp `fjord perf` writes at the start of every record value it produces (when the record is
 * at least stampBytes long), so that `perf consume` can tell a record's age and `perf e2e` its
 * latency. Little-endian:
 *
 *   0  'FJPF'       magic
 *   4  uint32       run id (random per run: e2e ignores records of other runs)
 *   8  float64      sequence number within the run
 *   16 float64      wall clock at send, ms since the epoch with sub-ms precision
 *                   (performance.timeOrigin + performance.now(): comparable across processes on
 *                   one machine, as far as the system clock is)
 *   24 float64      intended send time, performance.now() ms of the sending process
 *   32 float64      actual send time (just before send()), performance.now() ms
 *
 * The monotonic times only mean something to the process that wrote them (perf e2e).
 */
export const stampBytes = 40;
const magic = 0x46504a46; // 'FJPF' read as uint32 LE

export interface Stamp {
  runId: number;
  seq: number;
  wallMs: number;
  intendedMs: number;
  sentMs: number;
}

export function writeStamp(buf: Buffer, s: Stamp): void {
  buf.writeUInt32LE(magic, 0);
  buf.writeUInt32LE(s.runId >>> 0, 4);
  buf.writeDoubleLE(s.seq, 8);
  buf.writeDoubleLE(s.wallMs, 16);
  buf.writeDoubleLE(s.intendedMs, 24);
  buf.writeDoubleLE(s.sentMs, 32);
}

/** The stamp at the start of `value`, or undefined when it carries none. */
export function readStamp(value: Buffer | null): Stamp | undefined {
  if (value === null || value.length < stampBytes || value.readUInt32LE(0) !== magic) return undefined;
  return {
    runId: value.readUInt32LE(4),
    seq: value.readDoubleLE(8),
    wallMs: value.readDoubleLE(16),
    intendedMs: value.readDoubleLE(24),
    sentMs: value.readDoubleLE(32),
  };
}
