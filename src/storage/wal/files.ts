/**
 * Names and small filesystem helpers of the write-ahead log directory (`<root>/wal/`).
 *
 * `<seq 20d>.wal` are log files; `seq` orders them. Names starting with `.s2tmp.` are files being
 * prepared (zero-filled) and are deleted at open. Anything else is left alone.
 *
 * Spare files are prepared off the event loop (fs/promises): new ones zero-filled under a temp name
 * (fdatasynced every 2 MiB, see zeroFill) and renamed; released ones renamed to the next seq as they
 * are (their old frames cannot match the identity the file gets when it is put to use). A spare is
 * handed out only once its name is durable: frames in a file found under its old name after a
 * crash would not match its header's seq, and would be lost.
 */
import { close as closeCallback, open as openCallback } from 'node:fs';
import { mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { walZeroFillSyncBytes } from '../../limits.js';

export const tempPrefix = '.s2tmp.';
const logName = /^(\d{20})\.wal$/;

export function logFileName(seq: number): string {
  return `${String(seq).padStart(20, '0')}.wal`;
}

export interface ListedDir {
  /** Log files by ascending seq. */
  files: { seq: number; path: string }[];
  /** Leftovers of preparations that a crash interrupted. */
  temps: string[];
}

export async function listDir(dir: string): Promise<ListedDir> {
  await mkdir(dir, { recursive: true });
  const files: ListedDir['files'] = [];
  const temps: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    if (entry.name.startsWith(tempPrefix)) temps.push(path.join(dir, entry.name));
    const match = logName.exec(entry.name);
    if (match) files.push({ seq: Number(match[1]), path: path.join(dir, entry.name) });
  }
  files.sort((a, b) => a.seq - b.seq);
  return { files, temps };
}

/** Makes renames, creations and deletions in `dir` durable (off the event loop: it may take ms). */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

export const openFd = promisify(openCallback);
export const closeFd = promisify(closeCallback);

const zeros = Buffer.alloc(1024 * 1024);

export interface LogFile {
  seq: number;
  path: string;
  /** Open while the writer may write to it (active or spare), or after it wrote to it. */
  fd: number | null;
  /** The last chunk in the file (0: none). */
  lastChunkId: number;
}

/** Prepared files, renamed to the next seqs and made durable, in the order they will be used. */
export class SparePool {
  private readonly spares: LogFile[] = [];
  /** Renames, creations and deletions in the directory run one at a time. */
  private ops: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly dir: string,
    private readonly fileBytes: number,
    private readonly sparesMax: number,
    private nextSeq: number,
    private readonly log: (event: string, fields: Record<string, unknown>) => void,
  ) {}

  get ready(): number {
    return this.spares.length;
  }

  take(): LogFile | undefined {
    return this.spares.shift();
  }

  /** Adds a new zero-filled spare. */
  prepare(): Promise<void> {
    return this.serialized(async () => {
      const seq = this.nextSeq++;
      const target = path.join(this.dir, logFileName(seq));
      const temp = path.join(this.dir, `${tempPrefix}${logFileName(seq)}`);
      await zeroFill(temp, this.fileBytes);
      await rename(temp, target);
      await syncDir(this.dir);
      this.spares.push({ seq, path: target, fd: await openFd(target, 'r+'), lastChunkId: 0 });
      this.log('wal-file-created', { file: target });
    });
  }

  /** Renames released files into spares (up to `sparesMax`) and deletes the rest, durably. */
  release(files: LogFile[]): Promise<void> {
    if (files.length === 0) return Promise.resolve();
    return this.serialized(async () => {
      const recycled: LogFile[] = [];
      for (const file of files) {
        // A file of another size (fileBytes changed between runs) is not reused: writes past its
        // end would grow it, and fdatasync would have metadata to flush again.
        const reusable = (await stat(file.path)).size === this.fileBytes;
        if (reusable && this.spares.length + recycled.length < this.sparesMax && !this.closed) {
          const target = path.join(this.dir, logFileName(this.nextSeq++));
          await rename(file.path, target);
          recycled.push({
            seq: this.nextSeq - 1,
            path: target,
            fd: file.fd ?? (await openFd(target, 'r+')),
            lastChunkId: 0,
          });
          this.log('wal-file-recycled', { from: file.path, to: target });
        } else {
          if (file.fd !== null) await closeFd(file.fd);
          await unlink(file.path);
          this.log('wal-file-deleted', { file: file.path });
        }
      }
      await syncDir(this.dir);
      this.spares.push(...recycled);
    });
  }

  /** Waits for directory work in progress and closes the spares. */
  async close(): Promise<void> {
    this.closed = true;
    await this.ops;
    const spares = this.spares.splice(0);
    await Promise.all(
      spares.map((spare) => (spare.fd !== null ? closeFd(spare.fd).catch(() => undefined) : undefined)),
    );
  }

  private serialized(op: () => Promise<void>): Promise<void> {
    const run = this.ops.then(op);
    this.ops = run.catch(() => undefined);
    return run;
  }
}

/**
 * Writes `bytes` zeros into a new file and makes them durable, `syncBytes` at a time: the active
 * log's fdatasync waits behind the device flush of whatever is dirty, and one sync of a whole
 * 64 MiB file held its acknowledgements for 45-60 ms (limits.ts, walZeroFillSyncBytes).
 */
export async function zeroFill(file: string, bytes: number, syncBytes = walZeroFillSyncBytes): Promise<void> {
  const handle = await open(file, 'wx', 0o644);
  try {
    let dirty = 0;
    for (let at = 0; at < bytes; at += zeros.length) {
      const length = Math.min(zeros.length, bytes - at);
      let done = 0;
      while (done < length) done += (await handle.write(zeros, done, length - done, at + done)).bytesWritten;
      dirty += length;
      if (dirty >= syncBytes && at + length < bytes) {
        await handle.datasync();
        dirty = 0;
      }
    }
    await handle.datasync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(file).catch(() => undefined);
    throw error;
  }
  await handle.close();
}
