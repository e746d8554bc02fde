/**
 * The authenticate step of the request pipeline (docs/security.md): bearer token -> SHA-256 ->
 * one map lookup in the engine's token view (or the root token's hash) -> an `Access`. Hashes
 * are compared in constant time; a token's text is never logged, stored or echoed.
 *
 * Per request this costs one SHA-256 of ~50 bytes, one Map lookup and two small objects; the
 * compiled principal of each issued token is cached (weakly, by the engine's token record).
 */
import { timingSafeEqual } from 'node:crypto';
import { errors } from '../../domain/errors.js';
import type { Engine } from '../../engine/engine.js';
import type { AccessTokenState } from '../../engine/state.js';
import type { Clock } from '../../util/clock.js';
import type { Request } from '../http.js';
import { Access, principalOf, rootPrincipal, type Principal } from './access.js';
import { bearerToken, tokenHash } from './token.js';

export interface AuthOptions {
  /**
   * Hash of the root token the operator gave (`--root-token-file`, `S2LITE_ROOT_TOKEN`); it
   * replaces the stored one. Absent: the root token is the one whose hash the data store holds.
   */
  rootTokenHash?: string;
  /** `/metrics` requires a token allowed `account-metrics` (default: public). */
  metricsAuth?: boolean;
}

const principals = new WeakMap<AccessTokenState, Principal>();

function principalOfToken(token: AccessTokenState): Principal {
  let principal = principals.get(token);
  if (!principal) {
    const { scope, autoPrefixStreams, expiresAtMs } = token.meta;
    principal = principalOf(token.id, scope, autoPrefixStreams, expiresAtMs);
    principals.set(token, principal);
  }
  return principal;
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'base64url');
  const y = Buffer.from(b, 'base64url');
  return x.length === y.length && timingSafeEqual(x, y);
}

export class Authenticator {
  constructor(
    private readonly options: AuthOptions,
    private readonly clock: Clock,
  ) {}

  get metricsAuth(): boolean {
    return this.options.metricsAuth === true;
  }

  /** Who sent `req`, or 401 `authn` (400 `bad_header` for a repeated Authorization header). */
  authenticate(req: Request, engine: Engine): Access {
    const hash = tokenHash(bearerToken(req));
    const root = this.options.rootTokenHash ?? engine.rootTokenHash;
    if (root !== null && sameHash(hash, root)) return new Access(rootPrincipal, () => null);
    const token = engine.accessTokenByHash(hash);
    // The lookup is by hash already; the constant-time compare guards the map against a wrong hit.
    if (!token || !sameHash(hash, token.meta.hash)) throw errors.authn('invalid access token');
    const principal = principalOfToken(token);
    if (this.expired(principal)) throw errors.authn('access token expired');
    return new Access(principal, () => {
      if (!engine.isIssued(token)) return 'access token revoked';
      return this.expired(principal) ? 'access token expired' : null;
    });
  }

  private expired(principal: Principal): boolean {
    return principal.expiresAtMs !== null && this.clock.nowMs() >= principal.expiresAtMs;
  }
}
