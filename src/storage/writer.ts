/**
 * Group commit: turns submitted commits into chunks and reports them durable, strictly in
 * submission order, once their chunk and every earlier chunk are durable.
 *
 * Each commit gets an ordinal (1, 2, 3...). Commits submitted while earlier chunks are being
 * written wait in `pending`; a flush seals them into the next chunk, which remembers the last
 * ordinal it holds, and hands it to the sink (sink.ts: a chunk object, a write-ahead log frame, or
 * nothing in memory mode). Up to the sink's `chunksInFlightMax` chunks are written concurrently.
 * Each chunk names its predecessor in this writer's chain (`prevChunkId`), which is what recovery
 * follows (docs/formats.md). When a flush may start is the flush budget's call (flush-budget.ts).
 *
 * When a chunk object's id turns out to be occupied (object sinks only):
 * - by an object of a higher epoch (or of our epoch with a put-id not ours): a newer writer
 *   exists, we are fenced: the writer stops and the log with it;
 * - by an object of a lower epoch (a zombie writer's leftover): the chunk is "displaced".
 *   Chunks after it may already be durable, but they chain to the displaced id, so recovery
 *   never applies them. Once every in-flight put has settled, all unresolved chunks are
 *   re-issued, in order, at fresh ids after every id used so far, chained to the last
 *   durable chunk.
 * A chunk the sink fails to write (a put past the retry budget, a failed fdatasync) fails the whole
 * log: nothing later may be acknowledged on top of a chunk whose fate is unknown.
 *
 * Backpressure: no chunk is sealed while `hooks.maySeal()` says no (the memory tail is full until
 * a checkpoint folds it); commits wait in `pending` until `resume()`.
 *
 * Metrics: per durable chunk, the time from seal to durable (retries and re-issues included),
 * its size and its record count (how many records one put carried: the group-commit factor).
 */
import { metrics } from '../metrics.js';
import { assert } from '../util/assert.js';
import type { Clock, Timer } from '../util/clock.js';
import { Slab } from './binary.js';
import { appendCommit, encodeCommitIn } from './codec-mutation.js';
import { StorageError, StoreFailure } from './errors.js';
import { FlushBudget } from './flush-budget.js';
import type { ChunkSink, CommitBytes } from './sink.js';
import type { Logger } from './state.js';
import type { Mutation } from './types.js';

export interface WriterOptions {
  flushIntervalMs: number;
  /** Flushes the budget allows at once after an idle spell (see flush-budget.ts). */
  flushBurst: number;
  chunkBytesMax: number;
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

interface ChunkInFlight {
  id: number;
  prev: number;
  commits: Mutation[][];
  encoded: CommitBytes[];
  bytes: number;
  /** Ordinal of the last commit in the chunk. */
  lastOrdinal: number;
  status: 'putting' | 'durable' | 'displaced';
  /** Monotonic ms when sealed, for the flush-duration metric. */
  sealedMs: number;
}

const noBytes = new Uint8Array(0);

export class ChunkWriter {
  /** Submitted commits not yet sealed: mutations, their encoding and size, in ordinal order. */
  private pendingCommits: Mutation[][] = [];
  private pendingEncoded: CommitBytes[] = [];
  private pendingBytes = 0;
  private readonly inflight: ChunkInFlight[] = [];
  private nextId: number;
  private chainId: number;
  private sealQueued = false;
  private sealTimer: Timer | null = null;
  /** The next seal waited for the budget (a timer ran): the budget learns what waiting gathered. */
  private waited = false;
  private draining = false;
  private stopped: StorageError | null = null;
  /** Ordinal of the last commit submitted. */
  private submitted = 0;
  private readonly budget: FlushBudget;
  /** Commits are encoded into shared slabs rather than an allocation each. */
  private readonly slab = new Slab();
  /** `seal`, as the callback `schedule` queues (one closure for the writer's life). */
  private readonly runQueuedSeal = (): void => {
    this.sealQueued = false;
    this.seal();
  };
  private readonly runTimedSeal = (): void => {
    this.sealTimer = null;
    this.waited = true;
    this.schedule();
  };

  constructor(
    private readonly sink: ChunkSink,
    private readonly clock: Clock,
    private readonly epoch: number,
    /** The chain so far ends at this chunk (the fence or opening frame written at open). */
    lastChunkId: number,
    private readonly options: WriterOptions,
    private readonly hooks: WriterHooks,
    private readonly log: Logger,
  ) {
    assert(sink.chunksInFlightMax >= 1, 'chunksInFlightMax >= 1');
    this.nextId = lastChunkId + 1;
    this.chainId = lastChunkId;
    this.budget = new FlushBudget(options.flushIntervalMs, options.flushBurst, clock.monotonicMs());
  }

  /**
   * Queues a non-empty commit and returns its ordinal. Throws the stop error once stopped, and
   * the encoder's error for a malformed commit (an engine bug), which then fails alone.
   */
  submit(mutations: Mutation[]): number {
    if (this.stopped) throw this.stopped;
    assert(mutations.length > 0, 'a commit holds at least one mutation');
    const encoded = this.sink.needsBytes ? this.encode(mutations) : noBytes;
    if (this.inflight.length > 0 || this.pendingCommits.length > 0) this.budget.concurrent();
    this.pendingCommits.push(mutations);
    this.pendingEncoded.push(encoded);
    this.pendingBytes += encoded.length;
    const ordinal = ++this.submitted;
    if (this.pendingCommits.length === this.sink.eagerSealCommits && this.inflight.length === 0) this.sealEagerly();
    else this.schedule();
    return ordinal;
  }

