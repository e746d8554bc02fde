/**
 * The write-ahead log's writer on real files: what it acknowledges is what recovery returns, byte
 * for byte and in order; concurrent appends share fdatasyncs (counted through the sync hook, not
 * timed); appends resolve strictly in chunk-id order; files rotate, are recycled or deleted once
 * released; and failures reject, in order, exactly the appends that were not made durable.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AssertionError } from '../../../src/util/assert.js';
import { Wal, WalError, WalIoError, type WalIoFactory, type WalWrite } from '../../../src/storage/wal/index.js';
import { threadIo } from '../../../src/storage/wal/io-thread.js';
import { appendSequentially, bodyFor, openWriter, recoverAll, removeTempDirs, small, tempDir } from './helpers.js';

afterAll(removeTempDirs);

async function logFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith('.wal')).sort();
}

describe('appends and recovery', () => {
  it('recovers exactly the acknowledged frames, in order, across writers', async () => {
    const dir = await tempDir();
    const first = await openWriter(dir);
    expect(first.wal.openingChunkId).toBe(1);
    const ids = await appendSequentially(first.wal, 50);
    expect(ids[0]).toBe(2);
    await first.wal.close();

    const second = await openWriter(dir);
    expect(second.frames.map((f) => f.chunkId)).toEqual([1, ...ids]);
    expect(second.frames[0]).toMatchObject({ opening: true, epoch: 1, body: Buffer.alloc(0) });
    for (const frame of second.frames.slice(1)) {
      expect(frame.opening).toBe(false);
      expect(frame.body.equals(bodyFor(frame.chunkId))).toBe(true);
    }
    expect(second.wal.openingChunkId).toBe(52);
    const more = await appendSequentially(second.wal, 5);
    await second.wal.close();

    const third = await recoverAll(dir);
    expect(third.frames.map((f) => f.chunkId)).toEqual([1, ...ids, 52, ...more]);
    expect(third.frames.map((f) => f.epoch)).toEqual([...Array(51).fill(1), ...Array(6).fill(2)]);
    expect(third.recovery.lastChunkId).toBe(57);
    expect(third.recovery.lastEpoch).toBe(2);
  });

  it('accepts a body in parts, and an empty body', async () => {
    const dir = await tempDir();
    const { wal } = await openWriter(dir);
    await wal.append(2, [Buffer.from('ab'), Buffer.alloc(0), Buffer.from('cde')]);
    await wal.append(3, Buffer.alloc(0));
    await wal.close();
    const { frames } = await recoverAll(dir);
    expect(frames.map((f) => f.body.toString())).toEqual(['', 'abcde', '']);
  });

  it('lets a part write itself into its region of the frame, even when it waits for room', async () => {
    const dir = await tempDir();
    const { wal } = await openWriter(dir);
    const regions: number[] = [];
    // Alignment wishes move a frame in the ring, never in the file.
    const writer = (text: string, mod: number) => ({
      length: text.length,
      align: { at: 3, mod, bytes: 100 },
      writeTo(target: Uint8Array) {
        regions.push(target.length);
        target.set(Buffer.from(text));
      },
    });
    // More than the ring holds at once: later appends wait, and write themselves once there is room.
    const big = 'x'.repeat(small.frameBytesMax! - 16);
    const pending = Array.from({ length: 12 }, (_, i) =>
      wal.append(wal.nextChunkId, [
        Buffer.from('<'),
        writer(`${i}${big}`.slice(0, big.length), i % 8),
        Buffer.from('>'),
      ]),
    );
    await Promise.all(pending);
    await wal.close();
    const { frames } = await recoverAll(dir);
    expect(frames.slice(1).map((f) => f.body.toString())).toEqual(
      Array.from({ length: 12 }, (_, i) => `<${`${i}${big}`.slice(0, big.length)}>`),
    );
    expect(regions).toEqual(Array(12).fill(big.length));
  });

  it('refuses a writer epoch that is not above the log', async () => {
    const dir = await tempDir();
    const { wal } = await openWriter(dir, { epoch: 5 });
    await wal.close();
    const { recovery } = await recoverAll(dir);
    await expect(Wal.start(recovery, { ...small, epoch: 5 })).rejects.toMatchObject({ code: 'fenced' });
  });

  it('asserts that chunk ids are consecutive', async () => {
    const dir = await tempDir();
    const { wal } = await openWriter(dir);
    expect(() => wal.append(5, Buffer.from('x'))).toThrow(AssertionError);
    await wal.close();
  });
});

describe('group commit', () => {
  it('makes appends issued together durable with one fdatasync, after the first one to an idle thread', async () => {
    const dir = await tempDir();
    let syncs = 0;
    let frames = 0;
    const { wal } = await openWriter(dir, {
      onSync: (round) => {
        syncs += round.syncs;
        frames += round.frames;
      },
    });
    syncs = 0;
    frames = 0;
    // The first frame is published at once (the thread is idle); the 39 placed after it in the
    // same turn go out together, so one or two syncs depending on when the thread woke up.
    await Promise.all(Array.from({ length: 40 }, () => wal.append(wal.nextChunkId, bodyFor(1, 100))));
    expect(frames).toBe(40);
    expect(syncs).toBeGreaterThanOrEqual(1);
    expect(syncs).toBeLessThanOrEqual(2);
    await wal.close();
  });

  it('shares syncs among appends that arrive while one runs, and never syncs more than once per append', async () => {
    // The first sync "runs" for as long as the test holds the log's batches back from the writer
    // thread, so which appends arrive while it runs does not depend on the speed of the thread or
    // the disk (a real fdatasync can end between two turns on a loaded machine; such a turn starts
    // with the thread idle and sends its first append alone).
    const dir = await tempDir();
    let holding = false;
    let publications = 0;
    const held: WalWrite[][] = [];
    let release = () => {};
    const gated: WalIoFactory = (ring, callbacks) => {
      const inner = threadIo(ring, callbacks);
      release = () => {
        holding = false;
        for (const writes of held.splice(0)) inner.submit(writes);
      };
      return {
        freeSlots: () => inner.freeSlots() - held.reduce((sum, writes) => sum + writes.length, 0),
        setBusy: (busy) => inner.setBusy(busy),
        close: () => inner.close(),
        submit(writes) {
          publications++;
          if (holding) held.push([...writes]);
          else inner.submit(writes);
        },
      };
    };
    let syncs = 0;
    let frames = 0;
    const { wal } = await openWriter(dir, {
      // One file and a ring that hold all 200 frames: no append waits for room or for a file.
      fileBytes: 1024 * 1024,
      ringBytes: 256 * 1024,
      io: gated,
      onSync: (round) => {
        syncs += round.syncs;
        frames += round.frames;
      },
    });
    syncs = 0;
    frames = 0;
    publications = 0;
    holding = true;
    const pending: Promise<void>[] = [];
    for (let turn = 0; turn < 20; turn++) {
      for (let i = 0; i < 10; i++) pending.push(wal.append(wal.nextChunkId, bodyFor(turn * 10 + i)));
      await new Promise((resolve) => setImmediate(resolve));
    }
    // The first append went out at once to the idle thread; the appends of every turn after it
    // shared one batch while that sync ran.
    expect(publications).toBe(21);
    expect(frames).toBe(0);
    release();
    await Promise.all(pending);
    expect(frames).toBe(200);
    // One fdatasync per batch at most (the thread may take several batches in one round).
    expect(syncs).toBeGreaterThanOrEqual(1);
    expect(syncs).toBeLessThanOrEqual(publications);
    await wal.close();
  });

  it('syncs once per append when each waits for the previous one', async () => {
    const dir = await tempDir();
    let syncs = 0;
    const { wal } = await openWriter(dir, { onSync: (round) => (syncs += round.syncs) });
    syncs = 0;
    await appendSequentially(wal, 10);
    expect(syncs).toBe(10);
    await wal.close();
  });

  it('resolves appends strictly in chunk-id order', async () => {
    const dir = await tempDir();
    const { wal } = await openWriter(dir, { fileBytes: 64 * 1024, ringBytes: 8 * 1024 });
    const resolved: number[] = [];
    const pending: Promise<void>[] = [];
    for (let i = 0; i < 600; i++) {
      const id = wal.nextChunkId;
      pending.push(wal.append(id, bodyFor(id, 1500)).then(() => void resolved.push(id)));
      if (i % 7 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(pending);
    expect(resolved).toEqual([...resolved].sort((a, b) => a - b));
    expect(resolved.length).toBe(600);
    await wal.close();
    const { frames } = await recoverAll(dir);
    expect(frames.length).toBe(601);
    for (const frame of frames.slice(1)) expect(frame.body.equals(bodyFor(frame.chunkId, 1500))).toBe(true);
  });
});

describe('rotation and release', () => {
  it('moves to the next file when a frame does not fit, and keeps one spare ready', async () => {
    const dir = await tempDir();
    const { wal } = await openWriter(dir);
    await appendSequentially(wal, 200); // about 45 KiB of frames in 16 KiB files
    expect(wal.stats().sealedFiles).toBeGreaterThanOrEqual(2);
    await wal.close();
    const { frames, recovery } = await recoverAll(dir);
    expect(frames.map((f) => f.chunkId)).toEqual(Array.from({ length: 201 }, (_, i) => i + 1));
    const used = recovery.files.filter((f) => f.lastChunkId > 0);
    expect(used.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < used.length; i++) expect(used[i].firstChunkId).toBe(used[i - 1].lastChunkId + 1);
  });

  it('recycles released files as spares and deletes the rest; recovery starts after the folded point', async () => {
    const dir = await tempDir();
    const { wal } = await openWriter(dir, { spareFilesMax: 1 });
    await appendSequentially(wal, 400);
    const before = await logFiles(dir);
    const sealed = wal.stats().sealedFiles;
    expect(sealed).toBeGreaterThanOrEqual(4);
    await wal.releaseThrough(300);
    const stats = wal.stats();
    expect(stats.sealedFiles).toBeLessThan(sealed);
    expect(stats.spareFiles).toBe(1);
    const after = await logFiles(dir);
    expect(after.length).toBeLessThan(before.length);
    // More appends reuse the recycled file (its old frames no longer count).
    const more = await appendSequentially(wal, 100);
    await wal.close();

    const { frames, recovery } = await recoverAll(dir, 300);
    expect(frames[0].chunkId).toBe(301);
    expect(frames.map((f) => f.chunkId)).toEqual(Array.from({ length: 101 + more.length }, (_, i) => 301 + i));
    for (const frame of frames) expect(frame.body.equals(bodyFor(frame.chunkId))).toBe(true);
    // A writer that starts now releases what is folded before writing.
    const next = await Wal.start(recovery, { ...small, epoch: 2, spareFilesMax: 1 });
    expect(next.openingChunkId).toBe(more.at(-1)! + 1);
    await next.close();
    const again = await recoverAll(dir, 300);
    expect(again.frames.at(-1)).toMatchObject({ chunkId: next.openingChunkId, opening: true, epoch: 2 });
  });

  it('starts a log whose folded point is past its end in a clean state', async () => {
    const dir = await tempDir();
    const { wal } = await openWriter(dir);
    await appendSequentially(wal, 30);
    await wal.close();
    // Chunks up to 40 were folded elsewhere (as legacy chunk objects would be): the log's 31 are old.
    const { wal: next, frames } = await openWriter(dir, {}, 40);
    expect(frames).toEqual([]);
    expect(next.openingChunkId).toBe(41);
    await next.close();
    const { frames: after } = await recoverAll(dir, 40);
    expect(after.map((f) => f.chunkId)).toEqual([41]);
  });
});

describe('failures', () => {
  it('rejects, in order, every append not made durable when a write fails, and every later one', async () => {
    const dir = await tempDir();
    let submits = 0;
    const failing: WalIoFactory = (ring, callbacks) => {
      const inner = threadIo(ring, callbacks);
      return {
        ...inner,
        freeSlots: () => inner.freeSlots(),
        setBusy: (busy) => inner.setBusy(busy),
        close: () => inner.close(),
        submit(writes) {
          if (++submits === 3) {
            setImmediate(() =>
              callbacks.failed({ errno: 'EIO', step: 'write', fd: writes[0].fd, message: 'EIO: i/o error, write' }),
            );
            return;
          }
          inner.submit(writes);
        },
      };
    };
    const { wal } = await openWriter(dir, { io: failing });
    await wal.append(2, Buffer.from('durable')); // submit 2 (the opening frame was 1)
    const outcomes: string[] = [];
    const pending = [3, 4, 5].map((id) =>
      wal.append(id, Buffer.from(`lost ${id}`)).then(
        () => outcomes.push(`${id} ok`),
        (error: WalIoError) => outcomes.push(`${id} ${error.code} ${error.errno}`),
      ),
    );
    await Promise.all(pending);
    expect(outcomes).toEqual(['3 io EIO', '4 io EIO', '5 io EIO']);
    await expect(wal.append(6, Buffer.from('after'))).rejects.toBeInstanceOf(WalIoError);
    expect(wal.stats().failed).toContain('EIO');
    await wal.close();
    const { frames } = await recoverAll(dir);
    expect(frames.map((f) => f.chunkId)).toEqual([1, 2]);
  });

  it('rejects only the appends that need a file it cannot prepare, then carries on', async () => {
    const dir = await tempDir();
    const { wal } = await openWriter(dir, { spareFilesMax: 1 });
    // Block the temp names of the next preparations: creating them fails (EEXIST).
    const blockers = Array.from({ length: 20 }, (_, i) =>
      path.join(dir, `.s2tmp.${String(i + 1).padStart(20, '0')}.wal`),
    );
    for (const blocker of blockers) await mkdir(blocker).catch(() => undefined);
    const outcomes: { id: number; code: string }[] = [];
    for (let i = 0; i < 400 && outcomes.length === 0; i++) {
      const id = wal.nextChunkId;
      await wal.append(id, bodyFor(id)).catch((error: WalError) => outcomes.push({ id, code: error.code }));
    }
    expect(outcomes.length).toBe(1);
    expect(outcomes[0].code).toBe('no-file');
    expect(wal.nextChunkId).toBe(outcomes[0].id); // the id is used again
    for (const blocker of blockers) await rm(blocker, { recursive: true });
    const more = await appendSequentially(wal, 100);
    expect(more[0]).toBe(outcomes[0].id);
    await wal.close();
    const { frames } = await recoverAll(dir);
    expect(frames.map((f) => f.chunkId)).toEqual(Array.from({ length: more.at(-1)! }, (_, i) => i + 1));
  });

  it('waits for outstanding appends on close, then refuses new ones', async () => {
    const dir = await tempDir();
    const { wal } = await openWriter(dir);
    const pending = Array.from({ length: 20 }, () => wal.append(wal.nextChunkId, bodyFor(3)));
    await wal.close();
    await Promise.all(pending);
    await expect(wal.append(wal.nextChunkId, Buffer.from('late'))).rejects.toMatchObject({ code: 'closed' });
    expect((await recoverAll(dir)).frames.length).toBe(21);
  });
});
