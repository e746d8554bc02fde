/**
 * The Wing-Gong search with Lowe's memoisation (as in Porcupine) over one stream's operations.
 *
 * The call and return events form a doubly linked list in real-time order. The search walks it,
 * tentatively placing ("linearizing") any operation whose call it meets if the model allows it in
 * the current state, and backtracks when it meets the return of an operation not placed yet. A
 * (set of placed operations, state) pair already explored is never explored again.
 *
 * Operations come in two kinds. Required ones (acknowledged appends, successful reads and
 * check-tails) must all be placed. Optional ones (indefinite or unfinished appends) have no return
 * event and only an "applied" transition: not applied is the same as never placed. The search
 * succeeds once every required operation is placed.
 *
 * Exact prunings (constraints.ts) keep indefinite appends from multiplying the work; all rest on
 * the tail never decreasing:
 * - ClaimedRanges: an acknowledged append with tail T and n records occupies seq_nums [T-n, T) in
 *   every legal order, so an indefinite append can only take effect where it overlaps none of those;
 *   and from the start of such a range the records up to the next gap are known, so a state whose
 *   hash cannot reach what the next read there saw is dead (`deadAhead`).
 * - PinnedTails: every required operation not placed yet needs one exact tail (T-n for an append,
 *   T for a read or check-tail); a state whose tail passed the smallest of them is dead.
 * - Confirmed hashes: once a read is placed, every tail on the path to it has a known hash.
 * Their order of trying candidates (`run`, `optionalCandidates`) is a heuristic; it does not change
 * the verdict. A history with very many indefinite failures can still need an exponential search
 * (which of them filled which gap, in what order): the checker runs several orders with growing
 * step budgets, and `maxSteps` bounds the total.
 *
 * The memo of (placed set, state) is placed-set.ts; states are interned to small integers.
 */
import { applyAppend, conditionsHold, initialState, stateKey, type StreamState } from './model.js';
import type { Operation } from './checker.js';
import { ClaimedRanges, PinnedTails, pinnedTail, ReadHashes } from './constraints.js';
import { PlacedSet } from './placed-set.js';

export class States {
  readonly list: StreamState[] = [];
  private readonly ids = new Map<string, number>();

  intern(state: StreamState): number {
    const key = stateKey(state);
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.list.length;
      this.list.push(state);
      this.ids.set(key, id);
    }
    return id;
  }
}

const noCandidates = new Int32Array(0);

export type SearchOutcome = 'linearizable' | 'not-linearizable' | 'gave-up';

/**
 * How phase B orders the indefinite appends it tries in a gap (after exact fits): sent soonest
 * after the operation placed last, largest first, or most recent first. Only speed
 * depends on it; each does badly on some histories, so the checker runs them as a portfolio.
 */
export type CandidateOrder = 'next' | 'largest' | 'recent';
export const candidateOrders: CandidateOrder[] = ['next', 'largest', 'recent'];

interface Candidate {
  slot: number;
  size: number;
  distance: number;
}

export class Search {
  // Entry 0 is the list head; required op i has call entry 2i+1 and return entry 2i+2. Optional
  // ops are not in the list: they never return, and they are tried apart (see `run`).
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  private readonly returnTime: number[];
  /** Optional ops by call time (their slot order), and their call times. */
  private readonly optionalOps: number[] = [];
  private readonly optionalCall: number[] = [];
  /** Dense index of each op among the required (or among the optional) ones. */
  private readonly slot: Int32Array;
  private readonly placed: PlacedSet;
  private readonly stepCache: Map<number, number>[];
  private readonly claimed: ClaimedRanges;
  private readonly pins: PinnedTails;
  private readonly readHashes: ReadHashes;
  /** Tail -> the stream's hash there, learnt from reads the search placed (see `confirm`). */
  private readonly confirmed = new Map<bigint, bigint>();
  /** Per state id: may an optional append start at its tail (the position is not claimed)? */
  private readonly freeAt: boolean[] = [];
  /** Per state id: can it never reach the next read ahead (`deadAhead`)? */
  private readonly dead: boolean[] = [];
  private readonly requiredCount: number;
  readonly states = new States();
  steps = 0;
  /** With `collectStates`, the distinct end states of the linearizations found. */
  readonly endStates = new Set<number>();

