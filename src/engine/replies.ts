/**
 * A streamer's replies, released in sequencing order (lite-internals 1.4). Each waits until the
 * durable tail reaches its dependency: an ack, the end of the append it acknowledges; a
 * rejection, the end of the append whose effect it reports (a fencing token, a seq_num), so a
 * rejection is never caused by state that could still be lost. Equal dependencies keep the order
 * in which they were queued.
 */
import type { AppendAck, StreamPosition } from '../domain/types.js';
import { Queue } from '../util/queue.js';

interface Reply {
  /** Released once the durable tail's seq_num reaches this. */
  dependency: number;
  release: (tail: StreamPosition) => void;
  fail: (error: unknown) => void;
}

export class ReplyQueue {
  /** Sorted by dependency; equal dependencies keep sequencing order. */
  private readonly queue = new Queue<Reply>();

  get size(): number {
    return this.queue.size;
  }

  /** The ack of an append of [start, end), once the durable tail reaches `end`. */
  ack(start: StreamPosition, end: StreamPosition): Promise<AppendAck> {
    return new Promise<AppendAck>((resolve, reject) => {
      this.enqueue({ dependency: end.seqNum, release: (tail) => resolve({ start, end, tail }), fail: reject });
    });
  }

  /** Rejects with `error` once the durable tail reaches `dependency`. */
  reject(error: unknown, dependency: number): Promise<never> {
    return new Promise<never>((_, reject) => this.enqueue({ dependency, release: () => reject(error), fail: reject }));
  }

  /** Releases every reply the durable `tail` now covers. */
  release(tail: StreamPosition): void {
    while (this.queue.size > 0 && this.queue.peek()!.dependency <= tail.seqNum) this.queue.shift()!.release(tail);
  }

  /** Fails every waiting reply with `error` (their basis may be lost). */
  failAll(error: unknown): void {
    for (const reply of this.queue.clear()) reply.fail(error);
  }

  private enqueue(reply: Reply): void {
    this.queue.insertSorted(reply, (r) => r.dependency);
  }
}
