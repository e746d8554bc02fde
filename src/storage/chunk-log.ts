/**
 * The stream log: `StreamLog` over an `ObjectStore` (docs/formats.md describes every object).
 *
 *   commits -> group-committed chunks (writer.ts) -> applied to the in-memory state (state.ts)
 *   background: checkpoints into segments + manifest (checkpoint.ts), GC (gc.ts), and a poll
 *   that notices a newer writer while idle
 *   reads -> memory tail and segments (reader.ts)
 *   open -> epoch bump, replay, fence (recovery.ts)
 *
 * Background work runs one task at a time on a queue, so a checkpoint and GC never interleave.
 *
 * Bounds: a checkpoint starts once the memory tails reach `checkpointBytes` or `checkpointChunks`
 * chunks were applied since the last one (this bounds recovery: a reopen replays only chunks after
 * the last manifest); a chunk applied while one runs queues the next (the flag is reset when a
 * checkpoint starts), so nothing is left unfolded once commits stop. Commits wait (the writer
 * seals nothing) while the tails hold `memoryTailBytesMax`, until a checkpoint folds them; a
 * failed checkpoint is then retried after `checkpointRetryMs`.
 */
import { errors, S2Error } from '../domain/errors.js';
import { metrics } from '../metrics.js';
import type { SequencedRecord } from '../domain/types.js';
import type { ObjectStore } from '../objectstore/types.js';
import type { Timer } from '../util/clock.js';
import { CorruptDataError } from './binary.js';
import { runCheckpoint, type CheckpointResult, type CurrentManifest } from './checkpoint.js';
import { collectLogObjects, collectSegments, sweepOrphanSegments, type GcContext } from './gc.js';
import { loadManifestHeader, type ManifestIo } from './manifest-io.js';
import { manifestKey } from './names.js';
import { resolveOptions, type ChunkLogOptions, type ResolvedOptions } from './options.js';
import { readRecords, seqNumForTimestamp, type ReadContext } from './reader.js';
import { FencedError, openLog } from './recovery.js';
import { SegmentCache } from './segment-cache.js';
import type { SegmentScratch } from './codec-segment.js';
import type { LogState } from './state.js';
import { StoreFailure, type RetryPolicy } from './store-ops.js';
import type { LogStatus, Mutation, ReadRequest, RecoveredState, StreamId, StreamLog } from './types.js';
import { ChunkWriter } from './writer.js';

export type { ChunkLogOptions } from './options.js';

const fencedReason = 'fenced by a newer writer';
/** While commits wait for a checkpoint to free memory, a failed one is retried this often. */
const checkpointRetryMs = 1_000;

export class ChunkLog implements StreamLog {
  private readonly writer: ChunkWriter;
  private readonly readContext: ReadContext;
  /** Reused by checkpoints for segment encoding (see SegmentScratch). */
  private readonly segmentScratch: SegmentScratch = {};
  private readonly gcContext: GcContext;
  private readonly recoveredState: RecoveredState;
  private readonly listeners: ((reason: string) => void)[] = [];
  private readonly timers = new Map<string, Timer>();
  private tasks: Promise<void> = Promise.resolve();
  private checkpointQueued = false;
  private gcQueued = false;
  private chunksSinceCheckpoint = 0;
  private halted: string | null = null;
  private closing = false;
  private closed = false;
  /** The memory tails are full: the writer seals nothing until a checkpoint folds them. */
  private paused = false;

  /** Opens the log: takes the next writer epoch, replays, fences older writers. */
  static async open(store: ObjectStore, options: ChunkLogOptions = {}): Promise<ChunkLog> {
    const resolved = resolveOptions(options);
    const policy: RetryPolicy = {
      clock: resolved.clock,
      rand: resolved.rand,
      timeoutMs: resolved.storeRetryTimeoutMs,
      log: resolved.logger,
    };
    const io: ManifestIo = {
      store,
      policy,
      rand: resolved.rand,
      compressMinBytes: resolved.compressMinBytes,
      manifestInlineBytesMax: resolved.manifestInlineBytesMax,
    };
    try {
      const opened = await openLog(io, resolved.logger);
      const current: CurrentManifest = { header: opened.manifest, snapshotRef: opened.snapshotRef, pendingPutId: null };
      reportWriterEpoch(opened.epoch);
      return new ChunkLog(io, resolved, opened.state, opened.epoch, opened.fenceChunkId, current);
    } catch (error) {
      throw openError(store, error);
    }
  }

