/**
 * Bounds and failure isolation of streaming sessions on the real server: the cap on concurrent
 * sessions (503 before streaming), a slow S2S reader whose follower lags and falls back to
 * storage without losing or repeating a record, clients that vanish mid-session or send garbage
 * while other sessions carry on, and a server that still closes cleanly afterwards.
 */
import http2 from 'node:http2';
import { describe, expect, it } from 'vitest';
import { streamingSessions } from '../../../src/api/v1/sessions.js';
import type { Engine } from '../../../src/engine/engine.js';
import { followerLagBatchesMax } from '../../../src/limits.js';
import { request } from '../../support/http.js';
import { ackOf, batchOf, inputFrame, rawFrame, records, terminalOf } from './duplex.js';
import {
  appendSession,
  appendUnary,
  readAllBodies,
  readRecordsUntil,
  readSession,
  sseSession,
  sessionServer,
  pausedH2Read,
} from './support.js';
import { until } from '../../support/until.js';

const setup = sessionServer('limits');
const target = setup.target;

const sessions = () => streamingSessions(setup.server.engine as Engine);

describe('concurrent session cap', () => {
  it('refuses sessions beyond the cap with 503 JSON before streaming, and frees slots as sessions end', async () => {
    const t = target();
    await appendUnary(t, 'a');
    const slots = sessions().slots;
    const saved = slots.max;
    slots.max = slots.inUse + 2;
    try {
      const first = readSession(t, 'h2c', 'seq_num=0');
      const second = sseSession(t, 'h1', 'seq_num=0');
      expect((await first.response).status).toBe(200);
      expect((await second.response).status).toBe(200);
      for (const refused of [
        readSession(t, 'h1', 'seq_num=0'),
        appendSession(t, 'h2c'),
        sseSession(t, 'h2c', 'seq_num=0'),
      ]) {
        expect(await refused.response).toMatchObject({ status: 503, headers: { 'content-type': 'application/json' } });
        expect(JSON.parse((await refused.rest()).toString())).toMatchObject({ code: 'unavailable' });
        refused.end();
      }
      first.destroy();
      await until('a session slot is free', () => slots.inUse < slots.max);
      const third = appendSession(t, 'h1');
      expect((await third.response).status).toBe(200);
      await third.write(inputFrame(records('b')));
      third.end();
      expect(ackOf(await third.nextFrame()).start.seqNum).toBe(1);
      expect(await third.nextFrame()).toBeUndefined();
      second.destroy();
    } finally {
      slots.max = saved;
    }
  });
});

describe('a slow reader', () => {
  it('lags behind a fast producer, falls back to storage, and still sees every record exactly once', async () => {
    const t = target();
    await appendUnary(t, 'seed');
    const client = http2.connect(setup.server.baseUrl);
    // Stop reading: the server blocks on flow control and stops pulling from its follower.
    const stream = await pausedH2Read(client, t, 0);
    const batches = followerLagBatchesMax * 4;
    const body = 'p'.repeat(20_000);
    const producer = appendSession(t, 'h1');
    for (let i = 0; i < batches; i++) await producer.write(inputFrame(records(`${i + 1}:${body}`)));
    producer.end();
    for (let i = 0; i < batches; i++) ackOf(await producer.nextFrame());
    expect(await producer.nextFrame()).toBeUndefined();

    await readRecordsUntil(stream, 0, batches + 1, (seqNum, body) => {
      expect(body.toString().startsWith(seqNum === 0 ? 'seed' : `${seqNum}:`)).toBe(true);
    });
    stream.close(http2.constants.NGHTTP2_CANCEL);
    client.close();
  });
});

