/**
 * Opening the log in local-disk mode, where commits go to the write-ahead log (docs/formats.md,
 * "Write-ahead log (local disk)"). The root lock is already held (open.ts): no other server writes
 * this root.
 *
 * 1. Take the next writer epoch (the manifest bump of recovery.ts): still the second line of
 *    defence behind the lock, and what orders writers in the log.
 * 2. Replay chunk objects after the manifest's folded point, without writing a fence: a root that
 *    an earlier build wrote (chunk objects, release 0.1.0) continues in the log after them.
 * 3. Replay the log's frames after that point. A frame of a writer epoch below the last chunk
 *    object's is refused: an older build wrote chunk objects over a log it did not know.
 * 4. If the log was never used here (no intact frame), write an empty fence chunk object at the
 *    next id first, as recovery.ts does: an older build's writer still running on the root (it
 *    takes no lock) then fails at that id instead of acknowledging chunk objects nobody reads.
 * 5. Start the log: its opening frame (synced before anything is acknowledged) takes the next
 *    chunk id, and commits continue after it.
 */
import { decodeChunkBody } from './codec-chunk.js';
import { CorruptDataError, FencedError, StoreFailure, storageError, type StorageError } from './errors.js';
import type { ManifestIo } from './manifest-io.js';
import { bumpEpoch, newStats, replayChunks, type Opened } from './recovery.js';
import type { LogState, Logger } from './state.js';
import { Wal, WalError, WalRecovery, type WalOptions } from './wal/index.js';

export interface OpenedWal extends Opened {
  wal: Wal;
}

export type WalTuning = Omit<WalOptions, 'epoch' | 'logger'>;

export async function openWalLog(io: ManifestIo, dir: string, tuning: WalTuning, log: Logger): Promise<OpenedWal> {
  const { header, ref, state } = await bumpEpoch(io, log);
  const epoch = header.epoch;
  const stats = newStats();
  await replayChunks(io, state, epoch, stats, log, { fence: false });
  const objectsEnd = state.appliedChunkId;
  let recovery = await recoverFrames(dir, state, stats);
  if (recovery.lastEpoch === 0) {
    await replayChunks(io, state, epoch, stats, log, { fence: true });
    recovery = await recoverFrames(dir, state, stats);
  }
  log('replayed-write-ahead-log', { dir, lastChunkId: recovery.lastChunkId, applied: stats.applied });
  let wal: Wal;
  try {
    wal = await Wal.start(recovery, { ...tuning, epoch, logger: log });
  } catch (error) {
    throw walOpenError(error);
  }
  state.applyChunk(wal.openingChunkId, epoch, []);
  log('opened-write-ahead-log', {
    dir,
    chunkObjectsAfterManifest: objectsEnd - header.lastAppliedChunkId,
    openingChunkId: wal.openingChunkId,
    epoch,
    ...stats,
  });
  return { epoch, manifest: header, snapshotRef: ref, state, fenceChunkId: wal.openingChunkId, stats, wal };
}

/** Applies every frame after the state's last applied chunk. */
async function recoverFrames(dir: string, state: LogState, stats: Opened['stats']): Promise<WalRecovery> {
  try {
    const recovery = await WalRecovery.open(dir, state.appliedChunkId);
    for await (const frame of recovery.frames()) {
      if (frame.epoch < state.appliedChunkEpoch) {
        throw new CorruptDataError(
          `write-ahead log file ${frame.file} byte ${frame.offset}: chunk ${frame.chunkId} of writer epoch ${frame.epoch} follows chunk objects of epoch ${state.appliedChunkEpoch} (an older build wrote this root after this one)`,
        );
      }
      const what = `write-ahead log file ${frame.file} byte ${frame.offset} (chunk ${frame.chunkId})`;
      state.applyChunk(frame.chunkId, frame.epoch, frame.opening ? [] : decodeChunkBody(frame.body, what));
      if (!frame.opening) stats.applied++;
    }
    return recovery;
  } catch (error) {
    throw walOpenError(error);
  }
}

/** The stream log's error for a write-ahead log that cannot be opened (refuse to start). */
function walOpenError(error: unknown): unknown {
  if (!(error instanceof WalError)) return error;
  switch (error.code) {
    case 'corrupt':
    case 'unsupported':
      return new CorruptDataError(error.message, { cause: error });
    case 'fenced':
      return new FencedError(`fenced by a newer writer: ${error.message}`, { cause: error });
    case 'no-file':
      return new StoreFailure(error.message, { cause: error, resumable: true });
    default:
      return storageError('failed', error.message, { cause: error }) satisfies StorageError;
  }
}
