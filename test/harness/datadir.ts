// Looking at the broker's data dir, which has Kafka's layout: <topic>-<partition>/<20-digit base>.log
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface SegmentFile {
  name: string;
  baseOffset: number;
  bytes: number;
  path: string;
}

export function partitionDir(dataDir: string, topic: string, partition: number): string {
  return join(dataDir, `${topic}-${partition}`);
}

/** The files of a partition directory (all of them, sorted by name). */
export async function partitionFiles(dataDir: string, topic: string, partition: number): Promise<string[]> {
  return (await readdir(partitionDir(dataDir, topic, partition))).sort();
}

/** Segment .log files, oldest first. */
export async function segments(dataDir: string, topic: string, partition: number): Promise<SegmentFile[]> {
  const dir = partitionDir(dataDir, topic, partition);
  const out: SegmentFile[] = [];
  for (const name of await readdir(dir)) {
    const m = /^(\d{20})\.log$/.exec(name);
    if (!m) continue;
    const path = join(dir, name);
    out.push({ name, baseOffset: Number(m[1]), bytes: (await stat(path)).size, path });
  }
  return out.sort((a, b) => a.baseOffset - b.baseOffset);
}

export const segmentName = (baseOffset: number, ext: string): string => `${String(baseOffset).padStart(20, '0')}.${ext}`;
