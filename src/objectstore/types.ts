/**
 * The object-store interface: the only thing the storage engine knows about where bytes live.
 * Backends: memory, local filesystem, S3. Wrappers add retries, metrics and fault injection.
 *
 * Correctness rests on one primitive: `put` with `ifNoneMatch: '*'` (create-if-absent), which
 * fails with `PreconditionFailed` when the key exists. Keys are `/`-separated relative paths;
 * the backend applies its own root/prefix.
 */

export interface PutOptions {
  /** '*' = create only if absent (S3 `If-None-Match: *`); otherwise overwrite. */
  ifNoneMatch?: '*';
  /**
   * An id stored with the object (S3 user metadata `put-id`) so that after an ambiguous failure
   * (timeout, 5xx, 409, a lost response) the writer can HEAD the key and tell whether the
   * object there is its own write. 1-256 printable ASCII characters (it travels as an HTTP header);
   * anything else is rejected as Fatal by every backend.
   */
  putId?: string;
  /**
   * The caller hands `body` over: it will never modify it again. A store that keeps bodies in this
   * process's memory may then keep this one as it is instead of copying it (see `bodyHandling`).
   */
  handOver?: boolean;
}

/**
 * What makes a large put body cheapest for a store (a hint; wrappers forward it):
 * - 'hand-over': the store keeps bodies in memory (the memory store), so a body written into fresh
 *   memory and put with `handOver` is kept without a copy (a reused buffer would be copied);
 * - 'shared': the store hands bodies to another thread (the local-filesystem store), so a body in a
 *   SharedArrayBuffer crosses without a copy; the caller keeps it unmodified until the put settles.
 * Absent: no preference (S3 sends from any buffer).
 */
export type BodyHandling = 'hand-over' | 'shared';

export interface ObjectInfo {
  key: string;
  size: number;
  /** The put-id the object was written with, if any. */
  putId?: string;
}

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, exclusive. Omitted = to the end. */
  end?: number;
}

/** Memory for a part of `n` bytes (see `ObjectStore.getParts`). */
export type PartAlloc = (n: number) => Uint8Array;

export interface ObjectStore {
  /** Writes `body` at `key`. With `ifNoneMatch: '*'` throws `PreconditionFailed` if the key exists. */
  put(key: string, body: Uint8Array, options?: PutOptions): Promise<void>;
  /**
   * Reads the whole object or a byte range. Throws `NotFound` if absent. A range is clamped to the object
   * like `Uint8Array.subarray`: a range past the end or with `end <= start` yields zero bytes, not an error.
   */
  get(key: string, range?: ByteRange): Promise<Uint8Array>;
  /**
   * Optional: reads the consecutive ranges of `lengths` bytes from `start`, each into a buffer of
   * its own (no buffer shared between parts or with the store), in one request where the backend
   * can; or, for a store with `partsShareMemory`, as views of the memory it keeps the object in.
   * The segment cache reads a run of blocks so and keeps each block without copying it out of the
   * run. Throws `NotFound` if absent and `Fatal` if the object ends before the last part.
   * `alloc`, if given, supplies the memory of each part (the segment cache's pool of reused block
   * memory, storage/block-pool.ts): a store that reads into memory it allocates uses it (local
   * disk); others may ignore it. A store that uses it calls `alloc` once per part and returns
   * each part in the memory that call gave: the cache gives each part's memory back on its
   * own, so parts sliced out of one allocation would be reused while their neighbours are read.
   */
  getParts?(key: string, start: number, lengths: readonly number[], alloc?: PartAlloc): Promise<Uint8Array[]>;
  /** Metadata of an object, or `null` if absent. */
  head(key: string): Promise<ObjectInfo | null>;
  /** Keys under `prefix`, ascending by key bytes, strictly after `startAfter` if given. */
  list(prefix: string, options?: { startAfter?: string; limit?: number }): Promise<ObjectInfo[]>;
  /** Deletes keys; absent keys are not an error. */
  delete(keys: string[]): Promise<void>;
  /** Human-readable description for logs, e.g. `s3://bucket/prefix`. */
  describe(): string;
  /** See `BodyHandling`. */
  readonly bodyHandling?: BodyHandling;
  /**
   * `getParts` returns views of the memory the store keeps the object in (the memory store), which
   * is never written again: callers must not write into them, and may keep them as they are (a kept
   * view holds the whole object's memory alive, even after a delete, until it is dropped). Wrappers
   * forward it.
   */
  readonly partsShareMemory?: boolean;
  /** Releases connections/handles. Optional; wrappers forward it. The store is unusable afterwards. */
  close?(): Promise<void>;
}

/** The operations of an `ObjectStore`, as named by wrappers (metrics, fault injection). */
export type ObjectStoreOp = 'put' | 'get' | 'head' | 'list' | 'delete';

export type ObjectStoreErrorKind = 'PreconditionFailed' | 'NotFound' | 'Transient' | 'Fatal';

export class ObjectStoreError extends Error {
  override name = 'ObjectStoreError';
  constructor(
    readonly kind: ObjectStoreErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isPreconditionFailed(error: unknown): boolean {
  return error instanceof ObjectStoreError && error.kind === 'PreconditionFailed';
}

export function isNotFound(error: unknown): boolean {
  return error instanceof ObjectStoreError && error.kind === 'NotFound';
}

export function isTransient(error: unknown): boolean {
  return error instanceof ObjectStoreError && error.kind === 'Transient';
}

export function isFatal(error: unknown): boolean {
  return error instanceof ObjectStoreError && error.kind === 'Fatal';
}
