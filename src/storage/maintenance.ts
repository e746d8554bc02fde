/**
 * The log's background work: checkpoints into segments + manifest (checkpoint.ts), garbage
 * collection (gc.ts), and a poll that notices a newer writer while idle. Tasks run one at a time
 * on a queue, so a checkpoint and GC never interleave.
 *
 * Bounds: a checkpoint starts once the memory tails reach `checkpointBytes` or `checkpointChunks`
 * chunks were applied since the last one (this bounds recovery: a reopen replays only chunks after
 * the last manifest); a chunk applied while one runs queues the next (the flag is reset when a
 * checkpoint starts), so nothing is left unfolded once commits stop. The writer seals nothing
 * while the tails hold `memoryTailBytesMax`, until a checkpoint folds them; a failed checkpoint is
 * then retried after `checkpointRetryMs`, unless the store is out of space: then the commits
 * waiting could wait forever, so the log stops (resumably: nothing they carry was written).
 */
import type { Timer } from '../util/clock.js';
import { runCheckpoint, type CheckpointResult, type CurrentManifest } from './checkpoint.js';
import type { SegmentScratch } from './codec-segment.js';
import { causedByNoSpace, FencedError, StoreFailure, type StorageError } from './errors.js';
import { collectLogObjects, collectSegments, sweepOrphanSegments, type GcContext } from './gc.js';
import { loadManifestHeader, type ManifestIo } from './manifest-io.js';
import { manifestKey } from './names.js';
import type { ResolvedOptions } from './options.js';
import type { SegmentCache } from './segment-cache.js';
import type { LogState } from './state.js';

/** While commits wait for a checkpoint to free memory, a failed one is retried this often. */
const checkpointRetryMs = 1_000;

export interface MaintenanceHooks {
  /** A checkpoint freed memory: the writer may seal again. */
  resumeWrites(): void;
  /** The log must stop: a newer writer holds it, or it cannot go on. */
  stop(error: StorageError): void;
  /** A checkpoint's manifest folded every chunk up to `chunkId` (the write-ahead log releases them). */
  folded(chunkId: number): Promise<void>;
}

export class Maintenance {
  private readonly gcContext: GcContext;
  /** Reused by checkpoints for segment encoding (see SegmentScratch). */
  private readonly segmentScratch: SegmentScratch = {};
  private readonly timers = new Map<string, Timer>();
  private tasks: Promise<void> = Promise.resolve();
  private checkpointQueued = false;
  private gcQueued = false;
  private chunksSinceCheckpoint = 0;
  private stopped: StorageError | null = null;
  /** The memory tails are full: the writer seals nothing until a checkpoint folds them. */
  private full = false;

  constructor(
    private readonly io: ManifestIo,
    private readonly options: ResolvedOptions,
    private readonly state: LogState,
    private readonly epoch: number,
    private readonly current: CurrentManifest,
    private readonly segments: SegmentCache,
    private readonly hooks: MaintenanceHooks,
  ) {
    const log = options.logger;
    this.gcContext = { io, clock: options.clock, state, epoch, manifestsKept: options.manifestsKept, log, segments };
    this.every('checkpoint', options.checkpointIntervalMs, () => this.requestCheckpoint());
    this.every('gc', options.gcIntervalMs, () => this.requestGc());
    this.every('poll', options.manifestPollIntervalMs, () => void this.poll());
    // Leftovers of the previous writer: folded chunks, old manifests, orphan segments, dead segments.
    if (options.sweepOrphansOnOpen) this.enqueue('orphan-sweep', () => sweepOrphanSegments(this.gcContext));
    this.enqueue('gc-log-objects', () => collectLogObjects(this.gcContext, this.current));
    this.requestGc();
  }

  /** Whether the writer sealed nothing because the memory tails are full. */
  get writesPaused(): boolean {
    return this.full;
  }

  /** False while the memory tails hold `memoryTailBytesMax`: the writer must not seal. */
  memoryAvailable(): boolean {
    const full = this.state.tailBytes >= this.options.memoryTailBytesMax;
    if (full !== this.full) {
      this.full = full;
      this.options.logger(full ? 'writes-paused' : 'writes-resumed', { memoryTailBytes: this.state.tailBytes });
      if (full) this.requestCheckpoint(); // normally running already
    }
    return !full;
  }

  /** A durable chunk was applied: checkpoint or collect garbage if it is time. */
  chunkApplied(): void {
    this.chunksSinceCheckpoint++;
    const { state, options } = this;
    if (state.tailBytes >= options.checkpointBytes || this.chunksSinceCheckpoint >= options.checkpointChunks) {
      this.requestCheckpoint();
    }
    if (state.trimmedStreams.size > 0 || state.purgedStreams.size > 0 || state.unreachableSegments.length > 0) {
      this.requestGc();
    }
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

  /**
   * The log stopped: arm nothing more. Once closed, no task starts (queued ones fail with
   * `error`); a fenced or failed log still runs what was asked, but checkpoints nothing.
   */
  stop(error: StorageError): void {
    this.stopped = error;
    for (const timer of this.timers.values()) timer.cancel();
    this.timers.clear();
  }

  /** Resolves once the task running now (if any) and those queued have finished. */
  idle(): Promise<void> {
    return this.tasks;
  }

  private async doCheckpoint(): Promise<CheckpointResult> {
    if (this.stopped) return { kind: 'nothing' };
    const applied = this.state.appliedChunkId;
    const result = await runCheckpoint(
      {
        io: this.io,
        clock: this.options.clock,
        state: this.state,
        epoch: this.epoch,
        segment: this.options,
        segments: this.segments,
        log: this.options.logger,
        scratch: this.segmentScratch,
      },
      this.current,
    );
    if (result.kind === 'fenced') {
      this.hooks.stop(new FencedError(`fenced by a newer writer: ${result.reason}`));
    } else if (result.kind === 'done') {
      this.chunksSinceCheckpoint = this.state.appliedChunkId - applied;
      this.hooks.resumeWrites();
      await this.hooks.folded(result.foldedChunkId);
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
    }).catch((error: unknown) => this.checkpointFailed(error));
  }

  private checkpointFailed(error: unknown): void {
    if (this.full && !this.stopped && causedByNoSpace(error)) {
      const reason = `storage failure: no space for a checkpoint while appends wait for one: ${(error as Error).message}`;
      this.hooks.stop(new StoreFailure(reason, { cause: error, resumable: true }));
      return;
    }
    this.retryCheckpointWhileFull();
  }

  /** Commits are waiting for memory that only a checkpoint frees: do not wait for the next trigger. */
  private retryCheckpointWhileFull(): void {
    if (!this.full || this.stopped || this.timers.has('checkpoint-retry')) return;
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
      if (this.stopped?.kind === 'closed') throw this.stopped;
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
      if (this.stopped) return;
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
    if (this.stopped || this.current.pendingPutId !== null) return;
    const next = this.current.header.manifestId + 1;
    try {
      const info = await this.io.store.head(manifestKey(next));
      if (!info || this.stopped) return;
      const { header } = await loadManifestHeader(this.io, next);
      if (header.epoch > this.epoch) {
        this.hooks.stop(new FencedError(`fenced by a newer writer: manifest ${next} has writer epoch ${header.epoch}`));
      }
    } catch (error) {
      this.options.logger('poll-failed', { error: (error as Error).message });
    }
  }
}
