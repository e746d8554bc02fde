/**
 * A new log file is zero-filled with an fdatasync every syncBytes (bounded writeback: the
 * active log's fdatasync would otherwise wait behind the flush of the whole file); a failure on
 * the way removes the file, so no half-filled one is left behind.
 */
import { open, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { zeroFill } from '../../../src/storage/wal/files.js';
import { removeTempDirs, tempDir } from './helpers.js';

afterAll(removeTempDirs);
afterEach(() => vi.restoreAllMocks());

const MiB = 1024 * 1024;

/** FileHandle is not exported by node:fs/promises; its prototype comes from a handle. */
async function fileHandlePrototype(dir: string): Promise<{ datasync(): Promise<void> }> {
  const handle = await open(path.join(dir, 'probe'), 'w');
  await handle.close();
  return Object.getPrototypeOf(handle) as { datasync(): Promise<void> };
}

describe('zeroFill', () => {
  it('fdatasyncs every syncBytes and once at the end, and the file is all zeros', async () => {
    const dir = await tempDir();
    const datasync = vi.spyOn(await fileHandlePrototype(dir), 'datasync');
    const file = path.join(dir, 'log');
    await zeroFill(file, 5 * MiB + 8, 2 * MiB);
    // After 2 and 4 MiB, then the final one.
    expect(datasync).toHaveBeenCalledTimes(3);
    const bytes = await readFile(file);
    expect(bytes.length).toBe(5 * MiB + 8);
    expect(bytes.every((b) => b === 0)).toBe(true);
  });

  it('removes the file when a sync in the middle fails, so nothing half-filled is left', async () => {
    const dir = await tempDir();
    const proto = await fileHandlePrototype(dir);
    const datasync = vi.spyOn(proto, 'datasync');
    datasync.mockImplementationOnce(() => Promise.resolve());
    datasync.mockImplementationOnce(() =>
      Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })),
    );
    await expect(zeroFill(path.join(dir, 'log'), 8 * MiB, 2 * MiB)).rejects.toMatchObject({ code: 'EIO' });
    expect(datasync).toHaveBeenCalledTimes(2); // after 2 MiB, then the failed one after 4 MiB
    expect(await readdir(dir)).toEqual(['probe']);
  });

  it('syncs a file no larger than one slice once', async () => {
    const dir = await tempDir();
    const datasync = vi.spyOn(await fileHandlePrototype(dir), 'datasync');
    await zeroFill(path.join(dir, 'small'), 2 * MiB, 2 * MiB);
    expect(datasync).toHaveBeenCalledTimes(1);
  });
});
