/**
 * Randomness is injected so simulations and heartbeat jitter replay from a seed.
 */
import { randomFillSync } from 'node:crypto';
export interface Rand {
  /** Uniform float in [0, 1). */
  next(): number;
}

export const systemRand: Rand = { next: () => Math.random() };

/** Small, fast, seedable generator (mulberry32) for tests and simulations. */
export function seededRand(seed: number): Rand {
  let state = seed >>> 0;
  return {
    next() {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}

/** Uniform integer in [min, max]. */
export function randInt(rand: Rand, min: number, max: number): number {
  return min + Math.floor(rand.next() * (max - min + 1));
}

/** Cryptographically secure bytes (encryption nonces); injected like `Rand` so tests can observe them. */
export type SecureRandom = (out: Uint8Array) => void;

export const systemSecureRandom: SecureRandom = (out) => {
  randomFillSync(out);
};