  constructor(
    private readonly ops: Operation[],
    /** Event time of each op's call and return (ignored for optional ops: they never return). */
    callTime: number[],
    returnTime: number[],
    private readonly optional: boolean[],
    private readonly order: CandidateOrder = 'next',
  ) {
    const n = ops.length;
    this.next = new Int32Array(2 * n + 1).fill(-1);
    this.prev = new Int32Array(2 * n + 1).fill(-1);
    this.returnTime = returnTime;
    this.slot = new Int32Array(n);
    let required = 0;
    let optionals = 0;
    for (let i = 0; i < n; i++) this.slot[i] = optional[i] ? optionals++ : required++;
    this.requiredCount = required;
    this.placed = new PlacedSet(n, required, optionals);
    this.stepCache = Array.from({ length: n }, () => new Map<number, number>());
    this.claimed = new ClaimedRanges(ops);
    this.readHashes = new ReadHashes(ops);
    this.pins = new PinnedTails(ops.map((op, i) => (optional[i] ? null : pinnedTail(op))));
    const entries: { entry: number; time: number; order: number }[] = [];
    for (let i = 0; i < n; i++) {
      if (optional[i]) {
        this.optionalOps.push(i);
        this.optionalCall.push(callTime[i]!);
        continue;
      }
      entries.push({ entry: 2 * i + 1, time: callTime[i]!, order: i });
      entries.push({ entry: 2 * i + 2, time: returnTime[i]!, order: i });
    }
    entries.sort((a, b) => a.time - b.time || a.order - b.order || a.entry - b.entry);
    let last = 0;
    for (const { entry } of entries) {
      this.next[last] = entry;
      this.prev[entry] = last;
      last = entry;
    }
  }

  /**
   * Runs the search. With `collectStates` > 0 it does not stop at the first linearization but
   * gathers up to that many distinct end states (for reports).
   *
   * In each state the candidates are tried in two phases: A, the required operations whose call
   * comes before the first return of one not placed yet (list order); then B, if an optional
   * operation can start at this tail at all, the optional ones called before that same return
   * (`optionalCandidates`: an indefinite append usually filled a gap alone and took effect soon
   * after it was sent, so trying those first finds it before every old one that never did).
   */
  run(maxSteps: number, collectStates = 0): SearchOutcome {
    let requiredLeft = this.requiredCount;
    const stack: { op: number; state: number; cursor: number; candidates: Int32Array | null }[] = [];
    let state = this.states.intern(initialState);
    let entry = this.next[0]!; // phase A cursor: a list entry
    let candidates: Int32Array | null = null; // phase B: optional slots to try, in order...
    let index = 0; // ...and the next one
    for (;;) {
      let op = -1;
      if (requiredLeft === 0) {
        this.endStates.add(state);
        if (this.endStates.size >= collectStates) return 'linearizable';
        candidates = noCandidates; // look for more: backtrack as if stuck
        index = 0;
      } else if (candidates === null) {
        if (entry !== -1 && (entry & 1) === 1) {
          op = (entry - 1) >> 1;
        } else {
          const bound = entry === -1 ? Infinity : this.returnTime[(entry - 2) >> 1]!;
          candidates = this.optionalCandidates(state, bound, this.lastAppendCall(stack));
          index = 0;
          continue;
        }
      } else if (index < candidates.length) {
        op = this.optionalOps[candidates[index]!]!;
      }
      if (op >= 0) {
        if (++this.steps > maxSteps) return 'gave-up';
        const after = this.step(op, state);
        if (after >= 0) {
          this.flip(op);
          const next = this.states.list[after]!;
          if (!this.pins.passed(next.tail) && !this.contradictsConfirmed(next) && this.remember(after)) {
            stack.push({ op, state, cursor: candidates === null ? entry : index, candidates });
            if (this.ops[op]!.ret?.kind === 'readSuccess') this.confirm(after, stack);
            if (!this.optional[op]) {
              requiredLeft--;
              unlink(this.next, this.prev, entry);
            }
            state = after;
            entry = this.next[0]!;
            candidates = null;
            continue;
          }
          this.flip(op);
        }
        if (candidates === null) entry = this.next[entry]!;
        else index++;
        continue;
      }
      // Nothing more to try here: undo the last choice and try the next candidate after it.
      const top = stack.pop();
      if (!top) return this.endStates.size > 0 ? 'linearizable' : 'not-linearizable';
      this.flip(top.op);
      state = top.state;
      candidates = top.candidates;
      if (candidates !== null) {
        index = top.cursor + 1;
      } else {
        requiredLeft++;
        relink(this.next, this.prev, top.cursor);
        entry = this.next[top.cursor]!;
      }
    }
  }

