/**
 * The two AEAD ciphers a stream can have (api.md 13), from libraries only: AES-256-GCM from
 * `node:crypto` (OpenSSL) and AEGIS-256 from libsodium (`libsodium-wrappers`, WebAssembly).
 * Both take a 32-byte key and produce `ciphertext ‖ tag`: AES-256-GCM with a 12-byte nonce and
 * a 16-byte tag, AEGIS-256 with a 32-byte nonce and libsodium's 32-byte (256-bit) tag.
 *
 * libsodium initialises asynchronously: `prepareCiphers()` is awaited once before the first
 * AEGIS-256 stream is opened (opening is async anyway), after which everything is synchronous.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import sodium from 'libsodium-wrappers';
import type { Cipher } from '../../domain/types.js';
import { assert } from '../../util/assert.js';

export const keyBytes = 32;

export interface Aead {
  cipher: Cipher;
  /** Persisted in every sealed record (docs/formats.md): never renumber. */
  id: number;
  nonceBytes: number;
  tagBytes: number;
  /** `ciphertext ‖ tag`. */
  seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /** The plaintext, or null if authentication failed (wrong key, or altered ciphertext or AAD). */
  open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | null;
}

let sodiumReady = false;
let sodiumLoading: Promise<void> | undefined;

/** Initialises libsodium once; later calls resolve at once. */
export function prepareCiphers(): Promise<void> {
  sodiumLoading ??= sodium.ready.then(() => {
    sodiumReady = true;
  });
  return sodiumLoading;
}

const aesGcm: Aead = {
  cipher: 'aes-256-gcm',
  id: 2,
  nonceBytes: 12,
  tagBytes: 16,
  seal(key, nonce, aad, plaintext) {
    const c = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 });
    c.setAAD(aad);
    const head = c.update(plaintext);
    const tail = c.final();
    return Buffer.concat([head, tail, c.getAuthTag()]);
  },
  open(key, nonce, aad, sealed) {
    if (sealed.length < 16) return null;
    const d = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 });
    d.setAAD(aad);
    d.setAuthTag(sealed.subarray(sealed.length - 16));
    const head = d.update(sealed.subarray(0, sealed.length - 16));
    try {
      const tail = d.final();
      return tail.length === 0 ? head : Buffer.concat([head, tail]);
    } catch {
      return null;
    }
  },
};

const aegis256: Aead = {
  cipher: 'aegis-256',
  id: 1,
  nonceBytes: 32,
  tagBytes: 32,
  seal(key, nonce, aad, plaintext) {
    assert(sodiumReady, 'libsodium used before prepareCiphers()');
    return sodium.crypto_aead_aegis256_encrypt(plaintext, aad, null, nonce, key);
  },
  open(key, nonce, aad, sealed) {
    assert(sodiumReady, 'libsodium used before prepareCiphers()');
    if (sealed.length < 32) return null;
    try {
      return sodium.crypto_aead_aegis256_decrypt(null, sealed, aad, nonce, key);
    } catch {
      return null;
    }
  },
};

export const aeads: Record<Cipher, Aead> = { 'aes-256-gcm': aesGcm, 'aegis-256': aegis256 };

/** The cipher a persisted algorithm id names, if any. */
export function aeadById(id: number): Aead | undefined {
  return id === aesGcm.id ? aesGcm : id === aegis256.id ? aegis256 : undefined;
}
