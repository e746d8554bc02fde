/**
 * A probe for pooled block memory (storage/block-pool.ts) in tests: every buffer is overwritten
 * with 0xEE the moment it goes back to a pool, as if another read had taken and filled it at once.
 * A reader that still looks at a block after its memory went back (an early release, a lease not
 * pinned, a retire that ignores pins) then sees poison, and byte-exact checks fail.
 */
import { BlockPool } from '../../src/storage/block-pool.js';

export const blockPoisonByte = 0xee;

export interface BlockPoolProbe {
  /** Buffers given back (and poisoned) so far. */
  given(): number;
  /** Buffers handed out again after being given back. */
  reused(): number;
}

export function poisonBlockPools(): BlockPoolProbe {
  let given = 0;
  let reused = 0;
  const poisoned = new WeakSet<ArrayBuffer>();
  const give = BlockPool.prototype.give;
  const take = BlockPool.prototype.take;
  BlockPool.prototype.give = function (this: BlockPool, buffer: ArrayBuffer): void {
    if (this.owns(new Uint8Array(buffer))) {
      given++;
      new Uint8Array(buffer).fill(blockPoisonByte);
      poisoned.add(buffer);
    }
    give.call(this, buffer);
  };
  BlockPool.prototype.take = function (this: BlockPool, n: number): Uint8Array {
    const bytes = take.call(this, n);
    if (poisoned.has(bytes.buffer as ArrayBuffer)) reused++;
    poisoned.delete(bytes.buffer as ArrayBuffer);
    return bytes;
  };
  return { given: () => given, reused: () => reused };
}
