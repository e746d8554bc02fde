/**
 * An HTTP/2 stream reset while the server's socket write is still pending must not let pooled
 * catch-up buffers (api/codec/out-buffers.ts) be reused under that write: a client that stops
 * reading its socket (a TCP proxy here holds the server-to-client bytes) and then resets a catch-up
 * session would otherwise receive, on the wire, whatever the pool put in that memory next (another
 * client's records). Buffers are poisoned when given back; the raw bytes must never carry poison.
 */
import http2 from 'node:http2';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttp2Sessions } from '../../support/http.js';
import { startServer, type TestServer } from '../../support/server.js';
import { until } from '../../support/until.js';
import { poisonByte, poisonCatchUpBuffers } from './poison-pool.js';
import { appendBodies, createBasin } from './support.js';

const probe = poisonCatchUpBuffers();
const recordBytes = 64 * 1024;
const recordCount = 160;

let server: TestServer;
let basin: string;

beforeAll(async () => {
  server = await startServer();
  basin = await createBasin(server.baseUrl);
  for (let start = 0; start < recordCount; start += 10) {
    // Bodies without runs of the poison byte: 0x00-0x7f.
    const bodies = Array.from({ length: 10 }, (_, k) => Buffer.alloc(recordBytes, (start + k) & 0x7f));
    await appendBodies(server.baseUrl, basin, 'reset', bodies);
  }
}, 60_000);

afterAll(async () => {
  closeHttp2Sessions();
  await server?.stop();
});

/** A TCP proxy to the server whose server-to-client direction can be held; it records those bytes. */
async function holdingProxy(): Promise<{
  port: number;
  hold(): void;
  release(): void;
  received: Buffer[];
  close(): void;
}> {
  const url = new URL(server.baseUrl);
  const received: Buffer[] = [];
  const upstreams: net.Socket[] = [];
  const proxy = net.createServer((client) => {
    const upstream = net.connect(Number(url.port), url.hostname);
    upstreams.push(upstream);
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      received.push(chunk);
      client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    port: (proxy.address() as net.AddressInfo).port,
    hold: () => upstreams.forEach((u) => u.pause()),
    release: () => upstreams.forEach((u) => u.resume()),
    received,
    close: () => {
      upstreams.forEach((u) => u.destroy());
      proxy.close();
    },
  };
}

function longestPoisonRun(bytes: Buffer): number {
  let longest = 0;
  let run = 0;
  for (const b of bytes) {
    run = b === poisonByte ? run + 1 : 0;
    if (run > longest) longest = run;
  }
  return longest;
}

interface Attempt {
  windowBytes: number;
  /** The reset stream's buffer came back while its bytes were still held (the case under test). */
  givenWhileHeld: boolean;
  poisonRun: number;
}

/**
 * One catch-up through a held proxy: the client's flow-control window (stream and connection) is
 * `windowBytes`, and the client reads nothing, so the server sends until the window or its socket
 * is full, then the client resets the stream; then the proxy lets everything through.
 */
async function attempt(windowBytes: number): Promise<Attempt> {
  const proxy = await holdingProxy();
  const session = http2.connect(`http://127.0.0.1:${proxy.port}`, { settings: { initialWindowSize: windowBytes } });
  let givenWhileHeld = false;
  try {
    await new Promise<void>((resolve, reject) => session.once('connect', resolve).once('error', reject));
    session.setLocalWindowSize(windowBytes);
    // Let the settings and window reach the server before the client stops reading.
    await new Promise<void>((resolve, reject) => session.ping((error) => (error ? reject(error) : resolve())));
    proxy.hold();
    const taken = probe.taken();
    const req = session.request(
      {
        ':method': 'GET',
        ':path': `/v1/streams/reset/records?seq_num=0&count=${recordCount}`,
        's2-basin': basin,
        'content-type': 's2s/proto',
      },
      { endStream: true },
    );
    req.on('error', () => {});
    await until('the server is sending pooled frames', () => probe.taken() > taken);
    // The server stops when its socket or the window is full; nothing tells the test when.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const given = probe.given();
    req.close(http2.constants.NGHTTP2_CANCEL);
    givenWhileHeld = await until('the reset stream gave its buffer back', () => probe.given() > given, {
      timeoutMs: 500,
    }).then(
      () => true,
      () => false,
    );
    proxy.release();
    // A PING is answered after every byte queued before it: then all the reset stream's bytes passed.
    await new Promise<void>((resolve, reject) => session.ping((error) => (error ? reject(error) : resolve())));
  } finally {
    session.close();
    proxy.close();
  }
  return { windowBytes, givenWhileHeld, poisonRun: longestPoisonRun(Buffer.concat(proxy.received)) };
}

describe('HTTP/2 reset while the socket write is pending', () => {
  it('never sends bytes of a pooled buffer after it was given back', async () => {
    const attempts: Attempt[] = [];
    // The window's edge must fall inside the frame being written when the socket fills; the
    // socket's capacity is the kernel's, so try edges across the first several frames.
    for (let windowBytes = 1_280 * 1024; windowBytes <= 6 * 1024 * 1024; windowBytes += 320 * 1024) {
      attempts.push(await attempt(windowBytes));
    }
    expect(attempts.filter((a) => a.poisonRun >= 64)).toEqual([]);
    // The case under test happened: a window that ran out mid-frame left part of a pooled frame
    // queued, and the reset gave that buffer back while the client was not reading.
    expect(attempts.some((a) => a.givenWhileHeld)).toBe(true);
    expect(probe.violations).toEqual([]);
  }, 120_000);
});
