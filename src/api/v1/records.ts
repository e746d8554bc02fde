/**
 * `/v1/streams/{stream}/records` routes: append, read, check-tail (api.md 3.13-3.15, 6-9).
 * IN PROGRESS: the records issue fills these in; until then they answer 501.
 */
import { errors } from '../../errors.js';
import type { Engine } from '../../engine/engine.js';
import type { Router } from '../router.js';
import { basinHeader, streamParam } from './common.js';

export function registerRecordRoutes(router: Router, _engine: Engine): void {
  const pending = async (ctx: Parameters<Parameters<Router['add']>[2]>[0]) => {
    basinHeader(ctx);
    streamParam(ctx);
    throw errors.notImplemented();
  };
  router.add('GET', '/v1/streams/:stream/records/tail', pending);
  router.add('GET', '/v1/streams/:stream/records', pending);
  router.add('POST', '/v1/streams/:stream/records', pending);
}
