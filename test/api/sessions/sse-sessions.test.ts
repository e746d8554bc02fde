/**
 * SSE read sessions against the real server (api.md 8.4, 15 transcript): events and ids, ping
 * with the tail, [DONE], error events, S2-Format, Last-Event-ID resumption, mode selection, and
 * errors before streaming as ordinary JSON responses.
 */
import { describe, expect, it } from 'vitest';
import { request, type Protocol } from '../../support/http.js';
import { batchOf, expectStreamingResponse } from './duplex.js';
import { appendUnary, parseSse, readSession, sseSession, SseReader, sessionServer, type Target } from './support.js';

const setup = sessionServer('sse');
const target = setup.target;

/** Records with bodies `r0`, `r1`, ... (metered 10 bytes each). */
async function seed(t: Target, n: number): Promise<void> {
  await appendUnary(t, ...Array.from({ length: n }, (_, i) => `r${i}`));
}

function bodiesOf(data: string): string[] {
  return (JSON.parse(data) as { records: { body?: string }[] }).records.map((r) => r.body ?? '');
}

describe.each<Protocol>(['h1', 'h2c'])('SSE read session over %s', (protocol) => {
  it('follows the api.md 15 transcript: batch, ping with the tail, live batch with tail, [DONE]', async () => {
    const t = target();
    await appendUnary(t, 'hello', 'world');
    const call = sseSession(t, protocol, 'seq_num=0&count=3&wait=30');
    const response = await call.response;
    expectStreamingResponse(response, 'text/event-stream');
    const events = new SseReader(call);
    const first = await events.next();
    expect(first).toMatchObject({ event: 'batch', id: '1,2,26' });
    expect(bodiesOf(first!.data)).toEqual(['hello', 'world']);
    expect(JSON.parse(first!.data).tail).toBeUndefined();
    const ping = await events.next();
    expect(ping?.event).toBe('ping');
    const pingData = JSON.parse(ping!.data);
    expect(pingData.tail.seq_num).toBe(2);
    expect(typeof pingData.timestamp).toBe('number');
    await appendUnary(t, 'again');
    const live = await events.next();
    expect(live).toMatchObject({ event: 'batch', id: '2,3,39' });
    expect(bodiesOf(live!.data)).toEqual(['again']);
    expect(JSON.parse(live!.data).tail.seq_num).toBe(3);
    expect(await events.next()).toEqual({ data: '[DONE]' });
    expect(await events.next()).toBeUndefined();
  });

  it('honours S2-Format base64, and raw renders invalid UTF-8 lossily', async () => {
    const t = target();
    const res = await request(setup.server.baseUrl, {
      method: 'POST',
      path: `/v1/streams/${t.stream}/records`,
      headers: { 'content-type': 'application/json', 's2-basin': setup.basin, 's2-format': 'base64' },
      body: JSON.stringify({ records: [{ body: Buffer.from([0x68, 0xff, 0x69]).toString('base64') }] }),
    });
    expect(res.status).toBe(200);
    const b64 = parseSse(
      (await sseSession(t, protocol, 'seq_num=0&count=1', { 's2-format': 'base64' }).rest()).toString(),
    );
    expect(bodiesOf(b64[0]!.data)).toEqual(['aP9p']);
    const raw = parseSse((await sseSession(t, protocol, 'seq_num=0&count=1').rest()).toString());
    expect(bodiesOf(raw[0]!.data)).toEqual(['h\ufffdi']);
    expect(raw[1]).toEqual({ data: '[DONE]' });
  });

  it('resumes from Last-Event-ID at seq_num + 1, overriding the query start, with count reduced', async () => {
    const t = target();
    await seed(t, 8);
    const events = parseSse(
      (await sseSession(t, protocol, 'tail_offset=1&count=5', { 'last-event-id': '1,2,20' }).rest()).toString(),
    );
    // Starts at 2, 5 - 2 = 3 records left; ids count from 0 again in this response.
    expect(events.map((e) => e.id ?? e.data)).toEqual(['4,3,30', '[DONE]']);
    expect(bodiesOf(events[0]!.data)).toEqual(['r2', 'r3', 'r4']);
  });

  it('reduces bytes by the delivered bytes, saturating at zero', async () => {
    const t = target();
    await seed(t, 8);
    const bytes = parseSse(
      (await sseSession(t, protocol, 'seq_num=0&bytes=35', { 'last-event-id': '0,1,10' }).rest()).toString(),
    );
    expect(bodiesOf(bytes[0]!.data)).toEqual(['r1', 'r2']);
    const none = parseSse(
      (await sseSession(t, protocol, 'seq_num=0&count=2', { 'last-event-id': '3,9,90' }).rest()).toString(),
    );
    expect(none).toEqual([{ data: '[DONE]' }]);
  });

  it('gets 416 when resuming exactly at the tail without wait, and 400 bad_header for a malformed id', async () => {
    const t = target();
    await seed(t, 3);
    const atTail = sseSession(t, protocol, 'count=10', { 'last-event-id': '2,3,30' });
    expect(await atTail.response).toMatchObject({ status: 416, headers: { 'content-type': 'application/json' } });
    expect(JSON.parse((await atTail.rest()).toString())).toMatchObject({ tail: { seq_num: 3 } });
    for (const id of ['1,2', 'a,b,c', '1,2,3,4', '-1,0,0']) {
      const bad = sseSession(t, protocol, 'seq_num=0', { 'last-event-id': id });
      expect((await bad.response).status).toBe(400);
      expect(JSON.parse((await bad.rest()).toString())).toMatchObject({ code: 'bad_header' });
    }
  });

  it('answers errors decided before streaming as JSON (404, 400 bad_query, 422, 416)', async () => {
    const t = target();
    await seed(t, 1);
    const cases: [Target, string, number, Record<string, unknown>][] = [
      [{ ...t, basin: 'no-such-basin-here' }, 'seq_num=0', 404, { code: 'basin_not_found' }],
      [t, 'seq_num=abc', 400, { code: 'bad_query' }],
      [t, 'seq_num=0&timestamp=1', 422, { code: 'invalid' }],
      [t, 'seq_num=9', 416, { tail: { seq_num: 1 } }],
    ];
    for (const [where, query, status, body] of cases) {
      const call = sseSession(where, protocol, query);
      expect(await call.response).toMatchObject({ status, headers: { 'content-type': 'application/json' } });
      expect(JSON.parse((await call.rest()).toString())).toMatchObject(body);
    }
  });

  it('ends with an error event and no [DONE] when the followed stream is deleted', async () => {
    const t = target();
    await seed(t, 1);
    const call = sseSession(t, protocol, 'seq_num=1');
    const events = new SseReader(call);
    expect((await events.next())?.event).toBe('ping');
    await request(setup.server.baseUrl, {
      method: 'DELETE',
      path: `/v1/streams/${t.stream}`,
      headers: { 's2-basin': setup.basin },
    });
    const trim = await events.next();
    expect(trim?.event).toBe('batch');
    expect(trim?.id?.startsWith('1,1,')).toBe(true);
    const error = await events.next();
    expect(error?.event).toBe('error');
    expect(JSON.parse(error!.data)).toMatchObject({ code: 'unavailable' });
    expect(await events.next()).toBeUndefined();
  });

  it('selects SSE only for a first Accept entry, and S2S whenever Content-Type is s2s/proto', async () => {
    const t = target();
    await seed(t, 1);
    const unary = await request(setup.server.baseUrl, {
      path: `/v1/streams/${t.stream}/records?seq_num=0`,
      headers: { 's2-basin': setup.basin, accept: 'application/json, text/event-stream' },
      protocol,
    });
    expect(unary.headers['content-type']).toBe('application/json');
    expect(unary.json()).toMatchObject({ records: [{ seq_num: 0, body: 'r0' }] });
    const s2s = readSession(t, protocol, 'seq_num=0&count=1', { accept: 'text/event-stream' });
    expect((await s2s.response).headers['content-type']).toBe('s2s/proto');
    expect(batchOf(await s2s.nextFrame()).records).toHaveLength(1);
    expect(await s2s.nextFrame()).toBeUndefined();
  });
});
