/**
 * JSON with u64 integers kept exact (api.md 1.9): seq_num and timestamp may exceed 2^53, which
 * `JSON.parse` would round. Every integer in an API response becomes a bigint; request bodies
 * write bigints as plain JSON numbers.
 */

export type Json = null | boolean | number | bigint | string | Json[] | { [key: string]: Json };

/** Integers as bigint, read from the source text where the browser offers it (JSON.parse source access). */
export function parseJson(text: string): Json {
  return JSON.parse(text, (_key: string, value: unknown, context?: { source?: string }) => {
    if (typeof value !== 'number' || !Number.isInteger(value)) return value;
    const source = context?.source;
    return source !== undefined && /^-?\d+$/.test(source) ? BigInt(source) : BigInt(value);
  }) as Json;
}

export function stringifyJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'bigint':
      return value.toString();
    case 'number':
      if (!Number.isFinite(value)) throw new Error('not a finite number');
      return JSON.stringify(value);
    case 'boolean':
    case 'string':
      return JSON.stringify(value);
    case 'object':
      if (Array.isArray(value)) return `[${value.map(stringifyJson).join(',')}]`;
      return `{${Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${JSON.stringify(k)}:${stringifyJson(v)}`)
        .join(',')}}`;
    default:
      throw new Error(`cannot write ${typeof value} as JSON`);
  }
}

/** A JSON value's integer as a bigint (the API's integers all parse to bigint). */
export function asBigInt(value: Json | undefined): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return BigInt(Math.trunc(value));
  return 0n;
}
