/**
 * Helpers shared by the control-plane conformance files: a small client over the raw HTTP/1.1 or
 * h2c transport, exact error-shape assertions and bounded polling for background work.
 */
import { expect } from 'vitest';
import { ManualClock } from '../../../src/util/clock.js';
import { request, type Protocol, type RawRequest, type RawResponse } from '../../support/http.js';
import { startServer, type TestServer } from '../../support/server.js';

export const jsonHeaders = { 'content-type': 'application/json' };

/** The resolved stream config of a stream nobody configured (api.md 4.3, 5.1). */
export const systemDefaults = {
  storage_class: 'express',
  retention_policy: { age: 604800 },
  timestamping: { mode: 'client-prefer', uncapped: false },
  delete_on_empty: { min_age_secs: 0 },
};

/** The config of a basin created without one (api.md 4.2). */
export const defaultBasinConfig = {
  default_stream_config: null,
  stream_cipher: null,
  create_stream_on_append: false,
  create_stream_on_read: false,
};

/** Path of a stream, percent-encoding everything outside the unreserved set (as the SDKs do). */
export function streamPath(name: string, suffix = ''): string {
  const encoded = encodeURIComponent(name).replace(
    /[!'()*.]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `/v1/streams/${encoded}${suffix}`;
}

export type Api = ReturnType<typeof api>;

export function api(baseUrl: string, protocol: Protocol) {
  const raw = (req: Omit<RawRequest, 'protocol'>) => request(baseUrl, { ...req, protocol });
  const json = (method: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
    raw({ method, path, headers: { ...jsonHeaders, ...headers }, body: JSON.stringify(body) });
  const streams = (basin: string) => {
    const h = { 's2-basin': basin };
    return {
      list: (query = '') => raw({ path: `/v1/streams${query}`, headers: h }),
      create: (stream: string, config?: unknown, headers: Record<string, string> = {}) =>
        json('POST', '/v1/streams', config === undefined ? { stream } : { stream, config }, { ...h, ...headers }),
      get: (stream: string) => raw({ path: streamPath(stream), headers: h }),
      ensure: (stream: string, config?: unknown) =>
        config === undefined
          ? raw({ method: 'PUT', path: streamPath(stream), headers: h })
          : json('PUT', streamPath(stream), config, h),
      patch: (stream: string, patch: unknown) => json('PATCH', streamPath(stream), patch, h),
      delete: (stream: string) => raw({ method: 'DELETE', path: streamPath(stream), headers: h }),
    };
  };
  return {
    raw,
    json,
    listBasins: (query = '') => raw({ path: `/v1/basins${query}` }),
    createBasin: (basin: string, config?: unknown, headers: Record<string, string> = {}) =>
      json('POST', '/v1/basins', config === undefined ? { basin } : { basin, config }, headers),
    getBasin: (basin: string) => raw({ path: `/v1/basins/${basin}` }),
    ensureBasin: (basin: string, body?: unknown) =>
      body === undefined
        ? raw({ method: 'PUT', path: `/v1/basins/${basin}` })
        : json('PUT', `/v1/basins/${basin}`, body),
    patchBasin: (basin: string, patch: unknown) => json('PATCH', `/v1/basins/${basin}`, patch),
    deleteBasin: (basin: string) => raw({ method: 'DELETE', path: `/v1/basins/${basin}` }),
    streams,
  };
}

/** An error response with the standard shape, status and code (and message, when given). */
export function expectError(res: RawResponse, status: number, code: string, message?: string | RegExp): void {
  expect({ status: res.status, body: res.text }).toMatchObject({ status });
  expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
  const body = res.json();
  expect(Object.keys(body).sort()).toEqual(['code', 'message']);
  expect(body.code).toBe(code);
  if (typeof message === 'string') expect(body.message).toBe(message);
  else if (message) expect(body.message).toMatch(message);
  else expect(typeof body.message).toBe('string');
}

export function expectProvision(res: RawResponse, status: number, outcome: 'created' | 'updated' | 'noop'): void {
  expect({ status: res.status, body: res.text }).toMatchObject({ status });
  expect(res.headers['s2-provision-result']).toBe(outcome);
}

/** Polls `check` until it holds or the deadline passes (background work has no fixed timing). */
export async function eventually(what: string, check: () => Promise<boolean>, deadlineMs = 20_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * A server whose background tasks never run on their own (its clock only moves when told), so
 * "pending deletion" states can be observed without racing the ~1 s triggered run. Against an
 * external server (S2_TEST_BASE_URL) this is the shared server and background work runs as usual.
 */
export async function startPausedServer(): Promise<TestServer> {
  return startServer({ engine: { clock: new ManualClock(Date.now()) } });
}

/** Lets the background tasks finish pending deletions, then waits until `done` holds. */
export async function finishBackground(server: TestServer, what: string, done: () => Promise<boolean>): Promise<void> {
  if (server.engine) await server.engine.background.runOnce();
  await eventually(what, done);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
