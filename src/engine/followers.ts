/**
 * Live followers of a stream (lite-internals 1.3 `follow_tx`, 7 "Broadcast with lag"). The
 * stream's streamer pushes every batch once it is durable; each follower buffers at most
 * `followerLagBatchesMax` batches. A follower that falls further behind is detached and marked
 * lagged, and its reader goes back to reading from storage, so a slow reader never makes the
 * writer buffer without bound. A close (terminal trim, storage failure) is delivered after the
 * batches already queued, so readers see the terminal trim record before the error.
 *
 * The set lives on the stream, not on its streamer: following is the read side's lease, and a
 * read never builds write state. A streamer that goes dormant and is rebuilt feeds the same set.
 */
import { followerLagBatchesMax } from '../limits.js';
import { metrics } from '../metrics.js';
import type { SequencedRecord, StreamPosition } from '../domain/types.js';

/** A durable append batch as followers receive it; `tail` is the stream tail right after it. */
export interface LiveBatch {
  records: SequencedRecord[];
  tail: StreamPosition;
  /** Metered size of `records` (api.md 6.4), as validated when they were appended. */
  bytes: number;
}

/** The followers of one stream. */
export class FollowerSet {
  private readonly members = new Set<Follower>();
  private readonly detach = (follower: Follower): void => {
    // Lagged: the reader goes back to storage (counted so operators see slow readers).
    if (this.members.delete(follower)) metrics.followers.dec();
    metrics.followerLagFallbacks.inc();
  };

  get size(): number {
    return this.members.size;
  }

  add(): Follower {
    const follower = new Follower(this.detach);
    this.members.add(follower);
    metrics.followers.inc();
    return follower;
  }

  remove(follower: Follower): void {
    if (this.members.delete(follower)) metrics.followers.dec();
  }

  /** Called by the streamer, in durability order. */
  push(batch: LiveBatch): void {
    for (const follower of this.members) follower.push(batch);
  }

  /** Ends every follower with `error`, after the batches already queued for it. */
  close(error: unknown): void {
    for (const follower of this.members) follower.close(error);
    metrics.followers.dec(this.members.size);
    this.members.clear();
  }
}

export type FollowerEvent =
  { kind: 'batch'; batch: LiveBatch } | { kind: 'lagged' } | { kind: 'closed'; error: unknown };

export class Follower {
  private queue: LiveBatch[] = [];
  private head = 0;
  private lagged = false;
  private closedWith: { error: unknown } | undefined;
  private wake: (() => void) | undefined;
  /**
   * The push path (see ReadSession.setLiveSink): while set, a batch arriving to an empty queue is
   * offered here first and, if taken, never queued. A refusal queues it as before.
   */
  private offer: ((batch: LiveBatch) => boolean) | undefined;

  constructor(
    private readonly detach: (follower: Follower) => void,
    private readonly maxLag = followerLagBatchesMax,
  ) {}

  /** Called by the streamer, in durability order. */
  push(batch: LiveBatch): void {
    if (this.lagged || this.closedWith) return;
    // Only to an empty queue: a batch never overtakes one queued before it.
    if (this.offer !== undefined && this.head === this.queue.length && this.offer(batch)) return;
    if (this.queue.length - this.head >= this.maxLag) {
      this.lagged = true;
      this.queue = [];
      this.head = 0;
      this.detach(this);
    } else {
      this.queue.push(batch);
    }
    this.notify();
  }

  /** Ends the subscription with `error`, after the batches already queued. */
  close(error: unknown): void {
    if (this.closedWith) return;
    this.closedWith = { error };
    this.notify();
  }

  /** The next event, or undefined if none is ready. */
  poll(): FollowerEvent | undefined {
    if (this.head < this.queue.length) {
      const batch = this.queue[this.head]!;
      this.queue[this.head] = undefined as unknown as LiveBatch;
      this.head += 1;
      if (this.head === this.queue.length) {
        this.queue = [];
        this.head = 0;
      }
      return { kind: 'batch', batch };
    }
    if (this.lagged) return { kind: 'lagged' };
    if (this.closedWith) return { kind: 'closed', error: this.closedWith.error };
    return undefined;
  }

  /** Registers the single callback run when an event becomes ready (replaces any earlier one). */
  onReady(wake: (() => void) | undefined): void {
    this.wake = wake;
  }

  /** Sets (or clears) the consumer offered each batch that arrives to an empty queue (see `offer`). */
  onOffer(offer: ((batch: LiveBatch) => boolean) | undefined): void {
    this.offer = offer;
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
