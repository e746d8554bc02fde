/**
 * Which failed appends certainly had no effect (verification.md "AppendDefiniteFailure").
 *
 * A wrong "definite" makes the checker reject a correct server (an append it thought failed shows
 * up in a read), while a wrong "indefinite" only lets the checker consider more orders. So an
 * append failure is definite only when the S2 API guarantees it had no side effects:
 * - 412 (a fencing token or match_seq_num condition failed: api.md 7.1 steps 4-5, nothing written);
 * - an error whose code api.md 10.2 marks "guaranteed no side effects" (validation, not found,
 *   deletion pending, rate limited, transaction conflict, ...);
 * - the request never reached the server in full (connection refused, or the body was not
 *   completely written when the connection failed: a server cannot apply a body it never received).
 * Everything else is indefinite: 5xx `other`/`storage`/`unavailable`, 408, 504, a response
 * that was lost or unreadable, a timeout after the request was sent, a reset connection.
 */

/** api.md 10.2, column "guaranteed no side effects" = yes. */
const sideEffectFreeCodes = new Set([
  'access_token_not_found',
  'authn',
  'bad_frame',
  'bad_header',
  'bad_json',
  'bad_path',
  'bad_proto',
  'bad_query',
  'basin_deletion_pending',
  'basin_not_found',
  'decryption_failed',
  'hot_server',
  'invalid',
  'not_implemented',
  'permission_denied',
  'quota_exhausted',
  'rate_limited',
  'resource_already_exists',
  'server_draining',
  'stream_deletion_pending',
  'stream_not_found',
  'transaction_conflict',
]);

export type AppendFailureKind = 'definite' | 'indefinite';

/** A failed append that got an HTTP answer: `code` is the S2 error code from the body, if readable. */
export function classifyAppendError(status: number, code: string | undefined): AppendFailureKind {
  if (status === 412) return 'definite';
  if (code !== undefined && sideEffectFreeCodes.has(code)) return 'definite';
  return 'indefinite';
}

/** A failed append that got no answer: definite only if the request never fully left the client. */
export function classifyAppendTransportFailure(requestFullySent: boolean): AppendFailureKind {
  return requestFullySent ? 'indefinite' : 'definite';
}

/** True for codes the API guarantees had no side effects (used by in-process clients too). */
export function isSideEffectFree(code: string): boolean {
  return sideEffectFreeCodes.has(code);
}
