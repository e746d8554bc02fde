/**
 * The official SDK as the tests' client of a test server: one attempt (a retry would hide the
 * refusal or fault a test is about) and a long request timeout (the SDK's 5 s default would be a
 * timed assertion on a loaded 2-core machine).
 */
import { S2 } from '@s2-dev/streamstore';

export function sdkClient(baseUrl: string, compression: 'none' | 'gzip' = 'none'): S2 {
  return new S2({
    accessToken: 'ignored',
    endpoints: { account: baseUrl, basin: baseUrl },
    retry: { maxAttempts: 1 },
    requestTimeoutMillis: 60_000,
    compression,
  });
}
