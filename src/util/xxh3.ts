/**
 * XXH3-64 (seed 0, default secret), the hash `s2 bench` chains its records with. xxhash-wasm 1.1
 * only has XXH32/XXH64, so this is a port of the reference algorithm (xxhash 0.8), and the
 * package carries no xxhash dependency. Short inputs use BigInt; the long-input loop, which dominates for bench records
 * (8 KiB by default), works on 32-bit halves so it runs at a few hundred MB/s without BigInt.
 * Checked against `xxhsum -H3` vectors in test/cli/bench-units.test.ts.
 */

const M64 = (1n << 64n) - 1n;

// prettier-ignore
const kSecret = new Uint8Array([
  0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
  0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
  0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
  0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
  0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
  0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
  0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d,
  0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64,
  0xea, 0xc5, 0xac, 0x83, 0x34, 0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb,
  0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49, 0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e,
  0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8, 0xd1, 0x7a, 0xd0, 0x31, 0xce,
  0x45, 0xcb, 0x3a, 0x8f, 0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b, 0x40, 0x7e,
]);
const secret = new DataView(kSecret.buffer);
const SECRET_SIZE = 192;

const PRIME32_1 = 0x9e3779b1;
const PRIME32_2 = 0x85ebca77;
const PRIME32_3 = 0xc2b2ae3d;
const PRIME64_1 = 0x9e3779b185ebca87n;
const PRIME64_2 = 0xc2b2ae3d27d4eb4fn;
const PRIME64_3 = 0x165667b19e3779f9n;
const PRIME64_4 = 0x85ebca77c2b2ae63n;
const PRIME64_5 = 0x27d4eb2f165667c5n;
const PRIME_MX1 = 0x165667919e3779f9n;
const PRIME_MX2 = 0x9fb21c651e98df25n;

const read64 = (view: DataView, offset: number): bigint => view.getBigUint64(offset, true);
const read32 = (view: DataView, offset: number): bigint => BigInt(view.getUint32(offset, true));

function mul128Fold64(a: bigint, b: bigint): bigint {
  const product = a * b;
  return (product & M64) ^ (product >> 64n);
}

function xxh64Avalanche(h: bigint): bigint {
  h ^= h >> 33n;
  h = (h * PRIME64_2) & M64;
  h ^= h >> 29n;
  h = (h * PRIME64_3) & M64;
  return h ^ (h >> 32n);
}

function avalanche(h: bigint): bigint {
  h ^= h >> 37n;
  h = (h * PRIME_MX1) & M64;
  return h ^ (h >> 32n);
}

function rotl64(x: bigint, r: bigint): bigint {
  return ((x << r) | (x >> (64n - r))) & M64;
}

function rrmxmx(h: bigint, len: number): bigint {
  h ^= rotl64(h, 49n) ^ rotl64(h, 24n);
  h = (h * PRIME_MX2) & M64;
  h ^= (h >> 35n) + BigInt(len);
  h = (h * PRIME_MX2) & M64;
  return h ^ (h >> 28n);
}

function swap64(x: bigint): bigint {
  let r = 0n;
  for (let i = 0; i < 8; i++) r = (r << 8n) | ((x >> BigInt(8 * i)) & 0xffn);
  return r;
}

function mix16B(input: DataView, offset: number, secretOffset: number): bigint {
  const lo = read64(input, offset) ^ read64(secret, secretOffset);
  const hi = read64(input, offset + 8) ^ read64(secret, secretOffset + 8);
  return mul128Fold64(lo, hi);
}

function len0to16(input: DataView, len: number): bigint {
  if (len > 8) {
    const bitflip1 = read64(secret, 24) ^ read64(secret, 32);
    const bitflip2 = read64(secret, 40) ^ read64(secret, 48);
    const lo = read64(input, 0) ^ bitflip1;
    const hi = read64(input, len - 8) ^ bitflip2;
    return avalanche((BigInt(len) + swap64(lo) + hi + mul128Fold64(lo, hi)) & M64);
  }
  if (len >= 4) {
    const in1 = read32(input, 0);
    const in2 = read32(input, len - 4);
    const bitflip = read64(secret, 8) ^ read64(secret, 16);
    return rrmxmx((in2 + (in1 << 32n)) ^ bitflip, len);
  }
  if (len > 0) {
    const c1 = input.getUint8(0);
    const c2 = input.getUint8(len >> 1);
    const c3 = input.getUint8(len - 1);
    const combined = BigInt(((c1 << 16) | (c2 << 24) | c3 | (len << 8)) >>> 0);
    return xxh64Avalanche(combined ^ (read32(secret, 0) ^ read32(secret, 4)));
  }
  return xxh64Avalanche(read64(secret, 56) ^ read64(secret, 64));
}

function len17to128(input: DataView, len: number): bigint {
  let acc = (BigInt(len) * PRIME64_1) & M64;
  if (len > 32) {
    if (len > 64) {
      if (len > 96) acc += mix16B(input, 48, 96) + mix16B(input, len - 64, 112);
      acc += mix16B(input, 32, 64) + mix16B(input, len - 48, 80);
    }
    acc += mix16B(input, 16, 32) + mix16B(input, len - 32, 48);
  }
  acc += mix16B(input, 0, 0) + mix16B(input, len - 16, 16);
  return avalanche(acc & M64);
}

