/**
 * Object-store calls with bounded retries: the one retry layer between the log and the store
 * (object stores make one attempt per call). Transient failures are retried with jittered
 * exponential backoff until a deadline; a create-if-absent put whose outcome is ambiguous (an
 * error, or a PreconditionFailed on a retry) is resolved by a HEAD that compares put-ids, so a
 * lost response after a successful write is recognised as our own write.
 *
 * The retries live here, not in an object-store wrapper, because what the end of the budget
 * means is a storage decision (a chunk of unknown fate stops the log), and the outcome of a
 * conditional put ("ours" or "taken") is what fencing is decided on. Every backend, memory
 * included, gets the same treatment, on the log's injected clock, randomness and logger.
 */
import { isFatal, isNotFound, isPreconditionFailed, type ObjectStore } from '../objectstore/types.js';
import type { Clock } from '../util/clock.js';
import type { Rand } from '../util/rand.js';
import { StoreFailure } from './errors.js';
import type { Logger } from './state.js';

export interface RetryPolicy {
  clock: Clock;
  rand: Rand;
  /** Give up after retrying this long (monotonic ms). */
  timeoutMs: number;
  log: Logger;
}

const backoffMsMin = 10;
const backoffMsMax = 1_000;

/** Sleeps before retry `attempt` (jittered, doubling, capped), never past the deadline. */
function backOff(policy: RetryPolicy, attempt: number, deadline: number): Promise<void> {
  const base = Math.min(backoffMsMax, backoffMsMin * 2 ** attempt);
  const delay = Math.round(base * (0.5 + policy.rand.next()));
  return policy.clock.sleep(Math.min(delay, Math.max(0, deadline - policy.clock.monotonicMs())));
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export type PutOutcome = { kind: 'ok' } | { kind: 'taken' };

/**
 * Creates `key` if absent. Returns `ok` if the object there is ours (written now or by an earlier
 * attempt whose response was lost), `taken` if another writer's object occupies the key. Errors
 * that retrying cannot fix (a missing bucket, denied access, a full disk the backend reports as
 * Fatal) are not retried. Throws `StoreFailure` when the store refuses or keeps failing past the
 * deadline.
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
      // Before any attempt of ours could have landed, a conflict can only be another writer's object.
      if (attempt === 0 && isPreconditionFailed(error)) return { kind: 'taken' };
      failure = error;
    }
    // Whatever happened, the object at the key (if any) says whether our write took effect.
    try {
      const info = await store.head(key);
      if (info) return info.putId === putId ? { kind: 'ok' } : { kind: 'taken' };
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
    await backOff(policy, attempt, deadline);
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
      await backOff(policy, attempt, deadline);
    }
  }
}
