/**
 * Recovery from what a crash or a bad disk leaves in the log files: a last frame torn at every
 * byte offset (zeros or garbage after the cut) is discarded, all earlier frames come back, and a
 * new writer appends after them cleanly, also on every later recovery; a byte flipped in the
 * middle of the log is refused with one line naming the file and the offset of the damaged frame;
 * unsynced remnants after a hole are skipped, while damage that a later sync proves was durable is
 * refused.
 */
import { cp, open, truncate } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WalCorruptError, WalError } from '../../../src/storage/wal/index.js';
import { crcOf, fileHeaderBytes, frameHeaderBytes } from '../../../src/storage/wal/format.js';
import { appendSequentially, bodyFor, openWriter, recoverAll, removeTempDirs, tempDir } from './helpers.js';

afterAll(removeTempDirs);

async function patch(file: string, offset: number, bytes: Uint8Array): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    await handle.write(bytes, 0, bytes.length, offset);
  } finally {
    await handle.close();
  }
}

async function readAt(file: string, offset: number, length: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const out = Buffer.alloc(length);
    await handle.read(out, 0, length, offset);
    return out;
  } finally {
    await handle.close();
  }
}

async function flipByte(file: string, offset: number): Promise<void> {
  const [byte] = await readAt(file, offset, 1);
  await patch(file, offset, Buffer.from([byte ^ 0x40]));
}

/** A log of one writer: the opening frame and `count` frames, each synced on its own. */
async function writtenLog(count: number, bodies = bodyFor) {
  const dir = await tempDir();
  const { wal } = await openWriter(dir);
  await appendSequentially(wal, count, bodies);
  await wal.close();
  const { frames } = await recoverAll(dir);
  return { dir, frames };
}

describe('a torn last frame', () => {
  it('is discarded at every byte offset; the log then continues cleanly', async () => {
    const body = (id: number) => Buffer.alloc(id === 6 ? 57 : 20, id);
    const { dir, frames } = await writtenLog(5, body);
    const last = frames.at(-1)!;
    expect(last.chunkId).toBe(6);
    const length = frameHeaderBytes + last.body.length;
    for (let cut = 0; cut < length; cut++) {
      for (const fill of ['zeros', 'garbage'] as const) {
        if (fill === 'garbage' && cut % 5 !== 0) continue;
        const copy = await tempDir('s2-wal-torn-');
        await cp(dir, copy, { recursive: true });
        const file = path.join(copy, path.basename(last.file));
        const rest = Buffer.alloc(length - cut, fill === 'zeros' ? 0 : 0xa5);
        await patch(file, last.offset + cut, rest);

        // Every cut is recovered; a writer (a thread start and syncs each) continues after a
        // sample of them: the header's every byte, then every 8th byte of the body.
        const recovered = await recoverAll(copy);
        expect(
          recovered.frames.map((f) => f.chunkId),
          `cut ${cut} ${fill}`,
        ).toEqual([1, 2, 3, 4, 5]);
        if (cut > frameHeaderBytes && cut % 8 !== 0) continue;
        const reopened = await openWriter(copy);
        expect(
          reopened.frames.map((f) => f.chunkId),
          `cut ${cut} ${fill}`,
        ).toEqual([1, 2, 3, 4, 5]);
        expect(reopened.wal.openingChunkId).toBe(6);
        await reopened.wal.append(7, Buffer.from('after the tear'));
        await reopened.wal.close();

        const again = await recoverAll(copy);
        expect(
          again.frames.map((f) => [f.chunkId, f.epoch]),
          `cut ${cut} ${fill}`,
        ).toEqual([
          [1, 1],
          [2, 1],
          [3, 1],
          [4, 1],
          [5, 1],
          [6, 2],
          [7, 2],
        ]);
        expect(again.frames.at(-1)!.body.toString()).toBe('after the tear');
      }
    }
  }, 120_000);

  it('is discarded when the file itself is cut short', async () => {
    const { dir, frames } = await writtenLog(3);
    const last = frames.at(-1)!;
    await truncate(last.file, last.offset + 10);
    const { frames: recovered } = await recoverAll(dir);
    expect(recovered.map((f) => f.chunkId)).toEqual([1, 2, 3]);
  });
});

