/**
 * Object-store calls with bounded retries. Transient failures are retried with jittered
 * exponential backoff until a deadline; a create-if-absent put whose outcome is ambiguous (an
 * error, or a PreconditionFailed on a retry) is resolved by a HEAD that compares put-ids, so a
 * lost response after a successful write is recognised as our own write.
 */
import { isNotFound, isPreconditionFailed, ObjectStoreError, type ObjectStore } from '../objectstore/types.js';
import type { Clock } from '../util/clock.js';
import type { Rand } from '../util/rand.js';
import type { Logger } from './state.js';

export interface RetryPolicy {
  clock: Clock;
  rand: Rand;
  /** Give up after retrying this long (monotonic ms). */
  timeoutMs: number;
  log: Logger;
}

/** The store could not complete an operation within the retry budget, or refused it outright. */
export class StoreFailure extends Error {
  override name = 'StoreFailure';
}

const backoffMsMin = 10;
const backoffMsMax = 1_000;

function backoffMs(policy: RetryPolicy, attempt: number): number {
  const base = Math.min(backoffMsMax, backoffMsMin * 2 ** attempt);
  return Math.round(base * (0.5 + policy.rand.next()));
}

/** Errors that retrying cannot fix: a missing bucket, denied access, a full disk the backend reports as fatal. */
function isFatal(error: unknown): boolean {
  return error instanceof ObjectStoreError && error.kind === 'Fatal';
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export type PutOutcome = { kind: 'ok' } | { kind: 'taken'; putId: string | undefined };

/**
 * Creates `key` if absent. Returns `ok` if the object there is ours (written now or by an earlier
 * attempt whose response was lost), `taken` if another writer's object occupies the key.
 * Throws `StoreFailure` when the store refuses or keeps failing past the deadline.
 */
export async function putIfAbsent(
  store: ObjectStore,
  key: string,
  body: Uint8Array,
  putId: string,
  policy: RetryPolicy,
): Promise<PutOutcome> {
  const deadline = policy.clock.monotonicMs() + policy.timeoutMs;
  for (let attempt = 0; ; attempt++) {
    let failure: unknown;
    try {
      await store.put(key, body, { ifNoneMatch: '*', putId });
      return { kind: 'ok' };
    } catch (error) {
      if (isFatal(error))
        throw new StoreFailure(`put ${key} on ${store.describe()}: ${describe(error)}`, { cause: error });
      failure = error;
    }
    // Whatever happened, the object at the key (if any) says whether our write took effect.
    try {
      const info = await store.head(key);
      if (info) return info.putId === putId ? { kind: 'ok' } : { kind: 'taken', putId: info.putId };
    } catch (error) {
      if (isFatal(error))
        throw new StoreFailure(`head ${key} on ${store.describe()}: ${describe(error)}`, { cause: error });
      failure = error;
    }
    if (policy.clock.monotonicMs() >= deadline) {
      throw new StoreFailure(`put ${key} on ${store.describe()} kept failing: ${describe(failure)}`, {
        cause: failure,
      });
    }
    policy.log('put-retry', {
      key,
      attempt,
      error: describe(failure),
      preconditionFailed: isPreconditionFailed(failure),
    });
    await policy.clock.sleep(backoffMs(policy, attempt));
  }
}

/**
 * Runs an idempotent store operation (get, head, list, delete, unconditional put), retrying
 * transient failures until the deadline. NotFound and PreconditionFailed are answers, not failures:
 * they are rethrown at once for the caller to interpret.
 */
export async function withRetry<T>(
  what: string,
  store: ObjectStore,
  policy: RetryPolicy,
  fn: () => Promise<T>,
): Promise<T> {
  const deadline = policy.clock.monotonicMs() + policy.timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (isNotFound(error) || isPreconditionFailed(error)) throw error;
      if (isFatal(error) || policy.clock.monotonicMs() >= deadline) {
        throw new StoreFailure(`${what} on ${store.describe()}: ${describe(error)}`, { cause: error });
      }
      policy.log('retry', { what, attempt, error: describe(error) });
      await policy.clock.sleep(backoffMs(policy, attempt));
    }
  }
}
