/**
 * The hashes of verification.md: a record's hash is XXH3-64 of its body, and a stream's hash folds
 * the record hashes in seq_num order:
 *
 *   hash(empty stream) = 0
 *   hash(stream + r)   = xxh3_64_with_seed(le_bytes_u64(record_hash(r)), seed = hash(stream))
 *
 * Only 8-byte inputs are ever hashed with a seed, so the seeded variant below is XXH3's 4-to-8-byte
 * path specialised to exactly 8 bytes (xxhash 0.8, `XXH3_len_4to8_64b`); bodies use the full
 * seed-0 port shared with `s2-lite bench`.
 */
import { xxh3 } from '../util/xxh3.js';

const M64 = (1n << 64n) - 1n;
const PRIME_MX2 = 0x9fb21c651e98df25n;
/** readLE64(kSecret + 8) ^ readLE64(kSecret + 16) of XXH3's default secret. */
const BITFLIP_4TO8 = 0x1cad21f72c81017cn ^ 0xdb979083e96dd4den;

function rotl64(x: bigint, r: bigint): bigint {
  return ((x << r) | (x >> (64n - r))) & M64;
}

/** XXH3-64 with a seed of the 8 little-endian bytes of `value`. */
export function xxh3u64WithSeed(value: bigint, seed: bigint): bigint {
  const s = seed ^ (swap32(seed & 0xffffffffn) << 32n);
  const input1 = value & 0xffffffffn; // readLE32(input)
  const input2 = value >> 32n; // readLE32(input + 4)
  const bitflip = (BITFLIP_4TO8 - s) & M64;
  const input64 = (input2 + (input1 << 32n)) & M64;
  let h = input64 ^ bitflip;
  // rrmxmx with len = 8
  h ^= rotl64(h, 49n) ^ rotl64(h, 24n);
  h = (h * PRIME_MX2) & M64;
  h ^= (h >> 35n) + 8n;
  h = (h * PRIME_MX2) & M64;
  return h ^ (h >> 28n);
}

function swap32(x: bigint): bigint {
  const n = Number(x);
  return BigInt((((n & 0xff) << 24) | ((n & 0xff00) << 8) | ((n >>> 8) & 0xff00) | (n >>> 24)) >>> 0);
}

/** record_hash(r) = xxh3_64(r.body). */
export function recordHash(body: Uint8Array): bigint {
  return xxh3(body);
}

/** The stream hash after appending records with these hashes to a stream whose hash is `streamHash`. */
export function foldHashes(streamHash: bigint, recordHashes: readonly bigint[]): bigint {
  let h = streamHash;
  for (const r of recordHashes) h = xxh3u64WithSeed(r, h);
  return h;
}
