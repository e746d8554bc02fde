import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalFsObjectStore } from '../../src/objectstore/local-fs.js';
import { fsError } from '../../src/objectstore/local-fs-errors.js';
import { openObjectStore } from '../../src/objectstore/index.js';
import { ObjectStoreError } from '../../src/objectstore/types.js';
import { runObjectStoreContract } from './contract.js';

const text = (s: string) => new TextEncoder().encode(s);

async function tempDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 's2-localfs-'));
}

runObjectStoreContract('local fs', async () => {
  const dir = await tempDir();
  const store = new LocalFsObjectStore(path.join(dir, 'root'));
  await store.init();
  return { store, cleanup: () => rm(dir, { recursive: true, force: true }) };
});

async function walkFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walkFiles(full)));
    else out.push(full);
  }
  return out;
}

describe('LocalFsObjectStore specifics', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('never lists in-flight or leftover temp files, and leaves none behind after puts', async () => {
    const store = new LocalFsObjectStore(dir);
    await store.put('chunk/1', text('a'), { ifNoneMatch: '*', putId: 'x' });
    await store.put('chunk/1', text('b'), { ifNoneMatch: '*', putId: 'y' }).catch(() => undefined);
    await store.put('chunk/2', text('c'));
    expect((await walkFiles(dir)).map((f) => path.relative(dir, f)).sort()).toEqual(['chunk/1', 'chunk/2']);
    // A temp file left by a crash mid-put is invisible.
    await writeFile(path.join(dir, 'chunk', '.s2tmp.1234.0.abc'), 'partial');
    expect((await store.list('chunk/')).map((o) => o.key)).toEqual(['chunk/1', 'chunk/2']);
    expect((await store.list('')).map((o) => o.key)).toEqual(['chunk/1', 'chunk/2']);
  });

  it('keeps an object written with create-if-absent across a new store instance on the same dir', async () => {
    const first = new LocalFsObjectStore(dir);
    await first.put('manifest/00000000000000000001', text('epoch 1'), { ifNoneMatch: '*', putId: 'w1' });
    const second = new LocalFsObjectStore(dir);
    expect(await second.get('manifest/00000000000000000001')).toEqual(text('epoch 1'));
    expect(await second.head('manifest/00000000000000000001')).toEqual({
      key: 'manifest/00000000000000000001',
      size: 7,
      putId: 'w1',
    });
    // The second instance (another process, in real life) still loses the create race.
    const error = await second
      .put('manifest/00000000000000000001', text('epoch 2'), { ifNoneMatch: '*', putId: 'w2' })
      .catch((e: unknown) => e);
    expect((error as ObjectStoreError).kind).toBe('PreconditionFailed');
  });

  it('writes bodies held in a SharedArrayBuffer, large and small, byte for byte', async () => {
    // Checkpoints encode segments into a shared scratch that crosses to the writer thread as it is.
    const store = new LocalFsObjectStore(dir);
    expect(store.bodyHandling).toBe('shared');
    try {
      for (const size of [10, 70 * 1024, 3 * 1024 * 1024 + 5]) {
        const shared = new Uint8Array(new SharedArrayBuffer(size + 100));
        for (let i = 0; i < shared.length; i++) shared[i] = (i * 31 + size) & 0xff;
        const body = shared.subarray(50, 50 + size);
        await store.put(`segment/s/${size}`, body, { ifNoneMatch: '*', putId: 'p' });
        // Buffer.equals: a deep toEqual over megabytes takes tens of seconds.
        const got = Buffer.from(await store.get(`segment/s/${size}`));
        expect(got.equals(Buffer.from(body.slice()))).toBe(true);
        expect(await store.head(`segment/s/${size}`)).toMatchObject({ size, putId: 'p' });
      }
    } finally {
      await store.close();
    }
  });

  it('stores the put-id in a header that get and ranges skip', async () => {
    const store = new LocalFsObjectStore(dir);
    await store.put('h', text('body'), { putId: 'id-42' });
    const raw = await readFile(path.join(dir, 'h'));
    expect(raw.subarray(0, 4).toString('latin1')).toBe('S2OB');
    expect(raw.length).toBe(4 + 1 + 2 + 'id-42'.length + 4);
    expect(await store.get('h', { start: 1, end: 3 })).toEqual(text('od'));
  });

  it('rejects a file that is not one of its objects with a clear Fatal error', async () => {
    const store = new LocalFsObjectStore(dir);
    await writeFile(path.join(dir, 'foreign'), 'not an object');
    const error = (await store.get('foreign').catch((e: unknown) => e)) as ObjectStoreError;
    expect(error.kind).toBe('Fatal');
    expect(error.message).toContain('foreign');
  });

  it('prunes directories emptied by delete, and can write there again', async () => {
    const store = new LocalFsObjectStore(dir);
    await store.put('seg/s1/a', text('a'));
    await store.put('seg/s1/b', text('b'));
    await store.put('seg/s2/a', text('a'));
    await store.delete(['seg/s1/a', 'seg/s1/b']);
    expect(await readdir(path.join(dir, 'seg'))).toEqual(['s2']);
    await store.put('seg/s1/c', text('c'), { ifNoneMatch: '*' });
    expect((await store.list('seg/')).map((o) => o.key)).toEqual(['seg/s1/c', 'seg/s2/a']);
  });

  it('maps disk-full, permission and read-only errors to Fatal with the path, resource pressure to Transient', () => {
    const errnoError = (code: string) => Object.assign(new Error(code), { code });
    for (const [code, words] of [
      ['ENOSPC', 'no space left'],
      ['EACCES', 'permission denied'],
      ['EPERM', 'permission denied'],
      ['EROFS', 'read-only filesystem'],
      ['EIO', 'I/O error'],
    ]) {
      const mapped = fsError(errnoError(code), 'write object', '/data/s2/chunk/7');
      expect(mapped.kind).toBe('Fatal');
      expect(mapped.message).toContain(words);
      expect(mapped.message).toContain('/data/s2/chunk/7');
    }
    expect(fsError(errnoError('EMFILE'), 'open object', '/x').kind).toBe('Transient');
    const passthrough = new ObjectStoreError('PreconditionFailed', 'exists');
    expect(fsError(passthrough, 'write object', '/x')).toBe(passthrough);
  });

  it('reports a key that collides with a directory as Fatal, not as a lost create race', async () => {
    const store = new LocalFsObjectStore(dir);
    await store.put('a/b', text('x'));
    const error = (await store.put('a', text('y'), { ifNoneMatch: '*' }).catch((e: unknown) => e)) as ObjectStoreError;
    expect(error.kind).toBe('Fatal');
  });

  it('openObjectStore creates the root and fails clearly when it cannot', async () => {
    const root = path.join(dir, 'new', 'root');
    const store = await openObjectStore({ kind: 'local', root });
    await store.put('k', text('v'));
    expect((await stat(root)).isDirectory()).toBe(true);
    expect(store.describe()).toBe(`file://${root}`);
    await writeFile(path.join(dir, 'file'), 'x');
    await expect(openObjectStore({ kind: 'local', root: path.join(dir, 'file', 'sub') })).rejects.toThrow(
      /local root .*file.sub is not usable/,
    );
  });
});
