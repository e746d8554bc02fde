/**
 * Retries Transient failures of an inner store with exponential backoff and full jitter, bounded by
 * a number of attempts and a total deadline. PreconditionFailed, NotFound and Fatal are answers, not
 * hiccups, and are never retried.
 *
 * Ambiguity of conditional puts. A Transient failure (timeout, 5xx, 409, lost response) says nothing
 * about whether the request was applied. For `put(key, body, {ifNoneMatch: '*', putId})`:
 * - if an attempt failed Transiently and a later attempt gets PreconditionFailed, the object there
 *   may be our own earlier write. HEAD the key: our putId -> the put succeeded, return normally;
 *   anything else -> PreconditionFailed (someone else won).
 * - if every attempt failed Transiently, HEAD once: our putId -> success; absent -> Transient (nothing
 *   was written; the caller may retry later); another putId -> PreconditionFailed.
 * Without a putId the two cases cannot be told apart, so the error is reported as it came, with a note.
 * Overwrites (no ifNoneMatch), gets, heads, lists and deletes are idempotent and simply retried.
 */
import type { Clock } from '../util/clock.js';
import type { Rand } from '../util/rand.js';
import {
  isPreconditionFailed,
  isTransient,
  ObjectStoreError,
  type ByteRange,
  type ObjectInfo,
  type ObjectStore,
  type ObjectStoreOp,
  type PutOptions,
} from './types.js';

export interface RetryPolicy {
  /** Total attempts per operation, including the first (>= 1). */
  attemptsMax: number;
  /** Backoff cap before jitter for the first retry; doubles per retry. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** No new attempt starts after this much time since the first one began. */
  deadlineMs: number;
}

export interface RetryingObjectStoreOptions extends RetryPolicy {
  clock: Clock;
  rand: Rand;
  /** Called before each retry, e.g. for logging. */
  onRetry?: (info: {
    op: ObjectStoreOp;
    key: string;
    attempt: number;
    delayMs: number;
    error: ObjectStoreError;
  }) => void;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  attemptsMax: 8,
  backoffBaseMs: 50,
  backoffMaxMs: 2_000,
  deadlineMs: 30_000,
};

export class RetryingObjectStore implements ObjectStore {
  constructor(
    private readonly inner: ObjectStore,
    private readonly options: RetryingObjectStoreOptions,
  ) {
    if (options.attemptsMax < 1) throw new Error('attemptsMax must be at least 1');
  }

  async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<void> {
    let ambiguous = false;
    try {
      await this.run(
        'put',
        key,
        () => this.inner.put(key, body, options),
        () => (ambiguous = true),
      );
    } catch (error) {
      if (options.ifNoneMatch !== '*' || !ambiguous) throw error;
      if (isPreconditionFailed(error)) return this.resolveConflict(key, options.putId, error as ObjectStoreError);
      if (isTransient(error)) return this.resolveExhausted(key, options.putId, error as ObjectStoreError);
      throw error;
    }
  }

  get(key: string, range?: ByteRange): Promise<Uint8Array> {
    return this.run('get', key, () => this.inner.get(key, range));
  }

  head(key: string): Promise<ObjectInfo | null> {
    return this.run('head', key, () => this.inner.head(key));
  }

  list(prefix: string, options?: { startAfter?: string; limit?: number }): Promise<ObjectInfo[]> {
    return this.run('list', prefix, () => this.inner.list(prefix, options));
  }

  delete(keys: string[]): Promise<void> {
    return this.run('delete', keys[0] ?? '', () => this.inner.delete(keys));
  }

  describe(): string {
    return this.inner.describe();
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }

  /** A later attempt found the key taken after an earlier attempt may have written it. */
  private async resolveConflict(key: string, putId: string | undefined, conflict: ObjectStoreError): Promise<void> {
    if (putId === undefined) {
      throw new ObjectStoreError(
        'PreconditionFailed',
        `${conflict.message} (an earlier attempt failed ambiguously and may have written it; no putId to check)`,
        { cause: conflict },
      );
    }
    const info = await this.run('head', key, () => this.inner.head(key));
    if (info?.putId === putId) return;
    throw conflict;
  }

  /** Every attempt failed Transiently: one last look decides between success, nothing, and lost race. */
  private async resolveExhausted(key: string, putId: string | undefined, failure: ObjectStoreError): Promise<void> {
    if (putId === undefined) throw failure;
    let info: ObjectInfo | null;
    try {
      info = await this.inner.head(key);
    } catch {
      throw failure;
    }
    if (info === null) throw failure;
    if (info.putId === putId) return;
    throw new ObjectStoreError(
      'PreconditionFailed',
      `object ${key} was created by another writer (put-id ${info.putId ?? 'none'}) while our put failed: ${failure.message}`,
      { cause: failure },
    );
  }

  private async run<T>(
    op: ObjectStoreOp,
    key: string,
    attempt: () => Promise<T>,
    onTransient?: () => void,
  ): Promise<T> {
    const { clock, rand, attemptsMax, backoffBaseMs, backoffMaxMs, deadlineMs } = this.options;
    const startedMs = clock.monotonicMs();
    for (let n = 1; ; n++) {
      try {
        return await attempt();
      } catch (error) {
        if (!isTransient(error)) throw error;
        onTransient?.();
        const failure = error as ObjectStoreError;
        const delayMs = rand.next() * Math.min(backoffMaxMs, backoffBaseMs * 2 ** (n - 1));
        const elapsedMs = clock.monotonicMs() - startedMs;
        if (n >= attemptsMax || elapsedMs + delayMs >= deadlineMs) {
          throw new ObjectStoreError(
            'Transient',
            `${failure.message} (gave up after ${n} attempt(s) in ${Math.round(elapsedMs)} ms)`,
            { cause: failure },
          );
        }
        this.options.onRetry?.({ op, key, attempt: n, delayMs, error: failure });
        await clock.sleep(delayMs);
      }
    }
  }
}