  private constructor(
    private readonly io: ManifestIo,
    private readonly options: ResolvedOptions,
    private readonly state: LogState,
    readonly epoch: number,
    fenceChunkId: number,
    private readonly current: CurrentManifest,
  ) {
    this.recoveredState = state.recovered();
    const log = options.logger;
    this.readContext = { state, segments: new SegmentCache(io.store, io.policy, options.blockCacheBytes), log };
    this.gcContext = { io, clock: options.clock, state, epoch, manifestsKept: options.manifestsKept, log };
    this.writer = new ChunkWriter(
      io.store,
      io.policy,
      io.rand,
      options.clock,
      epoch,
      fenceChunkId,
      options,
      {
        onDurable: (chunkId, chunkEpoch, commits) => this.onDurable(chunkId, chunkEpoch, commits),
        onStop: (kind, reason) =>
          this.halt(kind === 'fenced' ? `${fencedReason}: ${reason}` : `storage failure: ${reason}`),
        maySeal: () => this.maySeal(),
        fencedError: () => errors.unavailable(fencedReason),
        failedError: (reason) => errors.storage(`the stream log stopped after a storage failure: ${reason}`),
      },
      log,
    );
    this.every('checkpoint', options.checkpointIntervalMs, () => this.requestCheckpoint());
    this.every('gc', options.gcIntervalMs, () => this.requestGc());
    this.every('poll', options.manifestPollIntervalMs, () => void this.poll());
    // Leftovers of the previous writer: folded chunks, old manifests, orphan segments, dead segments.
    if (options.sweepOrphansOnOpen) this.enqueue('orphan-sweep', () => sweepOrphanSegments(this.gcContext));
    this.enqueue('gc-log-objects', () => collectLogObjects(this.gcContext, this.current));
    this.requestGc();
  }

  recovered(): RecoveredState {
    return this.recoveredState;
  }

  commit(mutations: Mutation[]): Promise<void> {
    return this.writer.submit(mutations);
  }

  barrier(): Promise<void> {
    return this.writer.barrier();
  }

  read(request: ReadRequest): Promise<SequencedRecord[]> {
    return readRecords(this.readContext, request).catch(readError);
  }

  seqNumForTimestamp(stream: StreamId, timestamp: bigint, endSeqNum: number, nowMs: number): Promise<number | null> {
    return seqNumForTimestamp(this.readContext, stream, timestamp, endSeqNum, nowMs).catch(readError);
  }

  status(): LogStatus {
    if (this.halted) return { ok: false, reason: this.halted };
    if (this.closed) return { ok: false, reason: 'closed' };
    return { ok: true };
  }

  onFailure(listener: (reason: string) => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closing = true; // the final flush ignores the memory bound
    if (!this.halted) await this.writer.flushNow().catch(() => {});
    this.closed = true;
    for (const timer of this.timers.values()) timer.cancel();
    this.timers.clear();
    this.writer.stop(errors.unavailable('the stream log is closed'));
    await this.tasks;
  }

  /** Folds everything applied so far into segments and a new manifest (normally automatic). */
  checkpoint(): Promise<CheckpointResult> {
    return this.enqueue('checkpoint', () => this.doCheckpoint());
  }

  /** Runs segment GC (trim, retention, purged streams) and log-object GC now. */
  collectGarbage(): Promise<void> {
    return this.enqueue('gc', async () => {
      await collectSegments(this.gcContext);
      await collectLogObjects(this.gcContext, this.current);
    });
  }

  /** Numbers for tests and metrics. */
  stats() {
    return {
      epoch: this.epoch,
      manifestId: this.current.header.manifestId,
      foldedChunkId: this.current.header.lastAppliedChunkId,
      appliedChunkId: this.state.appliedChunkId,
      memoryTailBytes: this.state.tailBytes,
      writesPaused: this.paused,
    };
  }

  private maySeal(): boolean {
    const full = !this.closing && this.state.tailBytes >= this.options.memoryTailBytesMax;
    if (full !== this.paused) {
      this.paused = full;
      this.options.logger(full ? 'writes-paused' : 'writes-resumed', { memoryTailBytes: this.state.tailBytes });
      if (full) this.requestCheckpoint(); // normally running already
    }
    return !full;
  }

  private onDurable(chunkId: number, chunkEpoch: number, commits: Mutation[][]): void {
    this.state.applyChunk(chunkId, chunkEpoch, commits);
    this.chunksSinceCheckpoint++;
    const { state, options } = this;
    if (state.tailBytes >= options.checkpointBytes || this.chunksSinceCheckpoint >= options.checkpointChunks) {
      this.requestCheckpoint();
    }
    if (state.trimmedStreams.size > 0 || state.purgedStreams.size > 0 || state.unreachableSegments.length > 0) {
      this.requestGc();
    }
  }

