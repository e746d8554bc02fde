/**
 * Proves the console's access-token flow in Chromium: no Authorization header until the user gives
 * a token; a 401 from the API opens a dialog asking for one; then "Authorization: Bearer" goes with
 * every request, the live SSE read and the /metrics scrape included; the token lives only in
 * sessionStorage; forgetting it stops sending it. The server with tokens (issue 18) is played by a
 * proxy in front of the real built server.
 */
import http from 'node:http';
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
