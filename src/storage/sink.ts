/**
 * Where the chunk writer (writer.ts) makes a sealed chunk durable: the seam between group commit
 * (ordering, sealing, chaining, applying) and the medium.
 *
 * - `ObjectSink`: a chunk object per chunk (`chunk/<id>`, create-if-absent with a put-id), the
 *   S3 path and the one the deterministic simulation drives over a faulty memory store. A chunk
 *   id taken by an older writer's leftover is "displaced" (the writer re-issues it); taken by a
 *   newer writer, we are fenced.
 * - `WalSink` (wal-sink.ts): a frame in the local-disk write-ahead log; never displaced, and the
 *   log groups frames into one fdatasync itself.
 * - `MemorySink`: memory mode, where nothing outlives the process: a sealed chunk is as durable as
 *   it will ever be, so it is neither encoded nor stored.
 */
import type { ObjectStore } from '../objectstore/types.js';
import type { Rand } from '../util/rand.js';
import { chunkHeaderBytes, decodeChunkHeader, encodeChunk } from './codec-chunk.js';
import type { CommitWriter } from './codec-mutation.js';
import { FencedError } from './errors.js';
import { CompressionProbe, isCompressedFrame } from './framing.js';
import { chunkKey, newPutId } from './names.js';
import { putIfAbsent, withRetry, type RetryPolicy } from './store-ops.js';

/** A sealed chunk as the writer hands it over. */
export interface SinkChunk {
  id: number;
  /** The chunk this one follows in the writer's chain. */
  prev: number;
  /**
   * Commits in order, encoded by `encodeCommit` or, for a sink that `writesInPlace`, possibly as
   * `CommitWriter`s it writes straight into its own buffer; empty for a sink that does not encode.
   */
  encoded: CommitBytes[];
  /** Sum of `encoded` lengths. */
  bytes: number;
}

/** A commit's encoding, or (sinks that write in place) what writes it where the sink wants it. */
export type CommitBytes = Uint8Array | CommitWriter;

export type SinkOutcome =
  /** Durable; `bytes` is what was stored (for the flush-size metric). */
  | { kind: 'durable'; bytes: number }
  /** The id is taken by an older writer's leftover: re-issue the chunk at a fresh id. */
  | { kind: 'displaced'; occupantEpoch: number };

export interface ChunkSink {
  /** Chunks written at once; the writer seals no more until one completes. */
  readonly chunksInFlightMax: number;
  /** Whether commits must be encoded (a sink that stores nothing does not need the bytes). */
  readonly needsBytes: boolean;
  /** Whether the sink takes commits as `CommitWriter`s (and so saves a copy of every record). */
  readonly writesInPlace: boolean;
  /**
   * Set by a sink whose chunks cost little apiece (the write-ahead log): once this many commits are
   * pending while nothing is in flight, the writer seals them at once, in the middle of the
   * event-loop turn, so the medium starts on them while the turn's later commits are still being
   * sequenced (writer.ts `submit`). Unset: chunks are sealed after the I/O phase only.
   */
  readonly eagerSealCommits?: number;
  /**
   * Makes the chunk durable. Rejects with a `StorageError` (fenced, failed, closed) that stops the
   * log; anything else rejecting is a storage failure too.
   */
  write(chunk: SinkChunk): Promise<SinkOutcome>;
  /** Stops writing (the log stopped or closes); resolves once nothing of it runs any more. */
  close(): Promise<void>;
}

export class ObjectSink implements ChunkSink {
  readonly needsBytes = true;
  readonly writesInPlace = false;
  /** Chunks skip zstd for a while after several did not compress (see CompressionProbe). */
  private readonly compression: CompressionProbe;

  constructor(
    private readonly store: ObjectStore,
    private readonly policy: RetryPolicy,
    private readonly rand: Rand,
    private readonly epoch: number,
    readonly chunksInFlightMax: number,
    compressMinBytes: number,
  ) {
    this.compression = new CompressionProbe(compressMinBytes, 64);
  }

  async write(chunk: SinkChunk): Promise<SinkOutcome> {
    const threshold = this.compression.threshold();
    const header = { epoch: this.epoch, chunkId: chunk.id, prevChunkId: chunk.prev };
    const body = encodeChunk(header, chunk.encoded.map(materialize), threshold);
    this.compression.record(threshold, body.length, isCompressedFrame(body));
    const outcome = await putIfAbsent(this.store, chunkKey(chunk.id), body, newPutId(this.epoch, this.rand), this.policy);
    if (outcome.kind === 'ok') return { kind: 'durable', bytes: body.length };
    const occupant = await this.occupantEpoch(chunk.id);
    if (occupant >= this.epoch) {
      const reason = `chunk ${chunk.id} was written by writer epoch ${occupant} (ours is ${this.epoch})`;
      throw new FencedError(`fenced by a newer writer: ${reason}`);
    }
    return { kind: 'displaced', occupantEpoch: occupant };
  }

  async close(): Promise<void> {}

  private async occupantEpoch(id: number): Promise<number> {
    const head = await withRetry(`get chunk ${id} header`, this.store, this.policy, () =>
      this.store.get(chunkKey(id), { start: 0, end: chunkHeaderBytes }),
    );
    return decodeChunkHeader(head, id).epoch;
  }
}

const durableNothing: Promise<SinkOutcome> = Promise.resolve({ kind: 'durable', bytes: 0 });

export class MemorySink implements ChunkSink {
  readonly needsBytes = false;
  readonly writesInPlace = false;
  /** Nothing waits on a medium: one chunk at a time keeps chunks large and their number small. */
  readonly chunksInFlightMax = 1;

  write(): Promise<SinkOutcome> {
    return durableNothing;
  }

  async close(): Promise<void> {}
}

/** The bytes of a commit (the writer hands `CommitWriter`s only to sinks that write in place). */
function materialize(commit: CommitBytes): Uint8Array {
  if (commit instanceof Uint8Array) return commit;
  const out = new Uint8Array(commit.length);
  commit.writeTo(out);
  return out;
}
