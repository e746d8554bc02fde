/**
 * The durable state of the log, in memory: metadata of every basin and stream, each stream's
 * segment list, and the records not yet checkpointed into segments (the "memory tail").
 *
 * Only durable commits are ever applied here (at recovery, or when their chunk and every
 * earlier chunk are durable), so everything a read finds here may be returned.
 */
import type { AccessTokenMeta } from '../domain/access-tokens.js';
import type { BasinMeta } from '../domain/types.js';
import { meteredBytes } from '../domain/types.js';
import { assert } from '../util/assert.js';
import type { SegmentRef, Snapshot } from './codec-manifest.js';
import type { StoredRecord } from './codec-segment.js';
import {
  durableStream,
  type Append,
  type DurableStream,
  type Mutation,
  type RecoveredState,
  type StreamId,
} from './types.js';

/** Per-record bookkeeping overhead counted against the memory tail, beyond its metered size. */
const tailRecordOverheadBytes = 64;

export interface TailEntry extends StoredRecord {
  /** The chunk that made this record durable; checkpoints fold whole chunks. */
  chunkId: number;
  /** Metered size (api.md 6.4), computed once as the record entered memory; reads reuse it. */
  bytes: number;
}

/** A stream as the log holds it: its durable state, checkpointed records and memory tail. */
export interface StreamState extends DurableStream {
  /** Checkpointed records: ascending, non-overlapping, all below `records[0]`. */
  segments: SegmentRef[];
  /** Records not yet in segments, ascending by seq_num. */
  records: TailEntry[];
  /** Memory the records take (their metered size plus bookkeeping), counted in `tailBytes`. */
  recordBytes: number;
}

export type Logger = (event: string, fields: Record<string, unknown>) => void;

export class LogState {
  readonly basins = new Map<string, BasinMeta>();
  readonly streams = new Map<StreamId, StreamState>();
  readonly accessTokens = new Map<string, AccessTokenMeta>();
  rootTokenHash: string | null;
  /** Last chunk applied (the end of the writer chain) and its epoch. */
  appliedChunkId: number;
  appliedChunkEpoch: number;
  /** Bytes held in memory tails across streams. */
  tailBytes = 0;
  /** Segments of purged streams, to be deleted by GC. */
  readonly unreachableSegments: string[] = [];
  /** Streams purged since the last GC: GC also sweeps their segment prefix for orphans. */
  readonly purgedStreams = new Set<StreamId>();
  /** Streams whose trim point rose since the last GC. */
  readonly trimmedStreams = new Set<StreamId>();

  constructor(
    snapshot: Snapshot,
    appliedChunkId: number,
    appliedChunkEpoch: number,
    private readonly log: Logger,
  ) {
    this.appliedChunkId = appliedChunkId;
    this.appliedChunkEpoch = appliedChunkEpoch;
    for (const [name, meta] of snapshot.basins) this.basins.set(name, meta);
    for (const [id, meta] of snapshot.accessTokens) this.accessTokens.set(id, meta);
    this.rootTokenHash = snapshot.rootTokenHash;
    for (const s of snapshot.streams) {
      this.streams.set(s.id, { ...s, segments: [...s.segments], records: [], recordBytes: 0 });
      // A stream trimmed before the snapshot may still have segments GC has not removed.
      if (s.segments.length > 0 && s.segments[0].firstSeqNum < s.trimPoint) this.trimmedStreams.add(s.id);
    }
  }

  /** Applies a durable chunk; chunks must arrive in chain order. */
  applyChunk(chunkId: number, epoch: number, commits: Mutation[][]): void {
    assert(chunkId > this.appliedChunkId, `chunk ${chunkId} applied after ${this.appliedChunkId}`);
    assert(epoch >= this.appliedChunkEpoch, `chunk ${chunkId} epoch ${epoch} below ${this.appliedChunkEpoch}`);
    for (const commit of commits) for (const mutation of commit) this.apply(chunkId, mutation);
    this.appliedChunkId = chunkId;
    this.appliedChunkEpoch = epoch;
  }

  private apply(chunkId: number, mutation: Mutation): void {
    switch (mutation.kind) {
      case 'basin.put':
        this.basins.set(mutation.basin, mutation.meta);
        return;
      case 'basin.delete':
        this.basins.delete(mutation.basin);
        return;
      case 'stream.put': {
        const existing = this.streams.get(mutation.stream);
        if (existing) {
          existing.meta = mutation.meta;
          return;
        }
        this.streams.set(mutation.stream, {
          id: mutation.stream,
          basin: mutation.basin,
          name: mutation.name,
          meta: mutation.meta,
          tail: { seqNum: 0, timestamp: 0n },
          fencingToken: '',
          trimPoint: 0,
          lastWriteMs: mutation.meta.createdAtMs,
          segments: [],
          records: [],
          recordBytes: 0,
        });
        return;
      }
      case 'stream.delete':
        this.purge(mutation.stream);
        return;
      case 'append':
        this.applyAppend(chunkId, mutation);
        return;
      case 'access-token.put':
        this.accessTokens.set(mutation.id, mutation.meta);
        return;
      case 'access-token.delete':
        this.accessTokens.delete(mutation.id);
        return;
      case 'root-token.put':
        this.rootTokenHash = mutation.hash;
        return;
    }
  }

