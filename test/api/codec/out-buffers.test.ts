/**
 * The catch-up response buffer pool hands out views of kept buffers, takes back only what it lent
 * (once), keeps at most its bound, reuses a kept buffer only for a message that fits it, and gives
 * plain memory to messages below its minimum or above one buffer.
 */
import { describe, expect, it } from 'vitest';
import { OutBuffers } from '../../../src/api/codec/out-buffers.js';

/** Buffers of up to 1024 bytes, 2 kept, messages of 16 bytes or more pooled, in 256-byte granules. */
const pool = () => new OutBuffers(1024, 2, 16, 256);

describe('OutBuffers', () => {
  it('reuses a given-back buffer for the next message that fits it', () => {
    const p = pool();
    const a = p.take(100);
    expect(a.length).toBe(100);
    expect(a.buffer.byteLength).toBe(256); // rounded up to the granule
    p.give(a);
    expect(p.kept).toBe(1);
    const b = p.take(200);
    expect(b.length).toBe(200);
    expect(b.buffer).toBe(a.buffer);
    expect(p.kept).toBe(0);
  });

  it('does not hand a kept buffer to a message larger than it', () => {
    const p = pool();
    const small = p.take(100);
    p.give(small);
    const large = p.take(700);
    expect(large.buffer).not.toBe(small.buffer);
    expect(large.buffer.byteLength).toBe(768);
    expect(p.kept).toBe(1);
    p.give(large);
    expect(p.take(300).buffer).toBe(large.buffer); // the one that fits
  });

  it('never hands out the same memory twice while it is lent', () => {
    const p = pool();
    const a = p.take(20);
    const b = p.take(20);
    expect(b.buffer).not.toBe(a.buffer);
    p.give(a);
    p.give(a); // a second give of the same buffer is ignored
    expect(p.kept).toBe(1);
    const c = p.take(20);
    const d = p.take(20);
    expect(c.buffer).toBe(a.buffer);
    expect(d.buffer).not.toBe(a.buffer);
  });

  it('ignores buffers it did not lend; small and oversized messages get plain memory', () => {
    const p = pool();
    p.give(Buffer.alloc(256));
    p.give(new Uint8Array(256));
    expect(p.kept).toBe(0);
    for (const size of [0, 15, 1025]) {
      const plain = p.take(size);
      expect(plain.length).toBe(size);
      p.give(plain);
      expect(p.kept).toBe(0);
    }
  });

  it('keeps at most its bound', () => {
    const p = pool();
    const lent = [p.take(16), p.take(16), p.take(16)];
    for (const b of lent) p.give(b);
    expect(p.kept).toBe(2);
  });
});
