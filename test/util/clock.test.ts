/**
 * ManualClock's `afterIo`: callbacks queue in order, run on the real event loop's next check phase
 * (so code under test keeps moving without a clock advance) or at once when a test asks, and each
 * runs exactly once.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock, yieldToIo } from '../../src/util/clock.js';

describe('ManualClock.afterIo', () => {
  it('runs queued callbacks in order, once, when asked', () => {
    const clock = new ManualClock();
    const ran: number[] = [];
    clock.afterIo(() => ran.push(1));
    clock.afterIo(() => {
      ran.push(2);
      clock.afterIo(() => ran.push(3)); // queued for the next round, like setImmediate inside one
    });
    expect(clock.pendingAfterIo()).toBe(2);
    expect(clock.runAfterIo()).toBe(2);
    expect(ran).toEqual([1, 2]);
    expect(clock.runAfterIo()).toBe(1);
    expect(ran).toEqual([1, 2, 3]);
    expect(clock.runAfterIo()).toBe(0);
  });

  it('runs them by itself after the current I/O, without time moving', async () => {
    const clock = new ManualClock();
    const ran: string[] = [];
    clock.afterIo(() => ran.push('after io'));
    await Promise.resolve();
    expect(ran).toEqual([]); // not a microtask
    await yieldToIo(clock);
    expect(ran).toEqual(['after io']);
    expect(clock.pendingAfterIo()).toBe(0);
    expect(clock.monotonicMs()).toBe(0);
  });
});
