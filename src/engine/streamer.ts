/**
 * The streamer: one per active stream (lite-internals 1.2-1.4). It is the only writer of its
 * stream: it checks append conditions, assigns seq_nums and timestamps, applies command records,
 * and submits one log commit per append *without* waiting for the previous one (pipelining). The
 * durability router (durability.ts) reports its appends durable in submission order; each then
 * moves the durable tail, goes to the stream's followers, and releases the replies it covers
 * (replies.ts), so acks come out in sequencing order.
 *
 * Two positions matter: `next` (next assignable, including accepted-but-not-durable appends;
 * what match_seq_num compares with) and the durable tail kept in `StreamState.tail` (what
 * check-tail, reads and followers see).
 *
 * Lifecycle: appends and deletions create it on demand into `StreamState.runtime` (reads never
 * do); it is released when dormant (dormancy.ts), and everything it holds is then equal to the
 * durable state, so a new streamer rebuilds it exactly. After the log stops, the streamer stays
 * installed and refuses appends, since the stream's true durable tail is then unknown.
 */
import { AppendConditionFailed, errors, type S2Error } from '../domain/errors.js';
import { meteredBytes, type AppendAck, type SequencedRecord, type StreamPosition } from '../domain/types.js';
import { readBatchBytesMax, readBatchRecordsMax } from '../limits.js';
import { assert } from '../util/assert.js';
import { Queue } from '../util/queue.js';
import type { Append } from '../storage/types.js';
import type { EngineContext } from './context.js';
import { Dormancy } from './dormancy.js';
import type { FollowerSet, LiveBatch } from './followers.js';
import type { Submitted } from './durability.js';
import { assignTimestamps, type ValidatedAppend } from './records.js';
import { ReplyQueue } from './replies.js';
import { terminalTrimPoint, type StreamState, type StreamWriter } from './state.js';
import { appendNotDurable, streamUnavailable } from './storage-errors.js';
import { seqNumCapExceeded } from './encryption/stream-cipher.js';

const u64Max = 0xffff_ffff_ffff_ffffn;

/**
 * Followers' batches of a run of durable appends: consecutive appends share a batch within the
 * limits of one read batch (api.md 8.3). The first join copies the records array, which is also
 * the storage commit's and must not grow.
 */
class LiveRun {
  private batch: LiveBatch | undefined;
  private owned = false;

  constructor(private readonly followers: FollowerSet) {}

  add(done: Inflight): void {
    const batch = this.batch;
    if (
      batch === undefined ||
      batch.records.length + done.records.length > readBatchRecordsMax ||
      batch.bytes + done.bytes > readBatchBytesMax
    ) {
      this.flush();
      this.batch = { records: done.records, tail: done.end, bytes: done.bytes };
      return;
    }
    if (!this.owned) {
      batch.records = batch.records.slice();
      this.owned = true;
    }
    for (const record of done.records) batch.records.push(record);
    batch.tail = done.end;
    batch.bytes += done.bytes;
  }

  /** Pushes the batch being gathered, if any. */
  flush(): void {
    if (this.batch) this.followers.push(this.batch);
    this.batch = undefined;
    this.owned = false;
  }
}

/** Per-session state of an append session (lite-internals 1.5): ordering and poisoning. */
export interface SessionHandle {
  /** End seq_num of the session's last accepted append; its errors wait for that to be durable. */
  lastAckEnd: number;
  /** Set by the first rejection; later inputs of the session are dropped unsequenced. */
  poisoned: boolean;
}

/** An append submitted to the log and not yet durable. */
interface Inflight extends Submitted {
  records: SequencedRecord[];
  end: StreamPosition;
  /** Metered size of `records`, for followers' limits. */
  bytes: number;
  fencingToken?: string;
  trimPoint?: number;
  writtenAtMs: number;
  terminal: boolean;
}

/** What an append changes besides the tail. */
interface Changes {
  fencingToken?: string;
  trimPoint?: number;
  terminal: boolean;
}

/** The stream's streamer, created if needed. Throws 409 if the stream is being deleted. */
export function streamerOf(ctx: EngineContext, stream: StreamState): Streamer {
  const existing = stream.runtime;
  if (existing instanceof Streamer && !existing.released) return existing;
  if (stream.meta.deletedAtMs !== null || stream.trimPoint >= terminalTrimPoint) throw errors.streamDeletionPending();
  if (stream.terminalTrimDurable) throw errors.streamDeletionPending();
  const streamer = new Streamer(ctx, stream);
  stream.runtime = streamer;
  return streamer;
}

