/**
 * Reads: records come from segments (older) and the memory tail (recent). The position being
 * read is re-resolved against the current state after every await, because a checkpoint may
 * move records from the memory tail into segments, and GC may drop segments, while a read is
 * in progress. Only surviving records are returned: at or above the trim point, not expired,
 * below the durable tail and `endSeqNum`, of a stream that still exists. This is the one place
 * the trim point, retention and a read's limits (`until`, count, metered bytes) are applied.
 */
import { RecordList } from '../domain/record-list.js';
import type { SequencedRecord } from '../domain/types.js';
import type { BlockView } from './block-view.js';
import type { SegmentRef } from './codec-manifest.js';
import { CorruptDataError } from './errors.js';
import { SegmentVanished, type SegmentCache } from './segment-cache.js';
import type { LogState, Logger, StreamState } from './state.js';
import type { ReadRequest, ReadResult, ReadStop, StreamId } from './types.js';

export interface ReadContext {
  state: LogState;
  segments: SegmentCache;
  log: Logger;
}

/** Index of the first element for which `test` holds, assuming it holds for a suffix; `items.length` if none. */
function lowerBound<T>(items: readonly T[], test: (item: T) => boolean): number {
  let low = 0;
  let high = items.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (test(items[mid])) high = mid;
    else low = mid + 1;
  }
  return low;
}

function expired(expiresAtMs: number | null, nowMs: number): boolean {
  return expiresAtMs !== null && expiresAtMs <= nowMs;
}

/**
 * Sees surviving records, either in memory (`record`) or as record `i` of a cached block (`stored`,
 * which never builds the record object); each returns false to end the scan.
 */
interface Visit {
  record(record: SequencedRecord, bytes: number): boolean;
  stored(block: BlockView, i: number): boolean;
}

/**
 * Visits surviving records with seq_num in [start, end) in order until `visit` returns false.
 */
async function scan(ctx: ReadContext, streamId: StreamId, start: number, end: number, nowMs: number, visit: Visit) {
  let cursor = start;
  for (;;) {
    const stream = ctx.state.streams.get(streamId);
    if (!stream) return;
    cursor = Math.max(cursor, stream.trimPoint);
    const limit = Math.min(end, stream.tail.seqNum);
    if (cursor >= limit) return;
    const memoryFirst = stream.records[0]?.record.seqNum ?? stream.tail.seqNum;
    if (cursor >= memoryFirst) {
      scanMemory(stream, cursor, limit, nowMs, visit);
      return;
    }
    const index = lowerBound(stream.segments, (s) => s.lastSeqNum >= cursor);
    const segment = stream.segments[index];
    if (!segment || segment.firstSeqNum >= memoryFirst) {
      cursor = memoryFirst; // a gap (dropped records) between segments and memory
      continue;
    }
    const following = stream.segments[index + 1];
    const next = await scanSegmentBlock(ctx, stream, segment, following, cursor, limit, nowMs, visit);
    if (next === null) return;
    cursor = next;
  }
}

function scanMemory(stream: StreamState, cursor: number, limit: number, nowMs: number, visit: Visit): void {
  for (let i = lowerBound(stream.records, (r) => r.record.seqNum >= cursor); i < stream.records.length; i++) {
    const entry = stream.records[i];
    if (entry.record.seqNum >= limit) return;
    if (!expired(entry.expiresAtMs, nowMs) && !visit.record(entry.record, entry.bytes)) return;
  }
}

/**
 * Visits the records of the block of `segment` holding the first seq_num >= cursor. Returns the
 * next cursor, or null when the visit is over.
 */
async function scanSegmentBlock(
  ctx: ReadContext,
  stream: StreamState,
  segment: SegmentRef,
  /** The stream's next segment, read ahead when this one's end is near. */
  following: SegmentRef | undefined,
  cursor: number,
  limit: number,
  nowMs: number,
  visit: Visit,
): Promise<number | null> {
  const after = segment.lastSeqNum + 1;
  if (segment.maxExpiresAtMs !== null && segment.maxExpiresAtMs <= nowMs) return after;
  let records: BlockView;
  let blockEnd: number;
  try {
    const footer = await ctx.segments.footer(segment);
    const index = lowerBound(footer.blocks, (b) => b.lastSeqNum >= cursor);
    const block = footer.blocks[index];
    if (!block) return after;
    blockEnd = index === footer.blocks.length - 1 ? after : block.lastSeqNum + 1;
    if (block.maxExpiresAtMs !== null && block.maxExpiresAtMs <= nowMs) return blockEnd;
    records = await ctx.segments.block(segment, footer, index, following);
  } catch (error) {
    if (!(error instanceof SegmentVanished)) throw error;
    return vanished(ctx, stream.id, segment, cursor, nowMs);
  }
  // The block came pinned (a lease, segment-cache.ts); a list that keeps records pins it for itself.
  try {
    for (let i = 0; i < records.count; i++) {
      const seqNum = records.seqNum(i);
      if (seqNum < cursor || expired(records.expiresAtMs(i), nowMs)) continue;
      if (seqNum >= limit || !visit.stored(records, i)) return null;
    }
  } finally {
    records.unpin();
  }
  return blockEnd;
}