  /** Call time of the append that produced the current tail (the last one placed), or 0. */
  private lastAppendCall(stack: { op: number }[]): number {
    for (let i = stack.length - 1; i >= 0; i--) {
      const op = this.ops[stack[i]!.op]!;
      if (op.call.kind === 'append') return op.start.line;
    }
    return 0;
  }

  /**
   * The optional ops worth trying in `state` (phase B): those not placed, called before `bound`,
   * that fit in the free seq_nums before the next acknowledged append's range. Ones that fill
   * that gap exactly come first, then the rest in `order`. By default ('next') those sent soonest
   * after `previous` (the call time of the append that produced this tail): a server sequences
   * requests roughly as they arrive, so what filled a gap was mostly sent just after what precedes it.
   */
  private optionalCandidates(state: number, bound: number, previous: number): Int32Array {
    if (!this.isFree(state)) return noCandidates;
    const tail = this.states.list[state]!.tail;
    const gap = this.claimed.nextStart(tail) - tail;
    const fitting: Candidate[] = [];
    for (let slot = this.lastCalledBefore(bound); slot >= 0; slot--) {
      if (this.placed.hasOptional(slot)) continue;
      const call = this.ops[this.optionalOps[slot]!]!.call;
      const size = call.kind === 'append' ? call.numRecords : 0;
      const after = this.optionalCall[slot]! - previous;
      if (BigInt(size) <= gap) fitting.push({ slot, size, distance: after >= 0 ? after : 1e12 - after });
    }
    const exact = Number(gap);
    const byOrder = {
      next: (a: Candidate, b: Candidate) => a.distance - b.distance,
      largest: (a: Candidate, b: Candidate) => b.size - a.size,
      recent: () => 0, // already most recent first
    }[this.order];
    fitting.sort((a, b) => Number(b.size === exact) - Number(a.size === exact) || byOrder(a, b));
    return Int32Array.from(fitting, (f) => f.slot);
  }

  /**
   * A read was placed: every state on the current path up to it has the stream's true hash at its
   * tail (a read saw the whole chain; two different chains with the same hash would be a 64-bit
   * collision, which the hash-based model rules out anyway). From now on any state with another
   * hash at one of those tails is dead. This is what stops the search from retrying every other
   * way of filling a gap with indefinite appends each time it backtracks across it.
   */
  private confirm(state: number, stack: { state: number }[]): void {
    const confirmState = (id: number) => {
      const { tail, hash } = this.states.list[id]!;
      if (this.confirmed.has(tail)) return false;
      this.confirmed.set(tail, hash);
      return true;
    };
    confirmState(state);
    for (let i = stack.length - 1; i >= 0; i--) if (!confirmState(stack[i]!.state)) break;
  }

