/**
 * Key rules shared by every backend, so a key that works in memory also works on disk and in S3.
 * Keys are '/'-separated relative paths: no leading '/', no empty, '.' or '..' segments (they would
 * escape or alias paths on a filesystem), no NUL (not representable in a file name).
 */
import { ObjectStoreError } from './types.js';

/** Names of in-flight temp files of the local-fs backend; no key segment may look like one. */
export const TEMP_MARKER = '.s2tmp.';

export function validateKey(key: string): void {
  const problem = keyProblem(key);
  if (problem) throw new ObjectStoreError('Fatal', `invalid object key ${JSON.stringify(key)}: ${problem}`);
}

function keyProblem(key: string): string | undefined {
  if (key.length === 0) return 'empty';
  if (key.startsWith('/')) return "leading '/'";
  if (key.includes('\0')) return 'contains NUL';
  for (const segment of key.split('/')) {
    if (segment === '') return "empty segment ('//' or trailing '/')";
    if (segment === '.' || segment === '..') return `'${segment}' segment`;
    if (segment.startsWith(TEMP_MARKER)) return `segment starts with reserved '${TEMP_MARKER}'`;
  }
  return undefined;
}

/** S3 user metadata travels in HTTP headers, so put-ids are printable ASCII, and short. */
const PUT_ID = /^[\x21-\x7e]{1,256}$/;

export function validatePutId(putId: string | undefined): void {
  if (putId !== undefined && !PUT_ID.test(putId)) {
    throw new ObjectStoreError('Fatal', `invalid putId ${JSON.stringify(putId)}: 1-256 printable ASCII characters`);
  }
}
