/**
 * The chunk sink of local-disk mode: each sealed chunk becomes one frame of the write-ahead log
 * (wal/wal.ts), whose body is a chunk body as in a chunk object (`u32 commit count`, then the
 * commits; docs/formats.md "Write-ahead log"). The log writes the frame into its ring (commits of
 * appends encode themselves there: `CommitWriter`, no copy in between) before `append` returns, or
 * once the ring has room, and resolves appends strictly in chunk-id order once an fdatasync covers them;
 * frames written while a sync runs share the next one (group commit). So the writer may hand over
 * a chunk per event-loop turn without waiting for the previous one.
 *
 * Errors of the log become storage errors of the stream log, which stops: `io` (a failed write or
 * fdatasync: nothing after the last completed sync may be acknowledged) and `no-file` (no log file
 * could be prepared, e.g. the disk is full). The second is marked `resumable`: nothing it rejected
 * was written, so reopening the root once there is room loses nothing (S2Lite does, lite.ts).
 */
import { FencedError, LogClosedError, StoreFailure, type StorageError } from './errors.js';
import type { ChunkSink, SinkChunk, SinkOutcome } from './sink.js';
import { WalError, type Wal } from './wal/index.js';

/** Frames handed to the log and not yet durable: the log's ring bounds the bytes. */
const framesInFlightMax = 64;
/**
 * Commits that start a frame at once while the log is idle (see `ChunkSink.eagerSealCommits`). An
 * S2S session's window of 64 one-record inputs arrived in one read and was sealed as one frame after
 * all 64 were sequenced: the fdatasync then waited for the whole turn, and the turn for nothing.
 * Sealing the first 16 at once lets their fdatasync run while the other 48 are sequenced.
 */
const eagerSealCommits = 16;

export class WalSink implements ChunkSink {
  readonly needsBytes = true;
  readonly writesInPlace = true;
  readonly chunksInFlightMax = framesInFlightMax;
  readonly eagerSealCommits = eagerSealCommits;
  private closing: Promise<void> | null = null;

  constructor(readonly wal: Wal) {}

  async write(chunk: SinkChunk): Promise<SinkOutcome> {
    const count = new Uint8Array(4);
    new DataView(count.buffer).setUint32(0, chunk.encoded.length, true);
    try {
      await this.wal.append(chunk.id, [count, ...chunk.encoded]);
    } catch (error) {
      throw walStorageError(error);
    }
    return { kind: 'durable', bytes: 4 + chunk.bytes };
  }

  close(): Promise<void> {
    this.closing ??= this.wal.close();
    return this.closing;
  }
}

/** The stream log's error for a failure of the write-ahead log. */
export function walStorageError(error: unknown): StorageError {
  if (!(error instanceof WalError)) {
    return new StoreFailure(`write-ahead log failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  }
  switch (error.code) {
    case 'closed':
      return new LogClosedError(error.message, { cause: error });
    case 'fenced':
      return new FencedError(`fenced by a newer writer: ${error.message}`, { cause: error });
    case 'no-file':
      return new StoreFailure(error.message, { cause: error, resumable: true });
    default:
      return new StoreFailure(error.message, { cause: error });
  }
}
