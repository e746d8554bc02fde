/**
 * Engine test fixtures: a StreamLog wrapper whose commits can be held, released or failed (to
 * observe pipelining and durability gating), and an engine on a ManualClock with a seeded rand.
 */
import { Engine, type EngineOptions } from '../../src/engine/engine.js';
import type { AppendInput, AppendRecord, SequencedRecord, StreamConfigLayer } from '../../src/domain/types.js';
import { ChunkLog } from '../../src/storage/chunk-log.js';
import { MemoryObjectStore } from '../../src/objectstore/memory.js';
import type { LogStatus, Mutation, ReadRequest, RecoveredState, StreamId, StreamLog } from '../../src/storage/types.js';
import { ManualClock } from '../../src/util/clock.js';
import { seededRand } from '../../src/util/rand.js';

interface Held {
  mutations: Mutation[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Passes commits to an in-memory log, except while `hold()` is in force: then every commit
 * queues (keeping submission order) until `release()` or `fail()`.
 */
export class ControlledLog implements StreamLog {
  /** The real chunk log over the in-memory object store, as in-memory mode runs it. */
  static async create(store = new MemoryObjectStore()): Promise<ControlledLog> {
    return new ControlledLog(await ChunkLog.open(store), store);
  }

  constructor(
    readonly inner: StreamLog,
    /** The object store under the log: open a new log on it to simulate a restart. */
    readonly store: MemoryObjectStore,
  ) {}

  /** Every mutation list submitted, in order. */
  readonly submitted: Mutation[][] = [];
  private holding = false;
  private held: Held[] = [];
  private failedReason: string | undefined;
  private listeners: ((reason: string) => void)[] = [];

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
    for (const h of batch) this.inner.commit(h.mutations).then(h.resolve, h.reject);
  }

  /** Rejects every held commit and marks the log failed, as a storage failure would. */
  fail(reason = 'injected failure'): void {
    this.failedReason = reason;
    const batch = this.held.splice(0);
    this.holding = false;
    for (const h of batch) h.reject(new Error(reason));
    for (const listener of this.listeners) listener(reason);
  }

  recovered(): RecoveredState {
    return this.inner.recovered();
  }

  commit(mutations: Mutation[]): Promise<void> {
    this.submitted.push(mutations);
    if (this.failedReason !== undefined) return Promise.reject(new Error(this.failedReason));
    if (!this.holding) return this.inner.commit(mutations);
    return new Promise<void>((resolve, reject) => this.held.push({ mutations, resolve, reject }));
  }

  barrier(): Promise<void> {
    return this.commit([]);
  }

  read(request: ReadRequest): Promise<SequencedRecord[]> {
    return this.inner.read(request);
  }

  seqNumForTimestamp(stream: StreamId, timestamp: bigint, endSeqNum: number, nowMs: number): Promise<number | null> {
    return this.inner.seqNumForTimestamp(stream, timestamp, endSeqNum, nowMs);
  }

  status(): LogStatus {
    return this.failedReason === undefined ? { ok: true } : { ok: false, reason: this.failedReason };
  }

  onFailure(listener: (reason: string) => void): void {
    this.listeners.push(listener);
  }

  close(): Promise<void> {
    return this.inner.close();
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
