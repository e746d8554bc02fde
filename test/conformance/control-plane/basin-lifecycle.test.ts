/**
 * Proves basin deletion (api.md 3.6, 12.1, lite-internals 3.9 and 5.1 items 7, 9): DELETE answers
 * 202 with an empty body, the basin stays visible as "deleting" and blocks provisioning with 409,
 * and once the background task has run the basin and its streams are gone and the name is free.
 * Pending states are observed on a server whose background tasks only run when the test says so;
 * the last test uses a normal server to prove the triggered run happens by itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttp2Sessions, uniqueBasin, type Protocol } from '../../support/http.js';
import { startServer, type TestServer } from '../../support/server.js';
import {
  api,
  defaultBasinConfig,
  eventually,
  expectError,
  expectProvision,
  finishBackground,
  startPausedServer,
  systemDefaults,
} from './api.js';

let paused: TestServer;
let live: TestServer;
beforeAll(async () => {
  paused = await startPausedServer();
  live = await startServer();
});
afterAll(async () => {
  closeHttp2Sessions();
  await paused.stop();
  await live.stop();
});

describe.each<Protocol>(['h1', 'h2c'])('basin deletion over %s', (protocol) => {
  const c = () => api(paused.baseUrl, protocol);
  const gone = (basin: string) => async () => (await c().getBasin(basin)).status === 404;

  it('answers DELETE with 202 and an empty body, and a missing basin with 404 basin_not_found', async () => {
    const basin = uniqueBasin();
    await c().createBasin(basin);
    const res = await c().deleteBasin(basin);
    expect(res.status).toBe(202);
    expect(res.body.length).toBe(0);
    const missing = uniqueBasin('missing');
    expectError(await c().deleteBasin(missing), 404, 'basin_not_found', `basin \`${missing}\` not found`);
  });

  it('lists a deleting basin with deleted_at and state "deleting", and still serves its config', async () => {
    const basin = uniqueBasin();
    const config = { create_stream_on_append: true, stream_cipher: 'aegis-256' };
    const created = (await c().createBasin(basin, config)).json();
    expect((await c().deleteBasin(basin)).status).toBe(202);
    const listed = (await c().listBasins(`?prefix=${basin}`)).json();
    expect(listed.basins).toHaveLength(1);
    const info = listed.basins[0];
    expect(info).toMatchObject({ name: basin, created_at: created.created_at, state: 'deleting' });
    expect(info.deleted_at).toEqual(expect.any(String));
    expect(Date.parse(info.deleted_at)).toBeGreaterThanOrEqual(Date.parse(created.created_at));
    const get = await c().getBasin(basin);
    expect(get.status).toBe(200);
    expect(get.json()).toEqual({ ...defaultBasinConfig, ...config });
  });

  it('blocks create, ensure and reconfigure of a deleting basin with 409 basin_deletion_pending', async () => {
    const basin = uniqueBasin();
    await c().createBasin(basin, undefined, { 's2-request-token': 'tok' });
    await c().deleteBasin(basin);
    const pending = `basin \`${basin}\` is being deleted`;
    expectError(await c().createBasin(basin), 409, 'basin_deletion_pending', pending);
    // Checked before idempotency: even the original token and config get 409.
    expectError(await c().createBasin(basin, undefined, { 's2-request-token': 'tok' }), 409, 'basin_deletion_pending');
    expectError(await c().ensureBasin(basin), 409, 'basin_deletion_pending', pending);
    expectError(
      await c().ensureBasin(basin, { config: { create_stream_on_read: true } }),
      409,
      'basin_deletion_pending',
    );
    expectError(await c().patchBasin(basin, { create_stream_on_read: true }), 409, 'basin_deletion_pending', pending);
  });

  it('blocks stream provisioning in a deleting basin with 409 basin_deletion_pending', async () => {
    const basin = uniqueBasin();
    await c().createBasin(basin);
    await c().streams(basin).create('existing');
    await c().deleteBasin(basin);
    const s = c().streams(basin);
    expectError(await s.create('new-stream'), 409, 'basin_deletion_pending');
    expectError(await s.ensure('new-stream'), 409, 'basin_deletion_pending');
    expectError(await s.ensure('existing', {}), 409, 'basin_deletion_pending');
    expectError(await s.patch('existing', { storage_class: 'standard' }), 409, 'basin_deletion_pending');
    // Until the background task deletes them, its streams keep answering config reads and listing.
    expect((await s.get('existing')).json()).toEqual(systemDefaults);
    const listed = (await s.list()).json();
    expect(listed.streams.map((x: { name: string; deleted_at: unknown }) => [x.name, x.deleted_at])).toEqual([
      ['existing', null],
    ]);
  });

  it('answers a second DELETE of a deleting basin with 202', async () => {
    const basin = uniqueBasin();
    await c().createBasin(basin);
    expect((await c().deleteBasin(basin)).status).toBe(202);
    const again = await c().deleteBasin(basin);
    expect(again.status).toBe(202);
    expect(again.body.length).toBe(0);
  });

  it('removes an empty basin once the background task ran, freeing the name for a new basin', async () => {
    const basin = uniqueBasin();
    const first = (await c().createBasin(basin, { create_stream_on_append: true })).json();
    await c().deleteBasin(basin);
    await finishBackground(paused, `basin ${basin} is gone`, gone(basin));
    expectError(await c().getBasin(basin), 404, 'basin_not_found');
    expectError(await c().deleteBasin(basin), 404, 'basin_not_found');
    expectError(await c().patchBasin(basin, {}), 404, 'basin_not_found');
    expect((await c().listBasins(`?prefix=${basin}`)).json()).toEqual({ basins: [], has_more: false });
    const again = await c().createBasin(basin);
    expectProvision(again, 201, 'created');
    expect(again.json()).toMatchObject({ deleted_at: null, state: 'active' });
    expect(Date.parse(again.json().created_at)).toBeGreaterThanOrEqual(Date.parse(first.created_at));
    // The new basin does not inherit the old one's config.
    expect((await c().getBasin(basin)).json()).toEqual(defaultBasinConfig);
  });

  it('deletes every stream of a deleting basin before removing it; recreated streams start fresh', async () => {
    const basin = uniqueBasin();
    await c().createBasin(basin);
    const s = c().streams(basin);
    for (const name of ['one', 'two', 'a/three']) await s.create(name, { storage_class: 'standard' });
    await s.delete('one');
    await c().deleteBasin(basin);
    await finishBackground(paused, `basin ${basin} is gone`, gone(basin));
    // Lite lists streams of a missing basin as empty.
    expect((await s.list()).json()).toEqual({ streams: [], has_more: false });
    expectError(await s.get('two'), 404, 'stream_not_found');
    expectProvision(await c().createBasin(basin), 201, 'created');
    expectProvision(await s.create('two'), 201, 'created');
    expect((await s.get('two')).json()).toEqual(systemDefaults);
  });
});

describe.each<Protocol>(['h1', 'h2c'])('triggered background run over %s', (protocol) => {
  it('finishes a basin deletion on its own shortly after the DELETE', async () => {
    const c = api(live.baseUrl, protocol);
    const basin = uniqueBasin();
    await c.createBasin(basin);
    await c.streams(basin).create('s');
    expect((await c.deleteBasin(basin)).status).toBe(202);
    await eventually(`basin ${basin} is gone`, async () => (await c.getBasin(basin)).status === 404);
    expectProvision(await c.createBasin(basin), 201, 'created');
  });
});
