/**
 * The official SDK as the tests' client of a test server: one attempt (a retry would hide the
 * refusal or fault a test is about) and a long request timeout (the SDK's 5 s default would be a
 * timed assertion on a loaded 2-core machine).
 */
import { S2, type S2Stream } from '@s2-dev/streamstore';
import { expect } from 'vitest';

export function sdkClient(baseUrl: string, compression: 'none' | 'gzip' = 'none'): S2 {
  return new S2({
    accessToken: 'ignored',
    endpoints: { account: baseUrl, basin: baseUrl },
    retry: { maxAttempts: 1 },
    requestTimeoutMillis: 60_000,
    compression,
  });
}

/**
 * Reads `count` records from seq_num 0 over one read session, as bytes: each record's seq_num must
 * be the next one, and `check` sees its body. Returns how many records arrived.
 */
export async function readSessionFromStart(
  stream: S2Stream,
  count: number,
  check: (seqNum: number, body: Uint8Array) => void,
): Promise<number> {
  const read = await stream.readSession(
    { start: { from: { seqNum: 0 } }, stop: { limits: { count } } },
    { as: 'bytes' },
  );
  let next = 0;
  for await (const record of read) {
    expect(record.seqNum).toBe(next);
    check(next, record.body);
    next++;
  }
  return next;
}
