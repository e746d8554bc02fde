/**
 * Checkpoints: fold the chunks applied so far into per-stream segments and a new manifest, so
 * that memory holds only the records of recent chunks and recovery replays only those.
 *
 * 1. Capture, synchronously, the state after the last applied chunk X: metadata, segment lists
 *    and the memory-tail records (all of them come from chunks <= X at that instant).
 * 2. Write each stream's surviving records (not trimmed, not expired) as new segment objects.
 *    A stream's last segment, if small, is rewritten together with the new records and replaced,
 *    so that a slow stream does not accumulate one tiny segment per checkpoint.
 * 3. Create manifest id+1 (create-if-absent) with last applied chunk X and the captured state
 *    plus the new segments. If the id is taken, a newer writer has bumped the epoch: fenced.
 * 4. Only then swap the memory tails for the segments; chunks <= X become garbage.
 * A crash or failure before step 3 leaves segment objects no manifest references (orphans);
 * they are never read and GC deletes them.
 */
import type { StreamId } from './types.js';
import { metrics } from '../metrics.js';
import { assert } from '../util/assert.js';
import { yieldToIo, type Clock } from '../util/clock.js';
import { meteredBytes } from '../domain/types.js';
import type { ManifestHeader, SegmentRef, SnapshotRef } from './codec-manifest.js';
import {
  encodeSegmentSteps,
  type EncodedSegment,
  type SegmentOptions,
  type SegmentScratch,
  type StoredRecord,
} from './codec-segment.js';
import { loadManifestHeader, writeManifest, type ManifestIo, type WrittenManifest } from './manifest-io.js';
import { segmentKey } from './names.js';
import type { BlockView } from './block-view.js';
import { SegmentVanished, type SegmentCache } from './segment-cache.js';
import type { LogState, Logger, TailEntry } from './state.js';
import { withRetry } from './store-ops.js';

export interface CheckpointContext {
  io: ManifestIo;
  clock: Clock;
  state: LogState;
  epoch: number;
  segment: SegmentOptions & { segmentBytesMax: number; segmentMergeBytesMax: number; memoryTailBytesMax: number };
  segments: SegmentCache;
  log: Logger;
  /**
   * Reused between segment encodings (unless the store takes bodies over, see segmentTarget). Safe
   * because each segment's put settles (the store has copied, sent or written the bytes) before the
   * next segment is encoded, and checkpoints never overlap.
   */
  scratch: SegmentScratch;
}

interface Captured {
  records: TailEntry[];
  trimPoint: number;
  /** The stream's last segment, if small enough to be rewritten with the new records. */
  merge: SegmentRef | null;
}

/** The manifest this writer last created; checkpoints create the next one. */
export interface CurrentManifest {
  header: ManifestHeader;
  snapshotRef: SnapshotRef | null;
  /** Put-id of a manifest write in progress, so the fencing poll recognises our own object. */
  pendingPutId: string | null;
}

export type CheckpointResult =
  | { kind: 'nothing' }
  | { kind: 'done'; manifestId: number; foldedChunkId: number; segments: number }
  | { kind: 'fenced'; reason: string };

/**
 * A checkpoint encodes segments in slices of about this much work between two yields to the event
 * loop (measured on the injected clock), so appends and reads wait at most about this long behind
 * it. Slices of 4 MiB took ~20 ms each under W1 load (loop lag p99 21-37 ms, issue 14). Smaller
 * slices cost turns of a busy loop per checkpoint; 1 ms of work per turn finishes a 16 MiB segment
 * well before the memory tail (2 x checkpointBytes) fills on a quiet machine (see sliceGrowthFill).
 */
const encodeSliceMs = 1;
/** ...and at most this many bytes, for clocks that do not move (tests on a ManualClock). */
const encodeSliceBytes = 1024 * 1024;
/**
 * Once the memory tail is this full, slices grow (up to 8x when it is full): on a loaded machine a
 * turn of the loop can take tens of ms, and a checkpoint in 1 ms slices then took long enough for
 * the tail to fill and pause every append (W5 in memory mode at load average 9). A few ms longer
 * turns are the lesser evil.
 */
const sliceGrowthFill = 0.75;

/** The slice scale for the memory tail's fill now: 1 below sliceGrowthFill, up to 8 when full. */
function sliceScale(ctx: CheckpointContext): number {
  const fill = ctx.state.tailBytes / ctx.segment.memoryTailBytesMax;
  if (fill <= sliceGrowthFill) return 1;
  return Math.min(8, 1 + (7 * (fill - sliceGrowthFill)) / (1 - sliceGrowthFill));
}

/**
 * Cuts a checkpoint's long passes (grouping records, encoding segments) into slices: `due` after
 * about encodeSliceMs of work (the clock is read once per ~16 KiB of records or per block, not per
 * record) or encodeSliceBytes, then `next` yields to the event loop.
 */
class Slices {
  private start: number;
  private bytes = 0;
  private sinceCheck = 0;
  private scale: number;

