/**
 * `/v1/access-tokens` routes (issue 18; openapi `issue_access_token`, `list_access_tokens`,
 * `revoke_access_token`), served when the server runs with `--auth`. The route's operation was
 * checked before the handler (server.ts); here the token id is checked against the issuer's
 * `access_tokens` set, and an issued scope against the issuer's whole scope (docs/security.md).
 */
import { errors } from '../../domain/errors.js';
import type { Engine } from '../../engine/engine.js';
import { accessOf } from '../auth/request.js';
import { scopeWiderThan } from '../auth/scope.js';
import {
  accessTokenIdProblem,
  accessTokenInfoJson,
  accessTokenPrefixProblem,
  parseIssueRequest,
  type IssueRequest,
} from '../auth/scope-json.js';
import { mintToken } from '../auth/token.js';
import type { Principal } from '../auth/access.js';
import type { Router } from '../router.js';
import { jsonBody, listQuery } from './common.js';
import { paths } from '../paths.js';

/**
 * The new token's expiry: the requested one, or the issuer's when none is given (openapi
 * `expires_at`); never later than the issuer's, and in the future.
 */
function expiryOf(request: IssueRequest, issuer: Principal, nowMs: number): number | null {
  const expiresAtMs = request.expiresAtMs ?? issuer.expiresAtMs;
  if (issuer.expiresAtMs !== null && (expiresAtMs === null || expiresAtMs > issuer.expiresAtMs)) {
    throw errors.permissionDenied('permission denied: a token cannot outlive the token that issues it');
  }
  if (expiresAtMs !== null && expiresAtMs <= nowMs) throw errors.invalid('`expires_at` must be in the future');
  return expiresAtMs;
}

export function registerAccessTokenRoutes(router: Router, engine: Engine): void {
  router.add('GET', paths.accessTokens, async (ctx) => {
    const visible = accessOf(ctx).accessTokenList(listQuery(ctx, accessTokenPrefixProblem));
    if (!visible) return ctx.sendJson(200, '{"access_tokens":[],"has_more":false}');
    const page = await engine.listAccessTokens(visible.query);
    const tokens = page.tokens.filter((token) => visible.keep(token.id));
    ctx.sendJson(
      200,
      JSON.stringify({
        access_tokens: tokens.map((token) => accessTokenInfoJson(token.id, token.meta)),
        has_more: page.hasMore,
      }),
    );
  });

  router.add('POST', paths.accessTokens, async (ctx) => {
    const access = accessOf(ctx);
    const request = parseIssueRequest(await jsonBody(ctx));
    access.accessToken(request.id);
    const streams = request.scope.streams;
    if (request.autoPrefixStreams && (streams === null || !('prefix' in streams))) {
      throw errors.invalid('`auto_prefix_streams` requires the streams scope to be a prefix');
    }
    const wider = scopeWiderThan(request.scope, access.principal.scope);
    if (wider) throw errors.permissionDenied(`permission denied: ${wider}`);
    const nowMs = engine.ctx.clock.nowMs();
    const expiresAtMs = expiryOf(request, access.principal, nowMs);
    const { token, hash } = mintToken();
    await engine.issueAccessToken(request.id, {
      scope: request.scope,
      autoPrefixStreams: request.autoPrefixStreams,
      expiresAtMs,
      issuedAtMs: nowMs,
      hash,
    });
    // The secret is in this body only: no cache may keep it (RFC 9111 5.2.2.5).
    ctx.sendJson(201, JSON.stringify({ access_token: token }), { 'cache-control': 'no-store' });
  });

  router.add('DELETE', paths.accessToken, async (ctx) => {
    const id = ctx.params.id!;
    const problem = accessTokenIdProblem(id);
    if (problem) throw errors.badPath(`Invalid URL: ${problem}`);
    accessOf(ctx).accessToken(id);
    await engine.revokeAccessToken(id);
    ctx.send(204, undefined);
  });
}
