/**
 * Read sessions (api.md 8.1-8.3, lite-internals 1.6, 3.10-3.12): one implementation behind the
 * unary, SSE and S2S reads. A session is an async iterator of `ReadOutput`:
 *
 * - catch-up (catch-up.ts): durable records from storage, bounded by the durable tail, in batches
 *   of at most 1000 records / 1 MiB metered, without `tail`;
 * - follow (follow.ts): once at the durable tail (and allowed to follow) it subscribes to the
 *   stream's live batches at exactly that tail, emits a heartbeat, then live batches (with
 *   `tail`) as they become durable, a heartbeat after every 5-15 s of silence, and ends when the
 *   `wait` deadline passes. A follower that lags is detached and the session catches up from
 *   storage again.
 *
 * While a session waits for live batches, a transport may take them straight from the streamer's
 * push (`setLiveSink`, the push path) instead of through the two generators; anything the push
 * path cannot deliver whole and go on after stays with the pull path, which handles it as before.
 *
 * The `wait` deadline is armed on entering follow and re-armed after every delivered batch;
 * heartbeats and lag recovery do not extend it (lite fixes #280, #311). Errors decided before
 * streaming (404/409/416/422) are thrown by `openReadSession` (start resolution: read-plan.ts);
 * later ones by `next()`.
 */
import { RecordList } from '../domain/record-list.js';
import { meteredBytes, type SequencedRecord, type StreamConfigLayer, type StreamPosition } from '../domain/types.js';
import { heartbeatGapMsMax, heartbeatGapMsMin } from '../limits.js';
import { assert } from '../util/assert.js';
import { randInt } from '../util/rand.js';
import { catchUp } from './catch-up.js';
import type { EngineContext } from './context.js';
import { follow, unfollow } from './follow.js';
import { Follower, type LiveBatch } from './followers.js';
import { checkReadRequest, planRead, type ReadPlan, type ReadRequest } from './read-plan.js';
import type { StreamState } from './state.js';
import { openStream } from './streams.js';
import type { EncryptionKey } from './encryption/key.js';
import { StreamCipher } from './encryption/stream-cipher.js';

export type { ReadRequest, ReadStart } from './read-plan.js';

/**
 * A batch carries its records twice over: `list` as storage found them (stored block ranges are
 * encoded to protobuf without becoming objects) and `records`, which materialises `list` on first
 * access (JSON, SSE). They are always the same records.
 */
export type ReadOutput =
  | { kind: 'batch'; records: SequencedRecord[]; list: RecordList; tail?: StreamPosition }
  | { kind: 'heartbeat'; tail: StreamPosition };

export interface OpenReadOptions {
  /** `s2-stream-config`: the config to use if this read auto-creates the stream. */
  streamConfig?: StreamConfigLayer;
  /** `S2-Encryption-Key`: required for a stream with a cipher, ignored otherwise (api.md 13). */
  encryptionKey?: EncryptionKey;
}

/** Validates, opens (auto-creating per `create_stream_on_read`) and resolves the start. */
export async function openReadSession(
  ctx: EngineContext,
  basin: string,
  name: string,
  request: ReadRequest,
  options: OpenReadOptions = {},
): Promise<ReadSession> {
  checkReadRequest(request);
  const stream = await openStream(ctx, basin, name, 'read', options.streamConfig);
  const cipher = await StreamCipher.resolve(basin, name, stream.meta.cipher, options.encryptionKey);
  return new ReadSession(ctx, stream, await planRead(ctx, stream, request), cipher);
}

/** Where the session is: the next seq_num to deliver, the limits left, the wait deadline. */
interface Progress {
  next: number;
  countLeft: number;
  bytesLeft: number;
  /** Monotonic ms; armed on entering follow, re-armed by every delivered batch. */
  deadline: number | undefined;
}

export class ReadSession implements AsyncIterableIterator<ReadOutput> {
  private readonly generator: AsyncGenerator<ReadOutput, void, undefined>;
  private readonly progress: Progress;
  private closed = false;
  private follower: Follower | undefined;
  private interrupt: (() => void) | undefined;
  /** The transport's sink for live batches (push path), if it has one. */
  private liveSink: ((output: ReadOutput) => boolean) | undefined;
  /** While following: the tail heartbeats carry, and when the next heartbeat is due (monotonic ms). */
  private liveTail: StreamPosition | undefined;
  private heartbeatAt = 0;

