/**
 * Routes lite answers with 501 (api.md 1.2). Request extraction runs first, so malformed input
 * gets the 4xx of that input rather than the 501.
 */
import { errors } from '../../errors.js';
import { basinNameProblem, streamNameProblem } from '../../engine/names.js';
import { asObject } from '../codec/config-json.js';
import type { Router } from '../router.js';
import { Query } from '../query.js';
import type { RequestContext } from '../http.js';
import { jsonBody } from './common.js';

function notImplemented(): never {
  throw errors.notImplemented();
}

function requireSet(ctx: RequestContext): void {
  if (new Query(ctx.query).string('set') === undefined) throw errors.badQuery('missing field `set`');
}

export function registerNotImplementedRoutes(router: Router): void {
  router.add('GET', '/v1/access-tokens', async () => notImplemented());
  router.add('POST', '/v1/access-tokens', async (ctx) => {
    const body = asObject(await jsonBody(ctx), 'body');
    if (typeof body.id !== 'string' || body.scope === undefined || body.scope === null || typeof body.scope !== 'object') {
      throw errors.badJson('Failed to deserialize the JSON body into the target type: missing field `id` or `scope`');
    }
    notImplemented();
  });
  router.add('DELETE', '/v1/access-tokens/:id', async (ctx) => {
    const id = ctx.params.id!;
    const bytes = Buffer.byteLength(id);
    if (bytes < 1 || bytes > 96 || id === '.' || id === '..') {
      throw errors.badPath('Invalid URL: access token id must be 1-96 bytes and not "." or ".."');
    }
    notImplemented();
  });
  router.add('GET', '/v1/locations', async () => notImplemented());
  router.add('GET', '/v1/locations/default', async () => notImplemented());
  router.add('PUT', '/v1/locations/default', async (ctx) => {
    if (typeof (await jsonBody(ctx)) !== 'string') {
      throw errors.badJson('Failed to deserialize the JSON body into the target type: expected a location name');
    }
    notImplemented();
  });
  router.add('GET', '/v1/metrics', async (ctx) => {
    requireSet(ctx);
    notImplemented();
  });
  router.add('GET', '/v1/metrics/:basin', async (ctx) => {
    const problem = basinNameProblem(ctx.params.basin!);
    if (problem) throw errors.badPath(`Invalid URL: ${problem}`);
    requireSet(ctx);
    notImplemented();
  });
  router.add('GET', '/v1/metrics/:basin/:stream', async (ctx) => {
    const problem = basinNameProblem(ctx.params.basin!) ?? streamNameProblem(ctx.params.stream!);
    if (problem) throw errors.badPath(`Invalid URL: ${problem}`);
    requireSet(ctx);
    notImplemented();
  });
}
