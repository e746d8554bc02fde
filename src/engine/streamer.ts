/**
 * The streamer: one per active stream (lite-internals 1.2-1.4). It is the only writer of its
 * stream: it checks append conditions, assigns seq_nums and timestamps, applies command records,
 * and submits one log commit per append *without* waiting for the previous one (pipelining; the
 * log resolves commits in submission order). Replies are released only once the commit they
 * depend on is durable, in dependency order, so acks come out in sequencing order and a
 * rejection is never caused by state that could still be lost (lite-internals 1.4).
 *
 * Two positions matter: `next` (next assignable, including accepted-but-not-durable appends;
 * what match_seq_num compares with) and the durable tail kept in `StreamState.tail` (what
 * check-tail, reads and followers see). Followers receive each batch after it is durable.
 *
 * Lifecycle: created on demand into `StreamState.runtime`, released after `streamerDormantMs`
 * with no users, nothing in flight and no followers; everything it holds is then equal to the
 * durable state, so a new streamer rebuilds it exactly. After a failed commit the streamer stays
 * installed and refuses appends, since the stream's true durable tail is then unknown.
 */
import { AppendConditionFailed, errors, S2Error } from '../domain/errors.js';
import { streamerDormantMs } from '../limits.js';
import { metrics } from '../metrics.js';
import { assert } from '../util/assert.js';
import type { Timer } from '../util/clock.js';
import type { Append } from '../storage/types.js';
import type { EngineContext } from './context.js';
import { Follower, type LiveBatch } from './followers.js';
import { Queue } from './queue.js';
import { assignTimestamps, type ValidatedAppend } from './records.js';
import { terminalTrimPoint, type StreamState } from './state.js';
import type { AppendAck, SequencedRecord, StreamPosition } from '../domain/types.js';

const u64Max = 0xffff_ffff_ffff_ffffn;

/** Per-session state of an append session (lite-internals 1.5): ordering and poisoning. */
export interface SessionHandle {
  /** End seq_num of the session's last accepted append; its errors wait for that to be durable. */
  lastAckEnd: number;
  /** Set by the first rejection; later inputs of the session are dropped unsequenced. */
  poisoned: boolean;
}

interface Inflight {
  records: SequencedRecord[];
  end: StreamPosition;
  fencingToken?: string;
  trimPoint?: number;
  writtenAtMs: number;
  terminal: boolean;
  durable: boolean;
}

interface Reply {
  /** Released once the durable tail's seq_num reaches this. */
  dependency: number;
  release: (tail: StreamPosition) => void;
  fail: (error: unknown) => void;
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

/** True if the stream has appends sequenced but not yet durable (delete-on-empty must wait). */
export function hasPendingAppends(stream: StreamState): boolean {
  const runtime = stream.runtime;
  return runtime instanceof Streamer && !runtime.released && runtime.pendingCount > 0;
}

export class Streamer {
  private next: StreamPosition;
  private fencingToken: string;
  /** seq_num after the record that set the current token: a mismatch error depends on it. */
  private fencingAppliedEnd: number;
  private trimPoint: number;
  private terminal: Promise<void> | undefined;
  private readonly inflight = new Queue<Inflight>();
  /** Sorted by dependency; equal dependencies keep sequencing order. */
  private readonly replies = new Queue<Reply>();
  private readonly followers = new Set<Follower>();
  private users = 0;
  private failure: S2Error | undefined;
  private idleTimer: Timer | undefined;
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
    this.armIdleTimer();
  }

  get pendingCount(): number {
    return this.inflight.size;
  }

