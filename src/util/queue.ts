/**
 * A FIFO array queue with O(1) amortized removal at the front (Array#shift is O(n)), used on
 * the append hot path: commits waiting for durability, and replies waiting for the durable tail.
 */
export class Queue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  peek(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  /** The most recently pushed item still queued. */
  last(): T | undefined {
    return this.head < this.items.length ? this.items[this.items.length - 1] : undefined;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** Inserts before the first item (from the back) whose key is not greater: stable for equal keys. */
  insertSorted(item: T, key: (item: T) => number): void {
    const k = key(item);
    let i = this.items.length;
    while (i > this.head && key(this.items[i - 1] as T) > k) i--;
    if (i === this.items.length) this.items.push(item);
    else this.items.splice(i, 0, item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head += 1;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Removes and returns every item. */
  clear(): T[] {
    const all = this.items.slice(this.head) as T[];
    this.items = [];
    this.head = 0;
    return all;
  }
}