export class Streamer implements StreamWriter {
  private next: StreamPosition;
  private fencingToken: string;
  /** seq_num after the record that set the current token: a mismatch error depends on it. */
  private fencingAppliedEnd: number;
  private trimPoint: number;
  private terminal: Promise<void> | undefined;
  private readonly inflight = new Queue<Inflight>();
  private readonly replies = new ReplyQueue();
  private readonly dormancy: Dormancy;
  private failure: S2Error | undefined;
  /** Set once this streamer is no longer the stream's (dormant or terminated). */
  released = false;

  constructor(
    private readonly ctx: EngineContext,
    readonly stream: StreamState,
  ) {
    this.next = { ...stream.tail };
    this.fencingToken = stream.fencingToken;
    this.fencingAppliedEnd = stream.tail.seqNum;
    this.trimPoint = stream.trimPoint;
    this.dormancy = new Dormancy(
      ctx.clock,
      () => this.inflight.size > 0 || this.replies.size > 0,
      () => this.release(),
    );
  }

  get pendingCount(): number {
    return this.inflight.size;
  }

  /** Keeps the streamer alive until the returned function is called (append sessions). */
  lease(): () => void {
    return this.dormancy.lease();
  }

  /** Sequences a validated append now; resolves with its ack once durable (api.md 7.1). */
  append(input: ValidatedAppend, session?: SessionHandle): Promise<AppendAck> {
    assert(!this.released, 'append on a released streamer');
    this.dormancy.touch();
    if (this.failure) return Promise.reject(this.failure);
    if (session?.poisoned) return Promise.reject(errors.other('request dropped'));
    // Checks in the order of api.md 7.1 steps 3-6; each rejection is durability-gated.
    if (this.terminal) return this.reject(errors.streamDeletionPending(), 0, session);
    if (input.fencingToken !== undefined && input.fencingToken !== this.fencingToken) {
      const error = new AppendConditionFailed({ fencingTokenMismatch: this.fencingToken });
      return this.reject(error, this.fencingAppliedEnd, session);
    }
    if (input.matchSeqNum !== undefined && input.matchSeqNum !== this.next.seqNum) {
      const error = new AppendConditionFailed({ seqNumMismatch: this.next.seqNum });
      return this.reject(error, this.next.seqNum, session);
    }
    if (this.next.seqNum + input.records.length >= terminalTrimPoint) {
      return this.reject(errors.invalid('stream has reached the maximum sequence number'), 0, session);
    }
    const nowMs = this.ctx.clock.nowMs();
    let records: SequencedRecord[];
    try {
      records = assignTimestamps(input.records, this.next, this.stream.meta.config.timestamping, nowMs);
    } catch (error) {
      return this.reject(error, 0, session);
    }
    // Encryption: AES-256-GCM streams cap envelope seq_nums (api.md 7.1 step 7; commands are exempt).
    if (input.seqNumCap && this.next.seqNum + input.seqNumCap.lastEnvelope > input.seqNumCap.max) {
      const attempted = this.next.seqNum + input.seqNumCap.lastEnvelope;
      return this.reject(seqNumCapExceeded(input.seqNumCap.max, attempted), 0, session);
    }
    let fencingToken: string | undefined;
    let trimPoint: number | undefined;
    if (input.commands) {
      for (let i = 0; i < input.commands.length; i++) {
        const command = input.commands[i];
        if (!command) continue;
        const seqNum = records[i]!.seqNum;
        if (command.kind === 'fence') {
          // A new token applies to every later batch from now on, not from durability (api.md 6.3).
          fencingToken = command.token;
          this.fencingToken = command.token;
          this.fencingAppliedEnd = seqNum + 1;
        } else {
          // Trim point = min(requested, own seq + 1), and it only moves forward (api.md 6.3).
          const point = Math.min(command.trimPoint, seqNum + 1);
          if (point > this.trimPoint) {
            this.trimPoint = point;
            trimPoint = point;
          }
        }
      }
    }
    const ack = this.submit(records, nowMs, input.meteredBytes, { fencingToken, trimPoint, terminal: false });
    if (session) session.lastAckEnd = this.next.seqNum;
    return ack;
  }

  /**
   * Stream deletion (api.md 12.2, lite-internals 3.3): appends a trim to u64::MAX whose client
   * timestamp u64::MAX goes through the normal timestamping (so it is capped unless `uncapped`).
   * Appends sequenced after it get 409. Resolves once durable; repeated calls share it.
   */
  terminalTrim(): Promise<void> {
    assert(!this.released, 'terminal trim on a released streamer');
    if (this.terminal) return this.terminal;
    if (this.failure) return Promise.reject(this.failure);
    const body = new Uint8Array(8).fill(0xff);
    const record = { timestamp: u64Max, headers: [[new Uint8Array(0), new TextEncoder().encode('trim')]], body };
    const nowMs = this.ctx.clock.nowMs();
    const records = assignTimestamps(
      [record] as ValidatedAppend['records'],
      this.next,
      this.stream.meta.config.timestamping,
      nowMs,
    );
    this.trimPoint = terminalTrimPoint;
    const changes = { trimPoint: terminalTrimPoint, terminal: true };
    this.terminal = this.submit(records, nowMs, meteredBytes(records[0]!), changes).then(() => undefined);
    return this.terminal;
  }

