/**
 * The access-token API against a server with `--auth`, driven by the official SDK: issue (the
 * secret returned once), list (prefix, start_after, limit, has_more, and only the ids a token may
 * see), revoke (refused at once), expiry defaults and bounds, the issue rules (never wider than
 * the issuer, never outliving it), auto-prefixed streams on the way in and out, and every kind of
 * bad input answered with the status and code api.md gives: never a 500, never access.
 */
import net from 'node:net';
import { AppendInput, AppendRecord, S2Error } from '@s2-dev/streamstore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttp2Sessions, request } from '../support/http.js';
import { rawH2Get } from './raw-h2.js';
import { call, issue, sdk, startAuthServer, type AuthServer } from './support.js';

let server: AuthServer;

beforeAll(async () => {
  server = await startAuthServer();
});
afterAll(async () => {
  closeHttp2Sessions();
  await server?.stop();
});

/** Sends `text` on a fresh TCP connection; the response status and body (not chunked: the server sends content-length). */
async function rawHttp(baseUrl: string, text: string): Promise<{ status: number; body: string }> {
  const { port } = new URL(baseUrl);
  const socket = net.connect(Number(port), '127.0.0.1');
  let response = '';
  socket.on('data', (chunk) => (response += chunk.toString()));
  socket.write(text);
  await new Promise<void>((resolve, reject) => {
    socket.on('end', resolve);
    socket.on('error', reject);
  });
  const [head, body] = response.split('\r\n\r\n');
  return { status: Number(head!.split(' ')[1]), body: body ?? '' };
}

async function sdkError(run: () => Promise<unknown>): Promise<S2Error> {
  try {
    await run();
  } catch (error) {
    if (error instanceof S2Error) return error;
    throw error;
  }
  throw new Error('expected an S2Error');
}

describe('the official SDK drives every access-token operation', () => {
  it('issues, lists with paging and revokes; a revoked token is refused at once', async () => {
    const root = sdk(server, server.root);
    const expiresAt = new Date('2099-01-01T00:00:00.000Z');
    const issued: Record<string, string> = {};
    for (const id of ['svc-a', 'svc-b', 'svc-c', 'other-1']) {
      const { accessToken } = await root.accessTokens.issue({
        id,
        scope: { basins: { prefix: '' }, opGroups: { account: { read: true } }, ops: ['list-basins'] },
        expiresAt,
      });
      expect(accessToken).toMatch(/^s2l_[A-Za-z0-9_-]{43}$/);
      issued[id] = accessToken;
    }
    const page = await root.accessTokens.list({ prefix: 'svc-', limit: 2 });
    expect(page.accessTokens.map((t) => t.id)).toEqual(['svc-a', 'svc-b']);
    expect(page.hasMore).toBe(true);
    const next = await root.accessTokens.list({ prefix: 'svc-', startAfter: 'svc-b' });
    expect(next.accessTokens.map((t) => t.id)).toEqual(['svc-c']);
    expect(next.hasMore).toBe(false);
    const info = next.accessTokens[0]!;
    expect(info.expiresAt?.toISOString()).toBe(expiresAt.toISOString());
    expect(info.autoPrefixStreams).toBe(false);
    expect(info.scope.opGroups?.account).toEqual({ read: true, write: false });
    expect(info.scope.basins).toEqual({ prefix: '' });
    // The listing never carries a secret.
    expect(JSON.stringify(page)).not.toContain('s2l_');
    const all = [];
    for await (const token of root.accessTokens.listAll({ prefix: 'svc-' })) all.push(token.id);
    expect(all).toEqual(['svc-a', 'svc-b', 'svc-c']);

    const svcB = sdk(server, issued['svc-b']!);
    await svcB.basins.list();
    await root.accessTokens.revoke({ id: 'svc-b' });
    const refused = await sdkError(() => svcB.basins.list());
    expect(refused.status).toBe(401);
    expect(refused.code).toBe('authn');
    expect((await root.accessTokens.list({ prefix: 'svc-' })).accessTokens.map((t) => t.id)).toEqual([
      'svc-a',
      'svc-c',
    ]);
    // The id may be issued again, with a new secret; the old one stays refused.
    await root.accessTokens.issue({ id: 'svc-b', scope: { ops: ['list-basins'], basins: { prefix: '' } } });
    expect((await sdkError(() => svcB.basins.list())).status).toBe(401);
  });

  it('refuses a duplicate id (409), a missing id on revoke (404) and ids outside the issuer scope (403)', async () => {
    const root = sdk(server, server.root);
    await root.accessTokens.issue({ id: 'dup', scope: {} });
    const dup = await sdkError(() => root.accessTokens.issue({ id: 'dup', scope: {} }));
    expect([dup.status, dup.code]).toEqual([409, 'resource_already_exists']);
    const missing = await sdkError(() => root.accessTokens.revoke({ id: 'never-issued' }));
    expect([missing.status, missing.code]).toEqual([404, 'access_token_not_found']);

    const manager = await issue(server, {
      id: 'team-manager',
      scope: { access_tokens: { prefix: 'team-' }, op_groups: { account: { read: true, write: true } } },
    });
    const m = sdk(server, manager);
    await m.accessTokens.issue({ id: 'team-x', scope: { ops: ['list-basins'] } });
    const outside = await sdkError(() => m.accessTokens.issue({ id: 'svc-z', scope: {} }));
    expect([outside.status, outside.code]).toEqual([403, 'permission_denied']);
    expect((await sdkError(() => m.accessTokens.revoke({ id: 'svc-a' }))).status).toBe(403);
    const ids = (await m.accessTokens.list()).accessTokens.map((t) => t.id);
    expect(ids).toEqual(['team-manager', 'team-x']);
  });

  it('never issues more than the issuer has, nor a token that outlives it', async () => {
    const issuerExpiry = '2090-01-01T00:00:00.000Z';
    const issuer = sdk(
      server,
      await issue(server, {
        id: 'limited',
        scope: {
          basins: { prefix: 'app-' },
          streams: { prefix: '' },
          access_tokens: { prefix: 'limited-' },
          ops: ['issue-access-token', 'read'],
        },
        expires_at: issuerExpiry,
      }),
    );
    const wider = [
      { ops: ['append' as const] },
      { opGroups: { stream: { read: true } } },
      { basins: { prefix: 'ap' } },
      { accessTokens: { prefix: '' } },
    ];
    for (const scope of wider) {
      const error = await sdkError(() => issuer.accessTokens.issue({ id: 'limited-child', scope }));
      expect([error.status, error.code], JSON.stringify(scope)).toEqual([403, 'permission_denied']);
    }
    const late = await sdkError(() =>
      issuer.accessTokens.issue({ id: 'limited-child', scope: { ops: ['read'] }, expiresAt: '2091-01-01T00:00:00Z' }),
    );
    expect(late.status).toBe(403);
    await issuer.accessTokens.issue({
      id: 'limited-child',
      scope: { ops: ['read'], basins: { exact: 'app-one-basin' } },
    });
    const child = (await sdk(server, server.root).accessTokens.list({ prefix: 'limited-child' })).accessTokens[0]!;
    // No expiry asked: the issuer's.
    expect(child.expiresAt?.toISOString()).toBe(issuerExpiry);
    const past = await sdkError(() =>
      sdk(server, server.root).accessTokens.issue({ id: 'past', scope: {}, expiresAt: '2001-01-01T00:00:00Z' }),
    );
    expect([past.status, past.code]).toEqual([422, 'invalid']);
  });
});

