/**
 * Proves `POST /v1/streams` and `GET /v1/streams/{stream}` (api.md 3.8-3.9, 4.3-4.4, 5.1, 11.2,
 * lite-internals 5.2 items 1-6, 10) over HTTP/1.1 and h2c: resolution against basin defaults and
 * system defaults, the cipher taken from the basin, request-token idempotency, names that need
 * percent-encoding and the error cases.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttp2Sessions, uniqueBasin, type Protocol } from '../../support/http.js';
import { startServer, type TestServer } from '../../support/server.js';
import { api, expectError, expectProvision, jsonHeaders, sleep, systemDefaults } from './api.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  closeHttp2Sessions();
  await server.stop();
});

describe.each<Protocol>(['h1', 'h2c'])('create and get stream over %s', (protocol) => {
  const c = () => api(server.baseUrl, protocol);
  async function newBasin(config?: unknown): Promise<string> {
    const basin = uniqueBasin();
    expectProvision(await c().createBasin(basin, config), 201, 'created');
    return basin;
  }

  it('creates a stream: 201 created with StreamInfo, and GET returns the system defaults resolved', async () => {
    const basin = await newBasin();
    const res = await c().streams(basin).create('events');
    expectProvision(res, 201, 'created');
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.json()).toEqual({ name: 'events', created_at: expect.any(String), deleted_at: null, cipher: null });
    const config = await c().streams(basin).get('events');
    expect(config.status).toBe(200);
    expect(config.json()).toEqual(systemDefaults);
  });

  it('stores an explicit config and returns it fully resolved', async () => {
    const basin = await newBasin();
    const config = {
      storage_class: 'standard',
      retention_policy: { infinite: {} },
      timestamping: { mode: 'client-require', uncapped: true },
      delete_on_empty: { min_age_secs: 120 },
    };
    await c().streams(basin).create('full', config);
    expect((await c().streams(basin).get('full')).json()).toEqual(config);
  });

  it('fills every field the request leaves unset from the basin defaults, then the system defaults', async () => {
    const basin = await newBasin({
      default_stream_config: {
        storage_class: 'standard',
        retention_policy: { age: 3600 },
        timestamping: { mode: 'arrival' },
        delete_on_empty: { min_age_secs: 60 },
      },
    });
    await c().streams(basin).create('inherits');
    expect((await c().streams(basin).get('inherits')).json()).toEqual({
      storage_class: 'standard',
      retention_policy: { age: 3600 },
      timestamping: { mode: 'arrival', uncapped: false },
      delete_on_empty: { min_age_secs: 60 },
    });
    // Field by field: the stream's own values win, mode and uncapped resolve independently, and an
    // explicit min_age_secs 0 overrides the basin's 60.
    await c()
      .streams(basin)
      .create('mixed', {
        retention_policy: { infinite: {} },
        timestamping: { uncapped: true },
        delete_on_empty: { min_age_secs: 0 },
      });
    expect((await c().streams(basin).get('mixed')).json()).toEqual({
      storage_class: 'standard',
      retention_policy: { infinite: {} },
      timestamping: { mode: 'arrival', uncapped: true },
      delete_on_empty: { min_age_secs: 0 },
    });
  });

  it('does not change existing streams when the basin defaults change later', async () => {
    const basin = await newBasin({ default_stream_config: { storage_class: 'standard' } });
    await c().streams(basin).create('before');
    await c().patchBasin(basin, { default_stream_config: { storage_class: 'express', retention_policy: { age: 10 } } });
    await c().streams(basin).create('after');
    expect((await c().streams(basin).get('before')).json()).toEqual({ ...systemDefaults, storage_class: 'standard' });
    expect((await c().streams(basin).get('after')).json()).toEqual({
      ...systemDefaults,
      retention_policy: { age: 10 },
    });
  });

  it('gives a stream the basin cipher at creation and keeps it when the basin cipher changes', async () => {
    const basin = await newBasin({ stream_cipher: 'aegis-256' });
    expect((await c().streams(basin).create('old')).json().cipher).toBe('aegis-256');
    await c().patchBasin(basin, { stream_cipher: 'aes-256-gcm' });
    expect((await c().streams(basin).create('new')).json().cipher).toBe('aes-256-gcm');
    await c().patchBasin(basin, { stream_cipher: null });
    expect((await c().streams(basin).create('plain')).json().cipher).toBeNull();
    const listed = (await c().streams(basin).list()).json().streams;
    expect(listed.map((s: { name: string; cipher: string | null }) => [s.name, s.cipher])).toEqual([
      ['new', 'aes-256-gcm'],
      ['old', 'aegis-256'],
      ['plain', null],
    ]);
  });

  it('answers a retry with the same token and requested config with 201 noop and the original StreamInfo', async () => {
    const basin = await newBasin();
    const s = c().streams(basin);
    const first = await s.create('idem', { storage_class: 'standard' }, { 's2-request-token': 'abc' });
    await sleep(5);
    const retry = await s.create('idem', { storage_class: 'standard' }, { 's2-request-token': 'abc' });
    expectProvision(retry, 201, 'noop');
    expect(retry.json()).toEqual(first.json());
  });

  it('rejects another token, another config or no token on an existing stream with 409', async () => {
    const basin = await newBasin();
    const s = c().streams(basin);
    await s.create('taken', { storage_class: 'standard' }, { 's2-request-token': 'one' });
    const exists = `stream \`taken\` in basin \`${basin}\` already exists`;
    expectError(
      await s.create('taken', { storage_class: 'standard' }, { 's2-request-token': 'two' }),
      409,
      'resource_already_exists',
      exists,
    );
    expectError(
      await s.create('taken', { storage_class: 'express' }, { 's2-request-token': 'one' }),
      409,
      'resource_already_exists',
      exists,
    );
    expectError(await s.create('taken', { storage_class: 'standard' }), 409, 'resource_already_exists', exists);
  });

  it('keys idempotency on the requested config, so changed basin defaults do not break a retry', async () => {
    const basin = await newBasin({ default_stream_config: { storage_class: 'standard' } });
    const s = c().streams(basin);
    await s.create('keyed', { retention_policy: { age: 99 } }, { 's2-request-token': 'tk' });
    await c().patchBasin(basin, { default_stream_config: { storage_class: 'express' } });
    expectProvision(
      await s.create('keyed', { retention_policy: { age: 99 } }, { 's2-request-token': 'tk' }),
      201,
      'noop',
    );
  });

  it('checks the request token before the S2-Basin header', async () => {
    const res = await c().raw({
      method: 'POST',
      path: '/v1/streams',
      headers: { ...jsonHeaders, 's2-request-token': 't'.repeat(37) },
      body: JSON.stringify({ stream: 'x' }),
    });
    expectError(res, 400, 'bad_header', /request token was longer than 36 bytes in length: 37/);
  });

  it('requires the S2-Basin header and a valid basin name in it', async () => {
    const body = JSON.stringify({ stream: 'x' });
    expectError(
      await c().raw({ method: 'POST', path: '/v1/streams', headers: jsonHeaders, body }),
      400,
      'bad_header',
      'Missing header `s2-basin`',
    );
    expectError(
      await c().raw({ method: 'POST', path: '/v1/streams', headers: { ...jsonHeaders, 's2-basin': 'NOPE' }, body }),
      400,
      'bad_header',
    );
  });

  it('answers 404 basin_not_found when the basin does not exist', async () => {
    const basin = uniqueBasin('missing');
    expectError(await c().streams(basin).create('x'), 404, 'basin_not_found', `basin \`${basin}\` not found`);
  });

  it('accepts any UTF-8 stream name of 1-512 bytes, including "/" and spaces', async () => {
    const basin = await newBasin();
    const s = c().streams(basin);
    const tricky = ['a/b', 'with space', 'üñí/cødé', '%41', 'q?x=1#frag', '...', 'x'.repeat(512), 'é'.repeat(256)];
    for (const name of tricky) {
      expectProvision(await s.create(name), 201, 'created');
      const got = await s.get(name);
      expect({ name, status: got.status }).toEqual({ name, status: 200 });
      expect(got.json()).toEqual(systemDefaults);
    }
    // "%41" is a name of its own, not "A".
    expectError(await s.get('A'), 404, 'stream_not_found');
  });

  it.each([
    ['an empty stream name', { stream: '' }],
    ['the name "."', { stream: '.' }],
    ['the name ".."', { stream: '..' }],
    ['a name longer than 512 bytes', { stream: 'x'.repeat(513) }],
    ['a name of 257 two-byte characters', { stream: 'é'.repeat(257) }],
    ['a missing stream field', { config: {} }],
    ['a non-string stream', { stream: 7 }],
    ['an unknown storage class', { stream: 'x', config: { storage_class: 'glacier' } }],
    ['a string retention age', { stream: 'x', config: { retention_policy: { age: '60' } } }],
    ['a non-boolean uncapped', { stream: 'x', config: { timestamping: { uncapped: 1 } } }],
    ['a negative min_age_secs', { stream: 'x', config: { delete_on_empty: { min_age_secs: -5 } } }],
  ])('rejects %s with 400 bad_json', async (_what, body) => {
    const basin = await newBasin();
    expectError(await c().json('POST', '/v1/streams', body, { 's2-basin': basin }), 400, 'bad_json');
    expect((await c().streams(basin).list()).json()).toEqual({ streams: [], has_more: false });
  });

  it('rejects a retention age of 0 with 422 invalid, even before checking that the basin exists', async () => {
    const basin = await newBasin();
    expectError(
      await c()
        .streams(basin)
        .create('x', { retention_policy: { age: 0 } }),
      422,
      'invalid',
      'age must be greater than 0 seconds',
    );
    expectError(
      await c()
        .streams(uniqueBasin('missing'))
        .create('x', { retention_policy: { age: 0 } }),
      422,
      'invalid',
    );
  });

  it('requires a JSON content type', async () => {
    const basin = await newBasin();
    const res = await c().raw({
      method: 'POST',
      path: '/v1/streams',
      headers: { 's2-basin': basin },
      body: '{"stream":"x"}',
    });
    expectError(res, 400, 'bad_json', 'Expected request with `Content-Type: application/json`');
  });

  it('answers GET of a missing stream with 404 stream_not_found, also when the basin is missing', async () => {
    const basin = await newBasin();
    expectError(
      await c().streams(basin).get('ghost'),
      404,
      'stream_not_found',
      `stream \`ghost\` in basin \`${basin}\` not found`,
    );
    expectError(await c().streams(uniqueBasin('missing')).get('ghost'), 404, 'stream_not_found');
  });

  it('answers an invalid stream name in the path with 400 bad_path', async () => {
    const basin = await newBasin();
    const h = { 's2-basin': basin };
    for (const path of [
      '/v1/streams/%2E',
      '/v1/streams/%2E%2E',
      `/v1/streams/${'x'.repeat(513)}`,
      '/v1/streams/%E0%A4%A',
    ]) {
      expectError(await c().raw({ path, headers: h }), 400, 'bad_path');
      expectError(await c().raw({ method: 'DELETE', path, headers: h }), 400, 'bad_path');
    }
  });
});
