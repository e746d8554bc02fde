/**
 * Proves the request body timeouts against a real server process, over HTTP/1.1 and h2c: a body
 * trickled a byte every 2 s gets 408 `request_timeout` once the whole-body timeout (30 s) passed,
 * a body that stops arriving gets it after the idle timeout (10 s), and an S2S append session that
 * stops inside a frame ends with a 408 terminal frame; the HTTP/1.1 connection is then closed and
 * the HTTP/2 stream reset. (Before: each held its connection and buffer for as long as the client
 * liked.) The four clients run at once, so the file takes about 35 s.
 */
import http2 from 'node:http2';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestBodyIdleTimeoutMs, requestBodyTimeoutMs } from '../../src/limits.js';
import { createBasin, sleep, startDistServer, type DistServer } from './support.js';

const basin = 'hardening-trickle';
let server: DistServer;

beforeAll(async () => {
  server = await startDistServer();
  await createBasin(server.port, basin);
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

/** Longest we wait for the server to give up; well past both timeouts. */
const giveUpMs = requestBodyTimeoutMs + 20_000;
const body = Buffer.from(JSON.stringify({ records: [{ body: 'x'.repeat(900) }] }));

interface Outcome {
  /** ms from the first body byte to the response (or stream end); undefined if none came. */
  ms: number | undefined;
  status: number;
  code: string | undefined;
  /** The server closed the connection (HTTP/1.1) or reset/ended the stream (HTTP/2). */
  closed: boolean;
}

/** HTTP/1.1: headers, then `bytes` of the body one per `gapMs`, then nothing. */
async function trickleH1(bytes: number, gapMs: number): Promise<Outcome> {
  const socket = net.connect(server.port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write(
    `POST /v1/streams/trickle/records HTTP/1.1\r\nHost: lite\r\ns2-basin: ${basin}\r\n` +
      `content-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`,
  );
  const started = performance.now();
  let received = '';
  let respondedAt: number | undefined;
  let closed = false;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    received += chunk;
    respondedAt ??= performance.now();
  });
  socket.on('error', () => {});
  const done = new Promise<void>((resolve) =>
    socket.on('close', () => {
      closed = true;
      resolve();
    }),
  );
  for (let i = 0; i < bytes && !closed; i++) {
    socket.write(body.subarray(i, i + 1));
    if (i < bytes - 1) await Promise.race([sleep(gapMs), done]);
  }
  await Promise.race([done, sleep(giveUpMs)]);
  socket.destroy();
  const status = Number(/^HTTP\/1\.1 (\d+)/.exec(received)?.[1] ?? 0);
  const code = /"code":"([a-z_]+)"/.exec(received)?.[1];
  return { ms: respondedAt === undefined ? undefined : respondedAt - started, status, code, closed };
}

/** h2c: the same on one stream of its own connection. */
async function trickleH2(bytes: number, gapMs: number): Promise<Outcome> {
  const session = http2.connect(server.baseUrl);
  session.on('error', () => {});
  const stream = session.request({
    ':method': 'POST',
    ':path': '/v1/streams/trickle/records',
    's2-basin': basin,
    'content-type': 'application/json',
    'content-length': String(body.length),
  });
  const started = performance.now();
  let status = 0;
  let respondedAt: number | undefined;
  let text = '';
  let closed = false;
  stream.on('response', (headers) => {
    status = Number(headers[':status']);
    respondedAt = performance.now();
  });
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => (text += chunk));
  stream.on('error', () => {});
  const done = new Promise<void>((resolve) =>
    stream.on('close', () => {
      closed = true;
      resolve();
    }),
  );
  for (let i = 0; i < bytes && !closed; i++) {
    stream.write(body.subarray(i, i + 1));
    if (i < bytes - 1) await Promise.race([sleep(gapMs), done]);
  }
  await Promise.race([done, sleep(giveUpMs)]);
  session.destroy();
  const code = /"code":"([a-z_]+)"/.exec(text)?.[1];
  return { ms: respondedAt === undefined ? undefined : respondedAt - started, status, code, closed };
}

/** h2c S2S append session: a frame header announcing 100 bytes, 10 of them, then nothing. */
async function stallS2sFrame(): Promise<Outcome & { terminal: string }> {
  const session = http2.connect(server.baseUrl);
  session.on('error', () => {});
  const stream = session.request({
    ':method': 'POST',
    ':path': '/v1/streams/trickle-session/records',
    's2-basin': basin,
    'content-type': 's2s/proto',
  });
  let status = 0;
  const chunks: Buffer[] = [];
  let endedAt: number | undefined;
  stream.on('response', (headers) => (status = Number(headers[':status'])));
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('error', () => {});
  const started = performance.now();
  const done = new Promise<void>((resolve) =>
    stream.on('close', () => {
      endedAt = performance.now();
      resolve();
    }),
  );
  stream.write(Buffer.concat([Buffer.from([0, 0, 100, 0]), Buffer.alloc(9, 1)]));
  await Promise.race([done, sleep(giveUpMs)]);
  session.destroy();
  // A terminal frame: 3-byte length, flag with the T bit, 2-byte status, JSON body.
  const out = Buffer.concat(chunks);
  const terminal = out.length >= 6 && (out[3]! & 0x80) !== 0 ? `${out.readUInt16BE(4)} ${out.subarray(6)}` : '';
  return {
    ms: endedAt === undefined ? undefined : endedAt - started,
    status,
    code: undefined,
    closed: endedAt !== undefined,
    terminal,
  };
}

describe('request body timeouts', () => {
  it('trickled and stalled bodies get 408 after the timeout, over HTTP/1.1 and h2c', async () => {
    const [h1Trickle, h1Stall, h2Trickle, h2Stall, s2s] = await Promise.all([
      trickleH1(body.length, 2_000),
      trickleH1(10, 10),
      trickleH2(body.length, 2_000),
      trickleH2(10, 10),
      stallS2sFrame(),
    ]);
    const show = (o: Outcome) =>
      `${o.status} ${o.code ?? '-'} after ${o.ms === undefined ? 'never' : Math.round(o.ms)} ms`;
    console.log(
      `FIGURE trickle: HTTP/1.1 trickled ${show(h1Trickle)}, stalled ${show(h1Stall)}; ` +
        `h2c trickled ${show(h2Trickle)}, stalled ${show(h2Stall)}; S2S frame stalled: ${s2s.terminal || 'no terminal'} ` +
        `after ${s2s.ms === undefined ? 'never' : Math.round(s2s.ms)} ms`,
    );
    for (const [outcome, timeoutMs] of [
      [h1Trickle, requestBodyTimeoutMs],
      [h1Stall, requestBodyIdleTimeoutMs],
      [h2Trickle, requestBodyTimeoutMs],
      [h2Stall, requestBodyIdleTimeoutMs],
    ] as const) {
      expect(outcome.status).toBe(408);
      expect(outcome.code).toBe('request_timeout');
      expect(outcome.closed).toBe(true);
      // Not before the timeout (minus timer granularity), and not long after it.
      expect(outcome.ms!).toBeGreaterThan(timeoutMs - 1_000);
      expect(outcome.ms!).toBeLessThan(timeoutMs + 15_000);
    }
    expect(s2s.status).toBe(200);
    expect(s2s.terminal).toMatch(/^408 .*request_timeout/);
    expect(s2s.ms!).toBeGreaterThan(requestBodyIdleTimeoutMs - 1_000);
  }, 90_000);
});
