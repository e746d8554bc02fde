/**
 * Proves the stored form of an encrypted record (docs/formats.md "Encrypted records"): it round
 * trips headers and body exactly, keeps the plaintext metered size, uses a fresh nonce per
 * record, binds the ciphertext to its stream, algorithm and metered size, detects tampering as
 * `decryption_failed`, and reports malformed or mismatched stored records as `storage`.
 */
import { describe, expect, it } from 'vitest';
import { S2Error } from '../../src/domain/errors.js';
import { isSealed } from '../../src/domain/sealed.js';
import { meteredBytes, type AppendRecord, type SequencedRecord } from '../../src/domain/types.js';
import { aeads, prepareCiphers } from '../../src/engine/encryption/aead.js';
import { openRecord, sealRecord, type SealContext } from '../../src/engine/encryption/sealed-record.js';
import { streamAadId } from '../../src/engine/encryption/stream-cipher.js';
import { systemSecureRandom } from '../../src/util/rand.js';

await prepareCiphers();
const enc = new TextEncoder();

function context(cipher: 'aegis-256' | 'aes-256-gcm', stream = 's', keyByte = 0x42): SealContext {
  return {
    aead: aeads[cipher],
    key: new Uint8Array(32).fill(keyByte),
    streamId: streamAadId('b-basin1', stream),
    random: systemSecureRandom,
  };
}

function sequenced(record: AppendRecord, seqNum = 5): SequencedRecord {
  return { seqNum, timestamp: 99n, headers: record.headers, body: record.body };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof S2Error ? error.code : 'not-an-S2Error';
  }
  return undefined;
}

const plain: AppendRecord = {
  headers: [
    [enc.encode('k'), enc.encode('v')],
    [enc.encode('k'), new Uint8Array(0)],
    [new Uint8Array([0, 0xff]), new Uint8Array([1, 2, 3])],
  ],
  body: enc.encode('the plaintext body'),
};

describe.each(['aegis-256', 'aes-256-gcm'] as const)('%s sealed records', (cipher) => {
  const ctx = context(cipher);
  const aead = aeads[cipher];

  it('round trips headers and body, counts the plaintext metered size, hides the plaintext', () => {
    const sealed = sealRecord(ctx, plain);
    expect(isSealed(sealed.headers)).toBe(true);
    expect(meteredBytes(sealed)).toBe(meteredBytes(plain));
    expect(Buffer.from(sealed.body).includes(Buffer.from('plaintext'))).toBe(false);
    // version, algorithm, u32 metered size, nonce, ciphertext of (4 + 8 per header + names/values + body), tag
    const inner = 4 + 3 * 8 + 1 + 1 + 1 + 0 + 2 + 3 + plain.body.length;
    expect(sealed.body.length).toBe(6 + aead.nonceBytes + inner + aead.tagBytes);
    expect(sealed.body[0]).toBe(1);
    expect(sealed.body[1]).toBe(aead.id);
    const opened = openRecord(ctx, sequenced(sealed));
    expect(opened.seqNum).toBe(5);
    expect(opened.timestamp).toBe(99n);
    expect(opened.headers.map(([n, v]) => [[...n], [...v]])).toEqual(plain.headers.map(([n, v]) => [[...n], [...v]]));
    expect(Buffer.from(opened.body).toString()).toBe('the plaintext body');
  });

  it('costs 27 + nonce + tag stored bytes per record (docs/formats.md: +91 AEGIS-256, +55 AES-256-GCM)', () => {
    // Size of a record payload as chunks and segments store it (docs/formats.md "Record payload").
    const payload = (r: AppendRecord) =>
      4 + r.headers.reduce((n, [k, v]) => n + 8 + k.length + v.length, 0) + 4 + r.body.length;
    for (const record of [plain, { headers: [], body: new Uint8Array(1000) }]) {
      expect(payload(sealRecord(ctx, record)) - payload(record)).toBe(cipher === 'aegis-256' ? 91 : 55);
    }
  });

  it('round trips an empty record and keeps a client timestamp', () => {
    const sealed = sealRecord(ctx, { headers: [], body: new Uint8Array(0), timestamp: 7n });
    expect(sealed.timestamp).toBe(7n);
    expect(meteredBytes(sealed)).toBe(8);
    const opened = openRecord(ctx, sequenced(sealed));
    expect(opened.headers).toEqual([]);
    expect(opened.body.length).toBe(0);
  });

  it('uses a fresh nonce for every record', () => {
    const nonces = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const body = sealRecord(ctx, plain).body;
      nonces.add(Buffer.from(body.subarray(6, 6 + aead.nonceBytes)).toString('hex'));
    }
    expect(nonces.size).toBe(200);
  });

  it('takes its nonce from the injected source', () => {
    const fixed: SealContext = { ...ctx, random: (out) => out.fill(0xab) };
    const body = sealRecord(fixed, plain).body;
    expect([...body.subarray(6, 6 + aead.nonceBytes)]).toEqual(new Array(aead.nonceBytes).fill(0xab));
  });

  it('does not open in another stream or with another key (decryption_failed)', () => {
    const sealed = sequenced(sealRecord(ctx, plain));
    expect(codeOf(() => openRecord(context(cipher, 'other'), sealed))).toBe('decryption_failed');
    expect(codeOf(() => openRecord(context(cipher, 's', 0x24), sealed))).toBe('decryption_failed');
  });

  it('detects a flipped bit anywhere after the algorithm byte as decryption_failed', () => {
    const sealed = sealRecord(ctx, plain);
    for (let i = 2; i < sealed.body.length; i += 3) {
      const body = Uint8Array.from(sealed.body);
      body[i]! ^= 0x10;
      expect(codeOf(() => openRecord(ctx, sequenced({ headers: sealed.headers, body })))).toBe('decryption_failed');
    }
  });

  it('reports malformed and mismatched stored records as storage', () => {
    const sealed = sealRecord(ctx, plain);
    const version = Uint8Array.from(sealed.body);
    version[0] = 2;
    expect(codeOf(() => openRecord(ctx, sequenced({ headers: sealed.headers, body: version })))).toBe('storage');
    const truncated = sealed.body.subarray(0, 6 + aead.nonceBytes + aead.tagBytes - 1);
    expect(codeOf(() => openRecord(ctx, sequenced({ headers: sealed.headers, body: truncated })))).toBe('storage');
    const other = cipher === 'aegis-256' ? 'aes-256-gcm' : 'aegis-256';
    expect(codeOf(() => openRecord(context(other), sequenced(sealed)))).toBe('storage');
    // A plaintext envelope on a stream with a cipher is an algorithm mismatch.
    expect(codeOf(() => openRecord(ctx, sequenced(plain)))).toBe('storage');
  });

  it('passes command records through untouched', () => {
    const fence = sequenced({ headers: [[new Uint8Array(0), enc.encode('fence')]], body: enc.encode('tok') });
    expect(openRecord(ctx, fence)).toBe(fence);
  });
});
