/**
 * Proves `PUT /v1/basins/{basin}` (ensure, a full replace) and `PATCH /v1/basins/{basin}`
 * (reconfigure, three states per field) (api.md 3.4-3.5, 5.2-5.4, lite-internals 3.14 and 5.1
 * items 2-6) over HTTP/1.1 and h2c.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttp2Sessions, uniqueBasin, type Protocol } from '../../support/http.js';
import { startServer, type TestServer } from '../../support/server.js';
import { api, defaultBasinConfig, expectError, expectProvision, sleep } from './api.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  closeHttp2Sessions();
  await server.stop();
});

const unsetLayer = { storage_class: null, retention_policy: null, timestamping: null, delete_on_empty: null };

describe.each<Protocol>(['h1', 'h2c'])('ensure basin over %s', (protocol) => {
  const c = () => api(server.baseUrl, protocol);

  it('creates a missing basin with 201 created, then answers 200 noop for the same config', async () => {
    const basin = uniqueBasin();
    const config = { create_stream_on_append: true, default_stream_config: { storage_class: 'standard' } };
    const created = await c().ensureBasin(basin, { config });
    expectProvision(created, 201, 'created');
    expect(created.json()).toMatchObject({ name: basin, location: null, deleted_at: null, state: 'active' });
    await sleep(5);
    const again = await c().ensureBasin(basin, { config });
    expectProvision(again, 200, 'noop');
    expect(again.json()).toEqual(created.json());
  });

  it('answers 200 updated with the original created_at when the config changes', async () => {
    const basin = uniqueBasin();
    const created = await c().ensureBasin(basin, { config: { create_stream_on_append: true } });
    await sleep(5);
    const updated = await c().ensureBasin(basin, {
      config: { create_stream_on_read: true, stream_cipher: 'aes-256-gcm' },
    });
    expectProvision(updated, 200, 'updated');
    expect(updated.json().created_at).toBe(created.json().created_at);
    expect((await c().getBasin(basin)).json()).toEqual({
      ...defaultBasinConfig,
      create_stream_on_read: true,
      stream_cipher: 'aes-256-gcm',
    });
  });

  it('replaces the whole config: fields the request leaves out revert to their defaults', async () => {
    const basin = uniqueBasin();
    await c().createBasin(basin, {
      create_stream_on_append: true,
      create_stream_on_read: true,
      stream_cipher: 'aegis-256',
      default_stream_config: {
        storage_class: 'standard',
        retention_policy: { infinite: {} },
        timestamping: { mode: 'arrival' },
      },
    });
    const res = await c().ensureBasin(basin, {
      config: { default_stream_config: { timestamping: { uncapped: true } } },
    });
    expectProvision(res, 200, 'updated');
    expect((await c().getBasin(basin)).json()).toEqual({
      ...defaultBasinConfig,
      default_stream_config: { ...unsetLayer, timestamping: { mode: null, uncapped: true } },
    });
  });

  it('resets everything to defaults when the body has no config', async () => {
    const basin = uniqueBasin();
    await c().createBasin(basin, { create_stream_on_append: true, stream_cipher: 'aegis-256' });
    expectProvision(await c().ensureBasin(basin, {}), 200, 'updated');
    expect((await c().getBasin(basin)).json()).toEqual(defaultBasinConfig);
    expectProvision(await c().ensureBasin(basin, { config: null }), 200, 'noop');
  });

  it('round-trips an explicit delete_on_empty of 0 and ensures it again as a noop', async () => {
    const basin = uniqueBasin();
    const config = { default_stream_config: { delete_on_empty: { min_age_secs: 0 } } };
    expectProvision(await c().ensureBasin(basin, { config }), 201, 'created');
    expect((await c().getBasin(basin)).json()).toEqual({
      ...defaultBasinConfig,
      default_stream_config: { ...unsetLayer, delete_on_empty: { min_age_secs: 0 } },
    });
    expectProvision(await c().ensureBasin(basin, { config }), 200, 'noop');
    // Unset is different from an explicit 0.
    expectProvision(await c().ensureBasin(basin, {}), 200, 'updated');
  });

  it('treats a request without a body, without a Content-Type, or with an empty JSON body as "no body"', async () => {
    const basin = uniqueBasin();
    expectProvision(await c().ensureBasin(basin), 201, 'created');
    expect((await c().getBasin(basin)).json()).toEqual(defaultBasinConfig);
    // A body without Content-Type is ignored altogether.
    const ignored = await c().raw({
      method: 'PUT',
      path: `/v1/basins/${basin}`,
      body: JSON.stringify({ config: { create_stream_on_append: true } }),
    });
    expectProvision(ignored, 200, 'noop');
    expect((await c().getBasin(basin)).json()).toEqual(defaultBasinConfig);
    const empty = await c().raw({
      method: 'PUT',
      path: `/v1/basins/${basin}`,
      headers: { 'content-type': 'application/json' },
    });
    expectProvision(empty, 200, 'noop');
  });

  it('rejects a body with a non-JSON Content-Type with 400 bad_json', async () => {
    const basin = uniqueBasin();
    const res = await c().raw({
      method: 'PUT',
      path: `/v1/basins/${basin}`,
      body: JSON.stringify({ config: {} }),
      headers: { 'content-type': 'text/plain' },
    });
    expectError(res, 400, 'bad_json', 'Expected request with `Content-Type: application/json`');
    expectError(await c().getBasin(basin), 404, 'basin_not_found');
  });

  it('rejects malformed JSON, bad types and an invalid location with 400 bad_json', async () => {
    const basin = uniqueBasin();
    const bad = await c().raw({
      method: 'PUT',
      path: `/v1/basins/${basin}`,
      body: '{"config":',
      headers: { 'content-type': 'application/json' },
    });
    expectError(bad, 400, 'bad_json');
    expectError(await c().ensureBasin(basin, { config: { create_stream_on_read: null } }), 400, 'bad_json');
    expectError(await c().ensureBasin(basin, { location: 'not a location' }), 400, 'bad_json');
    expectError(await c().getBasin(basin), 404, 'basin_not_found');
  });

  it('ignores S2-Request-Token, even one too long for the create route', async () => {
    const basin = uniqueBasin();
    const headers = { 'content-type': 'application/json', 's2-request-token': 'x'.repeat(40) };
    expectProvision(await c().raw({ method: 'PUT', path: `/v1/basins/${basin}`, headers, body: '{}' }), 201, 'created');
    expect((await c().raw({ method: 'PATCH', path: `/v1/basins/${basin}`, headers, body: '{}' })).status).toBe(200);
    // Ensure stores no idempotency key: a create with the same token is not a retry.
    expectError(
      await c().createBasin(basin, undefined, { 's2-request-token': 'x'.repeat(36) }),
      409,
      'resource_already_exists',
    );
  });

  it('rejects a retention age of 0 with 422 invalid', async () => {
    const basin = uniqueBasin();
    const res = await c().ensureBasin(basin, { config: { default_stream_config: { retention_policy: { age: 0 } } } });
    expectError(res, 422, 'invalid');
  });

  it('keeps the creation idempotency key, so a create retry with the original token is still a noop', async () => {
    const basin = uniqueBasin();
    const config = { create_stream_on_append: true };
    await c().createBasin(basin, config, { 's2-request-token': 'keep-me' });
    expectProvision(await c().ensureBasin(basin, { config: { create_stream_on_read: true } }), 200, 'updated');
    expectProvision(await c().createBasin(basin, config, { 's2-request-token': 'keep-me' }), 201, 'noop');
    // The retry did not bring the original config back.
    expect((await c().getBasin(basin)).json()).toEqual({ ...defaultBasinConfig, create_stream_on_read: true });
  });
});

describe.each<Protocol>(['h1', 'h2c'])('reconfigure basin over %s', (protocol) => {
  const c = () => api(server.baseUrl, protocol);

  it('leaves absent fields unchanged, sets given ones and returns the full resulting config', async () => {
    const basin = uniqueBasin();
    await c().createBasin(basin, {
      create_stream_on_append: true,
      stream_cipher: 'aegis-256',
      default_stream_config: { storage_class: 'standard' },
    });
    const res = await c().patchBasin(basin, { create_stream_on_read: true });
    expect(res.status).toBe(200);
    const expected = {
      default_stream_config: { ...unsetLayer, storage_class: 'standard' },
      stream_cipher: 'aegis-256',
      create_stream_on_append: true,
      create_stream_on_read: true,
    };
    expect(res.json()).toEqual(expected);
    expect((await c().getBasin(basin)).json()).toEqual(expected);
    const empty = await c().patchBasin(basin, {});
    expect(empty.json()).toEqual(expected);
  });

  it('patches nested default stream config fields recursively and persists them', async () => {
    const basin = uniqueBasin();
    await c().createBasin(basin, {
      default_stream_config: {
        retention_policy: { age: 3600 },
        timestamping: { mode: 'client-require', uncapped: true },
      },
    });
    const res = await c().patchBasin(basin, {
      default_stream_config: {
        storage_class: 'standard',
        retention_policy: { infinite: {} },
        timestamping: { mode: 'arrival' },
      },
      create_stream_on_append: true,
    });
    const expected = {
      ...defaultBasinConfig,
      create_stream_on_append: true,
      default_stream_config: {
        storage_class: 'standard',
        retention_policy: { infinite: {} },
        // `uncapped` was absent from the nested patch: kept.
        timestamping: { mode: 'arrival', uncapped: true },
        delete_on_empty: null,
      },
    };
    expect(res.json()).toEqual(expected);
    expect((await c().getBasin(basin)).json()).toEqual(expected);
  });

  it('resets a field given as null, nested members individually and whole objects', async () => {
    const basin = uniqueBasin();
    await c().createBasin(basin, {
      stream_cipher: 'aes-256-gcm',
      default_stream_config: {
        storage_class: 'standard',
        retention_policy: { age: 60 },
        timestamping: { mode: 'arrival', uncapped: true },
        delete_on_empty: { min_age_secs: 30 },
      },
    });
    const step1 = await c().patchBasin(basin, {
      stream_cipher: null,
      default_stream_config: { storage_class: null, timestamping: { mode: null }, delete_on_empty: null },
    });
    expect(step1.json()).toEqual({
      ...defaultBasinConfig,
      default_stream_config: {
        ...unsetLayer,
        retention_policy: { age: 60 },
        timestamping: { mode: null, uncapped: true },
      },
    });
    // Clearing the last nested member makes the object null; clearing the rest makes the layer null.
    const step2 = await c().patchBasin(basin, { default_stream_config: { timestamping: { uncapped: null } } });
    expect(step2.json().default_stream_config).toEqual({ ...unsetLayer, retention_policy: { age: 60 } });
    const step3 = await c().patchBasin(basin, { default_stream_config: null });
    expect(step3.json()).toEqual(defaultBasinConfig);
  });

  it('rejects null for create_stream_on_append and create_stream_on_read with 400 bad_json', async () => {
    const basin = uniqueBasin();
    await c().createBasin(basin, { create_stream_on_append: true });
    expectError(await c().patchBasin(basin, { create_stream_on_append: null }), 400, 'bad_json');
    expectError(await c().patchBasin(basin, { create_stream_on_read: null }), 400, 'bad_json');
    expect((await c().getBasin(basin)).json().create_stream_on_append).toBe(true);
  });

  it('requires a JSON body', async () => {
    const basin = uniqueBasin();
    await c().createBasin(basin);
    const message = 'Expected request with `Content-Type: application/json`';
    expectError(await c().raw({ method: 'PATCH', path: `/v1/basins/${basin}`, body: '{}' }), 400, 'bad_json', message);
    expectError(
      await c().raw({ method: 'PATCH', path: `/v1/basins/${basin}`, headers: { 'content-type': 'application/json' } }),
      400,
      'bad_json',
    );
    expectError(await c().patchBasin(basin, { stream_cipher: 'des' }), 400, 'bad_json');
  });

  it('validates before looking the basin up: 422 for retention age 0 even when the basin is missing', async () => {
    const missing = uniqueBasin('missing');
    const zero = { default_stream_config: { retention_policy: { age: 0 } } };
    expectError(await c().patchBasin(missing, zero), 422, 'invalid');
    expectError(await c().patchBasin(missing, {}), 404, 'basin_not_found', `basin \`${missing}\` not found`);
    const basin = uniqueBasin();
    await c().createBasin(basin);
    expectError(await c().patchBasin(basin, zero), 422, 'invalid');
    expect((await c().getBasin(basin)).json()).toEqual(defaultBasinConfig);
  });
});
