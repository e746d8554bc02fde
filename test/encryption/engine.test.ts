/**
 * Proves encryption at rest through the engine (api.md 7.5, 13): what storage receives for a
 * stream with a cipher is sealed (commands excepted), reads with the key give the plaintext back
 * with the plaintext's metered sizes (catch-up and live), a missing, invalid or wrong key is
 * refused with the api.md codes, a record copied into another stream does not open, streams
 * without a cipher ignore keys, and AES-256-GCM streams stop at seq_num 4,294,967,295.
 */
import { describe, expect, it } from 'vitest';
import { S2Error } from '../../src/domain/errors.js';
import { isSealed } from '../../src/domain/sealed.js';
import type { Append } from '../../src/storage/types.js';
import { EncryptionKey } from '../../src/engine/encryption/key.js';
import { aesGcmSeqNumMax } from '../../src/engine/encryption/stream-cipher.js';
import type { Cipher } from '../../src/domain/types.js';
import { fence, input, rec, settle, setup, text, trim, type Fixture } from '../engine/support.js';

const keyA = () => EncryptionKey.fromBytes(new Uint8Array(32).fill(0x42));
const keyB = () => EncryptionKey.fromBytes(new Uint8Array(32).fill(0x24));

async function cipherFixture(cipher: Cipher): Promise<Fixture> {
  const f = await setup();
  await f.engine.createBasin('enc-basin', {
    createStreamOnAppend: true,
    createStreamOnRead: true,
    streamCipher: cipher,
  });
  return f;
}

async function code(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return error instanceof S2Error ? error.code + ': ' + error.message : String(error);
  }
  return undefined;
}

function appendsTo(f: Fixture): Append[] {
  return f.log.submitted.flat().filter((m): m is Append => m.kind === 'append');
}

describe.each(['aegis-256', 'aes-256-gcm'] as const)('%s stream through the engine', (cipher) => {
  it('stores envelopes sealed and commands plain; reads back plaintext with plaintext sizes', async () => {
    const f = await cipherFixture(cipher);
    const records = [rec('alpha'), fence('tok'), rec('beta'), trim(0n)];
    const ack = await f.engine.append('enc-basin', 's', { records }, { encryptionKey: keyA() });
    expect(ack.end.seqNum).toBe(4);
    const stored = appendsTo(f).flatMap((a) => a.records);
    expect(stored.map((r) => isSealed(r.headers))).toEqual([true, false, true, false]);
    expect(stored.map((r) => text(r.body)).join('')).not.toMatch(/alpha|beta/);
    expect(text(stored[1]!.body)).toBe('tok');

    const read = await f.engine.read(
      'enc-basin',
      's',
      { start: { seqNum: 0 }, clamp: false },
      { encryptionKey: keyA() },
    );
    expect(read.records.map((r) => text(r.body))).toEqual(['alpha', 'tok', 'beta', text(trim(0n).body)]);
    expect(read.records[1]!.headers.map(([n, v]) => [text(n), text(v)])).toEqual([['', 'fence']]);
    // A bytes limit counts the plaintext: 'alpha' is 13 metered bytes, the fence 18.
    const limited = await f.engine.read(
      'enc-basin',
      's',
      { start: { seqNum: 0 }, clamp: false, bytes: 31 },
      { encryptionKey: keyA() },
    );
    expect(limited.records.map((r) => r.seqNum)).toEqual([0, 1]);
  });

  it('refuses a missing or invalid key with bad_header before anything is written', async () => {
    const f = await cipherFixture(cipher);
    expect(await code(f.engine.append('enc-basin', 's', input(['x'])))).toBe(
      `bad_header: missing encryption key for stream cipher '${cipher}'`,
    );
    expect(
      await code(f.engine.append('enc-basin', 's', input(['x']), { encryptionKey: EncryptionKey.fromBase64('abc') })),
    ).toBe(`bad_header: invalid encryption key for stream cipher '${cipher}': invalid base64`);
    const short = EncryptionKey.fromBase64(Buffer.alloc(16, 1).toString('base64'));
    expect(await code(f.engine.append('enc-basin', 's', input(['x']), { encryptionKey: short }))).toBe(
      `bad_header: invalid encryption key length for stream cipher '${cipher}': 16`,
    );
    expect(await code(f.engine.openReadSession('enc-basin', 's', { clamp: false }))).toMatch(/^bad_header: missing/);
    expect(appendsTo(f)).toEqual([]);
    // Check-tail never needs a key.
    expect((await f.engine.checkTail('enc-basin', 's')).seqNum).toBe(0);
  });

  it('a wrong key reads as decryption_failed; commands alone still read', async () => {
    const f = await cipherFixture(cipher);
    await f.engine.append('enc-basin', 's', { records: [fence('t')] }, { encryptionKey: keyA() });
    await f.engine.append('enc-basin', 's', input(['secret']), { encryptionKey: keyA() });
    const commandsOnly = await f.engine.read(
      'enc-basin',
      's',
      { start: { seqNum: 0 }, clamp: false, count: 1 },
      { encryptionKey: keyB() },
    );
    expect(commandsOnly.records.map((r) => text(r.body))).toEqual(['t']);
    expect(
      await code(f.engine.read('enc-basin', 's', { start: { seqNum: 0 }, clamp: false }, { encryptionKey: keyB() })),
    ).toBe('decryption_failed: record decryption failed');
  });

  it('live (follow) batches are opened with the reader key', async () => {
    const f = await cipherFixture(cipher);
    await f.engine.checkTail('enc-basin', 's');
    const session = await f.engine.openReadSession(
      'enc-basin',
      's',
      { start: { seqNum: 0 }, clamp: false, waitSecs: 30 },
      { encryptionKey: keyA() },
    );
    const first = await session.next();
    expect(first.value).toMatchObject({ kind: 'heartbeat' });
    const pending = session.next();
    await f.engine.append('enc-basin', 's', input(['live one']), { encryptionKey: keyA() });
    const batch = (await pending).value!;
    expect(batch.kind).toBe('batch');
    expect(batch.kind === 'batch' && batch.tail !== undefined).toBe(true);
    expect(batch.kind === 'batch' && batch.records.map((r) => text(r.body))).toEqual(['live one']);
    session.close();
  });

  it('a sealed record copied into another stream does not open there', async () => {
    const f = await cipherFixture(cipher);
    await f.engine.append('enc-basin', 'a', input(['from a']), { encryptionKey: keyA() });
    const sealed = appendsTo(f)[0]!.records[0]!;
    const a = f.engine.ctx.state.stream('enc-basin', 'a')!;
    await f.engine.append('enc-basin', 'b', input(['own b']), { encryptionKey: keyA() });
    const b = f.engine.ctx.state.stream('enc-basin', 'b')!;
    const session = await f.engine.openReadSession(
      'enc-basin',
      'b',
      { start: { seqNum: 0 }, clamp: false },
      { encryptionKey: keyA() },
    );
    // Deliver a's stored record as if it were b's: the associated data names the stream.
    const cipherOfB = (session as unknown as { cipher: { openRecords(r: unknown[]): unknown } }).cipher;
    expect(() => cipherOfB.openRecords([{ ...sealed, seqNum: 0 }])).toThrow('record decryption failed');
    session.close();
    expect(a.id).not.toBe(b.id);
  });

  it('a key wiped at the end of its request is never used again', async () => {
    const f = await cipherFixture(cipher);
    const key = keyA();
    const session = await f.engine.openAppendSession('enc-basin', 's', { encryptionKey: key });
    await (
      await session.submit(input(['one']))
    ).ack;
    key.wipe();
    expect(await code(Promise.resolve(session.submit(input(['two']))))).toBe(
      'other: encryption key used after its request ended',
    );
    session.close();
    expect(String(key)).toBe('[redacted]');
    expect(JSON.stringify({ key })).toBe('{"key":"[redacted]"}');
  });
});

