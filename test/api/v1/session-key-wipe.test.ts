/**
 * Proves that an `S2-Encryption-Key` carried by a streaming-session request is wiped whatever
 * ends the request, including refusals before the session opens (session cap reached, a bad
 * S2-Format header), not only when an opened session ends.
 */
import { describe, expect, it } from 'vitest';
import type { Engine } from '../../../src/engine/engine.js';
import { EncryptionKey } from '../../../src/engine/encryption/key.js';
import type { RequestContext } from '../../../src/api/http.js';
import { StreamingSessions } from '../../../src/api/v1/sessions.js';

const key = (): EncryptionKey => EncryptionKey.fromBytes(new Uint8Array(32).fill(7));

/** Only what the sessions read before opening: the connection and two headers. */
function context(headers: Record<string, string> = {}): RequestContext {
  return {
    connection: {},
    header: (name: string) => headers[name],
    headerValues: (name: string) => (headers[name] === undefined ? [] : [headers[name]]),
  } as unknown as RequestContext;
}

/** An engine that must not be reached: every refusal here happens before opening. */
const unreachable = new Proxy({}, { get: () => () => Promise.reject(new Error('engine reached')) }) as Engine;

function wiped(k: EncryptionKey): boolean {
  try {
    k.material('aegis-256');
    return false;
  } catch (error) {
    return String((error as Error).message).includes('after its request ended');
  }
}

describe('streaming sessions wipe the encryption key', () => {
  it('when the session cap refuses the session', async () => {
    const sessions = new StreamingSessions(unreachable);
    sessions.slots.max = 0;
    const k = key();
    await expect(sessions.append(context(), { basin: 'b', stream: 's', encryptionKey: k })).rejects.toMatchObject({
      code: 'unavailable',
    });
    expect(wiped(k)).toBe(true);
  });

  it('when a read session is refused before opening', async () => {
    const sessions = new StreamingSessions(unreachable);
    sessions.slots.max = 0;
    const k = key();
    await expect(
      sessions.readS2S(context(), { basin: 'b', stream: 's', encryptionKey: k }, { start: { seqNum: 0 } }),
    ).rejects.toMatchObject({ code: 'unavailable' });
    expect(wiped(k)).toBe(true);
  });

  it('when an SSE read has a bad S2-Format header', async () => {
    const sessions = new StreamingSessions(unreachable);
    const k = key();
    await expect(
      sessions.readSse(context({ 's2-format': 'nonsense' }), { basin: 'b', stream: 's', encryptionKey: k }, {
        start: { seqNum: 0 },
      }),
    ).rejects.toMatchObject({ code: 'bad_header' });
    expect(wiped(k)).toBe(true);
  });

  it('and a key that was not refused is still usable before the request ends', () => {
    expect(wiped(key())).toBe(false);
  });
});
