/**
 * Storage's own errors: typed data, decided by kind and never by message text. Storage knows
 * nothing of S2's error codes or HTTP; the engine maps each kind to an API error in one place
 * (engine/storage-errors.ts).
 *
 * - `fenced`: a newer writer holds the log (it opened after us); this process must stop writing.
 * - `failed`: the store refused an operation, or kept failing past the retry budget; or the log
 *   stopped because the fate of a chunk could not be known.
 * - `corrupt`: persisted bytes failed their checks (magic, version, checksum, layout), or an
 *   object the manifest promises is missing.
 * - `closed`: the log was closed.
 */
export type StorageErrorKind = 'fenced' | 'failed' | 'corrupt' | 'closed';

export class StorageError extends Error {
  override name = 'StorageError';
  constructor(
    readonly kind: StorageErrorKind,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A newer writer holds the log. */
export class FencedError extends StorageError {
  override name = 'FencedError';
  constructor(message: string, options?: ErrorOptions) {
    super('fenced', message, options);
  }
}

/** The store could not complete an operation within the retry budget, or refused it outright. */
export class StoreFailure extends StorageError {
  override name = 'StoreFailure';
  constructor(message: string, options?: ErrorOptions) {
    super('failed', message, options);
  }
}

/** Persisted bytes that cannot be decoded: wrong magic, bad checksum, truncation, bad values. */
export class CorruptDataError extends StorageError {
  override name = 'CorruptDataError';
  constructor(message: string, options?: ErrorOptions) {
    super('corrupt', message, options);
  }
}

export function logClosed(): StorageError {
  return new StorageError('closed', 'the stream log is closed');
}
