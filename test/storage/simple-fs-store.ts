/**
 * A minimal local-filesystem ObjectStore for the crash test (the lead will switch that test to the
 * real local-fs backend). Durable like the real one must be: an object is written to a temp file
 * and fsynced, then linked into place (create-if-absent: EEXIST means the key is taken) or renamed
 * over (plain put), and the directory is fsynced. The put-id lives in a small header in front of
 * the body: [u32 metadata length][metadata JSON][body].
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, rename, rm, unlink } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { compareKeys } from '../../src/objectstore/memory.js';
import {
  ObjectStoreError,
  type ByteRange,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
} from '../../src/objectstore/types.js';

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class SimpleFsStore implements ObjectStore {
  private readonly objects: string;
  private readonly temp: string;

  constructor(private readonly root: string) {
    this.objects = join(root, 'objects');
    this.temp = join(root, 'tmp');
  }

  private path(key: string): string {
    if (key.split('/').some((part) => part === '' || part === '.' || part === '..')) {
      throw new ObjectStoreError('Fatal', `invalid key ${key}`);
    }
    return join(this.objects, ...key.split('/'));
  }

  async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<void> {
    const path = this.path(key);
    await mkdir(this.temp, { recursive: true });
    const created = await mkdir(dirname(path), { recursive: true });
    if (created !== undefined) {
      // New directories must survive a crash too: fsync each, and the parent of the first.
      for (let dir = dirname(path); dir.length >= dirname(created).length; dir = dirname(dir)) await fsyncPath(dir);
    }
    const meta = Buffer.from(JSON.stringify({ putId: options.putId ?? null }));
    const header = Buffer.alloc(4);
    header.writeUInt32LE(meta.length);
    const temp = join(this.temp, randomBytes(12).toString('hex'));
    const handle = await open(temp, 'wx');
    try {
      await handle.writeFile(Buffer.concat([header, meta, body]));
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      if (options.ifNoneMatch === '*') {
        try {
          await link(temp, path);
        } catch (error) {
          if (code(error) === 'EEXIST')
            throw new ObjectStoreError('PreconditionFailed', `object ${key} already exists`);
          throw error;
        }
        await unlink(temp);
      } else {
        await rename(temp, path);
      }
    } finally {
      await rm(temp, { force: true });
    }
    await fsyncPath(dirname(path));
  }

  private async readHeader(key: string) {
    let handle;
    try {
      handle = await open(this.path(key), 'r');
    } catch (error) {
      if (code(error) === 'ENOENT') return null;
      throw error;
    }
    const size = (await handle.stat()).size;
    const length = Buffer.alloc(4);
    await handle.read(length, 0, 4, 0);
    const meta = Buffer.alloc(length.readUInt32LE());
    await handle.read(meta, 0, meta.length, 4);
    const { putId } = JSON.parse(meta.toString()) as { putId: string | null };
    const offset = 4 + meta.length;
    return { handle, offset, size: size - offset, putId: putId ?? undefined };
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    const object = await this.readHeader(key);
    if (!object) throw new ObjectStoreError('NotFound', `object ${key} not found`);
    try {
      const start = Math.min(range?.start ?? 0, object.size);
      const end = Math.min(range?.end ?? object.size, object.size);
      const out = new Uint8Array(Math.max(0, end - start));
      if (out.length > 0) await object.handle.read(out, 0, out.length, object.offset + start);
      return out;
    } finally {
      await object.handle.close();
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const object = await this.readHeader(key);
    if (!object) return null;
    await object.handle.close();
    return { key, size: object.size, putId: object.putId };
  }

  async list(prefix: string, options: { startAfter?: string; limit?: number } = {}): Promise<ObjectInfo[]> {
    const keys: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        if (code(error) === 'ENOENT') return;
        throw error;
      }
      for (const entry of entries) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else keys.push(relative(this.objects, path).split(sep).join('/'));
      }
    };
    await walk(this.objects);
    const chosen = keys
      .filter((key) => key.startsWith(prefix) && (options.startAfter === undefined || key > options.startAfter))
      .sort(compareKeys)
      .slice(0, options.limit ?? Infinity);
    const out: ObjectInfo[] = [];
    for (const key of chosen) {
      const info = await this.head(key);
      if (info) out.push(info);
    }
    return out;
  }

  async delete(keys: string[]): Promise<void> {
    for (const key of keys) {
      try {
        await unlink(this.path(key));
      } catch (error) {
        if (code(error) !== 'ENOENT') throw error;
      }
    }
  }

  describe(): string {
    return `file://${this.root}`;
  }
}
