/**
 * The access-token store (issue 18): issue, revoke and list tokens, and the stored root token,
 * kept like basins: the in-memory view changes when the commit is submitted, the caller is
 * answered once it is durable. The engine never sees a token's secret, only its hash; scopes are
 * values it keeps, and enforcing them is the api layer's job (src/api/auth/).
 */
import type { AccessTokenMeta } from '../domain/access-tokens.js';
import { errors } from '../domain/errors.js';
import { assert } from '../util/assert.js';
import type { ListQuery } from './basins.js';
import type { EngineContext } from './context.js';
import { listPage, type AccessTokenState } from './state.js';

export async function issueAccessToken(ctx: EngineContext, id: string, meta: AccessTokenMeta): Promise<void> {
  const { state } = ctx;
  if (state.accessTokens.has(id)) {
    await ctx.log.barrier();
    throw errors.accessTokenExists(id);
  }
  // 256 random bits: a collision means a broken random source, not a condition to handle.
  assert(!state.accessTokensByHash.has(meta.hash), 'access token hash collision');
  state.addAccessToken({ id, meta });
  await ctx.log.commit([{ kind: 'access-token.put', id, meta }]);
}

/** Refused at once (authentication looks tokens up in the view), answered once durable. */
export async function revokeAccessToken(ctx: EngineContext, id: string): Promise<void> {
  const token = ctx.state.accessTokens.get(id);
  if (!token) {
    await ctx.log.barrier();
    throw errors.accessTokenNotFound(id);
  }
  ctx.state.removeAccessToken(token);
  await ctx.log.commit([{ kind: 'access-token.delete', id }]);
}

export async function listAccessTokens(
  ctx: EngineContext,
  query: ListQuery,
): Promise<{ tokens: AccessTokenState[]; hasMore: boolean }> {
  await ctx.log.barrier();
  const page = listPage(ctx.state.accessTokens, query);
  return { tokens: page.items, hasMore: page.hasMore };
}

/** Stores the hash of a newly generated root token, replacing the previous one. */
export async function storeRootTokenHash(ctx: EngineContext, hash: string): Promise<void> {
  ctx.state.rootTokenHash = hash;
  await ctx.log.commit([{ kind: 'root-token.put', hash }]);
}
