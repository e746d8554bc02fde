/**
 * Proves `s2-lite serve` as a real child process (api.md 14, lite-internals 4.1-4.2): what it
 * prints, `--init-file` / `S2LITE_INIT_FILE` (applied with ensure semantics, strict parsing,
 * a clear one-line error and non-zero exit for a bad file), `--tls-self` serving HTTP/2 and
 * HTTP/1.1 by ALPN, `--no-cors`, and a clean exit 0 on SIGTERM and SIGINT.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../support/http.js';
import { repoRoot, spawnServer, type SpawnedServer } from '../support/server.js';
import { mainJs } from './support.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 's2-lite-serve-test-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let fileCounter = 0;
function specFile(spec: unknown): string {
  fileCounter += 1;
  const file = path.join(dir, `spec-${fileCounter}.json`);
  writeFileSync(file, typeof spec === 'string' ? spec : JSON.stringify(spec));
  return file;
}

/** Runs `serve` expecting it to fail at startup; resolves with its exit code and output. */
function runUntilExit(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [mainJs, 'serve', '--host', '127.0.0.1', '--port', '0', ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  return new Promise((resolve) => {
    // A server that wrongly starts is stopped once it says so, so the test fails instead of hanging.
    child.stdout.on('data', () => {
      if (stdout.includes('listening on')) child.kill('SIGTERM');
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function withServer(
  args: string[],
  env: NodeJS.ProcessEnv,
  fn: (server: SpawnedServer) => Promise<void>,
): Promise<void> {
  const server = await spawnServer(args, env);
  try {
    await fn(server);
  } finally {
    expect(await server.stop()).toBe(0);
  }
}

const json = { 'content-type': 'application/json' };

const validSpec = {
  basins: [
    {
      name: 'init-basin-one',
      config: {
        create_stream_on_append: true,
        stream_cipher: 'aegis-256',
        default_stream_config: { retention_policy: '7d', timestamping: { mode: 'arrival' } },
      },
      streams: [
        {
          name: 'orders',
          config: {
            storage_class: 'standard',
            retention_policy: 'infinite',
            timestamping: { mode: 'client-require', uncapped: true },
            delete_on_empty: { min_age: '1h30m' },
          },
        },
        { name: 'a/b' },
      ],
    },
    { name: 'init-basin-two' },
  ],
};

async function expectValidSpecApplied(baseUrl: string): Promise<void> {
  const one = await request(baseUrl, { path: '/v1/basins/init-basin-one' });
  expect(one.json()).toEqual({
    default_stream_config: {
      storage_class: null,
      retention_policy: { age: 604800 },
      timestamping: { mode: 'arrival', uncapped: null },
      delete_on_empty: null,
    },
    stream_cipher: 'aegis-256',
    create_stream_on_append: true,
    create_stream_on_read: false,
  });
  const orders = await request(baseUrl, { path: '/v1/streams/orders', headers: { 's2-basin': 'init-basin-one' } });
  expect(orders.json()).toEqual({
    storage_class: 'standard',
    retention_policy: { infinite: {} },
    timestamping: { mode: 'client-require', uncapped: true },
    delete_on_empty: { min_age_secs: 5400 },
  });
  const ab = await request(baseUrl, { path: '/v1/streams/a%2Fb', headers: { 's2-basin': 'init-basin-one' } });
  expect(ab.json()).toEqual({
    storage_class: 'express',
    retention_policy: { age: 604800 },
    timestamping: { mode: 'arrival', uncapped: false },
    delete_on_empty: { min_age_secs: 0 },
  });
  const listed = await request(baseUrl, { path: '/v1/streams', headers: { 's2-basin': 'init-basin-one' } });
  expect(listed.json().streams.map((s: { name: string; cipher: string }) => [s.name, s.cipher])).toEqual([
    ['a/b', 'aegis-256'],
    ['orders', 'aegis-256'],
  ]);
  expect((await request(baseUrl, { path: '/v1/basins/init-basin-two' })).status).toBe(200);
}

describe('s2-lite serve', () => {
  it('prints the endpoint, the storage mode and the export line for the CLI and SDKs, and serves', async () => {
    await withServer([], {}, async (server) => {
      const out = server.stdout();
      const endpoint = server.baseUrl;
      expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(out).toContain(`s2-lite listening on ${endpoint}\n`);
      expect(out).toMatch(/^storage: in-memory/m);
      expect(out).toContain(
        `export S2_ACCOUNT_ENDPOINT=${endpoint} S2_BASIN_ENDPOINT=${endpoint} S2_ACCESS_TOKEN=ignored\n`,
      );
      expect(out).not.toContain('S2_SSL_NO_VERIFY');
      const health = await request(endpoint, { path: '/health' });
      expect(health.text).toBe('OK');
      const h2 = await request(endpoint, { path: '/ping', protocol: 'h2c' });
      expect(h2.text).toBe('OK');
    });
  });

  it('applies --init-file at startup with ensure semantics, durations as human strings', async () => {
    await withServer(['--init-file', specFile(validSpec)], {}, async (server) => {
      await expectValidSpecApplied(server.baseUrl);
    });
  });

  it('reads the init file from S2LITE_INIT_FILE, and a second start on the same file is safe', async () => {
    const file = specFile(validSpec);
    for (let start = 0; start < 2; start++) {
      await withServer([], { S2LITE_INIT_FILE: file }, async (server) => {
        await expectValidSpecApplied(server.baseUrl);
        // Clients can change what the file created; the server keeps running normally.
        const res = await request(server.baseUrl, {
          method: 'PATCH',
          path: '/v1/basins/init-basin-two',
          headers: json,
          body: '{"create_stream_on_read":true}',
        });
        expect(res.status).toBe(200);
      });
    }
  });

  it.each([
    [
      'an unknown field in a stream config',
      { basins: [{ name: 'bad-spec-basin', streams: [{ name: 's', config: { colour: 'red' } }] }] },
      /unknown field `colour`/,
    ],
    ['an unknown field in a basin', { basins: [{ name: 'bad-spec-basin', cfg: {} }] }, /unknown field `cfg`/],
    [
      'a duplicate basin name',
      { basins: [{ name: 'dup-spec-basin' }, { name: 'dup-spec-basin' }] },
      /duplicate basin `dup-spec-basin`/,
    ],
    [
      'a duplicate stream name',
      { basins: [{ name: 'dup-spec-basin', streams: [{ name: 'x' }, { name: 'x' }] }] },
      /duplicate stream `x`/,
    ],
    [
      'a zero retention',
      { basins: [{ name: 'zero-spec-basin', config: { default_stream_config: { retention_policy: '0s' } } }] },
      /retention_policy/,
    ],
    [
      'an invalid duration',
      { basins: [{ name: 'bad-spec-basin', streams: [{ name: 's', config: { retention_policy: 'forever' } }] }] },
      /invalid duration `forever`/,
    ],
    ['an invalid basin name', { basins: [{ name: 'Bad_Name' }] }, /basin name/],
    ['malformed JSON', '{"basins": [', /not valid JSON/],
  ])('refuses to start on a spec file with %s: one-line error, non-zero exit', async (_what, spec, message) => {
    const { code, stdout, stderr } = await runUntilExit(['--init-file', specFile(spec)]);
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    expect(stdout).not.toContain('listening on');
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: /);
    expect(lines[0]).toMatch(message);
  });

  it('refuses to start when the init file does not exist', async () => {
    const { code, stderr } = await runUntilExit([], { S2LITE_INIT_FILE: path.join(dir, 'missing.json') });
    expect(code).toBe(1);
    expect(stderr.trim()).toMatch(/^error: cannot read spec file .*missing\.json/);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });

  it('serves HTTPS with --tls-self: HTTP/2 and HTTP/1.1 chosen by ALPN', async () => {
    await withServer(['--tls-self'], {}, async (server) => {
      expect(server.baseUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(server.stdout()).toContain(
        `export S2_ACCOUNT_ENDPOINT=${server.baseUrl} S2_BASIN_ENDPOINT=${server.baseUrl} S2_ACCESS_TOKEN=ignored S2_SSL_NO_VERIFY=1`,
      );
      // Offer only http/1.1 by ALPN (Node's https client offers none by default).
      const tlsOptions: https.RequestOptions & ConnectionOptions = {
        rejectUnauthorized: false,
        agent: false,
        ALPNProtocols: ['http/1.1'],
      };
      const h1 = await new Promise<{ status: number; alpn: string | false | null; body: string }>((resolve, reject) => {
        const req = https.get(`${server.baseUrl}/health`, tlsOptions, (res) => {
          const alpn = (res.socket as TLSSocket).alpnProtocol;
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, alpn, body }));
        });
        req.on('error', reject);
      });
      expect(h1).toEqual({ status: 200, alpn: 'http/1.1', body: 'OK' });

      const session = http2.connect(server.baseUrl, { rejectUnauthorized: false });
      try {
        await new Promise<void>((resolve, reject) => session.once('connect', () => resolve()).once('error', reject));
        expect(session.alpnProtocol).toBe('h2');
        const result = await new Promise<{ status: number; body: string }>((resolve, reject) => {
          const stream = session.request({ ':method': 'POST', ':path': '/v1/basins', ...json });
          let status = 0;
          let body = '';
          stream.on('response', (h) => (status = Number(h[':status'])));
          stream.on('data', (c) => (body += c));
          stream.on('end', () => resolve({ status, body }));
          stream.on('error', reject);
          stream.end(JSON.stringify({ basin: 'tls-created-basin' }));
        });
        expect(result.status).toBe(201);
        expect(JSON.parse(result.body).name).toBe('tls-created-basin');
      } finally {
        session.close();
      }
    });
  });

  it('sends CORS headers by default and none with --no-cors', async () => {
    const preflight = (baseUrl: string) =>
      request(baseUrl, {
        method: 'OPTIONS',
        path: '/v1/basins',
        headers: { origin: 'http://app.example', 'access-control-request-method': 'POST' },
      });
    await withServer([], {}, async (server) => {
      const res = await preflight(server.baseUrl);
      expect(res.status).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBe('http://app.example');
    });
    await withServer(['--no-cors'], {}, async (server) => {
      const res = await preflight(server.baseUrl);
      expect(res.status).toBe(405);
      const get = await request(server.baseUrl, { path: '/v1/basins', headers: { origin: 'http://app.example' } });
      expect(get.status).toBe(200);
      expect(Object.keys(get.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    });
  });

  it('exits 0 on SIGTERM without waiting for idle HTTP/1.1 keep-alive and HTTP/2 clients', async () => {
    const server = await spawnServer();
    // A client that would keep its idle connection open for a minute.
    const agent = new http.Agent({ keepAlive: true, timeout: 60_000 });
    const session = http2.connect(server.baseUrl);
    try {
      const health = await new Promise<string>((resolve, reject) => {
        http
          .get(`${server.baseUrl}/health`, { agent }, (res) => {
            let body = '';
            res.on('data', (c) => (body += c));
            res.on('end', () => resolve(body));
          })
          .on('error', reject);
      });
      expect(health).toBe('OK');
      await new Promise<void>((resolve, reject) => {
        const stream = session.request({ ':path': '/health' });
        stream.on('data', () => {});
        stream.on('end', () => resolve());
        stream.on('error', reject);
      });
      // Idle connections are closed at once, so the server exits well within its 10 s grace
      // period; stop() escalates to SIGKILL (exit code null) after 8 s if it waits for them.
      expect(await server.stop(8_000)).toBe(0);
    } finally {
      agent.destroy();
      session.destroy();
    }
  });

  it('exits 0 on SIGINT', async () => {
    const server = await spawnServer();
    server.process.kill('SIGINT');
    expect(await server.exited).toBe(0);
  });
});