describe('auto-prefixed streams', () => {
  it('prefix names on the way in and strip them on the way out', async () => {
    const root = sdk(server, server.root);
    const basin = 'prefix-basin-01';
    await root.basins.create({ basin, config: { createStreamOnAppend: true } });
    await root.basin(basin).streams.create({ stream: 'tenant-a/orders' });
    await root.basin(basin).streams.create({ stream: 'tenant-b/orders' });
    await root
      .basin(basin)
      .stream('tenant-a/orders')
      .append(AppendInput.create([AppendRecord.string({ body: 'from root' })]));
    const tenant = sdk(
      server,
      await issue(server, {
        id: 'tenant-a',
        scope: {
          basins: { exact: basin },
          streams: { prefix: 'tenant-a/' },
          op_groups: { basin: { read: true, write: true }, stream: { read: true, write: true } },
        },
        auto_prefix_streams: true,
      }),
    ).basin(basin);
    expect((await tenant.streams.list()).streams.map((s) => s.name)).toEqual(['orders']);
    const created = await tenant.streams.create({ stream: 'events' });
    expect(created.name).toBe('events');
    for (const transport of ['s2s', 'fetch'] as const) {
      const orders = tenant.stream('orders', { forceTransport: transport });
      const session = await orders.readSession({ start: { from: { seqNum: 0 } }, stop: { limits: { count: 1 } } });
      const bodies = [];
      for await (const record of session) bodies.push(record.body);
      expect(bodies).toEqual(['from root']);
    }
    await tenant.stream('auto').append(AppendInput.create([AppendRecord.string({ body: 'x' })]));
    const names = (await root.basin(basin).streams.list()).streams.map((s) => s.name);
    expect(names).toEqual(['tenant-a/auto', 'tenant-a/events', 'tenant-a/orders', 'tenant-b/orders']);
    // Another tenant's stream is out of reach: its name lands under this tenant's prefix.
    const other = await sdkError(() => tenant.stream('../tenant-b/orders').checkTail());
    expect(other.status).toBe(404);
  });

  it('require the streams scope to be a prefix (422)', async () => {
    const res = await call(server, server.root, {
      method: 'POST',
      path: '/v1/access-tokens',
      json: { id: 'bad-auto', scope: { streams: { exact: 's' } }, auto_prefix_streams: true },
    });
    expect([res.status, res.json().code]).toEqual([422, 'invalid']);
  });
});

