/**
 * Group commit: turns submitted commits into chunk objects and reports them durable, strictly in
 * submission order, once their chunk and every earlier chunk are durable.
 *
 * Each commit gets an ordinal (1, 2, 3...). Commits submitted while earlier chunks are being
 * written wait in `pending`; a flush seals them into the next chunk (`chunk/<id>`,
 * create-if-absent, with a put-id), which remembers the last ordinal it holds. Up to
 * `chunksInFlightMax` chunks are written concurrently. Each chunk names its predecessor in this
 * writer's chain (`prevChunkId`), which is what recovery follows (docs/formats.md).
 *
 * When a chunk id turns out to be occupied:
 * - by an object of a higher epoch (or of our epoch with a put-id not ours): a newer writer
 *   exists, we are fenced: the writer stops and the log with it;
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
import { metrics } from '../metrics.js';
import type { ObjectStore } from '../objectstore/types.js';
import { assert } from '../util/assert.js';
import type { Clock, Timer } from '../util/clock.js';
import type { Rand } from '../util/rand.js';
import { chunkHeaderBytes, decodeChunkHeader, encodeChunk } from './codec-chunk.js';
import { encodeCommitIn } from './codec-mutation.js';
import { FencedError, StoreFailure, type StorageError } from './errors.js';
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
  /**
   * A chunk is durable and all before it are: apply it; commits up to `lastOrdinal` are now
   * durable. Called in chain order.
   */
  onDurable(chunkId: number, epoch: number, commits: Mutation[][], lastOrdinal: number): void;
  /** The writer stopped for good (fenced by a newer writer, or failed): the log stops with `error`. */
  onStop(error: StorageError): void;
  /** False while the log cannot take more records in memory: sealing waits for `resume()`. */
  maySeal(): boolean;
}

interface PendingCommit {
  mutations: Mutation[];
  encoded: Uint8Array;
  ordinal: number;
}

interface ChunkInFlight {
  id: number;
  prev: number;
  commits: Mutation[][];
  encoded: Uint8Array[];
  /** Ordinal of the last commit in the chunk. */
  lastOrdinal: number;
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
  private stopped: StorageError | null = null;
  /** Ordinal of the last commit submitted. */
  private submitted = 0;
  /** Chunks skip zstd for a while after several did not compress (see CompressionProbe). */
  private readonly compression: CompressionProbe;
  /** Commits are encoded into shared slabs rather than an allocation each. */
  private readonly slab = new Slab();
  /** `seal`, as the callback `schedule` queues (one closure for the writer's life). */
  private readonly runQueuedSeal = (): void => {
    this.sealQueued = false;
    this.seal();
  };

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

  /**
   * Queues a non-empty commit and returns its ordinal. Throws the stop error once stopped, and
   * the encoder's error for a malformed commit (an engine bug), which then fails alone.
   */
  submit(mutations: Mutation[]): number {
    if (this.stopped) throw this.stopped;
    assert(mutations.length > 0, 'a commit holds at least one mutation');
    const encoded = encodeCommitIn(this.slab, mutations);
    const ordinal = ++this.submitted;
    this.pending.push({ mutations, encoded, ordinal });
    this.pendingBytes += encoded.length;
    this.schedule();
    return ordinal;
  }

  /** Ordinal of the last commit submitted (0 before the first). */
  get lastOrdinal(): number {
    return this.submitted;
  }

  /** Seals whatever is pending without waiting for the flush interval. */
  flushNow(): void {
    this.lastSealMs = -Infinity;
    this.schedule();
  }

  /** Seals what is pending, if anything, now that `hooks.maySeal()` may say yes again. */
  resume(): void {
    this.schedule();
  }

  /** Drops everything pending and in flight and refuses further commits with `error`. */
  stop(error: StorageError): void {
    if (this.stopped) return;
    this.stopped = error;
    this.sealTimer?.cancel();
    this.sealTimer = null;
    this.inflight.length = 0;
    this.pending = [];
    this.pendingBytes = 0;
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
      // After the current I/O phase (`afterIo`), so that commits from every request whose bytes
      // arrived in this event-loop turn share one chunk: sealing in a microtask gave each request its
      // own chunk whenever a put completes fast (memory, a free slot), multiplying per-chunk costs.
      this.sealQueued = true;
      this.clock.afterIo(this.runQueuedSeal);
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
      id: this.nextId++,
      prev: this.chainId,
      commits: [],
      encoded: [],
      lastOrdinal: 0,
      status: 'putting',
      sealedMs: this.clock.monotonicMs(),
    };
    let bytes = 0;
    let taken = 0;
    while (taken < this.pending.length) {
      const next = this.pending[taken];
      if (taken > 0 && bytes + next.encoded.length > this.options.chunkBytesMax) break;
      taken++;
      chunk.commits.push(next.mutations);
      chunk.encoded.push(next.encoded);
      chunk.lastOrdinal = next.ordinal;
      bytes += next.encoded.length;
    }
    this.pending = this.pending.slice(taken);
    this.pendingBytes -= bytes;
    this.chainId = chunk.id;
    this.inflight.push(chunk);
    this.lastSealMs = chunk.sealedMs;
    this.put(chunk);
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
            const reason = `chunk ${id} was written by writer epoch ${occupant} (ours is ${this.epoch})`;
            this.fail(new FencedError(`fenced by a newer writer: ${reason}`));
            return;
          }
          this.log('chunk-displaced', { chunkId: id, occupantEpoch: occupant, epoch: this.epoch });
          chunk.status = 'displaced';
        }
        this.drain();
      })
      .catch((error: unknown) => this.failWith(`chunk ${id} could not be written`, error));
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
        this.hooks.onDurable(chunk.id, this.epoch, chunk.commits, chunk.lastOrdinal);
      }
    } catch (error) {
      this.failWith('applying a durable chunk failed', error);
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

  /** Stops the log: storage failure while `doing`, because of `error`. */
  private failWith(doing: string, error: unknown): void {
    const message = `storage failure: ${doing}: ${error instanceof Error ? error.message : String(error)}`;
    this.fail(new StoreFailure(message, { cause: error }));
  }

  private fail(error: StorageError): void {
    if (this.stopped) return;
    this.log(error.kind === 'fenced' ? 'fenced' : 'writer-failed', { reason: error.message });
    this.stop(error);
    this.hooks.onStop(error);
  }
}

function recordCount(commits: Mutation[][]): number {
  let records = 0;
  for (const commit of commits) for (const m of commit) if (m.kind === 'append') records += m.records.length;
  return records;
}
