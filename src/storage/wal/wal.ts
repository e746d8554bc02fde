/**
 * The write-ahead log's writer: appends chunk frames to preallocated log files and resolves each
 * append once an fdatasync covers it, strictly in chunk-id order.
 *
 *   append(chunkId, body)  ->  frame encoded into the ring  ->  batch published at once if the
 *   thread is idle, else at the end of the current microtask run  ->  writer thread: pwritev +
 *   fdatasync (group commit)  ->  resolved
 *
 * Files are preallocated and written through (zero-filled, or recycled from released files), so a
 * write never changes a file's size or allocation and fdatasync flushes data only. A file belongs
 * to one writer epoch: a writer starts in a fresh file with an opening frame (synced before
 * `start` returns), and moves to the next file when a frame does not fit. One spare file is kept
 * ready (prepared off the event loop with fs/promises) so that rotation costs nothing on the
 * commit path; `releaseThrough` recycles files whose chunks are folded elsewhere into spares, or
 * deletes them.
 *
 * Failures: a failed write or fdatasync stops the log for good (after a failed fsync the page
 * cache no longer says what is on disk): every unresolved append is rejected with a `WalIoError`
 * of code `io`. A spare that cannot be prepared (disk full) rejects only the appends that need a
 * new file, with code `no-file`; `nextChunkId` then goes back to the first of them, and the next
 * append tries again.
 */
import { randomBytes } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { metrics } from '../../metrics.js';
import { assert } from '../../util/assert.js';
import { WalError, WalIoError } from './errors.js';
import { closeFd, errnoOf, SparePool, type LogFile } from './files.js';
import {
  encodeFileHeader,
  encodeFrame,
  fileHeaderBytes,
  fileIdentity,
  frameHeaderBytes,
  frameSpan,
} from './format.js';
import type { WalIo, WalIoFactory, WalIoFailure, WalWrite } from './io.js';
import { threadIo } from './io-thread.js';
import type { WalRecovery } from './reader.js';
import { alignedStart, alignmentOf, alignSlack, type FramePart } from './parts.js';
import { Ring } from './ring.js';

const MiB = 1024 * 1024;

export type WalLogger = (event: string, fields: Record<string, unknown>) => void;

export interface WalOptions {
  /** This writer's epoch: above every epoch in the log. */
  epoch: number;
  /** Size of each log file (default 64 MiB). */
  fileBytes?: number;
  /** Largest frame body accepted (default 16 MiB; the chunk writer seals chunks well below it). */
  frameBytesMax?: number;
  /** Staging buffer shared with the writer thread (default 32 MiB, at least two largest frames). */
  ringBytes?: number;
  /** Released files kept, renamed, as spares instead of deleted (default 2). */
  spareFilesMax?: number;
  /** Where the syscalls run (default: the writer thread). */
  io?: WalIoFactory;
  /** Called after every completed sync round: what it made durable and how many fdatasyncs it took. */
  onSync?(round: SyncRound): void;
  logger?: WalLogger;
}

export interface SyncRound {
  frames: number;
  bytes: number;
  syncs: number;
  seconds: number;
}

interface ActiveFile extends LogFile {
  fd: number;
  identity: Uint8Array;
  /** Where the next frame goes. */
  offset: number;
}

interface PendingAppend {
  chunkId: number;
  parts: readonly FramePart[];
  length: number;
  opening: boolean;
  resolve(): void;
  reject(error: Error): void;
}

interface Batch {
  writes: WalWrite[];
  appends: PendingAppend[];
  lastChunkId: number;
  ringEnd: number;
  bytes: number;
  /** Cumulative count of io writes once this batch is submitted. */
  writesEnd: number;
}

export class Wal {
  private readonly ring: Ring;
  private readonly io: WalIo;
  private readonly fileBytes: number;
  private readonly frameBytesMax: number;
  private readonly log: WalLogger;
  private active: ActiveFile | null = null;
  /** Files written before the active one, oldest first (kept until released). */
  private readonly sealed: LogFile[] = [];
  private readonly spares: SparePool;
  private nextId: number;
  private durableId: number;
  private readonly waiting: PendingAppend[] = [];
  private waitingForFile = false;
  private batch: Batch = emptyBatch();
  private readonly published: Batch[] = [];
  private writesSubmitted = 0;
  private flushQueued = false;
  private preparing = false;
  private failure: WalError | null = null;
  private closing = false;
  private idle: (() => void) | null = null;
  /** This writer's first chunk: its opening frame (the counterpart of a fence chunk). */
  readonly openingChunkId: number;