  private async doCheckpoint(): Promise<CheckpointResult> {
    if (this.halted || this.closed) return { kind: 'nothing' };
    const applied = this.state.appliedChunkId;
    const result = await runCheckpoint(
      {
        io: this.io,
        clock: this.options.clock,
        state: this.state,
        epoch: this.epoch,
        segment: this.options,
        segments: this.readContext.segments,
        log: this.options.logger,
        scratch: this.segmentScratch,
      },
      this.current,
    );
    if (result.kind === 'fenced') {
      this.halt(`${fencedReason}: ${result.reason}`);
    } else if (result.kind === 'done') {
      this.chunksSinceCheckpoint = this.state.appliedChunkId - applied;
      this.writer.resume();
      await collectLogObjects(this.gcContext, this.current);
      if (this.state.unreachableSegments.length > 0) this.requestGc(); // merged-away segments
    }
    return result;
  }

  private requestCheckpoint(): void {
    if (this.checkpointQueued) return;
    this.checkpointQueued = true;
    this.enqueue('checkpoint', () => {
      this.checkpointQueued = false;
      return this.doCheckpoint();
    }).catch(() => this.retryCheckpointWhilePaused());
  }

  /** Commits are waiting for memory that only a checkpoint frees: do not wait for the next trigger. */
  private retryCheckpointWhilePaused(): void {
    if (!this.paused || this.halted || this.closed || this.timers.has('checkpoint-retry')) return;
    this.timers.set(
      'checkpoint-retry',
      this.options.clock.setTimer(checkpointRetryMs, () => {
        this.timers.delete('checkpoint-retry');
        this.requestCheckpoint();
      }),
    );
  }

  private requestGc(): void {
    if (this.gcQueued) return;
    this.gcQueued = true;
    this.enqueue('gc', () => {
      this.gcQueued = false;
      return collectSegments(this.gcContext);
    }).catch(() => {});
  }

  /** Runs `task` after the queued ones; failures are logged and returned, never left unhandled. */
  private enqueue<T>(name: string, task: () => Promise<T>): Promise<T> {
    const run = this.tasks.then(() => {
      if (this.closed) throw errors.unavailable('the stream log is closed');
      return task();
    });
    this.tasks = run.then(
      () => {},
      (error: unknown) =>
        this.options.logger('background-task-failed', { task: name, error: (error as Error).message }),
    );
    return run;
  }

  private every(name: string, ms: number, fn: () => void): void {
    const arm = () => {
      if (this.closed || this.halted) return;
      this.timers.set(
        name,
        this.options.clock.setTimer(ms, () => {
          fn();
          arm();
        }),
      );
    };
    arm();
  }

  /** An idle writer learns it was fenced by finding the next manifest written by a newer epoch. */
  private async poll(): Promise<void> {
    if (this.halted || this.closed || this.current.pendingPutId !== null) return;
    const next = this.current.header.manifestId + 1;
    try {
      const info = await this.io.store.head(manifestKey(next));
      if (!info || this.halted) return;
      const { header } = await loadManifestHeader(this.io, next);
      if (header.epoch > this.epoch) this.halt(`${fencedReason}: manifest ${next} has writer epoch ${header.epoch}`);
    } catch (error) {
      this.options.logger('poll-failed', { error: (error as Error).message });
    }
  }

  private halt(reason: string): void {
    if (this.halted || this.closed) return;
    this.halted = reason;
    this.options.logger('halted', { reason });
    this.writer.stop(reason.startsWith(fencedReason) ? errors.unavailable(fencedReason) : errors.storage(reason));
    for (const timer of this.timers.values()) timer.cancel();
    this.timers.clear();
    for (const listener of this.listeners) listener(reason);
  }
}

/**
 * The writer-epoch gauge only moves up: a process opens one log per store, and if it ever opens
 * another (tests, a re-open after being fenced) the newest epoch is the one that matters.
 */
let highestEpoch = 0;
function reportWriterEpoch(epoch: number): void {
  if (epoch <= highestEpoch) return;
  highestEpoch = epoch;
  metrics.writerEpoch.set(epoch);
}

/** Reads fail with typed errors the client can see; the log itself stays usable. */
function readError(error: unknown): never {
  if (error instanceof CorruptDataError) throw errors.storage(`corrupt data: ${error.message}`);
  if (error instanceof StoreFailure) throw errors.storage(error.message);
  throw error;
}

function openError(store: ObjectStore, error: unknown): Error {
  const where = `cannot open the stream log on ${store.describe()}`;
  if (error instanceof FencedError) return errors.unavailable(`${where}: ${error.message}`);
  if (error instanceof CorruptDataError) return errors.storage(`${where}: corrupt data: ${error.message}`);
  if (error instanceof StoreFailure) return errors.storage(`${where}: ${error.message}`);
  if (error instanceof S2Error) return error;
  return errors.storage(`${where}: ${(error as Error).message ?? String(error)}`);
}
