/**
 * Random linearizable histories for the checker's performance test: concurrent clients on a virtual
 * timeline against a perfect stream. Each operation gets an interval [call, return] and a
 * linearization point inside it; effects are applied in linearization-point order, so the history
 * is linearizable by construction. Some appends carry conditions (which may fail: definite), some
 * fail indefinitely (applied or not, the Finish written at the end), some are fences.
 */
import { seededRand, randInt, type Rand } from '../../src/util/rand.js';
import { formatEvent, type Call, type HistoryEvent, type Return } from '../../src/verify/history.js';
import { applyAppend, conditionsHold, initialState, type StreamState } from '../../src/verify/model.js';

export interface GenerateOptions {
  seed: number;
  operations: number;
  clients: number;
  /** Fraction of appends that fail indefinitely (half of them applied). */
  indefiniteRate?: number;
}

interface PlannedOp {
  slot: number;
  call: number;
  point: number;
  ret: number;
  kind: 'append' | 'fence' | 'read' | 'checkTail';
  event?: { call: Call; ret: Return };
}

function u64(rand: Rand): bigint {
  return (BigInt(Math.floor(rand.next() * 2 ** 32)) << 32n) | BigInt(Math.floor(rand.next() * 2 ** 32));
}

export function generateHistory(options: GenerateOptions): string {
  const rand = seededRand(options.seed);
  const indefiniteRate = options.indefiniteRate ?? 0.02;
  // Intervals first: each client runs its operations back to back with random gaps and durations.
  const free = new Array<number>(options.clients).fill(0);
  const ops: PlannedOp[] = [];
  for (let i = 0; i < options.operations; i++) {
    const slot = randInt(rand, 0, options.clients - 1);
    const call = free[slot]! + rand.next() * 5;
    const duration = 1 + rand.next() * 30;
    const roll = rand.next();
    const kind = roll < 0.55 ? 'append' : roll < 0.6 ? 'fence' : roll < 0.75 ? 'read' : 'checkTail';
    ops.push({ slot, call, point: call + rand.next() * duration, ret: call + duration, kind });
    free[slot] = call + duration;
  }
  // Effects in linearization-point order, against a perfect stream.
  let state: StreamState = initialState;
  const tokens: string[] = [];
  const indefinite = new Set<PlannedOp>();
  for (const op of [...ops].sort((a, b) => a.point - b.point)) {
    if (op.kind === 'read') {
      op.event = { call: { kind: 'read' }, ret: { kind: 'readSuccess', tail: state.tail, streamHash: state.hash } };
      continue;
    }
    if (op.kind === 'checkTail') {
      op.event = { call: { kind: 'checkTail' }, ret: { kind: 'checkTailSuccess', tail: state.tail } };
      continue;
    }
    const n = op.kind === 'fence' ? 1 : randInt(rand, 1, 8);
    const fence = op.kind === 'fence' ? `t${tokens.length}` : null;
    const matchSeqNum = rand.next() < 0.2 ? (rand.next() < 0.7 ? state.tail : BigInt(randInt(rand, 0, 50))) : null;
    const fencingToken = tokens.length > 0 && rand.next() < 0.2 ? tokens[randInt(rand, 0, tokens.length - 1)]! : null;
    const call: Call = {
      kind: 'append',
      numRecords: n,
      recordHashes: Array.from({ length: n }, () => u64(rand)),
      setFencingToken: fence,
      fencingToken,
      matchSeqNum,
    };
    const holds = conditionsHold(call, state);
    if (rand.next() < indefiniteRate) {
      indefinite.add(op);
      if (holds && rand.next() < 0.5) state = applyAppend(call, state);
      op.event = { call, ret: { kind: 'appendIndefiniteFailure' } };
    } else if (!holds) {
      op.event = { call, ret: { kind: 'appendDefiniteFailure' } };
    } else {
      state = applyAppend(call, state);
      if (fence !== null) tokens.push(fence);
      op.event = { call, ret: { kind: 'appendSuccess', tail: state.tail } };
    }
  }
  // Client ids: a slot continues under a new id after an indefinite failure.
  const ids = new Map<PlannedOp, bigint>();
  let nextId = 1n;
  const current = new Array<bigint>(options.clients).fill(0n);
  for (const op of [...ops].sort((a, b) => a.call - b.call)) {
    if (current[op.slot] === 0n) current[op.slot] = nextId++;
    ids.set(op, current[op.slot]!);
    if (indefinite.has(op)) current[op.slot] = 0n;
  }
  const timeline: { time: number; event: HistoryEvent }[] = [];
  const deferred: HistoryEvent[] = [];
  ops.forEach((op, i) => {
    const clientId = ids.get(op)!;
    const opId = BigInt(i + 1);
    timeline.push({ time: op.call, event: { type: 'start', clientId, opId, call: op.event!.call } });
    const finish: HistoryEvent = { type: 'finish', clientId, opId, ret: op.event!.ret };
    if (indefinite.has(op)) deferred.push(finish);
    else timeline.push({ time: op.ret, event: finish });
  });
  timeline.sort((a, b) => a.time - b.time);
  return [...timeline.map((t) => t.event), ...deferred].map((e) => formatEvent(e) + '\n').join('');
}
