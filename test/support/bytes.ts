/**
 * Deterministic test bytes covering every byte value (a 32-bit LCG's high byte). Fixtures under
 * test/storage/fixtures were generated with it: its output must never change.
 */
export function seededBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}
