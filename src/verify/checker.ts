/**
 * Decides whether a history of one stream is linearizable (verification.md): pairs the Start and
 * Finish lines into operations, leaves out those that can change and constrain nothing (definite
 * append failures, failed reads and check-tails: an identity step can take effect anywhere in its
 * interval), makes indefinite and unfinished appends optional, and runs the search of search.ts.
 *
 * When the history is not linearizable, the report gives the shortest offending prefix: the line
 * at which the history stops being linearizable (always the Finish of an operation whose outcome
 * no order explains), the states the stream can be in once everything that finished before that
 * line has taken effect, and the operations overlapping the offending one, as history lines.
 */
import { describeState, type StreamState } from './model.js';
import { candidateOrders, Search, type CandidateOrder, type SearchOutcome } from './search.js';
import { HistoryFormatError, returnOpKind, type Call, type ParsedLine, type Return } from './history.js';

/** One operation of the history, with the lines it came from. */
export interface Operation {
  clientId: bigint;
  opId: bigint;
  call: Call;
  /** Undefined when the history has no Finish for it (treated like an indefinite failure). */
  ret?: Return;
  start: ParsedLine;
  finish?: ParsedLine;
}

export interface CheckStats {
  operations: number;
  appends: number;
  appendSuccesses: number;
  definiteFailures: number;
  indefiniteFailures: number;
  /** Operations with a Start but no Finish. */
  unfinished: number;
  reads: number;
  checkTails: number;
  /** Failed reads and check-tails (they constrain nothing). */
  failedReads: number;
  clients: number;
  /** Search steps (operations tried) and distinct states met. */
  steps: number;
  states: number;
}

export type Verdict = 'linearizable' | 'not-linearizable' | 'unknown';

export interface CheckResult {
  verdict: Verdict;
  stats: CheckStats;
  /** One line. */
  summary: string;
  /** When not linearizable: the operation no order can place, the candidate states, the window. */
  report?: string;
}

export interface CheckOptions {
  /** Give up (verdict 'unknown') after this many search steps; default unlimited. */
  maxSteps?: number;
  /** At most this many operations are listed in a report; default 40. */
  reportOpsMax?: number;
}

/** Pairs Start and Finish lines into operations, checking the format's rules. */
export function collectOperations(lines: ParsedLine[]): Operation[] {
  const ops: Operation[] = [];
  const open = new Map<string, Operation>();
  const seen = new Set<string>();
  const busy = new Map<bigint, string>();
  for (const line of lines) {
    const { event } = line;
    const key = `${event.clientId}:${event.opId}`;
    if (event.type === 'start') {
      if (seen.has(key)) {
        throw new HistoryFormatError(
          `line ${line.line}: op_id ${event.opId} of client ${event.clientId} started twice`,
        );
      }
      const running = busy.get(event.clientId);
      if (running !== undefined) {
        throw new HistoryFormatError(
          `line ${line.line}: client ${event.clientId} starts op_id ${event.opId} while ${running} is still running`,
        );
      }
      const op: Operation = { clientId: event.clientId, opId: event.opId, call: event.call, start: line };
      ops.push(op);
      open.set(key, op);
      seen.add(key);
      busy.set(event.clientId, `op_id ${event.opId}`);
    } else {
      const op = open.get(key);
      if (!op)
        throw new HistoryFormatError(
          `line ${line.line}: Finish of op_id ${event.opId} (client ${event.clientId}) without a Start`,
        );
      if (returnOpKind(event.ret) !== op.call.kind) {
        throw new HistoryFormatError(`line ${line.line}: ${event.ret.kind} finishes a ${op.call.kind} operation`);
      }
      op.ret = event.ret;
      op.finish = line;
      open.delete(key);
      busy.delete(event.clientId);
    }
  }
  return ops;
}

