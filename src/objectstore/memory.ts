/**
 * In-memory object store: the backend of the in-memory (emulator) mode and of most tests.
 * Enforces create-if-absent exactly like S3 so the storage engine runs unchanged on it.
 */
import { ObjectStoreError, type ByteRange, type ObjectInfo, type ObjectStore, type PutOptions } from './types.js';

interface StoredObject {
  body: Uint8Array;
  putId?: string;
}

export class MemoryObjectStore implements ObjectStore {
  private readonly objects = new Map<string, StoredObject>();

  async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<void> {
    if (options.ifNoneMatch === '*' && this.objects.has(key)) {
      throw new ObjectStoreError('PreconditionFailed', `object ${key} already exists`);
    }
    // Copy so a caller reusing its buffer cannot change what was "durably" stored.
    this.objects.set(key, { body: Uint8Array.from(body), putId: options.putId });
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    const object = this.objects.get(key);
    if (!object) throw new ObjectStoreError('NotFound', `object ${key} not found`);
    if (!range) return object.body;
    return object.body.subarray(range.start, range.end ?? object.body.length);
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const object = this.objects.get(key);
    return object ? { key, size: object.body.length, putId: object.putId } : null;
  }

  async list(prefix: string, options: { startAfter?: string; limit?: number } = {}): Promise<ObjectInfo[]> {
    const keys = [...this.objects.keys()]
      .filter((key) => key.startsWith(prefix) && (options.startAfter === undefined || key > options.startAfter))
      .sort(compareKeys);
    const limited = options.limit === undefined ? keys : keys.slice(0, options.limit);
    return limited.map((key) => {
      const object = this.objects.get(key)!;
      return { key, size: object.body.length, putId: object.putId };
    });
  }

  async delete(keys: string[]): Promise<void> {
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
