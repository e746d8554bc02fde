/**
 * Token text (docs/security.md "Tokens"): minting a secret, hashing it, and reading the bearer
 * token of a request. Issued tokens are `s2l_` followed by 32 random bytes (256 bits, from
 * `node:crypto`) in base64url; the server keeps only SHA-256 of the text. A fast hash is enough
 * because the secret has full entropy: nothing can be guessed from the hash. A root token given
 * by the operator may have any bearer-token syntax but must be at least `rootTokenCharsMin` long.
 */
import { createHash, randomBytes } from 'node:crypto';
import { errors } from '../../domain/errors.js';
import { accessTokenSecretBytes, bearerTokenCharsMax } from '../../limits.js';
import type { Request } from '../http.js';

export const issuedTokenPrefix = 's2l_';

/** RFC 6750 `b64token`: what may follow `Bearer `. */
const bearerTokenSyntax = /^[A-Za-z0-9\-._~+/]+=*$/;

/** A fresh secret token and its hash (the only thing stored). */
export function mintToken(): { token: string; hash: string } {
  const token = issuedTokenPrefix + randomBytes(accessTokenSecretBytes).toString('base64url');
  return { token, hash: tokenHash(token) };
}

/** SHA-256 of the token text, base64url without padding (43 characters). */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/** Why `token` is not a usable bearer token, or null. Never includes the token. */
export function tokenSyntaxProblem(token: string): string | null {
  if (token.length === 0) return 'empty token';
  if (token.length > bearerTokenCharsMax) return `token longer than ${bearerTokenCharsMax} characters`;
  if (!bearerTokenSyntax.test(token)) return 'token has characters outside the bearer token syntax';
  return null;
}

const authorizationName = 'authorization';

/**
 * The bearer token of a request. Missing, malformed or not `Bearer` is 401 `authn`; a repeated
 * header is 400 `bad_header` (which one would count is ambiguous, so neither does). Raw headers
 * are scanned because Node keeps only the first `Authorization` in `req.headers`.
 */
export function bearerToken(req: Request): string {
  const raw = req.rawHeaders;
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length !== authorizationName.length || name.toLowerCase() !== authorizationName) continue;
    if (value !== undefined) throw errors.invalidHeader(authorizationName, 'repeated');
    value = raw[i + 1]!;
  }
  if (value === undefined) throw errors.authn('missing `Authorization: Bearer` header');
  const space = value.indexOf(' ');
  if (space < 0 || value.slice(0, space).toLowerCase() !== 'bearer') {
    throw errors.authn('expected `Authorization: Bearer <token>`');
  }
  const token = value.slice(space + 1).trim();
  const problem = tokenSyntaxProblem(token);
  if (problem) throw errors.authn(`malformed access token: ${problem}`);
  return token;
}
