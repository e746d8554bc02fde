/**
 * Read sessions on a ManualClock (lite-internals 5.6-5.7): start resolution and 416s, limits,
 * catch-up to follow without gap or duplicate, wait deadlines, heartbeats, lag recovery,
 * unary long-poll, and what followers see on deletion and storage failure.
 */
import { describe, expect, it } from 'vitest';
import { RangeNotSatisfiable } from '../../src/domain/errors.js';
import type { ReadOutput, ReadSession } from '../../src/engine/read-session.js';
import { meteredBytes } from '../../src/domain/types.js';
import { heartbeatGapMsMax, heartbeatGapMsMin } from '../../src/limits.js';
import { StoreFailure } from '../../src/storage/errors.js';
import type { Append } from '../../src/storage/types.js';
import type { AppendInput } from '../../src/domain/types.js';
import { basin, createStream, input, rec, settle, setup, text, track, type Fixture } from './support.js';

/** Pulls outputs as they come, recording them, without blocking the test. */
function collector(session: ReadSession) {
  const outputs: ReadOutput[] = [];
  let done = false;
  let error: unknown;
  const finished = (async () => {
    try {
      for await (const output of session) outputs.push(output);
    } catch (e) {
      error = e;
    } finally {
      done = true;
    }
  })();
  return {
    outputs,
    finished,
    done: () => done,
    error: () => error,
    bodies: () => outputs.flatMap((o) => (o.kind === 'batch' ? o.records.map((r) => text(r.body)) : [])),
    kinds: () => outputs.map((o) => (o.kind === 'batch' ? (o.tail ? 'live' : 'catchup') : 'heartbeat')),
  };
}

async function stream(f: Fixture, name: string, bodies: string[]): Promise<void> {
  await createStream(f, name);
  if (bodies.length > 0) await f.engine.append(basin, name, input(bodies));
}

describe('start resolution and 416 (api.md 8.1)', () => {
  it('416 beyond the tail without clamp, and at the tail when the read may not follow, even with clamp', async () => {
    const f = await setup();
    await stream(f, 's', ['a', 'b']);
    const tail = await f.engine.checkTail(basin, 's');
    const cases = [
      { start: { seqNum: 100 } },
      { start: { seqNum: 2 }, count: 5 },
      { start: { tailOffset: 0 }, count: 1 },
      { start: { seqNum: 100 }, clamp: true, count: 5 },
      { start: { timestamp: tail.timestamp + 1n }, until: 0xffff_ffff_ffff_ffffn },
      { start: { timestamp: tail.timestamp + 1n }, clamp: true, count: 3 },
    ];
    for (const request of cases) {
      const error = await f.engine.openReadSession(basin, 's', request).catch((e: unknown) => e);
      expect(
        error,
        JSON.stringify(request, (_, v) => (typeof v === 'bigint' ? String(v) : v)),
      ).toBeInstanceOf(RangeNotSatisfiable);
      expect((error as RangeNotSatisfiable).tail).toEqual(tail);
    }
    // clamp with wait may follow, so no 416; it just ends empty when the wait passes.
    const session = await f.engine.openReadSession(basin, 's', { start: { seqNum: 100 }, clamp: true, waitSecs: 1 });
    const c = collector(session);
    await f.clock.advance(1000);
    await c.finished;
    expect(c.kinds()).toEqual(['heartbeat']);
  });

  it('a timestamp start at or below the tail timestamp that resolves to the tail is empty, not 416', async () => {
    const f = await setup();
    await createStream(f, 's');
    await f.engine.append(basin, 's', {
      records: [rec('a', 1000n), rec('b', 1000n), rec('c', 1000n), rec('d', 2000n)],
    });
    const dup = await f.engine.read(basin, 's', { start: { timestamp: 1000n }, count: 10 });
    expect(dup.records.map((r) => text(r.body))).toEqual(['a', 'b', 'c', 'd']);
    const last = await f.engine.read(basin, 's', { start: { timestamp: 1500n }, count: 10 });
    expect(last.records.map((r) => r.seqNum)).toEqual([3]);
    await createStream(f, 'empty');
    expect(await f.engine.read(basin, 'empty', { start: { timestamp: 0n }, count: 10 })).toEqual({ records: [] });
  });

  it('refuses until <= timestamp start with 422 before auto-creating', async () => {
    const f = await setup();
    await expect(
      f.engine.openReadSession(basin, 'nope', { start: { timestamp: 5n }, until: 5n }),
    ).rejects.toMatchObject({ code: 'invalid' });
    expect(f.engine.ctx.state.stream(basin, 'nope')).toBeUndefined();
  });

  it('tail_offset starts that many records before the tail, saturating at 0', async () => {
    const f = await setup();
    await stream(f, 's', ['1', '2', '3', '4', '5']);
    expect(
      (await f.engine.read(basin, 's', { start: { tailOffset: 2 }, count: 10 })).records.map((r) => text(r.body)),
    ).toEqual(['4', '5']);
    expect((await f.engine.read(basin, 's', { start: { tailOffset: 99 }, count: 10 })).records).toHaveLength(5);
  });
});