describe('streams without a cipher', () => {
  it('ignore any key, even an invalid one, and store plaintext', async () => {
    const f = await setup();
    await f.engine.createBasin('plain-basin', { createStreamOnAppend: true, createStreamOnRead: true });
    await f.engine.append('plain-basin', 's', input(['clear']), { encryptionKey: EncryptionKey.fromBase64('!!!!') });
    expect(text(appendsTo(f)[0]!.records[0]!.body)).toBe('clear');
    const read = await f.engine.read(
      'plain-basin',
      's',
      { start: { seqNum: 0 }, clamp: false },
      { encryptionKey: keyB() },
    );
    expect(read.records.map((r) => text(r.body))).toEqual(['clear']);
  });
});

describe('the AES-256-GCM seq_num cap (api.md 7.1 step 7)', () => {
  async function nearCap(cipher: Cipher): Promise<Fixture> {
    const f = await cipherFixture(cipher);
    await f.engine.checkTail('enc-basin', 's');
    // Driven there directly: no streamer exists yet, so the next one starts from this tail.
    f.engine.ctx.state.stream('enc-basin', 's')!.tail = { seqNum: aesGcmSeqNumMax - 1, timestamp: 0n };
    f.log.hold(); // storage never sees these (its own tail is 0)
    return f;
  }

  it('assigns up to 4294967295 and refuses envelopes beyond, but not commands', async () => {
    const f = await nearCap('aes-256-gcm');
    const opts = { encryptionKey: keyA() };
    void f.engine.append('enc-basin', 's', input(['a']), opts).catch(() => {});
    void f.engine.append('enc-basin', 's', input(['b']), opts).catch(() => {});
    await settle();
    expect(f.log.heldCount).toBe(2);
    expect(await code(f.engine.append('enc-basin', 's', input(['c']), opts))).toBe(
      'invalid: max assignable sequence number is 4294967295; attempted 4294967296',
    );
    expect(await code(f.engine.append('enc-basin', 's', { records: [fence('x'), rec('d')] }, opts))).toBe(
      'invalid: max assignable sequence number is 4294967295; attempted 4294967297',
    );
    void f.engine.append('enc-basin', 's', { records: [fence('x'), trim(0n)] }, opts).catch(() => {});
    await settle();
    expect(f.log.heldCount).toBe(3);
    f.log.fail();
  });

  it('does not apply to AEGIS-256', async () => {
    const f = await nearCap('aegis-256');
    for (let i = 0; i < 3; i++)
      void f.engine.append('enc-basin', 's', input(['x']), { encryptionKey: keyA() }).catch(() => {});
    await settle();
    expect(f.log.heldCount).toBe(3);
    f.log.fail();
  });
});
