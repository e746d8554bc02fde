/**
 * The stored form of an encrypted ("sealed") record, as far as every layer must know it
 * (docs/formats.md "Encrypted records"): one header with an empty name and the value
 * `encrypted`, and a body that starts with `version(1) ‖ algorithm(1) ‖ u32 LE metered size`.
 * Clients can never store such a record themselves: a record whose only header has an empty
 * name is a command, and only `fence` and `trim` are accepted (api.md 6.3).
 *
 * Storage and read limits count the metered size of the *plaintext* (api.md 6.4, 13), which the
 * sealed body carries (authenticated with the ciphertext); only the engine's encryption module
 * (engine/encryption/) reads or writes the rest.
 */
import type { Header } from './types.js';

/** The value of a sealed record's single, empty-named header. */
export const sealedMarker: Uint8Array = new TextEncoder().encode('encrypted');

/** Offset of the u32 LE plaintext metered size in a sealed body (after version and algorithm). */
export const sealedMeteredOffset = 2;

export function isSealed(headers: Header[]): boolean {
  if (headers.length !== 1) return false;
  const [name, value] = headers[0]!;
  if (name.length !== 0 || value.length !== sealedMarker.length) return false;
  for (let i = 0; i < value.length; i++) if (value[i] !== sealedMarker[i]) return false;
  return true;
}

/**
 * The plaintext metered size a sealed record carries, or undefined if `record` is not sealed
 * (or too short to carry one: the engine reports that as corrupt when it opens the record).
 */
export function sealedMeteredBytes(record: { headers: Header[]; body: Uint8Array }): number | undefined {
  if (!isSealed(record.headers)) return undefined;
  const body = record.body;
  if (body.length < sealedMeteredOffset + 4) return undefined;
  const o = sealedMeteredOffset;
  return (body[o]! | (body[o + 1]! << 8) | (body[o + 2]! << 16)) + body[o + 3]! * 0x1000000;
}
