/**
 * The log's writer thread: synchronous pwritev and fdatasync on a thread of its own, fed through
 * shared memory rather than messages.
 *
 * Why a thread: an fdatasync takes 0.3 ms to tens of ms and must not block the event loop; through
 * libuv's pool (fs callbacks or fs/promises) every syscall is a round trip through the pool *and* a
 * turn of the event loop, which under HTTP load stretches a commit far beyond its disk time (see
 * objectstore/fs-writer.ts). Why shared memory: the main thread encodes frames straight into the
 * ring (ring.ts) and publishes write descriptors in a shared slot array; it wakes the thread with
 * `Atomics.notify`, and the thread wakes it back by storing a completion count that the main thread
 * awaits with `Atomics.waitAsync`. A round trip costs about 17 us against about 40 us for a pair of
 * postMessage calls (measured on this machine), and nothing is cloned.
 *
 * The thread takes every write published since its last round, writes them with one pwritev per
 * contiguous run, then calls fdatasync once per file touched: one sync covers every commit that
 * arrived while the previous one ran (group commit).
 *
 * The thread's code is plain JavaScript evaluated from a string (`eval: true`), so that it runs
 * the same from dist/, under tsx and under vitest without a TypeScript loader in the thread.
 */
import { Worker } from 'node:worker_threads';
import type { WalIo, WalIoCallbacks, WalIoFactory, WalIoFailure, WalWrite } from './io.js';

/** Control words (Int32Array indexes). */
const SUBMITTED = 0;
const COMPLETED = 1;
const STOP = 2;
const ERROR = 3;
const ERROR_LENGTH = 4;
/** Descriptor slots (power of two); each is fd, position, ring offset, length as float64. */
const slotCount = 1024;
/** The idle thread's longest sleep: how late it may notice a stop whose wake-up it missed. */
const idleWaitMs = 1000;
/** Ring bytes the idle thread faults in between checks for work (about 1 ms), and the page size. */
const faultSliceBytes = 256 * 1024;
const pageBytes = 4096;

const workerSource = String.raw`
'use strict';
const fs = require('node:fs');
const { workerData } = require('node:worker_threads');
const control = new Int32Array(workerData.control);
const slots = new Float64Array(workerData.slots);
const stats = new Float64Array(workerData.stats);
const errorText = new Uint8Array(workerData.errorText);
const ring = new Uint8Array(workerData.ring);
const mask = slots.length / 4 - 1;
const SUBMITTED = 0, COMPLETED = 1, STOP = 2, ERROR = 3, ERROR_LENGTH = 4;
let step = 'write';
let currentFd = -1;

function writeAll(fd, parts, position) {
  step = 'write';
  currentFd = fd;
  let total = 0;
  for (const p of parts) total += p.length;
  let done = 0;
  while (done < total) {
    done += fs.writevSync(fd, done === 0 ? parts : rest(parts, done), position + done);
  }
}

/** The parts after the first offset bytes (a short pwritev is rare but legal). */
function rest(parts, offset) {
  const out = [];
  for (const p of parts) {
    if (offset >= p.length) { offset -= p.length; continue; }
    out.push(offset > 0 ? p.subarray(offset) : p);
    offset = 0;
  }
  return out;
}

function round(from, to) {
  const fds = [];
  let fd = -1, start = 0, end = 0, parts = [];
  for (let i = from; i !== to; i = (i + 1) | 0) {
    const s = (i & mask) * 4;
    const f = slots[s], position = slots[s + 1], offset = slots[s + 2], length = slots[s + 3];
    if (f !== fd || position !== end) {
      if (parts.length > 0) writeAll(fd, parts, start);
      fd = f; start = position; end = position; parts = [];
      if (!fds.includes(f)) fds.push(f);
    }
    parts.push(ring.subarray(offset, offset + length));
    end += length;
  }
  if (parts.length > 0) writeAll(fd, parts, start);
  step = 'fdatasync';
  for (const f of fds) {
    currentFd = f;
    const t0 = process.hrtime.bigint();
    fs.fdatasyncSync(f);
    stats[1] += Number(process.hrtime.bigint() - t0) / 1e9;
    stats[0] += 1;
  }
}

// The ring's pages are faulted in here, a slice at a time while there is nothing to write, rather
// than by the event loop's first copy into each page (fresh memory cost the main thread about
// 2 us per KiB on its first lap of the ring: a whole W4/session run of the suite). Adding 0
// atomically never changes a byte, even one the main thread is writing at that moment.
let faulted = 0;
function faultSlice() {
  const end = Math.min(ring.length, faulted + ${faultSliceBytes});
  for (let i = faulted; i < end; i += ${pageBytes}) Atomics.add(ring, i, 0);
  faulted = end;
  stats[2] = faulted;
}

let done = Atomics.load(control, COMPLETED);
for (;;) {
  const submitted = Atomics.load(control, SUBMITTED);
  if (submitted === done) {
    if (Atomics.load(control, STOP) !== 0) break;
    if (faulted < ring.length) {
      faultSlice();
      continue;
    }
    // With a timeout: close() may store STOP after the check above and notify before this wait
    // starts, and the wait compares SUBMITTED, which a stop does not change; without one that
    // wake-up would be lost and close() would wait forever. Idle, this is one wake-up a second.
    Atomics.wait(control, SUBMITTED, submitted, ${idleWaitMs});
    continue;
  }
  try {
    round(done, submitted);
  } catch (error) {
    const text = Buffer.from(JSON.stringify({ errno: error && error.code, step, fd: currentFd, message: String(error && error.message || error) }));
    const length = Math.min(text.length, errorText.length);
    errorText.set(text.subarray(0, length));
    Atomics.store(control, ERROR_LENGTH, length);
    Atomics.store(control, ERROR, 1);
    Atomics.notify(control, COMPLETED);
    break;
  }
  done = submitted;
  Atomics.store(control, COMPLETED, done);
  Atomics.notify(control, COMPLETED);
}
`;

