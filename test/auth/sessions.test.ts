/**
 * Proves that a token revoked or expired stops working at once, open sessions included: on a fake
 * clock, an expired token is refused with 401; a following SSE read and a following S2S read
 * (official SDK) end with 401 `authn` at their next heartbeat after the token is revoked; an S2S
 * append session fails with 401 at its next input; a unary long-poll read that waited across the
 * revocation answers 401 instead of its batch. Nothing sleeps but that read's short head start: heartbeats come from advancing
 * the clock.
 */
import { AppendInput, AppendRecord, S2Error } from '@s2-dev/streamstore';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heartbeatGapMsMax } from '../../src/limits.js';
import { ManualClock } from '../../src/util/clock.js';
import { until } from '../support/until.js';
import { call, issue, sdk, startAuthServer, type AuthServer } from './support.js';

const basin = 'session-basin-01';
let server: AuthServer;
const clock = new ManualClock(Date.parse('2030-01-01T00:00:00Z'));
const scope = { basins: { exact: basin }, streams: { prefix: '' }, op_groups: { stream: { read: true, write: true } } };

beforeAll(async () => {
  server = await startAuthServer({ clock });
  await sdk(server, server.root).basins.create({ basin, config: { createStreamOnAppend: true } });
  await call(server, server.root, { method: 'POST', path: '/v1/streams', basin, json: { stream: 's' } });
});
afterAll(async () => {
  await server?.stop();
});

const revoke = (id: string) => call(server, server.root, { method: 'DELETE', path: `/v1/access-tokens/${id}` });

describe('expiry', () => {
  it('an expired token is refused with 401', async () => {
    const expiresAt = new Date(clock.nowMs() + 60_000).toISOString();
    const token = await issue(server, { id: 'short-lived', scope, expires_at: expiresAt });
    const tail = { path: '/v1/streams/s/records/tail', basin };
    expect((await call(server, token, tail)).status).toBe(200);
    await clock.advance(60_000);
    const res = await call(server, token, tail);
    expect([res.status, res.json().code, res.json().message]).toEqual([401, 'authn', 'access token expired']);
  });
});

describe('open sessions', () => {
  it('a unary long-poll read answers 401 if its token was revoked while it waited', async () => {
    const token = await issue(server, { id: 'long-poller', scope });
    const tail = (await call(server, server.root, { path: '/v1/streams/s/records/tail', basin })).json().tail.seq_num;
    const waiting = call(server, token, { path: `/v1/streams/s/records?seq_num=${tail}&wait=60`, basin });
    await new Promise((resolve) => setTimeout(resolve, 300)); // the read is waiting (the fake clock never ends it)
    await revoke('long-poller');
    const records = { records: [{ body: 'after revocation' }] };
    expect(
      (await call(server, server.root, { method: 'POST', path: '/v1/streams/s/records', basin, json: records })).status,
    ).toBe(200);
    const res = await waiting;
    expect([res.status, res.json().code]).toEqual([401, 'authn']);
  });

  it('an SSE read ends with an authn error event at the heartbeat after revocation', async () => {
    const token = await issue(server, { id: 'sse-reader', scope });
    const { port } = new URL(server.baseUrl);
    let text = '';
    let status = 0;
    const ended = new Promise<void>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          path: '/v1/streams/s/records?tail_offset=0',
          headers: { authorization: `Bearer ${token}`, 's2-basin': basin, accept: 'text/event-stream' },
        },
        (res) => {
          status = res.statusCode!;
          res.on('data', (chunk) => (text += chunk));
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end();
    });
    await until('the SSE read is open', () => status === 200);
    await clock.advance(heartbeatGapMsMax);
    await until('a heartbeat while the token is valid', () => text.includes('event: ping'));
    expect((await revoke('sse-reader')).status).toBe(204);
    await clock.advance(heartbeatGapMsMax);
    await ended;
    expect(text).toMatch(/event: error\ndata: {"code":"authn","message":"access token revoked"}/);
  });

  it('an S2S read (SDK) fails with 401 at the heartbeat after revocation', async () => {
    const token = await issue(server, { id: 's2s-reader', scope });
    const s = sdk(server, token).basin(basin).stream('s', { forceTransport: 's2s' });
    const session = await s.readSession({ start: { from: { tailOffset: 0 } } });
    const outcome = (async () => {
      try {
        for await (const _ of session) {
          // no records are appended: only heartbeats, which the SDK consumes
        }
        return 'ended';
      } catch (error) {
        return error;
      }
    })();
    await clock.advance(heartbeatGapMsMax);
    expect((await revoke('s2s-reader')).status).toBe(204);
    for (let i = 0; i < 3; i++) await clock.advance(heartbeatGapMsMax);
    const error = await outcome;
    expect(error).toBeInstanceOf(S2Error);
    expect((error as S2Error).status).toBe(401);
  });

  it('an S2S append session (SDK) fails with 401 at its next input after revocation', async () => {
    const token = await issue(server, { id: 's2s-writer', scope });
    const s = sdk(server, token).basin(basin).stream('w', { forceTransport: 's2s' });
    const session = await s.appendSession();
    const record = () => AppendInput.create([AppendRecord.string({ body: 'x' })]);
    await (await session.submit(record())).ack();
    expect((await revoke('s2s-writer')).status).toBe(204);
    const error = await (async () => {
      try {
        await (await session.submit(record())).ack();
      } catch (e) {
        return e;
      }
    })();
    await session.close().catch(() => {});
    expect(error).toBeInstanceOf(S2Error);
    expect((error as S2Error).status).toBe(401);
    const tail = await call(server, server.root, { path: '/v1/streams/w/records/tail', basin });
    expect(tail.json().tail.seq_num).toBe(1);
  });
});
