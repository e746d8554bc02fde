import { describe, expect, it } from 'vitest';
import { FaultyObjectStore } from '../../src/objectstore/faulty.js';
import { InstrumentedObjectStore, type ObjectStoreRequest } from '../../src/objectstore/instrumented.js';
import { MemoryObjectStore } from '../../src/objectstore/memory.js';
import { ObjectStoreError } from '../../src/objectstore/types.js';
import { ManualClock } from '../../src/util/clock.js';
import { seededRand } from '../../src/util/rand.js';

const one = new Uint8Array([1]);

async function kindOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'ok',
    (e: unknown) => (e instanceof ObjectStoreError ? e.kind : 'other'),
  );
}

function make(seed = 1) {
  const memory = new MemoryObjectStore();
  const clock = new ManualClock();
  return { memory, clock, store: new FaultyObjectStore(memory, { rand: seededRand(seed), clock }) };
}

describe('FaultyObjectStore', () => {
  it("'fail' and 'conflict' do not apply the call; 'lost-response' does", async () => {
    const { memory, store } = make();
    store.faults.add({ op: 'put', prefix: 'a', mode: 'fail', times: 1 });
    store.faults.add({ op: 'put', prefix: 'b', mode: 'conflict', times: 1 });
    store.faults.add({ op: 'put', prefix: 'c', mode: 'lost-response', times: 1 });
    expect(await kindOf(store.put('a', one))).toBe('Transient');
    expect(await kindOf(store.put('b', one))).toBe('Transient');
    expect(await kindOf(store.put('c', one))).toBe('Transient');
    expect(await memory.head('a')).toBeNull();
    expect(await memory.head('b')).toBeNull();
    expect(await memory.head('c')).not.toBeNull();
    expect(store.faults.fired).toBe(3);
    // times: 1 -> the next call goes through
    expect(await kindOf(store.put('a', one))).toBe('ok');
  });

  it('matches by operation and prefix, honours skip and times, and counts', async () => {
    const { store } = make();
    const fault = store.faults.add({ op: ['get', 'head'], prefix: 'chunk/', mode: 'fail', skip: 1, times: 2 });
    await store.put('chunk/1', one);
    await store.put('other', one);
    const outcomes = [];
    for (let i = 0; i < 4; i++) outcomes.push(await kindOf(store.head('chunk/1')));
    expect(outcomes).toEqual(['ok', 'Transient', 'Transient', 'ok']);
    expect(await kindOf(store.head('other'))).toBe('ok');
    expect(await kindOf(store.put('chunk/2', one))).toBe('ok');
    expect(fault.matched).toBe(4);
    expect(fault.fired).toBe(2);
    fault.remove();
    expect(await kindOf(store.get('chunk/1'))).toBe('ok');
  });

  it('a delete matches when any key has the prefix; a list by its prefix', async () => {
    const { store } = make();
    store.faults.add({ op: 'delete', prefix: 'seg/', mode: 'fail' });
    store.faults.add({ op: 'list', prefix: 'manifest/', mode: 'fail' });
    expect(await kindOf(store.delete(['chunk/1', 'seg/2']))).toBe('Transient');
    expect(await kindOf(store.delete(['chunk/1']))).toBe('ok');
    expect(await kindOf(store.list('manifest/'))).toBe('Transient');
    expect(await kindOf(store.list('chunk/'))).toBe('ok');
  });

  it('fails a seeded fraction of calls, reproducibly', async () => {
    const pattern = async (seed: number) => {
      const { store } = make(seed);
      store.faults.add({ op: 'head', mode: 'fail', probability: 0.3 });
      const out: string[] = [];
      for (let i = 0; i < 50; i++) out.push(await kindOf(store.head('k')));
      return out;
    };
    const first = await pattern(42);
    expect(await pattern(42)).toEqual(first);
    const failures = first.filter((k) => k === 'Transient').length;
    expect(failures).toBeGreaterThan(0);
    expect(failures).toBeLessThan(50);
  });

  it('adds latency on the injected clock', async () => {
    const { clock, store } = make();
    store.faults.add({ op: 'head', mode: 'latency', latencyMs: 500 });
    let done = false;
    const head = store.head('k').then(() => (done = true));
    await clock.advance(499);
    expect(done).toBe(false);
    await clock.advance(1);
    await head;
    expect(done).toBe(true);
  });

  it('crash() fails everything Fatal until heal(); crash-after applies first', async () => {
    const { memory, store } = make();
    store.faults.add({ op: 'put', prefix: 'manifest/', mode: 'crash-after' });
    expect(await kindOf(store.put('chunk/1', one))).toBe('ok');
    expect(await kindOf(store.put('manifest/1', one))).toBe('Fatal');
    expect(await memory.head('manifest/1')).not.toBeNull();
    expect(store.isCrashed).toBe(true);
    expect(await kindOf(store.get('chunk/1'))).toBe('Fatal');
    store.heal();
    expect(await kindOf(store.get('chunk/1'))).toBe('ok');
    store.crash();
    expect(await kindOf(store.list(''))).toBe('Fatal');
    store.heal();
    store.faults.add({ op: 'put', mode: 'crash', times: 1 });
    expect(await kindOf(store.put('x', one))).toBe('Fatal');
    expect(await memory.head('x')).toBeNull();
    expect(store.isCrashed).toBe(true);
  });

  it("'hold' keeps calls waiting until released; a crash fails them without applying; calls are recorded", async () => {
    const { memory, store } = make();
    const hold = store.faults.add({ op: 'put', prefix: 'chunk/', mode: 'hold' });
    const first = kindOf(store.put('chunk/1', one));
    const second = kindOf(store.put('chunk/2', one));
    expect(await kindOf(store.put('other', one))).toBe('ok');
    await new Promise((resolve) => setImmediate(resolve));
    expect(store.held).toEqual([
      { op: 'put', key: 'chunk/1' },
      { op: 'put', key: 'chunk/2' },
    ]);
    expect(await memory.head('chunk/1')).toBeNull();
    expect(store.release((call) => call.key === 'chunk/2')).toBe(1);
    expect(await second).toBe('ok');
    hold.remove();
    expect(await kindOf(store.put('chunk/3', one))).toBe('ok');
    store.crash(); // the held put "never left the process"
    expect(await first).toBe('Fatal');
    expect(await memory.head('chunk/1')).toBeNull();
    expect(store.held).toEqual([]);
    await store.delete(['a', 'b']).catch(() => undefined);
    expect(store.calls.map((c) => `${c.op} ${c.key}`)).toEqual([
      'put chunk/1',
      'put chunk/2',
      'put other',
      'put chunk/3',
      'delete a',
      'delete b',
    ]);
  });
});

