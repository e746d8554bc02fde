/**
 * `/v1/streams` routes (api.md 3.7-3.12). The basin comes from the `S2-Basin` header.
 */
import { streamNameProblem, streamPrefixProblem } from '../../engine/names.js';
import type { Engine } from '../../engine/engine.js';
import {
  asObject,
  parseStreamConfigLayer,
  parseStreamConfigPatch,
  streamConfigJson,
  streamInfoJson,
} from '../codec/config-json.js';
import type { Router } from '../router.js';
import { streamInfo } from '../../engine/streams.js';
import { basinHeader, bodyName, jsonBody, listQuery, optionalJsonBody, requestToken, streamParam } from './common.js';
import { paths } from '../paths.js';

export function registerStreamRoutes(router: Router, engine: Engine): void {
  router.add('GET', paths.streams, async (ctx) => {
    const basin = basinHeader(ctx);
    const query = listQuery(ctx, streamPrefixProblem);
    const page = await engine.listStreams(basin, query);
    ctx.sendJson(200, JSON.stringify({ streams: page.streams.map(streamInfoJson), has_more: page.hasMore }));
  });

  router.add('POST', paths.streams, async (ctx) => {
    const token = requestToken(ctx);
    const basin = basinHeader(ctx);
    const body = asObject(await jsonBody(ctx), 'body');
    const name = bodyName(body, 'stream', streamNameProblem);
    const config = parseStreamConfigLayer(body.config);
    const { outcome, stream } = await engine.createStream(basin, name, config, token);
    ctx.sendJson(201, JSON.stringify(streamInfoJson(streamInfo(stream))), { 's2-provision-result': outcome });
  });

  router.add('GET', paths.stream, async (ctx) => {
    const basin = basinHeader(ctx);
    const stream = streamParam(ctx);
    ctx.sendJson(200, JSON.stringify(streamConfigJson(await engine.getStreamConfig(basin, stream))));
  });

  router.add('PUT', paths.stream, async (ctx) => {
    const basin = basinHeader(ctx);
    const name = streamParam(ctx);
    // The ensure-stream body is a bare StreamConfig, unlike ensure-basin (api.md 3.10).
    const config = parseStreamConfigLayer(await optionalJsonBody(ctx), 'body');
    const { outcome, stream } = await engine.ensureStream(basin, name, config);
    ctx.sendJson(outcome === 'created' ? 201 : 200, JSON.stringify(streamInfoJson(streamInfo(stream))), {
      's2-provision-result': outcome,
    });
  });

  router.add('PATCH', paths.stream, async (ctx) => {
    const basin = basinHeader(ctx);
    const stream = streamParam(ctx);
    const patch = parseStreamConfigPatch(await jsonBody(ctx));
    ctx.sendJson(200, JSON.stringify(streamConfigJson(await engine.reconfigureStream(basin, stream, patch))));
  });

  router.add('DELETE', paths.stream, async (ctx) => {
    const basin = basinHeader(ctx);
    const stream = streamParam(ctx);
    await engine.deleteStream(basin, stream);
    ctx.send(202, undefined);
  });
}
