/**
 * Names and small filesystem helpers of the write-ahead log directory (`<root>/wal/`).
 *
 * `<seq 20d>.wal` are log files; `seq` orders them. Names starting with `.s2tmp.` are files being
 * prepared (zero-filled) and are deleted at open. Anything else is left alone.
 */
import { mkdir, open, readdir } from 'node:fs/promises';
import path from 'node:path';

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
