/**
 * The one place where errors become HTTP responses (api.md section 10). Every S2 error code has
 * a fixed status; 412 and 416 have their own body shapes.
 */
import { AppendConditionFailed, RangeNotSatisfiable, S2Error, type ErrorCode } from '../domain/errors.js';

export const statusOfCode: Record<ErrorCode, number> = {
  bad_frame: 400,
  bad_header: 400,
  bad_json: 400,
  bad_path: 400,
  bad_proto: 400,
  bad_query: 400,
  decryption_failed: 400,
  basin_not_found: 404,
  stream_not_found: 404,
  basin_deletion_pending: 409,
  stream_deletion_pending: 409,
  resource_already_exists: 409,
  transaction_conflict: 409,
  invalid: 422,
  other: 500,
  storage: 500,
  not_implemented: 501,
  request_timeout: 408,
  unavailable: 503,
};

export interface ErrorResponse {
  status: number;
  /** JSON text of the body. */
  body: string;
  /** True when the error is a bug of ours rather than a client or storage condition. */
  internal: boolean;
}

export function errorResponse(error: unknown): ErrorResponse {
  if (error instanceof S2Error) {
    return { status: statusOfCode[error.code], body: JSON.stringify({ code: error.code, message: error.message }), internal: false };
  }
  if (error instanceof AppendConditionFailed) {
    const c = error.condition;
    const body =
      'fencingTokenMismatch' in c
        ? JSON.stringify({ fencing_token_mismatch: c.fencingTokenMismatch })
        : `{"seq_num_mismatch":${c.seqNumMismatch}}`;
    return { status: 412, body, internal: false };
  }
  if (error instanceof RangeNotSatisfiable) {
    return {
      status: 416,
      body: `{"tail":{"seq_num":${error.tail.seqNum},"timestamp":${error.tail.timestamp}}}`,
      internal: false,
    };
  }
  return { status: 500, body: JSON.stringify({ code: 'other', message: 'internal server error' }), internal: true };
}
