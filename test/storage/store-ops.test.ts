/**
 * The one retry layer between the stream log and the object store (storage/store-ops.ts), on a
 * manual clock over a fault-injecting memory store: ambiguous conditional puts are resolved by
 * put-id (our own lost write is `ok`, another writer's object is `taken`), transient failures are
 * retried with capped, jittered backoff that never sleeps past the deadline, and Fatal errors and
 * an exhausted budget become a typed `StoreFailure`.
 */
import { describe, expect, it } from 'vitest';
import { FaultyObjectStore } from '../../src/objectstore/faulty.js';
import { InstrumentedObjectStore, type ObjectStoreRequest } from '../../src/objectstore/instrumented.js';
import { MemoryObjectStore } from '../../src/objectstore/memory.js';
import { ObjectStoreError } from '../../src/objectstore/types.js';
import { StoreFailure } from '../../src/storage/errors.js';
import { putIfAbsent, withRetry, type RetryPolicy } from '../../src/storage/store-ops.js';
import { ManualClock, type Clock } from '../../src/util/clock.js';
import { seededRand, type Rand } from '../../src/util/rand.js';

const text = (s: string) => new TextEncoder().encode(s);

/** memory <- instrumented (sees every request) <- faulty, and a policy whose sleeps are recorded. */
function setup(options: { timeoutMs?: number; rand?: Rand } = {}) {
  const manual = new ManualClock();
  const memory = new MemoryObjectStore();
  const requests: ObjectStoreRequest[] = [];
  const instrumented = new InstrumentedObjectStore(memory, { onRequest: (r) => requests.push(r) }, manual);
  const store = new FaultyObjectStore(instrumented, { rand: seededRand(1), clock: manual });
  const sleeps: number[] = [];
  const clock: Clock = {
    nowMs: () => manual.nowMs(),
    monotonicMs: () => manual.monotonicMs(),
    setTimer: (ms, fn) => manual.setTimer(ms, fn),
    afterIo: (fn) => manual.afterIo(fn),
    sleep: (ms) => {
      sleeps.push(ms);
      return manual.sleep(ms);
    },
  };
  const events: string[] = [];
  const policy: RetryPolicy = {
    clock,
    rand: options.rand ?? seededRand(7),
    timeoutMs: options.timeoutMs ?? 60_000,
    log: (event) => events.push(event),
  };
  const calls = (op: string) => requests.filter((r) => r.op === op).map((r) => r.outcome);
  return { manual, memory, store, policy, sleeps, events, calls };
}

/** Runs `promise` to completion, moving the manual clock so backoff sleeps elapse. */
async function drive<T>(clock: ManualClock, promise: Promise<T>): Promise<T> {
  let settled = false;
  const watched = promise.finally(() => (settled = true));
  watched.catch(() => undefined);
  for (let i = 0; i < 1_000 && !settled; i++) await clock.advance(100);
  return watched;
}

/** The error `promise` rejects with, checked to be a `type`. */
async function failure<E extends Error>(promise: Promise<unknown>, type: abstract new (...args: never[]) => E) {
  const error: unknown = await promise.then(() => 'resolved').catch((e: unknown) => e);
  expect(error).toBeInstanceOf(type);
  return error as E;
}