  private contradictsConfirmed(state: StreamState): boolean {
    const hash = this.confirmed.get(state.tail);
    return hash !== undefined && hash !== state.hash;
  }

  /** The last optional slot whose call comes before `time`, or -1. */
  private lastCalledBefore(time: number): number {
    let lo = 0;
    let hi = this.optionalCall.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.optionalCall[mid]! < time) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  private isFree(state: number): boolean {
    let free = this.freeAt[state];
    if (free === undefined) {
      const tail = this.states.list[state]!.tail;
      free = !this.claimed.overlaps(tail, tail + 1n);
      this.freeAt[state] = free;
    }
    return free;
  }

  /** The state after `op` takes effect in state `from`, or -1 if it cannot. */
  private step(op: number, from: number): number {
    const cache = this.stepCache[op]!;
    const cached = cache.get(from);
    if (cached !== undefined) return cached;
    const result = this.computeStep(this.ops[op]!, from, this.optional[op]!);
    cache.set(from, result);
    return result;
  }

  private computeStep(op: Operation, from: number, optional: boolean): number {
    const state = this.states.list[from]!;
    const ret = op.ret;
    if (op.call.kind === 'append') {
      if (!conditionsHold(op.call, state)) return -1;
      const end = state.tail + BigInt(op.call.numRecords);
      if (optional && this.claimed.overlaps(state.tail, end)) return -1;
      if (ret?.kind === 'appendSuccess' && ret.tail !== end) return -1;
      const after = this.states.intern(applyAppend(op.call, state));
      return this.deadAhead(after) ? -1 : after;
    }
    if (ret?.kind === 'readSuccess') return ret.tail === state.tail && ret.streamHash === state.hash ? from : -1;
    if (ret?.kind === 'checkTailSuccess') return ret.tail === state.tail ? from : -1;
    return from;
  }

  /**
   * Whether the state can never reach the next read ahead of it. From a tail t, the seq_nums that
   * acknowledged appends claim are filled by exactly their records in every order; if they run
   * without a gap up to a tail r some read saw, the hash at r is known from this state's hash, and
   * a mismatch means the state is dead (a wrong guess about which indefinite appends filled the
   * gap behind it is refuted here, not after every order of the operations up to that read).
   */
  private deadAhead(id: number): boolean {
    let dead = this.dead[id];
    if (dead === undefined) {
      const { tail, hash } = this.states.list[id]!;
      dead = this.claimed.contradictsAhead(tail, hash, this.readHashes);
      this.dead[id] = dead;
    }
    return dead;
  }

  /** Adds or removes `op` from the placed set. */
  private flip(op: number): void {
    const slot = this.slot[op]!;
    if (this.optional[op]) {
      this.placed.flipOptional(op, slot);
    } else {
      this.pins.set(op, this.placed.flipRequired(op, slot));
    }
  }

  /** Adds (placed set, state) to the memo; false if it was there already. */
  private remember(state: number): boolean {
    return this.placed.remember(state);
  }
}

/** Takes a call entry and its return entry (the next one) out of a list, dancing-links style. */
function unlink(next: Int32Array, prev: Int32Array, call: number): void {
  next[prev[call]!] = next[call]!;
  if (next[call] !== -1) prev[next[call]!] = prev[call]!;
  const ret = call + 1;
  next[prev[ret]!] = next[ret]!;
  if (next[ret] !== -1) prev[next[ret]!] = prev[ret]!;
}

/** Undoes `unlink` (in reverse order, so the neighbours' links are those unlink saw). */
function relink(next: Int32Array, prev: Int32Array, call: number): void {
  const ret = call + 1;
  next[prev[ret]!] = ret;
  if (next[ret] !== -1) prev[next[ret]!] = ret;
  next[prev[call]!] = call;
  if (next[call] !== -1) prev[next[call]!] = call;
}
