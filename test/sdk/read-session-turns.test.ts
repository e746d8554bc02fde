/**
 * Read sessions let the event loop turn after every 256 KiB they write (api/sessions/output.ts):
 * through the official SDK over S2S and SSE, a catch-up of many MiB of 1 B to 64 KiB records
 * comes back complete, in order and byte-exact across those turns, live records appended during
 * it follow without a gap; and a client that cancels its request in the middle (the SDK
 * breaking out of its session, raw h2c RST_STREAM, or an SSE connection closed; the session may be
 * between turns or waiting for flow control) frees its slot.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import http2 from 'node:http2';
import { AppendInput, AppendRecord, S2, type S2Stream } from '@s2-dev/streamstore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamingSessions } from '../../src/api/v1/sessions.js';
import type { Engine } from '../../src/engine/engine.js';
import { uniqueBasin } from '../support/http.js';
import { startServer, type TestServer } from '../support/server.js';
import { until } from '../support/until.js';

type Transport = 's2s' | 'fetch';

let server: TestServer;
let s2: S2;
let basin: string;

beforeAll(async () => {
  server = await startServer();
  s2 = new S2({
    accessToken: 'ignored',
    endpoints: { account: server.baseUrl, basin: server.baseUrl },
    retry: { maxAttempts: 1 },
    requestTimeoutMillis: 120_000,
  });
  basin = uniqueBasin('sdk-turns');
  await s2.basins.create({ basin, config: { createStreamOnAppend: true } });
});
afterAll(async () => {
  await server.stop();
});

const sizes = [64 * 1024, 1, 8 * 1024 + 3, 7, 40_000];

function body(i: number): Uint8Array {
  const size = sizes[i % sizes.length]!;
  const out = new Uint8Array(size);
  for (let j = 0; j < size; j += 251) out[j] = (i * 13 + j) & 0xff;
  if (size > 0) out[size - 1] = i & 0xff;
  return out;
}

function digest(bytes: Uint8Array): string {
  return `${bytes.length}:${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}`;
}

/** Appends records [from, to) in batches of at most 10 (each batch well under 1 MiB). */
async function appendRange(s: S2Stream, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i += 10) {
    const records = [];
    for (let j = i; j < Math.min(to, i + 10); j++) records.push(AppendRecord.bytes({ body: body(j) }));
    await s.append(AppendInput.create(records));
  }
}

/**
 * Opens a read session from seq_num 0 with no end (S2S over h2c, or SSE over HTTP/1.1), reads at
 * least `bytes` of it, then cancels the request (RST_STREAM, or the connection closed).
 */
async function readSomeThenLeave(transport: Transport, name: string, bytes: number): Promise<void> {
  const path = `/v1/streams/${encodeURIComponent(name)}/records?seq_num=0`;
  if (transport === 's2s') {
    const client = http2.connect(server.baseUrl);
    const req = client.request({ ':method': 'GET', ':path': path, 's2-basin': basin, 'content-type': 's2s/proto' });
    await new Promise<void>((resolve, reject) => {
      let got = 0;
      req.on('data', (chunk: Buffer) => {
        got += chunk.length;
        if (got >= bytes) resolve();
      });
      req.on('error', reject);
      req.on('end', () => reject(new Error(`the session ended after ${got} bytes`)));
    });
    req.close(http2.constants.NGHTTP2_CANCEL);
    client.close();
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const req = http.get(
      `${server.baseUrl}${path}`,
      { headers: { 's2-basin': basin, accept: 'text/event-stream', 's2-format': 'base64' } },
      (res) => {
        let got = 0;
        res.on('data', (chunk: Buffer) => {
          got += chunk.length;
          if (got < bytes) return;
          req.destroy();
          resolve();
        });
        res.on('end', () => reject(new Error(`the session ended after ${got} bytes`)));
      },
    );
    req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
  });
}

let counter = 0;
function stream(transport: Transport): S2Stream {
  counter += 1;
  return s2.basin(basin).stream(`turns-${counter}`, { forceTransport: transport });
}

describe.each<Transport>(['s2s', 'fetch'])('read sessions over %s across turns of the event loop', (transport) => {
  it(
    'a catch-up of many MiB, then live records, arrive complete, in order and byte-exact',
    { timeout: 180_000 },
    async () => {
      const s = stream(transport);
      const before = 400; // ~9.5 MiB: dozens of 256 KiB turns
      const after = 60;
      await appendRange(s, 0, before);
      const session = await s.readSession(
        { start: { from: { seqNum: 0 } }, stop: { limits: { count: before + after }, waitSecs: 60 } },
        { as: 'bytes' },
      );
      const got: string[] = [];
      let appended: Promise<void> | undefined;
      for await (const record of session) {
        expect(record.seqNum).toBe(got.length);
        got.push(digest(record.body));
        // Live appends start while the catch-up is being written.
        if (got.length === 50) appended = appendRange(s, before, before + after);
      }
      await appended;
      expect(got).toEqual(Array.from({ length: before + after }, (_, i) => digest(body(i))));
    },
  );

  it(
    'an SDK reader that breaks out of a session in the middle of a catch-up frees its slot',
    { timeout: 120_000 },
    async () => {
      // The SDK cancels an S2S session with RST_STREAM(NO_ERROR): while the server's writes wait for
      // HTTP/2 flow control, Node reports that only as 'aborted' on the stream (no 'close'), and the
      // session, its follower and its slot were kept until the connection closed.
      const s = stream(transport);
      await appendRange(s, 0, 200);
      const slots = streamingSessions(server.engine as Engine).slots;
      const session = await s.readSession({ start: { from: { seqNum: 0 } } }, { as: 'bytes' });
      let seen = 0;
      for await (const record of session) {
        expect(record.seqNum).toBe(seen);
        if (++seen === 30) break; // cancels the session
      }
      await until('the left session releases its slot', () => slots.inUse === 0, { timeoutMs: 60_000 });
    },
  );

  it('a client that leaves in the middle of a catch-up frees its session slot', { timeout: 120_000 }, async () => {
    const s = stream(transport);
    await appendRange(s, 0, 200);
    const slots = streamingSessions(server.engine as Engine).slots;
    // A raw client that reads a few MiB of the catch-up, then cancels its request for sure.
    await readSomeThenLeave(transport, s.name, 2 << 20);
    await until('the left session releases its slot', () => slots.inUse === 0, { timeoutMs: 60_000 });
    // The stream still serves a new reader from the start.
    const again = await s.readSession(
      { start: { from: { seqNum: 0 } }, stop: { limits: { count: 200 } } },
      { as: 'bytes' },
    );
    let count = 0;
    for await (const record of again) expect(digest(record.body)).toBe(digest(body(count++)));
    expect(count).toBe(200);
  });
});
