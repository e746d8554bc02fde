/**
 * Proves `PUT /v1/streams/{stream}` (ensure, a bare StreamConfig resolved against the current
 * basin defaults) and `PATCH /v1/streams/{stream}` (reconfigure; nulls fall back to the *current*
 * basin defaults, then the system defaults) (api.md 3.10-3.11, 5.2-5.4, lite-internals 3.14 and
 * 5.2 items 7-12) over HTTP/1.1 and h2c.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttp2Sessions, uniqueBasin, type Protocol } from '../../support/http.js';
import { startServer, type TestServer } from '../../support/server.js';
import { api, expectError, expectProvision, sleep, streamPath, systemDefaults } from './api.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  closeHttp2Sessions();
  await server.stop();
});

describe.each<Protocol>(['h1', 'h2c'])('ensure stream over %s', (protocol) => {
  const c = () => api(server.baseUrl, protocol);
  async function newBasin(config?: unknown): Promise<string> {
    const basin = uniqueBasin();
    expectProvision(await c().createBasin(basin, config), 201, 'created');
    return basin;
  }

  it('creates (201), then answers noop (200) for the same config and updated (200) for another', async () => {
    const basin = await newBasin({ stream_cipher: 'aegis-256' });
    const s = c().streams(basin);
    const created = await s.ensure('ens', { storage_class: 'standard' });
    expectProvision(created, 201, 'created');
    expect(created.json()).toEqual({
      name: 'ens',
      created_at: expect.any(String),
      deleted_at: null,
      cipher: 'aegis-256',
    });
    await sleep(5);
    const noop = await s.ensure('ens', { storage_class: 'standard' });
    expectProvision(noop, 200, 'noop');
    expect(noop.json()).toEqual(created.json());
    await c().patchBasin(basin, { stream_cipher: 'aes-256-gcm' });
    const updated = await s.ensure('ens', { storage_class: 'standard', retention_policy: { age: 42 } });
    expectProvision(updated, 200, 'updated');
    // created_at and the cipher survive an update.
    expect(updated.json()).toEqual(created.json());
    expect((await s.get('ens')).json()).toEqual({
      ...systemDefaults,
      storage_class: 'standard',
      retention_policy: { age: 42 },
    });
  });

  it('takes a bare StreamConfig body, not one wrapped in "config"', async () => {
    const basin = await newBasin();
    const s = c().streams(basin);
    await s.ensure('bare', { retention_policy: { infinite: {} } });
    expect((await s.get('bare')).json().retention_policy).toEqual({ infinite: {} });
    // A wrapped body is an object with an unknown field: ignored, so the config resets to defaults.
    expectProvision(await s.ensure('bare', { config: { retention_policy: { infinite: {} } } }), 200, 'updated');
    expect((await s.get('bare')).json()).toEqual(systemDefaults);
  });

  it('resets fields the request leaves out to the basin defaults or system defaults', async () => {
    const basin = await newBasin({ default_stream_config: { retention_policy: { age: 7200 } } });
    const s = c().streams(basin);
    await s.create('reset', {
      storage_class: 'standard',
      retention_policy: { infinite: {} },
      timestamping: { mode: 'arrival', uncapped: true },
      delete_on_empty: { min_age_secs: 5 },
    });
    expectProvision(await s.ensure('reset', { timestamping: { mode: 'arrival' } }), 200, 'updated');
    expect((await s.get('reset')).json()).toEqual({
      ...systemDefaults,
      retention_policy: { age: 7200 },
      timestamping: { mode: 'arrival', uncapped: false },
    });
    // No body at all = an empty config.
    expectProvision(await s.ensure('reset'), 200, 'updated');
    expect((await s.get('reset')).json()).toEqual({ ...systemDefaults, retention_policy: { age: 7200 } });
  });

  it('is a noop when the resolved config matches, even though the basin defaults now differ', async () => {
    const basin = await newBasin({
      default_stream_config: { storage_class: 'standard', retention_policy: { age: 100 } },
    });
    const s = c().streams(basin);
    const explicit = { storage_class: 'standard', retention_policy: { age: 100 } };
    await s.create('match');
    await c().patchBasin(basin, { default_stream_config: { storage_class: 'express', retention_policy: { age: 5 } } });
    expectProvision(await s.ensure('match', explicit), 200, 'noop');
    expect((await s.get('match')).json()).toEqual({ ...systemDefaults, ...explicit });
  });

  it('keeps an explicit delete_on_empty of 0 over a basin default and ensures it again as a noop', async () => {
    const basin = await newBasin({ default_stream_config: { delete_on_empty: { min_age_secs: 60 } } });
    const s = c().streams(basin);
    expectProvision(await s.ensure('zero', { delete_on_empty: { min_age_secs: 0 } }), 201, 'created');
    expect((await s.get('zero')).json().delete_on_empty).toEqual({ min_age_secs: 0 });
    expectProvision(await s.ensure('zero', { delete_on_empty: { min_age_secs: 0 } }), 200, 'noop');
    expectProvision(await s.ensure('zero', {}), 200, 'updated');
    expect((await s.get('zero')).json().delete_on_empty).toEqual({ min_age_secs: 60 });
  });

  it('keeps the creation idempotency key, so a create retry with the original token is still a noop', async () => {
    const basin = await newBasin();
    const s = c().streams(basin);
    await s.create('keyed', { storage_class: 'standard' }, { 's2-request-token': 'orig' });
    expectProvision(await s.ensure('keyed', { timestamping: { mode: 'arrival' } }), 200, 'updated');
    // Ensure replaced the whole config: storage class went back to the default.
    expect((await s.get('keyed')).json()).toEqual({
      ...systemDefaults,
      timestamping: { mode: 'arrival', uncapped: false },
    });
    expectProvision(
      await s.create('keyed', { storage_class: 'standard' }, { 's2-request-token': 'orig' }),
      201,
      'noop',
    );
  });

  it('answers a missing basin with 404 basin_not_found and validates the body first', async () => {
    const missing = uniqueBasin('missing');
    expectError(await c().streams(missing).ensure('x', {}), 404, 'basin_not_found');
    expectError(
      await c()
        .streams(missing)
        .ensure('x', { retention_policy: { age: 0 } }),
      422,
      'invalid',
    );
    expectError(await c().streams(missing).ensure('x', { storage_class: 'slow' }), 400, 'bad_json');
  });

  it('treats a missing Content-Type or empty body as no body, and rejects a non-JSON one', async () => {
    const basin = await newBasin();
    const h = { 's2-basin': basin };
    const ignored = await c().raw({
      method: 'PUT',
      path: streamPath('nb'),
      headers: h,
      body: '{"storage_class":"standard"}',
    });
    expectProvision(ignored, 201, 'created');
    expect((await c().streams(basin).get('nb')).json()).toEqual(systemDefaults);
    const empty = await c().raw({
      method: 'PUT',
      path: streamPath('nb'),
      headers: { ...h, 'content-type': 'application/json' },
    });
    expectProvision(empty, 200, 'noop');
    const wrong = await c().raw({
      method: 'PUT',
      path: streamPath('nb'),
      headers: { ...h, 'content-type': 'text/plain' },
      body: '{"storage_class":"standard"}',
    });
    expectError(wrong, 400, 'bad_json', 'Expected request with `Content-Type: application/json`');
  });

  it('requires the S2-Basin header', async () => {
    expectError(
      await c().raw({ method: 'PUT', path: streamPath('x') }),
      400,
      'bad_header',
      'Missing header `s2-basin`',
    );
  });
});

describe.each<Protocol>(['h1', 'h2c'])('reconfigure stream over %s', (protocol) => {
  const c = () => api(server.baseUrl, protocol);
  async function newBasin(config?: unknown): Promise<string> {
    const basin = uniqueBasin();
    expectProvision(await c().createBasin(basin, config), 201, 'created');
    return basin;
  }

  it('updates only the fields given and returns the full resolved config', async () => {
    const basin = await newBasin();
    const s = c().streams(basin);
    await s.create('rc', { delete_on_empty: { min_age_secs: 30 } });
    const res = await s.patch('rc', {
      storage_class: 'standard',
      retention_policy: { infinite: {} },
      timestamping: { mode: 'arrival', uncapped: true },
    });
    expect(res.status).toBe(200);
    const expected = {
      storage_class: 'standard',
      retention_policy: { infinite: {} },
      timestamping: { mode: 'arrival', uncapped: true },
      delete_on_empty: { min_age_secs: 30 },
    };
    expect(res.json()).toEqual(expected);
    expect((await s.get('rc')).json()).toEqual(expected);
    // Nested members patch individually.
    const nested = await s.patch('rc', { timestamping: { uncapped: false }, delete_on_empty: { min_age_secs: 90 } });
    expect(nested.json()).toEqual({
      ...expected,
      timestamping: { mode: 'arrival', uncapped: false },
      delete_on_empty: { min_age_secs: 90 },
    });
    expect((await s.patch('rc', {})).json()).toEqual(nested.json());
  });

  it('resets null fields to the current basin defaults, then to the system defaults', async () => {
    const basin = await newBasin();
    const s = c().streams(basin);
    await s.create('nulls', {
      storage_class: 'standard',
      retention_policy: { age: 10 },
      timestamping: { mode: 'client-require', uncapped: true },
      delete_on_empty: { min_age_secs: 1 },
    });
    // The basin defaults change after the stream was created; reset uses the new ones.
    await c().patchBasin(basin, {
      default_stream_config: {
        storage_class: 'standard',
        retention_policy: { infinite: {} },
        timestamping: { mode: 'arrival', uncapped: true },
        delete_on_empty: { min_age_secs: 300 },
      },
    });
    const res = await s.patch('nulls', {
      storage_class: null,
      retention_policy: null,
      timestamping: null,
      delete_on_empty: null,
    });
    expect(res.json()).toEqual({
      storage_class: 'standard',
      retention_policy: { infinite: {} },
      timestamping: { mode: 'arrival', uncapped: true },
      delete_on_empty: { min_age_secs: 300 },
    });
    // With no basin defaults left, the same reset gives the system defaults.
    await c().patchBasin(basin, { default_stream_config: null });
    await s.patch('nulls', { storage_class: 'standard', timestamping: { mode: 'client-require' } });
    const reset = await s.patch('nulls', {
      storage_class: null,
      retention_policy: null,
      timestamping: { mode: null },
      delete_on_empty: null,
    });
    expect(reset.json()).toEqual({ ...systemDefaults, timestamping: { mode: 'client-prefer', uncapped: true } });
  });

  it('checks in order: 422 invalid, basin missing, stream missing', async () => {
    const missingBasin = uniqueBasin('missing');
    const zero = { retention_policy: { age: 0 } };
    expectError(await c().streams(missingBasin).patch('x', zero), 422, 'invalid');
    expectError(
      await c().streams(missingBasin).patch('x', {}),
      404,
      'basin_not_found',
      `basin \`${missingBasin}\` not found`,
    );
    const basin = await newBasin();
    expectError(await c().streams(basin).patch('x', zero), 422, 'invalid');
    expectError(
      await c().streams(basin).patch('x', {}),
      404,
      'stream_not_found',
      `stream \`x\` in basin \`${basin}\` not found`,
    );
  });

  it('rejects bad JSON and a missing content type with 400 bad_json and leaves the config alone', async () => {
    const basin = await newBasin();
    const s = c().streams(basin);
    await s.create('keep');
    expectError(await s.patch('keep', { storage_class: 42 }), 400, 'bad_json');
    expectError(await s.patch('keep', { timestamping: { mode: 'sometimes' } }), 400, 'bad_json');
    expectError(await s.patch('keep', []), 400, 'bad_json');
    const noType = await c().raw({
      method: 'PATCH',
      path: streamPath('keep'),
      headers: { 's2-basin': basin },
      body: '{}',
    });
    expectError(noType, 400, 'bad_json', 'Expected request with `Content-Type: application/json`');
    expect((await s.get('keep')).json()).toEqual(systemDefaults);
  });

  it('addresses streams whose names need percent-encoding', async () => {
    const basin = await newBasin();
    const s = c().streams(basin);
    for (const name of ['a/b', 'with space', 'ünï']) {
      await s.create(name);
      expect((await s.patch(name, { storage_class: 'standard' })).json().storage_class).toBe('standard');
      expectProvision(await s.ensure(name, { storage_class: 'standard' }), 200, 'noop');
    }
  });
});
