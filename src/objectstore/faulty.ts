/**
 * Fault injection for tests of the layers above (storage engine, retries): wraps a store and makes
 * chosen calls fail the way real object stores fail. Lives in src/ so every test suite can import it.
 *
 *   const store = new FaultyObjectStore(new MemoryObjectStore(), { rand: seededRand(1) });
 *   const fault = store.faults.add({ op: 'put', prefix: 'chunk/', mode: 'lost-response', times: 1 });
 *   ...
 *   expect(fault.fired).toBe(1);
 *
 * Modes:
 * - 'fail'          Transient (like a 503 or reset) before the inner call: nothing applied.
 * - 'lost-response' the inner call is applied, then Transient: the writer cannot know it succeeded.
 * - 'conflict'      Transient like S3's 409 ConditionalRequestConflict, nothing applied.
 * - 'latency'       waits `latencyMs` on the injected clock, then goes on (other rules still apply).
 * - 'fatal'         Fatal (like AccessDenied) for this call, nothing applied.
 * - 'crash'         the store enters crashed mode before applying: this and every later call fail Fatal
 *                   until heal().
 * - 'crash-after'   like 'crash', but the inner call is applied first (the process "died" after its
 *                   request reached the store).
 * - 'hold'          the call waits until `release()` lets it go (to make one put land late, or never),
 *                   then goes on (other rules still apply). `held` lists the waiting calls; a call still
 *                   held when the store crashes fails without reaching the inner store.
 * Rules match by operation and key prefix (list: the listed prefix; delete: any of the keys), can let
 * the first `skip` matches pass, fire at most `times` times, and fire with a seeded `probability`.
 * `calls` records every call (op and key; one entry per key of a delete) so tests can check which
 * objects were touched.
 */
import { systemClock, type Clock } from '../util/clock.js';
import type { Rand } from '../util/rand.js';
import {
  type PartAlloc,
  ObjectStoreError,
  type BodyHandling,
  type ByteRange,
  type ObjectInfo,
  type ObjectStore,
  type ObjectStoreOp,
  type PutOptions,
} from './types.js';

export type FaultMode = 'fail' | 'lost-response' | 'conflict' | 'latency' | 'hold' | 'fatal' | 'crash' | 'crash-after';

/** A call as seen by the store: the operation and its key (the prefix, for list). */
export interface StoreCall {
  op: ObjectStoreOp;
  key: string;
}

export interface FaultRule {
  mode: FaultMode;
  /** Operations the rule applies to; default all. */
  op?: ObjectStoreOp | ObjectStoreOp[];
  /** Only keys (or list prefixes) starting with this. */
  prefix?: string;
  /** Let this many matching calls through before firing. */
  skip?: number;
  /** Fire at most this many times; default unlimited. */
  times?: number;
  /** Fire on this fraction of matching calls, drawn from the store's seeded rand; default 1. */
  probability?: number;
  /** Delay for 'latency'. */
  latencyMs?: number;
}

export interface Fault {
  readonly rule: FaultRule;
  /** Calls that matched op and prefix. */
  readonly matched: number;
  /** Times the fault was injected. */
  readonly fired: number;
  remove(): void;
}

class FaultEntry implements Fault {
  matched = 0;
  fired = 0;
  constructor(
    readonly rule: FaultRule,
    private readonly owner: FaultSet,
  ) {}

  remove(): void {
    this.owner.remove(this);
  }
}

export class FaultSet {
  private entries: FaultEntry[] = [];
  /** Faults injected so far, over all rules (removed ones included). */
  fired = 0;

  add(rule: FaultRule): Fault {
    if (rule.mode === 'latency' && !(rule.latencyMs! >= 0)) throw new Error("a 'latency' fault needs latencyMs");
    const entry = new FaultEntry(rule, this);
    this.entries.push(entry);
    return entry;
  }

  remove(fault: Fault): void {
    this.entries = this.entries.filter((e) => e !== fault);
  }

  clear(): void {
    this.entries = [];
  }

  /**
   * The rules that fire for this call, in the order they were added: any latency and hold rules, then at
   * most one failing rule. Updates the counters.
   */
  select(op: ObjectStoreOp, keys: string[], rand: Rand): FaultEntry[] {
    const firing: FaultEntry[] = [];
    for (const entry of this.entries) {
      const { rule } = entry;
      const ops = rule.op === undefined ? undefined : Array.isArray(rule.op) ? rule.op : [rule.op];
      if (ops && !ops.includes(op)) continue;
      if (rule.prefix !== undefined && !keys.some((k) => k.startsWith(rule.prefix!))) continue;
      entry.matched++;
      if (entry.matched <= (rule.skip ?? 0)) continue;
      if (rule.times !== undefined && entry.fired >= rule.times) continue;
      if (rule.probability !== undefined && rand.next() >= rule.probability) continue;
      entry.fired++;
      this.fired++;
      firing.push(entry);
      if (rule.mode !== 'latency' && rule.mode !== 'hold') break; // one failure per call; later rules are not consumed
    }
    return firing;
  }
}