  private constructor(
    readonly dir: string,
    private readonly options: WalOptions,
    lastChunkId: number,
    maxSeq: number,
  ) {
    this.frameBytesMax = options.frameBytesMax ?? 16 * MiB;
    const largest = fileHeaderBytes + frameSpan(this.frameBytesMax);
    this.fileBytes = options.fileBytes ?? 64 * MiB;
    const spareFilesMax = options.spareFilesMax ?? 2;
    const ringBytes = options.ringBytes ?? Math.max(32 * MiB, 2 * largest);
    assert(this.fileBytes % 8 === 0 && this.fileBytes >= largest, 'a log file holds the largest frame');
    assert(ringBytes >= largest, 'the ring holds the largest frame');
    assert(spareFilesMax >= 1, 'spareFilesMax >= 1');
    this.ring = new Ring(ringBytes);
    this.log = options.logger ?? (() => {});
    this.spares = new SparePool(dir, this.fileBytes, spareFilesMax, maxSeq + 1, this.log);
    this.nextId = lastChunkId + 1;
    this.openingChunkId = lastChunkId + 1;
    this.durableId = lastChunkId;
    this.io = (options.io ?? threadIo)(this.ring.bytes, {
      durable: (writes, syncs, seconds) => this.onDurable(writes, syncs, seconds),
      failed: (failure) => this.onIoFailed(failure),
    });
  }

  /**
   * Continues the log after `recovery` has yielded every frame: releases what recovery no longer
   * needs, opens a fresh file and makes this writer's opening frame durable (its chunk id is
   * `openingChunkId`; commits continue after it).
   */
  static async start(recovery: WalRecovery, options: WalOptions): Promise<Wal> {
    if (options.epoch <= recovery.lastEpoch) {
      throw new WalError(
        'fenced',
        `write-ahead log in ${recovery.dir} holds writer epoch ${recovery.lastEpoch}, not older than ours (${options.epoch})`,
      );
    }
    const maxSeq = recovery.files.reduce((max, file) => Math.max(max, file.seq), 0);
    const wal = new Wal(recovery.dir, options, recovery.lastChunkId, maxSeq);
    try {
      await Promise.all(recovery.temps.map((temp) => unlink(temp).catch(() => undefined)));
      const released: LogFile[] = [];
      for (const file of recovery.files) {
        const entry = { seq: file.seq, path: file.path, fd: null, lastChunkId: file.lastChunkId };
        if (file.lastChunkId > recovery.afterChunkId) wal.sealed.push(entry);
        else released.push(entry); // unused, torn remnants only, or folded
      }
      await wal.spares.release(released);
      await wal.appendFrame(recovery.lastChunkId + 1, [], true);
    } catch (error) {
      await wal.close().catch(() => undefined);
      throw error;
    }
    return wal;
  }

  /** The chunk id the next `append` must carry. */
  get nextChunkId(): number {
    return this.nextId;
  }

  /** The last chunk made durable. */
  get durableChunkId(): number {
    return this.durableId;
  }

  /**
   * Appends chunk `chunkId` (exactly `nextChunkId`); resolves once it and every chunk before it
   * are durable. The body's bytes are copied (or written) into the ring before this returns,
   * unless the ring is full: then when it has room, in order, so the parts must stay unchanged
   * until the append settles.
   */
  append(chunkId: number, body: Uint8Array | readonly FramePart[]): Promise<void> {
    return this.appendFrame(chunkId, body instanceof Uint8Array ? [body] : body, false);
  }

  /** Recycles or deletes the files whose chunks are all at or below `chunkId` (folded elsewhere). */
  async releaseThrough(chunkId: number): Promise<void> {
    assert(chunkId <= this.durableId, `release of chunk ${chunkId}, beyond the durable ${this.durableId}`);
    const released: LogFile[] = [];
    while (this.sealed.length > 0 && this.sealed[0].lastChunkId <= chunkId) released.push(this.sealed.shift()!);
    await this.spares.release(released);
    this.placeWaiting();
  }

