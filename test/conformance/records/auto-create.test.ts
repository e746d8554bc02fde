/**
 * Black-box auto-creation of streams (lite-internals 5.4, 5.5; api.md 7.6) over HTTP/1.1 and
 * h2c, including the `s2-stream-config` request header.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttp2Sessions, type Protocol } from '../../support/http.js';
import { startServer, type TestServer } from '../../support/server.js';
import { bodies, expectError, newBasin, uniqueStream, type Client } from './support.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  closeHttp2Sessions();
  await server.stop();
});

async function streamNames(c: Client): Promise<string[]> {
  const res = await c.req('GET', '/v1/streams');
  expect(res.status).toBe(200);
  return res.json().streams.map((s: { name: string }) => s.name);
}

async function streamConfig(c: Client, stream: string) {
  const res = await c.req('GET', `/v1/streams/${encodeURIComponent(stream)}`);
  expect(res.status, res.text).toBe(200);
  return res.json();
}

describe.each<Protocol>(['h1', 'h2c'])('auto-create over %s', (protocol) => {
  it('append creates the stream when create_stream_on_append is set', async () => {
    const c = await newBasin(server.baseUrl, protocol, { create_stream_on_append: true });
    const s = uniqueStream();
    const ack = await c.appendOk(s, { records: [{ body: 'a' }] });
    expect(ack.end.seq_num).toBe(1);
    expect(await streamNames(c)).toEqual([s]);
    expect((await c.tailOk(s)).seq_num).toBe(1);
  });

  it('append without the flag is 404 stream_not_found and creates nothing', async () => {
    const c = await newBasin(server.baseUrl, protocol, { create_stream_on_read: true });
    expectError(await c.append('nope', { records: [{ body: 'a' }] }), 404, 'stream_not_found');
    expect(await streamNames(c)).toEqual([]);
  });

  it('read and check-tail create the stream when create_stream_on_read is set', async () => {
    const c = await newBasin(server.baseUrl, protocol, { create_stream_on_read: true });
    expect(await c.readOk('r1', 'timestamp=0')).toEqual({ records: [] });
    expect(await c.tailOk('t1')).toEqual({ seq_num: 0, timestamp: 0 });
    expect((await streamNames(c)).sort()).toEqual(['r1', 't1']);
    // A 416 read still created its stream (creation happens on open).
    expect((await c.read('r2', 'seq_num=0')).status).toBe(416);
    expect(await streamNames(c)).toContain('r2');
  });

  it('read and check-tail without the flag are 404 and create nothing', async () => {
    const c = await newBasin(server.baseUrl, protocol, { create_stream_on_append: true });
    expectError(await c.read('nope', 'seq_num=0'), 404, 'stream_not_found');
    expectError(await c.tail('nope'), 404, 'stream_not_found');
    expect(await streamNames(c)).toEqual([]);
  });

  it('an invalid read (until <= timestamp) is 422 without creating the stream', async () => {
    const c = await newBasin(server.baseUrl, protocol, { create_stream_on_read: true });
    expectError(await c.read('x', 'timestamp=10&until=10'), 422, 'invalid');
    expectError(await c.read('x', 'seq_num=1&tail_offset=1'), 422, 'invalid');
    expect(await streamNames(c)).toEqual([]);
  });

  it('inherits the basin default stream config', async () => {
    const c = await newBasin(server.baseUrl, protocol, {
      create_stream_on_append: true,
      default_stream_config: { timestamping: { mode: 'arrival' }, storage_class: 'standard' },
    });
    await c.appendOk('d', { records: [{ body: 'a', timestamp: 5 }] });
    expect(await streamConfig(c, 'd')).toMatchObject({ storage_class: 'standard', timestamping: { mode: 'arrival' } });
  });

  it('uses s2-stream-config only when the request creates the stream; unparsable is 400 bad_header', async () => {
    const c = await newBasin(server.baseUrl, protocol, { create_stream_on_append: true, create_stream_on_read: true });
    const header = {
      's2-stream-config': JSON.stringify({
        timestamping: { mode: 'client-require' },
        retention_policy: { infinite: {} },
      }),
    };
    expectError(await c.append('cfg', { records: [{ body: 'a' }] }, header), 422, 'invalid');
    await c.appendOk('cfg', { records: [{ body: 'a', timestamp: 1 }] }, header);
    expect(await streamConfig(c, 'cfg')).toMatchObject({
      retention_policy: { infinite: {} },
      timestamping: { mode: 'client-require' },
    });
    // Ignored for an existing stream.
    const other = { 's2-stream-config': JSON.stringify({ timestamping: { mode: 'arrival' } }) };
    await c.appendOk('cfg', { records: [{ body: 'b', timestamp: 2 }] }, other);
    expect((await streamConfig(c, 'cfg')).timestamping.mode).toBe('client-require');
    const tailRes = await c.tail('cfg-read', { 's2-stream-config': JSON.stringify({ storage_class: 'standard' }) });
    expect(tailRes.status).toBe(200);
    expect((await streamConfig(c, 'cfg-read')).storage_class).toBe('standard');
    for (const bad of ['{', '{"storage_class":"gold"}', '[1]']) {
      expectError(
        await c.append('never', { records: [{ body: 'a' }] }, { 's2-stream-config': bad }),
        400,
        'bad_header',
      );
      expectError(await c.tail('never', { 's2-stream-config': bad }), 400, 'bad_header');
    }
    expect(await streamNames(c)).not.toContain('never');
  });

  it('concurrent auto-creating appends and reads are race safe', async () => {
    const c = await newBasin(server.baseUrl, protocol, { create_stream_on_append: true, create_stream_on_read: true });
    const acks = await Promise.all(
      Array.from({ length: 10 }, (_, i) => c.appendOk('race', { records: [{ body: `w${i}` }] })),
    );
    expect(new Set(acks.map((a) => a.start.seq_num)).size).toBe(10);
    expect((await c.tailOk('race')).seq_num).toBe(10);
    expect(bodies(await c.readOk('race', 'seq_num=0')).sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `w${i}`).sort(),
    );
    const tails = await Promise.all(Array.from({ length: 10 }, () => c.tailOk('race-read')));
    for (const t of tails) expect(t).toEqual({ seq_num: 0, timestamp: 0 });
    expect((await streamNames(c)).sort()).toEqual(['race', 'race-read']);
  });

  it('a missing basin is 404 basin_not_found for append, read and check-tail', async () => {
    const c = await newBasin(server.baseUrl, protocol);
    const missing = Object.create(c) as Client;
    Object.defineProperty(missing, 'basin', { value: `${c.basin.slice(0, 40)}-gone` });
    expectError(await missing.append('s', { records: [{ body: 'a' }] }), 404, 'basin_not_found');
    expectError(await missing.read('s', 'seq_num=0'), 404, 'basin_not_found');
    expectError(await missing.tail('s'), 404, 'basin_not_found');
  });
});
