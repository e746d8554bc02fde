/**
 * Readers for the JSON parts of persisted formats (manifest and snapshot bodies, basin and stream
 * metadata). Each checks one value and returns it typed, or throws a CorruptDataError naming
 * `what`; nothing read from storage is ever cast. Layouts: docs/formats.md.
 */
import { CorruptDataError } from './binary.js';

export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new CorruptDataError(`${what}: not valid JSON`);
  }
}

/** A safe non-negative integer (seq_nums, ids, epochs, sizes, wall-clock ms, seconds). */
export function int(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new CorruptDataError(`${what}: expected a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** A u64 written as a decimal string (JSON numbers lose precision above 2^53). */
export function u64(value: unknown, what: string): bigint {
  if (typeof value !== 'string' || !/^\d{1,20}$/.test(value) || BigInt(value) >= 1n << 64n) {
    throw new CorruptDataError(`${what}: expected a u64 decimal string, got ${JSON.stringify(value)}`);
  }
  return BigInt(value);
}

export function str(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new CorruptDataError(`${what}: expected a string`);
  return value;
}

export function bool(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') throw new CorruptDataError(`${what}: expected a boolean`);
  return value;
}

export function obj(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CorruptDataError(`${what}: expected an object`);
  }
  return value as Record<string, unknown>;
}

export function arr(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new CorruptDataError(`${what}: expected an array`);
  return value;
}

/** One of a closed set of strings (a persisted enumeration). */
export function oneOf<T extends string>(value: unknown, allowed: readonly T[], what: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new CorruptDataError(`${what}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

export function nullable<T>(value: unknown, what: string, read: (value: unknown, what: string) => T): T | null {
  return value === null ? null : read(value, what);
}

/** An object with exactly these members allowed: an unknown one means a format this build does not know. */
export function closedObj(value: unknown, allowed: readonly string[], what: string): Record<string, unknown> {
  const json = obj(value, what);
  for (const key of Object.keys(json)) {
    if (!allowed.includes(key)) throw new CorruptDataError(`${what}: unknown field ${JSON.stringify(key)}`);
  }
  return json;
}
