/**
 * Streamer lifecycle on a ManualClock: dormancy (and reads, which build no streamer), append
 * session leases, deletion sequencing and delete-on-empty with pending appends.
 */
import { describe, expect, it } from 'vitest';
import { Streamer } from '../../src/engine/streamer.js';
import { streamerDormantMs } from '../../src/limits.js';
import { basin, createStream, fence, input, settle, setup, track } from './support.js';

describe('dormancy', () => {
  it('releases an idle streamer after 60 s and rebuilds it exactly from durable state', async () => {
    const f = await setup();
    await createStream(f, 's');
    await f.engine.append(basin, 's', { records: [fence('tok')] });
    const stream = f.engine.ctx.state.stream(basin, 's')!;
    expect(stream.runtime).toBeInstanceOf(Streamer);
    await f.clock.advance(streamerDormantMs - 1);
    expect(stream.runtime).toBeInstanceOf(Streamer);
    await f.clock.advance(1);
    expect(stream.runtime).toBeUndefined();
    await expect(f.engine.append(basin, 's', input(['x'], { fencingToken: 'other' }))).rejects.toMatchObject({
      condition: { fencingTokenMismatch: 'tok' },
    });
    const ack = await f.engine.append(basin, 's', input(['x'], { fencingToken: 'tok', matchSeqNum: 1 }));
    expect(ack.start.seqNum).toBe(1);
  });

  it('is not built by reads: a follower outlives the dormancy of the streamer that feeds it', async () => {
    const f = await setup();
    await createStream(f, 's');
    const session = await f.engine.openReadSession(basin, 's', { start: { seqNum: 0 } });
    const it = session[Symbol.asyncIterator]();
    expect((await it.next()).value).toMatchObject({ kind: 'heartbeat' });
    const stream = f.engine.ctx.state.stream(basin, 's')!;
    expect(stream.runtime).toBeUndefined(); // following takes no write state
    expect(stream.followers?.size).toBe(1);
    await f.engine.append(basin, 's', input(['live']));
    expect(stream.runtime).toBeInstanceOf(Streamer);
    expect((await it.next()).value).toMatchObject({ kind: 'batch', tail: { seqNum: 1 } });
    // The streamer goes dormant while the reader keeps following; a new one feeds the same follower.
    const next = it.next();
    await f.clock.advance(streamerDormantMs + 1000);
    expect(stream.runtime).toBeUndefined();
    expect((await next).value).toMatchObject({ kind: 'heartbeat' });
    await f.engine.append(basin, 's', input(['again']));
    expect((await it.next()).value).toMatchObject({ kind: 'batch', tail: { seqNum: 2 } });
    await it.return!();
    expect(stream.followers).toBeUndefined();
  });
});

describe('append sessions', () => {
  it('ack in order, survive dormancy between inputs, and stop applying after the first failure', async () => {
    const f = await setup();
    await createStream(f, 's');
    const session = await f.engine.openAppendSession(basin, 's');
    f.log.hold();
    const a = await session.submit(input(['a'], { matchSeqNum: 0 }));
    const b = await session.submit(input(['b', 'c'], { matchSeqNum: 1 }));
    f.log.release();
    expect((await a.ack).end.seqNum).toBe(1);
    expect((await b.ack).end.seqNum).toBe(3);
    await f.clock.advance(streamerDormantMs + 1000);
    const c = await session.submit(input(['d']));
    expect((await c.ack).start.seqNum).toBe(3);
    const bad = await session.submit(input(['e'], { matchSeqNum: 0 }));
    await expect(bad.ack).rejects.toMatchObject({ condition: { seqNumMismatch: 4 } });
    // Poisoned: a now-correct input is not applied.
    await expect(session.submit(input(['f'], { matchSeqNum: 4 }))).rejects.toMatchObject({
      condition: { seqNumMismatch: 4 },
    });
    session.close();
    expect((await f.engine.checkTail(basin, 's')).seqNum).toBe(4);
  });

  it('poisons later pipelined inputs at the streamer, after the failing one', async () => {
    const f = await setup();
    await createStream(f, 's');
    const session = await f.engine.openAppendSession(basin, 's');
    f.log.hold();
    const ok = await session.submit(input(['a']));
    const bad = await session.submit(input(['b'], { matchSeqNum: 7 }));
    const badState = track(bad.ack);
    // Admitted before the rejection is reported, so it reaches the streamer, which drops it.
    const later = await session.submit(input(['c'], { matchSeqNum: 1 }));
    await settle();
    // The rejection waits for the session's earlier ack to be durable.
    expect(badState.settled()).toBe(false);
    f.log.release();
    await ok.ack;
    await settle();
    expect(badState.error()).toMatchObject({ condition: { seqNumMismatch: 1 } });
    await expect(later.ack).rejects.toMatchObject({ code: 'other' });
    expect((await f.engine.checkTail(basin, 's')).seqNum).toBe(1);
    session.close();
  });
});

describe('deletion', () => {
  it('sequences the terminal trim after pending appends; concurrent deletes share it', async () => {
    const f = await setup();
    await createStream(f, 's');
    f.log.hold();
    const pending = f.engine.append(basin, 's', input(['a']));
    await settle();
    const d1 = track(f.engine.deleteStream(basin, 's'));
    const d2 = track(f.engine.deleteStream(basin, 's'));
    await settle();
    expect(d1.settled()).toBe(false);
    f.log.release();
    expect((await pending).end.seqNum).toBe(1);
    await settle();
    expect(d1.settled() && d2.settled()).toBe(true);
    expect(d1.error()).toBeUndefined();
    expect(d2.error()).toBeUndefined();
    const stream = f.engine.ctx.state.stream(basin, 's')!;
    expect(stream.tail.seqNum).toBe(2);
    expect(stream.terminalTrimDurable).toBe(true);
    expect(stream.meta.deletedAtMs).not.toBeNull();
    const trims = f.log.submitted.flat().filter((m) => m.kind === 'append' && m.trimPoint !== undefined);
    expect(trims).toHaveLength(1);
    await expect(f.engine.checkTail(basin, 's')).rejects.toMatchObject({ code: 'stream_deletion_pending' });
    await f.engine.background.runOnce();
    expect(f.engine.ctx.state.stream(basin, 's')).toBeUndefined();
    // Recreated by auto-create, it starts again from 0.
    expect((await f.engine.append(basin, 's', input(['new']))).start.seqNum).toBe(0);
  });

  it('gives the terminal trim timestamp u64::MAX on an uncapped stream', async () => {
    const f = await setup();
    await createStream(f, 'u', { timestamping: { uncapped: true } });
    await f.engine.deleteStream(basin, 'u');
    expect(f.engine.ctx.state.stream(basin, 'u')!.tail).toEqual({ seqNum: 1, timestamp: 0xffff_ffff_ffff_ffffn });
  });

  it('delete-on-empty never deletes a stream with an append sequenced but not durable', async () => {
    const f = await setup();
    await createStream(f, 's', { deleteOnEmpty: { minAgeSecs: 1 } });
    await f.clock.advance(5_000);
    f.log.hold();
    const pending = f.engine.append(basin, 's', input(['keep me']));
    await settle();
    const run = f.engine.background.runOnce();
    await settle();
    f.log.release();
    await run;
    await pending;
    const stream = f.engine.ctx.state.stream(basin, 's')!;
    expect(stream.meta.deletedAtMs).toBeNull();
    expect(stream.tail.seqNum).toBe(1);
  });
});