describe('putIfAbsent', () => {
  it('recognises its own write by put-id when the response was lost', async () => {
    const { manual, memory, store, policy, calls } = setup();
    const fault = store.faults.add({ op: 'put', prefix: 'chunk/', mode: 'lost-response', times: 1 });
    const outcome = await drive(manual, putIfAbsent(store, 'chunk/1', text('mine'), 'me', policy));
    expect(outcome).toEqual({ kind: 'ok' });
    expect(fault.fired).toBe(1);
    expect(calls('put')).toEqual(['ok']); // applied, though the writer never heard so
    expect(calls('head')).toEqual(['ok']);
    expect(await memory.get('chunk/1')).toEqual(text('mine'));
  });

  it('a retry that meets its own earlier write (PreconditionFailed) is ok', async () => {
    const { manual, memory, store, policy, calls } = setup();
    store.faults.add({ op: 'put', mode: 'lost-response', times: 1 });
    store.faults.add({ op: 'head', mode: 'fail', times: 1 }); // cannot check at once: retry the put
    expect(await drive(manual, putIfAbsent(store, 'k', text('v'), 'me', policy))).toEqual({ kind: 'ok' });
    expect(calls('put')).toEqual(['ok', 'precondition_failed']);
    expect((await memory.head('k'))?.putId).toBe('me');
  });

  it("is taken when the object found after an ambiguous failure is someone else's", async () => {
    const { manual, memory, store, policy } = setup();
    store.faults.add({ op: 'put', mode: 'fail', times: 1 });
    const put = putIfAbsent(store, 'chunk/1', text('mine'), 'me', policy);
    // While we back off, another writer takes the key.
    await memory.put('chunk/1', text('theirs'), { ifNoneMatch: '*', putId: 'them' });
    expect(await drive(manual, put)).toEqual({ kind: 'taken' });
    expect(await memory.get('chunk/1')).toEqual(text('theirs'));
  });

  it('is taken without a HEAD when the first attempt already gets PreconditionFailed', async () => {
    const { manual, memory, store, policy, calls } = setup();
    await memory.put('k', text('theirs'), { putId: 'them' });
    expect(await drive(manual, putIfAbsent(store, 'k', text('mine'), 'me', policy))).toEqual({ kind: 'taken' });
    expect(calls('put')).toEqual(['precondition_failed']);
    expect(calls('head')).toEqual([]);
  });

  it('retries 409 conflicts until the put lands, writing the object once', async () => {
    const { manual, memory, store, policy, calls } = setup();
    const conflict = store.faults.add({ op: 'put', mode: 'conflict', times: 3 });
    expect(await drive(manual, putIfAbsent(store, 'k', text('v'), 'me', policy))).toEqual({ kind: 'ok' });
    expect(conflict.fired).toBe(3);
    expect(calls('put')).toEqual(['ok']);
    expect(await memory.get('k')).toEqual(text('v'));
  });

  it('fails with StoreFailure at the deadline when nothing was written', async () => {
    const { manual, memory, store, policy, events } = setup({ timeoutMs: 2_000 });
    const fault = store.faults.add({ op: 'put', mode: 'fail' });
    const error = await failure(drive(manual, putIfAbsent(store, 'k', text('v'), 'me', policy)), StoreFailure);
    expect(error.kind).toBe('failed');
    expect(error.message).toMatch(/^put k on faulty\(memory\) kept failing: injected: 503/);
    expect(fault.fired).toBeGreaterThan(2);
    expect(events.filter((e) => e === 'put-retry')).toHaveLength(fault.fired - 1);
    expect(await memory.head('k')).toBeNull();
  });

  it('does not retry a Fatal error', async () => {
    const { manual, store, policy, calls } = setup();
    store.faults.add({ op: 'put', mode: 'fatal' });
    const error = await failure(drive(manual, putIfAbsent(store, 'k', text('v'), 'me', policy)), StoreFailure);
    expect(error.message).toMatch(/^put k on faulty\(memory\): injected: fatal error/);
    expect(calls('put')).toEqual([]);
    expect(calls('head')).toEqual([]);
  });
});

describe('withRetry', () => {
  it('retries idempotent operations through transient failures', async () => {
    const { manual, memory, store, policy, calls } = setup();
    await memory.put('a', text('x'));
    store.faults.add({ op: 'get', mode: 'fail', times: 2 });
    store.faults.add({ op: 'delete', mode: 'lost-response', times: 1 });
    store.faults.add({ op: 'put', mode: 'lost-response', times: 1 }); // an overwrite: simply retried
    expect(
      await drive(
        manual,
        withRetry('get a', store, policy, () => store.get('a')),
      ),
    ).toEqual(text('x'));
    await drive(
      manual,
      withRetry('put b', store, policy, () => store.put('b', text('y'))),
    );
    expect(calls('put')).toEqual(['ok', 'ok']);
    expect(await memory.get('b')).toEqual(text('y'));
    await drive(
      manual,
      withRetry('delete a', store, policy, () => store.delete(['a'])),
    );
    expect(await memory.head('a')).toBeNull();
  });

  it('never retries Fatal, NotFound or PreconditionFailed', async () => {
    const { manual, store, policy, calls } = setup();
    const fatal = store.faults.add({ op: 'list', mode: 'fatal' });
    const listing = await failure(
      drive(
        manual,
        withRetry('list', store, policy, () => store.list('')),
      ),
      StoreFailure,
    );
    expect(listing.message).toMatch(/^list on faulty\(memory\): injected: fatal error/);
    expect(fatal.fired).toBe(1);
    const absent = await failure(
      drive(
        manual,
        withRetry('get', store, policy, () => store.get('absent')),
      ),
      Error,
    );
    expect(absent).toBeInstanceOf(ObjectStoreError);
    expect(absent).toMatchObject({ kind: 'NotFound' });
    expect(calls('get')).toEqual(['not_found']);
  });

  it('backs off exponentially with jitter, capped at one second', async () => {
    const half: Rand = { next: () => 0.5 };
    const { manual, store, policy, sleeps } = setup({ rand: half });
    store.faults.add({ op: 'head', mode: 'fail', times: 9 });
    await drive(
      manual,
      withRetry('head k', store, policy, () => store.head('k')),
    );
    expect(sleeps).toEqual([10, 20, 40, 80, 160, 320, 640, 1_000, 1_000]);
  });

  it('stops at the deadline, and no sleep carries it past', async () => {
    const { manual, store, policy, sleeps } = setup({ timeoutMs: 2_000, rand: { next: () => 0.999 } });
    const fault = store.faults.add({ op: 'get', mode: 'fail' });
    const startMs = manual.monotonicMs();
    await failure(
      drive(
        manual,
        withRetry('get k', store, policy, () => store.get('k')),
      ),
      StoreFailure,
    );
    expect(fault.fired).toBeGreaterThan(2);
    expect(sleeps.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(2_000);
    expect(sleeps.at(-1)).toBeLessThan(1_000 * 1.499); // the last one was cut to the deadline
    expect(manual.monotonicMs() - startMs).toBeGreaterThanOrEqual(2_000);
  });
});
