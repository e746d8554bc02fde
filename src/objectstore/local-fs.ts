/**
 * Local-filesystem object store (`--local-root`): one file per key under a root directory, durable
 * before a put resolves.
 *
 * A put writes a temp file in the key's directory, fsyncs it, then publishes it atomically:
 * `link(tmp, final)` for create-if-absent (the kernel's EEXIST is our 412, race-free across processes)
 * or `rename(tmp, final)` for overwrite; then it unlinks the temp name and fsyncs the directory so the
 * new entry survives a crash. Readers therefore see either no object or the complete one.
 *
 * The put-id lives in a small header at the start of the same file (local-fs-header.ts), so it
 * appears atomically with the body. Filesystem errors map to object-store kinds in local-fs-errors.ts.
 *
 * Limitation: a key cannot be both an object and a directory prefix of another key ('a' and 'a/b');
 * S3 allows that, the filesystem does not. The storage layout never does it; it surfaces as Fatal.
 *
 * Every fsync (file and directory) is timed into the fsync histogram of src/metrics.ts directly:
 * fsync is what a local-disk commit waits for, and only this backend knows when it happens.
 */
import { mkdir, open, readdir, rmdir, stat, unlink, lstat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { metrics } from '../metrics.js';
import { FsWriterPool } from './fs-writer.js';
import { errno, fsError, rootError } from './local-fs-errors.js';
import { OpenHandles, type OpenObject } from './local-fs-handles.js';
import { encodeObjectHeader, readObjectHeader } from './local-fs-header.js';
import { localReadHandlesMax } from '../limits.js';
import { systemRand, type Rand } from '../util/rand.js';
import { TEMP_MARKER, validateKey, validatePutId } from './keys.js';
import { compareKeys } from './memory.js';
import {
  type PartAlloc,
  ObjectStoreError,
  type BodyHandling,
  type ByteRange,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
} from './types.js';

/** Concurrent header reads while listing. */
const LIST_CONCURRENCY = 16;

export interface LocalFsObjectStoreOptions {
  /** Used only to make temp file names unique. */
  rand?: Rand;
  /** File handles kept open between reads (local-fs-handles.ts); 0 = open per read. */
  readHandlesMax?: number;
  /** ...and closed after this long unused. */
  readHandleIdleMs?: number;
}

export class LocalFsObjectStore implements ObjectStore {
  readonly root: string;
  private readonly rand: Rand;
  /** Directories known to exist with their entry fsynced in the parent (created once per process). */
  private readonly durableDirs = new Map<string, Promise<void>>();
  private tempSeq = 0;
  /** Puts run on writer threads (see fs-writer.ts for why). */
  private readonly writers = new FsWriterPool();
  private closed = false;
  /** Handles kept open for the next ranged read of the same object. */
  private readonly handles: OpenHandles;
  /** Bodies in a SharedArrayBuffer reach the writer threads without a copy (fs-writer.ts). */
  readonly bodyHandling: BodyHandling = 'shared';

  constructor(rootDir: string, options: LocalFsObjectStoreOptions = {}) {
    this.root = path.resolve(rootDir);
    this.rand = options.rand ?? systemRand;
    this.handles = new OpenHandles(options.readHandlesMax ?? localReadHandlesMax, options.readHandleIdleMs);
  }

  /**
   * Creates the root directory if needed and checks that we can write and fsync there, so that a
   * bad path, a read-only or a full disk is a clear error at startup rather than at the first append.
   */
  async init(): Promise<void> {
    try {
      await this.ensureDir(this.root);
    } catch (error) {
      throw rootError(error, 'create root directory', this.root);
    }
    const probe = path.join(this.root, this.tempName());
    let fh: FileHandle | undefined;
    try {
      fh = await open(probe, 'wx');
      await writeAll(fh, encodeObjectHeader(undefined), 0);
      await fh.sync();
    } catch (error) {
      throw rootError(error, 'write in root directory', this.root);
    } finally {
      await fh?.close().catch(() => undefined);
      await unlink(probe).catch(() => undefined);
    }
  }

  async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<void> {
    validateKey(key);
    validatePutId(options.putId);
    if (this.closed) throw new ObjectStoreError('Fatal', `object store ${this.describe()} is closed`);
    return this.handles.changingKeys([key], () => this.putFile(key, body, options));
  }

  private async putFile(key: string, body: Uint8Array, options: PutOptions): Promise<void> {
    const header = encodeObjectHeader(options.putId);
    const finalPath = this.pathOf(key);
    const dir = path.dirname(finalPath);
    const publish = options.ifNoneMatch === '*' ? 'link' : 'rename';
    // A concurrent delete may prune the (empty) directory between ensureDir and creating the temp file.
    for (let attempt = 0; ; attempt++) {
      await this.ensureDir(dir);
      const tmp = path.join(dir, this.tempName());
      const reply = await this.writers.write({ dir, tmp, final: finalPath, publish, parts: [header, body] });
      for (const seconds of reply.syncSeconds) metrics.fsyncDuration.observe(seconds);
      const error = reply.error;
      if (!error) return;
      if (error.step === 'open' && error.code === 'ENOENT' && attempt < 3) {
        this.forgetDirs(dir);
        continue;
      }
      const cause = Object.assign(new Error(error.message), { code: error.code });
      if (error.step === 'link' && error.code === 'EEXIST') {
        const existing = await lstat(finalPath).catch(() => null);
        if (existing && !existing.isFile()) {
          throw new ObjectStoreError('Fatal', `key ${key} conflicts with directory ${finalPath}`, { cause });
        }
        throw new ObjectStoreError('PreconditionFailed', `object ${key} already exists in ${this.describe()}`);
      }
      if (error.step === 'open') throw fsError(cause, 'create temp file', tmp);
      if (error.step === 'fsync-dir') throw fsError(cause, 'fsync directory', dir);
      throw fsError(cause, 'write object', finalPath);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.handles.close();
    await this.writers.close();
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    validateKey(key);
    const lease = await this.handles.lease(key, () => this.openObject(key));
    if (!lease) throw new ObjectStoreError('NotFound', `object ${key} not found in ${this.describe()}`);
    const object = lease.object;
    try {
      const start = Math.min(Math.max(range?.start ?? 0, 0), object.size);
      const end = Math.min(Math.max(range?.end ?? object.size, start), object.size);
      // Every byte is read into it below (or the get fails): no need to zero it first.
      const out = Buffer.allocUnsafe(end - start);
      let done = 0;
      while (done < out.length) {
        const { bytesRead } = await object.fh.read(out, done, out.length - done, object.headerLength + start + done);
        if (bytesRead === 0) throw new ObjectStoreError('Fatal', `object file ${this.pathOf(key)} is truncated`);
        done += bytesRead;
      }
      return new Uint8Array(out.buffer, out.byteOffset, out.length);
    } catch (error) {
      throw fsError(error, 'read object', this.pathOf(key));
    } finally {
      await lease.release();
    }
  }

  async getParts(key: string, start: number, lengths: readonly number[], alloc?: PartAlloc): Promise<Uint8Array[]> {
    validateKey(key);
    const lease = await this.handles.lease(key, () => this.openObject(key));
    if (!lease) throw new ObjectStoreError('NotFound', `object ${key} not found in ${this.describe()}`);
    const object = lease.object;
    try {
      const total = lengths.reduce((sum, n) => sum + n, 0);
      if (start < 0 || start + total > object.size) {
        throw new ObjectStoreError('Fatal', `object file ${this.pathOf(key)} has ${object.size} bytes, parts reach ${start + total}`);
      }
      // Own memory per part (allocUnsafeSlow: never a slice of Node's shared pool), or the caller's
      // (reused block memory); every byte is read below.
      const parts = lengths.map((n) => {
        const memory = alloc?.(n);
        return memory ? Buffer.from(memory.buffer, memory.byteOffset, n) : Buffer.allocUnsafeSlow(n);
      });
      // One readv for the whole run; a short read continues where it stopped.
      for (let done = 0; done < total; ) {
        const { bytesRead } = await object.fh.readv(unread(parts, done), object.headerLength + start + done);
        if (bytesRead === 0) throw new ObjectStoreError('Fatal', `object file ${this.pathOf(key)} is truncated`);
        done += bytesRead;
      }
      return parts.map((part) => new Uint8Array(part.buffer, part.byteOffset, part.length));
    } catch (error) {
      throw fsError(error, 'read object', this.pathOf(key));
    } finally {
      await lease.release();
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    validateKey(key);
    const object = await this.openObject(key);
    if (!object) return null;
    await object.fh.close();
    return { key, size: object.size, putId: object.putId };
  }

  async list(prefix: string, options: { startAfter?: string; limit?: number } = {}): Promise<ObjectInfo[]> {
    if (options.limit !== undefined && options.limit <= 0) return [];
    // Walk only below the deepest directory the prefix names in full: 'chunk/00' starts at 'chunk/'.
    const baseKey = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    if (baseKey !== '') validateKey(baseKey.slice(0, -1));
    const keys: string[] = [];
    await this.walk(baseKey, prefix, keys);
    keys.sort(compareKeys);
    const { startAfter } = options;
    let selected = startAfter === undefined ? keys : keys.filter((k) => compareKeys(k, startAfter) > 0);
    if (options.limit !== undefined) selected = selected.slice(0, options.limit);
    // Sizes and put-ids need the header; objects deleted meanwhile are dropped.
    const infos: (ObjectInfo | null)[] = new Array(selected.length).fill(null);
    let next = 0;
    const worker = async () => {
      while (next < selected.length) {
        const i = next++;
        infos[i] = await this.head(selected[i]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(LIST_CONCURRENCY, selected.length) }, worker));
    return infos.filter((info): info is ObjectInfo => info !== null);
  }

  async delete(keys: string[]): Promise<void> {
    keys.forEach(validateKey);
    return this.handles.changingKeys(keys, () => this.deleteFiles(keys));
  }

  private async deleteFiles(keys: string[]): Promise<void> {
    const dirs = new Set<string>();
    for (const key of keys) {
      const file = this.pathOf(key);
      try {
        const stat = await lstat(file);
        if (!stat.isFile()) continue; // a directory is not an object
        await unlink(file);
        dirs.add(path.dirname(file));
      } catch (error) {
        if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR') continue;
        throw fsError(error, 'delete object', file);
      }
    }
    for (const dir of dirs) {
      // Make the removal durable, then prune directories left empty (S3 has no directories either).
      await this.syncDir(dir, { ignoreMissing: true });
      await this.pruneEmptyDirs(dir);
    }
  }

  /** Read handles kept open (tests, diagnostics). */
  get openReadHandles(): number {
    return this.handles.size;
  }

  describe(): string {
    return `file://${this.root}`;
  }

  private pathOf(key: string): string {
    return path.join(this.root, ...key.split('/'));
  }

  private tempName(): string {
    const random = Math.floor(this.rand.next() * 2 ** 32).toString(36);
    return `${TEMP_MARKER}${process.pid}.${this.tempSeq++}.${random}`;
  }

  /** Opens an object and parses its header; null if absent. */
  private async openObject(key: string): Promise<OpenObject | null> {
    const file = this.pathOf(key);
    let fh: FileHandle;
    try {
      fh = await open(file, 'r');
    } catch (error) {
      if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR') return null;
      throw fsError(error, 'open object', file);
    }
    try {
      const stat = await fh.stat();
      if (!stat.isFile()) {
        await fh.close();
        return null;
      }
      const { headerLength, putId } = await readObjectHeader(fh, stat.size, file);
      return { fh, headerLength, size: stat.size - headerLength, putId };
    } catch (error) {
      await fh.close().catch(() => undefined);
      throw fsError(error, 'read object header', file);
    }
  }

  private async walk(baseKey: string, prefix: string, out: string[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(baseKey === '' ? this.root : this.pathOf(baseKey.slice(0, -1)), { withFileTypes: true });
    } catch (error) {
      if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR') return;
      throw fsError(error, 'list directory', baseKey);
    }
    for (const entry of entries) {
      if (entry.name.startsWith(TEMP_MARKER)) continue;
      const key = baseKey + entry.name;
      if (entry.isDirectory()) {
        const sub = key + '/';
        if (sub.startsWith(prefix) || prefix.startsWith(sub)) await this.walk(sub, prefix, out);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        out.push(key);
      }
    }
  }

  /** Ensures `dir` exists and its entry is durable in its parent, once per process per directory. */
  private ensureDir(dir: string): Promise<void> {
    let done = this.durableDirs.get(dir);
    if (!done) {
      done = (async () => {
        if (dir === this.root) {
          await makeDirectories(dir);
          return;
        }
        const parent = path.dirname(dir);
        await this.ensureDir(parent);
        try {
          await mkdir(dir);
        } catch (error) {
          if (errno(error) !== 'EEXIST') throw fsError(error, 'create directory', dir);
        }
        // Even on EEXIST: another process may have created it without syncing the parent yet.
        await this.syncDir(parent);
      })();
      done.catch(() => this.durableDirs.delete(dir));
      this.durableDirs.set(dir, done);
    }
    return done;
  }

  private forgetDirs(dir: string): void {
    for (let d = dir; d !== this.root && d.startsWith(this.root); d = path.dirname(d)) this.durableDirs.delete(d);
  }

  private async pruneEmptyDirs(dir: string): Promise<void> {
    for (let d = dir; d !== this.root && d.startsWith(this.root + path.sep); d = path.dirname(d)) {
      try {
        await rmdir(d);
      } catch {
        return; // not empty (or already gone): stop
      }
      this.forgetDirs(d);
      await this.syncDir(path.dirname(d), { ignoreMissing: true });
    }
  }

  private async syncDir(dir: string, options: { ignoreMissing?: boolean } = {}): Promise<void> {
    let fh: FileHandle | undefined;
    try {
      fh = await open(dir, 'r');
      await timedSync(fh);
    } catch (error) {
      if (options.ignoreMissing && errno(error) === 'ENOENT') return;
      throw fsError(error, 'fsync directory', dir);
    } finally {
      await fh?.close();
    }
  }
}

/**
 * Creates the root directory of a local store if needed, with the same one-line errors as
 * `init()` ("local root X is not usable: ..."): the stream log takes the root lock inside it
 * before the store writes anything.
 */
export async function createLocalRoot(rootDir: string): Promise<string> {
  const root = path.resolve(rootDir);
  try {
    await makeDirectories(root);
  } catch (error) {
    const reason = rootError(error, 'create root directory', root).message;
    throw new Error(`local root ${root} is not usable: ${reason}`, { cause: error });
  }
  return root;
}

/**
 * `mkdir -p`, without Node 20's `mkdir(dir, { recursive: true })`, which never settles for a path
 * the kernel answers ENOENT for although its parent exists (e.g. anything under /proc).
 */
async function makeDirectories(dir: string): Promise<void> {
  try {
    await mkdir(dir);
    return;
  } catch (error) {
    if (errno(error) === 'EEXIST') {
      if ((await stat(dir)).isDirectory()) return;
      throw Object.assign(new Error(`${dir} exists and is not a directory`), { code: 'ENOTDIR' });
    }
    const parent = path.dirname(dir);
    if (errno(error) !== 'ENOENT' || parent === dir) throw error;
    await makeDirectories(parent);
  }
  try {
    await mkdir(dir);
  } catch (error) {
    if (errno(error) !== 'EEXIST' || !(await stat(dir)).isDirectory()) throw error;
  }
}

async function timedSync(fh: FileHandle): Promise<void> {
  const start = performance.now();
  await fh.sync();
  metrics.fsyncDuration.observe((performance.now() - start) / 1000);
}

async function writeAll(fh: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

/** The parts (or their tails) not yet filled once `done` bytes of them were read in order. */
function unread(parts: Buffer[], done: number): Buffer[] {
  const out: Buffer[] = [];
  let offset = 0;
  for (const part of parts) {
    if (offset + part.length > done) out.push(done > offset ? part.subarray(done - offset) : part);
    offset += part.length;
  }
  return out;
}
