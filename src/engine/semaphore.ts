/**
 * FIFO counting semaphore for the global in-flight append budget (`--append-inflight-bytes`,
 * api.md 7.1 "Admission control", lite-internals 1.8). Fair like tokio's: once a request is
 * queued, later requests queue behind it even if they would fit, so a large batch is never
 * starved by a stream of small ones.
 */
import { assert } from '../util/assert.js';
import { errors } from '../domain/errors.js';

interface Waiter {
  permits: number;
  resolve: () => void;
  reject: (error: unknown) => void;
  cleanup?: () => void;
}

export class Semaphore {
  private available: number;
  private readonly waiters: Waiter[] = [];
  private head = 0;

  constructor(readonly capacity: number) {
    assert(Number.isSafeInteger(capacity) && capacity > 0, 'semaphore capacity must be a positive integer');
    this.available = capacity;
  }

  /** Permits not currently held (for tests and metrics). */
  get free(): number {
    return this.available;
  }

  /** Number of acquisitions waiting. */
  get queued(): number {
    return this.waiters.length - this.head;
  }

  /**
   * Takes `permits` (clamped to the capacity, so one oversize request can still proceed alone).
   * Returns `undefined` when granted synchronously, else a promise that resolves in FIFO order.
   * An aborted wait rejects with `unavailable` and takes nothing.
   */
  acquire(permits: number, signal?: AbortSignal): Promise<void> | undefined {
    const n = Math.min(Math.max(1, permits), this.capacity);
    if (this.queued === 0 && this.available >= n) {
      this.available -= n;
      return undefined;
    }
    if (signal?.aborted) return Promise.reject(errors.unavailable('request aborted while waiting for admission'));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { permits: n, resolve, reject };
      if (signal) {
        const onAbort = () => {
          const index = this.waiters.indexOf(waiter, this.head);
          if (index < 0) return;
          this.waiters.splice(index, 1);
          reject(errors.unavailable('request aborted while waiting for admission'));
          // Removing a waiter from the front may let the ones behind it proceed.
          this.drain();
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiter.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      this.waiters.push(waiter);
    });
  }

  /** Returns permits taken by `acquire(permits)` (the same clamped amount). */
  release(permits: number): void {
    const n = Math.min(Math.max(1, permits), this.capacity);
    this.available += n;
    assert(this.available <= this.capacity, 'semaphore released more permits than acquired');
    this.drain();
  }

  private drain(): void {
    while (this.head < this.waiters.length) {
      const waiter = this.waiters[this.head]!;
      if (waiter.permits > this.available) break;
      this.available -= waiter.permits;
      this.head += 1;
      waiter.cleanup?.();
      waiter.resolve();
    }
    if (this.head > 64 && this.head * 2 > this.waiters.length) {
      this.waiters.splice(0, this.head);
      this.head = 0;
    }
  }
}
