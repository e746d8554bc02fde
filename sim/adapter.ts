/**
 * The one place the simulation touches the server's insides: how a simulated process is built
 * (`Engine` over `ChunkLog.open(FaultyObjectStore(shared MemoryObjectStore))` on the shared
 * `ManualClock`), how it dies, and how a client reaches it (a `Transport` over the engine's data
 * plane, classifying outcomes exactly as the HTTP collector does). When the engine/storage seam
 * changes, this file is what to adapt.
 *
 * A process dies the way kill -9 kills one: its store wrapper crashes (calls still in flight fail
 * without reaching the shared store), its timers are cancelled, and every request in flight on it
 * fails for its client as a dropped connection would: indefinite for appends. Nothing of its
 * memory survives: the next process recovers from the shared store alone.
 */
import { AppendConditionFailed, RangeNotSatisfiable, S2Error } from '../src/domain/errors.js';
import { Engine } from '../src/engine/engine.js';
import { FaultyObjectStore } from '../src/objectstore/faulty.js';
import type { MemoryObjectStore } from '../src/objectstore/memory.js';
import { ChunkLog, type ChunkLogOptions } from '../src/storage/chunk-log.js';
import type { StreamLog } from '../src/storage/types.js';
import type { Clock, ManualClock, Timer } from '../src/util/clock.js';
import type { Rand } from '../src/util/rand.js';
import type { AppendOutcome, PageOutcome, TailOutcome, Transport } from '../src/verify/clients.js';
import { isSideEffectFree } from '../src/verify/outcome.js';
import type { PlannedOp } from '../src/verify/workload.js';

/** A clock for one process: the shared manual clock, with every timer cancelled when it dies. */
export class ProcessClock implements Clock {
  private readonly timers = new Set<Timer>();
  private dead = false;

  constructor(private readonly inner: ManualClock) {}

  nowMs(): number {
    return this.inner.nowMs();
  }

  monotonicMs(): number {
    return this.inner.monotonicMs();
  }

  setTimer(ms: number, fn: () => void): Timer {
    if (this.dead) return { cancel() {} };
    const timer = this.inner.setTimer(ms, () => {
      this.timers.delete(timer);
      if (!this.dead) fn();
    });
    this.timers.add(timer);
    return {
      cancel: () => {
        timer.cancel();
        this.timers.delete(timer);
      },
    };
  }

  /** Dropped once the process is dead, like a timer. */
  afterIo(fn: () => void): void {
    if (this.dead) return;
    this.inner.afterIo(() => {
      if (!this.dead) fn();
    });
  }

  /** Never resolves once the process is dead (its continuations die with it). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimer(ms, resolve));
  }

  kill(): void {
    this.dead = true;
    for (const timer of this.timers) timer.cancel();
    this.timers.clear();
  }
}

export interface ProcessOptions {
  name: string;
  shared: MemoryObjectStore;
  clock: ManualClock;
  rand: Rand;
  log: ChunkLogOptions;
  /** Wraps the stream log (the injected bugs of bugs.ts); identity for the real server. */
  wrapLog?: (log: StreamLog) => StreamLog;
}

export class SimProcess {
  private deathResolve!: () => void;
  /** Resolves when the process dies. */
  readonly died = new Promise<void>((resolve) => (this.deathResolve = resolve));
  alive = true;

  private constructor(
    readonly name: string,
    readonly engine: Engine,
    readonly store: FaultyObjectStore,
    private readonly clock: ProcessClock,
  ) {}

  /** Opens the log on the shared store (recovery, fencing older writers) and starts the engine. */
  static async start(options: ProcessOptions): Promise<SimProcess> {
    const clock = new ProcessClock(options.clock);
    const store = new FaultyObjectStore(options.shared, { rand: options.rand, clock });
    let ids = 0;
    try {
      const chunkLog = await ChunkLog.open(store, { ...options.log, clock, rand: options.rand });
      const log = options.wrapLog ? options.wrapLog(chunkLog) : chunkLog;
      const engine = new Engine(log, {
        clock,
        rand: options.rand,
        newStreamId: () => `${options.name}-s${ids++}`,
      });
      engine.start();
      return new SimProcess(options.name, engine, store, clock);
    } catch (error) {
      clock.kill();
      throw error;
    }
  }

  /** kill -9: see the module comment. */
  kill(): void {
    if (!this.alive) return;
    this.alive = false;
    this.store.crash();
    this.clock.kill();
    this.deathResolve();
  }
}

