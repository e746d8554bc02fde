/**
 * Proves the routes lite answers with 501 (api.md 1.2, 11.3): request extraction runs first, so
 * malformed input gets its own 4xx (bad_json, bad_query, bad_path), and well-formed requests get
 * exactly `{"code":"not_implemented","message":"Not implemented"}`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttp2Sessions, type Protocol } from '../../support/http.js';
import { startServer, type TestServer } from '../../support/server.js';
import { api, expectError, jsonHeaders, type Api } from './api.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  closeHttp2Sessions();
  await server.stop();
});

async function expectNotImplemented(res: Promise<Awaited<ReturnType<Api['raw']>>>): Promise<void> {
  const r = await res;
  expect({ status: r.status, body: r.text }).toEqual({
    status: 501,
    body: JSON.stringify({ code: 'not_implemented', message: 'Not implemented' }),
  });
  expect(r.headers['content-type']).toBe('application/json');
}

describe.each<Protocol>(['h1', 'h2c'])('501 routes over %s', (protocol) => {
  const c = () => api(server.baseUrl, protocol);

  it('answers the location reads with 501 whatever the query', async () => {
    await expectNotImplemented(c().raw({ path: '/v1/locations' }));
    await expectNotImplemented(c().raw({ path: '/v1/locations/default?limit=x&limit=y' }));
  });

  it('list access tokens: 501 for a well-formed query, bad_query otherwise', async () => {
    await expectNotImplemented(c().raw({ path: '/v1/access-tokens' }));
    await expectNotImplemented(c().raw({ path: '/v1/access-tokens?prefix=a&start_after=b&limit=10&other=1' }));
    expectError(await c().raw({ path: '/v1/access-tokens?limit=ten' }), 400, 'bad_query');
    expectError(await c().raw({ path: '/v1/access-tokens?prefix=a&prefix=b' }), 400, 'bad_query');
  });

  it('issue access token: 501 for a well-formed request, bad_json otherwise', async () => {
    await expectNotImplemented(c().json('POST', '/v1/access-tokens', { id: 'my-token', scope: {} }));
    await expectNotImplemented(
      c().json('POST', '/v1/access-tokens', {
        id: 'tok',
        scope: { basins: { prefix: 'a' } },
        expires_at: '2030-01-01T00:00:00Z',
      }),
    );
    await expectNotImplemented(
      c().json('POST', '/v1/access-tokens', {
        id: 'x'.repeat(96),
        scope: {},
        expires_at: null,
        auto_prefix_streams: true,
      }),
    );
    for (const body of [
      { scope: {} },
      { id: 'tok' },
      { id: 'tok', scope: null },
      { id: 'tok', scope: [] },
      { id: '', scope: {} },
      { id: 'x'.repeat(97), scope: {} },
      { id: 7, scope: {} },
      { id: 'tok', scope: {}, expires_at: 'tomorrow' },
      { id: 'tok', scope: {}, expires_at: 1893456000 },
      { id: 'tok', scope: {}, auto_prefix_streams: 'yes' },
    ]) {
      expectError(await c().json('POST', '/v1/access-tokens', body), 400, 'bad_json');
    }
    expectError(
      await c().raw({ method: 'POST', path: '/v1/access-tokens', headers: jsonHeaders, body: '{"id":' }),
      400,
      'bad_json',
    );
    expectError(
      await c().raw({ method: 'POST', path: '/v1/access-tokens', body: '{"id":"t","scope":{}}' }),
      400,
      'bad_json',
      'Expected request with `Content-Type: application/json`',
    );
  });

  it('revoke access token: 501 for a valid id (1-96 bytes, not "." or ".."), bad_path otherwise', async () => {
    await expectNotImplemented(c().raw({ method: 'DELETE', path: '/v1/access-tokens/my-token' }));
    await expectNotImplemented(c().raw({ method: 'DELETE', path: `/v1/access-tokens/${'t'.repeat(96)}` }));
    expectError(await c().raw({ method: 'DELETE', path: `/v1/access-tokens/${'t'.repeat(97)}` }), 400, 'bad_path');
    expectError(await c().raw({ method: 'DELETE', path: '/v1/access-tokens/%2E' }), 400, 'bad_path');
    expectError(await c().raw({ method: 'DELETE', path: '/v1/access-tokens/%2E%2E' }), 400, 'bad_path');
  });

  it('set default location: 501 for a JSON string body, bad_json otherwise', async () => {
    await expectNotImplemented(c().json('PUT', '/v1/locations/default', 'aws:us-east-1'));
    expectError(await c().json('PUT', '/v1/locations/default', { location: 'aws:us-east-1' }), 400, 'bad_json');
    expectError(
      await c().raw({ method: 'PUT', path: '/v1/locations/default', body: '"aws:us-east-1"' }),
      400,
      'bad_json',
    );
  });

  it('metrics: the `set` query is required (bad_query), names in the path are validated (bad_path)', async () => {
    await expectNotImplemented(c().raw({ path: '/v1/metrics?set=active-basins' }));
    await expectNotImplemented(
      c().raw({ path: '/v1/metrics?set=account-ops&start=1700000000&end=1700003600&interval=hour' }),
    );
    await expectNotImplemented(c().raw({ path: '/v1/metrics/some-basin-name?set=read-throughput&interval=minute' }));
    await expectNotImplemented(c().raw({ path: '/v1/metrics/some-basin-name?set=storage' }));
    await expectNotImplemented(c().raw({ path: '/v1/metrics/some-basin-name/a%2Fstream?set=storage' }));
    expectError(await c().raw({ path: '/v1/metrics' }), 400, 'bad_query', /set/);
    expectError(await c().raw({ path: '/v1/metrics/some-basin-name' }), 400, 'bad_query');
    expectError(await c().raw({ path: '/v1/metrics/some-basin-name/stream' }), 400, 'bad_query');
    expectError(await c().raw({ path: '/v1/metrics?set=a&set=b' }), 400, 'bad_query');
    expectError(await c().raw({ path: '/v1/metrics/BAD?set=storage' }), 400, 'bad_path');
  });

  it('metrics: the set must be one of that level, the range numeric, the interval known (bad_query)', async () => {
    expectError(await c().raw({ path: '/v1/metrics?set=storage' }), 400, 'bad_query');
    expectError(await c().raw({ path: '/v1/metrics/some-basin-name?set=active-basins' }), 400, 'bad_query');
    expectError(await c().raw({ path: '/v1/metrics/some-basin-name/stream?set=append-ops' }), 400, 'bad_query');
    expectError(await c().raw({ path: '/v1/metrics?set=active-basins&start=yesterday' }), 400, 'bad_query');
    expectError(await c().raw({ path: '/v1/metrics?set=active-basins&end=-1' }), 400, 'bad_query');
    expectError(await c().raw({ path: '/v1/metrics?set=active-basins&interval=week' }), 400, 'bad_query');
    expectError(await c().raw({ path: '/v1/metrics/some-basin-name/%2E%2E?set=storage' }), 400, 'bad_path');
  });
});
