/**
 * Reports every object-store request to an observer (the metrics layer adapts this to Prometheus; no
 * metrics library is imported here). Placed outside the retry wrapper it sees logical operations;
 * inside, it sees each attempt.
 */
import { systemClock, type Clock } from '../util/clock.js';
import {
  type PartAlloc,
  ObjectStoreError,
  type BodyHandling,
  type ByteRange,
  type ObjectInfo,
  type ObjectStore,
  type ObjectStoreOp,
  type PutOptions,
} from './types.js';

export type RequestOutcome = 'ok' | 'precondition_failed' | 'not_found' | 'transient' | 'fatal';

export interface ObjectStoreRequest {
  op: ObjectStoreOp;
  outcome: RequestOutcome;
  seconds: number;
  /** Payload bytes: the body for put, the bytes returned for get, 0 otherwise. */
  bytes: number;
}

export interface ObjectStoreObserver {
  onRequest(request: ObjectStoreRequest): void;
}

export class InstrumentedObjectStore implements ObjectStore {
  /** Present when the inner store has it; reported as a get. */
  readonly getParts?: (key: string, start: number, lengths: readonly number[], alloc?: PartAlloc) => Promise<Uint8Array[]>;

  constructor(
    private readonly inner: ObjectStore,
    private readonly observer: ObjectStoreObserver,
    private readonly clock: Clock = systemClock,
  ) {
    if (inner.getParts) {
      const getParts = inner.getParts.bind(inner);
      this.getParts = (key, start, lengths, alloc) =>
        this.observe(
          'get',
          () => getParts(key, start, lengths, alloc),
          (parts) => parts.reduce((sum, part) => sum + part.length, 0),
        );
    }
  }

  get bodyHandling(): BodyHandling | undefined {
    return this.inner.bodyHandling;
  }

  get partsShareMemory(): boolean | undefined {
    return this.inner.partsShareMemory;
  }

  put(key: string, body: Uint8Array, options?: PutOptions): Promise<void> {
    return this.observe(
      'put',
      () => this.inner.put(key, body, options),
      () => body.length,
    );
  }

  get(key: string, range?: ByteRange): Promise<Uint8Array> {
    return this.observe(
      'get',
      () => this.inner.get(key, range),
      (bytes) => bytes.length,
    );
  }

  head(key: string): Promise<ObjectInfo | null> {
    return this.observe('head', () => this.inner.head(key));
  }

  list(prefix: string, options?: { startAfter?: string; limit?: number }): Promise<ObjectInfo[]> {
    return this.observe('list', () => this.inner.list(prefix, options));
  }

  delete(keys: string[]): Promise<void> {
    return this.observe('delete', () => this.inner.delete(keys));
  }

  describe(): string {
    return this.inner.describe();
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }

  private async observe<T>(op: ObjectStoreOp, call: () => Promise<T>, bytesOf?: (result: T) => number): Promise<T> {
    const startMs = this.clock.monotonicMs();
    let outcome: RequestOutcome = 'ok';
    let bytes = 0;
    try {
      const result = await call();
      bytes = bytesOf?.(result) ?? 0;
      return result;
    } catch (error) {
      outcome = outcomeOf(error);
      throw error;
    } finally {
      const seconds = (this.clock.monotonicMs() - startMs) / 1000;
      try {
        this.observer.onRequest({ op, outcome, seconds, bytes });
      } catch {
        // A broken observer must not turn a successful write into a failure.
      }
    }
  }
}

function outcomeOf(error: unknown): RequestOutcome {
  if (!(error instanceof ObjectStoreError)) return 'fatal';
  switch (error.kind) {
    case 'PreconditionFailed':
      return 'precondition_failed';
    case 'NotFound':
      return 'not_found';
    case 'Transient':
      return 'transient';
    case 'Fatal':
      return 'fatal';
  }
}
