/**
 * Proves the cross-cutting request handling of api.md 1.2, 1.4, 1.7-1.9 and 2 over HTTP/1.1 and
 * h2c: empty 404/405 framework answers, /health and /ping, the 2 MiB body cap (answered with a
 * clear 400 on both protocols, with the connection still usable), Content-Encoding gzip and zstd,
 * u64 numbers past 2^53, header value validation and that Authorization is ignored.
 */
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { compress as zstdCompress } from 'zstd-napi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttp2Sessions, uniqueBasin, type Protocol, type RawResponse } from '../../support/http.js';
import { startServer, type TestServer } from '../../support/server.js';
import { api, defaultBasinConfig, expectError, expectProvision, jsonHeaders } from './api.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  closeHttp2Sessions();
  await server.stop();
});

const MiB = 1024 * 1024;

/** A create-basin body of exactly `size` bytes (padded in an ignored field). */
function paddedCreateBody(basin: string, size: number): Buffer {
  const skeleton = JSON.stringify({ basin, pad: '' });
  const body = JSON.stringify({ basin, pad: 'x'.repeat(size - Buffer.byteLength(skeleton)) });
  expect(Buffer.byteLength(body)).toBe(size);
  return Buffer.from(body);
}

/**
 * A zstd frame built from RLE blocks of 128 KiB each: `blocks` blocks of four bytes expand to
 * `blocks` * 128 KiB. With `declaredSize` the header announces that content size.
 */
function zstdRleBomb(blocks: number, declaredSize?: bigint): Buffer {
  const magic = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
  const windowDescriptor = 7 << 3; // 2^(10 + 7) = 128 KiB window
  const header =
    declaredSize === undefined
      ? Buffer.from([0x00, windowDescriptor])
      : Buffer.concat([Buffer.from([0xc0, windowDescriptor]), Buffer.alloc(8)]);
  if (declaredSize !== undefined) header.writeBigUInt64LE(declaredSize, 2);
  const block = (last: boolean) => {
    const value = ((128 * 1024) << 3) | (1 << 1) | (last ? 1 : 0); // RLE block of 128 KiB
    return Buffer.from([value & 0xff, (value >> 8) & 0xff, (value >> 16) & 0xff, 0x20]);
  };
  return Buffer.concat([magic, header, ...Array.from({ length: blocks }, (_, i) => block(i === blocks - 1))]);
}

/** HTTP/1.1 request whose body is sent chunked (no Content-Length). */
function chunkedPost(
  baseUrl: string,
  path: string,
  chunks: Buffer[],
  headers: Record<string, string>,
): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, path, method: 'POST', headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c) => parts.push(c));
      res.on('end', () => {
        const body = Buffer.concat(parts);
        const text = body.toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text, json: () => JSON.parse(text) });
      });
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

