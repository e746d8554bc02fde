/**
 * Time is injected everywhere below the CLI so tests can run the engine on a fake clock
 * (dormancy, heartbeats, wait budgets, retention) without sleeping.
 */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Wall-clock milliseconds since the Unix epoch (record timestamps, retention). */
  nowMs(): number;
  /** Monotonic milliseconds for measuring intervals; never goes backwards. */
  monotonicMs(): number;
  /** Runs `fn` after `ms` milliseconds unless cancelled. */
  setTimer(ms: number, fn: () => void): Timer;
  /** Resolves after `ms` milliseconds. */
  sleep(ms: number): Promise<void>;
  /**
   * Runs `fn` once the I/O already received in this turn of the event loop has been handled
   * (Node's `setImmediate`): how the group commit lets every request that arrived together join
   * one chunk, and how long work yields so requests are not starved.
   */
  afterIo(fn: () => void): void;
}

/** Resolves on the clock's `afterIo`: a long task's way to let waiting I/O run. */
export function yieldToIo(clock: Clock): Promise<void> {
  return new Promise<void>((resolve) => clock.afterIo(resolve));
}

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
  setTimer(ms, fn) {
    const handle = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(handle) };
  },
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  afterIo: (fn) => void setImmediate(fn),
};

/**
 * A clock that only moves when a test advances it. Timers fire in deadline order during `advance`.
 *
 * `afterIo` callbacks queue here, in order, and run on the real event loop's next check phase (so
 * commits keep flowing in tests that never advance time) or when `runAfterIo()` asks, so a test or
 * a simulation can see and decide when they run.
 */
export class ManualClock implements Clock {
  private wallMs: number;
  private monoMs = 0;
  private timers: { at: number; seq: number; fn: () => void; cancelled: boolean }[] = [];
  private seq = 0;
  private afterIoQueue: (() => void)[] = [];

  constructor(startWallMs = 1_700_000_000_000) {
    this.wallMs = startWallMs;
  }

  nowMs(): number {
    return this.wallMs;
  }

  monotonicMs(): number {
    return this.monoMs;
  }

  setTimer(ms: number, fn: () => void): Timer {
    const timer = { at: this.monoMs + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => (timer.cancelled = true) };
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimer(ms, resolve));
  }

  afterIo(fn: () => void): void {
    this.afterIoQueue.push(fn);
    if (this.afterIoQueue.length === 1) setImmediate(() => this.runAfterIo());
  }

  /** Runs the `afterIo` callbacks queued so far, in order; returns how many ran. */
  runAfterIo(): number {
    const due = this.afterIoQueue;
    this.afterIoQueue = [];
    for (const fn of due) fn();
    return due.length;
  }

  /** Number of `afterIo` callbacks waiting. */
  pendingAfterIo(): number {
    return this.afterIoQueue.length;
  }

  /** Number of timers still armed. */
  pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /**
   * Moves time forward by `ms`, firing due timers in order. Between timers it yields to the
   * event loop so promise chains started by a timer run before the next one fires.
   */
  async advance(ms: number): Promise<void> {
    const target = this.monoMs + ms;
    for (;;) {
      await flushMicrotasks();
      this.timers = this.timers.filter((t) => !t.cancelled);
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers[0];
      if (!next || next.at > target) break;
      this.timers.shift();
      this.wallMs += next.at - this.monoMs;
      this.monoMs = next.at;
      next.fn();
    }
    this.wallMs += target - this.monoMs;
    this.monoMs = target;
    await flushMicrotasks();
  }
}

async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
