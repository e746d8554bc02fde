/**
 * A probe for the response buffer pools (api/codec/out-buffers.ts: catch-up messages, live S2S
 * frames) in tests of the real server in this process: every buffer is overwritten with 0xEE the moment the server gives it back, as if
 * another response had taken and filled it at once. A transport that still reads a buffer after
 * its write callback (or 'finish') then sends poison, and the byte-exact readers fail; a buffer
 * handed out while still lent, or given back twice, is recorded as a violation.
 */
import {
  catchUpBuffers,
  liveFrameBuffers,
  type OutBuffers,
  type TakeBuffer,
} from '../../../src/api/codec/out-buffers.js';

export const poisonByte = 0xee;

export interface PoolProbe {
  /** Misuses seen (empty when the pool was used correctly). */
  violations: string[];
  /** Pooled buffers handed out and not given back yet. */
  outstanding(): number;
  /** Pooled buffers handed out so far. */
  taken(): number;
  /** Pooled buffers given back (and poisoned) so far. */
  given(): number;
}

export function poisonCatchUpBuffers(): PoolProbe {
  return poisonPool(catchUpBuffers);
}

/** Live frames are shared by followers: one given back before the last follower wrote it is poison. */
export function poisonLiveFrameBuffers(): PoolProbe {
  return poisonPool(liveFrameBuffers);
}

function poisonPool(pool: OutBuffers): PoolProbe {
  const lent = new Set<ArrayBuffer>();
  const everLent = new WeakSet<ArrayBuffer>();
  const violations: string[] = [];
  let taken = 0;
  let given = 0;
  // The pool's own record of what it lent (private; read here so the probe tracks exactly the
  // memory the pool will take back, whatever its sizing rules).
  const poolLent = (pool as unknown as { lent: WeakSet<ArrayBuffer> }).lent;
  const take = pool.take;
  const give = pool.give.bind(pool);
  const poisonedTake: TakeBuffer = (size) => {
    const buffer = take(size);
    const memory = buffer.buffer as ArrayBuffer;
    // Messages the pool does not serve get memory of their own; only pooled memory is tracked.
    if (poolLent.has(memory)) {
      if (lent.has(memory)) violations.push(`a buffer was handed out while lent (${size} bytes)`);
      lent.add(memory);
      everLent.add(memory);
      taken++;
    }
    return buffer;
  };
  (pool as { take: TakeBuffer }).take = poisonedTake;
  pool.give = (buffer: Uint8Array) => {
    const memory = buffer.buffer as ArrayBuffer;
    if (lent.has(memory)) {
      lent.delete(memory);
      given++;
      new Uint8Array(memory).fill(poisonByte);
    } else if (everLent.has(memory)) {
      violations.push('a buffer was given back twice');
    }
    give(buffer);
  };
  return { violations, outstanding: () => lent.size, taken: () => taken, given: () => given };
}