/**
 * A segment object is missing. Fine if it is no longer referenced: GC removed it (its records
 * were trimmed, expired or purged) or a checkpoint merged it into a new segment; the cursor is
 * then resolved again against the current segment list. Fine too if it has an expiry (GC judged
 * it expired by a clock that later went back). Anything else means data the manifest promises
 * is gone. Returns the next cursor, or null if the stream is gone.
 */
function vanished(
  ctx: ReadContext,
  streamId: StreamId,
  segment: SegmentRef,
  cursor: number,
  nowMs: number,
): number | null {
  const stream = ctx.state.streams.get(streamId);
  if (!stream) return null;
  if (!stream.segments.some((s) => s.key === segment.key)) return cursor;
  if (segment.maxExpiresAtMs !== null) {
    ctx.log('segment-missing-assumed-expired', { key: segment.key, maxExpiresAtMs: segment.maxExpiresAtMs, nowMs });
    return segment.lastSeqNum + 1;
  }
  throw new CorruptDataError(`segment ${segment.key} of stream ${streamId} is missing from the object store`);
}

export async function readRecords(ctx: ReadContext, request: ReadRequest): Promise<ReadResult> {
  const { maxRecords, maxBytes, until } = request;
  const list = new RecordList();
  let stop: ReadStop = 'end';
  if (maxRecords <= 0) return result(list, 'count');
  // One decision for both kinds of record: does the next one (timestamp, size) fit?
  const admit = (timestamp: () => bigint, size: number): boolean => {
    if (until !== undefined && timestamp() >= until) stop = 'until';
    else if (list.bytes + size > maxBytes) stop = 'bytes';
    else return true;
    return false;
  };
  const more = (): boolean => {
    if (list.length < maxRecords) return true;
    stop = 'count';
    return false;
  };
  await scan(ctx, request.stream, request.startSeqNum, request.endSeqNum, request.nowMs, {
    record(record, size) {
      if (!admit(() => record.timestamp, size)) return false;
      list.pushRecord(record, size);
      return more();
    },
    stored(block, i) {
      const size = block.metered(i);
      if (!admit(() => block.timestamp(i), size)) return false;
      list.pushStored(block, i, size);
      return more();
    },
  });
  // The stream may have been purged or trimmed while the read awaited the store.
  const stream = ctx.state.streams.get(request.stream);
  if (!stream) return result(new RecordList(), 'end');
  list.dropBelow(stream.trimPoint);
  return result(list, stop);
}

/** `records` materialises the list only for a caller that asks for objects. */
function result(list: RecordList, stop: ReadStop): ReadResult {
  return {
    list,
    get records() {
      return list.toArray();
    },
    get bytes() {
      return list.bytes;
    },
    stop,
  };
}

export async function seqNumForTimestamp(
  ctx: ReadContext,
  streamId: StreamId,
  timestamp: bigint,
  endSeqNum: number,
  nowMs: number,
): Promise<number | null> {
  const stream = ctx.state.streams.get(streamId);
  if (!stream) return null;
  // Timestamps never decrease within a stream: everything before `start` is older than `timestamp`.
  let start = stream.trimPoint;
  const index = lowerBound(stream.segments, (s) => s.lastTimestamp >= timestamp);
  const segment = stream.segments[index];
  if (segment) {
    start = Math.max(start, segment.firstSeqNum);
    try {
      const footer = await ctx.segments.footer(segment);
      const block = footer.blocks[lowerBound(footer.blocks, (b) => b.lastTimestamp >= timestamp)];
      if (block) start = Math.max(start, block.firstSeqNum);
    } catch (error) {
      if (!(error instanceof SegmentVanished)) throw error;
    }
  } else {
    const at = lowerBound(stream.records, (r) => r.record.timestamp >= timestamp);
    start = Math.max(start, stream.records[at]?.record.seqNum ?? stream.tail.seqNum);
  }
  // A trim that lands while the scan awaits the store can hide the record found: search again above it.
  for (;;) {
    let found: number | null = null;
    await scan(ctx, streamId, start, endSeqNum, nowMs, {
      record(record) {
        if (record.timestamp < timestamp) return true;
        found = record.seqNum;
        return false;
      },
      stored(block, i) {
        if (block.timestamp(i) < timestamp) return true;
        found = block.seqNum(i);
        return false;
      },
    });
    const after = ctx.state.streams.get(streamId);
    if (!after) return null;
    if (found === null || found >= after.trimPoint) return found;
    start = after.trimPoint;
  }
}
