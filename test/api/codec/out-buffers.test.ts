/**
 * The catch-up response buffer pool hands out views of kept buffers, takes back only what it lent
 * (once), keeps at most its bound, and gives fresh memory for anything larger than one buffer.
 */
import { describe, expect, it } from 'vitest';
import { OutBuffers } from '../../../src/api/codec/out-buffers.js';

describe('OutBuffers', () => {
  it('reuses a given-back buffer for the next take', () => {
    const pool = new OutBuffers(1024, 2);
    const a = pool.take(100);
    expect(a.length).toBe(100);
    pool.give(a);
    expect(pool.kept).toBe(1);
    const b = pool.take(1024);
    expect(b.length).toBe(1024);
    expect(b.buffer).toBe(a.buffer);
    expect(pool.kept).toBe(0);
  });

  it('never hands out the same memory twice while it is lent', () => {
    const pool = new OutBuffers(64, 4);
    const a = pool.take(10);
    const b = pool.take(10);
    expect(b.buffer).not.toBe(a.buffer);
    pool.give(a);
    pool.give(a); // a second give of the same buffer is ignored
    expect(pool.kept).toBe(1);
    const c = pool.take(10);
    const d = pool.take(10);
    expect(c.buffer).toBe(a.buffer);
    expect(d.buffer).not.toBe(a.buffer);
  });

  it('ignores buffers it did not lend, and gives fresh memory for sizes above one buffer', () => {
    const pool = new OutBuffers(64, 4);
    pool.give(Buffer.alloc(64));
    pool.give(new Uint8Array(64));
    expect(pool.kept).toBe(0);
    const big = pool.take(65);
    expect(big.length).toBe(65);
    pool.give(big);
    expect(pool.kept).toBe(0);
  });

  it('keeps at most its bound', () => {
    const pool = new OutBuffers(64, 2);
    const lent = [pool.take(1), pool.take(1), pool.take(1)];
    for (const b of lent) pool.give(b);
    expect(pool.kept).toBe(2);
  });
});
