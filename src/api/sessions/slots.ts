/**
 * The cap on concurrent streaming sessions (`streamingSessionsMax`): a session takes a slot before
 * its response starts and gives it back when it ends, whatever the reason.
 */
import { errors } from '../../domain/errors.js';

export class SessionSlots {
  private active = 0;

  /** Adjustable at run time (tests lower it); sessions already open are not affected. */
  constructor(public max: number) {}

  get inUse(): number {
    return this.active;
  }

  /** Takes a slot, or throws 503 `unavailable` (an ordinary JSON response: nothing streamed yet). */
  acquire(): () => void {
    if (this.active >= this.max) {
      throw errors.unavailable(`too many concurrent streaming sessions (at most ${this.max})`);
    }
    this.active += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active -= 1;
    };
  }
}
