/**
 * The write-ahead log of local-disk mode (docs/formats.md, "Write-ahead log (local disk)") and the
 * root lock that makes one server the only writer of a root.
 *
 * Recovery, then writing:
 *
 *   const recovery = await WalRecovery.open(dir, foldedChunkId);
 *   for await (const frame of recovery.frames()) apply(frame);
 *   const wal = await Wal.start(recovery, { epoch });     // opening frame = wal.openingChunkId
 *   await wal.append(wal.nextChunkId, body);              // resolves once durable, in order
 *   await wal.releaseThrough(foldedChunkId);              // after a checkpoint
 */
export { WalCorruptError, WalError, WalIoError, RootLockedError, type WalErrorCode } from './errors.js';
export type { WalIo, WalIoCallbacks, WalIoFactory, WalIoFailure, WalWrite } from './io.js';
export { threadIo } from './io-thread.js';
export { WalRecovery, type LogFileInfo, type RecoveredFrame } from './reader.js';
export { RootLock, type LockOwner } from './root-lock.js';
export type { BodyAlignment, FramePart } from './parts.js';
export { Wal, type SyncRound, type WalLogger, type WalOptions } from './wal.js';
