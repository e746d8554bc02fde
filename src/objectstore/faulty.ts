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
 * Rules match by operation and key prefix (list: the listed prefix; delete: any of the keys), can let
 * the first `skip` matches pass, fire at most `times` times, and fire with a seeded `probability`.
 */
import { systemClock, type Clock } from '../util/clock.js';
import type { Rand } from '../util/rand.js';
import {
  ObjectStoreError,
  type ByteRange,
  type ObjectInfo,
  type ObjectStore,
  type ObjectStoreOp,
  type PutOptions,
} from './types.js';

export type FaultMode = 'fail' | 'lost-response' | 'conflict' | 'latency' | 'fatal' | 'crash' | 'crash-after';

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
   * The rules that fire for this call, in the order they were added: any latency rules, then at most one
   * failing rule. Updates the counters.
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
      if (rule.mode !== 'latency') break; // one failure per call; later rules are not consumed
    }
    return firing;
  }
}

export class FaultyObjectStore implements ObjectStore {
  readonly faults = new FaultSet();
  private crashed = false;
  private readonly rand: Rand;
  private readonly clock: Clock;

  constructor(
    private readonly inner: ObjectStore,
    options: { rand: Rand; clock?: Clock },
  ) {
    this.rand = options.rand;
    this.clock = options.clock ?? systemClock;
  }

  /** From now on every call fails Fatal, as if the process lost its storage. */
  crash(): void {
    this.crashed = true;
  }

  /** Leaves crashed mode and removes all rules. */
  heal(): void {
    this.crashed = false;
    this.faults.clear();
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

  async close(): Promise<void> {
    await this.inner.close?.();
  }

  private async call<T>(op: ObjectStoreOp, keys: string[], apply: () => Promise<T>): Promise<T> {
    const what = `${op} ${keys.length === 1 ? keys[0] : `${keys.length} keys`}`;
    if (this.crashed) throw new ObjectStoreError('Fatal', `injected: store crashed (${what})`);
    let failure: { mode: FaultMode } | undefined;
    for (const fault of this.faults.select(op, keys, this.rand)) {
      if (fault.rule.mode === 'latency') await this.clock.sleep(fault.rule.latencyMs!);
      else failure = fault.rule;
    }
    switch (failure?.mode) {
      case undefined:
      case 'latency':
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