describe.each<Protocol>(['h1', 'h2c'])('requests over %s', (protocol) => {
  const c = () => api(server.baseUrl, protocol);

  it('answers /health and /ping with 200 OK as text/plain', async () => {
    for (const path of ['/health', '/ping']) {
      const res = await c().raw({ path });
      expect(res.status).toBe(200);
      expect(res.text).toBe('OK');
      expect(String(res.headers['content-type'])).toMatch(/^text\/plain/);
      const head = await c().raw({ method: 'HEAD', path });
      expect(head.status).toBe(200);
      expect(head.body.length).toBe(0);
    }
  });

  it('answers unknown paths with 404 and an empty body', async () => {
    for (const path of [
      '/',
      '/v2/basins',
      '/v1',
      '/v1/nothing',
      '/v1/basins/',
      '/v1/streams/a/b/c',
      '/v1/basins/some-basin/extra',
    ]) {
      const res = await c().raw({ path });
      expect({ path, status: res.status, length: res.body.length }).toEqual({ path, status: 404, length: 0 });
    }
  });

  it('answers a known path with a wrong method with 405, an empty body and Allow', async () => {
    const cases: [string, string, string[]][] = [
      ['DELETE', '/v1/basins', ['GET', 'POST']],
      ['POST', '/v1/basins/some-basin-name', ['DELETE', 'GET', 'PATCH', 'PUT']],
      ['PATCH', '/v1/streams', ['GET', 'POST']],
      ['POST', '/v1/streams/x', ['DELETE', 'GET', 'PATCH', 'PUT']],
      ['PUT', '/v1/access-tokens', ['GET', 'POST']],
      ['POST', '/v1/locations', ['GET']],
    ];
    for (const [method, path, allow] of cases) {
      const res = await c().raw({ method, path });
      expect({ method, path, status: res.status, length: res.body.length }).toEqual({
        method,
        path,
        status: 405,
        length: 0,
      });
      expect(
        String(res.headers.allow)
          .split(',')
          .map((m) => m.trim())
          .filter((m) => m !== 'HEAD')
          .sort(),
      ).toEqual(allow);
    }
  });

  it('ignores any Authorization header', async () => {
    const basin = uniqueBasin();
    const res = await c().raw({
      method: 'POST',
      path: '/v1/basins',
      headers: { ...jsonHeaders, authorization: 'Bearer definitely-not-a-valid-token' },
      body: JSON.stringify({ basin }),
    });
    expectProvision(res, 201, 'created');
    expect(
      (await c().raw({ path: `/v1/basins/${basin}`, headers: { authorization: 'Basic Zm9vOmJhcg==' } })).status,
    ).toBe(200);
  });

  it('rejects a header value that is not visible ASCII with 400 bad_header', async () => {
    const res = await c().raw({ path: '/v1/streams', headers: { 's2-basin': 'bäsin-name-1' } });
    expectError(res, 400, 'bad_header', 'Invalid header `s2-basin`: not UTF-8');
  });

  it('accepts a body of exactly 2 MiB', async () => {
    const basin = uniqueBasin();
    const res = await c().raw({
      method: 'POST',
      path: '/v1/basins',
      headers: jsonHeaders,
      body: paddedCreateBody(basin, 2 * MiB),
    });
    expectProvision(res, 201, 'created');
  });

  it('rejects a body over 2 MiB with a clear 400 bad_json and keeps serving', async () => {
    const basin = uniqueBasin();
    const res = await c().raw({
      method: 'POST',
      path: '/v1/basins',
      headers: jsonHeaders,
      body: paddedCreateBody(basin, 2 * MiB + 1),
    });
    expectError(res, 400, 'bad_json', /exceeds/);
    const huge = await c().raw({
      method: 'POST',
      path: '/v1/basins',
      headers: jsonHeaders,
      body: paddedCreateBody(basin, 5 * MiB),
    });
    expectError(huge, 400, 'bad_json', /exceeds/);
    expectError(await c().getBasin(basin), 404, 'basin_not_found');
    expect((await c().raw({ path: '/health' })).status).toBe(200);
    // The same applies to ensure and reconfigure bodies.
    const ensure = await c().raw({
      method: 'PUT',
      path: `/v1/basins/${basin}`,
      headers: jsonHeaders,
      body: paddedCreateBody(basin, 3 * MiB),
    });
    expectError(ensure, 400, 'bad_json', /exceeds/);
  });

  it('decompresses gzip and zstd request bodies', async () => {
    const gz = uniqueBasin();
    const body = JSON.stringify({ basin: gz, config: { create_stream_on_read: true } });
    const res = await c().raw({
      method: 'POST',
      path: '/v1/basins',
      headers: { ...jsonHeaders, 'content-encoding': 'gzip' },
      body: gzipSync(body),
    });
    expectProvision(res, 201, 'created');
    expect((await c().getBasin(gz)).json()).toEqual({ ...defaultBasinConfig, create_stream_on_read: true });
    const zs = uniqueBasin();
    const zres = await c().raw({
      method: 'PUT',
      path: `/v1/basins/${zs}`,
      headers: { ...jsonHeaders, 'content-encoding': 'zstd' },
      body: zstdCompress(Buffer.from(JSON.stringify({ config: { create_stream_on_append: true } }))),
    });
    expectProvision(zres, 201, 'created');
    expect((await c().getBasin(zs)).json()).toEqual({ ...defaultBasinConfig, create_stream_on_append: true });
  });

  it('rejects a corrupt gzip body and one that inflates past 2 MiB with 400, without crashing', async () => {
    const basin = uniqueBasin();
    const corrupt = await c().raw({
      method: 'POST',
      path: '/v1/basins',
      headers: { ...jsonHeaders, 'content-encoding': 'gzip' },
      body: Buffer.from('this is not gzip at all'),
    });
    expect(corrupt.status).toBe(400);
    const bomb = await c().raw({
      method: 'POST',
      path: '/v1/basins',
      headers: { ...jsonHeaders, 'content-encoding': 'gzip' },
      body: gzipSync(paddedCreateBody(basin, 3 * MiB)),
    });
    expectError(bomb, 400, 'bad_json', /exceeds/);
    expectError(await c().getBasin(basin), 404, 'basin_not_found');
    expect((await c().raw({ path: '/health' })).status).toBe(200);
  });

  it('stops decompressing a zstd body at 2 MiB, whatever size the frame announces', async () => {
    const headers = { ...jsonHeaders, 'content-encoding': 'zstd' };
    // 8 KiB that expand to 256 MiB, without a declared content size.
    const undeclared = await c().raw({ method: 'POST', path: '/v1/basins', headers, body: zstdRleBomb(2048) });
    expectError(undeclared, 400, 'bad_json', /exceeds/);
    // A header announcing 1 TiB of content must not be taken as an allocation size.
    const declared = await c().raw({ method: 'POST', path: '/v1/basins', headers, body: zstdRleBomb(64, 2n ** 40n) });
    expectError(declared, 400, 'bad_json', /exceeds/);
    const truncated = await c().raw({
      method: 'POST',
      path: '/v1/basins',
      headers,
      body: zstdRleBomb(4).subarray(0, 10),
    });
    expectError(truncated, 400, 'bad_json');
    expect((await c().raw({ path: '/health' })).status).toBe(200);
  });

  it('parses u64 config numbers beyond 2^53 without crashing, and rejects numbers beyond u64', async () => {
    const basin = uniqueBasin();
    const text =
      `{"basin":"${basin}","config":{"default_stream_config":{` +
      `"retention_policy":{"age":18446744073709551615},"delete_on_empty":{"min_age_secs":9007199254740993}}}}`;
    expectProvision(
      await c().raw({ method: 'POST', path: '/v1/basins', headers: jsonHeaders, body: text }),
      201,
      'created',
    );
    const config = await c().getBasin(basin);
    expect(config.status).toBe(200);
    const dsc = config.json().default_stream_config;
    expect(dsc.retention_policy.age).toBeGreaterThanOrEqual(Number.MAX_SAFE_INTEGER);
    expect(dsc.delete_on_empty.min_age_secs).toBeGreaterThanOrEqual(Number.MAX_SAFE_INTEGER);
    // A stream inheriting them resolves and reports them as numbers too.
    await c().streams(basin).create('big');
    const stream = (await c().streams(basin).get('big')).json();
    expect(stream.retention_policy.age).toBeGreaterThanOrEqual(Number.MAX_SAFE_INTEGER);
    const patched = await c().raw({
      method: 'PATCH',
      path: '/v1/streams/big',
      headers: { ...jsonHeaders, 's2-basin': basin },
      body: '{"delete_on_empty":{"min_age_secs":12345678901234567890}}',
    });
    expect(patched.status).toBe(200);
    expect(patched.json().delete_on_empty.min_age_secs).toBeGreaterThanOrEqual(Number.MAX_SAFE_INTEGER);
    const tooBig = await c().raw({
      method: 'PATCH',
      path: '/v1/streams/big',
      headers: { ...jsonHeaders, 's2-basin': basin },
      body: '{"retention_policy":{"age":18446744073709551616}}',
    });
    expectError(tooBig, 400, 'bad_json');
  });
});

describe('HTTP/1.1 chunked bodies', () => {
  it('accepts a chunked JSON body and rejects a chunked one over 2 MiB with 400', async () => {
    const basin = uniqueBasin();
    const ok = await chunkedPost(
      server.baseUrl,
      '/v1/basins',
      [Buffer.from(`{"basin":`), Buffer.from(`"${basin}"}`)],
      jsonHeaders,
    );
    expectProvision(ok, 201, 'created');
    const big = paddedCreateBody(uniqueBasin(), 3 * MiB);
    const chunks = Array.from({ length: 12 }, (_, i) => big.subarray(i * 256 * 1024, (i + 1) * 256 * 1024));
    const res = await chunkedPost(server.baseUrl, '/v1/basins', chunks, jsonHeaders);
    expectError(res, 400, 'bad_json', /exceeds/);
  });
});
