/**
 * Read sessions at the transport level (api.md 8.4, 8.6, 9.3) against a fake read session: S2S
 * frames and SSE events for every kind of output, terminal errors, per-message compression, a
 * client that leaves while the session waits, and write backpressure from a client that stops
 * reading.
 */
import http from 'node:http';
import http2 from 'node:http2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { errors } from '../../../src/domain/errors.js';
import type { SequencedRecord } from '../../../src/domain/types.js';
import type { Protocol } from '../../support/http.js';
import { batchOf, openDuplex, terminalOf, type Duplex, expectStreamingResponse } from './duplex.js';
import { FakeReadSession } from './fake-engine.js';
import { startTransportServer, type TransportServer } from './transport-server.js';
import { until } from '../../support/until.js';

let server: TransportServer;
beforeAll(async () => {
  server = await startTransportServer();
});
afterEach(async () => {
  server.read.close();
  await server.idle();
});
afterAll(async () => {
  await server.stop();
});

function record(seqNum: number, body = `r${seqNum}`): SequencedRecord {
  return { seqNum, timestamp: BigInt(1000 + seqNum), headers: [], body: new Uint8Array(Buffer.from(body)) };
}

function read(protocol: Protocol, headers: Record<string, string> = {}): Duplex {
  const call = openDuplex(server.baseUrl, {
    method: 'GET',
    path: '/read',
    headers: { 'content-type': 's2s/proto', ...headers },
    protocol,
  });
  call.end();
  return call;
}

describe.each<Protocol>(['h1', 'h2c'])('S2S read transport over %s', (protocol) => {
  it('frames catch-up batches, heartbeats and live batches, then ends the body without a terminal frame', async () => {
    const session = (server.read = new FakeReadSession());
    const call = read(protocol);
    const response = await call.response;
    expectStreamingResponse(response, 's2s/proto');
    session.push({ kind: 'batch', records: [record(0), record(1)] });
    session.push({ kind: 'heartbeat', tail: { seqNum: 2, timestamp: 1001n } });
    session.push({ kind: 'batch', records: [record(2)], tail: { seqNum: 3, timestamp: 1002n } });
    session.push(undefined);
    const catchUp = batchOf(await call.nextFrame());
    expect(catchUp.records.map((r) => r.seqNum)).toEqual([0, 1]);
    expect(catchUp.tail).toBeUndefined();
    expect(batchOf(await call.nextFrame())).toEqual({ records: [], tail: { seqNum: 2, timestamp: 1001n } });
    const live = batchOf(await call.nextFrame());
    expect(live.records.map((r) => Buffer.from(r.body).toString())).toEqual(['r2']);
    expect(live.tail).toEqual({ seqNum: 3, timestamp: 1002n });
    expect(await call.nextFrame()).toBeUndefined();
    expect(session.closed).toBe(true);
  });

  it('ends a failing session with a terminal frame carrying the status and JSON body', async () => {
    const session = (server.read = new FakeReadSession());
    const call = read(protocol);
    session.push({ kind: 'batch', records: [record(0)] });
    session.push(errors.unavailable('stream deleted'));
    expect(batchOf(await call.nextFrame()).records).toHaveLength(1);
    expect(terminalOf(await call.nextFrame())).toEqual({
      status: 503,
      body: { code: 'unavailable', message: 'stream deleted' },
    });
    expect(await call.nextFrame()).toBeUndefined();
  });

  it('answers an internal failure with a terminal 500 `other` and hands the error to the server to log', async () => {
    const session = (server.read = new FakeReadSession());
    const call = read(protocol);
    const bug = new Error('a bug');
    server.thrown.length = 0;
    session.push(bug);
    expect(terminalOf(await call.nextFrame())).toEqual({
      status: 500,
      body: { code: 'other', message: 'internal server error' },
    });
    expect(await call.nextFrame()).toBeUndefined();
    await server.idle();
    expect(server.thrown).toEqual([bug]);
  });

  it.each([
    ['zstd', 'zstd'],
    ['gzip', 'gzip'],
    ['gzip, zstd;q=0.1', 'zstd'],
    ['br, identity', 'none'],
  ])('with Accept-Encoding %s compresses messages of 1 KiB and more with %s', async (acceptEncoding, expected) => {
    const session = (server.read = new FakeReadSession());
    const call = read(protocol, { 'accept-encoding': acceptEncoding });
    session.push({ kind: 'batch', records: [record(0, 'y'.repeat(4000))] });
    session.push({ kind: 'batch', records: [record(1, 'small')] });
    session.push(undefined);
    const big = await call.nextFrame();
    expect(big?.compression).toBe(expected);
    expect(Buffer.from(batchOf(big).records[0]!.body).toString()).toBe('y'.repeat(4000));
    const small = await call.nextFrame();
    expect(small?.compression).toBe('none');
    expect(await call.nextFrame()).toBeUndefined();
  });

  it('closes the session at once if the client left while it was being opened', async () => {
    const session = (server.read = new FakeReadSession());
    server.opening.close();
    const seen = server.requests;
    const call = read(protocol);
    await until('the server sees the request', () => server.requests === seen + 1);
    call.destroy();
    await call.done;
    // Let the server notice the departure before the session exists.
    await new Promise<void>((resolve) => setTimeout(resolve, 50));
    server.opening.open();
    await until('the read session is closed', () => session.closed);
    await server.idle();
    expect(session.pulled).toBe(0);
  });

  it('closes the session as soon as the client leaves while it waits for records', async () => {
    const session = (server.read = new FakeReadSession());
    const call = read(protocol);
    session.push({ kind: 'heartbeat', tail: { seqNum: 0, timestamp: 0n } });
    batchOf(await call.nextFrame());
    call.destroy();
    await until('the read session is closed', () => session.closed);
    await server.idle();
  });
});

