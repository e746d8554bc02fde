/**
 * Typed access to query parameters (api.md 1.6): unknown keys are ignored; a duplicated key, a
 * non-number or an out-of-range number is 400 bad_query.
 */
import { errors } from '../domain/errors.js';

const u64Max = 0xffff_ffff_ffff_ffffn;

export class Query {
  constructor(private readonly params: URLSearchParams) {}

  string(name: string): string | undefined {
    const values = this.params.getAll(name);
    if (values.length > 1) throw errors.badQuery(`duplicate field \`${name}\``);
    return values[0];
  }

  /** An unsigned integer up to `max` (default u64), as bigint. */
  bigint(name: string, max = u64Max): bigint | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value)) throw errors.badQuery(`${name}: invalid digit found in string`);
    const parsed = BigInt(value);
    if (parsed > max) throw errors.badQuery(`${name}: number too large to fit in target type`);
    return parsed;
  }

  /** An unsigned integer as a JS number; values above 2^53 saturate (they exceed any tail or limit). */
  number(name: string, max = u64Max): number | undefined {
    const value = this.bigint(name, max);
    if (value === undefined) return undefined;
    return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
  }

  bool(name: string): boolean | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    if (value === 'true') return true;
    if (value === 'false') return false;
    throw errors.badQuery(`${name}: provided string was not \`true\` or \`false\``);
  }
}