  /**
   * The sink is idle and enough commits are pending: seal them now rather than after the I/O phase,
   * so the medium works on them while the rest of this turn's commits are sequenced; those then
   * share the next chunk (see `ChunkSink.eagerSealCommits`). Only when the flush budget allows a
   * flush now.
   */
  private sealEagerly(): void {
    if (this.sealTimer || this.budget.waitMs(this.clock.monotonicMs(), false) > 0) this.schedule();
    else this.seal();
  }

  /**
   * A sink that writes in place (the write-ahead log) gets appends as `CommitWriter`s and encodes
   * them into its ring: one copy of each record body instead of two (slab, then ring). Anything
   * else is encoded into the slab now. Either way a malformed commit throws here.
   */
  private encode(mutations: Mutation[]): CommitBytes {
    return (this.sink.writesInPlace && appendCommit(mutations)) || encodeCommitIn(this.slab, mutations);
  }

  /** Ordinal of the last commit submitted (0 before the first). */
  get lastOrdinal(): number {
    return this.submitted;
  }

  /** Seals whatever is pending without waiting for the flush budget. */
  flushNow(): void {
    this.budget.force();
    this.sealTimer?.cancel();
    this.sealTimer = null;
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
    this.pendingCommits = [];
    this.pendingEncoded = [];
    this.pendingBytes = 0;
  }

  private schedule(): void {
    if (this.stopped || this.sealQueued || this.pendingCommits.length === 0) return;
    if (this.inflight.length >= this.sink.chunksInFlightMax) return;
    if (this.inflight.some((c) => c.status === 'displaced')) return;
    if (!this.hooks.maySeal()) return;
    const idle = this.inflight.length === 0 && this.pendingCommits.length === 1;
    const waitMs =
      this.pendingBytes >= this.options.chunkBytesMax ? 0 : this.budget.waitMs(this.clock.monotonicMs(), idle);
    if (waitMs <= 0) {
      this.sealTimer?.cancel();
      this.sealTimer = null;
      // After the current I/O phase (`afterIo`), so that commits from every request whose bytes
      // arrived in this event-loop turn share one chunk: sealing in a microtask gave each request its
      // own chunk whenever a put completes fast (memory, a free slot), multiplying per-chunk costs.
      this.sealQueued = true;
      this.clock.afterIo(this.runQueuedSeal);
    } else if (!this.sealTimer) {
      this.sealTimer = this.clock.setTimer(waitMs, this.runTimedSeal);
    }
  }

  private seal(): void {
    if (this.stopped || this.pendingCommits.length === 0) return;
    if (this.inflight.length >= this.sink.chunksInFlightMax) return;
    if (this.inflight.some((c) => c.status === 'displaced') || !this.hooks.maySeal()) return;
    let taken = this.pendingCommits.length;
    let bytes = this.pendingBytes;
    if (bytes > this.options.chunkBytesMax) {
      bytes = 0;
      for (taken = 0; taken < this.pendingEncoded.length; taken++) {
        const next = this.pendingEncoded[taken].length;
        if (taken > 0 && bytes + next > this.options.chunkBytesMax) break;
        bytes += next;
      }
    }
    const all = taken === this.pendingCommits.length;
    const chunk: ChunkInFlight = {
      id: this.nextId++,
      prev: this.chainId,
      commits: all ? this.pendingCommits : this.pendingCommits.slice(0, taken),
      encoded: all ? this.pendingEncoded : this.pendingEncoded.slice(0, taken),
      bytes,
      lastOrdinal: this.submitted - (this.pendingCommits.length - taken),
      status: 'putting',
      sealedMs: this.clock.monotonicMs(),
    };
    this.pendingCommits = all ? [] : this.pendingCommits.slice(taken);
    this.pendingEncoded = all ? [] : this.pendingEncoded.slice(taken);
    this.pendingBytes -= bytes;
    this.budget.flushed(chunk.sealedMs, taken, this.waited);
    this.waited = false;
    this.chainId = chunk.id;
    this.inflight.push(chunk);
    this.put(chunk);
    this.schedule();
  }

  private put(chunk: ChunkInFlight): void {
    const id = chunk.id;
    this.sink.write(chunk).then(
      (outcome) => {
        if (this.stopped || chunk.id !== id) return;
        if (outcome.kind === 'durable') {
          chunk.status = 'durable';
          metrics.flushDuration.observe(Math.max(0, this.clock.monotonicMs() - chunk.sealedMs) / 1000);
          metrics.flushBytes.observe(outcome.bytes);
          metrics.flushRecords.observe(recordCount(chunk.commits));
        } else {
          this.log('chunk-displaced', { chunkId: id, occupantEpoch: outcome.occupantEpoch, epoch: this.epoch });
          chunk.status = 'displaced';
        }
        this.drain();
      },
      (error: unknown) => {
        if (error instanceof StorageError && error.kind !== 'failed') this.fail(error);
        else this.failWith(`chunk ${id} could not be written`, error);
      },
    );
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
    const resumable = error instanceof StoreFailure && error.resumable;
    this.fail(new StoreFailure(message, { cause: error, resumable }));
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
