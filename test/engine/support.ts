/**
 * Engine test fixtures: a StreamLog wrapper whose commits can be held, released or failed (to
 * observe pipelining and durability gating), and an engine on a ManualClock with a seeded rand.
 */
import { Engine, type EngineOptions } from '../../src/engine/engine.js';
import type { AppendInput, AppendRecord, StreamConfigLayer } from '../../src/domain/types.js';
import { ChunkLog } from '../../src/storage/chunk-log.js';
import { DurableWaiters } from '../../src/storage/durable-waiters.js';
import { StoreFailure, type StorageError } from '../../src/storage/errors.js';
import { MemoryObjectStore } from '../../src/objectstore/memory.js';
import type { DurabilitySubscriber, LogStatus, Mutation, RecoveredState, StreamLog } from '../../src/storage/types.js';
import { ManualClock } from '../../src/util/clock.js';
import { seededRand } from '../../src/util/rand.js';

/**
 * Passes commits to an in-memory log, except while `hold()` is in force: then every commit
 * queues (keeping submission order) until `release()` or `fail()`. Ordinals are its own; it
 * reports a commit durable once the inner log reports the commit it passed on durable.
 */
export class ControlledLog implements StreamLog {
  /** The real chunk log over the in-memory object store, as in-memory mode runs it. */
  static async create(store = new MemoryObjectStore()): Promise<ControlledLog> {
    return new ControlledLog(await ChunkLog.open(store), store);
  }

  /** Every mutation list submitted, in order. */
  readonly submitted: Mutation[][] = [];
  private holding = false;
  private held: { mutations: Mutation[]; ordinal: number }[] = [];
  /** Commits passed on, oldest first: the inner log's ordinal and ours. */
  private passed: { inner: number; outer: number }[] = [];
  private lastOrdinal = 0;
  private readonly waiters = new DurableWaiters();
  private subscriber: DurabilitySubscriber | null = null;
  private stopped: StorageError | null = null;

  constructor(
    readonly inner: StreamLog,
    /** The object store under the log: open a new log on it to simulate a restart. */
    readonly store: MemoryObjectStore,
  ) {
    inner.subscribe({ durableThrough: (ordinal) => this.innerDurable(ordinal), failed: (error) => this.stop(error) });
  }

  hold(): void {
    this.holding = true;
  }

  get heldCount(): number {
    return this.held.length;
  }

  /** Lets the first `n` held commits (default all) through, in order; stops holding if all. */
  release(n = this.held.length): void {
    const batch = this.held.splice(0, n);
    if (this.held.length === 0) this.holding = false;
    for (const h of batch) this.pass(h.mutations, h.ordinal);
  }

  /** Drops every held commit and stops the log, as a storage failure would. */
  fail(reason = 'injected failure'): void {
    this.held = [];
    this.holding = false;
    this.stop(new StoreFailure(reason));
  }

  recovered(): RecoveredState {
    return this.inner.recovered();
  }

  subscribe(subscriber: DurabilitySubscriber): void {
    this.subscriber = subscriber;
  }

  submit(mutations: Mutation[]): number {
    this.submitted.push(mutations);
    if (this.stopped) throw this.stopped;
    const ordinal = ++this.lastOrdinal;
    if (this.holding) this.held.push({ mutations, ordinal });
    else this.pass(mutations, ordinal);
    return ordinal;
  }

  commit(mutations: Mutation[]): Promise<void> {
    if (mutations.length === 0) return this.barrier();
    try {
      return this.waiters.wait(this.submit(mutations));
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  barrier(): Promise<void> {
    return this.waiters.wait(this.lastOrdinal);
  }

  /** Reads go straight to the inner log (a test may replace them). */
  read: StreamLog['read'] = (request) => this.inner.read(request);
  seqNumForTimestamp: StreamLog['seqNumForTimestamp'] = (...args) => this.inner.seqNumForTimestamp(...args);

  status(): LogStatus {
    return this.stopped ? { ok: false, error: this.stopped } : { ok: true };
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private pass(mutations: Mutation[], ordinal: number): void {
    this.passed.push({ inner: this.inner.submit(mutations), outer: ordinal });
  }

  private innerDurable(ordinal: number): void {
    if (this.stopped) return;
    let through = 0;
    while (this.passed.length > 0 && this.passed[0].inner <= ordinal) through = this.passed.shift()!.outer;
    if (through === 0) return;
    this.waiters.through(through);
    this.subscriber?.durableThrough(through);
  }

  private stop(error: StorageError): void {
    if (this.stopped) return;
    this.stopped = error;
    this.waiters.stop(error);
    this.subscriber?.failed(error);
  }
}

export const basin = 'engine-basin';

export interface Fixture {
  engine: Engine;
  log: ControlledLog;
  clock: ManualClock;
}

export async function setup(options: EngineOptions = {}, log?: ControlledLog): Promise<Fixture> {
  log ??= await ControlledLog.create();
  const clock = new ManualClock();
  const engine = new Engine(log, { clock, rand: seededRand(7), ...options });
  await engine.createBasin(basin, { createStreamOnAppend: true, createStreamOnRead: true });
  return { engine, log, clock };
}

export async function createStream(f: Fixture, name: string, config: StreamConfigLayer = {}): Promise<void> {
  await f.engine.createStream(basin, name, config);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function rec(body: string, timestamp?: bigint): AppendRecord {
  const record: AppendRecord = { headers: [], body: encoder.encode(body) };
  if (timestamp !== undefined) record.timestamp = timestamp;
  return record;
}

export function input(bodies: string[], extra: Partial<AppendInput> = {}): AppendInput {
  return { records: bodies.map((b) => rec(b)), ...extra };
}

export function fence(token: string): AppendRecord {
  return { headers: [[new Uint8Array(0), encoder.encode('fence')]], body: encoder.encode(token) };
}

export function trim(point: bigint): AppendRecord {
  const body = new Uint8Array(8);
  new DataView(body.buffer).setBigUint64(0, point, false);
  return { headers: [[new Uint8Array(0), encoder.encode('trim')]], body };
}

export function text(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** Lets promise chains and setImmediate-based commits run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Tracks whether a promise settled, without awaiting it. */
export function track<T>(promise: Promise<T>): {
  settled: () => boolean;
  value: () => T | undefined;
  error: () => unknown;
} {
  let done = false;
  let value: T | undefined;
  let error: unknown;
  promise.then(
    (v) => {
      done = true;
      value = v;
    },
    (e: unknown) => {
      done = true;
      error = e;
    },
  );
  return { settled: () => done, value: () => value, error: () => error };
}
