/**
 * Heartbeats and `wait` in streaming sessions on an injected clock (api.md 8.2-8.3, lite-internals
 * 3.12): a heartbeat on entering follow, then after 5-15 s of silence (never sooner), the wait
 * deadline re-armed by delivered batches only, and append sessions that outlive streamer
 * dormancy. Nothing here sleeps or measures time: the server runs on a ManualClock and the tests
 * only check the order of what arrives.
 */
import { describe, expect, it } from 'vitest';
import { streamingSessions } from '../../../src/api/v1/sessions.js';
import type { Engine } from '../../../src/engine/engine.js';
import { heartbeatGapMsMax, heartbeatGapMsMin, streamerDormantMs } from '../../../src/limits.js';
import { ManualClock } from '../../../src/util/clock.js';
import { seededRand } from '../../../src/util/rand.js';
import type { Protocol } from '../../support/http.js';
import { ackOf, batchOf, inputFrame, records, type Duplex } from './duplex.js';
import { appendSession, appendUnary, readSession, sseSession, SseReader, sessionServer } from './support.js';

const clock = new ManualClock();
let baselineTimers: number;
const setup = sessionServer('timing', { engine: { clock, rand: seededRand(7) } }, () => {
  baselineTimers = clock.pendingTimers();
});
const target = setup.target;

/** The next frame that carries records; every frame before it must be a heartbeat. */
async function nextRecords(call: Duplex): Promise<string[]> {
  for (;;) {
    const batch = batchOf(await call.nextFrame());
    if (batch.records.length > 0) return batch.records.map((r) => Buffer.from(r.body).toString());
    expect(batch.tail).toBeDefined();
  }
}

describe.each<Protocol>(['h1', 'h2c'])('S2S read session timing over %s', (protocol) => {
  it('sends a heartbeat on entering follow, then only after 5-15 s of silence', async () => {
    const t = target();
    await appendUnary(t, 'a');
    const call = readSession(t, protocol, 'seq_num=1');
    expect(batchOf(await call.nextFrame())).toMatchObject({ records: [], tail: { seqNum: 1 } });
    // Just under the minimum gap: the next frame is the live batch, not a heartbeat.
    await clock.advance(heartbeatGapMsMin - 1);
    await appendUnary(t, 'b');
    const live = batchOf(await call.nextFrame());
    expect(live.records.map((r) => r.seqNum)).toEqual([1]);
    // The gap restarts after every message.
    await clock.advance(heartbeatGapMsMin - 1);
    await appendUnary(t, 'c');
    expect(batchOf(await call.nextFrame()).records.map((r) => r.seqNum)).toEqual([2]);
    // Within the maximum gap a heartbeat carrying the current tail must come (maybe more than one).
    await clock.advance(heartbeatGapMsMax);
    expect(batchOf(await call.nextFrame())).toMatchObject({ records: [], tail: { seqNum: 3 } });
    await appendUnary(t, 'd');
    expect(await nextRecords(call)).toEqual(['d']);
    call.destroy();
  });

  it('ends `wait` seconds after the last delivered batch; heartbeats do not extend it', async () => {
    const t = target();
    await appendUnary(t, 'a');
    const call = readSession(t, protocol, 'seq_num=0&wait=30');
    expect(await nextRecords(call)).toEqual(['a']);
    // Still open just before the deadline: a new record is delivered (and re-arms the deadline).
    await clock.advance(29_999);
    await appendUnary(t, 'b');
    expect(await nextRecords(call)).toEqual(['b']);
    await clock.advance(29_999);
    await appendUnary(t, 'c');
    expect(await nextRecords(call)).toEqual(['c']);
    // Heartbeats come meanwhile, yet the session ends 30 s after 'c'.
    await clock.advance(30_000);
    for (let frame = await call.nextFrame(); frame; frame = await call.nextFrame()) {
      expect(batchOf(frame).records).toEqual([]);
    }
  });

  it('an append session survives streamer dormancy between inputs', async () => {
    const t = target();
    const call = appendSession(t, protocol);
    await call.write(inputFrame(records('before')));
    expect(ackOf(await call.nextFrame()).end.seqNum).toBe(1);
    await clock.advance(streamerDormantMs + 1_000);
    await call.write(inputFrame(records('after')));
    expect(ackOf(await call.nextFrame())).toMatchObject({ start: { seqNum: 1 }, end: { seqNum: 2 } });
    call.end();
    expect(await call.nextFrame()).toBeUndefined();
  });
});

describe.each<Protocol>(['h1', 'h2c'])('SSE read session timing over %s', (protocol) => {
  it('pings while following and ends with [DONE] when the wait expires', async () => {
    const t = target();
    await appendUnary(t, 'a');
    const call = sseSession(t, protocol, 'seq_num=1&wait=20');
    const events = new SseReader(call);
    const first = await events.next();
    expect(first?.event).toBe('ping');
    expect(JSON.parse(first!.data)).toEqual({
      timestamp: clock.nowMs(),
      tail: { seq_num: 1, timestamp: clock.nowMs() },
    });
    await clock.advance(20_000);
    let pings = 0;
    for (let event = await events.next(); ; event = await events.next()) {
      if (event?.event === 'ping') {
        pings += 1;
        continue;
      }
      expect(event).toEqual({ data: '[DONE]' });
      break;
    }
    // 20 s of silence holds at least one more ping (gaps are at most 15 s).
    expect(pings).toBeGreaterThanOrEqual(1);
    expect(await events.next()).toBeUndefined();
  });
});

describe('after sessions end', () => {
  it('no session leaves a timer or slot behind', async () => {
    const t = target();
    await appendUnary(t, 'a');
    const calls = [
      readSession(t, 'h1', 'seq_num=0'),
      readSession(t, 'h2c', 'seq_num=0'),
      sseSession(t, 'h2c', 'seq_num=0'),
    ];
    for (const call of calls) await call.response;
    const sessions = streamingSessions(setup.server.engine as Engine);
    expect(sessions.slots.inUse).toBe(3);
    for (const call of calls) call.destroy();
    while (sessions.slots.inUse > 0) await new Promise<void>((resolve) => setTimeout(resolve, 5));
    // Dormant streamers release themselves; what remains is the engine's own background timer.
    await clock.advance(streamerDormantMs + 1_000);
    expect(clock.pendingTimers()).toBe(baselineTimers);
  });
});
