/**
 * `/v1/basins` routes (api.md 3.1-3.6).
 */
import { errors } from '../../domain/errors.js';
import { basinNameProblem, basinPrefixProblem } from '../../engine/names.js';
import type { Engine } from '../../engine/engine.js';
import {
  asObject,
  basinConfigJson,
  basinInfoJson,
  parseBasinConfig,
  parseBasinConfigPatch,
} from '../codec/config-json.js';
import type { Router } from '../router.js';
import { accessOf } from '../auth/request.js';
import { basinParam, bodyName, jsonBody, listQuery, optionalJsonBody, requestToken } from './common.js';
import { paths } from '../paths.js';

const locationPattern = /^[A-Za-z0-9:.-]{1,64}$/;

/** `location` is validated when present, then ignored by lite (api.md 3.2). */
function checkLocation(body: Record<string, unknown>): void {
  const location = body.location;
  if (location === undefined || location === null) return;
  if (typeof location !== 'string' || !locationPattern.test(location)) {
    throw errors.badJson('Failed to deserialize the JSON body into the target type: location: invalid location name');
  }
}

export function registerBasinRoutes(router: Router, engine: Engine): void {
  router.add('GET', paths.basins, async (ctx) => {
    // Only the basins the token may see, counted before paging (docs/security.md).
    const visible = accessOf(ctx).basinList(listQuery(ctx, basinPrefixProblem));
    if (!visible) return ctx.sendJson(200, '{"basins":[],"has_more":false}');
    const page = await engine.listBasins(visible.query);
    const basins = page.basins.filter((basin) => visible.keep(basin.name));
    ctx.sendJson(200, JSON.stringify({ basins: basins.map(basinInfoJson), has_more: page.hasMore }));
  });

  router.add('POST', paths.basins, async (ctx) => {
    const token = requestToken(ctx);
    const body = asObject(await jsonBody(ctx), 'body');
    const basin = bodyName(body, 'basin', basinNameProblem);
    accessOf(ctx).basin(basin);
    const config = parseBasinConfig(body.config);
    checkLocation(body);
    const { outcome, info } = await engine.createBasin(basin, config, token);
    ctx.sendJson(201, JSON.stringify(basinInfoJson(info)), { 's2-provision-result': outcome });
  });

  router.add('GET', paths.basin, async (ctx) => {
    const basin = basinParam(ctx);
    ctx.sendJson(200, JSON.stringify(basinConfigJson(await engine.getBasinConfig(basin))));
  });

  router.add('PUT', paths.basin, async (ctx) => {
    const basin = basinParam(ctx);
    const raw = await optionalJsonBody(ctx);
    const body = raw === undefined || raw === null ? {} : asObject(raw, 'body');
    const config = parseBasinConfig(body.config);
    checkLocation(body);
    const { outcome, info } = await engine.ensureBasin(basin, config);
    ctx.sendJson(outcome === 'created' ? 201 : 200, JSON.stringify(basinInfoJson(info)), {
      's2-provision-result': outcome,
    });
  });

  router.add('PATCH', paths.basin, async (ctx) => {
    const basin = basinParam(ctx);
    const patch = parseBasinConfigPatch(await jsonBody(ctx));
    ctx.sendJson(200, JSON.stringify(basinConfigJson(await engine.reconfigureBasin(basin, patch))));
  });

  router.add('DELETE', paths.basin, async (ctx) => {
    const basin = basinParam(ctx);
    await engine.deleteBasin(basin);
    ctx.send(202, undefined);
  });
}
