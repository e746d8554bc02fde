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
import { errors } from '../../domain/errors.js';
import { accessOf } from '../auth/request.js';
import { basinHeader, bodyName, jsonBody, listQuery, optionalJsonBody, requestToken, streamParam } from './common.js';
import { paths } from '../paths.js';

export function registerStreamRoutes(router: Router, engine: Engine): void {
  router.add('GET', paths.streams, async (ctx) => {
    const basin = basinHeader(ctx);
    // Only the streams the token may see, under its auto-prefix if it has one (docs/security.md).
    const visible = accessOf(ctx).streamList(listQuery(ctx, streamPrefixProblem));
    if (!visible) return ctx.sendJson(200, '{"streams":[],"has_more":false}');
    const page = await engine.listStreams(basin, visible.query);
    const streams = page.streams
      .filter((stream) => visible.keep(stream.name))
      .map((stream) => streamInfoJson({ ...stream, name: visible.show(stream.name) }));
    ctx.sendJson(200, JSON.stringify({ streams, has_more: page.hasMore }));
  });

  router.add('POST', paths.streams, async (ctx) => {
    const token = requestToken(ctx);
    const basin = basinHeader(ctx);
    const body = asObject(await jsonBody(ctx), 'body');
    const access = accessOf(ctx);
    const name = access.stream(bodyName(body, 'stream', streamNameProblem), (message) =>
      errors.badJson(`Failed to deserialize the JSON body into the target type: stream: ${message}`),
    );
    const config = parseStreamConfigLayer(body.config);
    const { outcome, stream } = await engine.createStream(basin, name, config, token);
    const info = streamInfo(stream);
    ctx.sendJson(201, JSON.stringify(streamInfoJson({ ...info, name: access.streamOut(info.name) })), {
      's2-provision-result': outcome,
    });
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
    const info = streamInfo(stream);
    const body = JSON.stringify(streamInfoJson({ ...info, name: accessOf(ctx).streamOut(info.name) }));
    ctx.sendJson(outcome === 'created' ? 201 : 200, body, { 's2-provision-result': outcome });
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
