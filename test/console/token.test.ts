/**
 * Proves the console's access-token flow in Chromium: no Authorization header until the user gives
 * a token; a 401 from the API opens a dialog asking for one; then "Authorization: Bearer" goes with
 * every request, the live SSE read and the /metrics scrape included; the token lives only in
 * sessionStorage; forgetting it stops sending it. First against a proxy that records every header
 * the console sends, then against the real built server run with `--auth`: the pages stay public,
 * and a scoped token sees only its basins, reads records and follows them live.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { AppendInput, AppendRecord, S2 } from '@s2-dev/streamstore';
import type { Browser, Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshotPath, startBuiltServer, type BuiltServer } from './support.js';

let server: BuiltServer;
let browser: Browser;
let s2: S2;

beforeAll(async () => {
  [server, browser] = await Promise.all([startBuiltServer(), launchChromium()]);
  s2 = new S2({
    accessToken: 'ignored',
    endpoints: { account: server.baseUrl, basin: server.baseUrl },
    retry: { maxAttempts: 1 },
  });
});

afterAll(async () => {
  await browser?.close();
  expect(await server?.stop()).toBe(0);
});

async function waitText(locator: Locator, text: string | RegExp): Promise<void> {
  await expect.poll(async () => (await locator.allTextContents()).join('\n'), { timeout: 10_000 }).toMatch(text);
}

/**
 * A stand-in for a server run with `--auth`: a proxy in front of the real server that answers the
 * API's 401 to any `/v1` or `/metrics` request without the right bearer token, and streams
 * everything else through (SSE included).
 */
async function tokenProxy(upstream: string, token: string) {
  const seen: { path: string; authorization: string | undefined; accept: string | undefined }[] = [];
  const target = new URL(upstream);
  const proxy = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const guarded = path.startsWith('/v1/') || path === '/metrics';
    if (guarded) seen.push({ path, authorization: req.headers.authorization, accept: req.headers.accept });
    if (guarded && req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ code: 'authn', message: 'missing or invalid access token' }));
    }
    const forward = http.request(
      { hostname: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    res.on('close', () => forward.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, seen, close: () => proxy.close() };
}

describe('the console with a server that wants a token', { timeout: 120_000 }, () => {
  it('asks on 401, then sends "Authorization: Bearer" everywhere; forgetting it stops that', async () => {
    await s2.basins.create({ basin: 'token-basin-1', config: { createStreamOnAppend: true } });
    await s2
      .basin('token-basin-1')
      .stream('s')
      .append(AppendInput.create([AppendRecord.string({ body: 'secret data' })]));
    const proxy = await tokenProxy(server.baseUrl, 'tok-123');
    const seen = proxy.seen;
    const context = await browser.newContext();
    const tab = await context.newPage();
    const pageErrors: string[] = [];
    tab.on('pageerror', (error) => pageErrors.push(error.message));
    try {
      await tab.goto(`${proxy.url}/console/`);
      const dialog = tab.getByRole('dialog', { name: 'Access token' });
      await waitText(dialog, 'The server asks for an access token (authn: missing or invalid access token).');
      await waitText(tab.getByRole('alert'), 'authn: missing or invalid access token');
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.every((s) => s.authorization === undefined)).toBe(true);
      const picture = screenshotPath('token');
      if (picture) await tab.screenshot({ path: picture });

      await dialog.getByLabel('Token').fill('tok-123');
      await dialog.getByRole('button', { name: 'Use token' }).click();
      await tab.getByLabel('Filter basins by prefix').fill('token');
      await tab.getByRole('button', { name: 'Filter' }).click();
      await tab.getByRole('link', { name: 'token-basin-1' }).waitFor();
      expect(await tab.evaluate('sessionStorage.getItem("s2-console-token")')).toBe('tok-123');
      expect(await tab.evaluate('localStorage.length')).toBe(0);
      expect(await tab.evaluate('document.cookie')).toBe('');

      await tab.goto(`${proxy.url}/console/basins/token-basin-1/streams/s`);
      await waitText(tab.getByRole('list', { name: 'Records' }), 'secret data');
      await tab.getByRole('button', { name: 'Follow live' }).click();
      await expect
        .poll(() => seen.some((s) => s.accept === 'text/event-stream' && s.authorization === 'Bearer tok-123'))
        .toBe(true);
      await s2
        .basin('token-basin-1')
        .stream('s')
        .append(AppendInput.create([AppendRecord.string({ body: 'live with a token' })]));
      await waitText(tab.getByRole('list', { name: 'Records' }), 'live with a token');
      await tab.getByRole('button', { name: 'Stop' }).click();
      await tab.getByRole('link', { name: 'Server metrics' }).click();
      await expect
        .poll(() => seen.some((s) => s.path === '/metrics' && s.authorization === 'Bearer tok-123'))
        .toBe(true);

      // Forgetting re-renders the page without a token: the next scrape is refused and asks again.
      await tab.getByRole('button', { name: 'Forget token' }).click();
      await waitText(tab.getByRole('dialog', { name: 'Access token' }), 'authn: missing or invalid access token');
      expect(await tab.evaluate('sessionStorage.getItem("s2-console-token")')).toBeNull();
      expect(seen[seen.length - 1]!.authorization).toBeUndefined();
      expect(pageErrors).toEqual([]);
    } finally {
      await context.close();
      proxy.close();
    }
  });
});

