/**
 * Proves how the built server hands out the console (src/api/console.ts) over real HTTP: index.html
 * at `/`, `/console` and any console page; hashed assets cached forever, gzip when asked, 304 on a
 * matching ETag; a strict CSP and `X-Frame-Options: DENY` on every console response; 404 for
 * unknown assets and 405 for other methods; the API, health, metrics and the empty 404 for
 * unknown paths unchanged (api.md 1.2); `--no-console` turning it all off; and a clear 503 or a
 * refusal to start when the build is missing or lists an unsafe path.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleSite } from '../../src/api/console.js';
import { RequestContext } from '../../src/api/http.js';
import { request } from '../support/http.js';
import { startBuiltServer, type BuiltServer } from './support.js';

let server: BuiltServer;
let base: string;
beforeAll(async () => {
  server = await startBuiltServer();
  base = server.baseUrl;
});
afterAll(async () => {
  expect(await server.stop()).toBe(0);
});

function expectSecurityHeaders(headers: Record<string, string | string[] | undefined>): void {
  const csp = String(headers['content-security-policy']);
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("connect-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toContain("require-trusted-types-for 'script'");
  expect(csp).not.toContain('unsafe');
  expect(headers['x-frame-options']).toBe('DENY');
  expect(headers['x-content-type-options']).toBe('nosniff');
}

function assetPaths(html: string): string[] {
  return [...html.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map((m) => m[1]!);
}

describe('the console as served by the built server', () => {
  it('prints where the console is', () => {
    expect(server.stdout()).toContain(`console: ${base}/\n`);
  });

  it('serves index.html at /, /console, /console/ and at any console page, revalidated each time', async () => {
    for (const p of [
      '/',
      '/console',
      '/console/',
      '/console/basins/some-basin/streams/a%2Fb',
      '/console/metrics?x=1',
    ]) {
      const res = await request(base, { path: p });
      expect(res.status, p).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.text).toContain('<title>s2-lite console</title>');
      expectSecurityHeaders(res.headers);
    }
    const head = await request(base, { method: 'HEAD', path: '/' });
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
  });

  it('serves the hashed script and stylesheet: right type, immutable, gzip on request, 304 on its ETag', async () => {
    const html = (await request(base, { path: '/' })).text;
    const assets = assetPaths(html);
    expect(assets.some((a) => /\/main-[A-Z0-9]+\.js$/.test(a))).toBe(true);
    expect(assets.some((a) => /\/style-[A-Z0-9]+\.css$/.test(a))).toBe(true);
    for (const asset of assets) {
      const plain = await request(base, { path: asset });
      expect(plain.status, asset).toBe(200);
      expect(plain.headers['content-type']).toMatch(/^(text\/javascript|text\/css|image\/svg\+xml)/);
      expectSecurityHeaders(plain.headers);
      const etag = String(plain.headers.etag);
      const revalidated = await request(base, { path: asset, headers: { 'if-none-match': etag } });
      expect(revalidated.status).toBe(304);
      expect(revalidated.text).toBe('');
      if (asset.endsWith('.svg')) continue;
      expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      const zipped = await request(base, { path: asset, headers: { 'accept-encoding': 'gzip, br' } });
      expect(zipped.headers['content-encoding']).toBe('gzip');
      expect(zipped.headers.vary).toContain('accept-encoding');
      expect(gunzipSync(zipped.body).toString()).toBe(plain.text);
    }
  });

  it('has no foreign origins in the page or its script: nothing is loaded from a CDN', async () => {
    const html = (await request(base, { path: '/' })).text;
    expect(html).not.toMatch(/https?:\/\//);
    const script = assetPaths(html).find((a) => a.endsWith('.js'))!;
    const code = (await request(base, { path: script })).text;
    expect(code).not.toMatch(/(?:src|href)\s*=\s*["']https?:/);
    expect(code).not.toContain('innerHTML');
  });

  it('answers 404 for an unknown or traversing asset path, 405 for other methods, and keeps the API unchanged', async () => {
    for (const p of [
      '/console/assets/missing.js',
      '/console/assets/../../package.json',
      '/console/assets/%2e%2e/build.json',
    ]) {
      const res = await request(base, { path: p });
      expect(res.status, p).toBe(404);
      expectSecurityHeaders(res.headers);
    }
    const post = await request(base, { method: 'POST', path: '/console/', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    // Everything outside the console's paths is as api.md 1.2 says.
    const unknown = await request(base, { path: '/consoles' });
    expect(unknown.status).toBe(404);
    expect(unknown.text).toBe('');
    expect(unknown.headers['content-security-policy']).toBeUndefined();
    expect((await request(base, { path: '/health' })).text).toBe('OK');
    expect((await request(base, { path: '/metrics' })).text).toContain('s2_append_records_total');
    const list = await request(base, { path: '/v1/basins', headers: { origin: 'http://app.example' } });
    expect(list.json()).toEqual({ basins: [], has_more: false });
    expect(list.headers['access-control-allow-origin']).toBe('http://app.example');
    expect(list.headers['content-security-policy']).toBeUndefined();
  });
});

describe('--no-console', () => {
  it('turns the console off: its paths are the empty 404 of any unknown path', async () => {
    const off = await startBuiltServer(['--no-console']);
    try {
      expect(off.stdout()).not.toContain('console:');
      for (const p of ['/', '/console', '/console/', '/console/assets/favicon.svg']) {
        const res = await request(off.baseUrl, { path: p });
        expect(res.status, p).toBe(404);
        expect(res.text).toBe('');
      }
      expect((await request(off.baseUrl, { path: '/health' })).text).toBe('OK');
    } finally {
      expect(await off.stop()).toBe(0);
    }
  });
});

describe('a console that was not built, or built wrong', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 's2-console-test-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('says how to build it (503, text) instead of a blank page', async () => {
    const site = new ConsoleSite(undefined);
    const httpServer = http.createServer((req, res) => site.serve(new RequestContext(req, res)));
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    try {
      const res = await request(`http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`, { path: '/' });
      expect(res.status).toBe(503);
      expect(res.text).toContain('npm run build');
      expectSecurityHeaders(res.headers);
    } finally {
      httpServer.close();
    }
  });

  it('refuses a build list naming a path outside the console directory, or of an unknown type', () => {
    writeFileSync(path.join(dir, 'build.json'), JSON.stringify({ files: [{ path: '../secret.js' }] }));
    expect(() => new ConsoleSite(dir)).toThrow('unsafe path');
    mkdirSync(path.join(dir, 'assets'), { recursive: true });
    writeFileSync(path.join(dir, 'assets/x.exe'), 'x');
    writeFileSync(path.join(dir, 'build.json'), JSON.stringify({ files: [{ path: 'assets/x.exe' }] }));
    expect(() => new ConsoleSite(dir)).toThrow('unknown type');
  });
});