describe('bad input is a clear 4xx, never a 500 and never access', () => {
  const post = (json: unknown) => call(server, server.root, { method: 'POST', path: '/v1/access-tokens', json });

  it('malformed issue requests are 400 bad_json', async () => {
    const bodies = [
      { id: 'x', scope: { ops: ['read', 'no-such-op'] } },
      { id: 'x', scope: { basins: { exact: 'a', prefix: 'b' } } },
      { id: 'x', scope: { op_groups: { stream: 'rw' } } },
      { id: '', scope: {} },
      { id: 'x'.repeat(97), scope: {} },
      { id: 'x', scope: 'all' },
      { id: 'x', scope: {}, expires_at: 'soon' },
    ];
    for (const body of bodies) {
      const res = await post(body);
      expect([res.status, res.json().code], JSON.stringify(body)).toEqual([400, 'bad_json']);
    }
    const raw = await call(server, server.root, {
      method: 'POST',
      path: '/v1/access-tokens',
      headers: { 'content-type': 'application/json' },
      body: '{"id":"x","scope":',
    });
    expect([raw.status, raw.json().code]).toEqual([400, 'bad_json']);
  });

  it('revoke ids out of range are 400 bad_path; list query errors 400 bad_query', async () => {
    for (const id of ['x'.repeat(97), '%2E', '%2E%2E']) {
      const res = await call(server, server.root, { method: 'DELETE', path: `/v1/access-tokens/${id}` });
      expect([res.status, res.json().code]).toEqual([400, 'bad_path']);
    }
    const res = await call(server, server.root, { path: '/v1/access-tokens?limit=many' });
    expect([res.status, res.json().code]).toEqual([400, 'bad_query']);
  });

  it('missing, malformed, unknown and repeated Authorization headers', async () => {
    const path = '/v1/basins';
    const cases: [Record<string, string> | string[], number, string][] = [
      [{}, 401, 'authn'],
      [{ authorization: 'Bearer' }, 401, 'authn'],
      [{ authorization: 'Basic dXNlcjpwYXNz' }, 401, 'authn'],
      [{ authorization: 'Bearer not a token' }, 401, 'authn'],
      [{ authorization: `Bearer ${'a'.repeat(600)}` }, 401, 'authn'],
      [{ authorization: 'Bearer s2l_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }, 401, 'authn'],
      [{ authorization: `Bearer ${server.root}x` }, 401, 'authn'],
    ];
    for (const protocol of ['h1', 'h2c'] as const) {
      for (const [headers, status, code] of cases) {
        const res = await request(server.baseUrl, { path, headers: headers as Record<string, string>, protocol });
        expect([res.status, res.json().code], JSON.stringify(headers)).toEqual([status, code]);
        if (status === 401) expect(res.headers['www-authenticate']).toBe('Bearer');
        expect(res.text).not.toContain(server.root);
      }
    }
    // Written by hand: a client library would merge or refuse the second header.
    const repeated = await rawHttp(
      server.baseUrl,
      `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${server.root}\r\nauthorization: Bearer ${server.root}\r\nConnection: close\r\n\r\n`,
    );
    expect(repeated.status).toBe(400);
    expect(JSON.parse(repeated.body).code).toBe('bad_header');
    // The same over HTTP/2, where Node's client refuses to repeat it: frames written by hand.
    const fields: [string, string][] = [
      [':method', 'GET'],
      [':scheme', 'http'],
      [':authority', 'x'],
      [':path', path],
      ['authorization', `Bearer ${server.root}`],
      ['authorization', `Bearer ${server.root}`],
    ];
    expect(JSON.parse(await rawH2Get(server.baseUrl, fields)).code).toBe('bad_header');
    // ...and a single one passes through this client (so the refusal above is the repetition).
    expect(JSON.parse(await rawH2Get(server.baseUrl, fields.slice(0, 5)))).toHaveProperty('basins');
  });

  it('health, ping and metrics stay public; CORS preflight needs no token', async () => {
    for (const path of ['/health', '/ping', '/metrics'])
      expect((await request(server.baseUrl, { path })).status).toBe(200);
    const preflight = await request(server.baseUrl, {
      method: 'OPTIONS',
      path: '/v1/basins',
      headers: {
        origin: 'http://example.test',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(preflight.status).toBe(200);
    expect(preflight.headers['access-control-allow-headers']).toBe('authorization');
  });

  it('with metricsAuth, /metrics needs a token allowed account-metrics', async () => {
    const guarded = await startAuthServer({ metricsAuth: true });
    try {
      expect((await request(guarded.baseUrl, { path: '/metrics' })).status).toBe(401);
      expect((await call(guarded, guarded.root, { path: '/metrics' })).status).toBe(200);
      const reader = await issue(guarded, { id: 'scraper', scope: { ops: ['account-metrics'] } });
      expect((await call(guarded, reader, { path: '/metrics' })).status).toBe(200);
      const other = await issue(guarded, { id: 'other', scope: { ops: ['list-basins'] } });
      expect((await call(guarded, other, { path: '/metrics' })).status).toBe(403);
      expect((await request(guarded.baseUrl, { path: '/health' })).status).toBe(200);
    } finally {
      await guarded.stop();
    }
  });
});