describe('damage', () => {
  it('in the middle of the log is refused with the file and the offset of the damaged frame', async () => {
    const { dir, frames } = await writtenLog(20);
    const target = frames[10];
    for (const within of [0, 9, 40, 61, frameHeaderBytes + 3]) {
      const copy = await tempDir('s2-wal-flip-');
      await cp(dir, copy, { recursive: true });
      const file = path.join(copy, path.basename(target.file));
      await flipByte(file, target.offset + within);
      const error = await recoverAll(copy).catch((e: unknown) => e);
      expect(error, `byte ${within}`).toBeInstanceOf(WalCorruptError);
      const corrupt = error as WalCorruptError;
      expect(corrupt.code).toBe('corrupt');
      expect(corrupt.file).toBe(file);
      expect(corrupt.offset).toBe(target.offset);
      expect(corrupt.message).toContain(`${file} is damaged at byte ${target.offset}`);
      expect(corrupt.message).not.toContain('\n');
    }
  });

  it('in the last synced batch is refused once a newer writer opened after it', async () => {
    const dir = await tempDir();
    const { wal } = await openWriter(dir);
    await Promise.all(Array.from({ length: 10 }, () => wal.append(wal.nextChunkId, bodyFor(5)))); // one batch
    await wal.close();
    const second = await openWriter(dir);
    await second.wal.close();
    const victim = second.frames[5];
    await flipByte(victim.file, victim.offset + frameHeaderBytes + 1);
    const error = await recoverAll(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WalCorruptError);
    expect((error as WalCorruptError).offset).toBe(victim.offset);
  });

  it('in a batch that no later write proves durable is taken for a torn write: the batch is cut there', async () => {
    // The inherent limit: without a later sync, damage in the last batch looks like a crash mid-write.
    const dir = await tempDir();
    const { wal } = await openWriter(dir);
    await appendSequentially(wal, 3);
    await Promise.all(Array.from({ length: 10 }, () => wal.append(wal.nextChunkId, bodyFor(9)))); // chunks 5..14
    await wal.close();
    const { frames } = await recoverAll(dir);
    const victim = frames.find((f) => f.chunkId === 8)!;
    await flipByte(victim.file, victim.offset + 20);
    const { frames: recovered } = await recoverAll(dir);
    expect(recovered.map((f) => f.chunkId)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('to the header of a file in use is refused; to the header of a file torn at activation is not', async () => {
    const { dir, frames } = await writtenLog(4);
    const file = frames[0].file;
    const copy = await tempDir('s2-wal-header-');
    await cp(dir, copy, { recursive: true });
    await flipByte(path.join(copy, path.basename(file)), 20);
    const error = await recoverAll(copy).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WalCorruptError);
    expect((error as WalCorruptError).offset).toBe(0);

    // A writer that crashed right after activating a file: header and opening frame in one unsynced write.
    const torn = await tempDir('s2-wal-activation-');
    await cp(dir, torn, { recursive: true });
    const second = await openWriter(torn);
    await second.wal.close();
    const opening = (await recoverAll(torn)).frames.at(-1)!;
    expect(opening.opening).toBe(true);
    await flipByte(opening.file, 20);
    const { frames: recovered } = await recoverAll(torn);
    expect(recovered.map((f) => f.chunkId)).toEqual([1, 2, 3, 4, 5]);
  });

  it('skips remnants of an unsynced batch behind a hole, and refuses a later frame that proves the hole durable', async () => {
    const { dir, frames } = await writtenLog(8);
    // Remnants: make chunk 7's frame unreadable but let 8 and 9 claim nothing synced past chunk 6.
    const copy = await tempDir('s2-wal-remnant-');
    await cp(dir, copy, { recursive: true });
    const at = (id: number) => frames.find((f) => f.chunkId === id)!;
    const fileOf = (id: number) => path.join(copy, path.basename(at(id).file));
    await flipByte(fileOf(7), at(7).offset + frameHeaderBytes);
    for (const id of [8, 9]) await setSyncedThrough(fileOf(id), at(id).offset, 5);
    const { frames: recovered } = await recoverAll(copy);
    expect(recovered.map((f) => f.chunkId)).toEqual([1, 2, 3, 4, 5, 6]);
    // Chunk 9 claiming chunk 7 was synced makes the hole damage.
    await setSyncedThrough(fileOf(9), at(9).offset, 7);
    await expect(recoverAll(copy)).rejects.toBeInstanceOf(WalCorruptError);
  });
});

/** Rewrites a frame's synced-through field (and its header CRC), as an unsynced batch would have it. */
async function setSyncedThrough(file: string, offset: number, value: number): Promise<void> {
  const header = await readAt(file, offset, frameHeaderBytes);
  header.writeUInt32LE(value, 48);
  header.writeUInt32LE(0, 52);
  header.writeUInt32LE(crcOf(header.subarray(0, 60)), 60);
  await patch(file, offset, header);
}

describe('the folded point', () => {
  it('yields only frames after it, and refuses a log that starts beyond it', async () => {
    const { dir } = await writtenLog(10);
    const { frames } = await recoverAll(dir, 6);
    expect(frames.map((f) => f.chunkId)).toEqual([7, 8, 9, 10, 11]);
    const { frames: none, recovery } = await recoverAll(dir, 11);
    expect(none).toEqual([]);
    expect(recovery.lastChunkId).toBe(11);
    const { recovery: beyond } = await recoverAll(dir, 50);
    expect(beyond.lastChunkId).toBe(50);
  });

  it('refuses a log whose first frame is past the folded point plus one', async () => {
    const dir = await tempDir();
    const { wal } = await openWriter(dir, {}, 30);
    await appendSequentially(wal, 3);
    await wal.close();
    const error = await recoverAll(dir, 10).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WalCorruptError);
    expect((error as WalCorruptError).offset).toBe(fileHeaderBytes);
  });
});

describe('versions', () => {
  it('refuses a file written by a newer format version', async () => {
    const { dir, frames } = await writtenLog(2);
    const header = await readAt(frames[0].file, 0, fileHeaderBytes);
    header.writeUInt16LE(2, 4);
    header.writeUInt32LE(crcOf(header.subarray(0, 60)), 60);
    await patch(frames[0].file, 0, header);
    await expect(recoverAll(dir)).rejects.toMatchObject({ code: 'unsupported' });
    await expect(recoverAll(dir)).rejects.toBeInstanceOf(WalError);
  });
});
