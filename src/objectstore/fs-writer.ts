/**
 * Durable file writes for the local-filesystem store, done by worker threads with synchronous
 * syscalls.
 *
 * Why: a durable put is a chain of about ten filesystem calls (open, write, fdatasync, close, link,
 * unlink, open/fsync/close of the directory). Through fs/promises each one is a round trip through
 * libuv's pool *and* a turn of the main event loop, so under HTTP load a put that costs ~1.5 ms of
 * disk time took 7-12 ms to resolve (measured with `bench/profile.ts`: chunk flush duration). In a
 * worker the chain runs back to back, and one message goes each way per put.
 *
 * Group commit at this level too: a worker takes every put queued for it, writes all, fdatasyncs
 * each file, publishes them, then fsyncs each directory once for all of them.
 *
 * The worker's code is plain JavaScript evaluated from a string (`eval: true`), so that it runs the
 * same from dist/, under tsx and under vitest without a TypeScript loader in the worker.
 */
import { Worker } from 'node:worker_threads';

export interface FsWrite {
  /** Directory of both names; fsynced after the file is published. */
  dir: string;
  tmp: string;
  final: string;
  /** link (fails with EEXIST if `final` exists: create-if-absent) or rename (replace). */
  publish: 'link' | 'rename';
  parts: Uint8Array[];
}

/** A failed syscall, as the worker saw it. `step` names the call. */
export interface FsWriteError {
  code?: string;
  message: string;
  step: 'open' | 'write' | 'fdatasync' | 'close' | 'link' | 'rename' | 'fsync-dir';
}

interface Reply {
  id: number;
  error?: FsWriteError;
  /** Durations of the fdatasync and directory fsync this put waited for, in seconds. */
  syncSeconds: number[];
}

interface Pending {
  resolve(reply: Reply): void;
  bytes: number;
}

const workerSource = String.raw`
'use strict';
const fs = require('node:fs');
const { parentPort, receiveMessageOnPort } = require('node:worker_threads');

function timed(fn) {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function fail(step, error) {
  return { code: error && error.code, message: String(error && error.message || error), step };
}

/** Creates the temp file and writes the body; leaves the fd open in op.fd, or sets op.error. */
function createAndWrite(op) {
  try {
    op.fd = fs.openSync(op.tmp, 'wx', 0o644);
  } catch (error) {
    op.error = fail('open', error);
    return;
  }
  try {
    let parts = op.parts;
    let total = 0;
    for (const p of parts) total += p.length;
    let done = 0;
    while (done < total) {
      done += fs.writevSync(op.fd, parts, done);
      if (done < total) parts = remaining(op.parts, done);
    }
  } catch (error) {
    op.error = fail('write', error);
  }
}

function sync(op) {
  if (op.error) return;
  try {
    op.syncSeconds.push(timed(() => fs.fdatasyncSync(op.fd)));
  } catch (error) {
    op.error = fail('fdatasync', error);
  }
}

/** Closes the file and publishes it under its final name; the temp name is always removed. */
function publish(op) {
  if (op.fd !== undefined) {
    try {
      fs.closeSync(op.fd);
    } catch (error) {
      op.error = op.error || fail('close', error);
    }
  }
  if (!op.error && op.fd !== undefined) {
    try {
      if (op.publish === 'link') fs.linkSync(op.tmp, op.final);
      else fs.renameSync(op.tmp, op.final);
    } catch (error) {
      op.error = fail(op.publish, error);
    }
  }
  // After rename the temp name is gone already; after link it is a second name for the file.
  if (op.fd !== undefined) try { fs.unlinkSync(op.tmp); } catch {}
}

/** The parts after the first offset bytes (a short writev is rare but legal). */
function remaining(parts, offset) {
  const out = [];
  for (const p of parts) {
    if (offset >= p.length) { offset -= p.length; continue; }
    out.push(offset > 0 ? p.subarray(offset) : p);
    offset = 0;
  }
  return out;
}

function syncDir(dir) {
  const fd = fs.openSync(dir, 'r');
  try {
    return timed(() => fs.fsyncSync(fd));
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * In phases, so the batch shares journal commits: every file is written before the first
 * fdatasync (on ext4 one commit then carries the others' metadata, and their later fdatasyncs
 * find little left to do), and each directory is fsynced once after every file in it is linked.
 */
function run(batch) {
  for (const op of batch) op.syncSeconds = [];
  for (const op of batch) createAndWrite(op);
  for (const op of batch) sync(op);
  for (const op of batch) publish(op);
  const dirs = new Map();
  for (const op of batch) {
    if (op.error) continue;
    if (!dirs.has(op.dir)) dirs.set(op.dir, []);
    dirs.get(op.dir).push(op);
  }
  for (const [dir, ops] of dirs) {
    try {
      const seconds = syncDir(dir);
      for (const op of ops) op.syncSeconds.push(seconds);
    } catch (error) {
      for (const op of ops) op.error = fail('fsync-dir', error);
    }
  }
  for (const op of batch) parentPort.postMessage({ id: op.id, error: op.error, syncSeconds: op.syncSeconds });
}

parentPort.on('message', (first) => {
  const batch = [first];
  for (let next; (next = receiveMessageOnPort(parentPort)); ) batch.push(next.message);
  run(batch);
});
`;

