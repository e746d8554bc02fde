/**
 * `S2-Encryption-Key` (api.md 2, 6.5, 13): base64 of a 32-byte key, for appends and reads on
 * streams with a cipher. Extracted with the other headers, before the body: a trimmed value
 * outside 1-44 characters is 400 `bad_header` whatever the stream. Whether it decodes to 32
 * bytes is decided when the stream is opened, and only if the stream has a cipher (engine
 * /encryption/key.ts). The value is never echoed in an error, and the key is wiped when the
 * request or session that carried it ends (`withEncryptionKey`).
 */
import { errors } from '../../domain/errors.js';
import { EncryptionKey } from '../../engine/encryption/key.js';
import { encryptionKeyHeaderCharsMax } from '../../limits.js';
import type { RequestContext } from '../http.js';

export const encryptionKeyHeaderName = 's2-encryption-key';

export function encryptionKeyHeader(ctx: RequestContext): EncryptionKey | undefined {
  const value = ctx.header(encryptionKeyHeaderName);
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed.length === 0 || trimmed.length > encryptionKeyHeaderCharsMax) {
    throw errors.invalidHeader(
      encryptionKeyHeaderName,
      `encryption key must be 1-${encryptionKeyHeaderCharsMax} characters after trimming, was ${trimmed.length}`,
    );
  }
  return EncryptionKey.fromBase64(trimmed);
}

/** Runs `body` with the request's key (if any) and wipes the key when it settles. */
export async function withEncryptionKey<T>(
  key: EncryptionKey | undefined,
  body: (options: { encryptionKey?: EncryptionKey }) => Promise<T>,
): Promise<T> {
  try {
    return await body(key ? { encryptionKey: key } : {});
  } finally {
    key?.wipe();
  }
}
