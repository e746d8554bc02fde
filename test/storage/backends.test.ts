/**
 * The same ChunkLog behaviour on every real backend: memory, local disk and S3 (radosgw, see
 * test/setup/s3.ts). Each store is opened the way `serve` opens it (openObjectStore: init or
 * access check, retries), and every reopen builds a new store instance on the same place, as a
 * restarted process would. Kept short: a round trip through commit, reopen, checkpoint and reopen,
 * and fencing between two logs on the same prefix.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '../../src/objectstore/memory.js';
import { openObjectStore } from '../../src/objectstore/index.js';
import type { ObjectStore } from '../../src/objectstore/types.js';
import { ChunkLog } from '../../src/storage/chunk-log.js';
import type { StorageError } from '../../src/storage/errors.js';
import { createTestBucket, type TestBucket } from '../setup/s3-env.js';
import { createStream, makeAppend, readRange, seqs, collectableChunks } from './helpers.js';

interface Backend {
  name: string;
  setup(): Promise<void>;
  /** A fresh store instance on a place of its own, named by `place`. */
  store(place: string): Promise<ObjectStore>;
  teardown(): Promise<void>;
}

const memoryBackend = (): Backend => {
  const stores = new Map<string, MemoryObjectStore>();
  return {
    name: 'memory',
    setup: async () => {},
    // The memory store is its own place: the same instance stands in for a restarted process.
    store: async (place) => stores.get(place) ?? stores.set(place, new MemoryObjectStore()).get(place)!,
    teardown: async () => {},
  };
};

const localBackend = (): Backend => {
  let dir = '';
  return {
    name: 'local fs',
    setup: async () => void (dir = await mkdtemp(join(tmpdir(), 's2-backends-'))),
    store: (place) => openObjectStore({ kind: 'local', root: join(dir, place) }),
    teardown: () => rm(dir, { recursive: true, force: true }),
  };
};

const s3Backend = (): Backend => {
  let bucket: TestBucket | undefined;
  const run = randomBytes(4).toString('hex');
  return {
    name: 's3',
    setup: async () => void (bucket = await createTestBucket()),
    store: (place) => {
      const { endpoint, region, accessKeyId, secretAccessKey } = bucket!.config;
      return openObjectStore({
        kind: 's3',
        bucket: bucket!.bucket,
        prefix: `${run}/${place}`,
        s3: { endpoint, region, credentials: { accessKeyId, secretAccessKey }, requestTimeoutMs: 20_000 },
      });
    },
    teardown: async () => bucket?.cleanup(),
  };
};

function range(start: number, end: number): number[] {
  return Array.from({ length: end - start }, (_, i) => start + i);
}

describe.each([memoryBackend(), localBackend(), s3Backend()])('ChunkLog on $name', (backend) => {
  const logs: ChunkLog[] = [];
  const stores: ObjectStore[] = [];

  async function open(place: string): Promise<ChunkLog> {
    const store = await backend.store(place);
    stores.push(store);
    const log = await ChunkLog.open(store);
    logs.push(log);
    return log;
  }

  beforeAll(() => backend.setup());
  afterAll(async () => {
    for (const log of logs) await log.close();
    for (const store of stores) await store.close?.();
    await backend.teardown();
  });

  it('commit, reopen, read, checkpoint, reopen: the same records every time', async () => {
    const first = await open('round-trip');
    await first.commit([...createStream('a'), ...createStream('b').slice(1)]);
    // Pipelined commits, several per chunk and several chunks in flight.
    await Promise.all(range(0, 20).map((i) => first.commit([makeAppend('a', i * 5, 5), makeAppend('b', i, 1)])));
    expect(seqs(await readRange(first, 'a', 0, 100))).toEqual(range(0, 100));
    const written = await readRange(first, 'a', 0, 100);
    await first.close();

    const second = await open('round-trip');
    expect(second.epoch).toBe(first.epoch + 1);
    expect(second.recovered().streams.map((s) => [s.id, s.tail.seqNum])).toEqual([
      ['a', 100],
      ['b', 20],
    ]);
    expect(await readRange(second, 'a', 0, 100)).toEqual(written);
    expect(await second.checkpoint()).toMatchObject({ kind: 'done' });
    await second.collectGarbage();
    const store = stores.at(-1)!;
    expect((await store.list('segment/')).length).toBe(2);
    expect(await collectableChunks(store)).toEqual([]); // all folded, so all collected (but the fences)
    expect(await readRange(second, 'a', 0, 100)).toEqual(written); // now from segments
    await second.commit([makeAppend('a', 100, 3, { trimPoint: 10 })]);
    await second.close();

    const third = await open('round-trip');
    expect(third.stats().foldedChunkId).toBeGreaterThan(0);
    expect(seqs(await readRange(third, 'a', 0, 103))).toEqual(range(10, 103));
    expect(await readRange(third, 'a', 10, 100)).toEqual(written.slice(10));
    expect(seqs(await readRange(third, 'b', 0, 20))).toEqual(range(0, 20));
  });

  it('a second log on the same prefix fences the first; nothing acknowledged is lost', async () => {
    const first = await open('fencing');
    const failures: StorageError[] = [];
    first.subscribe({ durableThrough: () => {}, failed: (error) => failures.push(error) });
    await first.commit(createStream('s'));
    await Promise.all([first.commit([makeAppend('s', 0, 4)]), first.commit([makeAppend('s', 4, 4)])]);

    const second = await open('fencing');
    expect(second.epoch).toBe(first.epoch + 1);
    expect(second.recovered().streams[0].tail.seqNum).toBe(8);
    await expect(first.commit([makeAppend('s', 8, 1)])).rejects.toMatchObject({ kind: 'fenced' });
    expect(first.status()).toMatchObject({ ok: false, error: { kind: 'fenced' } });
    expect(failures.map((e) => e.kind)).toEqual(['fenced']);
    expect(await first.checkpoint()).toMatchObject({ kind: 'nothing' });

    await second.commit([makeAppend('s', 8, 2)]);
    await second.close();
    const third = await open('fencing');
    expect(seqs(await readRange(third, 's', 0, 10))).toEqual(range(0, 10));
    expect(await readRange(third, 's', 0, 10)).toEqual([
      ...makeAppend('s', 0, 8).records,
      ...makeAppend('s', 8, 2).records,
    ]);
  });
});
