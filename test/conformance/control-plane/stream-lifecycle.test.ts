/**
 * Proves stream deletion (api.md 3.12, 12.2, lite-internals 3.7 and 5.2 items 15-20): DELETE
 * answers 202 with an empty body, a deleting stream stays listed with `deleted_at` and answers
 * 409 stream_deletion_pending to config and provisioning calls, and after the purge the name can
 * be recreated as a brand-new stream. Pending states are observed on a server whose background
 * tasks run only when the test says so; the last test proves the triggered run happens by itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttp2Sessions, uniqueBasin, type Protocol } from '../../support/http.js';
import { startServer, type TestServer } from '../../support/server.js';
import {
  api,
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

describe.each<Protocol>(['h1', 'h2c'])('stream deletion over %s', (protocol) => {
  const c = () => api(paused.baseUrl, protocol);
  async function basinWith(...streams: string[]): Promise<string> {
    const basin = uniqueBasin();
    expectProvision(await c().createBasin(basin), 201, 'created');
    for (const name of streams) expectProvision(await c().streams(basin).create(name), 201, 'created');
    return basin;
  }
  const purged = (basin: string, stream: string) => async () => (await c().streams(basin).get(stream)).status === 404;

  it('answers DELETE with 202 and an empty body', async () => {
    const basin = await basinWith('doomed');
    const res = await c().streams(basin).delete('doomed');
    expect(res.status).toBe(202);
    expect(res.body.length).toBe(0);
  });

  it('answers a missing stream with 404 stream_not_found, also when the basin does not exist', async () => {
    const basin = await basinWith();
    expectError(
      await c().streams(basin).delete('ghost'),
      404,
      'stream_not_found',
      `stream \`ghost\` in basin \`${basin}\` not found`,
    );
    expectError(await c().streams(uniqueBasin('missing')).delete('ghost'), 404, 'stream_not_found');
  });

  it('requires the S2-Basin header', async () => {
    expectError(
      await c().raw({ method: 'DELETE', path: '/v1/streams/x' }),
      400,
      'bad_header',
      'Missing header `s2-basin`',
    );
  });

  it('keeps a deleting stream in the listing with deleted_at set', async () => {
    const basin = await basinWith('alive', 'deleting');
    const before = (await c().streams(basin).list()).json().streams;
    await c().streams(basin).delete('deleting');
    const after = (await c().streams(basin).list()).json();
    expect(after.has_more).toBe(false);
    expect(after.streams).toHaveLength(2);
    expect(after.streams[0]).toEqual(before[0]);
    expect(after.streams[1]).toMatchObject({ name: 'deleting', created_at: before[1].created_at, cipher: null });
    expect(after.streams[1].deleted_at).toEqual(expect.any(String));
    expect(Date.parse(after.streams[1].deleted_at)).toBeGreaterThanOrEqual(Date.parse(before[1].created_at));
  });

  it('answers get, create, ensure and reconfigure of a deleting stream with 409 stream_deletion_pending', async () => {
    const basin = await basinWith('pending');
    const s = c().streams(basin);
    await s.create('tokened', undefined, { 's2-request-token': 'tok' });
    await s.delete('pending');
    await s.delete('tokened');
    const message = 'stream deletion pending';
    expectError(await s.get('pending'), 409, 'stream_deletion_pending', message);
    expectError(await s.create('pending'), 409, 'stream_deletion_pending', message);
    expectError(await s.ensure('pending'), 409, 'stream_deletion_pending', message);
    expectError(await s.ensure('pending', { storage_class: 'standard' }), 409, 'stream_deletion_pending', message);
    expectError(await s.patch('pending', { storage_class: 'standard' }), 409, 'stream_deletion_pending', message);
    // Not even an idempotent retry of the original create gets through.
    expectError(await s.create('tokened', undefined, { 's2-request-token': 'tok' }), 409, 'stream_deletion_pending');
  });

  it('still validates a reconfigure of a deleting stream first (422 before 409)', async () => {
    const basin = await basinWith('pending');
    await c().streams(basin).delete('pending');
    expectError(
      await c()
        .streams(basin)
        .patch('pending', { retention_policy: { age: 0 } }),
      422,
      'invalid',
    );
  });

  it('answers a second DELETE of a deleting stream with 202', async () => {
    const basin = await basinWith('twice');
    expect((await c().streams(basin).delete('twice')).status).toBe(202);
    const again = await c().streams(basin).delete('twice');
    expect(again.status).toBe(202);
    expect(again.body.length).toBe(0);
  });

  it('deletes a stream in a deleting basin as usual', async () => {
    const basin = await basinWith('in-deleting-basin');
    await c().deleteBasin(basin);
    expect((await c().streams(basin).delete('in-deleting-basin')).status).toBe(202);
  });

  it('purges a deleted stream in the background; the name can then be recreated as a new stream', async () => {
    const basin = await basinWith();
    const s = c().streams(basin);
    const first = (await s.create('phoenix', { storage_class: 'standard', retention_policy: { infinite: {} } })).json();
    await s.delete('phoenix');
    await finishBackground(paused, 'the stream is purged', purged(basin, 'phoenix'));
    expectError(await s.get('phoenix'), 404, 'stream_not_found');
    expectError(await s.delete('phoenix'), 404, 'stream_not_found');
    expectError(await s.patch('phoenix', {}), 404, 'stream_not_found');
    expect((await s.list()).json()).toEqual({ streams: [], has_more: false });
    const again = await s.create('phoenix');
    expectProvision(again, 201, 'created');
    expect(again.json()).toMatchObject({ name: 'phoenix', deleted_at: null });
    expect(Date.parse(again.json().created_at)).toBeGreaterThanOrEqual(Date.parse(first.created_at));
    // The new stream does not inherit the old one's config.
    expect((await s.get('phoenix')).json()).toEqual(systemDefaults);
  });

  it('deletes and purges a stream of a basin with a cipher (the terminal trim is not encrypted)', async () => {
    const basin = uniqueBasin();
    await c().createBasin(basin, { stream_cipher: 'aegis-256' });
    const s = c().streams(basin);
    expect((await s.create('secret')).json().cipher).toBe('aegis-256');
    expect((await s.delete('secret')).status).toBe(202);
    expectError(await s.get('secret'), 409, 'stream_deletion_pending');
    await finishBackground(paused, 'the stream is purged', purged(basin, 'secret'));
    expectProvision(await s.create('secret'), 201, 'created');
  });

  it('recreates a purged stream with ensure, and deletes names that need percent-encoding', async () => {
    const basin = await basinWith('a/b c');
    const s = c().streams(basin);
    expect((await s.delete('a/b c')).status).toBe(202);
    expectError(await s.get('a/b c'), 409, 'stream_deletion_pending');
    await finishBackground(paused, 'the stream is purged', purged(basin, 'a/b c'));
    expectProvision(await s.ensure('a/b c'), 201, 'created');
  });
});

describe.each<Protocol>(['h1', 'h2c'])('triggered stream purge over %s', (protocol) => {
  it('purges a deleted stream on its own shortly after the DELETE', async () => {
    const c = api(live.baseUrl, protocol);
    const basin = uniqueBasin();
    await c.createBasin(basin);
    await c.streams(basin).create('auto');
    expect((await c.streams(basin).delete('auto')).status).toBe(202);
    await eventually('the stream is purged', async () => (await c.streams(basin).get('auto')).status === 404);
    expectProvision(await c.streams(basin).create('auto'), 201, 'created');
  });
});
