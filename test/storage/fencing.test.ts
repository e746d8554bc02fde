/**
 * Single-writer fencing: a second writer opening the same store fences the first (its next commit
 * is rejected, its status turns bad, its failure listeners fire), nothing the first acknowledged
 * is lost, and chunks a zombie writes after the fence (or that follow a chunk that never became
 * durable) are never replayed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '../../src/objectstore/memory.js';
import type { ObjectStore } from '../../src/objectstore/types.js';
import { ChunkLog, type ChunkLogOptions } from '../../src/storage/chunk-log.js';
import type { StorageError } from '../../src/storage/errors.js';
import { encodeChunk } from '../../src/storage/codec-chunk.js';
import { encodeCommit } from '../../src/storage/codec-mutation.js';
import { chunkKey } from '../../src/storage/names.js';
import { ManualClock } from '../../src/util/clock.js';
import { seededRand } from '../../src/util/rand.js';
import { createStream, faulty, makeAppend, readAll, seqs } from './helpers.js';

const opened: ChunkLog[] = [];
let seed = 100;

async function open(store: ObjectStore, options: ChunkLogOptions = {}, events?: string[]): Promise<ChunkLog> {
  const logger = events ? (event: string) => void events.push(event) : undefined;
  const log = await ChunkLog.open(store, { clock: new ManualClock(), rand: seededRand(seed++), logger, ...options });
  opened.push(log);
  return log;
}

afterEach(async () => {
  // A failed test may leave puts held forever: do not let closing hang the suite.
  for (const log of opened.splice(0)) await Promise.race([log.close(), new Promise((r) => setTimeout(r, 1_000))]);
});

async function tick(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

describe('fencing', () => {
  it('a second writer fences the first, which loses nothing it acknowledged', async () => {
    const store = new MemoryObjectStore();
    const first = await open(store);
    const failures: StorageError[] = [];
    first.subscribe({ durableThrough: () => {}, failed: (error) => failures.push(error) });
    await first.commit(createStream('s'));
    await Promise.all([first.commit([makeAppend('s', 0, 5)]), first.commit([makeAppend('s', 5, 5)])]);

    const second = await open(store);
    expect(second.epoch).toBe(first.epoch + 1);
    expect(second.recovered().streams[0].tail.seqNum).toBe(10);

    const refused = (await first.commit([makeAppend('s', 10, 1)]).catch((e: unknown) => e)) as StorageError;
    expect(refused.kind).toBe('fenced');
    expect(refused.message).toMatch(/^fenced by a newer writer: chunk \d+ was written by writer epoch 2/);
    expect(first.status()).toEqual({ ok: false, error: refused });
    expect(failures).toEqual([refused]); // the subscriber heard it once
    await expect(first.commit([makeAppend('s', 10, 1)])).rejects.toBe(refused);

    await second.commit([makeAppend('s', 10, 1)]);
    const third = await open(store);
    expect(seqs((await third.read(readAll('s', 11))).records)).toEqual(range(0, 11));
  });

  it('an idle fenced writer notices within a poll interval', async () => {
    const store = new MemoryObjectStore();
    const clock = new ManualClock();
    const first = await open(store, { clock, manifestPollIntervalMs: 1_000 });
    let failed = '';
    first.subscribe({ durableThrough: () => {}, failed: (error) => (failed = error.message) });
    await open(store);
    await clock.advance(999);
    expect(first.status().ok).toBe(true);
    await clock.advance(1);
    expect(first.status()).toMatchObject({ ok: false });
    expect(failed).toMatch(/fenced by a newer writer: manifest \d+ has writer epoch 2/);
  });

  it('a fenced writer cannot checkpoint over the newer writer', async () => {
    const store = new MemoryObjectStore();
    const first = await open(store);
    await first.commit(createStream('s'));
    await first.commit([makeAppend('s', 0, 3)]);
    const second = await open(store);
    expect(await first.checkpoint()).toMatchObject({ kind: 'fenced' });
    expect(first.status().ok).toBe(false);
    await second.commit([makeAppend('s', 3, 1)]);
    expect(seqs((await (await open(store)).read(readAll('s', 4))).records)).toEqual([0, 1, 2, 3]);
  });

  it('the fence chunk outlives the checkpoint and GC that fold it, so the writer it fenced stays fenced', async () => {
    const store = new MemoryObjectStore();
    const first = await open(store);
    await first.commit(createStream('s'));
    await first.commit([makeAppend('s', 0, 2)]);
    const written = (await store.list('chunk/')).map((o) => o.key);
    const fenceChunkId = written.length + 1; // chunk ids start at 1: the fence takes the first missing one
    expect(written.at(-1)).toBe(chunkKey(fenceChunkId - 1));
    const second = await open(store);
    await second.commit([makeAppend('s', 2, 1)]);
    expect(await second.checkpoint()).toMatchObject({ kind: 'done' });
    await second.collectGarbage();
    // Every other folded chunk is gone; the fences stay (the first writer's next id is the second's fence id;
    // chunk 1 is the fence the first writer wrote when it opened the empty store).
    const chunks = (await store.list('chunk/')).map((o) => o.key);
    expect(chunks).toEqual([chunkKey(1), chunkKey(fenceChunkId)]);

    await expect(first.commit([makeAppend('s', 2, 5)])).rejects.toMatchObject({ kind: 'fenced' });
    expect(seqs((await (await open(store)).read(readAll('s', 3))).records)).toEqual([0, 1, 2]);
  });

  it('exactly one of two writers opening at once can commit', async () => {
    const store = new MemoryObjectStore();
    const setup = await open(store);
    await setup.commit(createStream('s'));
    await setup.close();
    const results = await Promise.allSettled([open(store), open(store)]);
    const commits = await Promise.allSettled(
      results.map((r, i) =>
        r.status === 'fulfilled' ? r.value.commit([makeAppend('s', 0, 1 + i)]) : Promise.reject(),
      ),
    );
    expect(commits.filter((c) => c.status === 'fulfilled').length).toBe(1);
  });

  it('ignores a zombie chunk written after the fence, and the new writer writes past it', async () => {
    const memory = new MemoryObjectStore();
    const zombieStore = faulty(memory);
    const zombie = await open(zombieStore, { chunksInFlightMax: 4 });
    await zombie.commit(createStream('s'));
    await zombie.commit([makeAppend('s', 0, 2)]);
    zombieStore.faults.add({ op: 'put', prefix: 'chunk/', mode: 'hold' });
    const lost = [zombie.commit([makeAppend('s', 2, 1)])];
    await tick();
    lost.push(zombie.commit([makeAppend('s', 3, 1)]));
    lost.forEach((p) => p.catch(() => {}));
    await tick();
    const [gap, later] = zombieStore.held.map((h) => h.key);
    expect([gap, later]).toEqual([chunkKey(4), chunkKey(5)]);

    const writerEvents: string[] = [];
    const writer = await open(memory, {}, writerEvents);
    zombieStore.release((call) => call.key === later); // lands after the fence: a zombie chunk
    await tick();
    zombieStore.release(); // finds the fence: the zombie learns it is fenced
    await expect(Promise.all(lost)).rejects.toMatchObject({ kind: 'fenced' });
    expect(zombie.status().ok).toBe(false);

    await writer.commit([makeAppend('s', 2, 3)]);
    expect(writerEvents).toContain('chunk-displaced');
    expect(seqs((await writer.read(readAll('s', 5))).records)).toEqual(range(0, 5));

    const events: string[] = [];
    const reader = await open(memory, {}, events);
    expect(events).toContain('replay-skip-zombie');
    expect(reader.recovered().streams[0].tail.seqNum).toBe(5);
    const records = (await reader.read(readAll('s', 5))).records;
    expect(records).toEqual(
      makeAppend('s', 2, 3).records.reduce((all, r) => [...all, r], makeAppend('s', 0, 2).records),
    );
  });

  it('replays only the chain: zombies (lower epoch) and orphans (unknown predecessor) are skipped', async () => {
    const store = new MemoryObjectStore();
    for (let i = 0; i < 3; i++) await (await open(store)).close(); // epochs 1..3, fence chunks 1..3
    const commit = (mutations: Parameters<typeof encodeCommit>[0]) => [encodeCommit(mutations)];
    const put = (id: number, epoch: number, prev: number, body: Uint8Array[]) =>
      store.put(chunkKey(id), encodeChunk({ epoch, chunkId: id, prevChunkId: prev }, body, 1 << 20), {
        ifNoneMatch: '*',
      });
    await put(4, 3, 3, commit(createStream('s')));
    await put(5, 2, 4, commit([makeAppend('s', 0, 1)])); // zombie: epoch 2 after epoch 3
    await put(6, 3, 5, commit([makeAppend('s', 1, 1)])); // orphan: follows the zombie
    await put(7, 3, 4, commit([makeAppend('s', 0, 2)])); // the chain continues here
    await put(8, 3, 6, commit([makeAppend('s', 2, 1)])); // orphan
    await put(10, 3, 7, commit([makeAppend('s', 2, 9)])); // after a gap: never acknowledged

    const events: string[] = [];
    const log = await open(store, {}, events);
    expect(log.epoch).toBe(4);
    expect(log.recovered().streams[0].tail.seqNum).toBe(2);
    expect(events.filter((e) => e.startsWith('replay-skip'))).toEqual([
      'replay-skip-zombie',
      'replay-skip-orphan',
      'replay-skip-orphan',
    ]);
    expect(await store.head(chunkKey(9))).not.toBeNull(); // the fence went into the gap
    await log.commit([makeAppend('s', 2, 1)]);
    await log.close();

    const again = await open(store);
    expect(again.recovered().streams[0].tail.seqNum).toBe(3);
    expect(seqs((await again.read(readAll('s', 3))).records)).toEqual([0, 1, 2]);
  });

  it('refuses to open when the log holds a chunk from a newer epoch than the one it just took', async () => {
    const store = new MemoryObjectStore();
    await (await open(store)).close();
    const body = encodeChunk({ epoch: 9, chunkId: 2, prevChunkId: 1 }, [], 0);
    await store.put(chunkKey(2), body, { ifNoneMatch: '*' });
    await expect(open(store)).rejects.toMatchObject({ kind: 'fenced', message: /epoch 9, newer than ours/ });
  });
});

function range(start: number, end: number): number[] {
  return Array.from({ length: end - start }, (_, i) => start + i);
}
