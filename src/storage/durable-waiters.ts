/**
 * The promises of `StreamLog.commit` and `barrier`: each waits for "durable through N" to reach
 * its ordinal, and all reject at once when the log stops. They settle from the same signal the
 * durability subscriber hears (storage/types.ts), so a promise never runs ahead of it.
 */
import { assert } from '../util/assert.js';
import { Queue } from '../util/queue.js';
import type { StorageError } from './errors.js';

interface Waiter {
  ordinal: number;
  resolve(): void;
  reject(error: StorageError): void;
}

export class DurableWaiters {
  private readonly waiting = new Queue<Waiter>();
  private durable = 0;
  private stopped: StorageError | null = null;

  /**
   * Resolves once every commit with an ordinal up to `ordinal` is durable; rejects with the stop
   * error if the log has stopped, or stops first. Ordinals never decrease from call to call
   * (commits and barriers wait for the latest submission).
   */
  wait(ordinal: number): Promise<void> {
    if (this.stopped) return Promise.reject(this.stopped);
    if (ordinal <= this.durable) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      assert(ordinal >= (this.waiting.last()?.ordinal ?? 0), 'durability waits come in ordinal order');
      this.waiting.push({ ordinal, resolve, reject });
    });
  }

  /** Every commit up to `ordinal` is durable. */
  through(ordinal: number): void {
    this.durable = ordinal;
    while (this.waiting.size > 0 && this.waiting.peek()!.ordinal <= ordinal) this.waiting.shift()!.resolve();
  }

  /** The log stopped: every waiter, present and future, rejects with `error`. */
  stop(error: StorageError): void {
    if (this.stopped) return;
    this.stopped = error;
    for (const waiter of this.waiting.clear()) waiter.reject(error);
  }
}