type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
) => { async: false; value: string } | { async: true; value: Promise<string> };
/** Node 20 has it; TypeScript's ES2023 lib does not declare it yet. */
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

class ThreadIo implements WalIo {
  private readonly control = new Int32Array(new SharedArrayBuffer(32));
  private readonly slots = new Float64Array(new SharedArrayBuffer(slotCount * 4 * 8));
  /** Cumulative fdatasync count and seconds, and ring bytes faulted in, written by the thread. */
  private readonly stats = new Float64Array(new SharedArrayBuffer(24));
  private readonly errorText = new Uint8Array(new SharedArrayBuffer(1024));
  private readonly worker: Worker;
  private submitted = 0;
  private completed = 0;
  private reportedSyncs = 0;
  private reportedSeconds = 0;
  private watching = false;
  private stopped = false;
  private readonly exited: Promise<void>;

  constructor(
    private readonly ring: Uint8Array,
    private readonly callbacks: WalIoCallbacks,
  ) {
    this.worker = new Worker(workerSource, {
      eval: true,
      name: 's2-lite wal writer',
      workerData: {
        control: this.control.buffer,
        slots: this.slots.buffer,
        stats: this.stats.buffer,
        errorText: this.errorText.buffer,
        ring: ring.buffer,
      },
    });
    this.worker.unref();
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('error', (error) => this.fail({ step: 'thread', fd: -1, message: error.message }));
    this.worker.once('exit', (code) => {
      if (!this.stopped) this.fail({ step: 'thread', fd: -1, message: `writer thread exited (code ${code})` });
    });
  }

  /** Ring bytes the thread has faulted in so far (all of them soon after start). */
  get ringFaultedBytes(): number {
    return this.stats[2];
  }

  freeSlots(): number {
    return slotCount - (this.submitted - this.completed);
  }

  submit(writes: WalWrite[]): void {
    if (writes.length === 0 || this.stopped) return;
    for (const write of writes) {
      const s = (this.submitted % slotCount) * 4;
      this.slots[s] = write.fd;
      this.slots[s + 1] = write.position;
      this.slots[s + 2] = write.data.byteOffset;
      this.slots[s + 3] = write.data.length;
      this.submitted++;
    }
    Atomics.store(this.control, SUBMITTED, this.submitted | 0);
    Atomics.notify(this.control, SUBMITTED);
    this.watch();
  }

  setBusy(busy: boolean): void {
    if (busy) this.worker.ref();
    else this.worker.unref();
  }

  async close(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      Atomics.store(this.control, STOP, 1);
      Atomics.notify(this.control, SUBMITTED);
      this.worker.ref(); // until it has exited
    }
    await this.exited;
  }

  /** Waits (without blocking) for the thread to complete more writes. */
  private watch(): void {
    if (this.watching || this.completed === this.submitted) return;
    this.watching = true;
    const result = waitAsync(this.control, COMPLETED, this.completed | 0);
    if (result.async) void result.value.then(() => this.wake());
    else void Promise.resolve().then(() => this.wake());
  }

  private wake(): void {
    this.watching = false;
    if (Atomics.load(this.control, ERROR) !== 0) {
      const text = Buffer.from(this.errorText.buffer, 0, Atomics.load(this.control, ERROR_LENGTH)).toString();
      let failure: WalIoFailure = { step: 'write', fd: -1, message: text };
      try {
        failure = JSON.parse(text) as WalIoFailure;
      } catch {
        // a message cut at the buffer's size: report the raw text
      }
      this.fail(failure);
      return;
    }
    const delta = (Atomics.load(this.control, COMPLETED) - (this.completed | 0)) | 0;
    if (delta > 0) {
      this.completed += delta;
      const syncs = this.stats[0] - this.reportedSyncs;
      const seconds = this.stats[1] - this.reportedSeconds;
      this.reportedSyncs += syncs;
      this.reportedSeconds += seconds;
      this.callbacks.durable(this.completed, syncs, seconds);
    }
    this.watch();
  }

  private fail(failure: WalIoFailure): void {
    if (this.stopped) return;
    this.stopped = true;
    void this.worker.terminate();
    this.callbacks.failed(failure);
  }
}

export const threadIo: WalIoFactory = (ring, callbacks) => new ThreadIo(ring, callbacks);