  private reject(error: unknown, dependency: number, session?: SessionHandle): Promise<never> {
    if (session) {
      session.poisoned = true;
      dependency = Math.max(dependency, session.lastAckEnd);
    }
    if (dependency <= this.stream.tail.seqNum) {
      this.dormancy.check();
      return Promise.reject(error);
    }
    return this.replies.reject(error, dependency);
  }

  private submit(records: SequencedRecord[], nowMs: number, bytes: number, changes: Changes): Promise<AppendAck> {
    const first = records[0]!;
    const last = records[records.length - 1]!;
    const end = { seqNum: last.seqNum + 1, timestamp: last.timestamp };
    assert(first.seqNum === this.next.seqNum, 'append does not start at the next assignable seq_num');
    const retention = this.stream.meta.config.retentionPolicy;
    const mutation: Append = {
      kind: 'append',
      stream: this.stream.id,
      records,
      tail: end,
      writtenAtMs: nowMs,
      expiresAtMs: retention.kind === 'age' ? nowMs + retention.ageSecs * 1000 : null,
    };
    if (changes.fencingToken !== undefined) mutation.fencingToken = changes.fencingToken;
    if (changes.trimPoint !== undefined) mutation.trimPoint = changes.trimPoint;
    let ordinal: number;
    try {
      ordinal = this.ctx.log.submit([mutation]);
    } catch (error) {
      // The log stopped under us, or refused a malformed commit (a bug): this stream's state is unknown.
      this.fail(error);
      return Promise.reject(appendNotDurable(error));
    }
    this.next = end;
    const entry: Inflight = {
      ordinal,
      writer: this,
      records,
      end,
      bytes,
      writtenAtMs: nowMs,
      terminal: changes.terminal,
    };
    if (changes.fencingToken !== undefined) entry.fencingToken = changes.fencingToken;
    if (changes.trimPoint !== undefined) entry.trimPoint = changes.trimPoint;
    this.inflight.push(entry);
    this.ctx.durability.track(entry);
    return this.replies.ack({ seqNum: first.seqNum, timestamp: first.timestamp }, end);
  }

  /**
   * The oldest `count` appends in flight are durable: move the durable tail, release their
   * replies, feed followers. Followers get the run as few batches as the read batch limits allow:
   * one batch per append meant one frame and one `writev` per record for every live reader of an
   * S2S session of one-record inputs (W4/session profile: `writev` 21% of the server's time).
   */
  durable(count: number): void {
    if (this.failure) return;
    const stream = this.stream;
    const live = stream.followers && new LiveRun(stream.followers);
    for (let i = 0; i < count; i++) {
      const done = this.inflight.shift()!;
      assert(done.records[0]!.seqNum === stream.tail.seqNum, 'durable batch does not continue the durable tail');
      stream.tail = done.end;
      stream.lastWriteMs = done.writtenAtMs;
      if (done.fencingToken !== undefined) stream.fencingToken = done.fencingToken;
      if (done.trimPoint !== undefined && done.trimPoint > stream.trimPoint) stream.trimPoint = done.trimPoint;
      live?.add(done);
      this.replies.release(done.end);
      if (done.terminal) {
        live?.flush();
        stream.terminalTrimDurable = true;
        // Followers get the terminal trim record, then `unavailable` (api.md 8.7).
        stream.followers?.close(errors.unavailable('stream deleted'));
        this.release();
        return;
      }
    }
    live?.flush();
    this.dormancy.check();
  }

  /**
   * The log stopped (or refused this stream's commit): the appends in flight are indefinite and
   * fail with `storage`, queued rejections too (their basis may be lost), followers end, and the
   * stream refuses further appends with `unavailable` because its true tail is unknown until
   * restart.
   */
  fail(error: unknown): void {
    if (this.failure) return;
    this.failure = streamUnavailable(error);
    this.inflight.clear();
    this.replies.failAll(appendNotDurable(error));
    this.stream.followers?.close(this.failure);
    this.dormancy.stop();
  }

  /** Engine shutdown: no timer is left armed. Appends in flight still settle when the log flushes on close. */
  shutdown(): void {
    this.release();
  }

  /** Drops the streamer from its stream; the next user builds a fresh one from durable state. */
  private release(): void {
    this.released = true;
    this.dormancy.stop();
    if (this.stream.runtime === this) this.stream.runtime = undefined;
  }
}
