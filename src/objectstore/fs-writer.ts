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
 * The thread's code is fs-writer-thread.ts (see startWriterThread for how it is loaded).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { FsWrite, FsWriteReply, FsWriteRequest } from './fs-writer-thread.js';

interface Pending {
  resolve(reply: FsWriteReply): void;
  bytes: number;
}

/**
 * Starts a writer thread running fs-writer-thread. Built code (dist/) loads the compiled .js file.
 * Under tsx and vitest this module is TypeScript and so is the thread's, which a worker cannot load
 * by itself (Node 20 does not apply a worker's `--import` loader to its entry module, and
 * registering tsx inside each thread cost ~0.4 s of CPU per thread start, many times over in the
 * test suite): the source is compiled once per process with esbuild, the compiler tsx and vitest
 * use (a devDependency), and the thread evaluates the result.
 */
function startWriterThread(): Worker {
  const name = 's2-lite fs writer';
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./fs-writer-thread.js', import.meta.url), { name });
  return new Worker(threadSourceCompiled(), { name, eval: true });
}

let compiledSource: string | undefined;

function threadSourceCompiled(): string {
  if (compiledSource === undefined) {
    const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
    const file = fileURLToPath(new URL('./fs-writer-thread.ts', import.meta.url));
    const options = { loader: 'ts', format: 'cjs', sourcefile: file } as const;
    compiledSource = esbuild.transformSync(readFileSync(file, 'utf8'), options).code;
  }
  return compiledSource;
}

/** A writer thread idle this long is stopped (stores are many in tests; a thread is cheap to restart). */
const idleStopMs = 10_000;

class FsWorker {
  readonly worker: Worker;
  readonly pending = new Map<number, Pending>();
  /** Body bytes of the puts this thread holds. */
  pendingBytes = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(onFatal: (error: Error) => void, onIdle: () => void) {
    this.worker = startWriterThread();
    this.worker.unref();
    this.worker.on('message', (reply: FsWriteReply) => {
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

  send(message: FsWriteRequest, waiter: Pending): void {
    clearTimeout(this.idleTimer);
    this.pending.set(message.id, waiter);
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

/** A view of a SharedArrayBuffer: postMessage shares it with the thread instead of cloning it. */
function isShared(part: Uint8Array): boolean {
  return part.buffer instanceof SharedArrayBuffer;
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

  /**
   * Writes `op` on a writer thread. Parts already in a SharedArrayBuffer (segments encoded by a
   * checkpoint, see BodyHandling) cross as they are: the caller keeps them unmodified until this
   * resolves. Other large parts are staged into a reused shared buffer first.
   */
  async write(op: FsWrite): Promise<FsWriteReply> {
    if (this.closed) throw new Error('the filesystem writer is closed');
    const id = this.nextId++;
    const size = op.parts.reduce((n, p) => n + p.length, 0);
    const worker = this.pick();
    const copied = op.parts.reduce((n, p) => (isShared(p) ? n : n + p.length), 0);
    if (copied < sharedMinBytes) {
      return new Promise<FsWriteReply>((resolve) => worker.send({ id, ...op }, { resolve, bytes: size }));
    }
    // Large bodies travel in a shared buffer (see SharedBuffers), released once the worker is done.
    // Staging them was a synchronous copy of up to a whole segment: 11-26 ms stalls at checkpoints.
    const shared = this.shared.lease(size);
    let at = 0;
    for (const part of op.parts) {
      shared.set(part, at);
      at += part.length;
    }
    try {
      return await new Promise<FsWriteReply>((resolve) =>
        worker.send({ id, ...op, parts: [shared] }, { resolve, bytes: size }),
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
