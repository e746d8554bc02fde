/**
 * Dormancy of a streamer (lite-internals 1.2): it is released after `streamerDormantMs` with no
 * users (leases: append sessions between inputs) and nothing busy (appends in flight, replies
 * waiting). Activity restarts the period. A released streamer holds nothing that differs from
 * the durable state, so the next user rebuilds it exactly.
 *
 * One timer per period, not one per append: activity only notes its time, and the timer, when it
 * fires, sleeps again for what is left of the period since the last activity. Arming and
 * cancelling a timer on every append was ~0.5 KB of garbage per unary append (issue 14, W1).
 */
import { streamerDormantMs } from '../limits.js';
import type { Clock, Timer } from '../util/clock.js';

export class Dormancy {
  private users = 0;
  private timer: Timer | undefined;
  private stopped = false;
  /** When the streamer was last used or found idle: the period runs from here. */
  private lastActiveMs: number;

  constructor(
    private readonly clock: Clock,
    /** Whether the streamer has work in flight. */
    private readonly busy: () => boolean,
    /** Called once the period passed idle. */
    private readonly dormant: () => void,
  ) {
    this.lastActiveMs = clock.monotonicMs();
    this.arm(streamerDormantMs);
  }

  /** Keeps the streamer alive until the returned function is called. */
  lease(): () => void {
    this.users += 1;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.users -= 1;
      this.check();
    };
  }

  /** Activity: the dormancy period restarts from now (if the streamer is idle). */
  touch(): void {
    this.lastActiveMs = this.clock.monotonicMs();
    this.check();
  }

  /**
   * Restarts the period if the streamer is idle (after its last user or work went away). Work
   * starting needs no call: a timer that fires while the streamer is busy lets `check` re-arm.
   */
  check(): void {
    if (!this.idle()) return;
    this.lastActiveMs = this.clock.monotonicMs();
    this.arm(streamerDormantMs);
  }

  /** No dormancy any more (released, or failed and kept installed). */
  stop(): void {
    this.stopped = true;
    this.cancel();
  }

  private idle(): boolean {
    return this.users === 0 && !this.busy();
  }

  private arm(ms: number): void {
    if (this.timer || this.stopped) return;
    this.timer = this.clock.setTimer(ms, () => this.expire());
  }

  /** The timer fired: dormant if idle for a whole period, else wait out the rest of it. */
  private expire(): void {
    this.timer = undefined;
    if (this.stopped || !this.idle()) return;
    const idleMs = this.clock.monotonicMs() - this.lastActiveMs;
    if (idleMs >= streamerDormantMs) this.dormant();
    else this.arm(streamerDormantMs - idleMs);
  }

  private cancel(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }
}
