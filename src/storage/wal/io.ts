/**
 * Where the log's syscalls run. The log hands over batches of positioned writes; an implementation
 * writes each batch and then makes it durable with one fdatasync per file touched, covering every
 * batch it received since its previous sync (group commit), and reports completions strictly in
 * submission order.
 *
 * The log uses `ThreadIo` (io-thread.ts): a writer thread doing synchronous syscalls, so an
 * fdatasync never blocks the event loop and a commit costs one pwritev and one fdatasync plus a
 * wake-up each way. test/storage/wal-bench.ts measures it against the alternatives (synchronous
 * calls on the event loop, libuv's thread pool), which implement this interface there.
 */

export interface WalWrite {
  fd: number;
  position: number;
  /** A view into the log's ring buffer. */
  data: Uint8Array;
}

export interface WalIoFailure {
  /** System error code (ENOSPC, EIO, ...) if any. */
  errno?: string;
  step: 'write' | 'fdatasync' | 'thread';
  fd: number;
  message: string;
}

export interface WalIoCallbacks {
  /**
   * Every write submitted so far, up to the `writes`-th in total (counting from 1 across the
   * life of the io), is durable. `syncs` fdatasyncs ran since the previous call, taking
   * `syncSeconds` in total.
   */
  durable(writes: number, syncs: number, syncSeconds: number): void;
  /** A write or sync failed: nothing submitted after the last `durable` count is known durable. */
  failed(failure: WalIoFailure): void;
}

export interface WalIo {
  /** How many more writes `submit` accepts before earlier ones complete. */
  freeSlots(): number;
  /** Queues writes (at most `freeSlots()`); they become durable together or later. */
  submit(writes: WalWrite[]): void;
  /** The log is busy (keep the process alive) or idle. */
  setBusy(busy: boolean): void;
  /** Stops after everything submitted completed. */
  close(): Promise<void>;
}

/** Builds the io for a log whose frames are staged in `ring`. */
export type WalIoFactory = (ring: Uint8Array, callbacks: WalIoCallbacks) => WalIo;
