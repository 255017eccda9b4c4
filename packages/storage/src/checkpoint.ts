/**
 * Kafka's plain-text checkpoint files:
 *
 *   0                       version
 *   2                       number of entries
 *   orders 0 1234           one entry per line, fields separated by one space
 *   orders 1 77
 *
 * Data-dir files (recovery-point-offset-checkpoint, log-start-offset-checkpoint,
 * cleaner-offset-checkpoint) hold `topic partition offset`; the per-partition
 * leader-epoch-checkpoint holds `epoch startOffset`. Parsing is strict: anything unexpected makes
 * the whole file unusable (the caller logs it by name and falls back), never a partial read.
 */
import { StorageError } from './errors.js';
import { writeFileAtomic, type FileSystem } from './fs-port.js';
import { checkpointFileBytesMax } from './limits.js';

export const RECOVERY_POINT_CHECKPOINT = 'recovery-point-offset-checkpoint';
export const LOG_START_OFFSET_CHECKPOINT = 'log-start-offset-checkpoint';
export const CLEANER_OFFSET_CHECKPOINT = 'cleaner-offset-checkpoint';
export const LEADER_EPOCH_CHECKPOINT = 'leader-epoch-checkpoint';
export const PARTITION_METADATA_FILE = 'partition.metadata';
export const CLEAN_SHUTDOWN_FILE = '.kafka_cleanshutdown';

export class CheckpointFormatError extends StorageError {
  override readonly name = 'CheckpointFormatError';
}

function lines(text: string, file: string): string[] {
  const ls = text.split('\n');
  if (ls.length > 0 && ls[ls.length - 1] === '') ls.pop();
  if (ls.length < 2) throw new CheckpointFormatError('checkpoint is missing its header lines', file);
  if (ls[0] !== '0') throw new CheckpointFormatError(`unsupported checkpoint version ${JSON.stringify(ls[0])}`, file);
  const count = parseCount(ls[1] ?? '', file);
  if (ls.length - 2 !== count) throw new CheckpointFormatError(`checkpoint declares ${count} entries but has ${ls.length - 2}`, file);
  return ls.slice(2);
}

function parseCount(s: string, file: string): number {
  if (!/^\d{1,9}$/.test(s)) throw new CheckpointFormatError(`bad entry count ${JSON.stringify(s)}`, file);
  return Number(s);
}

function parseOffset(s: string, file: string): bigint {
  if (!/^-?\d{1,19}$/.test(s)) throw new CheckpointFormatError(`bad offset ${JSON.stringify(s)}`, file);
  const v = BigInt(s);
  if (v > 0x7fff_ffff_ffff_ffffn || v < -1n) throw new CheckpointFormatError(`offset ${s} out of range`, file);
  return v;
}

function parseInt32(s: string, file: string): number {
  if (!/^-?\d{1,10}$/.test(s)) throw new CheckpointFormatError(`bad integer ${JSON.stringify(s)}`, file);
  const v = Number(s);
  if (v > 0x7fff_ffff || v < -0x8000_0000) throw new CheckpointFormatError(`integer ${s} out of range`, file);
  return v;
}

export interface PartitionOffset {
  topic: string;
  partition: number;
  offset: bigint;
}

export function parsePartitionOffsets(text: string, file: string): PartitionOffset[] {
  return lines(text, file).map((line) => {
    const parts = line.split(' ');
    if (parts.length !== 3 || !parts[0]) throw new CheckpointFormatError(`bad entry ${JSON.stringify(line)}`, file);
    const partition = parseInt32(parts[1]!, file);
    if (partition < 0) throw new CheckpointFormatError(`bad partition in ${JSON.stringify(line)}`, file);
    return { topic: parts[0], partition, offset: parseOffset(parts[2]!, file) };
  });
}

export function formatPartitionOffsets(entries: Iterable<PartitionOffset>): string {
  const out: string[] = [];
  for (const e of entries) out.push(`${e.topic} ${e.partition} ${e.offset}`);
  return `0\n${out.length}\n${out.map((l) => l + '\n').join('')}`;
}

export interface EpochEntry {
  epoch: number;
  startOffset: bigint;
}

export function parseEpochEntries(text: string, file: string): EpochEntry[] {
  return lines(text, file).map((line) => {
    const parts = line.split(' ');
    if (parts.length !== 2) throw new CheckpointFormatError(`bad entry ${JSON.stringify(line)}`, file);
    const epoch = parseInt32(parts[0]!, file);
    const startOffset = parseOffset(parts[1]!, file);
    if (epoch < 0 || startOffset < 0n) throw new CheckpointFormatError(`bad entry ${JSON.stringify(line)}`, file);
    return { epoch, startOffset };
  });
}

export function formatEpochEntries(entries: readonly EpochEntry[]): string {
  return `0\n${entries.length}\n${entries.map((e) => `${e.epoch} ${e.startOffset}\n`).join('')}`;
}

/** `version: 0` / `topic_id: <id>` (Kafka's PartitionMetadataFile). */
export function formatPartitionMetadata(topicId: string): string {
  return `version: 0\ntopic_id: ${topicId}\n`;
}

export function parsePartitionMetadata(text: string, file: string): { topicId: string } {
  const ls = text.split('\n').filter((l) => l.length > 0);
  if (ls.length !== 2 || ls[0] !== 'version: 0' || !ls[1]!.startsWith('topic_id: ')) {
    throw new CheckpointFormatError('malformed partition.metadata', file);
  }
  const topicId = ls[1]!.slice('topic_id: '.length).trim();
  if (!topicId) throw new CheckpointFormatError('partition.metadata has an empty topic id', file);
  return { topicId };
}

/** Reads a small text file; null when absent. Refuses oversized files (a corrupt length, not a checkpoint). */
export async function readSmallFile(fsys: FileSystem, path: string, maxBytes = checkpointFileBytesMax): Promise<string | null> {
  const st = await fsys.stat(path);
  if (!st) return null;
  if (st.size > maxBytes) throw new CheckpointFormatError(`file is ${st.size} bytes, over the ${maxBytes}-byte limit`, path);
  return (await fsys.readFile(path)).toString('utf8');
}

export async function writeCheckpoint(fsys: FileSystem, dir: string, name: string, text: string): Promise<void> {
  await writeFileAtomic(fsys, dir, name, Buffer.from(text, 'utf8'));
}
