/**
 * Incremental S2S frame decoder (api.md 9.1) for request bodies that arrive in arbitrary chunks (HTTP/1.1 chunked,
 * HTTP/2 DATA frames): any split, down to single bytes, yields the same frames.
 *
 * Pull model: `push(chunk)` queues the chunk and returns an iterator over the frames that are now complete. Frames
 * come out in order and a malformed frame throws only when it is reached, so the session can first process (and ack)
 * every valid input before it, as api.md 7.4 requires. An abandoned iteration loses nothing: the next `push` (or
 * `next()`) continues where it stopped.
 *
 * Memory: a frame that lies inside one chunk is returned as a view of that chunk (no copy); one that spans chunks is
 * assembled into a buffer of exactly its length, allocated once its 3 length bytes are known. A length of 0 or above
 * `s2sFrameBytesMax` fails as soon as those 3 bytes arrive, without waiting for the payload. Once drained, the reader
 * holds at most one incomplete frame. Chunks must not be modified after being pushed.
 */
import { errors } from '../../domain/errors.js';
import { s2sFrameBytesMax } from '../../limits.js';
import { AssertionError } from '../../util/assert.js';
import { decodeFrameAt, decodeFrameBody, frameHeaderBytes, type Frame } from './frame.js';

/** Below this, a byte loop beats `TypedArray#set` (whose call overhead dominates tiny copies). */
const smallChunkBytes = 16;

/** An exhausted iterator, shared: returned when a chunk cannot complete a frame. */
const noFrames: IterableIterator<Frame> = ([] as Frame[]).values();

export class FrameReader {
  private readonly queue: Uint8Array[] = [];
  /** Read offset into `queue[0]`. */
  private headOffset = 0;
  /** Unread bytes across `queue`. */
  private queued = 0;
  /** The frame being assembled across chunks (flag + payload), once its length is known. */
  private partial: Uint8Array | null = null;
  private partialFill = 0;
  private failure: Error | null = null;

  /** Queues `chunk` and returns the frames it completes (lazily; see the module comment). */
  push(chunk: Uint8Array): IterableIterator<Frame> {
    return this.add(chunk) ? this.frames() : noFrames;
  }

  /**
   * Queues `chunk` without building an iterator (sessions then call `next()` until undefined; a
   * generator per chunk was garbage on the append-session path). False if it completes no frame.
   */
  add(chunk: Uint8Array): boolean {
    if (this.failure) throw this.failure;
    const partial = this.partial;
    if (partial !== null && this.queued === 0 && this.partialFill + chunk.length < partial.length) {
      // Fast path for small chunks in the middle of a frame: copy straight into it; nothing completes.
      if (chunk.length <= smallChunkBytes) {
        let fill = this.partialFill;
        for (let i = 0; i < chunk.length; i++) partial[fill++] = chunk[i];
        this.partialFill = fill;
      } else {
        partial.set(chunk, this.partialFill);
        this.partialFill += chunk.length;
      }
      return false;
    }
    if (chunk.length > 0) {
      this.queue.push(chunk);
      this.queued += chunk.length;
    }
    return true;
  }

  *frames(): IterableIterator<Frame> {
    for (let frame = this.next(); frame !== undefined; frame = this.next()) yield frame;
  }

  /** The next complete frame, or `undefined` if more bytes are needed. Throws `bad_frame` (and stays failed). */
  next(): Frame | undefined {
    if (this.failure) throw this.failure;
    try {
      return this.nextFrame();
    } catch (e) {
      this.failure = e as Error;
      throw e;
    }
  }

  /** Bytes held for a frame that is not complete yet. */
  get pendingBytes(): number {
    return this.queued + (this.partial ? frameHeaderBytes + this.partialFill : 0);
  }

  /**
   * Call when the body ends: throws `bad_frame` if it stopped inside a frame (a truncated stream). Frames still
   * queued must have been drained first.
   */
  end(): void {
    if (this.failure) throw this.failure;
    if (this.pendingBytes > 0) {
      this.failure = errors.badFrame(`stream ended inside a frame (${this.pendingBytes} bytes of an incomplete frame)`);
      throw this.failure;
    }
  }

  private nextFrame(): Frame | undefined {
    if (this.partial === null) {
      if (this.queued < frameHeaderBytes) return undefined;
      const length = (this.peekByte(0) << 16) | (this.peekByte(1) << 8) | this.peekByte(2);
      if (length === 0) throw errors.badFrame('empty frame payload');
      if (length > s2sFrameBytesMax) {
        throw errors.badFrame(`frame length ${length} exceeds the maximum of ${s2sFrameBytesMax} bytes`);
      }
      const head = this.queue[0];
      const start = this.headOffset + frameHeaderBytes;
      if (head.length - start >= length) {
        // Whole frame inside the current chunk: decode a view of it.
        this.consume(frameHeaderBytes + length);
        return decodeFrameAt(head, start, length);
      }
      this.consume(frameHeaderBytes);
      this.partial = Buffer.allocUnsafe(length);
      this.partialFill = 0;
    }
    const partial = this.partial;
    while (this.partialFill < partial.length && this.queued > 0) {
      const head = this.queue[0];
      const n = Math.min(partial.length - this.partialFill, head.length - this.headOffset);
      partial.set(head.subarray(this.headOffset, this.headOffset + n), this.partialFill);
      this.partialFill += n;
      this.consume(n);
    }
    if (this.partialFill < partial.length) return undefined;
    this.partial = null;
    return decodeFrameBody(partial);
  }

  private peekByte(index: number): number {
    let offset = this.headOffset + index;
    for (const chunk of this.queue) {
      if (offset < chunk.length) return chunk[offset];
      offset -= chunk.length;
    }
    throw new AssertionError('peek past the queued bytes'); // callers check `queued` first
  }

  /** Drops `n` queued bytes (never more than are queued). */
  private consume(n: number): void {
    this.queued -= n;
    while (n > 0) {
      const available = this.queue[0].length - this.headOffset;
      if (n < available) {
        this.headOffset += n;
        return;
      }
      n -= available;
      this.queue.shift();
      this.headOffset = 0;
    }
  }
}
