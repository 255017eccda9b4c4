/**
 * The narrow file-system port storage uses, and its node adapter. Everything that touches a disk
 * goes through it so tests can inject faults (torn writes, failing fdatasync) and count syncs.
 *
 * Synchronous calls exist only where the ordered phase of an append needs them (write, roll,
 * rollback); everything else is async and runs on the libuv thread pool.
 */
import * as fs from 'node:fs';
import { promisify } from 'node:util';

/** 'r' read only; 'r+' read/write existing; 'w' create or truncate; 'wx+' create new, read/write. */
export type OpenFlags = 'r' | 'r+' | 'w' | 'wx+';

export interface FileStat {
  size: number;
  mtimeMs: number;
  isDirectory: boolean;
}

export interface FileSystem {
  open(path: string, flags: OpenFlags): Promise<number>;
  openSync(path: string, flags: OpenFlags): number;
  close(fd: number): Promise<void>;
  closeSync(fd: number): void;
  /** Positional write; may write fewer bytes than asked (the caller loops). */
  writeSync(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number;
  write(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** Positional read; returns the bytes read (0 at end of file). */
  read(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  fdatasync(fd: number): Promise<void>;
  ftruncateSync(fd: number, length: number): void;
  ftruncate(fd: number, length: number): Promise<void>;
  fstat(fd: number): Promise<FileStat>;
  /** null when the path does not exist. */
  stat(path: string): Promise<FileStat | null>;
  readdir(path: string): Promise<string[]>;
  mkdir(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** Ignores a missing file. */
  unlink(path: string): Promise<void>;
  /** Recursive remove; ignores a missing path. */
  rmrf(path: string): Promise<void>;
  readFile(path: string): Promise<Buffer>;
  /** fsync of a directory, so renames and creations inside it are durable. */
  fsyncDir(path: string): Promise<void>;
}

const pOpen = promisify(fs.open);
const pClose = promisify(fs.close);
const pFdatasync = promisify(fs.fdatasync);
const pFsync = promisify(fs.fsync);
const pFtruncate = promisify(fs.ftruncate);
const pFstat = promisify(fs.fstat);

function toStat(s: fs.Stats): FileStat {
  return { size: s.size, mtimeMs: s.mtimeMs, isDirectory: s.isDirectory() };
}

/** The real thing. */
export const nodeFileSystem: FileSystem = {
  open: (path, flags) => pOpen(path, flags),
  openSync: (path, flags) => fs.openSync(path, flags),
  close: (fd) => pClose(fd),
  closeSync: (fd) => fs.closeSync(fd),
  writeSync: (fd, buf, offset, length, position) => fs.writeSync(fd, buf, offset, length, position),
  write: (fd, buf, offset, length, position) =>
    new Promise((resolve, reject) =>
      fs.write(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n))),
    ),
  read: (fd, buf, offset, length, position) =>
    new Promise((resolve, reject) =>
      fs.read(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n))),
    ),
  fdatasync: (fd) => pFdatasync(fd),
  ftruncateSync: (fd, length) => fs.ftruncateSync(fd, length),
  ftruncate: (fd, length) => pFtruncate(fd, length),
  fstat: async (fd) => toStat(await pFstat(fd)),
  stat: async (path) => {
    try {
      return toStat(await fs.promises.stat(path));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  },
  readdir: (path) => fs.promises.readdir(path),
  mkdir: async (path) => {
    await fs.promises.mkdir(path, { recursive: true });
  },
  rename: (from, to) => fs.promises.rename(from, to),
  unlink: async (path) => {
    try {
      await fs.promises.unlink(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  },
  rmrf: (path) => fs.promises.rm(path, { recursive: true, force: true }),
  readFile: (path) => fs.promises.readFile(path),
  fsyncDir: async (path) => {
    const fd = await pOpen(path, 'r');
    try {
      await pFsync(fd);
    } finally {
      await pClose(fd);
    }
  },
};

/** Writes all of buf at position, looping over short writes. */
export function writeFullySync(fsys: FileSystem, fd: number, buf: Uint8Array, position: number): void {
  let done = 0;
  while (done < buf.length) {
    const n = fsys.writeSync(fd, buf, done, buf.length - done, position + done);
    if (n <= 0) throw new Error(`write returned ${n}`);
    done += n;
  }
}

export async function writeFully(fsys: FileSystem, fd: number, buf: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const n = await fsys.write(fd, buf, done, buf.length - done, position + done);
    if (n <= 0) throw new Error(`write returned ${n}`);
    done += n;
  }
}

/** Reads up to length bytes at position, looping over short reads; returns the bytes read (short only at end of file). */
export async function readFully(
  fsys: FileSystem,
  fd: number,
  buf: Uint8Array,
  offset: number,
  length: number,
  position: number,
): Promise<number> {
  let done = 0;
  while (done < length) {
    const n = await fsys.read(fd, buf, offset + done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/**
 * Replaces a small file atomically and durably: write `<path>.tmp`, fdatasync, rename over the
 * target, fsync the directory. A crash leaves either the old or the new content, never a mix.
 */
export async function writeFileAtomic(fsys: FileSystem, dir: string, name: string, data: Uint8Array): Promise<void> {
  await replaceFile(fsys, `${dir}/${name}`, data);
  await fsys.fsyncDir(dir);
}

/**
 * Writes `<path>.tmp`, fdatasyncs it and renames it over `path`, so the file is always whole; the
 * rename is durable only once the caller fsyncs the directory (writeFileAtomic does).
 */
export async function replaceFile(fsys: FileSystem, path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp`;
  const fd = await fsys.open(tmp, 'w');
  try {
    await writeFully(fsys, fd, data, 0);
    await fsys.fdatasync(fd);
  } finally {
    await fsys.close(fd);
  }
  await fsys.rename(tmp, path);
}
