/**
 * What people type into the console's forms, read strictly: u64 positions, durations, times
 * and header lines. No DOM here, so it is tested directly in Node.
 */
import { utf8 } from './bytes.js';

/** A u64 typed by a person: digits only, at most 2^64-1; undefined for an empty field. */
export function parseU64(text: string, what: string): bigint | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  if (!/^\d+$/.test(trimmed)) throw new Error(`${what} must be a whole number`);
  const value = BigInt(trimmed);
  if (value > 0xffff_ffff_ffff_ffffn) throw new Error(`${what} is larger than 2^64-1`);
  return value;
}

const units: Record<string, bigint> = { s: 1n, m: 60n, h: 3600n, d: 86_400n, w: 604_800n };

/** `3600`, `90s`, `15m`, `12h`, `7d` or `2w` as seconds; undefined for an empty field. */
export function parseDurationSecs(text: string, what: string): bigint | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const match = /^(\d+)\s*([smhdw]?)$/.exec(trimmed);
  if (!match) throw new Error(`${what}: write seconds, or a number with s, m, h, d or w (e.g. 7d)`);
  return BigInt(match[1]!) * units[match[2] || 's']!;
}

/** `1700000000000` (ms) or anything `Date.parse` reads, as epoch milliseconds. */
export function parseTimestampInput(text: string): bigint {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return BigInt(trimmed);
  const ms = Date.parse(trimmed);
  if (Number.isNaN(ms))
    throw new Error('Timestamp: give milliseconds since 1970 or a date such as 2026-01-31T12:00:00Z');
  return BigInt(Math.max(0, ms));
}

/** `name: value` per line; the first colon splits, so values may contain colons. */
export function parseHeaderLines(text: string): [Uint8Array, Uint8Array][] {
  const headers: [Uint8Array, Uint8Array][] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    const colon = line.indexOf(':');
    if (colon < 0) throw new Error(`Header line ${index + 1} needs a colon between name and value`);
    headers.push([utf8(line.slice(0, colon).trim()), utf8(line.slice(colon + 1).trimStart())]);
  });
  return headers;
}
