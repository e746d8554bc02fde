/**
 * Name validation (api.md section 11). Each function returns the reason a value is invalid,
 * or null if it is valid; callers wrap the reason in the error code their input calls for
 * (bad_path, bad_header, bad_json, bad_query).
 */
import { basinNameBytesMax, basinNameBytesMin, streamNameBytesMax } from '../limits.js';

const basinChars = /^[a-z0-9-]*$/;
const alnum = /^[a-z0-9]$/;

export function basinNameProblem(name: string): string | null {
  const bytes = Buffer.byteLength(name);
  if (bytes > basinNameBytesMax) return `basin name must not exceed ${basinNameBytesMax} bytes in length`;
  if (bytes < basinNameBytesMin) return `basin name should be at least ${basinNameBytesMin} bytes in length`;
  if (!alnum.test(name[0]!)) return 'basin name must begin with a lowercase letter or number';
  if (!alnum.test(name[name.length - 1]!)) return 'basin name must end with a lowercase letter or number';
  if (!basinChars.test(name)) return 'basin name must comprise lowercase letters, numbers, and hyphens';
  return null;
}

/** `prefix` and `start_after` of list-basins: like a name but may be empty or short. */
export function basinPrefixProblem(value: string, what: 'prefix' | 'start-after'): string | null {
  if (Buffer.byteLength(value) > basinNameBytesMax) {
    return `basin ${what} must not exceed ${basinNameBytesMax} bytes in length`;
  }
  if (value.length === 0) return null;
  if (!alnum.test(value[0]!)) return `basin ${what} must begin with a lowercase letter or number`;
  if (!basinChars.test(value)) return `basin ${what} must comprise lowercase letters, numbers, and hyphens`;
  return null;
}

export function streamNameProblem(name: string): string | null {
  if (name.length === 0) return 'stream name must not be empty';
  if (name === '.' || name === '..') return 'stream name must not be "." or ".."';
  if (Buffer.byteLength(name) > streamNameBytesMax) {
    return `stream name must not exceed ${streamNameBytesMax} bytes in length`;
  }
  return null;
}

export function streamPrefixProblem(value: string, what: 'prefix' | 'start-after'): string | null {
  if (Buffer.byteLength(value) > streamNameBytesMax) {
    return `stream ${what} must not exceed ${streamNameBytesMax} bytes in length`;
  }
  return null;
}