const died: unique symbol = Symbol('died');

/** Runs `call` on the process, or reports that the process died while it was in flight. */
async function onProcess<T>(process: SimProcess, call: (engine: Engine) => Promise<T>): Promise<T | typeof died> {
  if (!process.alive) return died;
  return Promise.race([call(process.engine), process.died.then((): typeof died => died)]);
}

const fenceHeader: [Uint8Array, Uint8Array] = [new Uint8Array(), new TextEncoder().encode('fence')];

/** A client's view of "the server": whichever process currently takes its requests. */
export class EngineTransport implements Transport {
  constructor(
    private readonly route: () => SimProcess | null,
    private readonly basin: string,
    private readonly stream: string,
    /** Where reads and check-tails go, if not to `route` (to probe a superseded process). */
    private readonly readRoute: () => SimProcess | null = route,
    /** Told which process served each request and how it ended (for verbose traces). */
    private readonly log: (line: string) => void = () => {},
  ) {}

  async append(op: Extract<PlannedOp, { kind: 'append' }>): Promise<AppendOutcome> {
    const process = this.route();
    const outcome = await this.appendOn(process, op);
    this.log(
      `${process?.name ?? '-'} append ${op.bodies.length}${op.fence ? ` fence ${op.fence}` : ''} -> ${JSON.stringify(outcome, (_, v) => (typeof v === 'bigint' ? String(v) : v))}`,
    );
    return outcome;
  }

  private async appendOn(
    process: SimProcess | null,
    op: Extract<PlannedOp, { kind: 'append' }>,
  ): Promise<AppendOutcome> {
    if (!process) return { kind: 'definite', reason: 'no server (connection refused)' };
    const input = {
      records: op.bodies.map((body) => ({ headers: op.fence !== undefined ? [fenceHeader] : [], body })),
      ...(op.matchSeqNum !== undefined ? { matchSeqNum: Number(op.matchSeqNum) } : {}),
      ...(op.fencingToken !== undefined ? { fencingToken: op.fencingToken } : {}),
    };
    try {
      const ack = await onProcess(process, (engine) => engine.append(this.basin, this.stream, input));
      if (ack === died) return { kind: 'indefinite', reason: `${process.name} died` };
      return { kind: 'ok', end: BigInt(ack.end.seqNum) };
    } catch (error) {
      if (error instanceof AppendConditionFailed) {
        const c = error.condition;
        return 'fencingTokenMismatch' in c
          ? { kind: 'definite', reason: '412 fencing token', currentToken: c.fencingTokenMismatch }
          : { kind: 'definite', reason: '412 seq_num', nextSeqNum: BigInt(c.seqNumMismatch) };
      }
      if (error instanceof S2Error && isSideEffectFree(error.code)) return { kind: 'definite', reason: error.code };
      return { kind: 'indefinite', reason: error instanceof S2Error ? error.code : String(error) };
    }
  }

  async readPage(start: bigint, count: number): Promise<PageOutcome> {
    const process = this.readRoute();
    if (!process) return { kind: 'failed', reason: 'no server' };
    try {
      // The unary read of api.md 8.5: bounded, so it never follows; at the tail it is a 416.
      const request = { start: { seqNum: Number(start) }, count, bytes: 1024 * 1024 };
      const batch = await onProcess(process, (engine) => engine.read(this.basin, this.stream, request));
      if (batch === died) return { kind: 'failed', reason: `${process.name} died` };
      return { kind: 'records', records: batch.records.map((r) => ({ seqNum: BigInt(r.seqNum), body: r.body })) };
    } catch (error) {
      if (error instanceof RangeNotSatisfiable) return { kind: 'tail', tail: BigInt(error.tail.seqNum) };
      return { kind: 'failed', reason: error instanceof S2Error ? error.code : String(error) };
    }
  }

  async checkTail(): Promise<TailOutcome> {
    const process = this.readRoute();
    if (!process) return { kind: 'failed', reason: 'no server' };
    try {
      const tail = await onProcess(process, (engine) => engine.checkTail(this.basin, this.stream));
      if (tail === died) return { kind: 'failed', reason: `${process.name} died` };
      return { kind: 'ok', tail: BigInt(tail.seqNum) };
    } catch (error) {
      return { kind: 'failed', reason: error instanceof S2Error ? error.code : String(error) };
    }
  }
}
