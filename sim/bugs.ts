/**
 * Bugs the simulation must catch, injected in the simulation only: each wraps the stream log a
 * simulated process uses (the `StreamLog` seam of storage/types.ts), so production code is
 * unchanged. `npm run sim -- --bug NAME` runs seeds with one of them; test/sim proves each is
 * caught within the CI seed budget.
 */
import type { DurabilitySubscriber, Mutation, RecoveredState, StreamLog } from '../src/storage/types.js';

export type BugName = 'ack-before-durable' | 'forget-fencing-token';

export const bugNames: BugName[] = ['ack-before-durable', 'forget-fencing-token'];

/** Delegates everything to the real log; bugs override one method. */
class LogWrapper implements StreamLog {
  constructor(protected readonly inner: StreamLog) {}
  recovered(): RecoveredState {
    return this.inner.recovered();
  }
  subscribe(subscriber: DurabilitySubscriber): void {
    this.inner.subscribe(subscriber);
  }
  submit(mutations: Mutation[]): number {
    return this.inner.submit(mutations);
  }
  commit(mutations: Mutation[]): Promise<void> {
    return this.inner.commit(mutations);
  }
  barrier(): Promise<void> {
    return this.inner.barrier();
  }
  read: StreamLog['read'] = (request) => this.inner.read(request);
  seqNumForTimestamp: StreamLog['seqNumForTimestamp'] = (...args) => this.inner.seqNumForTimestamp(...args);
  status: StreamLog['status'] = () => this.inner.status();
  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * Reports a commit durable as soon as it is submitted (on the next turn, as a fast flush would):
 * the engine acknowledges the append, moves the tail that check-tail and reads see, and a crash
 * before the chunk lands loses an acknowledged record.
 */
class AckBeforeDurable extends LogWrapper {
  private subscriber: DurabilitySubscriber | undefined;
  private reported = 0;

  override subscribe(subscriber: DurabilitySubscriber): void {
    this.subscriber = subscriber;
    this.inner.subscribe({
      durableThrough: (ordinal) => this.report(ordinal),
      failed: (error) => subscriber.failed(error),
    });
  }

  override submit(mutations: Mutation[]): number {
    const ordinal = this.inner.submit(mutations);
    void Promise.resolve().then(() => this.report(ordinal));
    return ordinal;
  }

  override commit(mutations: Mutation[]): Promise<void> {
    this.inner.commit(mutations).catch(() => {});
    return Promise.resolve();
  }

  /** Ordinals reach the engine once each and in order, whichever of the two reports first. */
  private report(ordinal: number): void {
    if (ordinal <= this.reported) return;
    this.reported = ordinal;
    this.subscriber?.durableThrough(ordinal);
  }
}

/**
 * Recovery forgets every stream's fencing token (it comes back as ""): after a restart, an append
 * carrying a stale token, or "", is accepted although a fence set another one.
 */
class ForgetFencingToken extends LogWrapper {
  override recovered(): RecoveredState {
    const state = this.inner.recovered();
    return { ...state, streams: state.streams.map((stream) => ({ ...stream, fencingToken: '' })) };
  }
}

export function injectBug(bug: BugName | undefined): ((log: StreamLog) => StreamLog) | undefined {
  switch (bug) {
    case undefined:
      return undefined;
    case 'ack-before-durable':
      return (log) => new AckBeforeDurable(log);
    case 'forget-fencing-token':
      return (log) => new ForgetFencingToken(log);
  }
}
