/**
 * Catch-up (api.md 8.3): one batch of durable records from storage, below the durable tail, of at
 * most 1000 records / 1 MiB metered and within what is left of the session's limits. Storage
 * applies every bound in one pass (storage/types.ts `ReadRequest`) and says why it stopped;
 * this decides what that means for the session.
 */
import type { RecordList } from '../domain/record-list.js';
import { readBatchBytesMax, readBatchRecordsMax } from '../limits.js';
import { assert } from '../util/assert.js';
import type { EngineContext } from './context.js';
import type { StreamState } from './state.js';

export interface CatchUpBatch {
  /** The records as storage found them (block ranges are not materialised here). */
  list: RecordList;
  /** Where the session continues: after the last record, or at `end` if nothing survives below it. */
  next: number;
  /** A limit or `until` ended the session. */
  last: boolean;
}

/** Reads one batch in [start, end) (`end`: the durable tail) within the session's limits left. */
export async function catchUp(
  ctx: EngineContext,
  stream: StreamState,
  range: { start: number; end: number; until: bigint | undefined },
  left: { count: number; bytes: number },
): Promise<CatchUpBatch> {
  const { start, end, until } = range;
  const maxBytes = Math.min(readBatchBytesMax, left.bytes);
  const { list, stop } = await ctx.log.read({
    stream: stream.id,
    startSeqNum: start,
    endSeqNum: end,
    until,
    maxRecords: Math.min(readBatchRecordsMax, left.count),
    maxBytes,
    nowMs: ctx.clock.nowMs(),
  });
  const lastSeqNum = list.length > 0 ? list.seqNumAt(list.length - 1) : undefined;
  assert(
    lastSeqNum === undefined || (list.seqNumAt(0) >= start && lastSeqNum < end),
    'storage returned a record outside the requested range',
  );
  // A record past the batch budget starts the next batch; past the session's budget (or when
  // nothing fits at all, records being at most 1 MiB) it ends the session.
  const last = stop === 'until' || (stop === 'bytes' && (lastSeqNum === undefined || maxBytes >= left.bytes));
  const next = stop === 'end' ? end : lastSeqNum !== undefined ? lastSeqNum + 1 : start;
  return { list, next, last };
}
