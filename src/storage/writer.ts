/**
 * Group commit: turns submitted commits into chunk objects and resolves them, strictly in
 * submission order, once their chunk and every earlier chunk are durable.
 *
 * Commits submitted while earlier chunks are being written wait in `pending`; a flush seals
 * them into the next chunk (`chunk/<id>`, create-if-absent, with a put-id). Up to
 * `chunksInFlightMax` chunks are written concurrently. Each chunk names its predecessor in
 * this writer's chain (`prevChunkId`), which is what recovery follows (docs/formats.md).
 *
 * When a chunk id turns out to be occupied:
 * - by an object of a higher epoch (or of our epoch with a put-id not ours): a newer writer
 *   exists, we are fenced: every pending and future commit is rejected;
 * - by an object of a lower epoch (a zombie writer's leftover): the chunk is "displaced".
 *   Chunks after it may already be durable, but they chain to the displaced id, so recovery
 *   never applies them. Once every in-flight put has settled, all unresolved chunks are
 *   re-issued, in order, at fresh ids after every id used so far, chained to the last
 *   durable chunk.
 * A put that keeps failing past the retry budget fails the whole log: nothing later may be
 * acknowledged on top of a chunk whose fate is unknown.
 *
 * Backpressure: no chunk is sealed while `hooks.maySeal()` says no (the memory tail is full until
 * a checkpoint folds it); commits wait in `pending` until `resume()`.
 *
 * Metrics: per durable chunk, the time from seal to durable (retries and re-issues included),
 * its size and its record count (how many records one put carried: the group-commit factor).
 */
import type { S2Error } from '../domain/errors.js';
import { metrics } from '../metrics.js';
import type { ObjectStore } from '../objectstore/types.js';
import { assert } from '../util/assert.js';
import type { Clock, Timer } from '../util/clock.js';
import type { Rand } from '../util/rand.js';
import { chunkHeaderBytes, decodeChunkHeader, encodeChunk } from './codec-chunk.js';
import { encodeCommitIn } from './codec-mutation.js';
import { CompressionProbe, isCompressedFrame } from './framing.js';
import { Slab } from './binary.js';
import { chunkKey, newPutId } from './names.js';
import type { Logger } from './state.js';
import { putIfAbsent, withRetry, type RetryPolicy } from './store-ops.js';
import type { Mutation } from './types.js';

export interface WriterOptions {
  flushIntervalMs: number;
  chunksInFlightMax: number;
  chunkBytesMax: number;
  compressMinBytes: number;
}

export interface WriterHooks {
  /** A chunk is durable and all before it are: apply it. Called in chain order. */
  onDurable(chunkId: number, epoch: number, commits: Mutation[][]): void;
  /** The writer stopped for good: `fenced` by a newer writer, or `failed` (store trouble). */
  onStop(kind: 'fenced' | 'failed', reason: string): void;
  /** False while the log cannot take more records in memory: sealing waits for `resume()`. */
  maySeal(): boolean;
  fencedError(): S2Error;
  failedError(reason: string): S2Error;
}

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

interface PendingCommit {
  mutations: Mutation[] | null;
  encoded: Uint8Array | null;
  waiter: Waiter;
}

interface ChunkInFlight {
  id: number;
  prev: number;
  commits: Mutation[][];
  encoded: Uint8Array[];
  waiters: Waiter[];
  status: 'putting' | 'durable' | 'displaced';
  /** Monotonic ms when sealed, for the flush-duration metric. */
  sealedMs: number;
}

export class ChunkWriter {
  private pending: PendingCommit[] = [];
  private pendingBytes = 0;
  private readonly inflight: ChunkInFlight[] = [];
  private nextId: number;
  private chainId: number;
  private sealQueued = false;
  private sealTimer: Timer | null = null;
  private lastSealMs = -Infinity;
  private draining = false;
  private stopped: Error | null = null;
  /** Chunks skip zstd for a while after several did not compress (see CompressionProbe). */
  private readonly compression: CompressionProbe;
  /** Commits are encoded into shared slabs rather than an allocation each. */
  private readonly slab = new Slab();

