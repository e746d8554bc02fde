/**
 * Open file handles of the local-disk store, kept for the next read of the same object: a catch-up
 * read fetches a segment in 1 MiB runs, and opening, `fstat`-ing, reading the header of and closing
 * the file for every run was 5-7% of its CPU (docs/benchmarks.md, "W8: where catch-up time goes").
 *
 * Bounded (least recently used handles are closed first). A handle is closed only once no read
 * uses it. Any put or delete of a key drops its handle, and a handle opened while some put or
 * delete was under way is used once and not kept, so a kept handle never shows an object that was
 * replaced or removed after it was opened. `close()` closes every handle (the store shuts down).
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

  constructor(private readonly max: number) {}

  /** Borrows the kept handle of `key`, or opens one with `open` (null: no such object). */
  async lease(key: string, open: () => Promise<OpenObject | null>): Promise<Lease | null> {
    const kept = this.entries.get(key);
    if (kept) {
      this.entries.delete(key);
      this.entries.set(key, kept);
      kept.users++;
      return { object: kept.object, release: () => this.release(kept) };
    }
    const generation = this.generation;
    const object = await open();
    if (!object) return null;
    const keep =
      !this.closed && this.max > 0 && this.changing === 0 && generation === this.generation && !this.entries.has(key);
    if (!keep) return { object, release: () => object.fh.close() };
    const entry: Entry = { object, users: 1, dropped: false };
    this.entries.set(key, entry);
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

  private async release(entry: Entry): Promise<void> {
    entry.users--;
    if (entry.dropped && entry.users === 0) await entry.object.fh.close().catch(() => undefined);
  }
}
