/**
 * What a read asks for, and where its session starts (api.md 8.1-8.2, lite-internals 3.10-3.12):
 * a seq_num, timestamp or tail-offset start resolved against the durable tail, the session's
 * limits, whether it may follow, and 416 for a read that has nothing to return.
 */
import { errors, RangeNotSatisfiable } from '../domain/errors.js';
import type { EngineContext } from './context.js';
import type { StreamState } from './state.js';

export type ReadStart = { seqNum: number } | { timestamp: bigint } | { tailOffset: number };

export interface ReadRequest {
  /** Where to start; absent = `tailOffset: 0` (api.md 8.1). */
  start?: ReadStart;
  clamp?: boolean;
  /** Limits over the whole session; absent = unlimited. 0 = return nothing. */
  count?: number;
  bytes?: number;
  /** Exclusive upper timestamp bound. */
  until?: bigint;
  /** Seconds to wait for new records once caught up; absent = forever if unbounded, else 0. */
  waitSecs?: number;
}

/** A resolved read: where the session starts and what bounds it. */
export interface ReadPlan {
  startSeqNum: number;
  count: number;
  bytes: number;
  until: bigint | undefined;
  mayFollow: boolean;
  waitMs: number;
}

/** Refuses (422) what is wrong before the stream is opened, so a bad read never auto-creates it (api.md 7.6 step 3). */
export function checkReadRequest(request: ReadRequest): void {
  const start = request.start;
  if (start && 'timestamp' in start && request.until !== undefined && request.until <= start.timestamp) {
    throw errors.invalid('start `timestamp` exceeds or equal to `until`');
  }
}

/** Resolves the start against the durable tail; throws 416 when there is nothing to return. */
export async function planRead(ctx: EngineContext, stream: StreamState, request: ReadRequest): Promise<ReadPlan> {
  const start = request.start ?? { tailOffset: 0 };
  const bounded = request.count !== undefined || request.bytes !== undefined || request.until !== undefined;
  const mayFollow = !bounded || (request.waitSecs ?? 0) > 0;
  const tail = stream.tail;
  let startSeqNum: number;
  let fromPosition = true;
  if ('timestamp' in start) {
    if (start.timestamp > tail.timestamp) {
      if (!request.clamp) throw new RangeNotSatisfiable(tail);
      startSeqNum = tail.seqNum;
    } else {
      const nowMs = ctx.clock.nowMs();
      const found = await ctx.log.seqNumForTimestamp(stream.id, start.timestamp, tail.seqNum, nowMs);
      // Clamped to the tail we bounded the lookup with (lite-internals 3.10 "Subtle").
      startSeqNum = found === null ? tail.seqNum : Math.min(found, tail.seqNum);
      fromPosition = false;
    }
  } else if ('seqNum' in start) {
    if (start.seqNum > tail.seqNum && !request.clamp) throw new RangeNotSatisfiable(tail);
    startSeqNum = Math.min(start.seqNum, tail.seqNum);
  } else {
    startSeqNum = Math.max(0, tail.seqNum - start.tailOffset);
  }
  // At the tail a read that may not follow has nothing to return: 416, even with clamp.
  if (fromPosition && startSeqNum === tail.seqNum && !mayFollow) throw new RangeNotSatisfiable(tail);
  return {
    startSeqNum,
    count: request.count ?? Infinity,
    bytes: request.bytes ?? Infinity,
    until: request.until,
    mayFollow,
    waitMs: request.waitSecs === undefined ? (bounded ? 0 : Infinity) : request.waitSecs * 1000,
  };
}