function countStats(ops: Operation[]): CheckStats {
  const stats: CheckStats = {
    operations: ops.length,
    appends: 0,
    appendSuccesses: 0,
    definiteFailures: 0,
    indefiniteFailures: 0,
    unfinished: 0,
    reads: 0,
    checkTails: 0,
    failedReads: 0,
    clients: new Set(ops.map((o) => o.clientId)).size,
    steps: 0,
    states: 0,
  };
  for (const op of ops) {
    if (op.call.kind === 'append') stats.appends++;
    else if (op.call.kind === 'read') stats.reads++;
    else stats.checkTails++;
    switch (op.ret?.kind) {
      case undefined:
        stats.unfinished++;
        break;
      case 'appendSuccess':
        stats.appendSuccesses++;
        break;
      case 'appendDefiniteFailure':
        stats.definiteFailures++;
        break;
      case 'appendIndefiniteFailure':
        stats.indefiniteFailures++;
        break;
      case 'readFailure':
      case 'checkTailFailure':
        stats.failedReads++;
        break;
    }
  }
  return stats;
}

/** True for operations that can change nothing and constrain nothing. */
function isIdentity(op: Operation): boolean {
  const kind = op.ret?.kind;
  return (
    kind === 'appendDefiniteFailure' ||
    kind === 'readFailure' ||
    kind === 'checkTailFailure' ||
    (kind === undefined && op.call.kind !== 'append')
  );
}

function isOptional(op: Operation): boolean {
  return op.call.kind === 'append' && (op.ret === undefined || op.ret.kind === 'appendIndefiniteFailure');
}

/** Why `op` cannot take effect in `state` (for reports). */
function whyIllegal(op: Operation, state: StreamState): string {
  const call = op.call;
  const ret = op.ret;
  if (call.kind === 'append') {
    if (call.fencingToken !== null && call.fencingToken !== state.fencingToken) {
      const current = state.fencingToken === null ? 'none' : JSON.stringify(state.fencingToken);
      return `its fencing token ${JSON.stringify(call.fencingToken)} is not the stream's (${current})`;
    }
    if (call.matchSeqNum !== null && call.matchSeqNum !== state.tail) {
      return `its match_seq_num ${call.matchSeqNum} is not the tail ${state.tail}`;
    }
    if (ret?.kind === 'appendSuccess') {
      const end = state.tail + BigInt(call.numRecords);
      if (ret.tail !== end)
        return `it acknowledged tail ${ret.tail}, but from tail ${state.tail} it would end at ${end}`;
    }
    return 'it could take effect here, but not in an order consistent with the operations around it';
  }
  const tail = ret?.kind === 'readSuccess' || ret?.kind === 'checkTailSuccess' ? ret.tail : undefined;
  if (tail !== undefined && tail !== state.tail) return `it saw tail ${tail}, the state has tail ${state.tail}`;
  if (ret?.kind === 'readSuccess' && ret.streamHash !== state.hash) {
    return `it saw stream_hash ${ret.streamHash}, the state has ${state.hash} (same tail, other records)`;
  }
  return 'it could take effect here, but not in an order consistent with the operations around it';
}

function opName(op: Operation): string {
  const call = op.call;
  let what: string;
  if (call.kind === 'append') {
    const conditions = [
      call.matchSeqNum !== null ? `match_seq_num ${call.matchSeqNum}` : '',
      call.fencingToken !== null ? `fencing_token ${JSON.stringify(call.fencingToken)}` : '',
    ].filter(Boolean);
    what =
      call.setFencingToken !== null ? `fence ${JSON.stringify(call.setFencingToken)}` : `append of ${call.numRecords}`;
    if (conditions.length > 0) what += ` (${conditions.join(', ')})`;
  } else {
    what = call.kind === 'read' ? 'read' : 'check-tail';
  }
  return `client ${op.clientId} op_id ${op.opId}: ${what} -> ${outcomeName(op.ret)}`;
}

function outcomeName(ret: Return | undefined): string {
  if (!ret) return 'unfinished';
  if (ret.kind === 'appendSuccess' || ret.kind === 'checkTailSuccess') return `tail ${ret.tail}`;
  if (ret.kind === 'readSuccess') return `tail ${ret.tail}, stream_hash ${ret.streamHash}`;
  if (ret.kind === 'appendDefiniteFailure') return 'definite failure';
  if (ret.kind === 'appendIndefiniteFailure') return 'indefinite failure';
  return 'failed';
}

/** Whether the first `count` lines form a linearizable history. */
function prefixOutcome(lines: ParsedLine[], count: number, maxSteps: number): SearchOutcome {
  return decide(collectOperations(lines.slice(0, count)), maxSteps).outcome;
}

