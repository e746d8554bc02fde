/**
 * The writer thread's wake-ups: under many small submits, arriving while the thread writes, syncs,
 * is about to sleep or sleeps, every write completes and lands where it was meant to. A lost
 * wake-up would leave a completion count short forever, so this test would time out (checked
 * against a build whose submit does not notify the thread).
 */
import { closeSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { threadIo } from '../../../src/storage/wal/io-thread.js';
import type { WalWrite } from '../../../src/storage/wal/io.js';
import { removeTempDirs, tempDir } from './helpers.js';

afterAll(removeTempDirs);

/** A small deterministic generator (the test must replay the same pattern). */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 0x1_0000_0000;
  };
}

describe('writer thread wake-ups', () => {
  it('completes every one of many small submits, whatever the thread was doing', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'log');
    const fd = openSync(file, 'w+');
    const ring = new Uint8Array(new SharedArrayBuffer(1 << 20));
    let durable = 0;
    let failure: unknown;
    const waiters: { writes: number; resolve: () => void }[] = [];
    const io = threadIo(ring, {
      durable(writes) {
        durable = writes;
        for (let i = waiters.length - 1; i >= 0; i--) {
          if (waiters[i]!.writes <= writes) waiters.splice(i, 1)[0]!.resolve();
        }
      },
      failed(f) {
        failure = f;
      },
    });
    const until = (writes: number): Promise<void> =>
      writes <= durable ? Promise.resolve() : new Promise((resolve) => waiters.push({ writes, resolve }));

    const random = lcg(7);
    const expected = Buffer.alloc(3000 * 64);
    let submitted = 0;
    let position = 0;
    let ringAt = 0;
    io.setBusy(true);
    for (let round = 0; round < 3000; round++) {
      const count = 1 + Math.floor(random() * 4);
      const writes: WalWrite[] = [];
      for (let i = 0; i < count && position < expected.length; i++) {
        const length = 1 + Math.floor(random() * 16);
        if (ringAt + length > ring.length) ringAt = 0;
        const data = ring.subarray(ringAt, ringAt + length);
        data.fill((round + i) & 0xff);
        expected.set(data, position);
        writes.push({ fd, position, data });
        position += length;
        ringAt += length;
      }
      if (writes.length === 0) break;
      // Never more writes in flight than the thread has slots for (the ring never wraps here).
      if (io.freeSlots() < writes.length) await until(submitted - 256);
      io.submit(writes);
      submitted += writes.length;
      // Vary the timing: back to back (thread busy), after a turn (thread about to sleep or just
      // woken), after it is surely asleep, or waiting for the completion.
      const pause = random();
      if (pause < 0.4) continue;
      if (pause < 0.7) await new Promise((resolve) => setImmediate(resolve));
      else if (pause < 0.8) await new Promise((resolve) => setTimeout(resolve, 1));
      else await until(submitted);
    }
    await until(submitted);
    expect(failure).toBeUndefined();
    expect(durable).toBe(submitted);
    await io.close();
    closeSync(fd);
    expect(readFileSync(file).subarray(0, position).equals(expected.subarray(0, position))).toBe(true);
  }, 60_000);
});
