/**
 * In-memory object store: the backend of the in-memory (emulator) mode and of most tests.
 * Enforces create-if-absent exactly like S3 so the storage engine runs unchanged on it.
 */
import { validateKey, validatePutId } from './keys.js';
import {
  ObjectStoreError,
  type BodyHandling,
  type ByteRange,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
} from './types.js';

interface StoredObject {
  body: Uint8Array;
  putId?: string;
}

export class MemoryObjectStore implements ObjectStore {
  private readonly objects = new Map<string, StoredObject>();
  /** Checkpoints encode segments into fresh memory and hand them over (see put). */
  readonly bodyHandling: BodyHandling = 'hand-over';
  /** Bodies are never written once stored (put copies or takes over memory nobody writes again). */
  readonly partsShareMemory: boolean = true;

  async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<void> {
    validateKey(key);
    validatePutId(options.putId);
    if (options.ifNoneMatch === '*' && this.objects.has(key)) {
      throw new ObjectStoreError('PreconditionFailed', `object ${key} already exists`);
    }
    // Copy so a caller reusing its buffer cannot change what was "durably" stored, unless the caller
    // handed the body over: copying a 16 MiB segment into fresh memory here took 10-37 ms of one
    // turn of the event loop (page faults on first touch), a stall at every checkpoint (issue 14).
    // A view over much more memory than it shows is copied anyway, so that what the store keeps is
    // what it holds (checkpoints hand over segments already tight: see checkpoint.ts tightened).
    const tight = body.byteLength >= body.buffer.byteLength * 0.75;
    // A plain Uint8Array view (no copy) even of a Buffer: get relies on Uint8Array's copying slice,
    // where Buffer's slice is a view.
    const kept =
      options.handOver && tight ? new Uint8Array(body.buffer, body.byteOffset, body.byteLength) : new Uint8Array(body);
    this.objects.set(key, { body: kept, putId: options.putId });
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    validateKey(key);
    const object = this.objects.get(key);
    if (!object) throw new ObjectStoreError('NotFound', `object ${key} not found`);
    const size = object.body.length;
    const start = Math.min(Math.max(range?.start ?? 0, 0), size);
    const end = Math.min(Math.max(range?.end ?? size, start), size);
    // A copy, for the same reason as in put: callers may write into what they read.
    return object.body.slice(start, end);
  }

  async getParts(key: string, start: number, lengths: readonly number[]): Promise<Uint8Array[]> {
    validateKey(key);
    const object = this.objects.get(key);
    if (!object) throw new ObjectStoreError('NotFound', `object ${key} not found`);
    const end = lengths.reduce((sum, n) => sum + n, start);
    if (start < 0 || end > object.body.length) {
      throw new ObjectStoreError('Fatal', `object ${key} has ${object.body.length} bytes, parts reach ${end}`);
    }
    let at = start;
    // Views, not copies (see partsShareMemory): the segment cache keeps blocks as they are read, so
    // a copy per block was fresh memory for bytes the store holds anyway (17% of a memory-mode S2S
    // catch-up's CPU, plus the GC of the copies). Whoever reads parts only reads them.
    return lengths.map((n) => object.body.subarray(at, (at += n)));
  }

  async head(key: string): Promise<ObjectInfo | null> {
    validateKey(key);
    const object = this.objects.get(key);
    return object ? { key, size: object.body.length, putId: object.putId } : null;
  }

  async list(prefix: string, options: { startAfter?: string; limit?: number } = {}): Promise<ObjectInfo[]> {
    const { startAfter } = options;
    const keys = [...this.objects.keys()]
      .filter((key) => key.startsWith(prefix) && (startAfter === undefined || compareKeys(key, startAfter) > 0))
      .sort(compareKeys);
    const limited = options.limit === undefined ? keys : keys.slice(0, Math.max(0, options.limit));
    return limited.map((key) => {
      const object = this.objects.get(key)!;
      return { key, size: object.body.length, putId: object.putId };
    });
  }

  async delete(keys: string[]): Promise<void> {
    keys.forEach(validateKey);
    for (const key of keys) this.objects.delete(key);
  }

  describe(): string {
    return 'memory';
  }
}

/** Byte-wise key order, as S3 lists keys (UTF-16 order differs for astral characters). */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