  constructor(
    private readonly clock: Clock,
    private readonly scaleNow: () => number,
  ) {
    this.start = clock.monotonicMs();
    this.scale = scaleNow();
  }

  due(bytes: number): boolean {
    this.bytes += bytes;
    this.sinceCheck += bytes + 64;
    if (this.sinceCheck < 16 * 1024) return false;
    this.sinceCheck = 0;
    if (this.bytes >= encodeSliceBytes * this.scale) return true;
    return this.clock.monotonicMs() - this.start >= encodeSliceMs * this.scale;
  }

  async next(): Promise<void> {
    await yieldToIo(this.clock);
    this.bytes = 0;
    this.start = this.clock.monotonicMs();
    this.scale = this.scaleNow();
  }
}

/** Encodes a segment, yielding to the event loop between slices of work (see Slices). */
async function encodeYielding(
  ctx: CheckpointContext,
  slices: Slices,
  stream: StreamId,
  records: StoredRecord[],
  scratch: SegmentScratch | undefined,
): Promise<EncodedSegment> {
  const options = ctx.segment;
  const steps = encodeSegmentSteps(stream, ctx.epoch, records, options, scratch);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (slices.due(step.value)) await slices.next();
  }
}

/**
 * A segment to hand over, in memory of its own size: fresh memory is sized for the uncompressed
 * records, and a store keeping a view of it would hold the difference too (memory.ts copies such a
 * view, in one turn). Copied here in slices when it compressed well; kept as it is otherwise.
 */
async function tightened(slices: Slices, bytes: Uint8Array): Promise<Uint8Array> {
  if (bytes.byteLength >= bytes.buffer.byteLength * 0.75) return bytes;
  const copy: Uint8Array = Buffer.allocUnsafeSlow(bytes.length);
  const step = 256 * 1024;
  for (let at = 0; at < bytes.length; at += step) {
    copy.set(bytes.subarray(at, Math.min(at + step, bytes.length)), at);
    if (slices.due(step)) await slices.next();
  }
  return copy;
}

/**
 * Where a segment is encoded, by what the store prefers (BodyHandling): into fresh memory handed
 * over to a store that keeps bodies (no copy at all: the store would otherwise copy 16 MiB into
 * fresh memory in one turn), else into the reused scratch (shared with the writer threads of the
 * local-filesystem store). The scratch is reused only after the put that holds it has settled.
 */
function segmentTarget(ctx: CheckpointContext): { scratch?: SegmentScratch; handOver: boolean } {
  switch (ctx.io.store.bodyHandling) {
    case 'hand-over':
      return { handOver: true };
    case 'shared':
      ctx.scratch.allocate ??= (bytes) => new Uint8Array(new SharedArrayBuffer(Math.ceil(bytes * 1.25)), 0, bytes);
      return { scratch: ctx.scratch, handOver: false };
    default:
      return { scratch: ctx.scratch, handOver: false };
  }
}