  /** Keeps the streamer alive until the returned function is called (read/append sessions). */
  lease(): () => void {
    this.users += 1;
    this.cancelIdleTimer();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.users -= 1;
      this.maybeIdle();
    };
  }

  /** Sequences a validated append now; resolves with its ack once durable (api.md 7.1). */
  append(input: ValidatedAppend, session?: SessionHandle): Promise<AppendAck> {
    assert(!this.released, 'append on a released streamer');
    this.touch();
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
    const ack = this.submit(records, nowMs, { fencingToken, trimPoint, terminal: false });
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
    this.terminal = this.submit(records, nowMs, { trimPoint: terminalTrimPoint, terminal: true }).then(() => undefined);
    return this.terminal;
  }

  /**
   * Subscribes a reader at exactly the durable tail (lite-internals 1.6 "At tail"). Returns the
   * newer durable tail instead if `startSeqNum` is behind it (the reader catches up first).
   */
  follow(startSeqNum: number): Follower | StreamPosition {
    if (this.failure) throw errors.unavailable(this.failure.message);
    if (this.released) throw errors.unavailable('stream is no longer served (deleted)');
    if (this.ctx.shuttingDown) throw errors.unavailable('server shutting down');
    const tail = this.stream.tail;
    assert(startSeqNum <= tail.seqNum, 'follower start beyond the durable tail');
    if (startSeqNum < tail.seqNum) return { ...tail };
    const follower = new Follower((f) => {
      // Lagged: the reader goes back to storage (counted so operators see slow readers).
      if (this.followers.delete(f)) metrics.followers.dec();
      metrics.followerLagFallbacks.inc();
    });
    this.followers.add(follower);
    metrics.followers.inc();
    this.cancelIdleTimer();
    return follower;
  }

  unfollow(follower: Follower): void {
    if (this.followers.delete(follower)) {
      metrics.followers.dec();
      this.maybeIdle();
    }
  }

  private reject(error: unknown, dependency: number, session?: SessionHandle): Promise<never> {
    if (session) {
      session.poisoned = true;
      dependency = Math.max(dependency, session.lastAckEnd);
    }
    if (dependency <= this.stream.tail.seqNum) {
      this.maybeIdle();
      return Promise.reject(error);
    }
    return new Promise<never>((_, reject) =>
      this.enqueueReply({ dependency, release: () => reject(error), fail: reject }),
    );
  }

  private submit(
    records: SequencedRecord[],
    nowMs: number,
    changes: { fencingToken?: string; trimPoint?: number; terminal: boolean },
  ): Promise<AppendAck> {
    const first = records[0]!;
    const last = records[records.length - 1]!;
    const end = { seqNum: last.seqNum + 1, timestamp: last.timestamp };
    assert(first.seqNum === this.next.seqNum, 'append does not start at the next assignable seq_num');
    this.next = end;
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
    const entry: Inflight = { records, end, writtenAtMs: nowMs, terminal: changes.terminal, durable: false };
    if (changes.fencingToken !== undefined) entry.fencingToken = changes.fencingToken;
    if (changes.trimPoint !== undefined) entry.trimPoint = changes.trimPoint;
    this.inflight.push(entry);
    this.cancelIdleTimer();
    const start = { seqNum: first.seqNum, timestamp: first.timestamp };
    const ack = new Promise<AppendAck>((resolve, reject) => {
      this.enqueueReply({ dependency: end.seqNum, release: (tail) => resolve({ start, end, tail }), fail: reject });
    });
    this.ctx.log.commit([mutation]).then(
      () => this.onDurable(entry),
      (error: unknown) => this.onCommitFailed(error),
    );
    return ack;
  }

  /** Inserts keeping `replies` sorted by dependency, after equal ones (sequencing order). */
  private enqueueReply(reply: Reply): void {
    this.replies.insertSorted(reply, (r) => r.dependency);
  }

  private onDurable(entry: Inflight): void {
    if (this.failure) return;
    entry.durable = true;
    const stream = this.stream;
    let terminalDurable = false;
    while (this.inflight.peek()?.durable) {
      const done = this.inflight.shift()!;
      assert(done.records[0]!.seqNum === stream.tail.seqNum, 'durable batch does not continue the durable tail');
      stream.tail = done.end;
      stream.lastWriteMs = done.writtenAtMs;
      if (done.fencingToken !== undefined) stream.fencingToken = done.fencingToken;
      if (done.trimPoint !== undefined && done.trimPoint > stream.trimPoint) stream.trimPoint = done.trimPoint;
      if (done.terminal) {
        stream.terminalTrimDurable = true;
        terminalDurable = true;
      }
      const batch: LiveBatch = { records: done.records, tail: done.end };
      for (const follower of this.followers) follower.push(batch);
    }
    this.releaseReplies();
    if (terminalDurable) {
      // Followers get the terminal trim record, then `unavailable` (api.md 8.7).
      for (const follower of this.followers) follower.close(errors.unavailable('stream deleted'));
      metrics.followers.dec(this.followers.size);
      this.followers.clear();
      this.release();
      return;
    }
    this.maybeIdle();
  }

  private releaseReplies(): void {
    const tail = this.stream.tail;
    while (this.replies.size > 0 && this.replies.peek()!.dependency <= tail.seqNum) {
      this.replies.shift()!.release(tail);
    }
  }

  /**
   * A rejected commit is indefinite (storage/types.ts): this append and every later one in flight
   * fail with `storage`, queued rejections too (their basis may be lost), and the stream refuses
   * further appends with `unavailable` because its true tail is unknown until restart. The
   * engine also calls this on every streamer when the log reports itself failed.
   */
  onCommitFailed(error: unknown): void {
    if (this.failure) return;
    const reason = error instanceof Error ? error.message : String(error);
    const failed = errors.storage(`append could not be made durable: ${reason}`);
    this.failure = errors.unavailable(`stream unavailable after a storage failure: ${reason}`);
    this.inflight.clear();
    for (const reply of this.replies.clear()) reply.fail(failed);
    for (const follower of this.followers) follower.close(this.failure);
    metrics.followers.dec(this.followers.size);
    this.followers.clear();
    this.cancelIdleTimer();
  }

  private isIdle(): boolean {
    return this.users === 0 && this.inflight.size === 0 && this.replies.size === 0 && this.followers.size === 0;
  }

  /** Activity: the dormancy period restarts from now. */
  private touch(): void {
    this.cancelIdleTimer();
    this.maybeIdle();
  }

  private maybeIdle(): void {
    if (this.isIdle()) this.armIdleTimer();
  }

  private armIdleTimer(): void {
    if (this.idleTimer || this.released || this.failure) return;
    this.idleTimer = this.ctx.clock.setTimer(streamerDormantMs, () => {
      this.idleTimer = undefined;
      if (this.isIdle() && !this.failure) this.release();
    });
  }

  private cancelIdleTimer(): void {
    this.idleTimer?.cancel();
    this.idleTimer = undefined;
  }

  /**
   * Engine shutdown: followers end with `unavailable` and no timer is left armed. Appends in
   * flight still settle when the log flushes them on close.
   */
  shutdown(): void {
    this.endFollowers('server shutting down');
    this.release();
  }

  /** Ends every live follower with `unavailable` (after the batches already queued for it). */
  endFollowers(reason: string): void {
    for (const follower of this.followers) follower.close(errors.unavailable(reason));
    metrics.followers.dec(this.followers.size);
    this.followers.clear();
  }

  /** Drops the streamer from its stream; the next user builds a fresh one from durable state. */
  private release(): void {
    this.released = true;
    this.cancelIdleTimer();
    if (this.stream.runtime === this) this.stream.runtime = undefined;
  }
}
