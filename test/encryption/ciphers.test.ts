/**
 * Proves the two AEAD ciphers come out of their libraries as specified: AEGIS-256 (libsodium)
 * against the AEGIS specification's published test vectors (draft-irtf-cfrg-aegis-aead,
 * AEGIS-256 vectors 1-3, 256-bit tags) and AES-256-GCM (node:crypto) against the GCM
 * specification's test case 16 (McGrew & Viega), and that both refuse a wrong key, nonce, AAD
 * or a flipped ciphertext bit.
 */
import { describe, expect, it } from 'vitest';
import { aeadById, aeads, prepareCiphers, type Aead } from '../../src/engine/encryption/aead.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// Top level: describe.each seals while collecting.
await prepareCiphers();

describe('AEGIS-256 (libsodium) against the specification vectors', () => {
  const key = hex('1001000000000000000000000000000000000000000000000000000000000000');
  const nonce = hex('1000020000000000000000000000000000000000000000000000000000000000');
  const aegis = aeads['aegis-256'];

  it('vector 1: 16 zero bytes, no AD', () => {
    const out = aegis.seal(key, nonce, new Uint8Array(0), new Uint8Array(16));
    expect(toHex(out)).toBe(
      '754fc3d8c973246dcc6d741412a4b236' + '1181a1d18091082bf0266f66297d167d2e68b845f61a3b0527d31fc7b7b89f13',
    );
  });

  it('vector 2: empty message, no AD', () => {
    const out = aegis.seal(key, nonce, new Uint8Array(0), new Uint8Array(0));
    expect(toHex(out)).toBe('6a348c930adbd654896e1666aad67de989ea75ebaa2b82fb588977b1ffec864a');
  });

  it('vector 3: 32-byte message with 8 bytes of AD, and it opens again', () => {
    const ad = hex('0001020304050607');
    const msg = hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
    const out = aegis.seal(key, nonce, ad, msg);
    expect(toHex(out)).toBe(
      'f373079ed84b2709faee373584585d60accd191db310ef5d8b11833df9dec711' +
        'b7d28d0c3c0ebd409fd22b44160503073a547412da0854bfb9723020dab8da1a',
    );
    expect(toHex(aegis.open(key, nonce, ad, out)!)).toBe(toHex(msg));
  });
});

describe('AES-256-GCM (node:crypto) against GCM test case 16', () => {
  it('seals and opens the published vector', () => {
    const gcm = aeads['aes-256-gcm'];
    const key = hex('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308');
    const iv = hex('cafebabefacedbaddecaf888');
    const aad = hex('feedfacedeadbeeffeedfacedeadbeefabaddad2');
    const pt = hex(
      'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39',
    );
    const out = gcm.seal(key, iv, aad, pt);
    expect(toHex(out)).toBe(
      '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662' +
        '76fc6ece0f4e1768cddf8853bb2d551b',
    );
    expect(toHex(gcm.open(key, iv, aad, out)!)).toBe(toHex(pt));
  });
});

describe.each(Object.values(aeads))('$cipher refuses what it did not seal', (aead: Aead) => {
  const key = new Uint8Array(32).fill(0x42);
  const nonce = new Uint8Array(aead.nonceBytes).fill(7);
  const aad = new TextEncoder().encode('stream-a');
  const sealed = aead.seal(key, nonce, aad, new TextEncoder().encode('secret payload'));

  it('has the documented overhead and id', () => {
    expect(sealed.length).toBe('secret payload'.length + aead.tagBytes);
    expect(aeadById(aead.id)).toBe(aead);
  });

  it('wrong key, nonce, AAD, flipped bit, truncation', () => {
    const otherKey = new Uint8Array(32).fill(0x24);
    expect(aead.open(otherKey, nonce, aad, sealed)).toBeNull();
    expect(aead.open(key, new Uint8Array(aead.nonceBytes).fill(8), aad, sealed)).toBeNull();
    expect(aead.open(key, nonce, new TextEncoder().encode('stream-b'), sealed)).toBeNull();
    const flipped = Uint8Array.from(sealed);
    flipped[0]! ^= 1;
    expect(aead.open(key, nonce, aad, flipped)).toBeNull();
    expect(aead.open(key, nonce, aad, sealed.subarray(0, aead.tagBytes - 1))).toBeNull();
    expect(new TextDecoder().decode(aead.open(key, nonce, aad, sealed)!)).toBe('secret payload');
  });
});
