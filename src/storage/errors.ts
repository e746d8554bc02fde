/**
 * Storage's own errors: typed data, told apart by `kind` and never by message text. Storage
 * knows nothing of S2's error codes or HTTP; the engine maps each kind to an API error in one
 * place (engine/storage-errors.ts). One class per kind.
 */
export type StorageErrorKind = 'fenced' | 'failed' | 'corrupt' | 'closed';

export abstract class StorageError extends Error {
  abstract readonly kind: StorageErrorKind;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A newer writer holds the log (it opened after us): this process must stop writing. */
export class FencedError extends StorageError {
  readonly kind = 'fenced';
}

/**
 * The store refused an operation or kept failing past the retry budget, or the log stopped
 * because the fate of a chunk could not be known.
 */
export class StoreFailure extends StorageError {
  readonly kind = 'failed';
  /**
   * Nothing the failure rejected reached the store, and the store itself is intact: reopening the
   * log once the cause is gone (e.g. the disk has room again) loses nothing and may succeed.
   */
  readonly resumable: boolean;

  constructor(message: string, options?: ErrorOptions & { resumable?: boolean }) {
    super(message, options);
    this.resumable = options?.resumable ?? false;
  }
}

/**
 * Persisted bytes failed their checks (magic, version, checksum, layout), or an object the
 * manifest promises is missing.
 */
export class CorruptDataError extends StorageError {
  readonly kind = 'corrupt';
}

/** The log was closed. */
export class LogClosedError extends StorageError {
  readonly kind = 'closed';
}

export function logClosed(): LogClosedError {
  return new LogClosedError('the stream log is closed');
}

/** An error of `kind` (e.g. the same kind as another, with a message that says more). */
export function storageError(kind: StorageErrorKind, message: string, options?: ErrorOptions): StorageError {
  switch (kind) {
    case 'fenced':
      return new FencedError(message, options);
    case 'failed':
      return new StoreFailure(message, options);
    case 'corrupt':
      return new CorruptDataError(message, options);
    case 'closed':
      return new LogClosedError(message, options);
  }
}

/** Whether a filesystem ran out of space somewhere in `error`'s cause chain (errno ENOSPC, EDQUOT). */
export function causedByNoSpace(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 10; depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