  constructor(
    private readonly ctx: EngineContext,
    private readonly stream: StreamState,
    private readonly plan: ReadPlan,
    /** Opens sealed records on their way out (engine/encryption); null for a stream without a cipher. */
    private readonly cipher: StreamCipher | null = null,
  ) {
    this.progress = { next: plan.startSeqNum, countLeft: plan.count, bytesLeft: plan.bytes, deadline: undefined };
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

  /**
   * The push path: while the session waits for live batches, the streamer's push hands a batch
   * that is delivered whole and that the session goes on after (not cut by a limit or `until`,
   * not meeting a limit exactly) to `sink`, synchronously, skipping the generators' wake-ups.
   * `sink` returns false when it cannot take the output now (a full transport buffer, a revoked
   * token): the batch is then queued and pulled through `next()` as before, so back-pressure,
   * lag, limits and errors stay the pull path's. `sink` runs inside the streamer's durability
   * callback: it must not block, and what it throws is taken as a refusal.
   */
  setLiveSink(sink: ((output: ReadOutput) => boolean) | undefined): void {
    this.liveSink = sink;
  }

  /** Ends the session (e.g. the client went away); a pending `next()` resolves as done. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.interrupt?.();
    this.unfollow();
  }

  private unfollow(): void {
    if (this.follower) unfollow(this.stream, this.follower);
    this.follower = undefined;
  }

  private async *run(): AsyncGenerator<ReadOutput, void, undefined> {
    const progress = this.progress;
    try {
      for (;;) {
        if (this.closed || progress.countLeft <= 0 || progress.bytesLeft <= 0) return;
        const tail = this.stream.tail;
        if (progress.next < tail.seqNum) {
          const batch = await catchUp(
            this.ctx,
            this.stream,
            { start: progress.next, end: tail.seqNum, until: this.plan.until },
            { count: progress.countLeft, bytes: progress.bytesLeft },
          );
          if (this.closed) return;
          progress.next = batch.next;
          if (batch.list.length > 0) yield this.deliver(batch.list, undefined);
          if (batch.last) return;
          continue;
        }
        if (!this.plan.mayFollow) return;
        const subscribed = follow(this.ctx, this.stream, progress.next);
        if (!(subscribed instanceof Follower)) continue; // the tail moved on: catch up first
        this.follower = subscribed;
        const lagged = yield* this.followLive(subscribed, tail);
        if (!lagged) return;
      }
    } finally {
      this.closed = true;
      this.unfollow();
    }
  }

  /**
   * Heartbeats and live batches until the session ends (false) or the follower lags (true: the
   * session goes back to catch-up; the wait budget is not reset).
   */
  private async *followLive(follower: Follower, tail: StreamPosition): AsyncGenerator<ReadOutput, boolean, undefined> {
    const { clock, rand } = this.ctx;
    const progress = this.progress;
    const deadline = (progress.deadline ??= clock.monotonicMs() + this.plan.waitMs);
    if (clock.monotonicMs() >= deadline) return false;
    this.liveTail = tail;
    yield { kind: 'heartbeat', tail };
    this.heartbeatAt = clock.monotonicMs() + randInt(rand, heartbeatGapMsMin, heartbeatGapMsMax);
    for (;;) {
      if (this.closed) return false;
      const event = follower.poll();
      if (event === undefined) {
        const now = clock.monotonicMs();
        if (now >= progress.deadline!) return false;
        // Pushed batches move the deadline, the heartbeat and its tail while this waits.
        if (now >= this.heartbeatAt) {
          this.heartbeatAt = now + randInt(rand, heartbeatGapMsMin, heartbeatGapMsMax);
          yield { kind: 'heartbeat', tail: this.liveTail! };
          continue;
        }
        await this.waitFor(follower, Math.min(this.heartbeatAt, progress.deadline!) - now);
        continue;
      }
      if (event.kind === 'closed') throw event.error;
      if (event.kind === 'lagged') {
        this.unfollow();
        return true;
      }
      const batch = event.batch;
      assert(batch.records[0]!.seqNum === progress.next, 'live batch does not continue the session');
      const kept = this.prefix(batch);
      if (kept.records.length > 0) {
        progress.next = kept.records[kept.records.length - 1]!.seqNum + 1;
        this.liveTail = batch.tail;
        this.heartbeatAt = clock.monotonicMs() + randInt(rand, heartbeatGapMsMin, heartbeatGapMsMax);
        yield this.deliver(RecordList.of(kept.records, kept.bytes), batch.tail);
      }
      // A batch cut by a limit or `until` ends the session; so does an exactly met limit.
      if (kept.records.length < batch.records.length || progress.countLeft <= 0 || progress.bytesLeft <= 0) {
        return false;
      }
    }
  }

  /**
   * Counts a batch against the limits, re-arms the wait deadline, and makes the output: the one
   * place where a read's records become what the api sends. The api encodes `list` as it is (for
   * stored blocks, straight from their bytes), so encrypted streams decrypt here and hand on a
   * materialised list (a failure ends the session).
   */
  private deliver(list: RecordList, tail: StreamPosition | undefined): ReadOutput {
    if (this.cipher) list = RecordList.of(this.cipher.openRecords(list.toArray()), list.bytes);
    const progress = this.progress;
    progress.countLeft -= list.length;
    progress.bytesLeft -= list.bytes;
    progress.deadline = this.ctx.clock.monotonicMs() + this.plan.waitMs;
    const output = {
      kind: 'batch' as const,
      get records(): SequencedRecord[] {
        return list.toArray();
      },
    };
    if (tail !== undefined) Object.assign(output, { tail });
    return withList(output, list);
  }

  /**
   * The push path's consumer (see setLiveSink), offered by the follower while `waitFor` waits.
   * The output is a plain object: `records` is the batch's own array (S2S frames of a live batch
   * are cached by it and shared between followers).
   */
  private readonly pushLive = (batch: LiveBatch): boolean => {
    const sink = this.liveSink;
    const progress = this.progress;
    const { records } = batch;
    if (sink === undefined || this.closed || records[0]!.seqNum !== progress.next) return false;
    // Cut or met exactly by a limit, or reaching `until`: the pull path delivers it and ends.
    if (records.length >= progress.countLeft || batch.bytes >= progress.bytesLeft) return false;
    const until = this.plan.until;
    if (until !== undefined && records[records.length - 1]!.timestamp >= until) return false;
    let output: ReadOutput;
    try {
      const opened = this.cipher ? this.cipher.openRecords(records) : records;
      const list = RecordList.of(opened, batch.bytes);
      output = { kind: 'batch', records: opened, list, tail: batch.tail };
      // A failure to open the records is met again (and ends the session) on the pull path.
      if (!sink(output)) return false;
    } catch {
      return false;
    }
    const now = this.ctx.clock.monotonicMs();
    progress.next = records[records.length - 1]!.seqNum + 1;
    progress.countLeft -= records.length;
    progress.bytesLeft -= batch.bytes;
    progress.deadline = now + this.plan.waitMs;
    this.liveTail = batch.tail;
    this.heartbeatAt = now + randInt(this.ctx.rand, heartbeatGapMsMin, heartbeatGapMsMax);
    return true;
  };

  /** Longest prefix of a live batch within the remaining limits and before `until`. */
  private prefix(batch: LiveBatch): { records: SequencedRecord[]; bytes: number } {
    const { records } = batch;
    const { countLeft, bytesLeft } = this.progress;
    const until = this.plan.until;
    // Timestamps never decrease in a stream, so the last record alone says whether `until` cuts.
    const beforeUntil = until === undefined || records[records.length - 1]!.timestamp < until;
    if (beforeUntil && records.length <= countLeft && batch.bytes <= bytesLeft) return batch;
    let bytes = 0;
    let n = 0;
    while (n < records.length && n < countLeft) {
      const record = records[n]!;
      if (until !== undefined && record.timestamp >= until) break;
      const size = meteredBytes(record);
      if (bytes + size > bytesLeft) break;
      bytes += size;
      n++;
    }
    return { records: records.slice(0, n), bytes };
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
        follower.onOffer(undefined);
        this.interrupt = undefined;
        resolve();
      };
      const timer = this.ctx.clock.setTimer(Math.max(0, timeoutMs), finish);
      follower.onReady(finish);
      if (this.liveSink !== undefined) follower.onOffer(this.pushLive);
      this.interrupt = finish;
    });
  }
}

