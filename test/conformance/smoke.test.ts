/**
 * Smoke test of the foundation: the server answers health checks and a basin round trip over
 * both HTTP/1.1 and h2c on the same port.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttp2Sessions, request, uniqueBasin, type Protocol } from '../support/http.js';
import { startServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  closeHttp2Sessions();
  await server.stop();
});

describe.each<Protocol>(['h1', 'h2c'])('over %s', (protocol) => {
  it('answers /health and /ping with OK', async () => {
    for (const path of ['/health', '/ping']) {
      const res = await request(server.baseUrl, { path, protocol });
      expect(res.status).toBe(200);
      expect(res.text).toBe('OK');
    }
  });

  it('creates a basin and reads its config back', async () => {
    const basin = uniqueBasin();
    const created = await request(server.baseUrl, {
      method: 'POST',
      path: '/v1/basins',
      protocol,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ basin, config: { create_stream_on_append: true } }),
    });
    expect(created.status).toBe(201);
    expect(created.headers['s2-provision-result']).toBe('created');
    expect(created.json()).toMatchObject({ name: basin, location: null, deleted_at: null, state: 'active' });
    const config = await request(server.baseUrl, { path: `/v1/basins/${basin}`, protocol });
    expect(config.json()).toEqual({
      default_stream_config: null,
      stream_cipher: null,
      create_stream_on_append: true,
      create_stream_on_read: false,
    });
  });

  it('answers an unknown path with an empty 404 and a wrong method with 405 and Allow', async () => {
    const missing = await request(server.baseUrl, { path: '/v1/nothing-here', protocol });
    expect(missing.status).toBe(404);
    expect(missing.body.length).toBe(0);
    const wrong = await request(server.baseUrl, { method: 'DELETE', path: '/v1/basins', protocol });
    expect(wrong.status).toBe(405);
    expect(String(wrong.headers.allow).split(',').sort()).toEqual(['GET', 'POST']);
  });
});
