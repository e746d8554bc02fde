/**
 * Response buffers reused from one catch-up message to the next. A catch-up read assembles each
 * message (an S2S frame or a unary protobuf page, up to ~1 MiB) in a buffer of its own; a fresh
 * 1 MiB buffer is fresh memory, and its first touch (page faults) plus the GC of external memory
 * behind it cost as much again as copying the records into it (W8 S2S profile: the copy into fresh
 * buffers 0.8 ms per MiB, into a reused one 0.2-0.3; docs/benchmarks.md, "W8 catch-up: reused
 * response buffers").
 *
 * A buffer goes back only once the transport is done with it: S2S sessions give it back from the
 * write's callback (HTTP/1.1: the bytes reached the kernel; HTTP/2: nghttp2 sent or copied them),
 * unary HTTP/1.1 pages on the response's 'finish'. A buffer whose callback never comes (a
 * connection torn down) is left to the GC. Live S2S frames, which may be shared between
 * followers, come from a pool of their own, given back once the last follower wrote them.
 */
import { liveFrameBufferBytes, liveFrameBuffersKept, outBufferBytes, outBuffersKept } from '../../limits.js';

export type TakeBuffer = (size: number) => Buffer;

const KiB = 1024;

export class OutBuffers {
  /** Idle buffers, of `granuleBytes` multiples up to `bufferBytes`. */
  private readonly free: ArrayBuffer[] = [];
  /** Buffers handed out and not given back yet: only these may be given back (once). */
  private readonly lent = new WeakSet<ArrayBuffer>();

  constructor(
    /** The largest buffer kept; a larger message gets memory of its own. */
    private readonly bufferBytes: number,
    private readonly keep: number,
    /**
     * Smaller messages are not pooled: Node's own 8 KiB pool or a small allocation costs little,
     * and a pooled buffer would hold far more memory than they use.
     */
    private readonly pooledBytesMin = 64 * KiB,
    /**
     * New buffers are rounded up to this, so the next message of about the same size (catch-up
     * batches are ~1 MiB, never exactly) fits the buffer again; not the full `bufferBytes`, so
     * that many sessions at once (each holding one or two buffers) hold little more than before.
     */
    private readonly granuleBytes = 256 * KiB,
  ) {}

  /** `size` bytes (uninitialised): a view of a kept buffer or of a new one, or fresh memory. */
  readonly take: TakeBuffer = (size) => {
    if (size < this.pooledBytesMin || size > this.bufferBytes) return Buffer.allocUnsafe(size);
    let memory: ArrayBuffer | undefined;
    const free = this.free;
    for (let i = free.length - 1; i >= 0; i--) {
      if (free[i]!.byteLength >= size) {
        memory = free[i]!;
        free.splice(i, 1);
        break;
      }
    }
    memory ??= newMemory(Math.min(this.bufferBytes, Math.ceil(size / this.granuleBytes) * this.granuleBytes));
    this.lent.add(memory);
    return Buffer.from(memory, 0, size);
  };

  /** Takes back a buffer from `take` that nothing refers to any more; anything else is ignored. */
  give(buffer: Uint8Array): void {
    const memory = buffer.buffer;
    if (!(memory instanceof ArrayBuffer) || !this.lent.has(memory)) return;
    this.lent.delete(memory);
    if (this.free.length < this.keep) this.free.push(memory);
  }

  /** Buffers kept for reuse (tests). */
  get kept(): number {
    return this.free.length;
  }
}

/** Uninitialised memory of its own (`new ArrayBuffer` would zero it; every byte is written anyway). */
function newMemory(bytes: number): ArrayBuffer {
  const buffer = Buffer.allocUnsafeSlow(bytes);
  if (buffer.byteOffset !== 0 || buffer.buffer.byteLength !== bytes) return new ArrayBuffer(bytes);
  return buffer.buffer as ArrayBuffer;
}

/** The process's pool for catch-up messages (S2S frames fit one buffer: api.md 9.1). */
export const catchUpBuffers = new OutBuffers(outBufferBytes, outBuffersKept);

/**
 * The process's pool for live S2S frames (api/sessions/s2s-read.ts gives one back once every
 * follower it was handed to has written it). A fresh frame per group commit was a third of the
 * external memory W1 allocates, and external memory allocated since the last full GC counts
 * against V8's old-generation limit: it is what started W1's full GCs, about two a second
 * (docs/benchmarks.md, "W1: what starts the full GCs"). Frames below Node's pooled size (4 KiB)
 * cost little and stay fresh; granules of 16 KiB fit a few 8 KiB records.
 */
export const liveFrameBuffers = new OutBuffers(liveFrameBufferBytes, liveFrameBuffersKept, 4 * KiB, 16 * KiB);

