/**
 * Dormancy with one timer per period (engine/dormancy.ts: activity only notes its time; the timer,
 * when it fires, waits out the rest of the period): on a ManualClock, a streamer is released only
 * after a whole period with no activity counted from the last append, the end of the last append in
 * flight, or the end of the last session lease; never while an append is in flight or a session
 * holds it, however many periods pass; and the rebuilt streamer continues exactly.
 */
import { describe, expect, it } from 'vitest';
import { Streamer } from '../../src/engine/streamer.js';
import { streamerDormantMs } from '../../src/limits.js';
import { basin, createStream, input, settle, setup, track } from './support.js';

describe('dormancy, one timer per period', () => {
  it('counts the period from the last append, not from the first timer', async () => {
    const f = await setup();
    await createStream(f, 's');
    await f.engine.append(basin, 's', input(['a']));
    const stream = f.engine.ctx.state.stream(basin, 's')!;
    const streamer = stream.runtime;
    expect(streamer).toBeInstanceOf(Streamer);
    await f.clock.advance(streamerDormantMs - 10_000);
    await f.engine.append(basin, 's', input(['b']));
    // The first timer fires now, 10 s before the period since 'b' ends: it must wait again.
    await f.clock.advance(streamerDormantMs - 1);
    expect(stream.runtime).toBe(streamer);
    await f.clock.advance(1);
    expect(stream.runtime).toBeUndefined();
    const ack = await f.engine.append(basin, 's', input(['c'], { matchSeqNum: 2 }));
    expect(ack.start.seqNum).toBe(2);
    expect(stream.runtime).not.toBe(streamer);
  });

  it('never releases a streamer with an append in flight; the period starts once it is durable', async () => {
    const f = await setup();
    await createStream(f, 's');
    await f.engine.append(basin, 's', input(['a']));
    const stream = f.engine.ctx.state.stream(basin, 's')!;
    const streamer = stream.runtime;
    f.log.hold();
    const pending = track(f.engine.append(basin, 's', input(['b'])));
    await settle();
    await f.clock.advance(3 * streamerDormantMs);
    expect(stream.runtime).toBe(streamer);
    expect(pending.settled()).toBe(false);
    f.log.release();
    await settle();
    expect(pending.value()?.start.seqNum).toBe(1);
    await f.clock.advance(streamerDormantMs - 1);
    expect(stream.runtime).toBe(streamer);
    await f.clock.advance(1);
    expect(stream.runtime).toBeUndefined();
    expect((await f.engine.append(basin, 's', input(['c'], { matchSeqNum: 2 }))).start.seqNum).toBe(2);
  });

  it('keeps the streamer while a session holds it, and counts the period from the session end', async () => {
    const f = await setup();
    await createStream(f, 's');
    const session = await f.engine.openAppendSession(basin, 's');
    const first = await session.submit(input(['a']));
    await first.ack;
    const stream = f.engine.ctx.state.stream(basin, 's')!;
    const streamer = stream.runtime;
    await f.clock.advance(2 * streamerDormantMs + 5_000);
    expect(stream.runtime).toBe(streamer);
    const second = await session.submit(input(['b'], { matchSeqNum: 1 }));
    expect((await second.ack).start.seqNum).toBe(1);
    session.close();
    await f.clock.advance(streamerDormantMs - 1);
    expect(stream.runtime).toBe(streamer);
    await f.clock.advance(1);
    expect(stream.runtime).toBeUndefined();
  });
});
