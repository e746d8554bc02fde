/**
 * Errors are data: every failure a client can cause or observe is an `S2Error` with a stable
 * code from the S2 v1 API (api.md section 10). The HTTP status of each code is fixed in
 * `api/errors.ts`, the only place that maps errors to responses. Never choose a status from
 * message text.
 */
import type { StreamPosition } from './types.js';

export type ErrorCode =
  | 'bad_frame'
  | 'bad_header'
  | 'bad_json'
  | 'bad_path'
  | 'bad_proto'
  | 'bad_query'
  | 'basin_deletion_pending'
  | 'basin_not_found'
  | 'decryption_failed'
  | 'invalid'
  | 'not_implemented'
  | 'other'
  | 'request_timeout'
  | 'resource_already_exists'
  | 'storage'
  | 'stream_deletion_pending'
  | 'stream_not_found'
  | 'transaction_conflict'
  | 'unavailable';

export class S2Error extends Error {
  override name = 'S2Error';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** 412: an append's `fencing_token` or `match_seq_num` condition did not hold. */
export class AppendConditionFailed extends Error {
  override name = 'AppendConditionFailed';
  constructor(readonly condition: { fencingTokenMismatch: string } | { seqNumMismatch: number }) {
    super('fencingTokenMismatch' in condition ? 'fencing token mismatch' : 'sequence number mismatch');
  }
}

/** 416: a read's start lies beyond the tail (or at it, for a read that may not follow). */
export class RangeNotSatisfiable extends Error {
  override name = 'RangeNotSatisfiable';
  constructor(readonly tail: StreamPosition) {
    super('read start is beyond the tail');
  }
}

export const errors = {
  badHeader: (message: string) => new S2Error('bad_header', message),
  missingHeader: (name: string) => new S2Error('bad_header', `Missing header \`${name}\``),
  invalidHeader: (name: string, reason: string) => new S2Error('bad_header', `Invalid header \`${name}\`: ${reason}`),
  badJson: (message: string) => new S2Error('bad_json', message),
  badPath: (message: string) => new S2Error('bad_path', message),
  badQuery: (message: string) => new S2Error('bad_query', `Failed to deserialize query string: ${message}`),
  badProto: (message: string) => new S2Error('bad_proto', message),
  badFrame: (message: string) => new S2Error('bad_frame', `Failed to decode S2S frame: ${message}`),
  invalid: (message: string) => new S2Error('invalid', message),
  basinNotFound: (basin: string) => new S2Error('basin_not_found', `basin \`${basin}\` not found`),
  streamNotFound: (basin: string, stream: string) =>
    new S2Error('stream_not_found', `stream \`${stream}\` in basin \`${basin}\` not found`),
  basinExists: (basin: string) => new S2Error('resource_already_exists', `basin \`${basin}\` already exists`),
  streamExists: (basin: string, stream: string) =>
    new S2Error('resource_already_exists', `stream \`${stream}\` in basin \`${basin}\` already exists`),
  basinDeletionPending: (basin: string) => new S2Error('basin_deletion_pending', `basin \`${basin}\` is being deleted`),
  streamDeletionPending: () => new S2Error('stream_deletion_pending', 'stream deletion pending'),
  notImplemented: () => new S2Error('not_implemented', 'Not implemented'),
  storage: (message: string) => new S2Error('storage', message),
  unavailable: (message: string) => new S2Error('unavailable', message),
  requestTimeout: (message: string) => new S2Error('request_timeout', message),
  other: (message: string) => new S2Error('other', message),
} as const;