  private purge(id: StreamId): void {
    const stream = this.streams.get(id);
    if (!stream) return;
    for (const segment of stream.segments) this.unreachableSegments.push(segment.key);
    this.tailBytes -= stream.recordBytes;
    this.streams.delete(id);
    this.purgedStreams.add(id);
    this.trimmedStreams.delete(id);
  }

  private applyAppend(chunkId: number, append: Append): void {
    const stream = this.streams.get(append.stream);
    if (!stream) {
      // The engine only appends to streams it created; a durable append to an unknown stream is
      // a bug upstream. Keep going (the commit is durable either way) but make it visible.
      this.log('append-to-unknown-stream', { stream: append.stream, chunkId });
      return;
    }
    // The seam promises appends start at the previous tail; this also catches a chunk applied twice.
    assert(
      append.records[0].seqNum === stream.tail.seqNum,
      `append to ${append.stream} starts at ${append.records[0].seqNum}, tail is ${stream.tail.seqNum}`,
    );
    let held = 0;
    for (const record of append.records) {
      const bytes = meteredBytes(record);
      stream.records.push({ record, expiresAtMs: append.expiresAtMs, chunkId, bytes });
      held += bytes + tailRecordOverheadBytes;
    }
    stream.recordBytes += held;
    this.tailBytes += held;
    stream.tail = append.tail;
    stream.lastWriteMs = append.writtenAtMs;
    if (append.fencingToken !== undefined) stream.fencingToken = append.fencingToken;
    if (append.trimPoint !== undefined && append.trimPoint > stream.trimPoint) {
      stream.trimPoint = append.trimPoint;
      this.dropTailBelow(stream, stream.trimPoint);
      this.trimmedStreams.add(stream.id);
    }
  }

  /** Removes memory-tail records below `seqNum` (trimmed). */
  private dropTailBelow(stream: StreamState, seqNum: number): void {
    let count = 0;
    while (count < stream.records.length && stream.records[count].record.seqNum < seqNum) count++;
    this.removeTailPrefix(stream, count);
  }

  /**
   * After a checkpoint made the memory-tail records of chunks <= `chunkId` durable in `added`
   * segments (and a manifest references them), swaps the records for the segments. `replaced`
   * is the stream's former last segment, whose records the new segments also hold.
   */
  foldIntoSegments(id: StreamId, chunkId: number, added: SegmentRef[], replaced: string | null): void {
    const stream = this.streams.get(id);
    if (!stream) {
      // Purged while the checkpoint ran: its new segments are garbage right away.
      for (const segment of added) this.unreachableSegments.push(segment.key);
      return;
    }
    if (replaced !== null) {
      assert(stream.segments.at(-1)?.key === replaced, `replaced segment of ${id} is its last`);
      stream.segments.pop();
      this.unreachableSegments.push(replaced);
    }
    let count = 0;
    while (count < stream.records.length && stream.records[count].chunkId <= chunkId) count++;
    for (const segment of added) {
      const last = stream.segments.at(-1);
      assert(!last || segment.firstSeqNum > last.lastSeqNum, `segments of ${id} overlap`);
      stream.segments.push(segment);
    }
    this.removeTailPrefix(stream, count);
    const first = stream.records[0];
    assert(!first || !stream.segments.length || first.record.seqNum > stream.segments.at(-1)!.lastSeqNum, 'tail order');
  }

  private removeTailPrefix(stream: StreamState, count: number): void {
    if (count === 0) return;
    let bytes = 0;
    for (let i = 0; i < count; i++) bytes += stream.records[i].bytes + tailRecordOverheadBytes;
    stream.records.splice(0, count);
    stream.recordBytes -= bytes;
    this.tailBytes -= bytes;
  }

  /** Metadata and segment lists as they are now (for a manifest). */
  snapshot(): Snapshot {
    return {
      basins: new Map(this.basins),
      streams: [...this.streams.values()].map((s) => ({ ...durableStream(s), segments: [...s.segments] })),
      accessTokens: new Map(this.accessTokens),
      rootTokenHash: this.rootTokenHash,
    };
  }

  /** What the engine rebuilds its view from at startup (positions are replaced, never mutated). */
  recovered(): RecoveredState {
    return {
      basins: new Map(this.basins),
      streams: [...this.streams.values()].map(durableStream),
      accessTokens: new Map(this.accessTokens),
      rootTokenHash: this.rootTokenHash,
    };
  }
}
