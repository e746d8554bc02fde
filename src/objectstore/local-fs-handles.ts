/**
 * Open file handles of the local-disk store, kept for the next read of the same object: a catch-up
 * read fetches a segment in 1 MiB runs, and opening, `fstat`-ing, reading the header of and closing
 * the file for every run was 5-7% of its CPU (docs/benchmarks.md, "W8: where catch-up time goes").
 *
 * Bounded (least recently used handles are closed first). A handle is closed only once no read
 * uses it. Any put or delete of a key drops its handle, and a handle opened while some put or
 * delete was under way is used once and not kept, so a kept handle never shows an object that was
 * replaced or removed after it was opened. A handle idle for `idleMs` is closed (an unref'd timer):
 * a catch-up keeps its segment busy, and a store that is dropped without `close()` (an embedded
 * server stopped or reset) does not hold files open until garbage collection closes them.
 * `close()` closes every handle (the store shuts down).
 */
import type { FileHandle } from 'node:fs/promises';

export interface OpenObject {
  fh: FileHandle;
  headerLength: number;
  size: number;
  putId?: string;
}

interface Entry {
  object: OpenObject;
  users: number;
  /** performance.now() of the last lease or release. */
  usedAt: number;
  /** Evicted: close when the last user releases it. */
  dropped: boolean;
}

/** A borrowed object: `release` exactly once when the read is done. */
export interface Lease {
  object: OpenObject;
  release(): Promise<void>;
}

export class OpenHandles {
  private readonly entries = new Map<string, Entry>();
  /** Bumped by every put and delete: an open that saw it change does not keep its handle. */
  private generation = 0;
  private changing = 0;
  private closed = false;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly max: number,
    private readonly idleMs = 5_000,
  ) {}

  /** Borrows the kept handle of `key`, or opens one with `open` (null: no such object). */
  async lease(key: string, open: () => Promise<OpenObject | null>): Promise<Lease | null> {
    const kept = this.entries.get(key);
    if (kept) {
      this.entries.delete(key);
      this.entries.set(key, kept);
      kept.users++;
      kept.usedAt = performance.now();
      return { object: kept.object, release: () => this.release(kept) };
    }
    const generation = this.generation;
    const object = await open();
    if (!object) return null;
    const keep =
      !this.closed && this.max > 0 && this.changing === 0 && generation === this.generation && !this.entries.has(key);
    if (!keep) return { object, release: () => object.fh.close() };
    const entry: Entry = { object, users: 1, usedAt: performance.now(), dropped: false };
    this.entries.set(key, entry);
    this.sweepLater();
    const closing: Promise<void>[] = [];
    for (const [oldest, old] of this.entries) {
      if (this.entries.size <= this.max) break;
      this.entries.delete(oldest);
      closing.push(this.drop(old));
    }
    await Promise.all(closing);
    return { object, release: () => this.release(entry) };
  }

  /** Runs a put or delete of `keys`: their handles go before and after it, and no open started meanwhile is kept. */
  async changingKeys<T>(keys: readonly string[], change: () => Promise<T>): Promise<T> {
    this.changing++;
    this.generation++;
    try {
      await this.forget(keys);
      return await change();
    } finally {
      this.generation++;
      this.changing--;
      await this.forget(keys);
    }
  }

  /** Closes every kept handle; handles in use close when released. Later opens are not kept. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.sweeper);
    this.sweeper = undefined;
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((entry) => this.drop(entry)));
  }

  /** Handles kept open (tests). */
  get size(): number {
    return this.entries.size;
  }

  private async forget(keys: readonly string[]): Promise<void> {
    const dropping: Promise<void>[] = [];
    for (const key of keys) {
      const entry = this.entries.get(key);
      if (!entry) continue;
      this.entries.delete(key);
      dropping.push(this.drop(entry));
    }
    await Promise.all(dropping);
  }

  private async drop(entry: Entry): Promise<void> {
    entry.dropped = true;
    if (entry.users === 0) await entry.object.fh.close().catch(() => undefined);
  }

  private sweepLater(): void {
    if (this.sweeper || this.closed) return;
    this.sweeper = setTimeout(() => {
      this.sweeper = undefined;
      const now = performance.now();
      for (const [key, entry] of this.entries) {
        if (entry.users > 0 || now - entry.usedAt < this.idleMs) continue;
        this.entries.delete(key);
        void this.drop(entry);
      }
      if (this.entries.size > 0) this.sweepLater();
    }, this.idleMs);
    this.sweeper.unref();
  }

  private async release(entry: Entry): Promise<void> {
    entry.users--;
    entry.usedAt = performance.now();
    if (entry.dropped && entry.users === 0) await entry.object.fh.close().catch(() => undefined);
  }
}