export async function runCheckpoint(ctx: CheckpointContext, current: CurrentManifest): Promise<CheckpointResult> {
  const { state } = ctx;
  const foldedChunkId = state.appliedChunkId;
  if (foldedChunkId === current.header.lastAppliedChunkId) return { kind: 'nothing' };
  const header: ManifestHeader = {
    epoch: ctx.epoch,
    manifestId: current.header.manifestId + 1,
    lastAppliedChunkId: foldedChunkId,
    lastAppliedChunkEpoch: state.appliedChunkEpoch,
  };
  // Step 1: everything below is read before the first await.
  const snapshot = state.snapshot();
  const captured = new Map<StreamId, Captured>();
  for (const stream of state.streams.values()) {
    if (stream.records.length === 0) continue;
    const last = stream.segments.at(-1);
    const merge = last && last.size < ctx.segment.segmentMergeBytesMax ? last : null;
    captured.set(stream.id, { records: [...stream.records], trimPoint: stream.trimPoint, merge });
  }
  const nowMs = ctx.clock.nowMs();
  const slices = new Slices(ctx.clock, () => sliceScale(ctx));

  const added = new Map<StreamId, SegmentRef[]>();
  const replaced = new Map<StreamId, SegmentRef>();
  const written: string[] = [];
  try {
    for (const [id, entry] of captured) {
      // The merged segment's records are views of its blocks, pinned until its replacement is written.
      const held: BlockView[] = [];
      try {
        const old = entry.merge ? await segmentRecords(ctx, entry.merge, held) : null;
        if (old) replaced.set(id, entry.merge!);
        const groups = await liveGroups(ctx, slices, [old ?? [], entry.records], entry.trimPoint, nowMs);
        const refs: SegmentRef[] = [];
        const { scratch, handOver } = segmentTarget(ctx);
        for (const group of groups) {
          const encoded = await encodeYielding(ctx, slices, id, group, scratch);
          const { summary } = encoded;
          const bytes = handOver ? await tightened(slices, encoded.bytes) : encoded.bytes;
          const key = segmentKey(id, summary.firstSeqNum, ctx.epoch, ctx.io.rand);
          written.push(key);
          const put = () => ctx.io.store.put(key, bytes, { handOver });
          await withRetry(`put segment ${key}`, ctx.io.store, ctx.io.policy, put);
          refs.push({ key, ...summary });
        }
        added.set(id, refs);
      } finally {
        for (const block of held) block.unpin();
      }
    }
  } catch (error) {
    // No manifest references these segments: remove them now rather than leave orphans.
    await deleteBestEffort(ctx, written);
    throw error;
  }
  for (const stream of snapshot.streams) {
    const gone = replaced.get(stream.id);
    if (gone) stream.segments = stream.segments.filter((s) => s.key !== gone.key);
    stream.segments.push(...(added.get(stream.id) ?? []));
  }

  // Step 3. If this put's outcome stays unknown (it throws), the segments must stay: the manifest
  // may exist. The next attempt then finds the id taken by our own epoch and adopts it.
  for (;;) {
    let result: WrittenManifest;
    try {
      result = await writeManifest(ctx.io, header, { snapshot }, (putId) => (current.pendingPutId = putId));
    } finally {
      current.pendingPutId = null;
    }
    if (result.outcome.kind === 'ok') {
      current.header = header;
      current.snapshotRef = result.ref;
      break;
    }
    const occupant = await loadManifestHeader(ctx.io, header.manifestId);
    if (occupant.header.epoch !== ctx.epoch) {
      return {
        kind: 'fenced',
        reason: `manifest ${header.manifestId} was written by writer epoch ${occupant.header.epoch}`,
      };
    }
    // Our own earlier manifest whose put looked failed: a valid, older checkpoint. Build on it.
    ctx.log('checkpoint-adopted-manifest', { manifestId: header.manifestId });
    current.header = occupant.header;
    current.snapshotRef = occupant.ref;
    header.manifestId = occupant.header.manifestId + 1;
  }

  // Step 4: the manifest is durable; memory now defers to the segments.
  for (const id of captured.keys()) {
    state.foldIntoSegments(id, foldedChunkId, added.get(id) ?? [], replaced.get(id)?.key ?? null);
  }
  assert(state.appliedChunkId >= foldedChunkId, 'applied chunk id never goes back');
  metrics.checkpoints.inc();
  ctx.log('checkpoint', { manifestId: header.manifestId, foldedChunkId, segments: written.length });
  return { kind: 'done', manifestId: header.manifestId, foldedChunkId, segments: written.length };
}

/**
 * All records of a segment about to be merged; null if it is kept out of the merge: it vanished,
 * or it holds `segmentMergeBytesMax` or more of raw block bytes. The manifest knows only a
 * segment's stored size, and records that compress 10x or more would otherwise have every
 * checkpoint rewrite up to `segmentBytesMax` of them (megabytes) for a few new records.
 */
async function segmentRecords(
  ctx: CheckpointContext,
  segment: SegmentRef,
  /** Receives each block read, pinned (its lease): the caller unpins once done with the records. */
  held: BlockView[],
): Promise<StoredRecord[] | null> {
  try {
    const footer = await ctx.segments.footer(segment);
    let rawBytes = 0;
    for (const block of footer.blocks) rawBytes += block.rawLength;
    if (rawBytes >= ctx.segment.segmentMergeBytesMax) return null;
    const records: StoredRecord[] = [];
    for (let i = 0; i < footer.blocks.length; i++) {
      const block = await ctx.segments.block(segment, footer, i);
      held.push(block);
      for (let j = 0; j < block.count; j++) records.push(block.storedRecord(j));
    }
    return records;
  } catch (error) {
    if (error instanceof SegmentVanished) return null;
    throw error;
  }
}

/**
 * The records a checkpoint keeps (not trimmed, not expired), from `parts` in order, grouped so that
 * each group stays under segmentBytesMax metered bytes (at least one record). A pass over every
 * record of the tail: tens of thousands of small records took 10-55 ms in one turn under W5.
 */
async function liveGroups(
  ctx: CheckpointContext,
  slices: Slices,
  parts: (StoredRecord | TailEntry)[][],
  trimPoint: number,
  nowMs: number,
): Promise<StoredRecord[][]> {
  const bytesMax = ctx.segment.segmentBytesMax;
  const groups: StoredRecord[][] = [];
  let group: StoredRecord[] = [];
  let bytes = 0;
  for (const part of parts) {
    for (const record of part) {
      // Memory-tail entries carry their size; records of a merged segment are measured here.
      const size = 'bytes' in record ? record.bytes : meteredBytes(record.record);
      if (slices.due(size)) await slices.next();
      if (record.record.seqNum < trimPoint || (record.expiresAtMs !== null && record.expiresAtMs <= nowMs)) continue;
      if (group.length > 0 && bytes + size > bytesMax) {
        groups.push(group);
        group = [];
        bytes = 0;
      }
      group.push(record);
      bytes += size;
    }
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

async function deleteBestEffort(ctx: CheckpointContext, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  try {
    await ctx.io.store.delete(keys);
  } catch (error) {
    ctx.log('orphan-delete-failed', { keys: keys.length, error: (error as Error).message });
  }
}
