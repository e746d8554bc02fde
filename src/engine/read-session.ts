/**
 * Read sessions (api.md 8.1-8.3, lite-internals 1.6, 3.10-3.12): one implementation behind the
 * unary, SSE and S2S reads. A session is an async iterator of `ReadOutput`:
 *
 * - catch-up: durable records from storage, bounded by the durable tail, in batches of at most
 *   1000 records / 1 MiB metered, without `tail`;
 * - follow: once at the durable tail (and allowed to follow) it subscribes to the streamer at
 *   exactly that tail, emits a heartbeat, then live batches (with `tail`) as they become durable,
 *   a heartbeat after every 5-15 s of silence, and ends when the `wait` deadline passes. A follower
 *   that lags is detached and the session catches up from storage again.
 *
 * The `wait` deadline is armed on entering follow and re-armed after every delivered batch;
 * heartbeats and lag recovery do not extend it (lite fixes #280, #311). Errors decided before
 * streaming (404/409/416/422) are thrown by `openReadSession`; later ones by `next()`.
 */
import { errors, RangeNotSatisfiable, S2Error } from '../domain/errors.js';
import { heartbeatGapMsMax, heartbeatGapMsMin, readBatchBytesMax, readBatchRecordsMax } from '../limits.js';
import { assert } from '../util/assert.js';
import { randInt } from '../util/rand.js';
import type { EngineContext } from './context.js';
import { Follower } from './followers.js';
import type { StreamState } from './state.js';
import { streamerOf, type Streamer } from './streamer.js';
import { openStream } from './streams.js';
import { meteredBytes, type SequencedRecord, type StreamConfigLayer, type StreamPosition } from '../domain/types.js';

