/**
 * The memory store passes the ObjectStore contract, and keeps a body handed over to it without a
 * copy (what lets checkpoints store a segment without a synchronous 16 MiB copy) while still
 * copying anything else.
 */
import { describe, expect, it } from 'vitest';
import { FaultyObjectStore } from '../../src/objectstore/faulty.js';
import { InstrumentedObjectStore } from '../../src/objectstore/instrumented.js';
import { MemoryObjectStore } from '../../src/objectstore/memory.js';
import { seededRand } from '../../src/util/rand.js';
import { runObjectStoreContract } from './contract.js';

runObjectStoreContract('memory', async () => ({ store: new MemoryObjectStore(), cleanup: async () => {} }));

describe('MemoryObjectStore hand-over', () => {
  it('keeps a handed-over body as it is, and copies a body that was not handed over', async () => {
    const store = new MemoryObjectStore();
    expect(store.bodyHandling).toBe('hand-over');
    const given = new Uint8Array(64 * 1024).fill(1);
    const lent = new Uint8Array(64 * 1024).fill(1);
    await store.put('segment/a', given, { handOver: true });
    await store.put('segment/b', lent);
    // Only the contract breach of writing after a hand-over can show that no copy was made.
    given[0] = 2;
    lent[0] = 2;
    expect((await store.get('segment/a', { start: 0, end: 1 }))[0]).toBe(2);
    expect((await store.get('segment/b', { start: 0, end: 1 }))[0]).toBe(1);
  });

  it('answers reads of a handed-over Buffer with copies, never views of what it keeps', async () => {
    const store = new MemoryObjectStore();
    await store.put('segment/d', Buffer.alloc(4096, 5), { handOver: true });
    const read = await store.get('segment/d', { start: 0, end: 16 });
    read[0] = 6;
    expect((await store.get('segment/d', { start: 0, end: 1 }))[0]).toBe(5);
    expect(Buffer.isBuffer(await store.get('segment/d'))).toBe(false);
  });

  it('reads parts as views of what it keeps (partsShareMemory), also through the wrappers', async () => {
    // The segment cache keeps such parts as its blocks without copying them (segment-cache.ts).
    const store = new MemoryObjectStore();
    await store.put('segment/e', new Uint8Array(4096).map((_, i) => i & 0xff));
    const wrapped = [
      store,
      new InstrumentedObjectStore(store, { onRequest: () => {} }),
      new FaultyObjectStore(store, { rand: seededRand(1) }),
    ];
    for (const s of wrapped) {
      expect(s.partsShareMemory).toBe(true);
      const [a, b] = await s.getParts!('segment/e', 10, [100, 200]);
      expect(a!.buffer).toBe(b!.buffer);
      expect(a!.buffer.byteLength).toBe(4096);
      expect([a![0], b![0], b![199]]).toEqual([10, 110, 309 & 0xff]);
    }
  });

  it('copies a handed-over view that shows much less than the memory behind it', async () => {
    const store = new MemoryObjectStore();
    const backing = new Uint8Array(1024 * 1024).fill(3);
    const view = backing.subarray(0, 1000);
    await store.put('segment/c', view, { handOver: true });
    backing[0] = 4;
    expect(await store.get('segment/c')).toEqual(new Uint8Array(1000).fill(3));
    expect(await store.head('segment/c')).toMatchObject({ size: 1000 });
  });
});
