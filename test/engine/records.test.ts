/**
 * Append input validation (api.md 6.2-6.5) and the admission semaphore.
 */
import { describe, expect, it } from 'vitest';
import { assignTimestamps, validateAppendInput } from '../../src/engine/records.js';
import { Semaphore } from '../../src/engine/semaphore.js';
import type { AppendRecord, Header } from '../../src/domain/types.js';
import { fence, rec, trim } from './support.js';

const enc = new TextEncoder();
const h = (name: string, value: string): Header => [enc.encode(name), enc.encode(value)];

function invalid(records: AppendRecord[], extra: object = {}): string {
  try {
    validateAppendInput({ records, ...extra });
  } catch (error) {
    expect(error).toMatchObject({ code: 'invalid' });
    return (error as Error).message;
  }
  throw new Error('expected a 422');
}

describe('validateAppendInput', () => {
  it('enforces 1..1000 records and the metered size limits', () => {
    expect(invalid([])).toBe('record batch must not be empty');
    expect(invalid(Array.from({ length: 1001 }, () => rec('')))).toBe('record batch must not exceed 1000 records');
    expect(validateAppendInput({ records: Array.from({ length: 1000 }, () => rec('')) }).meteredBytes).toBe(8000);
    const oneMiB = 1024 * 1024;
    expect(validateAppendInput({ records: [rec('x'.repeat(oneMiB - 8))] }).meteredBytes).toBe(oneMiB);
    expect(invalid([rec('x'.repeat(oneMiB - 7))])).toBe('record must have metered size less than 1 MiB');
    expect(invalid([rec('x'.repeat(oneMiB / 2)), rec('x'.repeat(oneMiB / 2))])).toBe(
      'record batch must not exceed a metered size of 1 MiB',
    );
    expect(invalid([rec('a')], { fencingToken: 'x'.repeat(37) })).toMatch(/fencing token/);
  });

  it('meters 8 + 2H + header bytes + body (api.md 6.4)', () => {
    expect(validateAppendInput({ records: [rec('hello')] }).meteredBytes).toBe(13);
    expect(validateAppendInput({ records: [{ headers: [h('k', 'v')], body: enc.encode('hi') }] }).meteredBytes).toBe(
      14,
    );
    expect(validateAppendInput({ records: [fence('abc')] }).meteredBytes).toBe(18);
    expect(validateAppendInput({ records: [trim(5n)] }).meteredBytes).toBe(22);
  });

  it('applies the header and command rules', () => {
    expect(invalid([{ headers: [h('', 'nope')], body: new Uint8Array() }])).toBe('unknown command');
    expect(invalid([{ headers: [h('', 'fence'), h('a', 'b')], body: new Uint8Array() }])).toBe(
      'invalid header: empty name',
    );
    expect(invalid([{ headers: [h('a', 'b'), h('', 'x')], body: new Uint8Array() }])).toBe(
      'invalid header: empty name',
    );
    expect(invalid([fence('x'.repeat(37))])).toMatch(
      /^invalid `fence` command: fencing token must not exceed 36 bytes/,
    );
    expect(invalid([{ headers: [h('', 'fence')], body: new Uint8Array([0xff, 0xfe]) }])).toBe(
      'invalid `fence` command: invalid UTF-8',
    );
    expect(invalid([{ headers: [h('', 'trim')], body: new Uint8Array(7) }])).toBe(
      'invalid `trim` command: earliest sequence number to trim to was 7 bytes, must be 8',
    );
    const v = validateAppendInput({ records: [rec('a'), fence('t'), trim(0xffff_ffff_ffff_ffffn), rec('')] });
    expect(v.commands).toEqual([
      undefined,
      { kind: 'fence', token: 't' },
      { kind: 'trim', trimPoint: Number.MAX_SAFE_INTEGER },
      undefined,
    ]);
    // A header named "fence" with a non-empty name is just an envelope header.
    expect(
      validateAppendInput({ records: [{ headers: [h('fence', '')], body: new Uint8Array() }] }).commands,
    ).toBeNull();
  });
});

describe('assignTimestamps', () => {
  const capped = { mode: 'client-prefer' as const, uncapped: false };
  it('caps before clamping, so a clamp may exceed now after an uncapped predecessor', () => {
    const out = assignTimestamps([rec('a', 900n), rec('b', 5000n)], { seqNum: 42, timestamp: 3000n }, capped, 2000);
    expect(out.map((r) => [r.seqNum, r.timestamp])).toEqual([
      [42, 3000n],
      [43, 3000n],
    ]);
  });
});

describe('Semaphore', () => {
  it('grants in FIFO order: a queued large request is not overtaken by small ones', async () => {
    const s = new Semaphore(10);
    expect(s.acquire(8)).toBeUndefined();
    const order: string[] = [];
    void s.acquire(5)!.then(() => order.push('big'));
    void s.acquire(1)!.then(() => order.push('small')); // would fit, but waits its turn
    await Promise.resolve();
    expect(order).toEqual([]);
    s.release(8);
    await Promise.resolve();
    await Promise.resolve();
    expect(order).toEqual(['big', 'small']);
    expect(s.free).toBe(4);
  });

  it('clamps oversize requests to the capacity and drops aborted waiters', async () => {
    const s = new Semaphore(4);
    expect(s.acquire(100)).toBeUndefined();
    const controller = new AbortController();
    const aborted = s.acquire(1, controller.signal)!;
    const next = s.acquire(2)!;
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'unavailable' });
    s.release(100);
    await next;
    expect(s.free).toBe(2);
    expect(s.queued).toBe(0);
  });
});