describe('misbehaving clients', () => {
  it('a client vanishing mid-frame or mid-read does not disturb other sessions on the stream', async () => {
    const t = target();
    await appendUnary(t, 'a');
    const follower = readSession(t, 'h2c', 'seq_num=0');
    expect(batchOf(await follower.nextFrame()).records).toHaveLength(1);
    expect(batchOf(await follower.nextFrame()).records).toHaveLength(0);

    const vanishingWriter = appendSession(t, 'h1');
    await vanishingWriter.write(inputFrame(records('b')));
    expect(ackOf(await vanishingWriter.nextFrame()).start.seqNum).toBe(1);
    await vanishingWriter.write(inputFrame(records('never')).subarray(0, 6));
    vanishingWriter.destroy();
    const vanishingReader = readSession(t, 'h1', 'seq_num=0');
    await vanishingReader.response;
    vanishingReader.destroy();
    const garbage = appendSession(t, 'h2c');
    await garbage.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    expect(terminalOf(await garbage.nextFrame())).toMatchObject({ status: 400, body: { code: 'bad_frame' } });
    garbage.end();

    await appendUnary(t, 'c');
    const live: string[] = [];
    while (live.length < 2) {
      for (const r of batchOf(await follower.nextFrame()).records) live.push(Buffer.from(r.body).toString());
    }
    expect(live).toEqual(['b', 'c']);
    follower.destroy();
    expect(await readAllBodies(t)).toEqual(['a', 'b', 'c']);
    await until('every session slot is released', () => sessions().slots.inUse === 0);
  });

  it('many concurrent sessions on one stream: every reader sees every record once, in order', async () => {
    const t = target();
    const writers = 8;
    const perWriter = 25;
    const total = writers * perWriter;
    const readers = Array.from({ length: 24 }, (_, i) =>
      i % 3 === 2
        ? sseSession(t, i % 2 ? 'h1' : 'h2c', `seq_num=0&count=${total}&wait=60`)
        : readSession(t, i % 2 ? 'h1' : 'h2c', `seq_num=0&count=${total}&wait=60`),
    );
    const writing = Array.from({ length: writers }, async (_, w) => {
      const call = appendSession(t, w % 2 ? 'h1' : 'h2c');
      for (let i = 0; i < perWriter; i++) await call.write(inputFrame(records(`w${w}-${i}`)));
      call.end();
      for (let i = 0; i < perWriter; i++) ackOf(await call.nextFrame());
      expect(await call.nextFrame()).toBeUndefined();
    });
    const seen = await Promise.all(
      readers.map(async (reader, i) => {
        const bodies: string[] = [];
        if (i % 3 === 2) {
          const text = (await reader.rest()).toString();
          for (const block of text.split('\n\n')) {
            const data = block.split('\n').find((line) => line.startsWith('data: {"records"'));
            if (!data) continue;
            for (const r of JSON.parse(data.slice(6)).records as { seq_num: number; body: string }[]) {
              expect(r.seq_num).toBe(bodies.length);
              bodies.push(r.body);
            }
          }
          expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
        } else {
          for (let frame = await reader.nextFrame(); frame; frame = await reader.nextFrame()) {
            for (const r of batchOf(frame).records) {
              expect(r.seqNum).toBe(bodies.length);
              bodies.push(Buffer.from(r.body).toString());
            }
          }
        }
        return bodies;
      }),
    );
    await Promise.all(writing);
    const stored = await readAllBodies(t);
    expect(stored).toHaveLength(total);
    for (let w = 0; w < writers; w++) {
      const mine = stored.filter((b) => b.startsWith(`w${w}-`));
      expect(mine).toEqual(Array.from({ length: perWriter }, (_, i) => `w${w}-${i}`));
    }
    for (const bodies of seen) expect(bodies).toEqual(stored);
  });

  it('the server still answers and closes cleanly after all of the above', async () => {
    const health = await request(setup.server.baseUrl, { path: '/health' });
    expect(health.text).toBe('OK');
    const frame = rawFrame(Buffer.alloc(0), 0x60);
    const t = target();
    const call = appendSession(t, 'h1');
    await call.write(frame);
    expect(terminalOf(await call.nextFrame()).status).toBe(400);
    call.end();
    await until('every session slot is released', () => sessions().slots.inUse === 0);
  });
});
