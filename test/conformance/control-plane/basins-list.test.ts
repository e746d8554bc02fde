/**
 * Proves `GET /v1/basins` (api.md 3.1, lite-internals 5.1 items 10-14) over HTTP/1.1 and h2c:
 * prefix and start_after filtering, byte-wise order, limit clamping, exact `has_more`, pagination
 * and the validation of the query.
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

describe.each<Protocol>(['h1', 'h2c'])('list basins over %s', (protocol) => {
  const c = () => api(server.baseUrl, protocol);

  /** Creates `prefix-<suffix>` for every suffix and returns the names. */
  async function createAll(prefix: string, suffixes: string[]): Promise<string[]> {
    const names = suffixes.map((s) => `${prefix}-${s}`);
    for (const name of names) expectProvision(await c().createBasin(name), 201, 'created');
    return names;
  }

  const names = (res: RawResponse): string[] => res.json().basins.map((b: { name: string }) => b.name);

  it('returns an empty page with has_more false when nothing matches the prefix', async () => {
    const res = await c().listBasins(`?prefix=${uniqueBasin('none')}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.json()).toEqual({ basins: [], has_more: false });
  });

  it('lists only basins with the prefix, in ascending byte order, with full BasinInfo', async () => {
    const prefix = uniqueBasin('lp');
    await createAll(prefix, ['c', 'a', 'e', 'b', 'd']);
    await createAll(`${prefix}x`, ['other']);
    const res = await c().listBasins(`?prefix=${prefix}-`);
    expect(res.status).toBe(200);
    const body = res.json();
    expect(names(res)).toEqual(['a', 'b', 'c', 'd', 'e'].map((s) => `${prefix}-${s}`));
    expect(body.has_more).toBe(false);
    for (const info of body.basins) {
      expect(Object.keys(info).sort()).toEqual(['created_at', 'deleted_at', 'location', 'name', 'state']);
      expect(info).toMatchObject({ location: null, deleted_at: null, state: 'active' });
      expect(info.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    }
  });

  it('has_more is true exactly when another matching basin exists after the page', async () => {
    const prefix = uniqueBasin('hm');
    const all = await createAll(prefix, ['1', '2', '3', '4', '5']);
    const exact = await c().listBasins(`?prefix=${prefix}&limit=5`);
    expect(exact.json()).toMatchObject({ has_more: false });
    expect(names(exact)).toEqual(all);
    const short = await c().listBasins(`?prefix=${prefix}&limit=4`);
    expect(short.json()).toMatchObject({ has_more: true });
    expect(names(short)).toEqual(all.slice(0, 4));
    const last = await c().listBasins(`?prefix=${prefix}&limit=4&start_after=${all[3]}`);
    expect(last.json()).toMatchObject({ has_more: false });
    expect(names(last)).toEqual([all[4]]);
  });

  it('pages through 15 basins 5 at a time with start_after', async () => {
    const prefix = uniqueBasin('pg');
    const all = await createAll(
      prefix,
      Array.from({ length: 15 }, (_, i) => String(i).padStart(2, '0')),
    );
    const seen: string[] = [];
    const hasMore: boolean[] = [];
    let startAfter = '';
    for (let page = 0; page < 3; page++) {
      const res = await c().listBasins(`?prefix=${prefix}&limit=5${startAfter ? `&start_after=${startAfter}` : ''}`);
      expect(res.status).toBe(200);
      const batch = names(res);
      expect(batch).toHaveLength(5);
      seen.push(...batch);
      hasMore.push(res.json().has_more);
      startAfter = batch[batch.length - 1];
    }
    expect(seen).toEqual(all);
    expect(hasMore).toEqual([true, true, false]);
  });

  it('combines a prefix with pagination (10 matching plus 1 other, limit 4: 4, 4, 2)', async () => {
    const prefix = uniqueBasin('pp');
    const all = await createAll(
      `${prefix}-in`,
      Array.from({ length: 10 }, (_, i) => String(i)),
    );
    await createAll(`${prefix}-out`, ['x']);
    const sizes: number[] = [];
    const seen: string[] = [];
    let startAfter = '';
    for (;;) {
      const res = await c().listBasins(`?prefix=${prefix}-in&limit=4${startAfter ? `&start_after=${startAfter}` : ''}`);
      const batch = names(res);
      sizes.push(batch.length);
      seen.push(...batch);
      if (!res.json().has_more) break;
      startAfter = batch[batch.length - 1];
    }
    expect(sizes).toEqual([4, 4, 2]);
    expect(seen).toEqual(all);
  });

  it('start_after is exclusive, and a cursor sorting before the prefix starts at the prefix', async () => {
    const prefix = uniqueBasin('sa');
    const all = await createAll(prefix, ['a', 'b', 'c']);
    expect(names(await c().listBasins(`?prefix=${prefix}&start_after=${all[0]}`))).toEqual(all.slice(1));
    // "0" sorts before any name of the prefix: the listing starts at the prefix.
    expect(names(await c().listBasins(`?prefix=${prefix}&start_after=0`))).toEqual(all);
    // A cursor after every matching name yields nothing.
    expect((await c().listBasins(`?prefix=${prefix}&start_after=${prefix}-z`)).json()).toEqual({
      basins: [],
      has_more: false,
    });
  });

  it('treats limit 0 and limits above 1000 as 1000 rather than as errors', async () => {
    const prefix = uniqueBasin('lim');
    const all = await createAll(prefix, ['a', 'b', 'c']);
    for (const limit of ['0', '1001', '18446744073709551615']) {
      const res = await c().listBasins(`?prefix=${prefix}&limit=${limit}`);
      expect(res.status).toBe(200);
      expect(res.json()).toEqual({ basins: expect.any(Array), has_more: false });
      expect(names(res)).toEqual(all);
    }
  });

  it('ignores unknown query keys', async () => {
    const prefix = uniqueBasin('uk');
    const all = await createAll(prefix, ['a']);
    const res = await c().listBasins(`?prefix=${prefix}&bogus=1&limit=5`);
    expect(res.status).toBe(200);
    expect(names(res)).toEqual(all);
  });

  it.each([
    ['an uppercase prefix', '?prefix=Abc'],
    ['a prefix starting with a hyphen', '?prefix=-abc'],
    ['a prefix with an underscore', '?prefix=ab_c'],
    ['a prefix longer than 48 bytes', `?prefix=${'a'.repeat(49)}`],
    ['an invalid start_after', '?start_after=UPPER'],
    ['a non-numeric limit', '?limit=ten'],
    ['a negative limit', '?limit=-1'],
    ['a limit beyond u64', '?limit=18446744073709551616'],
    ['a duplicated limit', '?limit=1&limit=2'],
    ['a duplicated prefix', '?prefix=a&prefix=b'],
  ])('rejects %s with 400 bad_query', async (_what, query) => {
    expectError(await c().listBasins(query), 400, 'bad_query', /^Failed to deserialize query string: /);
  });

  it('accepts a 48-byte prefix and a prefix ending in a hyphen', async () => {
    expect((await c().listBasins(`?prefix=${'a'.repeat(48)}`)).json()).toEqual({ basins: [], has_more: false });
    expect((await c().listBasins(`?prefix=${uniqueBasin('hy')}-`)).status).toBe(200);
  });
});
