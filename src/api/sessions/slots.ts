/**
 * The caps on concurrent streaming sessions: `streamingSessionsMax` in all, and
 * `streamingSessionsPerConnectionMax` per connection (an HTTP/2 connection multiplexes many), so
 * that one client cannot take every slot and lock the others out. A session takes a slot before
 * its response starts and gives it back when it ends, whatever the reason.
 */
import { errors } from '../../domain/errors.js';
import { streamingSessionsPerConnectionMax } from '../../limits.js';

export class SessionSlots {
  private active = 0;
  private readonly byConnection = new WeakMap<object, number>();

  /** Adjustable at run time (tests lower them); sessions already open are not affected. */
  constructor(
    public max: number,
    public perConnectionMax = streamingSessionsPerConnectionMax,
  ) {}

  get inUse(): number {
    return this.active;
  }

  /**
   * Takes a slot for a session on `connection` (the HTTP/1.1 socket or HTTP/2 session), or throws
   * 503 `unavailable` (an ordinary JSON response: nothing streamed yet).
   */
  acquire(connection: object): () => void {
    const mine = this.byConnection.get(connection) ?? 0;
    if (mine >= this.perConnectionMax) {
      throw errors.unavailable(
        `too many concurrent streaming sessions on this connection (at most ${this.perConnectionMax}); open another connection`,
      );
    }
    if (this.active >= this.max) {
      throw errors.unavailable(`too many concurrent streaming sessions (at most ${this.max})`);
    }
    this.active += 1;
    this.byConnection.set(connection, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active -= 1;
      this.byConnection.set(connection, (this.byConnection.get(connection) ?? 1) - 1);
    };
  }
}
