/**
 * Extraction helpers shared by the v1 handlers, each failing with the error code api.md gives
 * for that kind of input (bad_header, bad_path, bad_query, bad_json). The basin and stream
 * helpers also authorize the name against the request's access token (403 `permission_denied`),
 * and a stream name comes back as stored: with the token's auto-prefix (auth/access.ts).
 */
import { errors } from '../../domain/errors.js';
import { listLimitMax, requestTokenBytesMax } from '../../limits.js';
import { basinNameProblem, streamNameProblem } from '../../engine/names.js';
import type { RequestContext } from '../http.js';
import { Query } from '../query.js';
import { parseJsonText } from '../json-body.js';
import { accessOf } from '../auth/request.js';

/** The `S2-Basin` header every `/v1/streams...` route needs (api.md 1.3). */
export function basinHeader(ctx: RequestContext): string {
  const basin = ctx.requiredHeader('s2-basin');
  const problem = basinNameProblem(basin);
  if (problem) throw errors.invalidHeader('s2-basin', problem);
  accessOf(ctx).basin(basin);
  return basin;
}

export function basinParam(ctx: RequestContext): string {
  const basin = ctx.params.basin!;
  const problem = basinNameProblem(basin);
  if (problem) throw errors.badPath(`Invalid URL: ${problem}`);
  accessOf(ctx).basin(basin);
  return basin;
}

export function streamParam(ctx: RequestContext): string {
  const stream = ctx.params.stream!;
  const problem = streamNameProblem(stream);
  if (problem) throw errors.badPath(`Invalid URL: ${problem}`);
  return accessOf(ctx).stream(stream, (message) => errors.badPath(`Invalid URL: ${message}`));
}

/** The name a create body carries (`basin` or `stream`, api.md 3.2 and 3.8), checked by `problemOf`. */
export function bodyName(
  body: Record<string, unknown>,
  field: 'basin' | 'stream',
  problemOf: (name: string) => string | null,
): string {
  const name = body[field];
  const prefix = 'Failed to deserialize the JSON body into the target type';
  if (typeof name !== 'string') throw errors.badJson(`${prefix}: missing or invalid field \`${field}\``);
  const problem = problemOf(name);
  if (problem) throw errors.badJson(`${prefix}: ${field}: ${problem}`);
  return name;
}

export function requestToken(ctx: RequestContext): string | undefined {
  const token = ctx.header('s2-request-token');
  if (token !== undefined && Buffer.byteLength(token) > requestTokenBytesMax) {
    throw errors.invalidHeader(
      's2-request-token',
      `request token was longer than ${requestTokenBytesMax} bytes in length: ${Buffer.byteLength(token)}`,
    );
  }
  return token;
}

export function listQuery(
  ctx: RequestContext,
  validate: (value: string, what: 'prefix' | 'start-after') => string | null,
): { prefix: string; startAfter: string; limit: number } {
  const query = new Query(ctx.query);
  const prefix = query.string('prefix') ?? '';
  const startAfter = query.string('start_after') ?? '';
  const limitRaw = query.number('limit');
  for (const [value, what] of [
    [prefix, 'prefix'],
    [startAfter, 'start-after'],
  ] as const) {
    const problem = validate(value, what);
    if (problem) throw errors.badQuery(problem);
  }
  // 0 or anything above the maximum silently becomes the maximum (api.md 3.1).
  const limit = limitRaw === undefined || limitRaw === 0 || limitRaw > listLimitMax ? listLimitMax : limitRaw;
  return { prefix, startAfter, limit };
}

const expectedJson = 'Expected request with `Content-Type: application/json`';

/** A required JSON body (api.md 1.7). */
export async function jsonBody(ctx: RequestContext): Promise<unknown> {
  if (!ctx.isJsonContentType()) throw errors.badJson(expectedJson);
  const body = await ctx.body(errors.badJson);
  return parseJsonText(body.toString('utf8'));
}

/**
 * The optional body of the ensure (PUT) routes: a missing Content-Type or an empty body means
 * "no body"; a present non-JSON content type is still an error.
 */
export async function optionalJsonBody(ctx: RequestContext): Promise<unknown> {
  const contentType = ctx.mediaType('content-type');
  const body = await ctx.body(errors.badJson);
  if (contentType === undefined || body.length === 0) return undefined;
  if (!ctx.isJsonContentType()) throw errors.badJson(expectedJson);
  return parseJsonText(body.toString('utf8'));
}