function len129to240(input: DataView, len: number): bigint {
  let acc = (BigInt(len) * PRIME64_1) & M64;
  for (let i = 0; i < 8; i++) acc += mix16B(input, 16 * i, 16 * i);
  acc = avalanche(acc & M64);
  const rounds = Math.floor(len / 16);
  for (let i = 8; i < rounds; i++) acc += mix16B(input, 16 * i, 16 * (i - 8) + 3);
  acc += mix16B(input, len - 16, 136 - 17);
  return avalanche(acc & M64);
}

// Long inputs: 8 accumulators of 64 bits, kept as (hi, lo) uint32 pairs in one array.
const TWO32 = 0x1_0000_0000;

/** acc[lane] += a * b, for 32-bit a and b: the 64-bit product from 16-bit partial products. */
function addMul32(acc: Uint32Array, lane: number, a: number, b: number): void {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const cross1 = aLo * bHi; // each partial product < 2^32
  const cross2 = aHi * bLo;
  const carry = (((aLo * bLo) >>> 16) + (cross1 & 0xffff) + (cross2 & 0xffff)) >>> 16;
  const high = aHi * bHi + (cross1 >>> 16) + (cross2 >>> 16) + carry;
  const low = Math.imul(a, b) >>> 0;
  const sumLo = acc[2 * lane + 1]! + low;
  acc[2 * lane + 1] = sumLo;
  acc[2 * lane] = acc[2 * lane]! + high + (sumLo >= TWO32 ? 1 : 0);
}

/** The 16 little-endian uint32 words of the secret from `offset` on. */
function secretWords(offset: number): Uint32Array {
  const words = new Uint32Array(16);
  for (let i = 0; i < 16; i++) words[i] = secret.getUint32(offset + 4 * i, true);
  return words;
}
const STRIPES_PER_BLOCK = (SECRET_SIZE - 64) / 8;
const stripeKeys = Array.from({ length: STRIPES_PER_BLOCK }, (_, s) => secretWords(s * 8));
const scrambleKey = secretWords(SECRET_SIZE - 64);
const lastStripeKey = secretWords(SECRET_SIZE - 64 - 7);

function accumulate512(acc: Uint32Array, input: DataView, offset: number, key: Uint32Array): void {
  for (let i = 0; i < 8; i++) {
    const dLo = input.getUint32(offset + 8 * i, true);
    const dHi = input.getUint32(offset + 8 * i + 4, true);
    const kLo = (dLo ^ key[2 * i]!) >>> 0;
    const kHi = (dHi ^ key[2 * i + 1]!) >>> 0;
    // acc[i ^ 1] += data
    const j = i ^ 1;
    const lo = acc[2 * j + 1]! + dLo;
    acc[2 * j + 1] = lo;
    acc[2 * j] = acc[2 * j]! + dHi + (lo >= TWO32 ? 1 : 0);
    // acc[i] += lo32(key) * hi32(key)
    addMul32(acc, i, kLo, kHi);
  }
}

function scramble(acc: Uint32Array, key: Uint32Array): void {
  for (let i = 0; i < 8; i++) {
    const hi = acc[2 * i]!;
    // acc ^= acc >> 47; acc ^= key
    const lo = (acc[2 * i + 1]! ^ (hi >>> 15) ^ key[2 * i]!) >>> 0;
    const hi2 = (hi ^ key[2 * i + 1]!) >>> 0;
    // acc *= PRIME32_1 (mod 2^64): lo * P (64-bit) + (hi * P) << 32
    acc[2 * i + 1] = 0;
    acc[2 * i] = Math.imul(hi2, PRIME32_1);
    addMul32(acc, i, lo, PRIME32_1);
  }
}

function hashLong(input: DataView, len: number): bigint {
  const init = [
    BigInt(PRIME32_3),
    PRIME64_1,
    PRIME64_2,
    PRIME64_3,
    PRIME64_4,
    BigInt(PRIME32_2),
    PRIME64_5,
    BigInt(PRIME32_1),
  ];
  const acc = new Uint32Array(16);
  init.forEach((v, i) => {
    acc[2 * i] = Number(v >> 32n);
    acc[2 * i + 1] = Number(v & 0xffffffffn);
  });
  const stripesPerBlock = STRIPES_PER_BLOCK;
  const blockLen = 64 * stripesPerBlock;
  const blocks = Math.floor((len - 1) / blockLen);
  for (let n = 0; n < blocks; n++) {
    for (let s = 0; s < stripesPerBlock; s++) accumulate512(acc, input, n * blockLen + s * 64, stripeKeys[s]!);
    scramble(acc, scrambleKey);
  }
  const stripes = Math.floor((len - 1 - blockLen * blocks) / 64);
  for (let s = 0; s < stripes; s++) accumulate512(acc, input, blocks * blockLen + s * 64, stripeKeys[s]!);
  accumulate512(acc, input, len - 64, lastStripeKey);

  const lane = (i: number) => (BigInt(acc[2 * i]!) << 32n) | BigInt(acc[2 * i + 1]!);
  let result = (BigInt(len) * PRIME64_1) & M64;
  for (let i = 0; i < 4; i++) {
    const a = lane(2 * i) ^ read64(secret, 11 + 16 * i);
    const b = lane(2 * i + 1) ^ read64(secret, 11 + 16 * i + 8);
    result += mul128Fold64(a, b);
  }
  return avalanche(result & M64);
}

export function xxh3(data: Uint8Array): bigint {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const len = data.byteLength;
  if (len <= 16) return len0to16(view, len);
  if (len <= 128) return len17to128(view, len);
  if (len <= 240) return len129to240(view, len);
  return hashLong(view, len);
}