/** A writer thread idle this long is stopped (stores are many in tests; a thread is cheap to restart). */
const idleStopMs = 10_000;

class FsWorker {
  readonly worker: Worker;
  readonly pending = new Map<number, Pending>();
  /** Body bytes of the puts this thread holds. */
  pendingBytes = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(onFatal: (error: Error) => void, onIdle: () => void) {
    this.worker = new Worker(workerSource, { eval: true, name: 's2-lite fs writer' });
    this.worker.unref();
    this.worker.on('message', (reply: Reply) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      this.pendingBytes -= waiter.bytes;
      waiter.resolve(reply);
      if (this.pending.size === 0) {
        this.idleTimer = setTimeout(onIdle, idleStopMs);
        this.idleTimer.unref();
      }
    });
    this.worker.on('error', onFatal);
  }

  send(id: number, message: object, waiter: Pending): void {
    clearTimeout(this.idleTimer);
    this.pending.set(id, waiter);
    this.pendingBytes += waiter.bytes;
    this.worker.postMessage(message);
  }
}

/** Bodies at least this large go to the worker through a shared buffer instead of a structured clone. */
const sharedMinBytes = 64 * 1024;
/** Shared buffers kept for reuse, in bytes. */
const sharedKeptBytesMax = 256 * 1024 * 1024;
/** A thread holding at least this many bytes of puts is busy with a large write (see pick). */
const largeWriteBytes = 1024 * 1024;

/**
 * Reused SharedArrayBuffers for large bodies. Posting a Uint8Array to a worker clones it into fresh
 * memory, and on this kind of VM touching fresh memory costs ~3.5 ms per MiB in page faults (a 64 MiB
 * clone took 390 ms; a memcpy into memory touched before, 4 ms). A shared buffer is not copied by
 * postMessage, and reusing it means its pages are faulted in once.
 */
class SharedBuffers {
  private free: SharedArrayBuffer[] = [];
  private keptBytes = 0;

  lease(size: number): Uint8Array {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i]!;
      if (b.byteLength >= size && (best < 0 || b.byteLength < this.free[best]!.byteLength)) best = i;
    }
    if (best >= 0) {
      const [buffer] = this.free.splice(best, 1);
      this.keptBytes -= buffer!.byteLength;
      return new Uint8Array(buffer!, 0, size);
    }
    let capacity = 1024 * 1024;
    while (capacity < size) capacity *= 2;
    return new Uint8Array(new SharedArrayBuffer(capacity), 0, size);
  }

  release(view: Uint8Array): void {
    const buffer = view.buffer as SharedArrayBuffer;
    if (this.keptBytes + buffer.byteLength > sharedKeptBytesMax) return;
    this.free.push(buffer);
    this.keptBytes += buffer.byteLength;
  }
}

/**
 * A small pool of writer threads; each put goes to the thread with the fewest puts outstanding, so
 * a small chunk put does not wait behind a large segment write when another thread is free.
 */
export class FsWriterPool {
  private readonly workers: FsWorker[] = [];
  private readonly shared = new SharedBuffers();
  private nextId = 1;
  private closed = false;

  constructor(private readonly size = 2) {}

  async write(op: FsWrite): Promise<Reply> {
    if (this.closed) throw new Error('the filesystem writer is closed');
    const id = this.nextId++;
    const size = op.parts.reduce((n, p) => n + p.length, 0);
    const worker = this.pick();
    if (size < sharedMinBytes) {
      return new Promise<Reply>((resolve) => worker.send(id, { id, ...op }, { resolve, bytes: size }));
    }
    // Large bodies travel in a shared buffer (see SharedBuffers), released once the worker is done.
    const shared = this.shared.lease(size);
    let at = 0;
    for (const part of op.parts) {
      shared.set(part, at);
      at += part.length;
    }
    try {
      return await new Promise<Reply>((resolve) =>
        worker.send(id, { id, ...op, parts: [shared] }, { resolve, bytes: size }),
      );
    } finally {
      this.shared.release(shared);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }

  /**
   * The first thread unless it holds a large write: small puts (chunks) then batch together in one
   * thread, and a segment being written does not delay them.
   */
  private pick(): FsWorker {
    let best: FsWorker | undefined;
    for (const w of this.workers) {
      if (w.pendingBytes < largeWriteBytes) return w;
      if (!best || w.pendingBytes < best.pendingBytes) best = w;
    }
    if (best && this.workers.length >= this.size) return best;
    const worker = new FsWorker(
      (error) => this.failWorker(worker, error),
      () => this.stopIdle(worker),
    );
    this.workers.push(worker);
    return worker;
  }

  private stopIdle(worker: FsWorker): void {
    if (worker.pending.size > 0) return;
    const i = this.workers.indexOf(worker);
    if (i >= 0) this.workers.splice(i, 1);
    void worker.worker.terminate();
  }

  /** A worker that died (out of memory, a bug) fails what it held; the next put starts a new one. */
  private failWorker(worker: FsWorker, error: Error): void {
    const i = this.workers.indexOf(worker);
    if (i >= 0) this.workers.splice(i, 1);
    for (const [id, waiter] of worker.pending) {
      worker.pending.delete(id);
      const message = `filesystem writer thread failed: ${error.message}`;
      waiter.resolve({ id, error: { message, step: 'write' }, syncSeconds: [] });
    }
  }
}
