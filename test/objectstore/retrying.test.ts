import { describe, expect, it } from 'vitest';
import { FaultyObjectStore } from '../../src/objectstore/faulty.js';
import { InstrumentedObjectStore, type ObjectStoreRequest } from '../../src/objectstore/instrumented.js';
import { MemoryObjectStore } from '../../src/objectstore/memory.js';
import { RetryingObjectStore, type RetryPolicy } from '../../src/objectstore/retrying.js';
import { ObjectStoreError } from '../../src/objectstore/types.js';
import { ManualClock } from '../../src/util/clock.js';
import { seededRand, type Rand } from '../../src/util/rand.js';

const text = (s: string) => new TextEncoder().encode(s);

/** memory <- instrumented (sees every attempt) <- faulty <- retrying, on a manual clock. */
function setup(policy: Partial<RetryPolicy> = {}, rand: Rand = seededRand(7)) {
  const clock = new ManualClock();
  const memory = new MemoryObjectStore();
  const requests: ObjectStoreRequest[] = [];
  const instrumented = new InstrumentedObjectStore(memory, { onRequest: (r) => requests.push(r) }, clock);
  const faulty = new FaultyObjectStore(instrumented, { rand: seededRand(1), clock });
  const delays: number[] = [];
  const store = new RetryingObjectStore(faulty, {
    attemptsMax: 5,
    backoffBaseMs: 100,
    backoffMaxMs: 1_000,
    deadlineMs: 60_000,
    ...policy,
    clock,
    rand,
    onRetry: ({ delayMs }) => delays.push(delayMs),
  });
  const calls = (op: string) => requests.filter((r) => r.op === op).map((r) => r.outcome);
  return { clock, memory, faulty, store, delays, calls };
}

/** Runs `promise` to completion, moving the manual clock so backoff sleeps elapse. */
async function drive<T>(clock: ManualClock, promise: Promise<T>): Promise<T> {
  let settled = false;
  const watched = promise.finally(() => (settled = true));
  watched.catch(() => undefined);
  for (let i = 0; i < 1_000 && !settled; i++) await clock.advance(100);
  return watched;
}

async function failure(promise: Promise<unknown>): Promise<ObjectStoreError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ObjectStoreError);
  return error as ObjectStoreError;
}

