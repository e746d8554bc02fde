/**
 * When the chunk writer may flush: a budget of flushes (object-store PUTs in S3 mode) instead of a
 * fixed tick (docs/configuration.md, "S3 cost model").
 *
 * A token bucket refills at one token per `intervalMs` up to `burst` tokens; a flush takes one. So
 * an append on an idle log finds a token and is flushed at once, paying one PUT, while under
 * sustained load flushes (and PUTs) per second stay at 1000 / intervalMs, as with the fixed tick.
 *
 * One exception keeps a lone sequential writer (one client that waits for each acknowledgement)
 * from waiting for tokens it cannot use: waiting pays off only when other commits arrive during
 * the wait and share the flush. When the last wait gathered a single commit and the writer is
 * idle (nothing in flight, nothing else pending), the next flush goes at once without a token.
 * That mode ends as soon as a commit arrives while a flush is in flight or commits are pending
 * (a second writer): then waiting saves PUTs again. Its cost is one PUT per commit, and since it
 * needs an idle writer, at most one PUT per PUT round trip.
 */

export class FlushBudget {
  private tokens: number;
  private refilledAtMs: number;
  /** The last wait for a token gathered one commit: a lone writer that waits for each ack. */
  private lone = false;
  private forced = false;

  constructor(
    /** One token per this many ms; 0 disables the budget (every flush goes at once). */
    private readonly intervalMs: number,
    private readonly burst: number,
    nowMs: number,
  ) {
    this.tokens = burst;
    this.refilledAtMs = nowMs;
  }

  /** Ms to wait before the next flush may start (0: now). `idle`: nothing in flight, one commit pending. */
  waitMs(nowMs: number, idle: boolean): number {
    if (this.intervalMs === 0 || this.forced) return 0;
    this.refill(nowMs);
    if (this.tokens >= 1) return 0;
    if (idle && this.lone) return 0;
    return Math.max(1, Math.ceil((1 - this.tokens) * this.intervalMs));
  }

  /** A flush started with `commits` commits; `waited`: it had to wait for a token. */
  flushed(nowMs: number, commits: number, waited: boolean): void {
    this.forced = false;
    if (this.intervalMs === 0) return;
    this.refill(nowMs);
    if (this.tokens >= 1) this.tokens -= 1;
    if (waited) this.lone = commits === 1;
  }

  /** A commit arrived while a flush was in flight or others were pending: more than one writer. */
  concurrent(): void {
    this.lone = false;
  }

  /** The next flush goes at once (closing). */
  force(): void {
    this.forced = true;
  }

  private refill(nowMs: number): void {
    if (nowMs <= this.refilledAtMs) return;
    this.tokens = Math.min(this.burst, this.tokens + (nowMs - this.refilledAtMs) / this.intervalMs);
    this.refilledAtMs = nowMs;
  }
}
