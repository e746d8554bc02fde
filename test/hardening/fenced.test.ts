/**
 * Proves that a fenced instance serves nothing from its stale view: two real server processes on
 * one S3 prefix (the second takes the store over; on a local root the root lock refuses a second
 * server instead, test/durability/fencing.test.ts), and the
 * first then answers every data-plane and control-plane request with 503 `unavailable` (api.md 10.4)
 * instead of 200 with a stale tail or stale records, and ends the read session it was serving with
 * a 503 error event.
 */
import http from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestBucket, s3TestConfig } from '../setup/s3-env.js';
import { call, createBasin, sleep, startDistServer, type DistServer } from './support.js';

const servers: DistServer[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const server of servers) await server.stop();
  for (const cleanup of cleanups) await cleanup();
});

async function s3Store(): Promise<{ args: string[]; env: NodeJS.ProcessEnv }> {
  const s3 = s3TestConfig();
  const { bucket, cleanup } = await createTestBucket();
  cleanups.push(cleanup);
  const env = {
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_REGION: s3.region,
  };
  return { args: ['--bucket', bucket, '--path', 'fenced'], env };
}

async function eventually(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(100);
  }
  return false;
}

/** Opens an SSE read and collects its text until the server ends it. */
function openSse(
  port: number,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; text: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port, path, headers: { accept: 'text/event-stream', ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        const ended = new Promise<string>((done) => {
          res.on('end', () => done(text));
          res.on('error', () => done(text));
          res.on('close', () => done(text));
        });
        resolve({ status: res.statusCode ?? 0, text: ended });
      },
    );
    req.on('error', reject);
  });
}

describe('a fenced instance', () => {
  it('answers every /v1 request with 503 and ends its read sessions', async () => {
    const store = await s3Store();
    const first = await startDistServer(store.args, store.env);
    servers.push(first);
    const basin = 'hardening-fenced';
    await createBasin(first.port, basin);
    const headers = { 's2-basin': basin, 'content-type': 'application/json' };
    const appended = await call(
      first.port,
      'POST',
      '/v1/streams/s/records',
      headers,
      JSON.stringify({ records: [{ body: 'a' }] }),
    );
    expect(appended.status).toBe(200);
    const follower = await openSse(first.port, '/v1/streams/s/records?seq_num=0', { 's2-basin': basin });
    expect(follower.status).toBe(200);

    const second = await startDistServer(store.args, store.env);
    servers.push(second);
    expect(await eventually(async () => (await call(first.port, 'GET', '/health')).status === 503, 15_000)).toBe(true);
    // The new owner moves the stream on; the first must not report the old tail.
    expect(
      (await call(second.port, 'POST', '/v1/streams/s/records', headers, JSON.stringify({ records: [{ body: 'b' }] })))
        .status,
    ).toBe(200);

    const requests: [string, string, string?][] = [
      ['GET', '/v1/basins'],
      ['GET', `/v1/basins/${basin}`],
      ['GET', '/v1/streams'],
      ['GET', '/v1/streams/s'],
      ['GET', '/v1/streams/s/records/tail'],
      ['GET', '/v1/streams/s/records?seq_num=0'],
      ['POST', '/v1/streams/s/records', JSON.stringify({ records: [{ body: 'c' }] })],
      ['POST', '/v1/streams', JSON.stringify({ stream: 'new' })],
      ['DELETE', '/v1/streams/s'],
    ];
    const outcomes: string[] = [];
    for (const [method, path, body] of requests) {
      const res = await call(first.port, method, path, headers, body);
      outcomes.push(`${method} ${path}: ${res.status}`);
      expect({ path, status: res.status }).toEqual({ path, status: 503 });
      expect(JSON.parse(res.text).code).toBe('unavailable');
    }
    const sse = await openSse(first.port, '/v1/streams/s/records?seq_num=0', { 's2-basin': basin });
    expect(sse.status).toBe(503);
    // The session opened before the takeover ends at its next output (a heartbeat within 15 s).
    const text = await Promise.race([follower.text, sleep(25_000).then(() => 'still open')]);
    console.log(
      `FIGURE fenced: ${outcomes.join(', ')}; SSE open ${sse.status}; earlier session: ${JSON.stringify(text.slice(-160))}`,
    );
    expect(text).toMatch(/event: error\ndata: \{"code":"unavailable"/);
    // The second, the owner, serves everything, including the record the first acknowledged.
    const read = await call(second.port, 'GET', '/v1/streams/s/records?seq_num=0', { 's2-basin': basin });
    expect(read.status).toBe(200);
    expect(JSON.parse(read.text).records.map((r: { body: string }) => r.body)).toEqual(['a', 'b']);
  }, 90_000);
});