describe('InstrumentedObjectStore', () => {
  it('reports op, outcome, bytes and duration of every call', async () => {
    const clock = new ManualClock();
    const requests: ObjectStoreRequest[] = [];
    const faulty = new FaultyObjectStore(new MemoryObjectStore(), { rand: seededRand(1), clock });
    const store = new InstrumentedObjectStore(faulty, { onRequest: (r) => requests.push(r) }, clock);
    faulty.faults.add({ op: 'head', mode: 'latency', latencyMs: 1_500 });
    faulty.faults.add({ op: 'list', mode: 'fail', times: 1 });
    faulty.faults.add({ op: 'delete', mode: 'fatal', times: 1 });
    await store.put('k', new Uint8Array(10), { ifNoneMatch: '*' });
    await store.put('k', new Uint8Array(3), { ifNoneMatch: '*' }).catch(() => undefined);
    await store.get('k', { start: 2 });
    await store.get('absent').catch(() => undefined);
    const head = store.head('k');
    await clock.advance(1_500);
    await head;
    await store.list('').catch(() => undefined);
    await store.delete(['k']).catch(() => undefined);
    expect(requests).toEqual([
      { op: 'put', outcome: 'ok', seconds: 0, bytes: 10 },
      { op: 'put', outcome: 'precondition_failed', seconds: 0, bytes: 0 },
      { op: 'get', outcome: 'ok', seconds: 0, bytes: 8 },
      { op: 'get', outcome: 'not_found', seconds: 0, bytes: 0 },
      { op: 'head', outcome: 'ok', seconds: 1.5, bytes: 0 },
      { op: 'list', outcome: 'transient', seconds: 0, bytes: 0 },
      { op: 'delete', outcome: 'fatal', seconds: 0, bytes: 0 },
    ]);
  });

  it('a throwing observer does not fail the call', async () => {
    const store = new InstrumentedObjectStore(new MemoryObjectStore(), {
      onRequest: () => {
        throw new Error('observer bug');
      },
    });
    await store.put('k', new Uint8Array(1));
    expect(await store.get('k')).toEqual(new Uint8Array(1));
  });
});
