/**
 * The stream log: `StreamLog` over an `ObjectStore` (docs/formats.md describes every object).
 *
 *   open -> epoch bump, replay, fence (recovery.ts; with the write-ahead log, wal-open.ts)
 *   commits -> group-committed chunks (writer.ts) made durable by the sink (sink.ts: chunk
 *     objects, the write-ahead log, or nothing in memory mode) -> applied to the in-memory state
 *     -> "durable through N" to the subscriber and to waiting promises (durable-waiters.ts)
 *   reads -> memory tail and segments (reader.ts)
 *   background: checkpoints, GC and the fencing poll (maintenance.ts)
 *
 * This file is the facade that wires them, and the one place the log stops: fenced, failed or
 * closed, it stops the writer and the background work, rejects what waits, and tells the
 * subscriber once.
 */
import { metrics } from '../metrics.js';
import type { ObjectStore } from '../objectstore/types.js';
import { assert } from '../util/assert.js';
import type { CheckpointResult, CurrentManifest } from './checkpoint.js';
import { DurableWaiters } from './durable-waiters.js';
import { logClosed, StorageError, storageError, StoreFailure } from './errors.js';
import { Maintenance } from './maintenance.js';
import type { ManifestIo } from './manifest-io.js';
import { resolveOptions, type ChunkLogOptions, type ResolvedOptions } from './options.js';
import { readRecords, seqNumForTimestamp, type ReadContext } from './reader.js';
import { openLog, type Opened } from './recovery.js';
import { SegmentCache } from './segment-cache.js';
import type { LogState } from './state.js';
import type { RetryPolicy } from './store-ops.js';
import type {
  DurabilitySubscriber,
  LogStatus,
  Mutation,
  ReadRequest,
  ReadResult,
  RecoveredState,
  StreamId,
  StreamLog,
} from './types.js';
import { MemorySink, ObjectSink, type ChunkSink } from './sink.js';
import { openWalLog } from './wal-open.js';
import { WalSink } from './wal-sink.js';
import type { Wal } from './wal/index.js';
import { ChunkWriter } from './writer.js';

export type { ChunkLogOptions } from './options.js';

