/**
 * Proves that the local-disk store's kept read handles stay within their bound, never show an object
 * that was replaced or deleted after the handle was opened, and are all closed at shutdown.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalFsObjectStore } from '../../src/objectstore/local-fs.js';
import { ObjectStoreError } from '../../src/objectstore/types.js';
import { until } from '../support/until.js';

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

describe('local fs read handles', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  async function store(readHandlesMax: number, readHandleIdleMs?: number): Promise<LocalFsObjectStore> {
    dir = await mkdtemp(path.join(os.tmpdir(), 's2-handles-'));
    const s = new LocalFsObjectStore(path.join(dir, 'root'), { readHandlesMax, readHandleIdleMs });
    await s.init();
    return s;
  }

  it('keeps at most the bound of handles open, least recently used closed first', async () => {
    const s = await store(2);
    for (const key of ['a/1', 'a/2', 'a/3']) await s.put(key, text(`body of ${key}`));
    expect(s.openReadHandles).toBe(0);
    expect(str(await s.get('a/1', { start: 0, end: 4 }))).toBe('body');
    expect(str(await s.get('a/1', { start: 8 }))).toBe('a/1');
    expect(s.openReadHandles).toBe(1);
    await s.get('a/2');
    await s.get('a/3');
    expect(s.openReadHandles).toBe(2);
    // Concurrent ranged reads of one object share its handle and all read correctly.
    const parts = await Promise.all([0, 1, 2, 3].map((i) => s.get('a/3', { start: i, end: i + 1 })));
    expect(parts.map(str).join('')).toBe('body');
    expect(s.openReadHandles).toBe(2);
    await s.close();
    expect(s.openReadHandles).toBe(0);
  });

  it('a put replacing an object, or a delete, drops its kept handle', async () => {
    const s = await store(8);
    await s.put('k', text('first'));
    expect(str(await s.get('k'))).toBe('first');
    expect(s.openReadHandles).toBe(1);
    await s.put('k', text('second, longer'));
    expect(s.openReadHandles).toBe(0);
    expect(str(await s.get('k'))).toBe('second, longer');
    await s.delete(['k']);
    expect(s.openReadHandles).toBe(0);
    await expect(s.get('k')).rejects.toSatisfy((e) => e instanceof ObjectStoreError && e.kind === 'NotFound');
    await s.close();
  });

  it('a get racing a put does not keep a handle that could be stale', async () => {
    const s = await store(8);
    await s.put('k', text('old'));
    const putting = s.put('k', text('new'));
    const got = await s.get('k');
    await putting;
    expect(['old', 'new']).toContain(str(got));
    expect(str(await s.get('k'))).toBe('new');
    await s.close();
  });

  it('closes a handle left unused, without close() (a store dropped by an embedded server)', async () => {
    const s = await store(8, 50);
    await s.put('k', text('x'));
    await s.get('k');
    expect(s.openReadHandles).toBe(1);
    await until('the idle handle is closed', () => s.openReadHandles === 0);
    expect(str(await s.get('k'))).toBe('x');
    await s.close();
  });

  it('with a bound of 0 nothing is kept', async () => {
    const s = await store(0);
    await s.put('k', text('x'));
    expect(str(await s.get('k'))).toBe('x');
    expect(s.openReadHandles).toBe(0);
    await s.close();
  });
});