/**
 * The unary read (api.md 8.5, lite-internals 3.13): gathers catch-up batches until the session
 * is caught up (first heartbeat) or ends; if that found nothing, waits for the first live batch
 * (returned with its `tail`) or the deadline (empty result).
 */
export async function collectUnary(session: ReadSession): Promise<UnaryRead> {
  let list: RecordList | undefined;
  try {
    for await (const output of session) {
      if (output.kind === 'heartbeat') {
        if (list) break;
        continue;
      }
      if (output.tail !== undefined) {
        assert(!list, 'a live batch after catch-up records in a unary read');
        return unaryRead(output.list, output.tail);
      }
      if (list) {
        list.append(output.list);
        output.list.release(); // `list` pinned its blocks again: one pin per list
      } else list = output.list;
    }
  } finally {
    session.close();
  }
  return unaryRead(list ?? new RecordList(), undefined);
}

/** A unary read's result: `records` materialises `list` on first access (see ReadOutput). */
export interface UnaryRead {
  records: SequencedRecord[];
  list: RecordList;
  tail?: StreamPosition;
}

function unaryRead(list: RecordList, tail: StreamPosition | undefined): UnaryRead {
  const read = {
    get records(): SequencedRecord[] {
      return list.toArray();
    },
  };
  if (tail !== undefined) Object.assign(read, { tail });
  return withList(read, list);
}

/** Adds `list` as a non-enumerable property: results still compare (and print) as `{ records, tail }`. */
function withList<T extends object>(target: T, list: RecordList): T & { list: RecordList } {
  return Object.defineProperty(target, 'list', { value: list, enumerable: false }) as T & { list: RecordList };
}