function searchFor(all: Operation[], order?: CandidateOrder): Search {
  const ops = all.filter((op) => !isIdentity(op));
  return new Search(
    ops,
    ops.map((op) => op.start.line),
    ops.map((op) => op.finish?.line ?? Infinity),
    ops.map(isOptional),
    order,
  );
}

/**
 * Runs the search with each candidate order in turn on a growing step budget (a portfolio: which
 * order is fast depends on the history), until one decides or `maxSteps` steps are spent in all.
 */
function decide(all: Operation[], maxSteps: number): { outcome: SearchOutcome; search: Search; steps: number } {
  let steps = 0;
  for (let budget = 100_000; ; budget *= 4) {
    for (const order of candidateOrders) {
      const search = searchFor(all, order);
      const last = steps + budget >= maxSteps;
      const outcome = search.run(last ? maxSteps - steps : budget);
      steps += search.steps;
      if (outcome !== 'gave-up' || last) return { outcome, search, steps };
    }
  }
}

function explain(lines: ParsedLine[], options: CheckOptions): string {
  const maxSteps = options.maxSteps ?? Infinity;
  // Shortest non-linearizable prefix: adding lines only adds constraints, so bisect.
  let good = 0;
  let bad = lines.length;
  while (bad - good > 1) {
    const mid = (good + bad) >> 1;
    const outcome = prefixOutcome(lines, mid, maxSteps);
    if (outcome === 'gave-up') break;
    if (outcome === 'linearizable') good = mid;
    else bad = mid;
  }
  const offending = lines[bad - 1]!;
  const all = collectOperations(lines.slice(0, bad));
  const op = all.find((o) => o.finish === offending) ?? all[all.length - 1]!;
  const out: string[] = [];
  out.push(
    `The history is linearizable up to line ${bad - 1}; line ${bad} has an outcome no order of the operations explains:`,
  );
  out.push(`  ${opName(op)}`);
  const before = searchFor(collectOperations(lines.slice(0, bad - 1)));
  before.run(Math.min(maxSteps, 1_000_000), 16);
  const states = [...before.endStates].map((id) => before.states.list[id]!);
  out.push(`States the stream can be in once everything that finished before line ${bad} has taken effect:`);
  for (const state of states) out.push(`  ${describeState(state)}: ${whyIllegal(op, state)}`);
  if (states.length === 16) out.push('  (more not shown)');
  // Operations overlapping the offending one (they may take effect on either side of it).
  const startLine = op.start.line;
  const overlapping = collectOperations(lines).filter(
    (o) => o.start.line <= offending.line && (o.finish === undefined || o.finish.line >= startLine),
  );
  const max = options.reportOpsMax ?? 40;
  const shown = overlapping.slice(-max);
  out.push(
    `Operations overlapping it (${overlapping.length}${shown.length < overlapping.length ? `, the last ${shown.length} shown` : ''}):`,
  );
  for (const o of shown) {
    out.push(`  ${opName(o)}`);
    out.push(`    line ${o.start.line}: ${o.start.text}`);
    if (o.finish) out.push(`    line ${o.finish.line}: ${o.finish.text}`);
  }
  return out.join('\n');
}

/** Decides whether a parsed history is linearizable. Throws `HistoryFormatError` on a malformed one. */
export function checkHistory(lines: ParsedLine[], options: CheckOptions = {}): CheckResult {
  const all = collectOperations(lines);
  const stats = countStats(all);
  const { outcome, search, steps } = decide(all, options.maxSteps ?? Infinity);
  stats.steps = steps;
  stats.states = search.states.list.length;
  const counts =
    `${stats.operations} operations from ${stats.clients} clients (${stats.appends} appends: ${stats.appendSuccesses} ok, ` +
    `${stats.definiteFailures} definite and ${stats.indefiniteFailures + stats.unfinished} indefinite failures; ` +
    `${stats.reads} reads, ${stats.checkTails} check-tails, ${stats.failedReads} failed); ${stats.steps} search steps`;
  if (outcome === 'gave-up') {
    return { verdict: 'unknown', stats, summary: `undecided after ${options.maxSteps} search steps: ${counts}` };
  }
  if (outcome === 'linearizable') return { verdict: 'linearizable', stats, summary: `linearizable: ${counts}` };
  const report = explain(lines, options);
  const line = /line (\d+) has/.exec(report)?.[1];
  return { verdict: 'not-linearizable', stats, summary: `not linearizable at line ${line}: ${counts}`, report };
}
