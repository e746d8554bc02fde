/**
 * Options of the chunk log, with defaults and the reason for each.
 */
import { systemClock, type Clock } from '../util/clock.js';
import { systemRand, type Rand } from '../util/rand.js';
import { assert } from '../util/assert.js';
import type { Logger } from './state.js';
import type { WalTuning } from './wal-open.js';

/**
 * Where commits become durable (sink.ts): chunk objects in the store (S3, and any store opened
 * directly), the write-ahead log in `dir` (local disk: `<root>/wal`), or nowhere but memory
 * (memory mode, whose store dies with the process). `release` runs once the log has closed
 * (local disk: the root lock).
 */
export type Journal =
  | { kind: 'objects' }
  | { kind: 'memory' }
  | { kind: 'wal'; dir: string; tuning?: WalTuning; release?: () => Promise<void> };

const KiB = 1024;
const MiB = 1024 * KiB;

export interface ChunkLogOptions {
  clock?: Clock;
  rand?: Rand;
  /** Structured events (recovery decisions, retries, fencing, checkpoints, GC). */
  logger?: Logger;
  /** Where commits become durable (default: chunk objects in the store). */
  journal?: Journal;
  /**
   * The flush budget: one flush per this many ms under sustained load, after a burst of
   * `flushBurst` (flush-budget.ts). 0 (memory, local disk): seal as soon as a chunk slot is free,
   * so latency is about one write. S3 mode uses 50 to bound PUT cost.
   */
  flushIntervalMs?: number;
  /** Flushes allowed at once after an idle spell (small: it adds to the sustained PUT rate once). */
  flushBurst?: number;
  /** Chunk objects being written at once; more gives throughput on high-latency stores. */
  chunksInFlightMax?: number;
  /** A chunk is sealed early once this many bytes of commits are waiting. */
  chunkBytesMax?: number;
  /** Checkpoint once the memory tails hold this many bytes (this bounds memory)... */
  checkpointBytes?: number;
  /** ...or this many chunks were applied since the last checkpoint (this bounds recovery time)... */
  checkpointChunks?: number;
  /** ...or this long passed with anything to fold. */
  checkpointIntervalMs?: number;
  /**
   * Hard bound on the memory tails: at this many bytes no new chunk is sealed (commits wait)
   * until a checkpoint folds the tails into segments. Appends can outrun checkpoints (they share
   * one thread, and a checkpoint rewrites everything since the last one), so without this bound
   * memory would grow without limit under sustained load. Default 2 x checkpointBytes. Chunks
   * already in flight still land, so the tail may pass it by chunksInFlightMax chunks.
   */
  memoryTailBytesMax?: number;
  /** Retention and trim GC runs at least this often (and after trims and deletions). */
  gcIntervalMs?: number;
  /** How often an idle writer checks whether a newer writer took over. */
  manifestPollIntervalMs?: number;
  /** Decoded segment blocks and footers kept in memory. */
  blockCacheBytes?: number;
  /** Target uncompressed size of a segment block (the unit of a ranged read). */
  blockBytes?: number;
  /** A checkpoint splits a stream's records into segments of at most about this size. */
  segmentBytesMax?: number;
  /**
   * A stream's last segment smaller than this (stored, and raw before compression) is rewritten
   * together with the next checkpoint's records, which bounds the segment count of slow streams
   * (0 disables). Each checkpoint then rewrites up to this much per stream it touches.
   */
  segmentMergeBytesMax?: number;
  /** Bodies smaller than this are never compressed. */
  compressMinBytes?: number;
  /** Larger metadata snapshots are written as their own object, referenced by the manifest. */
  manifestInlineBytesMax?: number;
  /** Older manifests beyond this many are deleted. */
  manifestsKept?: number;
  /** A store operation is retried for this long before the log gives up (and fails, for chunk puts). */
  storeRetryTimeoutMs?: number;
  /** Delete segments left by checkpoints that died before their manifest, once after open. */
  sweepOrphansOnOpen?: boolean;
}

export type ResolvedOptions = Required<ChunkLogOptions>;

export function resolveOptions(options: ChunkLogOptions): ResolvedOptions {
  const checkpointBytes = options.checkpointBytes ?? 32 * MiB;
  const resolved: ResolvedOptions = {
    clock: options.clock ?? systemClock,
    rand: options.rand ?? systemRand,
    logger: options.logger ?? (() => {}),
    journal: options.journal ?? { kind: 'objects' },
    flushIntervalMs: options.flushIntervalMs ?? 0,
    flushBurst: options.flushBurst ?? 4,
    chunksInFlightMax: options.chunksInFlightMax ?? 4,
    chunkBytesMax: options.chunkBytesMax ?? 8 * MiB,
    checkpointBytes,
    checkpointChunks: options.checkpointChunks ?? 2000,
    checkpointIntervalMs: options.checkpointIntervalMs ?? 60_000,
    memoryTailBytesMax: options.memoryTailBytesMax ?? 2 * checkpointBytes,
    gcIntervalMs: options.gcIntervalMs ?? 60_000,
    manifestPollIntervalMs: options.manifestPollIntervalMs ?? 1_000,
    blockCacheBytes: options.blockCacheBytes ?? 64 * MiB,
    blockBytes: options.blockBytes ?? 64 * KiB,
    segmentBytesMax: options.segmentBytesMax ?? 16 * MiB,
    segmentMergeBytesMax: options.segmentMergeBytesMax ?? MiB,
    compressMinBytes: options.compressMinBytes ?? KiB,
    manifestInlineBytesMax: options.manifestInlineBytesMax ?? 256 * KiB,
    manifestsKept: options.manifestsKept ?? 3,
    storeRetryTimeoutMs: options.storeRetryTimeoutMs ?? 30_000,
    sweepOrphansOnOpen: options.sweepOrphansOnOpen ?? true,
  };
  assert(resolved.flushIntervalMs >= 0, 'flushIntervalMs >= 0');
  assert(resolved.flushBurst >= 1, 'flushBurst >= 1');
  assert(resolved.chunksInFlightMax >= 1 && resolved.chunksInFlightMax <= 64, 'chunksInFlightMax in [1, 64]');
  assert(resolved.chunkBytesMax >= KiB, 'chunkBytesMax >= 1 KiB');
  assert(resolved.checkpointBytes > 0 && resolved.checkpointChunks > 0, 'checkpoint thresholds > 0');
  assert(resolved.memoryTailBytesMax >= resolved.checkpointBytes, 'memoryTailBytesMax >= checkpointBytes');
  assert(resolved.blockBytes >= 1 && resolved.segmentBytesMax >= resolved.blockBytes, 'segment sizes');
  assert(resolved.manifestsKept >= 1, 'keep at least the current manifest');
  return resolved;
}
