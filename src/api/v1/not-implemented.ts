/**
 * Routes lite answers with 501 (api.md 1.2), and the access-token routes when the server runs
 * without `--auth`. Request extraction runs first, so malformed input gets the 4xx of that input
 * rather than the 501.
 */
import { errors } from '../../domain/errors.js';
import { basinNameProblem, streamNameProblem } from '../../engine/names.js';
import { accessOf } from '../auth/request.js';
import { accessTokenIdProblem, parseIssueRequest } from '../auth/scope-json.js';
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

/** `accessTokens`: the access-token routes too (without `--auth`; with it, v1/access-tokens.ts serves them). */
export function registerNotImplementedRoutes(router: Router, options: { accessTokens: boolean }): void {
  if (options.accessTokens) registerAccessTokenStubs(router);
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
    accessOf(ctx).basin(ctx.params.basin!);
    metricsQuery(ctx, basinMetricSets);
    notImplemented();
  });
  router.add('GET', paths.streamMetrics, async (ctx) => {
    const problem = basinNameProblem(ctx.params.basin!) ?? streamNameProblem(ctx.params.stream!);
    if (problem) throw errors.badPath(`Invalid URL: ${problem}`);
    const access = accessOf(ctx);
    access.basin(ctx.params.basin!);
    access.stream(ctx.params.stream!, (message) => errors.badPath(`Invalid URL: ${message}`));
    metricsQuery(ctx, streamMetricSets);
    notImplemented();
  });
}

function registerAccessTokenStubs(router: Router): void {
  router.add('GET', paths.accessTokens, async (ctx) => {
    const query = new Query(ctx.query);
    query.string('prefix');
    query.string('start_after');
    query.number('limit');
    notImplemented();
  });
  router.add('POST', paths.accessTokens, async (ctx) => {
    parseIssueRequest(await jsonBody(ctx));
    notImplemented();
  });
  router.add('DELETE', paths.accessToken, async (ctx) => {
    const problem = accessTokenIdProblem(ctx.params.id!);
    if (problem) throw errors.badPath(`Invalid URL: ${problem}`);
    notImplemented();
  });
}
