/**
 * The writer thread of the local-filesystem store (started by fs-writer.ts, which says why puts
 * run here): it takes every put queued for it, writes them all with synchronous syscalls,
 * fdatasyncs each file, publishes them, fsyncs each directory once, and answers each put.
 *
 * This module runs only as a worker's entry point; the types are shared with fs-writer.ts.
 */
import fs from 'node:fs';
import { isMainThread, parentPort, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';

export interface FsWrite {
  /** Directory of both names; fsynced after the file is published. */
  dir: string;
  tmp: string;
  final: string;
  /** link (fails with EEXIST if `final` exists: create-if-absent) or rename (replace). */
  publish: 'link' | 'rename';
  parts: Uint8Array[];
}

export interface FsWriteRequest extends FsWrite {
  id: number;
}

/** A failed syscall, as the thread saw it. `step` names the call. */
export interface FsWriteError {
  code?: string;
  message: string;
  step: 'open' | 'write' | 'fdatasync' | 'close' | 'link' | 'rename' | 'fsync-dir';
}

export interface FsWriteReply {
  id: number;
  error?: FsWriteError;
  /** Durations of the fdatasync and directory fsync this put waited for, in seconds. */
  syncSeconds: number[];
}

/** One put while the thread works on it. */
interface Op extends FsWriteRequest {
  fd?: number;
  error?: FsWriteError;
  syncSeconds: number[];
}

function timed(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function fail(step: FsWriteError['step'], error: unknown): FsWriteError {
  const e = error as NodeJS.ErrnoException | undefined;
  return { code: e?.code, message: e?.message || String(error), step };
}

/** Creates the temp file and writes the body; leaves the fd open in op.fd, or sets op.error. */
function createAndWrite(op: Op): void {
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

function sync(op: Op): void {
  if (op.error || op.fd === undefined) return;
  const fd = op.fd;
  try {
    op.syncSeconds.push(timed(() => fs.fdatasyncSync(fd)));
  } catch (error) {
    op.error = fail('fdatasync', error);
  }
}

/** Closes the file and publishes it under its final name; the temp name is always removed. */
function publish(op: Op): void {
  if (op.fd === undefined) return;
  try {
    fs.closeSync(op.fd);
  } catch (error) {
    op.error = op.error ?? fail('close', error);
  }
  if (!op.error) {
    try {
      if (op.publish === 'link') fs.linkSync(op.tmp, op.final);
      else fs.renameSync(op.tmp, op.final);
    } catch (error) {
      op.error = fail(op.publish, error);
    }
  }
  // After rename the temp name is gone already; after link it is a second name for the file.
  try {
    fs.unlinkSync(op.tmp);
  } catch {
    // already gone
  }
}

/** The parts after the first `offset` bytes (a short writev is rare but legal). */
function remaining(parts: Uint8Array[], offset: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const p of parts) {
    if (offset >= p.length) {
      offset -= p.length;
      continue;
    }
    out.push(offset > 0 ? p.subarray(offset) : p);
    offset = 0;
  }
  return out;
}

function syncDir(dir: string): number {
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
function run(port: MessagePort, batch: Op[]): void {
  for (const op of batch) createAndWrite(op);
  for (const op of batch) sync(op);
  for (const op of batch) publish(op);
  const dirs = new Map<string, Op[]>();
  for (const op of batch) {
    if (op.error) continue;
    const ops = dirs.get(op.dir) ?? [];
    ops.push(op);
    dirs.set(op.dir, ops);
  }
  for (const [dir, ops] of dirs) {
    try {
      const seconds = syncDir(dir);
      for (const op of ops) op.syncSeconds.push(seconds);
    } catch (error) {
      for (const op of ops) op.error = fail('fsync-dir', error);
    }
  }
  for (const op of batch) {
    const reply: FsWriteReply = { id: op.id, error: op.error, syncSeconds: op.syncSeconds };
    port.postMessage(reply);
  }
}

function serve(port: MessagePort): void {
  port.on('message', (first: FsWriteRequest) => {
    const batch: Op[] = [{ ...first, syncSeconds: [] }];
    for (let next; (next = receiveMessageOnPort(port));) {
      batch.push({ ...(next.message as FsWriteRequest), syncSeconds: [] });
    }
    run(port, batch);
  });
}

if (!isMainThread && parentPort) serve(parentPort);
