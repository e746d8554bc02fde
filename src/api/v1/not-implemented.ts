/**
 * Routes lite answers with 501 (api.md 1.2). Request extraction runs first, so malformed input
 * gets the 4xx of that input rather than the 501.
 */
import { errors } from '../../domain/errors.js';
import { basinNameProblem, streamNameProblem } from '../../engine/names.js';
import { asObject } from '../codec/config-json.js';
import type { Router } from '../router.js';
import { Query } from '../query.js';
import type { RequestContext } from '../http.js';
import { jsonBody } from './common.js';
import { paths } from '../paths.js';

function notImplemented(): never {
  throw errors.notImplemented();
}

const accountMetricSets = ['active-basins', 'account-ops'];
const basinMetricSets = ['storage', 'append-ops', 'read-ops', 'read-throughput', 'append-throughput', 'basin-ops'];
const streamMetricSets = ['storage'];
const intervals = ['minute', 'hour', 'day'];

/** The query of the metrics routes: a required `set` of the level's sets, optional range and interval. */
function metricsQuery(ctx: RequestContext, sets: string[]): void {
  const query = new Query(ctx.query);
  const set = query.string('set');
  if (set === undefined) throw errors.badQuery('missing field `set`');
  if (!sets.includes(set)) throw errors.badQuery(`set: unknown variant \`${set}\`, expected one of ${sets.join(', ')}`);
  query.bigint('start');
  query.bigint('end');
  const interval = query.string('interval');
  if (interval !== undefined && !intervals.includes(interval)) {
    throw errors.badQuery(`interval: unknown variant \`${interval}\`, expected one of ${intervals.join(', ')}`);
  }
}

function accessTokenIdProblem(id: string): string | null {
  const bytes = Buffer.byteLength(id);
  if (bytes < 1 || bytes > 96) return 'access token id must be 1-96 bytes';
  if (id === '.' || id === '..') return 'access token id must not be "." or ".."';
  if (id.includes('\0')) return 'access token id must not contain NUL bytes';
  return null;
}

const rfc3339 = /^\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$/;

/** An IssueAccessTokenRequest must deserialize (api.md 1.2) before the 501. */
function checkIssueAccessToken(value: unknown): void {
  const body = asObject(value, 'body');
  const fail = (detail: string): never => {
    throw errors.badJson(`Failed to deserialize the JSON body into the target type: ${detail}`);
  };
  if (typeof body.id !== 'string') fail('missing or invalid field `id`');
  const problem = accessTokenIdProblem(body.id as string);
  if (problem) fail(`id: ${problem}`);
  if (body.scope === null || typeof body.scope !== 'object' || Array.isArray(body.scope))
    fail('missing or invalid field `scope`');
  const expiresAt = body.expires_at;
  if (expiresAt !== undefined && expiresAt !== null) {
    if (typeof expiresAt !== 'string' || !rfc3339.test(expiresAt) || Number.isNaN(Date.parse(expiresAt))) {
      fail('expires_at: expected an RFC 3339 timestamp');
    }
  }
  if (body.auto_prefix_streams !== undefined && typeof body.auto_prefix_streams !== 'boolean') {
    fail('auto_prefix_streams: expected a boolean');
  }
}

export function registerNotImplementedRoutes(router: Router): void {
  router.add('GET', paths.accessTokens, async (ctx) => {
    const query = new Query(ctx.query);
    query.string('prefix');
    query.string('start_after');
    query.number('limit');
    notImplemented();
  });
  router.add('POST', paths.accessTokens, async (ctx) => {
    checkIssueAccessToken(await jsonBody(ctx));
    notImplemented();
  });
  router.add('DELETE', paths.accessToken, async (ctx) => {
    const problem = accessTokenIdProblem(ctx.params.id!);
    if (problem) throw errors.badPath(`Invalid URL: ${problem}`);
    notImplemented();
  });
  router.add('GET', paths.locations, async () => notImplemented());
  router.add('GET', paths.defaultLocation, async () => notImplemented());
  router.add('PUT', paths.defaultLocation, async (ctx) => {
    if (typeof (await jsonBody(ctx)) !== 'string') {
      throw errors.badJson('Failed to deserialize the JSON body into the target type: expected a location name');
    }
    notImplemented();
  });
  router.add('GET', paths.accountMetrics, async (ctx) => {
    metricsQuery(ctx, accountMetricSets);
    notImplemented();
  });
  router.add('GET', paths.basinMetrics, async (ctx) => {
    const problem = basinNameProblem(ctx.params.basin!);
    if (problem) throw errors.badPath(`Invalid URL: ${problem}`);
    metricsQuery(ctx, basinMetricSets);
    notImplemented();
  });
  router.add('GET', paths.streamMetrics, async (ctx) => {
    const problem = basinNameProblem(ctx.params.basin!) ?? streamNameProblem(ctx.params.stream!);
    if (problem) throw errors.badPath(`Invalid URL: ${problem}`);
    metricsQuery(ctx, streamMetricSets);
    notImplemented();
  });
}
