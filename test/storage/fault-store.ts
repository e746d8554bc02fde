/**
 * A fault-injecting ObjectStore wrapper for storage tests (the lead will switch these tests to the
 * shared FaultyObjectStore later). It can fail chosen operations before or after they take
 * effect (the latter is a lost response), hold puts until a test releases them, and "crash":
 * from then on nothing reaches the inner store, as if the process had died.
 */
import {
  ObjectStoreError,
  type ByteRange,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
} from '../../src/objectstore/types.js';

export type Op = 'put' | 'get' | 'head' | 'list' | 'delete';

export interface FaultRule {
  op: Op;
  /** Which keys (or list prefixes); default all. */
  match?: (key: string) => boolean;
  /** How many matching calls to fail; default 1. */
  times?: number;
  /**
   * before: fail without effect; after: take effect, then fail (lost response);
   * fatal: fail without effect with a Fatal error (e.g. missing bucket).
   */
  kind: 'before' | 'after' | 'fatal';
}

interface Held {
  key: string;
  release: () => void;
}

export class FaultStore implements ObjectStore {
  private rules: (FaultRule & { left: number })[] = [];
  private holds: { op: Op; match: (key: string) => boolean }[] = [];
  readonly held: Held[] = [];
  readonly calls: { op: Op; key: string }[] = [];
  private crashed = false;

  constructor(readonly inner: ObjectStore) {}

  inject(rule: FaultRule): void {
    this.rules.push({ ...rule, left: rule.times ?? 1 });
  }

  clearFaults(): void {
    this.rules = [];
  }

  /** Matching puts wait until released (see `held`). Returns a function that stops holding. */
  holdPuts(match: (key: string) => boolean = () => true): () => void {
    return this.hold('put', match);
  }

  /** Matching calls of `op` wait until released (see `held`). Returns a function that stops holding. */
  hold(op: Op, match: (key: string) => boolean = () => true): () => void {
    const hold = { op, match };
    this.holds.push(hold);
    return () => {
      this.holds = this.holds.filter((h) => h !== hold);
    };
  }

  /** Releases held puts (all, or those matching) in the order given. */
  release(match: (key: string) => boolean = () => true): number {
    const chosen = this.held.filter((h) => match(h.key));
    for (const h of chosen) {
      this.held.splice(this.held.indexOf(h), 1);
      h.release();
    }
    return chosen.length;
  }

  /** From now on every call fails and nothing reaches the inner store. */
  crash(): void {
    this.crashed = true;
    this.release();
  }

  private rule(op: Op, key: string): FaultRule | undefined {
    const rule = this.rules.find((r) => r.op === op && r.left > 0 && (!r.match || r.match(key)));
    if (rule) rule.left--;
    return rule;
  }

  private async run<T>(op: Op, key: string, fn: () => Promise<T>): Promise<T> {
    if (this.holds.some((h) => h.op === op && h.match(key))) {
      await new Promise<void>((resolve) => this.held.push({ key, release: resolve }));
    }
    this.calls.push({ op, key });
    if (this.crashed) throw new ObjectStoreError('Transient', `${op} ${key}: store unreachable (crashed)`);
    const rule = this.rule(op, key);
    if (rule?.kind === 'fatal') throw new ObjectStoreError('Fatal', `${op} ${key}: injected fatal error`);
    if (rule?.kind === 'before') throw new ObjectStoreError('Transient', `${op} ${key}: injected error`);
    const result = await fn();
    if (rule?.kind === 'after') throw new ObjectStoreError('Transient', `${op} ${key}: injected lost response`);
    return result;
  }

  put(key: string, body: Uint8Array, options?: PutOptions): Promise<void> {
    return this.run('put', key, () => this.inner.put(key, body, options));
  }

  get(key: string, range?: ByteRange): Promise<Uint8Array> {
    return this.run('get', key, () => this.inner.get(key, range));
  }

  head(key: string): Promise<ObjectInfo | null> {
    return this.run('head', key, () => this.inner.head(key));
  }

  list(prefix: string, options?: { startAfter?: string; limit?: number }): Promise<ObjectInfo[]> {
    return this.run('list', prefix, () => this.inner.list(prefix, options));
  }

  delete(keys: string[]): Promise<void> {
    return this.run('delete', keys.join(','), () => this.inner.delete(keys));
  }

  describe(): string {
    return `faulty(${this.inner.describe()})`;
  }
}
