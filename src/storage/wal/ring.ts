/**
 * The staging buffer between the event loop and the writer thread: frames are encoded straight
 * into a SharedArrayBuffer, and the thread writes them from there, so a commit's bytes are copied
 * once (into the ring) and never cloned into a message. Reused for the life of the log, so its
 * pages are faulted in once (fresh memory costs about 3.5 ms per MiB on this kind of VM; see
 * objectstore/fs-writer.ts), and by the writer thread while it is idle (io-thread.ts), not by the
 * event loop's first copy into each page.
 *
 * Space is reserved contiguously (a reservation that would straddle the end starts over at 0,
 * leaving the tail unused for that lap) and released strictly in reservation order, as syncs
 * complete. Positions are absolute byte counts; `offset` is the position modulo the size.
 */
import { assert } from '../../util/assert.js';

export interface Reservation {
  /** Where the bytes go in `bytes`. */
  offset: number;
  /** Absolute end of the reservation: pass it to `release` once the bytes are durable. */
  end: number;
}

export class Ring {
  readonly bytes: Uint8Array;
  private head = 0;
  private tail = 0;

  constructor(readonly size: number) {
    assert(Number.isInteger(size) && size > 0 && size % 8 === 0, 'ring size is a positive multiple of 8');
    this.bytes = new Uint8Array(new SharedArrayBuffer(size));
  }

  /** A contiguous region of `length` bytes, or null while too much is still unreleased. */
  reserve(length: number): Reservation | null {
    assert(length > 0 && length <= this.size, `reservation of ${length} bytes in a ring of ${this.size}`);
    let start = this.head;
    const offset = start % this.size;
    if (offset + length > this.size) start += this.size - offset;
    const end = start + length;
    if (end - this.tail > this.size) return null;
    this.head = end;
    return { offset: start % this.size, end };
  }

  /** Frees everything reserved up to the absolute position `end`. */
  release(end: number): void {
    assert(end >= this.tail && end <= this.head, 'ring released in order');
    this.tail = end;
  }

  get usedBytes(): number {
    return this.head - this.tail;
  }
}