  /** Waits for every accepted append to settle, then stops the writer thread and closes the files. */
  async close(): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      if (!this.failure && !this.isIdle()) await new Promise<void>((resolve) => (this.idle = resolve));
      for (const pending of this.waiting.splice(0)) pending.reject(this.closedError());
    }
    await this.io.close();
    await this.spares.close();
    const files = [this.active, ...this.sealed];
    this.active = null;
    this.sealed.length = 0;
    await Promise.all(files.map((file) => (file?.fd != null ? closeFd(file.fd).catch(() => undefined) : undefined)));
  }

  stats() {
    return {
      nextChunkId: this.nextId,
      durableChunkId: this.durableId,
      activeSeq: this.active?.seq ?? 0,
      sealedFiles: this.sealed.length,
      spareFiles: this.spares.ready,
      ringBytesUsed: this.ring.usedBytes,
      failed: this.failure?.message ?? null,
    };
  }

  private appendFrame(chunkId: number, parts: readonly FramePart[], opening: boolean): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(this.closedError());
    assert(chunkId === this.nextId, `append of chunk ${chunkId}, expected ${this.nextId}`);
    let length = 0;
    for (const part of parts) length += part.length;
    assert(length <= this.frameBytesMax, `frame of ${length} bytes, more than ${this.frameBytesMax}`);
    this.nextId++;
    return new Promise<void>((resolve, reject) => {
      const pending: PendingAppend = { chunkId, parts, length, opening, resolve, reject };
      if (this.waiting.length > 0 || !this.place(pending)) this.waiting.push(pending);
    });
  }

  /** Encodes the frame into the ring and adds it to the current batch; false if it must wait. */
  private place(pending: PendingAppend): boolean {
    const span = frameSpan(pending.length);
    const rotate = !this.active || this.active.offset + span > this.fileBytes;
    if (rotate && this.spares.ready === 0) {
      this.waitingForFile = true;
      this.requestSpare();
      return false;
    }
    if (this.io.freeSlots() - this.batch.writes.length < 2) return false;
    const need = span + (rotate ? fileHeaderBytes : 0);
    const align = alignmentOf(pending.parts);
    const reservation = this.ring.reserve(need + (align ? alignSlack : 0));
    if (!reservation) return false;
    const start = align ? alignedStart(reservation.offset + (rotate ? fileHeaderBytes : 0), align) : 0;
    let at = reservation.offset + start;
    const first = at;
    if (rotate) {
      this.activate(pending.chunkId, this.ring.bytes.subarray(at, at + fileHeaderBytes));
      at += fileHeaderBytes;
    }
    const file = this.active!;
    const frame = this.ring.bytes.subarray(at, at + span);
    let bodyAt = frameHeaderBytes;
    for (const part of pending.parts) {
      if (part instanceof Uint8Array) frame.set(part, bodyAt);
      else part.writeTo(frame.subarray(bodyAt, bodyAt + part.length));
      bodyAt += part.length;
    }
    encodeFrame(frame, file.identity, {
      opening: pending.opening,
      bodyLength: pending.length,
      epoch: this.options.epoch,
      chunkId: pending.chunkId,
      syncedThrough: this.durableId,
    });
    const position = rotate ? 0 : file.offset;
    this.addWrite(file.fd, position, this.ring.bytes.subarray(first, first + need));
    file.offset = position + need;
    file.lastChunkId = pending.chunkId;
    const batch = this.batch;
    batch.appends.push(pending);
    batch.lastChunkId = pending.chunkId;
    batch.ringEnd = reservation.end;
    batch.bytes += need;
    // The thread is idle: publish now, not at the end of the microtask run, so its pwritev and
    // fdatasync overlap whatever this event-loop turn still does (an S2S session sequencing the rest
    // of a read's inputs). Frames placed meanwhile gather in the next batch (group commit).
    if (this.published.length === 0) this.flush();
    else if (!this.flushQueued) {
      this.flushQueued = true;
      void Promise.resolve().then(() => this.flush());
    }
    return true;
  }

  /** The next spare becomes the active file; its header goes into `header` (written with the frame). */
  private activate(firstChunkId: number, header: Uint8Array): void {
    const spare = this.spares.take()!;
    if (this.active) this.sealed.push({ ...this.active });
    const salt = randomBytes(8).toString('hex');
    encodeFileHeader(header, {
      seq: spare.seq,
      salt,
      epoch: this.options.epoch,
      firstChunkId,
      fileBytes: this.fileBytes,
    });
    this.active = { ...spare, fd: spare.fd!, identity: fileIdentity(spare.seq, salt), offset: 0, lastChunkId: 0 };
    this.requestSpare();
  }

  /** Adds a write to the batch, extending the previous one when it continues it in file and ring. */
  private addWrite(fd: number, position: number, data: Uint8Array): void {
    const last = this.batch.writes.at(-1);
    if (
      last &&
      last.fd === fd &&
      last.position + last.data.length === position &&
      last.data.byteOffset + last.data.length === data.byteOffset
    ) {
      last.data = this.ring.bytes.subarray(last.data.byteOffset, data.byteOffset + data.length);
      return;
    }
    this.batch.writes.push({ fd, position, data });
  }

  private flush(): void {
    this.flushQueued = false;
    const batch = this.batch;
    if (batch.writes.length === 0 || this.failure) return;
    this.batch = emptyBatch();
    this.writesSubmitted += batch.writes.length;
    batch.writesEnd = this.writesSubmitted;
    this.published.push(batch);
    if (this.published.length === 1) this.io.setBusy(true);
    this.io.submit(batch.writes);
  }

  private onDurable(writes: number, syncs: number, seconds: number): void {
    let frames = 0;
    let bytes = 0;
    while (this.published.length > 0 && this.published[0].writesEnd <= writes) {
      const batch = this.published.shift()!;
      this.ring.release(batch.ringEnd);
      this.durableId = batch.lastChunkId;
      frames += batch.appends.length;
      bytes += batch.bytes;
      for (const pending of batch.appends) pending.resolve();
    }
    for (let i = 0; i < syncs; i++) metrics.fsyncDuration.observe(seconds / syncs);
    this.options.onSync?.({ frames, bytes, syncs, seconds });
    this.placeWaiting();
    if (this.published.length === 0) this.io.setBusy(false);
    if (this.idle && this.isIdle()) this.idle();
  }

  private placeWaiting(): void {
    while (this.waiting.length > 0 && !this.failure && this.place(this.waiting[0])) this.waiting.shift();
  }

  private isIdle(): boolean {
    return this.waiting.length === 0 && this.published.length === 0 && this.batch.appends.length === 0;
  }

  private onIoFailed(failure: WalIoFailure): void {
    const file = [this.active, ...this.sealed].find((f) => f?.fd === failure.fd)?.path ?? this.dir;
    this.fail(new WalIoError('io', failure.errno, failure.step, file, failure.message));
  }

  /** Stops the log: every unresolved append is rejected, in order. */
  private fail(error: WalError): void {
    if (this.failure) return;
    this.failure = error;
    this.log('wal-failed', { error: error.message });
    const appends = [...this.published.flatMap((b) => b.appends), ...this.batch.appends, ...this.waiting];
    this.published.length = 0;
    this.batch = emptyBatch();
    this.waiting.length = 0;
    for (const pending of appends) pending.reject(error);
    this.io.setBusy(false);
    this.idle?.();
  }

  private closedError(): WalError {
    return this.failure ?? new WalError('closed', `write-ahead log in ${this.dir} is closed`);
  }

  /** Prepares the next spare in the background unless one is ready or being prepared. */
  private requestSpare(): void {
    if (this.preparing || this.failure || this.closing || this.spares.ready > 0) return;
    this.preparing = true;
    this.spares.prepare().then(
      () => {
        this.preparing = false;
        this.waitingForFile = false;
        this.placeWaiting();
      },
      (error: unknown) => {
        this.preparing = false;
        this.prepareFailed(error);
      },
    );
  }

  /** Appends that need a new file fail (the log stays usable); their chunk ids are reused. */
  private prepareFailed(error: unknown): void {
    const code = errnoOf(error);
    this.log('wal-prepare-failed', { error: (error as Error).message, code });
    if (!this.waitingForFile || this.waiting.length === 0) return;
    this.waitingForFile = false;
    const failed = new WalIoError('no-file', code, 'prepare', this.dir, (error as Error).message);
    const waiting = this.waiting.splice(0);
    this.nextId = waiting[0].chunkId;
    for (const pending of waiting) pending.reject(failed);
    if (this.idle && this.isIdle()) this.idle();
  }
}

function emptyBatch(): Batch {
  return { writes: [], appends: [], lastChunkId: 0, ringEnd: 0, bytes: 0, writesEnd: 0 };
}
