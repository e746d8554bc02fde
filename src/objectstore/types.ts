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
}

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

export interface ObjectStore {
  /** Writes `body` at `key`. With `ifNoneMatch: '*'` throws `PreconditionFailed` if the key exists. */
  put(key: string, body: Uint8Array, options?: PutOptions): Promise<void>;
  /**
   * Reads the whole object or a byte range. Throws `NotFound` if absent. A range is clamped to the object
   * like `Uint8Array.subarray`: a range past the end or with `end <= start` yields zero bytes, not an error.
   */
  get(key: string, range?: ByteRange): Promise<Uint8Array>;
  /** Metadata of an object, or `null` if absent. */
  head(key: string): Promise<ObjectInfo | null>;
  /** Keys under `prefix`, ascending by key bytes, strictly after `startAfter` if given. */
  list(prefix: string, options?: { startAfter?: string; limit?: number }): Promise<ObjectInfo[]>;
  /** Deletes keys; absent keys are not an error. */
  delete(keys: string[]): Promise<void>;
  /** Human-readable description for logs, e.g. `s3://bucket/prefix`. */
  describe(): string;
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
