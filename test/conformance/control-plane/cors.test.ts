/**
 * Proves CORS (api.md 1.8, lite-internals 4.2 step 6) over HTTP/1.1 and h2c: by default a
 * preflight is answered by mirroring the origin, method and requested headers with credentials
 * allowed, and every response to a request with an Origin carries allow-origin and credentials;
 * with CORS disabled (`--no-cors`) no CORS header is ever sent and OPTIONS is not routed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttp2Sessions, request, uniqueBasin, type Protocol, type RawResponse } from '../../support/http.js';
import { startServer, type TestServer } from '../../support/server.js';
import { expectError, jsonHeaders } from './api.js';

const external = Boolean(process.env.S2_TEST_BASE_URL);
let withCors: TestServer;
let withoutCors: TestServer;
beforeAll(async () => {
  withCors = await startServer();
  withoutCors = await startServer({ cors: false });
});
afterAll(async () => {
  closeHttp2Sessions();
  await withCors.stop();
  await withoutCors.stop();
});

const origin = 'https://console.example.com';
const corsHeaders = (res: RawResponse) => Object.keys(res.headers).filter((h) => h.startsWith('access-control-'));

describe.each<Protocol>(['h1', 'h2c'])('CORS enabled over %s', (protocol) => {
  it('answers a preflight by mirroring the origin, method and requested headers', async () => {
    const res = await request(withCors.baseUrl, {
      method: 'OPTIONS',
      path: '/v1/streams/some-stream/records',
      protocol,
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 's2-basin,content-type,authorization',
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(0);
    expect(res.headers['access-control-allow-origin']).toBe(origin);
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(String(res.headers['access-control-allow-methods'])).toContain('POST');
    expect(String(res.headers['access-control-allow-headers']).toLowerCase().replace(/\s/g, '')).toBe(
      's2-basin,content-type,authorization',
    );
    expect(String(res.headers.vary).toLowerCase()).toContain('origin');
  });

  it('mirrors a different origin for each request', async () => {
    for (const other of ['http://localhost:3000', 'https://a.example']) {
      const res = await request(withCors.baseUrl, {
        method: 'OPTIONS',
        path: '/v1/basins',
        protocol,
        headers: { origin: other, 'access-control-request-method': 'GET' },
      });
      expect(res.headers['access-control-allow-origin']).toBe(other);
    }
  });

  it('adds allow-origin and allow-credentials to successful and error responses', async () => {
    const basin = uniqueBasin();
    const created = await request(withCors.baseUrl, {
      method: 'POST',
      path: '/v1/basins',
      protocol,
      headers: { ...jsonHeaders, origin },
      body: JSON.stringify({ basin }),
    });
    expect(created.status).toBe(201);
    expect(created.headers['access-control-allow-origin']).toBe(origin);
    expect(created.headers['access-control-allow-credentials']).toBe('true');
    const missing = await request(withCors.baseUrl, {
      path: `/v1/basins/${uniqueBasin('missing')}`,
      protocol,
      headers: { origin },
    });
    expectError(missing, 404, 'basin_not_found');
    expect(missing.headers['access-control-allow-origin']).toBe(origin);
    expect(missing.headers['access-control-allow-credentials']).toBe('true');
    const health = await request(withCors.baseUrl, { path: '/health', protocol, headers: { origin } });
    expect(health.headers['access-control-allow-origin']).toBe(origin);
  });

  it('sends no allow-origin when the request has no Origin', async () => {
    const res = await request(withCors.baseUrl, { path: '/v1/basins?limit=1', protocol });
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});

// `--no-cors` is a property of the server under test, so this needs the in-process server.
describe.runIf(!external).each<Protocol>(['h1', 'h2c'])('CORS disabled over %s', (protocol) => {
  it('sends no CORS headers on normal responses', async () => {
    const res = await request(withoutCors.baseUrl, { path: '/v1/basins?limit=1', protocol, headers: { origin } });
    expect(res.status).toBe(200);
    expect(corsHeaders(res)).toEqual([]);
    const err = await request(withoutCors.baseUrl, { path: '/v1/streams', protocol, headers: { origin } });
    expect(err.status).toBe(400);
    expect(corsHeaders(err)).toEqual([]);
  });

  it('does not answer preflights: OPTIONS is an unrouted method', async () => {
    const res = await request(withoutCors.baseUrl, {
      method: 'OPTIONS',
      path: '/v1/basins',
      protocol,
      headers: { origin, 'access-control-request-method': 'POST' },
    });
    expect(res.status).toBe(405);
    expect(corsHeaders(res)).toEqual([]);
  });
});