describe('RetryingObjectStore', () => {
  it('a conditional put whose response was lost succeeds through the put-id check', async () => {
    const { clock, memory, faulty, store, calls } = setup();
    const fault = faulty.faults.add({ op: 'put', prefix: 'chunk/', mode: 'lost-response', times: 1 });
    await drive(clock, store.put('chunk/1', text('mine'), { ifNoneMatch: '*', putId: 'me' }));
    expect(fault.fired).toBe(1);
    expect(calls('put')).toEqual(['ok', 'precondition_failed']); // applied, then the retry found it
    expect(calls('head')).toEqual(['ok']);
    expect(await memory.get('chunk/1')).toEqual(text('mine'));
  });

  it("reports PreconditionFailed when the object found after an ambiguous failure is someone else's", async () => {
    const { clock, memory, faulty, store } = setup();
    faulty.faults.add({ op: 'put', mode: 'fail', times: 1 });
    const put = store.put('chunk/1', text('mine'), { ifNoneMatch: '*', putId: 'me' });
    // While we back off, another writer takes the key.
    await memory.put('chunk/1', text('theirs'), { ifNoneMatch: '*', putId: 'them' });
    const error = await failure(drive(clock, put));
    expect(error.kind).toBe('PreconditionFailed');
    expect(await memory.get('chunk/1')).toEqual(text('theirs'));
  });

  it('does not HEAD when the first attempt already gets PreconditionFailed', async () => {
    const { clock, memory, store, calls } = setup();
    await memory.put('k', text('theirs'), { putId: 'them' });
    const error = await failure(drive(clock, store.put('k', text('mine'), { ifNoneMatch: '*', putId: 'me' })));
    expect(error.kind).toBe('PreconditionFailed');
    expect(calls('put')).toEqual(['precondition_failed']);
    expect(calls('head')).toEqual([]);
  });

  it('gives up with Transient after attemptsMax when nothing was written', async () => {
    const { clock, memory, faulty, store, delays, calls } = setup({ attemptsMax: 4 });
    const fault = faulty.faults.add({ op: 'put', mode: 'fail' });
    const error = await failure(drive(clock, store.put('k', text('v'), { ifNoneMatch: '*', putId: 'me' })));
    expect(error.kind).toBe('Transient');
    expect(error.message).toContain('gave up after 4 attempt(s)');
    expect(fault.fired).toBe(4);
    expect(delays).toHaveLength(3);
    expect(calls('head')).toEqual(['ok']); // the final look: absent
    expect(await memory.head('k')).toBeNull();
  });

  it('when every attempt failed, the final HEAD recognises our own write', async () => {
    const { clock, faulty, store } = setup({ attemptsMax: 3 });
    faulty.faults.add({ op: 'put', mode: 'lost-response', times: 1 });
    faulty.faults.add({ op: 'put', mode: 'conflict' }); // 409 on every later attempt
    await drive(clock, store.put('k', text('v'), { ifNoneMatch: '*', putId: 'me' }));
  });

  it("when every attempt failed and the key holds another writer's object: PreconditionFailed", async () => {
    const { clock, memory, faulty, store } = setup({ attemptsMax: 3 });
    faulty.faults.add({ op: 'put', mode: 'fail' });
    const put = store.put('k', text('v'), { ifNoneMatch: '*', putId: 'me' });
    await memory.put('k', text('other'), { putId: 'them' });
    const error = await failure(drive(clock, put));
    expect(error.kind).toBe('PreconditionFailed');
    expect(error.message).toContain('another writer');
  });

  it('without a putId an ambiguous conflict stays PreconditionFailed, with a note', async () => {
    const { clock, faulty, store } = setup();
    faulty.faults.add({ op: 'put', mode: 'lost-response', times: 1 });
    const error = await failure(drive(clock, store.put('k', text('v'), { ifNoneMatch: '*' })));
    expect(error.kind).toBe('PreconditionFailed');
    expect(error.message).toContain('no putId');
  });

  it('never retries Fatal, NotFound or PreconditionFailed', async () => {
    const { clock, faulty, store, calls } = setup();
    const fatal = faulty.faults.add({ op: 'list', mode: 'fatal' });
    expect((await failure(drive(clock, store.list('')))).kind).toBe('Fatal');
    expect(fatal.fired).toBe(1);
    expect((await failure(drive(clock, store.get('absent')))).kind).toBe('NotFound');
    expect(calls('get')).toEqual(['not_found']);
  });

  it('retries idempotent operations through transient failures', async () => {
    const { clock, memory, faulty, store, calls } = setup();
    await memory.put('a', text('x'));
    faulty.faults.add({ op: 'get', mode: 'fail', times: 2 });
    faulty.faults.add({ op: 'delete', mode: 'lost-response', times: 1 });
    faulty.faults.add({ op: 'put', mode: 'lost-response', times: 1 }); // overwrite: simply retried
    expect(await drive(clock, store.get('a'))).toEqual(text('x'));
    await drive(clock, store.put('b', text('y')));
    expect(calls('put')).toEqual(['ok', 'ok']);
    await drive(clock, store.delete(['a']));
    expect(await memory.head('a')).toBeNull();
  });

  it('backs off exponentially with full jitter, capped', async () => {
    const half: Rand = { next: () => 0.5 };
    const { clock, faulty, store, delays } = setup({ attemptsMax: 6, backoffBaseMs: 100, backoffMaxMs: 500 }, half);
    faulty.faults.add({ op: 'head', mode: 'fail' });
    await failure(drive(clock, store.head('k')));
    expect(delays).toEqual([50, 100, 200, 250, 250]);
  });

  it('stops retrying at the deadline', async () => {
    const { clock, faulty, store, delays } = setup(
      { attemptsMax: 1_000, backoffBaseMs: 100, backoffMaxMs: 400, deadlineMs: 2_000 },
      { next: () => 0.999 },
    );
    const fault = faulty.faults.add({ op: 'get', mode: 'fail' });
    const startMs = clock.monotonicMs();
    const error = await failure(drive(clock, store.get('k')));
    expect(error.kind).toBe('Transient');
    expect(fault.fired).toBeGreaterThan(2);
    expect(fault.fired).toBeLessThan(20);
    // The sleeps never carry it past the deadline.
    expect(delays.reduce((a, b) => a + b, 0)).toBeLessThan(2_000);
    expect(clock.monotonicMs() - startMs).toBeGreaterThan(0);
  });
});
