/**
 * Proves the human units of the command line and spec files (src/util/units.ts): sizes in SI and
 * binary units, and humantime-style durations (`7d`, `1h 30m`, `1h30m`, `1M`), with malformed
 * input rejected.
 */
import { describe, expect, it } from 'vitest';
import { parseDurationMs, parseSize } from '../../src/util/units.js';

describe('parseSize', () => {
  it.each([
    ['4096', 4096],
    ['0', 0],
    ['1b', 1],
    ['64KiB', 64 * 1024],
    ['128MiB', 128 * 1024 * 1024],
    ['1GiB', 1024 ** 3],
    ['1KB', 1000],
    ['1k', 1000],
    ['2MB', 2_000_000],
    ['1gb', 1_000_000_000],
    [' 1.5 MiB ', 1.5 * 1024 * 1024],
  ])('reads %j as %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each(['', 'MiB', '-1', '1 TiB', '12 apples', '1.2.3MB', '0x10'])('rejects %j', (text) => {
    expect(() => parseSize(text)).toThrow(/invalid size/);
  });
});

describe('parseDurationMs', () => {
  it.each([
    ['50ms', 50],
    ['30s', 30_000],
    ['1sec', 1000],
    ['2 seconds', 2000],
    ['5m', 300_000],
    ['5min', 300_000],
    ['1h', 3_600_000],
    ['2hours', 7_200_000],
    ['7d', 604_800_000],
    ['1w', 604_800_000],
    ['2weeks', 1_209_600_000],
    ['1h 30m', 5_400_000],
    ['1h30m', 5_400_000],
    ['1 h', 3_600_000],
    ['1d 2h 3m 4s', 93_784_000],
    ['1M', 2_630_016_000],
    ['1y', 31_557_600_000],
    ['1.5h', 5_400_000],
    ['1000us', 1],
  ])('reads %j as %d ms', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it('distinguishes minutes (m) from months (M)', () => {
    expect(parseDurationMs('1m')).toBe(60_000);
    expect(parseDurationMs('1M')).toBeGreaterThan(parseDurationMs('4w'));
  });

  it.each(['', '   ', '5', 'h', '1x', '1h-2m', 'forever', '-1h', '1e3s', `${'9'.repeat(400)}d`])(
    'rejects %j',
    (text) => {
      expect(() => parseDurationMs(text)).toThrow(/invalid duration/);
    },
  );
});