export class FaultyObjectStore implements ObjectStore {
  readonly faults = new FaultSet();
  /** Every call so far, in the order made (before any fault applies). */
  readonly calls: StoreCall[] = [];
  private readonly holding: (StoreCall & { release(): void })[] = [];
  private crashed = false;
  private readonly rand: Rand;
  private readonly clock: Clock;

  constructor(
    private readonly inner: ObjectStore,
    options: { rand: Rand; clock?: Clock },
  ) {
    this.rand = options.rand;
    this.clock = options.clock ?? systemClock;
    if (inner.getParts) {
      const getParts = inner.getParts.bind(inner);
      // Faults of a get apply to it alike.
      this.getParts = (key, start, lengths, alloc) => this.call('get', [key], () => getParts(key, start, lengths, alloc));
    }
  }

  /** Present when the inner store has it. */
  readonly getParts?: (key: string, start: number, lengths: readonly number[], alloc?: PartAlloc) => Promise<Uint8Array[]>;

  /** From now on every call fails Fatal, as if the process lost its storage; held calls fail too. */
  crash(): void {
    this.crashed = true;
    this.release();
  }

  /** Leaves crashed mode, removes all rules and lets held calls go on. */
  heal(): void {
    this.crashed = false;
    this.faults.clear();
    this.release();
  }

  /** Calls waiting on a 'hold' rule, oldest first. */
  get held(): readonly StoreCall[] {
    return this.holding.map(({ op, key }) => ({ op, key }));
  }

  /** Lets held calls (all, or those `which` selects) go on, oldest first; returns how many. */
  release(which: (call: StoreCall) => boolean = () => true): number {
    const chosen = this.holding.filter(which);
    for (const call of chosen) {
      this.holding.splice(this.holding.indexOf(call), 1);
      call.release();
    }
    return chosen.length;
  }

  get isCrashed(): boolean {
    return this.crashed;
  }

  put(key: string, body: Uint8Array, options?: PutOptions): Promise<void> {
    return this.call('put', [key], () => this.inner.put(key, body, options));
  }

  get(key: string, range?: ByteRange): Promise<Uint8Array> {
    return this.call('get', [key], () => this.inner.get(key, range));
  }

  head(key: string): Promise<ObjectInfo | null> {
    return this.call('head', [key], () => this.inner.head(key));
  }

  list(prefix: string, options?: { startAfter?: string; limit?: number }): Promise<ObjectInfo[]> {
    return this.call('list', [prefix], () => this.inner.list(prefix, options));
  }

  delete(keys: string[]): Promise<void> {
    return this.call('delete', keys, () => this.inner.delete(keys));
  }

  describe(): string {
    return `faulty(${this.inner.describe()})`;
  }

  get bodyHandling(): BodyHandling | undefined {
    return this.inner.bodyHandling;
  }

  get partsShareMemory(): boolean | undefined {
    return this.inner.partsShareMemory;
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }

  private async call<T>(op: ObjectStoreOp, keys: string[], apply: () => Promise<T>): Promise<T> {
    const what = `${op} ${keys.length === 1 ? keys[0] : `${keys.length} keys`}`;
    for (const key of keys) this.calls.push({ op, key });
    if (this.crashed) throw new ObjectStoreError('Fatal', `injected: store crashed (${what})`);
    let failure: { mode: FaultMode } | undefined;
    for (const fault of this.faults.select(op, keys, this.rand)) {
      if (fault.rule.mode === 'latency') await this.clock.sleep(fault.rule.latencyMs!);
      else if (fault.rule.mode === 'hold') {
        await new Promise<void>((release) => this.holding.push({ op, key: keys.join(','), release }));
      } else failure = fault.rule;
    }
    // A call that waited may find the store crashed meanwhile: it never reaches the store.
    if (this.crashed) throw new ObjectStoreError('Fatal', `injected: store crashed (${what})`);
    switch (failure?.mode) {
      case undefined:
      case 'latency':
      case 'hold':
        return apply();
      case 'fail':
        throw new ObjectStoreError('Transient', `injected: 503 before applying (${what})`);
      case 'conflict':
        throw new ObjectStoreError('Transient', `injected: 409 ConditionalRequestConflict (${what})`);
      case 'fatal':
        throw new ObjectStoreError('Fatal', `injected: fatal error (${what})`);
      case 'crash':
        this.crashed = true;
        throw new ObjectStoreError('Fatal', `injected: store crashed (${what})`);
      case 'lost-response':
        await apply();
        throw new ObjectStoreError('Transient', `injected: response lost after applying (${what})`);
      case 'crash-after':
        await apply();
        this.crashed = true;
        throw new ObjectStoreError('Fatal', `injected: store crashed after applying (${what})`);
    }
  }
}
