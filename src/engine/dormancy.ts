/**
 * Dormancy of a streamer (lite-internals 1.2): it is released after `streamerDormantMs` with no
 * users (leases: append sessions between inputs) and nothing busy (appends in flight, replies
 * waiting). Activity restarts the period. A released streamer holds nothing that differs from
 * the durable state, so the next user rebuilds it exactly.
 */
import { streamerDormantMs } from '../limits.js';
import type { Clock, Timer } from '../util/clock.js';

export class Dormancy {
  private users = 0;
  private timer: Timer | undefined;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    /** Whether the streamer has work in flight. */
    private readonly busy: () => boolean,
    /** Called once the period passed idle. */
    private readonly dormant: () => void,
  ) {
    this.arm();
  }

  /** Keeps the streamer alive until the returned function is called. */
  lease(): () => void {
    this.users += 1;
    this.cancel();
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
    this.cancel();
    this.check();
  }

  /** Work started: no dormancy until `check` finds the streamer idle again. */
  hold(): void {
    this.cancel();
  }

  /** Arms the period if the streamer is idle (after its last user or work went away). */
  check(): void {
    if (this.idle()) this.arm();
  }

  /** No dormancy any more (released, or failed and kept installed). */
  stop(): void {
    this.stopped = true;
    this.cancel();
  }

  private idle(): boolean {
    return this.users === 0 && !this.busy();
  }

  private arm(): void {
    if (this.timer || this.stopped) return;
    this.timer = this.clock.setTimer(streamerDormantMs, () => {
      this.timer = undefined;
      if (this.idle() && !this.stopped) this.dormant();
    });
  }

  private cancel(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }
}
