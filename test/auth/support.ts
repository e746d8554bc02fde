/**
 * A server with `--auth` in this process (the real listener, router, engine and in-memory log),
 * with the root token known to the test, an optional fake clock, and helpers to issue tokens and
 * send raw requests with a bearer token over HTTP/1.1 or h2c.
 */
import pino from 'pino';
import { S2 } from '@s2-dev/streamstore';
import { mintToken } from '../../src/api/auth/token.js';
import { S2Server } from '../../src/api/server.js';
import { Engine } from '../../src/engine/engine.js';
import { openStreamLog } from '../../src/storage/open.js';
import type { Clock } from '../../src/util/clock.js';
import { request, type Protocol, type RawResponse } from '../support/http.js';

export interface AuthServer {
  baseUrl: string;
  root: string;
  engine: Engine;
  stop(): Promise<void>;
}

export async function startAuthServer(options: { clock?: Clock; metricsAuth?: boolean } = {}): Promise<AuthServer> {
  const log = await openStreamLog({ kind: 'memory' });
  const engine = new Engine(log, options.clock ? { clock: options.clock } : {});
  engine.start();
  const { token, hash } = mintToken();
  await engine.storeRootTokenHash(hash);
  const server = new S2Server({
    engine,
    host: '127.0.0.1',
    port: 0,
    cors: true,
    logger: pino({ level: 'silent' }),
    auth: { metricsAuth: options.metricsAuth ?? false },
  });
  await server.start();
  return {
    baseUrl: `http://127.0.0.1:${server.port}`,
    root: token,
    engine,
    async stop() {
      await server.close(1000);
      await engine.close();
    },
  };
}

export function sdk(server: { baseUrl: string }, token: string): S2 {
  return new S2({
    accessToken: token,
    endpoints: { account: server.baseUrl, basin: server.baseUrl },
    retry: { maxAttempts: 1 },
  });
}

export interface Call {
  method?: string;
  path: string;
  basin?: string;
  json?: unknown;
  headers?: Record<string, string>;
  body?: string;
}

/** A raw request with `Authorization: Bearer token` (none if token is undefined). */
export function call(
  server: { baseUrl: string },
  token: string | undefined,
  c: Call,
  protocol: Protocol = 'h1',
): Promise<RawResponse> {
  const headers: Record<string, string> = { ...c.headers };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (c.basin !== undefined) headers['s2-basin'] = c.basin;
  let body = c.body;
  if (c.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(c.json);
  }
  return request(server.baseUrl, { method: c.method ?? 'GET', path: c.path, headers, body, protocol });
}

/** Issues a token with `root` (raw JSON body, as the spec shapes it); throws unless 201. */
export async function issue(server: AuthServer, body: Record<string, unknown>, issuer = server.root): Promise<string> {
  const res = await call(server, issuer, { method: 'POST', path: '/v1/access-tokens', json: body });
  if (res.status !== 201) throw new Error(`issue ${JSON.stringify(body)}: ${res.status} ${res.text}`);
  return res.json().access_token as string;
}
