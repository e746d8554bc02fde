/**
 * The clients of a verification run and the history they write, over any `Transport` (HTTP to a
 * real endpoint in `collect.ts`, the in-process engine in the simulation).
 *
 * Each client runs one operation at a time. Its Start event is recorded just before the request
 * leaves and its Finish as soon as the outcome is known, so the order of the lines is the real-time
 * order of the events. An indefinite failure's Finish is held back to the end of the history (the
 * append may still take effect later) and the client goes on under a new client_id
 * (verification.md).
 *
 * A read is one operation made of several requests: check the tail T first, then read [0, T) in
 * pages, folding the hash chain. Records below a tail never change in a linearizable stream, so
 * (T, hash of [0, T)) is what the stream held when the tail was observed. A server that cannot
 * produce every record below the tail it reported (lost, duplicated, reordered) yields a hash no
 * legal order explains; a page that fails makes the whole read a ReadFailure.
 */
import type { Rand } from '../util/rand.js';
import { foldHashes, recordHash } from './hash.js';
import { formatEvent, type HistoryEvent, type Return } from './history.js';
import { callOf, Knowledge, planOp, type PlannedOp, type WorkloadOptions } from './workload.js';

export type AppendOutcome =
  | { kind: 'ok'; /** end.seq_num of the ack: the tail right after this batch. */ end: bigint }
  | { kind: 'definite'; reason: string; /** From a 412 body. */ currentToken?: string; nextSeqNum?: bigint }
  | { kind: 'indefinite'; reason: string };

export type PageOutcome =
  | { kind: 'records'; records: PageRecord[] }
  /** The start is at or beyond the tail (416). */
  | { kind: 'tail'; tail: bigint }
  | { kind: 'failed'; reason: string };

export interface PageRecord {
  seqNum: bigint;
  body: Uint8Array;
  /** Set when the record is a `fence` command (its body is the token). */
  fence?: boolean;
}

export type TailOutcome = { kind: 'ok'; tail: bigint } | { kind: 'failed'; reason: string };

/** How a client reaches the stream. Implementations classify outcomes (see outcome.ts). */
export interface Transport {
  append(op: Extract<PlannedOp, { kind: 'append' }>): Promise<AppendOutcome>;
  /** Up to `count` records from `start` on. */
  readPage(start: bigint, count: number): Promise<PageOutcome>;
  checkTail(): Promise<TailOutcome>;
}

/** Records per read request (the unary read limit, api.md 6.5). */
const pageRecordsMax = 1000;

/** Writes events in order; indefinite failures' Finish lines are held back until `close()`. */
export class HistoryRecorder {
  private readonly deferred: HistoryEvent[] = [];
  private nextClientId = 1n;
  private nextOpId = 1n;
  lines = 0;

  constructor(private readonly sink: (line: string, event: HistoryEvent) => void) {}

  newClientId(): bigint {
    return this.nextClientId++;
  }

  newOpId(): bigint {
    return this.nextOpId++;
  }

  emit(event: HistoryEvent): void {
    this.lines++;
    this.sink(formatEvent(event), event);
  }

  defer(event: HistoryEvent): void {
    this.deferred.push(event);
  }

  /** Writes the held-back Finish lines; the history is complete after this. */
  close(): void {
    for (const event of this.deferred.splice(0)) this.emit(event);
  }
}

/**
 * Memo of the hash chain over record bodies already folded at the same positions: a read from 0
 * mostly re-reads what the previous one did, and hashing is most of a simulation's CPU. Exact: an
 * entry is reused only for the same body after the same chain hash.
 */
export class ChainCache {
  private readonly bodies: Uint8Array[] = [];
  private readonly after: bigint[] = [];

  /** The chain hash after the record at `position`, folded onto `before`. */
  fold(position: number, before: bigint, body: Uint8Array): bigint {
    const cached = this.bodies[position];
    const previous = position === 0 ? 0n : this.after[position - 1];
    if (cached !== undefined && before === previous && Buffer.compare(cached, body) === 0) return this.after[position]!;
    const hash = foldHashes(before, [recordHash(body)]);
    this.bodies[position] = body;
    this.after[position] = hash;
    return hash;
  }
}

