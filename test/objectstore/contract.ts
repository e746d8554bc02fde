/**
 * The ObjectStore contract, run against every backend (memory, local fs, S3). The storage engine relies
 * on exactly these behaviours, so a backend passing this suite can carry it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compareKeys } from '../../src/objectstore/memory.js';
import { ObjectStoreError, type ObjectStore } from '../../src/objectstore/types.js';

export type MakeStore = () => Promise<{ store: ObjectStore; cleanup: () => Promise<void> }>;

const bytes = (...values: number[]) => new Uint8Array(values);
const text = (s: string) => new TextEncoder().encode(s);

async function expectKind(promise: Promise<unknown>, kind: ObjectStoreError['kind']): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ObjectStoreError ${kind}`).toBeInstanceOf(ObjectStoreError);
  expect((error as ObjectStoreError).kind).toBe(kind);
}

/** Runs `fn` over `items` with at most `width` in flight (keeps request bursts modest on a small machine). */
async function inBatches<T>(items: T[], width: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(fn));
}

export function runObjectStoreContract(name: string, makeStore: MakeStore): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let store: ObjectStore;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await makeStore());
    });

    afterEach(async () => {
      await cleanup();
    });

    it('round-trips binary bytes, including every byte value and zero length', async () => {
      const all = new Uint8Array(256).map((_, i) => i);
      await store.put('bin/all', all);
      await store.put('bin/empty', new Uint8Array(0));
      expect(await store.get('bin/all')).toEqual(all);
      expect(await store.get('bin/empty')).toEqual(new Uint8Array(0));
      expect(await store.head('bin/empty')).toMatchObject({ key: 'bin/empty', size: 0 });
      expect(await store.head('bin/all')).toMatchObject({ key: 'bin/all', size: 256 });
    });

    it('keeps what was put even if the caller reuses its buffer', async () => {
      const buffer = bytes(1, 2, 3);
      await store.put('k', buffer);
      buffer[0] = 9;
      expect(await store.get('k')).toEqual(bytes(1, 2, 3));
      const read = await store.get('k');
      read[1] = 9;
      expect(await store.get('k')).toEqual(bytes(1, 2, 3));
    });

    it('overwrites without a condition', async () => {
      await store.put('k', text('first'), { putId: 'a' });
      await store.put('k', text('second, longer'), { putId: 'b' });
      expect(await store.get('k')).toEqual(text('second, longer'));
      expect(await store.head('k')).toMatchObject({ size: 14, putId: 'b' });
    });

    it('create-if-absent fails with PreconditionFailed when the key exists, leaving it unchanged', async () => {
      await store.put('m/1', text('original'), { ifNoneMatch: '*', putId: 'mine' });
      await expectKind(store.put('m/1', text('intruder'), { ifNoneMatch: '*', putId: 'theirs' }), 'PreconditionFailed');
      expect(await store.get('m/1')).toEqual(text('original'));
      expect((await store.head('m/1'))?.putId).toBe('mine');
    });

    it('lets exactly one of 10 concurrent create-if-absent puts win', async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) =>
          store.put('race', text(`writer ${i}`), { ifNoneMatch: '*', putId: `w${i}` }).then(() => i),
        ),
      );
      const winners = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      expect(winners).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') {
          expect(r.reason).toBeInstanceOf(ObjectStoreError);
          expect((r.reason as ObjectStoreError).kind).toBe('PreconditionFailed');
        }
      }
      expect(await store.get('race')).toEqual(text(`writer ${winners[0]}`));
      expect((await store.head('race'))?.putId).toBe(`w${winners[0]}`);
    });

    it('round-trips the put-id through head, and reports none when none was given', async () => {
      await store.put('id/with', text('x'), { ifNoneMatch: '*', putId: '01J9Z3-writer-7' });
      await store.put('id/without', text('y'));
      expect(await store.head('id/with')).toEqual({ key: 'id/with', size: 1, putId: '01J9Z3-writer-7' });
      const without = await store.head('id/without');
      expect(without).toMatchObject({ key: 'id/without', size: 1 });
      expect(without?.putId).toBeUndefined();
    });

    it('reports absent objects: head -> null, get -> NotFound (also for ranges)', async () => {
      expect(await store.head('absent')).toBeNull();
      await expectKind(store.get('absent'), 'NotFound');
      await expectKind(store.get('absent', { start: 0, end: 0 }), 'NotFound');
      await expectKind(store.get('absent', { start: 3 }), 'NotFound');
    });

    it('serves byte ranges, clamped to the object', async () => {
      const body = text('0123456789');
      await store.put('r', body);
      expect(await store.get('r', { start: 3 })).toEqual(text('3456789'));
      expect(await store.get('r', { start: 2, end: 5 })).toEqual(text('234'));
      expect(await store.get('r', { start: 0, end: 10 })).toEqual(body);
      expect(await store.get('r', { start: 9, end: 10 })).toEqual(text('9'));
      expect(await store.get('r', { start: 4, end: 4 })).toEqual(new Uint8Array(0));
      expect(await store.get('r', { start: 10 })).toEqual(new Uint8Array(0));
      expect(await store.get('r', { start: 8, end: 100 })).toEqual(text('89'));
      expect(await store.get('r', { start: 25 })).toEqual(new Uint8Array(0));
      await store.put('r0', new Uint8Array(0));
      expect(await store.get('r0', { start: 0 })).toEqual(new Uint8Array(0));
    });

    it('reads consecutive parts, each into memory of its own or as views of the store\'s memory (getParts)', async () => {
      // Optional in the interface (S3 has no single-request form of it); every store that has it must do this.
      if (!store.getParts) {
        // Only S3 lacks it (the segment cache then reads a run with one ranged get).
        expect(name).toMatch(/s3/i);
        return;
      }
      const body = new Uint8Array(300_000).map((_, i) => (i * 7 + (i >> 9)) & 0xff);
      await store.put('p', body);
      const lengths = [1_000, 0, 70_000, 200_000, 5];
      const parts = await store.getParts('p', 123, lengths);
      let at = 123;
      const memory = new Set<ArrayBufferLike>();
      for (let i = 0; i < lengths.length; i++) {
        expect(Buffer.from(parts[i]!).equals(Buffer.from(body.subarray(at, at + lengths[i]!)))).toBe(true);
        if (!store.partsShareMemory) expect(parts[i]!.byteLength).toBe(parts[i]!.buffer.byteLength);
        memory.add(parts[i]!.buffer);
        at += lengths[i]!;
      }
      if (store.partsShareMemory) {
        // Views of the one copy the store keeps (put copied the caller's body): nothing was copied.
        expect(memory.size).toBe(1);
        expect(parts[3]!.buffer).not.toBe(body.buffer);
      } else {
        expect(memory.size).toBe(lengths.length);
        parts[0]!.fill(0); // the store's copy is not the caller's
        expect(await store.get('p', { start: 123, end: 1_123 })).toEqual(body.subarray(123, 1_123));
      }
      expect((await store.getParts('p', 299_990, [10])).map((p) => Buffer.from(p))).toEqual([
        Buffer.from(body.subarray(299_990)),
      ]);
      await expectKind(store.getParts('p', 299_990, [5, 6]), 'Fatal');
      await expectKind(store.getParts('absent', 0, [1]), 'NotFound');
    });

    it('lists keys in byte order with sizes', async () => {
      // '-' 0x2d < '.' 0x2e < '/' 0x2f < '0' < '=' 0x3d < 'Z' < '_' 0x5f < 'a' < 'é' (UTF-8 0xc3 0xa9)
      const keys = ['o/a_b', 'o/a/x', 'o/a-b', 'o/a.b', 'o/aZ', 'o/a=b', 'o/a', 'o/é', 'o/a0', 'o/b/c/d'];
      const sorted = [...keys].sort(compareKeys);
      expect(sorted).toEqual(['o/a', 'o/a-b', 'o/a.b', 'o/a/x', 'o/a0', 'o/a=b', 'o/aZ', 'o/a_b', 'o/b/c/d', 'o/é']);
      // Local fs cannot hold 'o/a' as a file and as the directory of 'o/a/x'; leave that pair to S3/memory.
      const usable = keys.filter((k) => k !== 'o/a');
      await Promise.all(usable.map((k, i) => store.put(k, new Uint8Array(i))));
      const listed = await store.list('o/');
      expect(listed.map((o) => o.key)).toEqual(sorted.filter((k) => k !== 'o/a'));
      for (const o of listed) expect(o.size).toBe(usable.indexOf(o.key));
      expect(await store.list('nothing-here/')).toEqual([]);
    });

    it('filters by prefix, including a prefix that ends mid-name', async () => {
      const keys = ['p/a', 'p/ab', 'p/abc', 'p/ab-1', 'p/abx/y', 'p/b', 'q/ab', 'pab'];
      await Promise.all(keys.map((k) => store.put(k, text(k))));
      expect((await store.list('p/ab')).map((o) => o.key)).toEqual(['p/ab', 'p/ab-1', 'p/abc', 'p/abx/y']);
      expect((await store.list('p/')).map((o) => o.key)).toEqual(['p/a', 'p/ab', 'p/ab-1', 'p/abc', 'p/abx/y', 'p/b']);
      expect((await store.list('p')).map((o) => o.key)).toEqual([
        'p/a',
        'p/ab',
        'p/ab-1',
        'p/abc',
        'p/abx/y',
        'p/b',
        'pab',
      ]);
      expect((await store.list('p/abx/')).map((o) => o.key)).toEqual(['p/abx/y']);
      expect((await store.list('p/zz')).map((o) => o.key)).toEqual([]);
    });

    it('honours startAfter and limit', async () => {
      const keys = ['s/1', 's/2', 's/3/a', 's/3/b', 's/4'];
      await Promise.all(keys.map((k) => store.put(k, text(k))));
      const list = async (options: { startAfter?: string; limit?: number }) =>
        (await store.list('s/', options)).map((o) => o.key);
      expect(await list({ startAfter: 's/2' })).toEqual(['s/3/a', 's/3/b', 's/4']);
      expect(await list({ startAfter: 's/3/a' })).toEqual(['s/3/b', 's/4']);
      expect(await list({ startAfter: 's/25' })).toEqual(['s/3/a', 's/3/b', 's/4']); // not itself a key
      expect(await list({ startAfter: 's/4' })).toEqual([]);
      expect(await list({ startAfter: 'a' })).toEqual(keys); // before the prefix
      expect(await list({ limit: 2 })).toEqual(['s/1', 's/2']);
      expect(await list({ startAfter: 's/1', limit: 3 })).toEqual(['s/2', 's/3/a', 's/3/b']);
      expect(await list({ limit: 100 })).toEqual(keys);
    });

    it('lists and deletes more than 1000 keys (pagination and delete batching)', async () => {
      const keys = Array.from({ length: 1100 }, (_, i) => `many/${String(i).padStart(5, '0')}`);
      await inBatches(keys, 50, (k) => store.put(k, bytes(1)));
      const all = await store.list('many/');
      expect(all.map((o) => o.key)).toEqual(keys);
      expect((await store.list('many/', { limit: 1050 })).map((o) => o.key)).toEqual(keys.slice(0, 1050));
      expect((await store.list('many/', { startAfter: keys[1049] })).map((o) => o.key)).toEqual(keys.slice(1050));
      expect((await store.list('many/', { startAfter: keys[10], limit: 1010 })).map((o) => o.key)).toEqual(
        keys.slice(11, 1021),
      );
      await store.delete(keys);
      expect(await store.list('many/')).toEqual([]);
    });

    it('deletes existing and absent keys alike', async () => {
      await store.put('d/1', text('one'), { ifNoneMatch: '*', putId: 'p1' });
      await store.put('d/2', text('two'));
      await store.delete(['d/1', 'd/absent', 'elsewhere/absent']);
      expect(await store.head('d/1')).toBeNull();
      await expectKind(store.get('d/1'), 'NotFound');
      expect((await store.list('d/')).map((o) => o.key)).toEqual(['d/2']);
      await store.delete([]);
      await store.delete(['d/2']);
      expect(await store.list('d/')).toEqual([]);
      // A deleted key can be created again, conditionally.
      await store.put('d/1', text('again'), { ifNoneMatch: '*', putId: 'p2' });
      expect(await store.get('d/1')).toEqual(text('again'));
    });

    it("supports nested keys with '=', '-', '_' and '.'", async () => {
      const key = 'basin=my-basin/stream_1.x/seg-00000000000000000042_v2.bin';
      await store.put(key, text('deep'), { ifNoneMatch: '*', putId: 'n' });
      expect(await store.get(key)).toEqual(text('deep'));
      expect(await store.head(key)).toEqual({ key, size: 4, putId: 'n' });
      expect((await store.list('basin=my-basin/')).map((o) => o.key)).toEqual([key]);
      expect((await store.list('basin=my-basin/stream_1.')).map((o) => o.key)).toEqual([key]);
    });

    it('stores a 5 MiB object', async () => {
      const big = new Uint8Array(5 * 1024 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 11)) & 0xff;
      await store.put('big', big, { ifNoneMatch: '*', putId: 'big' });
      expect(await store.head('big')).toEqual({ key: 'big', size: big.length, putId: 'big' });
      expect(Buffer.from(await store.get('big')).equals(Buffer.from(big))).toBe(true);
      const mid = await store.get('big', { start: 3_000_000, end: 3_000_100 });
      expect(Buffer.from(mid).equals(Buffer.from(big.subarray(3_000_000, 3_000_100)))).toBe(true);
    });

    it('rejects keys that are not clean relative paths, and put-ids that cannot travel as S3 metadata', async () => {
      for (const key of ['', '/abs', 'a/../b', '..', 'a//b', 'a/', './a']) {
        await expectKind(store.put(key, bytes(1)), 'Fatal');
        await expectKind(store.get(key), 'Fatal');
      }
      for (const putId of ['', 'with space', 'é', 'x'.repeat(257)]) {
        await expectKind(store.put('k', bytes(1), { putId }), 'Fatal');
      }
      expect(await store.head('k')).toBeNull();
    });
  });
}