describe('the console with a real server run with --auth', { timeout: 120_000 }, () => {
  it('is served without a token, asks for one on 401, then shows only what a scoped token may see', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 's2-console-auth-'));
    const root = `console-root-${'r'.repeat(32)}`;
    writeFileSync(path.join(dir, 'root-token'), root, { mode: 0o600 });
    const guarded = await startBuiltServer(['--auth', '--root-token-file', path.join(dir, 'root-token')]);
    const context = await browser.newContext();
    try {
      const admin = new S2({
        accessToken: root,
        endpoints: { account: guarded.baseUrl, basin: guarded.baseUrl },
        retry: { maxAttempts: 1 },
      });
      await admin.basins.create({ basin: 'auth-console-01' });
      await admin.basins.create({ basin: 'auth-hidden-01' });
      await admin.basin('auth-console-01').streams.create({ stream: 's' });
      const stream = admin.basin('auth-console-01').stream('s');
      await stream.append(AppendInput.create([AppendRecord.string({ body: 'through auth' })]));
      const { accessToken } = await admin.accessTokens.issue({
        id: 'console-viewer',
        scope: {
          basins: { prefix: 'auth-console-' },
          streams: { prefix: '' },
          opGroups: { account: { read: true }, basin: { read: true }, stream: { read: true } },
        },
      });
      for (const page of ['/', '/console/']) expect((await fetch(`${guarded.baseUrl}${page}`)).status).toBe(200);
      expect((await fetch(`${guarded.baseUrl}/v1/basins`)).status).toBe(401);

      const tab = await context.newPage();
      const pageErrors: string[] = [];
      tab.on('pageerror', (error) => pageErrors.push(error.message));
      await tab.goto(`${guarded.baseUrl}/console/`);
      const dialog = tab.getByRole('dialog', { name: 'Access token' });
      await waitText(dialog, /The server asks for an access token \(authn: /);
      await dialog.getByLabel('Token').fill(accessToken);
      await dialog.getByRole('button', { name: 'Use token' }).click();
      await tab.getByRole('link', { name: 'auth-console-01' }).waitFor();
      expect(await tab.getByRole('link', { name: 'auth-hidden-01' }).count()).toBe(0);

      await tab.goto(`${guarded.baseUrl}/console/basins/auth-console-01/streams/s`);
      await waitText(tab.getByRole('list', { name: 'Records' }), 'through auth');
      await tab.getByRole('button', { name: 'Follow live' }).click();
      await tab.getByRole('button', { name: 'Stop' }).waitFor();
      await stream.append(AppendInput.create([AppendRecord.string({ body: 'live through auth' })]));
      await waitText(tab.getByRole('list', { name: 'Records' }), 'live through auth');
      expect(pageErrors).toEqual([]);
    } finally {
      await context.close();
      expect(await guarded.stop()).toBe(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
