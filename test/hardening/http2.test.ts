/**
 * Proves the HTTP/2 bounds against a real server process over h2c: one connection that opens
 * streaming sessions as fast as it can gets at most its share (100 streams), so other clients can
 * still open SSE reads and S2S append sessions (before: it took all 1024 slots and everyone else got
 * 503); and 800 streams over 8 connections, each sending a large body that never finishes, grow the
 * server by little more than the budget for bodies being received (before: over 1 GB).
 */
import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createBasin, mib, MiB, RssSampler, sleep, startDistServer, type DistServer } from './support.js';

const basin = 'hardening-http2';
let server: DistServer;

beforeAll(async () => {
  server = await startDistServer();
  await createBasin(server.port, basin);
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

function connect(): http2.ClientHttp2Session {
  const session = http2.connect(server.baseUrl);
  session.on('error', () => {});
  return session;
}

/** Opens a stream and resolves with its response status (0 if it was reset or refused first). */
function status(stream: http2.ClientHttp2Stream): Promise<number> {
  return new Promise((resolve) => {
    stream.on('response', (headers) => resolve(Number(headers[':status'])));
    stream.on('error', () => resolve(0));
    stream.on('close', () => resolve(0));
  });
}

describe('HTTP/2 streams and sessions', () => {
  it('one connection cannot take every streaming session', async () => {
    const hog = connect();
    const statuses: Promise<number>[] = [];
    for (let i = 0; i < 1100; i++) {
      const stream = hog.request({
        ':path': `/v1/streams/hog-${i % 10}/records?seq_num=0`,
        's2-basin': basin,
        accept: 'text/event-stream',
      });
      stream.resume();
      statuses.push(status(stream));
    }
    // Let every stream the server allows open (the rest wait in the client for a free stream).
    await sleep(5_000);
    const settled = await Promise.all(statuses.map((p) => Promise.race([p, sleep(10).then(() => -1)])));
    const opened = settled.filter((s) => s === 200).length;

    // Another client: an SSE read over HTTP/1.1 and an S2S append session over its own h2c connection.
    const sse = await call(server.port, 'GET', '/v1/streams/other/records?seq_num=0&wait=1', {
      's2-basin': basin,
      accept: 'text/event-stream',
    });
    const other = connect();
    const append = other.request({
      ':method': 'POST',
      ':path': '/v1/streams/other/records',
      's2-basin': basin,
      'content-type': 's2s/proto',
    });
    const appendStatus = await status(append);
    append.close();
    other.close();
    hog.destroy();
    console.log(
      `FIGURE http2 sessions: one connection opened ${opened} of 1100 SSE sessions; ` +
        `another client's SSE read got ${sse.status}, its S2S append session ${appendStatus}`,
    );
    expect(opened).toBeLessThanOrEqual(100);
    expect(opened).toBeGreaterThan(0);
    expect(sse.status).toBe(200);
    expect(appendStatus).toBe(200);
  }, 60_000);

  it('800 streams sending large bodies that never finish grow the server by little', async () => {
    await sleep(1_000);
    const before = server.rss();
    const sampler = new RssSampler(server);
    const sessions = Array.from({ length: 8 }, connect);
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const statuses = new Map<number, number>();
    for (let i = 0; i < 800; i++) {
      const stream = sessions[i % sessions.length]!.request({
        ':method': 'POST',
        ':path': '/v1/streams/bodies/records',
        's2-basin': basin,
        'content-type': 'application/json',
        'content-length': String(2 * MiB - 1),
      });
      stream.on('error', () => {});
      void status(stream).then((s) => statuses.set(s, (statuses.get(s) ?? 0) + 1));
      let sent = 0;
      const pump = () => {
        while (sent < 1900 * 1024) {
          sent += chunk.length;
          if (!stream.write(chunk)) return void stream.once('drain', pump);
        }
      };
      pump();
    }
    // The bodies the server accepted are held until the idle timeout (10 s); the peak is what counts.
    await sleep(20_000);
    const growth = sampler.stop() - before;
    for (const session of sessions) session.destroy();
    await sleep(5_000);
    const afterLeaving = server.rss() - before;
    console.log(
      `FIGURE http2 bodies: RSS ${mib(before)} MiB before, peak growth ${mib(growth)} MiB with 800 unfinished ` +
        `bodies, ${mib(afterLeaving)} MiB 5 s after the client left; statuses ${JSON.stringify([...statuses])}`,
    );
    // Before the fix: 250 MiB in 8 s on a loaded host, about 1 GB on a quiet one. (What RSS does after the client
    // left is the allocator's business, see docs/configuration.md; it is reported, not asserted.)
    expect(growth).toBeLessThan(180 * MiB);
  }, 90_000);
});
