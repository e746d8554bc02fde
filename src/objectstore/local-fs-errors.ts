/**
 * Filesystem errors of the local-filesystem store, mapped to object-store error kinds by errno code
 * (never by message): what the operator must fix (no space, permissions, a read-only or failing
 * disk) is Fatal, resource pressure and races with a concurrent delete are Transient.
 */
import { ObjectStoreError } from './types.js';

export function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** Maps a filesystem error to an ObjectStoreError; errors that already are one pass through. */
export function fsError(error: unknown, action: string, file: string): ObjectStoreError {
  if (error instanceof ObjectStoreError) return error;
  const code = errno(error);
  const at = `${action} ${file}`;
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new ObjectStoreError('Fatal', `no space left on device: ${at}`, { cause: error });
    case 'EACCES':
    case 'EPERM':
      return new ObjectStoreError('Fatal', `permission denied: ${at}`, { cause: error });
    case 'EROFS':
      return new ObjectStoreError('Fatal', `read-only filesystem: ${at}`, { cause: error });
    case 'EIO':
      return new ObjectStoreError('Fatal', `I/O error: ${at}`, { cause: error });
    case 'ENOTDIR':
    case 'EISDIR':
      return new ObjectStoreError('Fatal', `key conflicts with an object or directory of the same name: ${at}`, {
        cause: error,
      });
    // Resource pressure or a directory pruned by a concurrent delete: worth retrying.
    case 'EMFILE':
    case 'ENFILE':
    case 'EAGAIN':
    case 'EBUSY':
    case 'EINTR':
    case 'ENOENT':
      return new ObjectStoreError('Transient', `${code}: ${at}`, { cause: error });
    default:
      return new ObjectStoreError('Fatal', `${code ?? String(error)}: ${at}`, { cause: error });
  }
}

/** Errors about the root itself: Fatal, and worded for the operator who chose the path. */
export function rootError(error: unknown, action: string, root: string): ObjectStoreError {
  if (error instanceof ObjectStoreError) return error;
  const at = `${action} ${root}`;
  switch (errno(error)) {
    case 'ENOTDIR':
    case 'EEXIST':
      return new ObjectStoreError('Fatal', `not a directory (the path or one of its parents is a file): ${at}`, {
        cause: error,
      });
    case 'ENOENT':
      return new ObjectStoreError('Fatal', `no such file or directory, and it cannot be created: ${at}`, {
        cause: error,
      });
    default: {
      const mapped = fsError(error, action, root);
      return mapped.kind === 'Fatal' ? mapped : new ObjectStoreError('Fatal', mapped.message, { cause: error });
    }
  }
}