/** One read operation: the tail, then every record below it (see the module comment). */
export async function readOperation(transport: Transport, cache = new ChainCache()): Promise<Return> {
  const tail = await transport.checkTail();
  if (tail.kind === 'failed') return { kind: 'readFailure' };
  let position = 0n;
  let hash = 0n;
  while (position < tail.tail) {
    const want = tail.tail - position;
    const page = await transport.readPage(position, want < BigInt(pageRecordsMax) ? Number(want) : pageRecordsMax);
    if (page.kind === 'failed') return { kind: 'readFailure' };
    // Fewer records than the tail promised: report what the stream showed, the checker decides.
    if (page.kind === 'tail') break;
    const before = position;
    for (const record of page.records) {
      if (record.seqNum >= tail.tail || record.seqNum < position) break;
      hash = cache.fold(Number(record.seqNum), hash, record.body);
      position = record.seqNum + 1n;
    }
    if (position === before) break; // no progress: the stream does not hold what its tail promised
  }
  return { kind: 'readSuccess', tail: tail.tail, streamHash: hash };
}

export interface ClientContext {
  transport: Transport;
  recorder: HistoryRecorder;
  knowledge: Knowledge;
  rand: Rand;
  workload: WorkloadOptions;
  /** Unique per run and client slot: goes into record bodies and fencing tokens. */
  tag: string;
  /** Pause between operations (and longer after a failure), on the run's clock. */
  sleep(ms: number): Promise<void>;
  thinkMs: [min: number, max: number];
  failurePauseMs: number;
  /** True when the client should stop (checked before each operation). */
  done(): boolean;
  /** Shared by the clients of a run (see ChainCache). */
  chainCache?: ChainCache;
  /** Called after every operation (e.g. to count them). */
  onOperation?(ret: Return): void;
}

async function execute(ctx: ClientContext, op: PlannedOp): Promise<Return> {
  const { transport, knowledge } = ctx;
  if (op.kind === 'read') {
    const ret = await readOperation(transport, ctx.chainCache);
    if (ret.kind === 'readSuccess') knowledge.sawTail(ret.tail);
    return ret;
  }
  if (op.kind === 'checkTail') {
    const tail = await transport.checkTail();
    if (tail.kind === 'failed') return { kind: 'checkTailFailure' };
    knowledge.sawTail(tail.tail);
    return { kind: 'checkTailSuccess', tail: tail.tail };
  }
  const outcome = await transport.append(op);
  switch (outcome.kind) {
    case 'ok':
      knowledge.sawTail(outcome.end);
      if (op.fence !== undefined) {
        knowledge.sawToken(op.fence);
        knowledge.fenced = true;
      }
      return { kind: 'appendSuccess', tail: outcome.end };
    case 'definite':
      if (outcome.currentToken !== undefined) knowledge.sawToken(outcome.currentToken);
      if (outcome.nextSeqNum !== undefined) knowledge.sawTail(outcome.nextSeqNum);
      return { kind: 'appendDefiniteFailure' };
    case 'indefinite':
      return { kind: 'appendIndefiniteFailure' };
  }
}

function isFailure(ret: Return): boolean {
  return ret.kind !== 'appendSuccess' && ret.kind !== 'readSuccess' && ret.kind !== 'checkTailSuccess';
}

/** One client: operations until `done()`. */
export async function runClient(ctx: ClientContext): Promise<void> {
  const { recorder, rand } = ctx;
  let clientId = recorder.newClientId();
  for (let seq = 0; !ctx.done(); seq++) {
    const op = planOp(rand, ctx.knowledge, ctx.tag, seq, ctx.workload);
    const opId = recorder.newOpId();
    recorder.emit({ type: 'start', clientId, opId, call: callOf(op) });
    const ret = await execute(ctx, op);
    const finish: HistoryEvent = { type: 'finish', clientId, opId, ret };
    if (ret.kind === 'appendIndefiniteFailure') {
      recorder.defer(finish);
      clientId = recorder.newClientId();
    } else {
      recorder.emit(finish);
    }
    ctx.onOperation?.(ret);
    const [min, max] = ctx.thinkMs;
    const pause = isFailure(ret) ? ctx.failurePauseMs : min + Math.floor(rand.next() * (max - min + 1));
    if (pause > 0) await ctx.sleep(pause);
  }
}