/** Storage failures surface as 500 `storage` (api.md 10.3), not as internal errors. */
async function fromStorage<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (error) {
    if (error instanceof S2Error) throw error;
    throw errors.storage(`read failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

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

export type ReadOutput =
  { kind: 'batch'; records: SequencedRecord[]; tail?: StreamPosition } | { kind: 'heartbeat'; tail: StreamPosition };

export interface OpenReadOptions {
  /** `s2-stream-config`: the config to use if this read auto-creates the stream. */
  streamConfig?: StreamConfigLayer;
}

/** Validates, opens (auto-creating per `create_stream_on_read`) and resolves the start. */
export async function openReadSession(
  ctx: EngineContext,
  basin: string,
  name: string,
  request: ReadRequest,
  options: OpenReadOptions = {},
): Promise<ReadSession> {
  const start = request.start ?? { tailOffset: 0 };
  // Detected before opening, so it never auto-creates the stream (api.md 7.6 step 3).
  if ('timestamp' in start && request.until !== undefined && request.until <= start.timestamp) {
    throw errors.invalid('start `timestamp` exceeds or equal to `until`');
  }
  const stream = await openStream(ctx, basin, name, 'read', options.streamConfig);
  if (stream.meta.cipher !== null) throw errors.notImplemented();
  const streamer = streamerOf(ctx, stream);
  const releaseLease = streamer.lease();
  try {
    const bounded = request.count !== undefined || request.bytes !== undefined || request.until !== undefined;
    const mayFollow = !bounded || (request.waitSecs ?? 0) > 0;
    const tail = stream.tail;
    let startSeqNum: number;
    let fromPosition: boolean;
    if ('timestamp' in start) {
      if (start.timestamp > tail.timestamp) {
        if (!request.clamp) throw new RangeNotSatisfiable(tail);
        startSeqNum = tail.seqNum;
        fromPosition = true;
      } else {
        const found = await fromStorage(
          ctx.log.seqNumForTimestamp(stream.id, start.timestamp, tail.seqNum, ctx.clock.nowMs()),
        );
        // Clamped to the tail we bounded the lookup with (lite-internals 3.10 "Subtle").
        startSeqNum = found === null ? tail.seqNum : Math.min(found, tail.seqNum);
        fromPosition = false;
      }
    } else if ('seqNum' in start) {
      if (start.seqNum > tail.seqNum && !request.clamp) throw new RangeNotSatisfiable(tail);
      startSeqNum = Math.min(start.seqNum, tail.seqNum);
      fromPosition = true;
    } else {
      startSeqNum = Math.max(0, tail.seqNum - start.tailOffset);
      fromPosition = true;
    }
    // At the tail a read that may not follow has nothing to return: 416, even with clamp.
    if (fromPosition && startSeqNum === tail.seqNum && !mayFollow) throw new RangeNotSatisfiable(tail);
    const waitMs = request.waitSecs === undefined ? (bounded ? 0 : Infinity) : request.waitSecs * 1000;
    return new ReadSession(ctx, stream, streamer, releaseLease, {
      startSeqNum,
      count: request.count ?? Infinity,
      bytes: request.bytes ?? Infinity,
      until: request.until,
      mayFollow,
      waitMs,
    });
  } catch (error) {
    releaseLease();
    throw error;
  }
}

interface SessionPlan {
  startSeqNum: number;
  count: number;
  bytes: number;
  until: bigint | undefined;
  mayFollow: boolean;
  waitMs: number;
}

type CatchUp = { kind: 'records'; records: SequencedRecord[]; bytes: number; stop: boolean } | { kind: 'nothing' };

export class ReadSession implements AsyncIterableIterator<ReadOutput> {
  private readonly generator: AsyncGenerator<ReadOutput, void, undefined>;
  private closed = false;
  private follower: Follower | undefined;
  private interrupt: (() => void) | undefined;

  constructor(
    private readonly ctx: EngineContext,
    private readonly stream: StreamState,
    private readonly streamer: Streamer,
    private readonly releaseLease: () => void,
    private readonly plan: SessionPlan,
  ) {
    this.generator = this.run();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<ReadOutput, void>> {
    return this.generator.next();
  }

  async return(): Promise<IteratorResult<ReadOutput, void>> {
    this.close();
    return this.generator.return(undefined);
  }

  /** Ends the session (e.g. the client went away); a pending `next()` resolves as done. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.interrupt?.();
    this.cleanup();
  }

  private cleanup(): void {
    if (this.follower) this.streamer.unfollow(this.follower);
    this.follower = undefined;
    this.releaseLease();
  }

  private async *run(): AsyncGenerator<ReadOutput, void, undefined> {
    const { clock } = this.ctx;
    const plan = this.plan;
    let start = plan.startSeqNum;
    let countLeft = plan.count;
    let bytesLeft = plan.bytes;
    let deadline: number | undefined;
    try {
      for (;;) {
        if (this.closed || countLeft <= 0 || bytesLeft <= 0) return;
        let tail = this.stream.tail;
        if (start < tail.seqNum) {
          const result = await this.catchUp(start, tail.seqNum, countLeft, bytesLeft);
          if (this.closed) return;
          if (result.kind === 'nothing') {
            // Everything left below the tail is trimmed or expired: continue at the tail (lite #184).
            start = tail.seqNum;
            continue;
          }
          if (result.records.length > 0) {
            start = result.records[result.records.length - 1]!.seqNum + 1;
            countLeft -= result.records.length;
            bytesLeft -= result.bytes;
            deadline = clock.monotonicMs() + plan.waitMs;
            yield { kind: 'batch', records: result.records };
          }
          if (result.stop) return;
          continue;
        }
        if (!plan.mayFollow) return;
        const subscribed = this.streamer.follow(start);
        if (!(subscribed instanceof Follower)) continue; // the tail moved on: catch up first
        const follower = subscribed;
        this.follower = follower;
        deadline ??= clock.monotonicMs() + plan.waitMs;
        if (clock.monotonicMs() >= deadline) return;
        yield { kind: 'heartbeat', tail };
        let heartbeatAt = clock.monotonicMs() + randInt(this.ctx.rand, heartbeatGapMsMin, heartbeatGapMsMax);
        for (;;) {
          if (this.closed) return;
          const event = follower.poll();
          if (event === undefined) {
            const now = clock.monotonicMs();
            if (now >= deadline) return;
            if (now >= heartbeatAt) {
              heartbeatAt = now + randInt(this.ctx.rand, heartbeatGapMsMin, heartbeatGapMsMax);
              yield { kind: 'heartbeat', tail };
              continue;
            }
            await this.waitFor(follower, Math.min(heartbeatAt, deadline) - now);
            continue;
          }
          if (event.kind === 'closed') throw event.error;
          if (event.kind === 'lagged') {
            this.streamer.unfollow(follower);
            this.follower = undefined;
            break; // back to catch-up from storage; the wait budget is not reset
          }
          const batch = event.batch;
          assert(batch.records[0]!.seqNum === start, 'live batch does not continue the session');
          const kept = this.prefix(batch.records, countLeft, bytesLeft);
          if (kept.records.length > 0) {
            start = kept.records[kept.records.length - 1]!.seqNum + 1;
            countLeft -= kept.records.length;
            bytesLeft -= kept.bytes;
            tail = batch.tail;
            deadline = clock.monotonicMs() + plan.waitMs;
            heartbeatAt = clock.monotonicMs() + randInt(this.ctx.rand, heartbeatGapMsMin, heartbeatGapMsMax);
            yield { kind: 'batch', records: kept.records, tail: batch.tail };
          }
          // A batch cut by a limit or `until` ends the session; so does an exactly met limit.
          if (kept.records.length < batch.records.length || countLeft <= 0 || bytesLeft <= 0) return;
        }
      }
    } finally {
      this.closed = true;
      this.cleanup();
    }
  }

  /** Longest prefix of a live batch within the remaining limits and before `until`. */
  private prefix(
    records: SequencedRecord[],
    countLeft: number,
    bytesLeft: number,
  ): { records: SequencedRecord[]; bytes: number } {
    let bytes = 0;
    let n = 0;
    const until = this.plan.until;
    while (n < records.length && n < countLeft) {
      const record = records[n]!;
      if (until !== undefined && record.timestamp >= until) break;
      const size = meteredBytes(record);
      if (bytes + size > bytesLeft) break;
      bytes += size;
      n++;
    }
    return { records: n === records.length ? records : records.slice(0, n), bytes };
  }

  /**
   * One catch-up batch from storage in [start, end). `stop` = a limit or `until` ended the
   * session. `nothing` = no surviving record in the range.
   */
  private async catchUp(start: number, end: number, countLeft: number, bytesLeft: number): Promise<CatchUp> {
    const { log, clock } = this.ctx;
    const maxRecords = Math.min(readBatchRecordsMax, countLeft);
    const maxBytes = Math.min(readBatchBytesMax, bytesLeft);
    const until = this.plan.until;
    const records: SequencedRecord[] = [];
    let bytes = 0;
    // Never below the durable trim point, whatever storage has not physically deleted yet.
    let from = Math.max(start, this.stream.trimPoint);
    while (records.length < maxRecords && from < end) {
      const got = await fromStorage(
        log.read({
          stream: this.stream.id,
          startSeqNum: from,
          endSeqNum: end,
          maxRecords: maxRecords - records.length,
          maxBytes: maxBytes - bytes,
          nowMs: clock.nowMs(),
        }),
      );
      if (this.closed) return { kind: 'records', records: [], bytes: 0, stop: true };
      if (got.length === 0) break;
      for (const record of got) {
        assert(record.seqNum >= from && record.seqNum < end, 'storage returned a record outside the requested range');
        if (until !== undefined && record.timestamp >= until) return { kind: 'records', records, bytes, stop: true };
        const size = meteredBytes(record);
        // Past the batch budget: emit; past the session budget (or nothing fits at all): end.
        if (bytes + size > maxBytes) {
          return { kind: 'records', records, bytes, stop: records.length === 0 || bytes + size > bytesLeft };
        }
        records.push(record);
        bytes += size;
        from = record.seqNum + 1;
      }
    }
    if (records.length > 0) return { kind: 'records', records, bytes, stop: false };
    if (from >= end) return { kind: 'nothing' };
    // Storage returned nothing. With a full batch budget every record fits (records are at most
    // 1 MiB), so nothing survives; with a smaller session `bytes` budget, probe whether the next
    // record is simply too large for what is left (which ends the session).
    if (maxBytes >= readBatchBytesMax) return { kind: 'nothing' };
    const probe = await fromStorage(
      log.read({
        stream: this.stream.id,
        startSeqNum: from,
        endSeqNum: end,
        maxRecords: 1,
        maxBytes: Number.MAX_SAFE_INTEGER,
        nowMs: clock.nowMs(),
      }),
    );
    return probe.length > 0 ? { kind: 'records', records: [], bytes: 0, stop: true } : { kind: 'nothing' };
  }

  /** Waits for a follower event, `timeoutMs`, or `close()`, whichever comes first. */
  private waitFor(follower: Follower, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        timer.cancel();
        follower.onReady(undefined);
        this.interrupt = undefined;
        resolve();
      };
      const timer = this.ctx.clock.setTimer(Math.max(0, timeoutMs), finish);
      follower.onReady(finish);
      this.interrupt = finish;
    });
  }
}

/**
 * The unary read (api.md 8.5, lite-internals 3.13): gathers catch-up batches until the session
 * is caught up (first heartbeat) or ends; if that found nothing, waits for the first live batch
 * (returned with its `tail`) or the deadline (empty result).
 */
export async function collectUnary(
  session: ReadSession,
): Promise<{ records: SequencedRecord[]; tail?: StreamPosition }> {
  const records: SequencedRecord[] = [];
  try {
    for await (const output of session) {
      if (output.kind === 'heartbeat') {
        if (records.length > 0) break;
        continue;
      }
      if (output.tail !== undefined) {
        assert(records.length === 0, 'a live batch after catch-up records in a unary read');
        return { records: output.records, tail: output.tail };
      }
      for (const record of output.records) records.push(record);
    }
  } finally {
    session.close();
  }
  return { records };
}
