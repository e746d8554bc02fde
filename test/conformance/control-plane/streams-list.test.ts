/**
 * Proves `GET /v1/streams` (api.md 1.3, 3.7, 11.2, lite-internals 5.2 items 2, 21-24) over
 * HTTP/1.1 and h2c: the required S2-Basin header, byte-wise order of arbitrary UTF-8 names,
 * prefix, start_after, pagination, the 1000 cap and query validation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttp2Sessions, uniqueBasin, type Protocol, type RawResponse } from '../../support/http.js';
import { startServer, type TestServer } from '../../support/server.js';
import { api, expectError, expectProvision } from './api.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  closeHttp2Sessions();
  await server.stop();
});

const names = (res: RawResponse): string[] => res.json().streams.map((s: { name: string }) => s.name);

describe.each<Protocol>(['h1', 'h2c'])('list streams over %s', (protocol) => {
  const c = () => api(server.baseUrl, protocol);

  async function basinWith(streams: string[]): Promise<string> {
    const basin = uniqueBasin();
    expectProvision(await c().createBasin(basin), 201, 'created');
    for (const name of streams) expectProvision(await c().streams(basin).create(name), 201, 'created');
    return basin;
  }

  it('requires the S2-Basin header: missing or invalid is 400 bad_header', async () => {
    expectError(await c().raw({ path: '/v1/streams' }), 400, 'bad_header', 'Missing header `s2-basin`');
    for (const bad of ['short', 'Not-A-Valid-Basin', '-leading-hyphen']) {
      expectError(
        await c().raw({ path: '/v1/streams', headers: { 's2-basin': bad } }),
        400,
        'bad_header',
        /^Invalid header `s2-basin`: /,
      );
    }
  });

  it('lists a nonexistent basin as empty rather than 404', async () => {
    const res = await c().streams(uniqueBasin('missing')).list();
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ streams: [], has_more: false });
  });

  it('returns StreamInfo with every key, cipher null when the basin has none', async () => {
    const basin = await basinWith(['only']);
    const res = await c().streams(basin).list();
    expect(res.status).toBe(200);
    const body = res.json();
    expect(body.has_more).toBe(false);
    expect(body.streams).toEqual([{ name: 'only', created_at: expect.any(String), deleted_at: null, cipher: null }]);
    expect(body.streams[0].created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  });

  it('orders names by their UTF-8 bytes, including "/", spaces and non-ASCII', async () => {
    // UTF-16 order would put the emoji (a surrogate pair) before U+FF61; UTF-8 order puts it after.
    const wanted = ['Z', 'a', 'a b', 'a/b', 'a0', 'aé', 'b', '~', '日本', '\uff61', '😀'];
    const basin = await basinWith([...wanted].reverse());
    const res = await c().streams(basin).list();
    expect(names(res)).toEqual(wanted);
  });

  it('filters by prefix, including prefixes with "/" and "." and ".."', async () => {
    const basin = await basinWith(['logs/app', 'logs/db', 'logsx', 'metrics/app', '..hidden', '.dot']);
    expect(names(await c().streams(basin).list('?prefix=logs%2F'))).toEqual(['logs/app', 'logs/db']);
    expect(names(await c().streams(basin).list('?prefix=logs'))).toEqual(['logs/app', 'logs/db', 'logsx']);
    expect(names(await c().streams(basin).list('?prefix=..'))).toEqual(['..hidden']);
    expect(names(await c().streams(basin).list('?prefix=.'))).toEqual(['..hidden', '.dot']);
    expect((await c().streams(basin).list('?prefix=nothing')).json()).toEqual({ streams: [], has_more: false });
  });

  it('pages through 12 streams 5 at a time (5, 5, 2) with exact has_more', async () => {
    const all = Array.from({ length: 12 }, (_, i) => `stream-${String(i).padStart(2, '0')}`);
    const basin = await basinWith(all);
    const seen: string[] = [];
    const pages: [number, boolean][] = [];
    let startAfter = '';
    for (;;) {
      const res = await c()
        .streams(basin)
        .list(`?limit=5${startAfter ? `&start_after=${encodeURIComponent(startAfter)}` : ''}`);
      const batch = names(res);
      pages.push([batch.length, res.json().has_more]);
      seen.push(...batch);
      if (!res.json().has_more) break;
      startAfter = batch[batch.length - 1];
    }
    expect(pages).toEqual([
      [5, true],
      [5, true],
      [2, false],
    ]);
    expect(seen).toEqual(all);
  });

  it('combines prefix and start_after; a cursor before the prefix starts at the prefix', async () => {
    const basin = await basinWith(['a', 'b/1', 'b/2', 'b/3', 'c']);
    const s = c().streams(basin);
    expect(names(await s.list('?prefix=b%2F&start_after=b%2F1'))).toEqual(['b/2', 'b/3']);
    expect(names(await s.list('?prefix=b%2F&start_after=a'))).toEqual(['b/1', 'b/2', 'b/3']);
    expect(names(await s.list('?prefix=b%2F&start_after=b%2F3'))).toEqual([]);
    // start_after may be "." or ".." even though those are not stream names.
    expect(names(await s.list('?start_after=..'))).toEqual(['a', 'b/1', 'b/2', 'b/3', 'c']);
  });

  it('caps a page at 1000 streams: limit 0, limit above 1000 and no limit all return 1000', async () => {
    const basin = uniqueBasin();
    await c().createBasin(basin);
    const all = Array.from({ length: 1001 }, (_, i) => `s${String(i).padStart(4, '0')}`);
    for (let i = 0; i < all.length; i += 50) {
      const results = await Promise.all(all.slice(i, i + 50).map((name) => c().streams(basin).create(name)));
      for (const res of results) expect(res.status).toBe(201);
    }
    for (const query of ['', '?limit=0', '?limit=1001', '?limit=5000']) {
      const res = await c().streams(basin).list(query);
      expect(res.status).toBe(200);
      expect(names(res)).toEqual(all.slice(0, 1000));
      expect(res.json().has_more).toBe(true);
    }
    const rest = await c().streams(basin).list(`?start_after=${all[999]}`);
    expect(rest.json()).toMatchObject({ has_more: false });
    expect(names(rest)).toEqual([all[1000]]);
  });

  it.each([
    ['a prefix longer than 512 bytes', `?prefix=${'p'.repeat(513)}`],
    ['a start_after longer than 512 bytes', `?start_after=${'p'.repeat(513)}`],
    ['a non-numeric limit', '?limit=many'],
    ['a duplicated start_after', '?start_after=a&start_after=b'],
  ])('rejects %s with 400 bad_query', async (_what, query) => {
    const basin = await basinWith([]);
    expectError(await c().streams(basin).list(query), 400, 'bad_query');
  });

  it('accepts a 512-byte prefix', async () => {
    const basin = await basinWith([]);
    expect(
      (
        await c()
          .streams(basin)
          .list(`?prefix=${'p'.repeat(512)}`)
      ).status,
    ).toBe(200);
  });
});