export class ChunkLog implements StreamLog {
  private readonly writer: ChunkWriter;
  private readonly sink: ChunkSink;
  private readonly readContext: ReadContext;
  private readonly maintenance: Maintenance;
  private readonly waiters = new DurableWaiters();
  private readonly recoveredState: RecoveredState;
  private subscriber: DurabilitySubscriber | null = null;
  private stopped: StorageError | null = null;
  private readonly stopListeners: ((error: StorageError) => void)[] = [];
  /** `close`'s final flush ignores the memory bound. */
  private finalFlush = false;
  private closed: Promise<void> | null = null;

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
    const journal = resolved.journal;
    try {
      let opened: Opened;
      let sink: ChunkSink;
      if (journal.kind === 'wal') {
        const walOpened = await openWalLog(io, journal.dir, journal.tuning ?? {}, resolved.logger);
        opened = walOpened;
        sink = new WalSink(walOpened.wal);
      } else {
        opened = await openLog(io, resolved.logger);
        sink =
          journal.kind === 'memory'
            ? new MemorySink()
            : new ObjectSink(store, policy, io.rand, opened.epoch, resolved.chunksInFlightMax, resolved.compressMinBytes);
      }
      const current: CurrentManifest = { header: opened.manifest, snapshotRef: opened.snapshotRef, pendingPutId: null };
      reportWriterEpoch(opened.epoch);
      const wal = sink instanceof WalSink ? sink.wal : null;
      return new ChunkLog(io, resolved, opened.state, opened.epoch, opened.fenceChunkId, current, sink, wal);
    } catch (error) {
      throw openError(store, error);
    }
  }

  private constructor(
    io: ManifestIo,
    private readonly options: ResolvedOptions,
    private readonly state: LogState,
    readonly epoch: number,
    fenceChunkId: number,
    private readonly current: CurrentManifest,
    sink: ChunkSink,
    wal: Wal | null,
  ) {
    this.recoveredState = state.recovered();
    this.sink = sink;
    const log = options.logger;
    const segments = new SegmentCache(io.store, io.policy, options.blockCacheBytes);
    this.readContext = { state, segments, log };
    this.maintenance = new Maintenance(io, options, state, epoch, current, segments, {
      resumeWrites: () => this.writer.resume(),
      stop: (error) => this.stop(error),
      // Log files whose chunks the new manifest folded are recycled (the manifest is durable).
      folded: wal ? (chunkId) => wal.releaseThrough(chunkId) : async () => {},
    });
    this.writer = new ChunkWriter(
      sink,
      options.clock,
      epoch,
      fenceChunkId,
      options,
      {
        onDurable: (chunkId, chunkEpoch, commits, lastOrdinal) =>
          this.onDurable(chunkId, chunkEpoch, commits, lastOrdinal),
        onStop: (error) => this.stop(error),
        maySeal: () => this.finalFlush || this.maintenance.memoryAvailable(),
      },
      log,
    );
  }

  recovered(): RecoveredState {
    return this.recoveredState;
  }

  subscribe(subscriber: DurabilitySubscriber): void {
    assert(this.subscriber === null, 'the log has one durability subscriber');
    this.subscriber = subscriber;
  }

  submit(mutations: Mutation[]): number {
    return this.writer.submit(mutations);
  }

  commit(mutations: Mutation[]): Promise<void> {
    if (mutations.length === 0) return this.barrier();
    let ordinal: number;
    try {
      ordinal = this.writer.submit(mutations);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return this.waiters.wait(ordinal);
  }

  barrier(): Promise<void> {
    return this.waiters.wait(this.writer.lastOrdinal);
  }

  read(request: ReadRequest): Promise<ReadResult> {
    return readRecords(this.readContext, request);
  }

  seqNumForTimestamp(stream: StreamId, timestamp: bigint, endSeqNum: number, nowMs: number): Promise<number | null> {
    return seqNumForTimestamp(this.readContext, stream, timestamp, endSeqNum, nowMs);
  }

  status(): LogStatus {
    return this.stopped ? { ok: false, error: this.stopped } : { ok: true };
  }

  /** Resolves with the error the log stops with (fenced, failed, closed), once it stops. */
  whenStopped(): Promise<StorageError> {
    if (this.stopped) return Promise.resolve(this.stopped);
    return new Promise((resolve) => this.stopListeners.push(resolve));
  }

  /**
   * Flushes pending commits, stops background work, closes the sink (the write-ahead log's
   * files and thread) and runs the journal's `release` (local disk: the root lock). Also after
   * the log stopped on its own, to hand the root to the next opener.
   */
  close(): Promise<void> {
    this.finalFlush = true;
    this.closed ??= (async () => {
      this.writer.flushNow();
      await this.barrier().catch(() => {});
      this.stop(logClosed());
      await this.maintenance.idle();
      await this.sink.close().catch((error: unknown) =>
        this.options.logger('sink-close-failed', { error: (error as Error).message }),
      );
      const journal = this.options.journal;
      if (journal.kind === 'wal') await journal.release?.();
    })();
    return this.closed;
  }

  /** Folds everything applied so far into segments and a new manifest (normally automatic). */
  checkpoint(): Promise<CheckpointResult> {
    return this.maintenance.checkpoint();
  }

  /** Runs segment GC (trim, retention, purged streams) and log-object GC now. */
  collectGarbage(): Promise<void> {
    return this.maintenance.collectGarbage();
  }

  /** Numbers for tests and metrics. */
  stats() {
    return {
      epoch: this.epoch,
      manifestId: this.current.header.manifestId,
      foldedChunkId: this.current.header.lastAppliedChunkId,
      appliedChunkId: this.state.appliedChunkId,
      memoryTailBytes: this.state.tailBytes,
      writesPaused: this.maintenance.writesPaused,
    };
  }

  /** Reads see the chunk's records before anyone hears they are durable. */
  private onDurable(chunkId: number, chunkEpoch: number, commits: Mutation[][], lastOrdinal: number): void {
    this.state.applyChunk(chunkId, chunkEpoch, commits);
    this.maintenance.chunkApplied();
    this.waiters.through(lastOrdinal);
    this.subscriber?.durableThrough(lastOrdinal);
  }

  /** Stops the log for good with `error` (fenced, failed, closed); the first stop wins. */
  private stop(error: StorageError): void {
    if (this.stopped) return;
    this.stopped = error;
    if (error.kind !== 'closed') this.options.logger('halted', { reason: error.message });
    this.writer.stop(error);
    this.maintenance.stop(error);
    this.waiters.stop(error);
    this.subscriber?.failed(error);
    for (const listener of this.stopListeners.splice(0)) listener(error);
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

/** The same kind of error, saying what could not be opened (anything untyped is a failure). */
function openError(store: ObjectStore, error: unknown): StorageError {
  const where = `cannot open the stream log on ${store.describe()}`;
  if (!(error instanceof StorageError)) {
    return new StoreFailure(`${where}: ${(error as Error).message ?? String(error)}`, { cause: error });
  }
  const detail = error.kind === 'corrupt' ? `corrupt data: ${error.message}` : error.message;
  return storageError(error.kind, `${where}: ${detail}`, { cause: error });
}
