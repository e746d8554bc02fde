/**
 * Standard base64 with `=` padding (RFC 4648 section 4), as `S2-Format: base64` requires (api.md 6.6).
 *
 * Node's own decoder is lenient (it skips invalid characters, accepts the URL-safe alphabet and missing padding), so
 * decoding validates first. Non-canonical encodings (non-zero bits after the last byte, e.g. `"QR=="`) are rejected as
 * well, matching the strict decoder of the Rust `base64` crate that the reference uses.
 */

// Alphabet characters then at most two `=`; together with `length % 4 === 0` this is exactly the padded form. (A
// simple character class instead of repeated 4-char groups keeps the regex linear on megabyte inputs.)
const strictBase64 = /^[A-Za-z0-9+/]*={0,2}$/;

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Decodes strict padded standard base64; returns `null` for anything else. */
export function decodeBase64Strict(text: string): Uint8Array | null {
  if (text.length === 0) return new Uint8Array(0);
  if (text.length % 4 !== 0 || !strictBase64.test(text)) return null;
  // Canonical form: the bits of the last data character that fall past the final byte must be zero.
  if (text.charCodeAt(text.length - 1) === 0x3d /* = */) {
    const twoPads = text.charCodeAt(text.length - 2) === 0x3d;
    const last = alphabet.indexOf(text[text.length - (twoPads ? 3 : 2)]);
    if ((last & (twoPads ? 0x0f : 0x03)) !== 0) return null;
  }
  return Buffer.from(text, 'base64');
}
