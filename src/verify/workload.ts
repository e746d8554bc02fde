/**
 * What the simulated clients of a verification run do (shared by `s2-lite verify collect` and the
 * seeded simulation): appends of random batch sizes, some with `match_seq_num` or a fencing token,
 * occasional `fence` commands, reads from seq_num 0, and check-tails. Every choice is drawn from
 * the injected `Rand`, so the simulation replays from its seed.
 *
 * Conditions are drawn from what the clients have seen so far (`Knowledge`, shared by all clients
 * of a run): match_seq_num is the latest tail seen (often stale under contention, which exercises
 * 412s), and a fencing token is the latest token known to be set, sometimes an older one or the
 * empty string (which must fail once a fence has taken effect). No fencing token is ever sent
 * before a fence succeeded: the model starts with no token, where S2 starts with "" (so an
 * append with "" would pass on a fresh stream).
 */
import { randInt, type Rand } from '../util/rand.js';
import type { AppendCall, Call } from './history.js';
import { recordHash } from './hash.js';

/** Fencing tokens are at most 36 bytes (api.md 6.3). */
const fencingTokenBytesMax = 36;

export interface WorkloadOptions {
  /** Relative weights of the operation kinds. */
  appendWeight: number;
  readWeight: number;
  checkTailWeight: number;
  fenceWeight: number;
  /** Records per append: 1..batchMax (occasionally exactly batchMax). */
  batchMax: number;
  /** Random padding added to each record body, 0..bodyPadMax bytes. */
  bodyPadMax: number;
  /** Fraction of appends (and fences) that carry match_seq_num / a fencing token. */
  matchSeqNumRate: number;
  fencingTokenRate: number;
}

export const defaultWorkload: WorkloadOptions = {
  appendWeight: 55,
  readWeight: 10,
  checkTailWeight: 25,
  fenceWeight: 5,
  batchMax: 10,
  bodyPadMax: 48,
  matchSeqNumRate: 0.25,
  fencingTokenRate: 0.25,
};

/** What every client of a run has learnt about the stream (shared, best effort). */
export class Knowledge {
  /** The largest tail anyone saw. */
  tail = 0n;
  /** Tokens set by fences that succeeded or reported by 412s, oldest first. */
  readonly tokens: string[] = [];
  /** True once a fence with a non-empty token was acknowledged: "" can no longer be current. */
  fenced = false;

  sawTail(tail: bigint): void {
    if (tail > this.tail) this.tail = tail;
  }

  sawToken(token: string): void {
    if (this.tokens.at(-1) !== token) this.tokens.push(token);
    if (this.tokens.length > 16) this.tokens.shift();
  }
}

export type PlannedOp =
  | {
      kind: 'append';
      /** Record bodies; for a fence, the single body is the new token. */
      bodies: Uint8Array[];
      /** The batch is one `fence` command record setting this token. */
      fence?: string;
      matchSeqNum?: bigint;
      fencingToken?: string;
    }
  | { kind: 'read' }
  | { kind: 'checkTail' };

const encoder = new TextEncoder();
const letters = 'abcdefghijklmnopqrstuvwxyz0123456789';

function pad(rand: Rand, max: number): string {
  let out = '';
  const n = randInt(rand, 0, max);
  for (let i = 0; i < n; i++) out += letters[randInt(rand, 0, letters.length - 1)];
  return out;
}

function pickToken(rand: Rand, knowledge: Knowledge): string | undefined {
  const tokens = knowledge.tokens;
  if (tokens.length === 0) return undefined;
  const roll = rand.next();
  if (roll < 0.8) return tokens[tokens.length - 1];
  if (roll < 0.9 && knowledge.fenced) return ''; // stale for sure once a non-empty fence took effect
  return tokens[randInt(rand, 0, tokens.length - 1)];
}

function conditions(rand: Rand, knowledge: Knowledge, options: WorkloadOptions) {
  const out: { matchSeqNum?: bigint; fencingToken?: string } = {};
  if (rand.next() < options.matchSeqNumRate) out.matchSeqNum = knowledge.tail;
  if (rand.next() < options.fencingTokenRate) {
    const token = pickToken(rand, knowledge);
    if (token !== undefined) out.fencingToken = token;
  }
  return out;
}

/**
 * The next operation of a client. `tag` makes record bodies and tokens unique across clients and
 * runs (so a duplicated record changes the stream hash in a way no legal order explains).
 */
export function planOp(
  rand: Rand,
  knowledge: Knowledge,
  tag: string,
  seq: number,
  options: WorkloadOptions,
): PlannedOp {
  const total = options.appendWeight + options.readWeight + options.checkTailWeight + options.fenceWeight;
  let roll = rand.next() * total;
  if ((roll -= options.readWeight) < 0) return { kind: 'read' };
  if ((roll -= options.checkTailWeight) < 0) return { kind: 'checkTail' };
  if ((roll -= options.fenceWeight) < 0) {
    const token = `${tag}-f${seq}`.slice(-fencingTokenBytesMax);
    return { kind: 'append', bodies: [encoder.encode(token)], fence: token, ...conditions(rand, knowledge, options) };
  }
  const n = rand.next() < 0.1 ? options.batchMax : randInt(rand, 1, options.batchMax);
  const bodies: Uint8Array[] = [];
  for (let i = 0; i < n; i++) bodies.push(encoder.encode(`${tag}.${seq}.${i}.${pad(rand, options.bodyPadMax)}`));
  return { kind: 'append', bodies, ...conditions(rand, knowledge, options) };
}

/** The history's Start event for a planned operation. */
export function callOf(op: PlannedOp): Call {
  if (op.kind !== 'append') return op;
  const call: AppendCall = {
    kind: 'append',
    numRecords: op.bodies.length,
    recordHashes: op.bodies.map(recordHash),
    setFencingToken: op.fence ?? null,
    fencingToken: op.fencingToken ?? null,
    matchSeqNum: op.matchSeqNum ?? null,
  };
  return call;
}
