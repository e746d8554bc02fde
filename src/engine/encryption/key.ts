/**
 * A client's encryption key (`S2-Encryption-Key`, api.md 2, 13) as a value object: decoded once
 * by the api layer, resolved against the stream's cipher when the stream is opened, and wiped
 * (zero-filled) when the request or session ends. It never prints: `toString`, JSON and
 * `util.inspect` show `[redacted]`, so no log line or error can carry it by accident.
 *
 * The api layer only checks the header's length (1-44 characters after trimming, api.md 6.5);
 * whether it is valid base64 of 32 bytes is decided here, and only for streams with a cipher:
 * for streams without one the header is ignored (api.md 13, lite-internals 3.16).
 */
import { inspect } from 'node:util';
import { errors } from '../../domain/errors.js';
import type { Cipher } from '../../domain/types.js';
import { decodeBase64Strict } from '../../util/base64.js';
import { keyBytes } from './aead.js';

export class EncryptionKey {
  private bytes: Uint8Array | null;
  private wiped = false;

  private constructor(bytes: Uint8Array | null) {
    this.bytes = bytes;
  }

  /** From the trimmed header value; invalid base64 is remembered, and reported only if a cipher needs the key. */
  static fromBase64(text: string): EncryptionKey {
    return new EncryptionKey(decodeBase64Strict(text));
  }

  /** From raw key bytes (embedding and tests); the bytes are copied. */
  static fromBytes(bytes: Uint8Array): EncryptionKey {
    return new EncryptionKey(Uint8Array.from(bytes));
  }

  /**
   * The 32 key bytes for a stream with `cipher` (api.md 10.3 messages); 400 `bad_header` if the
   * header was not valid base64 or did not decode to 32 bytes.
   */
  material(cipher: Cipher): Uint8Array {
    if (this.wiped) throw errors.other('encryption key used after its request ended');
    if (this.bytes === null)
      throw errors.badHeader(`invalid encryption key for stream cipher '${cipher}': invalid base64`);
    if (this.bytes.length !== keyBytes) {
      throw errors.badHeader(`invalid encryption key length for stream cipher '${cipher}': ${this.bytes.length}`);
    }
    return this.bytes;
  }

  /** Zero-fills the key bytes; later use throws. */
  wipe(): void {
    this.bytes?.fill(0);
    this.bytes = null;
    this.wiped = true;
  }

  toString(): string {
    return '[redacted]';
  }

  toJSON(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return 'EncryptionKey([redacted])';
  }
}

/** 400 `bad_header` for a stream with a cipher and no key (api.md 10.3). */
export function missingKey(cipher: Cipher): Error {
  return errors.badHeader(`missing encryption key for stream cipher '${cipher}'`);
}