describe('limits and until (api.md 8.2)', () => {
  it('count, bytes (exact fit, first too large) and until boundaries', async () => {
    const f = await setup();
    await createStream(f, 's');
    await f.engine.append(basin, 's', {
      records: [rec('a', 1000n), rec('b', 1000n), rec('c', 2000n), rec('d', 3000n)],
    });
    const size = meteredBytes({ headers: [], body: new Uint8Array(1) });
    const read = async (req: object) =>
      (await f.engine.read(basin, 's', { start: { seqNum: 0 }, ...req })).records.map((r) => text(r.body));
    expect(await read({ count: 2 })).toEqual(['a', 'b']);
    expect(await read({ bytes: 2 * size })).toEqual(['a', 'b']);
    expect(await read({ bytes: size - 1 })).toEqual([]);
    expect(await read({ count: 0 })).toEqual([]);
    expect(await read({ until: 500n })).toEqual([]);
    expect(await read({ until: 2000n })).toEqual(['a', 'b']);
    expect(await read({ until: 5000n })).toEqual(['a', 'b', 'c', 'd']);
    expect(await read({ until: 3000n, count: 1 })).toEqual(['a']);
  });
});

describe('catch-up then follow (api.md 8.3)', () => {
  it('switches at exactly the durable tail: no gap, no duplicate; live batches carry tail', async () => {
    const f = await setup();
    await stream(f, 's', ['a', 'b', 'c']);
    f.log.hold();
    // Not yet durable when the session opens: it must not be read, but must be followed.
    const pending = f.engine.append(basin, 's', input(['d']));
    const c = collector(await f.engine.openReadSession(basin, 's', { start: { seqNum: 0 } }));
    await settle();
    expect(c.kinds()).toEqual(['catchup', 'heartbeat']);
    expect(c.outputs[1]).toEqual({ kind: 'heartbeat', tail: { seqNum: 3, timestamp: expect.any(BigInt) } });
    f.log.release();
    await pending;
    await f.engine.append(basin, 's', input(['e', 'f']));
    await settle();
    expect(c.bodies()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(c.kinds()).toEqual(['catchup', 'heartbeat', 'live', 'live']);
    const last = c.outputs.at(-1)!;
    expect(last.kind === 'batch' && last.tail?.seqNum).toBe(6);
    expect(c.done()).toBe(false);
  });

  it('ends wait seconds after the last delivery; heartbeats do not extend it, batches do', async () => {
    const f = await setup();
    await stream(f, 's', ['a']);
    const c = collector(await f.engine.openReadSession(basin, 's', { start: { seqNum: 1 }, waitSecs: 30 }));
    await f.clock.advance(20_000);
    expect(c.kinds().filter((k) => k === 'heartbeat').length).toBeGreaterThanOrEqual(2);
    await f.engine.append(basin, 's', input(['b']));
    await f.clock.advance(25_000); // 45 s since start, 25 s since the batch
    expect(c.done()).toBe(false);
    await f.clock.advance(5_000);
    await c.finished;
    expect(c.done()).toBe(true);
    expect(c.bodies()).toEqual(['b']);
  });

  it('heartbeats on entering follow, then after each random 5-15 s of silence', async () => {
    const f = await setup();
    await stream(f, 's', []);
    const c = collector(await f.engine.openReadSession(basin, 's', { start: { seqNum: 0 } }));
    await settle();
    expect(c.kinds()).toEqual(['heartbeat']);
    const times: number[] = [];
    for (let t = 0; t < 90_000; t += 1000) {
      const before = c.outputs.length;
      await f.clock.advance(1000);
      if (c.outputs.length > before) times.push(f.clock.monotonicMs());
    }
    expect(times.length).toBeGreaterThanOrEqual(90_000 / heartbeatGapMsMax - 1);
    let previous = 0;
    for (const t of times) {
      expect(t - previous).toBeGreaterThanOrEqual(heartbeatGapMsMin);
      expect(t - previous).toBeLessThanOrEqual(heartbeatGapMsMax + 1000);
      previous = t;
    }
    expect(c.done()).toBe(false);
  });

  it('a lagging follower goes back to storage and resumes live, respecting count', async () => {
    const f = await setup();
    await stream(f, 's', ['start']);
    const session = await f.engine.openReadSession(basin, 's', { start: { seqNum: 1 }, count: 40, waitSecs: 60 });
    const it = session[Symbol.asyncIterator]();
    expect((await it.next()).value).toMatchObject({ kind: 'heartbeat' });
    // 30 durable batches while the reader does not pull: more than followerLagBatchesMax (25).
    for (let i = 0; i < 30; i++) await f.engine.append(basin, 's', input([`r${i}`]));
    const batch = (await it.next()).value as ReadOutput;
    expect(batch.kind).toBe('batch');
    expect(batch.kind === 'batch' && batch.tail).toBeUndefined(); // from storage, not live
    expect(batch.kind === 'batch' && batch.records.map((r) => text(r.body))).toEqual(
      Array.from({ length: 30 }, (_, i) => `r${i}`),
    );
    expect((await it.next()).value).toMatchObject({ kind: 'heartbeat' }); // back in follow
    await f.engine.append(basin, 's', input(['live1', 'live2', 'x', 'y', 'z', 'over', 'limit', 'a', 'b', 'c', 'd']));
    const live = (await it.next()).value as ReadOutput;
    expect(live.kind === 'batch' && live.tail?.seqNum).toBe(42);
    expect(live.kind === 'batch' && live.records.length).toBe(10); // truncated by count 40
    expect((await it.next()).done).toBe(true);
  });

  it('a live batch is cut at until and by bytes; an oversize first record ends without a batch', async () => {
    const f = await setup();
    await stream(f, 's', []);
    const c = collector(
      await f.engine.openReadSession(basin, 's', { start: { seqNum: 0 }, until: 2500n, waitSecs: 5 }),
    );
    await settle();
    await f.engine.append(basin, 's', { records: [rec('a', 1000n), rec('b', 2000n), rec('c', 3000n)] });
    await c.finished;
    expect(c.bodies()).toEqual(['a', 'b']);
    const d = collector(await f.engine.openReadSession(basin, 's', { start: { seqNum: 3 }, bytes: 5, waitSecs: 5 }));
    await settle();
    await f.engine.append(basin, 's', input(['too big']));
    await d.finished;
    expect(d.kinds()).toEqual(['heartbeat']);
  });
});

/** Appends to stream 's' that become durable in one chunk: one report of durability for all of them. */
async function appendDurableTogether(f: Awaited<ReturnType<typeof setup>>, inputs: AppendInput[]): Promise<void> {
  f.log.hold();
  const acks = inputs.map((i) => f.engine.append(basin, 's', i));
  await settle();
  f.log.release();
  await Promise.all(acks);
  await settle();
}

describe('follow limits and lag (lite-internals 5.7)', () => {
  it('appends that become durable together reach a follower as one live batch, within read batch limits', async () => {
    const f = await setup();
    await stream(f, 's', []);
    const c = collector(await f.engine.openReadSession(basin, 's', { start: { seqNum: 0 } }));
    await settle();
    const durableTogether = (inputs: AppendInput[]) => appendDurableTogether(f, inputs);
    const liveSizes = () => c.outputs.flatMap((o) => (o.kind === 'batch' && o.tail ? [o.records.length] : []));

    await durableTogether([input(['a']), input(['b', 'c']), input(['d'])]);
    expect(c.bodies()).toEqual(['a', 'b', 'c', 'd']);
    expect(liveSizes()).toEqual([4]);
    expect((c.outputs.at(-1) as { tail?: { seqNum: number } }).tail?.seqNum).toBe(4);
    // What storage was given is not what followers got: the joined batch is a copy.
    expect(f.log.submitted.slice(-3).map((commit) => (commit[0] as Append).records.length)).toEqual([1, 2, 1]);

    // 3 x 400 records: at most 1000 per batch (readBatchRecordsMax).
    const many = (tag: string) => input(Array.from({ length: 400 }, (_, i) => `${tag}${i}`));
    await durableTogether([many('x'), many('y'), many('z')]);
    expect(liveSizes()).toEqual([4, 800, 400]);

    // 4 records of 300 KiB in separate appends: at most 1 MiB metered per batch (readBatchBytesMax).
    const big = () => ({ records: [{ headers: [], body: new Uint8Array(300 * 1024) }] });
    await durableTogether([big(), big(), big(), big()]);
    expect(liveSizes()).toEqual([4, 800, 400, 3, 1]);
    const seqNums = c.outputs.flatMap((o) => (o.kind === 'batch' ? o.records.map((r) => r.seqNum) : []));
    expect(seqNums).toEqual(Array.from({ length: 4 + 1200 + 4 }, (_, i) => i));
    expect(c.done()).toBe(false);
  });

  it("followers at different positions and limits share a run's batches; a cut for one is not a cut for others", async () => {
    const f = await setup();
    await stream(f, 's', []);
    const durableTogether = (inputs: AppendInput[]) => appendDurableTogether(f, inputs);
    const liveSizes = (c: ReturnType<typeof collector>) =>
      c.outputs.flatMap((o) => (o.kind === 'batch' && o.tail ? [o.records.length] : []));
    const seqNums = (c: ReturnType<typeof collector>) =>
      c.outputs.flatMap((o) => (o.kind === 'batch' ? o.records.map((r) => r.seqNum) : []));
    const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
    const many = (tag: string) => input(Array.from({ length: 400 }, (_, i) => `${tag}${i}`));
    const big = () => ({ records: [{ headers: [], body: new Uint8Array(300 * 1024) }] });

    const first = collector(await f.engine.openReadSession(basin, 's', { start: { seqNum: 0 } }));
    await settle();
    await durableTogether([many('x'), many('y'), many('z')]);
    expect(liveSizes(first)).toEqual([800, 400]);

    // One joins at the tail; one catches up 200 records first, then follows with 2 records left.
    const joined = collector(await f.engine.openReadSession(basin, 's', { start: { seqNum: 1200 } }));
    const behind = collector(
      await f.engine.openReadSession(basin, 's', { start: { seqNum: 1000 }, count: 202, waitSecs: 60 }),
    );
    await settle();
    expect(behind.kinds()).toEqual(['catchup', 'heartbeat']);
    await durableTogether([big(), big(), big(), big()]);
    await behind.finished;

    // `behind` took 2 of the first batch of 3 and ended; the others still got all 3, then 1.
    expect(liveSizes(behind)).toEqual([2]);
    expect(seqNums(behind)).toEqual(range(1000, 1202));
    expect(behind.error()).toBeUndefined();
    expect(liveSizes(first)).toEqual([800, 400, 3, 1]);
    expect(seqNums(first)).toEqual(range(0, 1204));
    expect(liveSizes(joined)).toEqual([3, 1]);
    expect(seqNums(joined)).toEqual(range(1200, 1204));
    expect([first.done(), joined.done()]).toEqual([false, false]);
    // Storage got each append's records as they were submitted.
    const appended = f.log.submitted.flat().flatMap((m) => (m.kind === 'append' ? [m.records.length] : []));
    expect(appended).toEqual([400, 400, 400, 1, 1, 1, 1]);
  });

  it('an exactly met count ends cleanly; bytes truncate a live batch', async () => {
    const f = await setup();
    await stream(f, 's', ['a']);
    const exact = collector(
      await f.engine.openReadSession(basin, 's', { start: { seqNum: 0 }, count: 3, waitSecs: 60 }),
    );
    const size = meteredBytes({ headers: [], body: new Uint8Array(1) });
    const cut = collector(
      await f.engine.openReadSession(basin, 's', { start: { seqNum: 1 }, bytes: 2 * size, waitSecs: 60 }),
    );
    await settle();
    await f.engine.append(basin, 's', input(['b', 'c']));
    await exact.finished;
    expect(exact.bodies()).toEqual(['a', 'b', 'c']);
    expect(exact.kinds()).toEqual(['catchup', 'heartbeat', 'live']);
    expect(exact.error()).toBeUndefined();
    await f.engine.append(basin, 's', input(['d']));
    await cut.finished;
    expect(cut.bodies()).toEqual(['b', 'c']);
    const more = collector(
      await f.engine.openReadSession(basin, 's', { start: { seqNum: 3 }, bytes: 2 * size, waitSecs: 60 }),
    );
    await settle();
    await f.engine.append(basin, 's', input(['e', 'f', 'g']));
    await more.finished;
    expect(more.bodies()).toEqual(['d', 'e']); // catch-up 'd', then 1 of the 3 live records
  });

  it('re-arms the wait deadline from the catch-up batch delivered after a lag', async () => {
    const f = await setup();
    await stream(f, 's', []);
    const session = await f.engine.openReadSession(basin, 's', { start: { seqNum: 0 }, waitSecs: 10 });
    const it = session[Symbol.asyncIterator]();
    expect((await it.next()).value).toMatchObject({ kind: 'heartbeat' });
    await f.clock.advance(8_000);
    for (let i = 0; i < 30; i++) await f.engine.append(basin, 's', input([`r${i}`]));
    const batch = (await it.next()).value as ReadOutput;
    expect(batch.kind === 'batch' && batch.records.length).toBe(30);
    expect((await it.next()).value).toMatchObject({ kind: 'heartbeat' });
    const deliveredAt = f.clock.monotonicMs();
    let endedAt: number | undefined;
    const drain = (async () => {
      while (!(await it.next()).done); // heartbeats only
      endedAt = f.clock.monotonicMs();
    })();
    await f.clock.advance(9_000);
    expect(endedAt).toBeUndefined();
    await f.clock.advance(1_000);
    await drain;
    expect(endedAt).toBe(deliveredAt + 10_000);
  });

  it('reports a storage read failure as 500 storage', async () => {
    const f = await setup();
    await stream(f, 's', ['a']);
    f.log.read = () => Promise.reject(new StoreFailure('get segment/x on memory kept failing: 503'));
    await expect(f.engine.read(basin, 's', { start: { seqNum: 0 }, count: 10 })).rejects.toMatchObject({
      code: 'storage',
      message: 'get segment/x on memory kept failing: 503',
    });
  });

  it('ends followers with unavailable when the engine closes', async () => {
    const f = await setup();
    await stream(f, 's', []);
    const c = collector(await f.engine.openReadSession(basin, 's', { start: { seqNum: 0 } }));
    await settle();
    await f.engine.close();
    await c.finished;
    expect(c.error()).toMatchObject({ code: 'unavailable' });
    expect(f.clock.pendingTimers()).toBe(0);
  });
});

describe('unary read with wait (api.md 8.5)', () => {
  it('returns catch-up records immediately, else the first live batch with tail, else [] at the deadline', async () => {
    const f = await setup();
    await stream(f, 's', ['a']);
    expect(await f.engine.read(basin, 's', { start: { seqNum: 0 }, count: 1000, waitSecs: 10 })).toEqual({
      records: [expect.objectContaining({ seqNum: 0 })],
    });
    const live = track(f.engine.read(basin, 's', { start: { seqNum: 1 }, count: 1000, waitSecs: 10 }));
    await f.clock.advance(5_000);
    expect(live.settled()).toBe(false);
    await f.engine.append(basin, 's', input(['b', 'c']));
    await settle();
    expect(live.value()?.records.map((r) => text(r.body))).toEqual(['b', 'c']);
    expect(live.value()?.tail?.seqNum).toBe(3);
    const idle = track(f.engine.read(basin, 's', { start: { seqNum: 3 }, count: 1000, waitSecs: 10 }));
    await f.clock.advance(9_999);
    expect(idle.settled()).toBe(false);
    await f.clock.advance(1);
    expect(idle.value()).toEqual({ records: [] });
  });

  it('releases the follower when aborted', async () => {
    const f = await setup();
    await stream(f, 's', []);
    const controller = new AbortController();
    const read = track(
      f.engine.read(basin, 's', { start: { seqNum: 0 }, count: 10, waitSecs: 60 }, { signal: controller.signal }),
    );
    await settle();
    controller.abort();
    await settle();
    expect(read.value()).toEqual({ records: [] });
  });
});

describe('followers on deletion and failure', () => {
  it('receive the terminal trim record, then unavailable; appends after it get 409', async () => {
    const f = await setup();
    await stream(f, 's', ['a']);
    const c = collector(await f.engine.openReadSession(basin, 's', { start: { seqNum: 1 } }));
    await settle();
    f.log.hold();
    const pendingAppend = f.engine.append(basin, 's', input(['b']));
    await settle(); // sequenced (not durable) before the deletion arrives
    const deletion = f.engine.deleteStream(basin, 's');
    const after = track(f.engine.append(basin, 's', input(['c'])));
    await settle();
    f.log.release();
    await pendingAppend;
    await deletion;
    await c.finished;
    await settle();
    expect(after.error()).toMatchObject({ code: 'stream_deletion_pending' });
    const records = c.outputs.flatMap((o) => (o.kind === 'batch' ? o.records : []));
    expect(records.map((r) => r.seqNum)).toEqual([1, 2]);
    const terminal = records[1]!;
    expect(text(terminal.headers[0]![1])).toBe('trim');
    expect([...terminal.body]).toEqual(new Array(8).fill(0xff));
    expect(terminal.timestamp).toBe(BigInt(f.clock.nowMs())); // u64::MAX capped on a capped stream
    expect(c.error()).toMatchObject({ code: 'unavailable' });
    const stream_ = f.engine.ctx.state.stream(basin, 's')!;
    expect(stream_.terminalTrimDurable).toBe(true);
    await expect(f.engine.openReadSession(basin, 's', { start: { seqNum: 0 } })).rejects.toMatchObject({
      code: 'stream_deletion_pending',
    });
  });

  it('appends and the deletion durable together: one live batch ending in the terminal trim, then unavailable', async () => {
    const f = await setup();
    await stream(f, 's', ['a']);
    const all = collector(await f.engine.openReadSession(basin, 's', { start: { seqNum: 1 } }));
    const two = collector(await f.engine.openReadSession(basin, 's', { start: { seqNum: 1 }, count: 2, waitSecs: 60 }));
    await settle();
    f.log.hold();
    const appends = [f.engine.append(basin, 's', input(['b'])), f.engine.append(basin, 's', input(['c', 'd']))];
    await settle();
    const deletion = f.engine.deleteStream(basin, 's');
    await settle();
    f.log.release(); // one chunk: the appends and the terminal trim are reported durable in one call
    await Promise.all([...appends, deletion]);
    await Promise.all([all.finished, two.finished]);
    const live = (c: ReturnType<typeof collector>) =>
      c.outputs.flatMap((o) => (o.kind === 'batch' && o.tail ? [o.records.map((r) => r.seqNum)] : []));
    expect(live(all)).toEqual([[1, 2, 3, 4]]);
    expect(all.bodies().slice(0, 3)).toEqual(['b', 'c', 'd']);
    const terminal = all.outputs.flatMap((o) => (o.kind === 'batch' ? o.records : [])).at(-1)!;
    expect(text(terminal.headers[0]![1])).toBe('trim');
    expect(all.error()).toMatchObject({ code: 'unavailable' });
    // A follower whose count ends inside the run ends cleanly, before the terminal trim.
    expect(live(two)).toEqual([[1, 2]]);
    expect(two.error()).toBeUndefined();
    // Storage got each append's records as they were submitted (the joined batch is a copy).
    const appended = f.log.submitted.flat().flatMap((m) => (m.kind === 'append' ? [m.records.length] : []));
    expect(appended).toEqual([1, 1, 2, 1]);
  });

  it('get unavailable when the log fails, even on a stream without appends in flight', async () => {
    const f = await setup();
    await stream(f, 'quiet', []);
    const c = collector(await f.engine.openReadSession(basin, 'quiet', { start: { seqNum: 0 } }));
    await settle();
    f.log.fail();
    await c.finished;
    expect(c.error()).toMatchObject({ code: 'unavailable' });
    await expect(f.engine.append(basin, 'quiet', input(['x']))).rejects.toMatchObject({ code: 'unavailable' });
  });

  it('get unavailable when a commit fails', async () => {
    const f = await setup();
    await stream(f, 's', []);
    const c = collector(await f.engine.openReadSession(basin, 's', { start: { seqNum: 0 } }));
    await settle();
    f.log.hold();
    const failed = f.engine.append(basin, 's', input(['x'])).catch((e: unknown) => e);
    await settle();
    f.log.fail();
    await failed;
    await c.finished;
    expect(c.error()).toMatchObject({ code: 'unavailable' });
    expect(c.bodies()).toEqual([]);
  });
});
