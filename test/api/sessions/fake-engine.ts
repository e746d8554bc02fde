/**
 * A small stand-in for the engine behind the session ports (src/api/sessions/ports.ts), so the
 * transports can be tested on their own: sequencing with match_seq_num, poisoning after the first
 * failure, an admission gate and a durability gate the test controls, and a read session fed by
 * the test.
 */
import type { AppendSessionPort, ReadSessionPort, SessionReadOutput } from '../../../src/api/sessions/ports.js';
import type { AppendAck, AppendInput, SequencedRecord } from '../../../src/domain/types.js';
import { AppendConditionFailed, errors } from '../../../src/domain/errors.js';

/** A promise-returning gate: open (resolves at once) or closed until `open()`. */
export class Gate {
  private waiters: (() => void)[] = [];
  constructor(private isOpen = true) {}
  wait(signal?: AbortSignal): Promise<void> {
    if (this.isOpen) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(errors.unavailable('aborted while waiting for admission'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }
  close() {
    this.isOpen = false;
  }
  open() {
    this.isOpen = true;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
  get waiting(): number {
    return this.waiters.length;
  }
}

export class FakeStream {
  /** Durable records. */
  readonly records: SequencedRecord[] = [];
  /** Next assignable seq_num (including sequenced, not yet durable inputs). */
  private next = 0;
  readonly admission = new Gate();
  readonly durability = new Gate();
  submitted = 0;
  sessionsOpen = 0;
  sessionsClosed = 0;

  session(): AppendSessionPort {
    let poisoned = false;
    let closed = false;
    this.sessionsOpen += 1;
    return {
      submit: async (input: AppendInput, signal: AbortSignal) => {
        this.submitted += 1;
        if (input.records.length === 0) {
          poisoned = true;
          throw errors.invalid('record batch must not be empty');
        }
        await this.admission.wait(signal);
        return {
          ack: this.sequence(
            input,
            () => poisoned,
            () => (poisoned = true),
          ),
        };
      },
      close: () => {
        if (closed) return;
        closed = true;
        this.sessionsClosed += 1;
      },
    };
  }

  private async sequence(input: AppendInput, isPoisoned: () => boolean, poison: () => void): Promise<AppendAck> {
    if (isPoisoned()) throw errors.other('request dropped');
    if (input.matchSeqNum !== undefined && input.matchSeqNum !== this.next) {
      poison();
      throw new AppendConditionFailed({ seqNumMismatch: this.next });
    }
    const start = this.next;
    this.next += input.records.length;
    const sequenced = input.records.map((r, i) => ({
      seqNum: start + i,
      timestamp: 1000n,
      headers: r.headers,
      body: r.body,
    }));
    await this.durability.wait();
    this.records.push(...sequenced);
    const tail = { seqNum: this.records.length, timestamp: 1000n };
    return { start: { seqNum: start, timestamp: 1000n }, end: { seqNum: this.next, timestamp: 1000n }, tail };
  }
}

/** A read session whose outputs the test pushes; records how many were pulled and whether it was closed. */
export class FakeReadSession implements ReadSessionPort {
  pulled = 0;
  closed = false;
  private queue: (SessionReadOutput | undefined | Error)[] = [];
  private wake: (() => void) | undefined;

  constructor(private readonly producer?: (index: number) => SessionReadOutput | undefined) {}

  push(output: SessionReadOutput | undefined | Error) {
    this.queue.push(output);
    this.notify();
  }

  async next(): Promise<SessionReadOutput | undefined> {
    if (this.producer) {
      if (this.closed) return undefined;
      // Yield like a real source would, so a server without backpressure could run away.
      await new Promise<void>((resolve) => setImmediate(resolve));
      return this.producer(this.pulled++);
    }
    while (this.queue.length === 0) {
      if (this.closed) return undefined;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    const item = this.queue.shift();
    this.pulled += 1;
    if (item instanceof Error) throw item;
    return item;
  }

  close() {
    this.closed = true;
    this.notify();
  }

  /** A `next()` waits on an empty queue (as an engine session waiting for live batches). */
  get waiting(): boolean {
    return this.wake !== undefined;
  }

  private notify() {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
