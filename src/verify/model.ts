/**
 * The model of a stream from verification.md: a state machine over `(tail, stream_hash,
 * fencing_token)`, starting at `(0, 0, null)`.
 *
 * - Append success with tail T: illegal if the batch's fencing token is set and differs from the
 *   state's (or the state has none), or match_seq_num is set and differs from the tail, or
 *   T != tail + n; otherwise `(tail + n, fold(hash, record_hashes), set_fencing_token ?? token)`.
 * - Append definite failure: no effect.
 * - Append indefinite failure: no effect if a condition certainly fails; otherwise either applied
 *   (as a success would) or not.
 * - Read / CheckTail success: legal only if the tail (and for a read the hash) equals the state's.
 *
 * The checker turns the one non-deterministic step into an optional operation: "not applied" is
 * the same as never linearizing it, so only the "applied" transition is needed here.
 */
import type { AppendCall } from './history.js';
import { foldHashes } from './hash.js';

export interface StreamState {
  tail: bigint;
  hash: bigint;
  fencingToken: string | null;
}

export const initialState: StreamState = { tail: 0n, hash: 0n, fencingToken: null };

/** Whether the batch's conditions hold against `state` (api.md 7.2; fencing is checked first). */
export function conditionsHold(call: AppendCall, state: StreamState): boolean {
  if (call.fencingToken !== null && call.fencingToken !== state.fencingToken) return false;
  if (call.matchSeqNum !== null && call.matchSeqNum !== state.tail) return false;
  return true;
}

/** The state after `call` takes effect (its conditions already known to hold). */
export function applyAppend(call: AppendCall, state: StreamState): StreamState {
  return {
    tail: state.tail + BigInt(call.numRecords),
    hash: foldHashes(state.hash, call.recordHashes),
    fencingToken: call.setFencingToken ?? state.fencingToken,
  };
}

export function stateKey(state: StreamState): string {
  return `${state.tail}/${state.hash}/${state.fencingToken === null ? '-' : JSON.stringify(state.fencingToken)}`;
}

export function describeState(state: StreamState): string {
  const token = state.fencingToken === null ? 'none' : JSON.stringify(state.fencingToken);
  return `tail ${state.tail}, stream_hash ${state.hash}, fencing token ${token}`;
}