  constructor(
    private readonly store: ObjectStore,
    private readonly policy: RetryPolicy,
    private readonly rand: Rand,
    private readonly clock: Clock,
    private readonly epoch: number,
    /** The chain so far ends at this chunk (the fence written at open). */
    lastChunkId: number,
    private readonly options: WriterOptions,
    private readonly hooks: WriterHooks,
    private readonly log: Logger,
  ) {
    assert(options.chunksInFlightMax >= 1, 'chunksInFlightMax >= 1');
    this.nextId = lastChunkId + 1;
    this.compression = new CompressionProbe(options.compressMinBytes, 64);
    this.chainId = lastChunkId;
  }

  submit(mutations: Mutation[]): Promise<void> {
    if (this.stopped) return Promise.reject(this.stopped);
    if (mutations.length === 0) return this.barrier();
    let encoded: Uint8Array;
    try {
      encoded = encodeCommitIn(this.slab, mutations);
    } catch (error) {
      return Promise.reject(error as Error); // a malformed commit (an engine bug) fails alone
    }
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ mutations, encoded, waiter: { resolve, reject } });
      this.pendingBytes += encoded.length;
      this.schedule();
    });
  }

  /** Resolves once everything submitted before it is durable; writes nothing by itself. */
  barrier(): Promise<void> {
    if (this.stopped) return Promise.reject(this.stopped);
    return new Promise<void>((resolve, reject) => {
      const waiter = { resolve, reject };
      if (this.pending.length > 0) this.pending.push({ mutations: null, encoded: null, waiter });
      else if (this.inflight.length > 0) this.inflight.at(-1)!.waiters.push(waiter);
      else resolve();
    });
  }

  /** Seals whatever is pending without waiting for the flush interval, and waits for it. */
  flushNow(): Promise<void> {
    this.lastSealMs = -Infinity;
    const done = this.barrier();
    this.schedule();
    return done;
  }

  /** Seals what is pending, if anything, now that `hooks.maySeal()` may say yes again. */
  resume(): void {
    this.schedule();
  }

  get isStopped(): boolean {
    return this.stopped !== null;
  }

  /** Rejects everything pending and in flight with `error` and refuses further commits. */
  stop(error: Error): void {
    if (this.stopped) return;
    this.stopped = error;
    this.sealTimer?.cancel();
    this.sealTimer = null;
    const waiters = [...this.inflight.flatMap((c) => c.waiters), ...this.pending.map((p) => p.waiter)];
    this.inflight.length = 0;
    this.pending = [];
    this.pendingBytes = 0;
    for (const waiter of waiters) waiter.reject(error);
  }

  private schedule(): void {
    if (this.stopped || this.sealQueued || this.pending.length === 0) return;
    if (this.inflight.length >= this.options.chunksInFlightMax) return;
    if (this.inflight.some((c) => c.status === 'displaced')) return;
    if (!this.hooks.maySeal()) return;
    const waitMs = this.lastSealMs + this.options.flushIntervalMs - this.clock.monotonicMs();
    if (waitMs <= 0 || this.pendingBytes >= this.options.chunkBytesMax) {
      this.sealTimer?.cancel();
      this.sealTimer = null;
      // After the current I/O phase (setImmediate), so that commits from every request whose bytes
      // arrived in this event-loop turn share one chunk: sealing in a microtask gave each request its
      // own chunk whenever a put completes fast (memory, a free slot), multiplying per-chunk costs.
      this.sealQueued = true;
      setImmediate(() => {
        this.sealQueued = false;
        this.seal();
      });
    } else if (!this.sealTimer) {
      this.sealTimer = this.clock.setTimer(waitMs, () => {
        this.sealTimer = null;
        this.schedule();
      });
    }
  }

  private seal(): void {
    if (this.stopped || this.pending.length === 0 || this.inflight.length >= this.options.chunksInFlightMax) return;
    if (this.inflight.some((c) => c.status === 'displaced') || !this.hooks.maySeal()) return;
    const chunk: ChunkInFlight = {
      id: 0,
      prev: 0,
      commits: [],
      encoded: [],
      waiters: [],
      status: 'putting',
      sealedMs: this.clock.monotonicMs(),
    };
    let bytes = 0;
    let taken = 0;
    while (taken < this.pending.length) {
      const next = this.pending[taken];
      if (next.encoded && chunk.encoded.length > 0 && bytes + next.encoded.length > this.options.chunkBytesMax) break;
      taken++;
      chunk.waiters.push(next.waiter);
      if (!next.encoded) continue;
      chunk.commits.push(next.mutations!);
      chunk.encoded.push(next.encoded);
      bytes += next.encoded.length;
    }
    this.pending = this.pending.slice(taken);
    this.pendingBytes -= bytes;
    if (chunk.encoded.length === 0) {
      // Only barriers: they wait for whatever is already in flight, no object needed.
      const last = this.inflight.at(-1);
      for (const waiter of chunk.waiters) {
        if (last) last.waiters.push(waiter);
        else waiter.resolve();
      }
    } else {
      chunk.id = this.nextId++;
      chunk.prev = this.chainId;
      this.chainId = chunk.id;
      this.inflight.push(chunk);
      this.lastSealMs = this.clock.monotonicMs();
      this.put(chunk);
    }
    this.schedule();
  }

  private put(chunk: ChunkInFlight): void {
    const id = chunk.id;
    const threshold = this.compression.threshold();
    const body = encodeChunk({ epoch: this.epoch, chunkId: id, prevChunkId: chunk.prev }, chunk.encoded, threshold);
    this.compression.record(threshold, body.length, isCompressedFrame(body));
    const putId = newPutId(this.epoch, this.rand);
    putIfAbsent(this.store, chunkKey(id), body, putId, this.policy)
      .then(async (outcome) => {
        if (this.stopped || chunk.id !== id) return;
        if (outcome.kind === 'ok') {
          chunk.status = 'durable';
          metrics.flushDuration.observe(Math.max(0, this.clock.monotonicMs() - chunk.sealedMs) / 1000);
          metrics.flushBytes.observe(body.length);
          metrics.flushRecords.observe(recordCount(chunk.commits));
        } else {
          const occupant = await this.occupantEpoch(id);
          if (this.stopped) return;
          if (occupant >= this.epoch) {
            this.fail('fenced', `chunk ${id} was written by writer epoch ${occupant} (ours is ${this.epoch})`);
            return;
          }
          this.log('chunk-displaced', { chunkId: id, occupantEpoch: occupant, epoch: this.epoch });
          chunk.status = 'displaced';
        }
        this.drain();
      })
      .catch((error: unknown) => this.fail('failed', `chunk ${id} could not be written: ${(error as Error).message}`));
  }

  private async occupantEpoch(id: number): Promise<number> {
    const head = await withRetry(`get chunk ${id} header`, this.store, this.policy, () =>
      this.store.get(chunkKey(id), { start: 0, end: chunkHeaderBytes }),
    );
    return decodeChunkHeader(head, id).epoch;
  }

  /** Resolves durable chunks at the head, in order; re-issues displaced chunks once puts settle. */
  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      while (!this.stopped && this.inflight[0]?.status === 'durable') {
        const chunk = this.inflight.shift()!;
        this.hooks.onDurable(chunk.id, this.epoch, chunk.commits);
        for (const waiter of chunk.waiters) waiter.resolve();
      }
    } catch (error) {
      this.fail('failed', `applying a durable chunk failed: ${(error as Error).message}`);
    } finally {
      this.draining = false;
    }
    if (this.stopped) return;
    if (this.inflight[0]?.status === 'displaced' && this.inflight.every((c) => c.status !== 'putting')) {
      this.reissue();
    }
    this.schedule();
  }

  private reissue(): void {
    this.chainId = this.inflight[0].prev;
    for (const chunk of this.inflight) {
      chunk.id = this.nextId++;
      chunk.prev = this.chainId;
      this.chainId = chunk.id;
      chunk.status = 'putting';
      this.log('chunk-reissued', { chunkId: chunk.id, prevChunkId: chunk.prev });
      this.put(chunk);
    }
  }

  private fail(kind: 'fenced' | 'failed', reason: string): void {
    if (this.stopped) return;
    this.log(kind === 'fenced' ? 'fenced' : 'writer-failed', { reason });
    this.stop(kind === 'fenced' ? this.hooks.fencedError() : this.hooks.failedError(reason));
    this.hooks.onStop(kind, reason);
  }
}

function recordCount(commits: Mutation[][]): number {
  let records = 0;
  for (const commit of commits) for (const m of commit) if (m.kind === 'append') records += m.records.length;
  return records;
}