describe('write backpressure', () => {
  const batchBytes = 64 * 1024;
  const available = 10_000; // 640 MiB if nothing held the server back
  const producer = (index: number) =>
    index < available ? { kind: 'batch' as const, records: [record(index, 'z'.repeat(batchBytes))] } : undefined;

  /** Waits until the session stopped pulling (the server is blocked on the client). */
  async function stalled(session: FakeReadSession): Promise<void> {
    let last = -1;
    while (session.pulled !== last) {
      last = session.pulled;
      await new Promise<void>((resolve) => setTimeout(resolve, 200));
    }
  }

  it('over HTTP/1.1, a client that stops reading stops the session from pulling', async () => {
    const session = (server.read = new FakeReadSession(producer));
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(`${server.baseUrl}/read`, { headers: { 'content-type': 's2s/proto' } }, resolve);
      req.on('error', reject);
      req.end();
    });
    res.pause();
    await stalled(session);
    // Socket buffers hold a few MiB at most; without backpressure all 640 MiB would be pulled.
    expect(session.pulled * batchBytes).toBeLessThan(64 * 1024 * 1024);
    expect(session.pulled).toBeLessThan(available);
    res.destroy();
    await until('the read session is closed', () => session.closed);
  });

  it('over h2c, flow control stops the session from pulling', async () => {
    const session = (server.read = new FakeReadSession(producer));
    const client = http2.connect(server.baseUrl);
    const stream = client.request({ ':path': '/read', 'content-type': 's2s/proto' });
    stream.end();
    await new Promise((resolve) => stream.once('response', resolve));
    stream.pause();
    await stalled(session);
    expect(session.pulled * batchBytes).toBeLessThan(64 * 1024 * 1024);
    stream.close(http2.constants.NGHTTP2_CANCEL);
    client.close();
    await until('the read session is closed', () => session.closed);
  });
});

describe.each<Protocol>(['h1', 'h2c'])('SSE read transport over %s', (protocol) => {
  function sse(headers: Record<string, string> = {}): Duplex {
    const call = openDuplex(server.baseUrl, {
      method: 'GET',
      path: '/read',
      headers: { accept: 'text/event-stream', ...headers },
      protocol,
    });
    call.end();
    return call;
  }

  it('sends batch events with cumulative ids, skips empty batches, pings with the tail, and ends with [DONE]', async () => {
    const session = (server.read = new FakeReadSession());
    const call = sse();
    const response = await call.response;
    expectStreamingResponse(response, 'text/event-stream');
    session.push({ kind: 'batch', records: [record(0, 'hello'), record(1, 'world')] });
    session.push({ kind: 'batch', records: [] });
    session.push({ kind: 'heartbeat', tail: { seqNum: 2, timestamp: 1001n } });
    session.push({ kind: 'batch', records: [record(2, 'again')], tail: { seqNum: 3, timestamp: 1002n } });
    session.push(undefined);
    const text = (await call.rest()).toString();
    expect(text).toBe(
      'event: batch\nid: 1,2,26\ndata: {"records":[{"seq_num":0,"timestamp":1000,"body":"hello"},{"seq_num":1,"timestamp":1001,"body":"world"}]}\n\n' +
        'event: ping\ndata: {"timestamp":1700000000000,"tail":{"seq_num":2,"timestamp":1001}}\n\n' +
        'event: batch\nid: 2,3,39\ndata: {"records":[{"seq_num":2,"timestamp":1002,"body":"again"}],"tail":{"seq_num":3,"timestamp":1002}}\n\n' +
        'data: [DONE]\n\n',
    );
  });

  it('ends a failing session with an error event and no [DONE]', async () => {
    const session = (server.read = new FakeReadSession());
    const call = sse();
    session.push({ kind: 'batch', records: [record(0, 'x')] });
    session.push(errors.unavailable('stream deleted'));
    const text = (await call.rest()).toString();
    expect(text).toBe(
      'event: batch\nid: 0,1,9\ndata: {"records":[{"seq_num":0,"timestamp":1000,"body":"x"}]}\n\n' +
        'event: error\ndata: {"code":"unavailable","message":"stream deleted"}\n\n',
    );
  });

  it('closes the session when the client leaves', async () => {
    const session = (server.read = new FakeReadSession());
    const call = sse();
    await call.response;
    call.destroy();
    await until('the read session is closed', () => session.closed);
    await server.idle();
  });
});
