/**
 * Typed failures of the write-ahead log and the root lock. Callers decide on `code`, never on the
 * message; messages are one line, written for the operator who has to act on them.
 */

export type WalErrorCode =
  /** Logged data is damaged where a later sync proves it was durable: refuse to start. */
  | 'corrupt'
  /** A newer build wrote the log. */
  | 'unsupported'
  /** A write or fdatasync failed: nothing after the last completed sync may be acknowledged. */
  | 'io'
  /** No log file could be prepared (disk full, permissions); retried by the next append. */
  | 'no-file'
  /** The log holds a writer epoch not older than the one trying to continue it. */
  | 'fenced'
  /** The log was closed or stopped by an earlier failure. */
  | 'closed';

export class WalError extends Error {
  override name = 'WalError';
  constructor(
    readonly code: WalErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Damage that recovery must not skip: names the file and the byte offset where it starts. */
export class WalCorruptError extends WalError {
  override name = 'WalCorruptError';
  constructor(
    readonly file: string,
    readonly offset: number,
    reason: string,
  ) {
    super('corrupt', `write-ahead log file ${file} is damaged at byte ${offset}: ${reason}`);
  }
}

/** A syscall of the log failed; `errno` is the system code (ENOSPC, EIO, ...) when there is one. */
export class WalIoError extends WalError {
  override name = 'WalIoError';
  constructor(
    code: 'io' | 'no-file',
    readonly errno: string | undefined,
    readonly step: string,
    readonly file: string,
    detail: string,
  ) {
    super(code, `write-ahead log ${step} failed on ${file}: ${detail}`);
  }
}

/** Another live server holds the root. */
export class RootLockedError extends Error {
  override name = 'RootLockedError';
  readonly code = 'root-locked';
  constructor(
    readonly root: string,
    readonly ownerPid: number,
    message: string,
  ) {
    super(message);
  }
}
