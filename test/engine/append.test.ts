/**
 * The streamer's append path on a ManualClock: sequencing, pipelining, durability-gated replies
 * in order, conditions, timestamps, commands, failed commits and the admission budget.
 */
import { describe, expect, it } from 'vitest';
import { AppendConditionFailed, S2Error } from '../../src/domain/errors.js';
import type { AppendAck } from '../../src/domain/types.js';
import { basin, createStream, fence, input, rec, settle, setup, track, trim } from './support.js';

function code(error: unknown): string | undefined {
  return error instanceof S2Error ? error.code : undefined;
}

describe('unary append', () => {
  it('assigns consecutive seq_nums and acks start/end/tail', async () => {
    const f = await setup();
    await createStream(f, 's');
    const a = await f.engine.append(basin, 's', input(['a', 'b', 'c']));
    expect(a.start.seqNum).toBe(0);
    expect(a.end.seqNum).toBe(3);
    expect(a.tail).toEqual(a.end);
    const b = await f.engine.append(basin, 's', input(['d']));
    expect(b.start.seqNum).toBe(3);
    expect(b.end.seqNum).toBe(4);
    expect(await f.engine.checkTail(basin, 's')).toEqual(b.end);
  });

  it('pipelines: later appends are submitted before earlier ones are durable, acks stay in order', async () => {
    const f = await setup();
    await createStream(f, 's');
    f.log.hold();
    const order: number[] = [];
    const acks: Promise<AppendAck>[] = [];
    for (let i = 0; i < 5; i++) {
      // match_seq_num counts accepted-but-not-durable appends (api.md 7.1).
      const p = f.engine.append(basin, 's', input([`r${i}`, `r${i}'`], { matchSeqNum: i * 2 }));
      p.then(() => order.push(i));
      acks.push(p);
    }
    await settle();
    expect(f.log.heldCount).toBe(5);
    expect(order).toEqual([]);
    // Durable tail only: nothing is visible yet.
    expect(await f.engine.checkTail(basin, 's')).toEqual({ seqNum: 0, timestamp: 0n });
    f.log.release(2);
    await settle();
    expect(order).toEqual([0, 1]);
    expect((await f.engine.checkTail(basin, 's')).seqNum).toBe(4);
    f.log.release();
    const results = await Promise.all(acks);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    let previousTail = 0;
    for (const [i, ack] of results.entries()) {
      expect(ack.start.seqNum).toBe(i * 2);
      expect(ack.end.seqNum).toBe(i * 2 + 2);
      expect(ack.tail.seqNum).toBeGreaterThanOrEqual(ack.end.seqNum);
      expect(ack.tail.seqNum).toBeGreaterThanOrEqual(previousTail);
      previousTail = ack.tail.seqNum;
    }
  });

  it('holds a rejection until the appends it depends on are durable, after their acks', async () => {
    const f = await setup();
    await createStream(f, 's');
    f.log.hold();
    const events: string[] = [];
    const first = f.engine.append(basin, 's', input(['x']));
    first.then(() => events.push('ack'));
    const second = f.engine.append(basin, 's', input(['y'], { matchSeqNum: 0 }));
    const secondState = track(second);
    second.catch(() => events.push('reject'));
    await settle();
    expect(secondState.settled()).toBe(false);
    f.log.release();
    await settle();
    expect(events).toEqual(['ack', 'reject']);
    expect(secondState.error()).toBeInstanceOf(AppendConditionFailed);
    expect((secondState.error() as AppendConditionFailed).condition).toEqual({ seqNumMismatch: 1 });
    // Nothing of the rejected batch was written.
    expect(f.log.submitted.filter((m) => m[0]?.kind === 'append')).toHaveLength(1);
  });

  it('answers a rejection immediately when nothing it depends on is pending', async () => {
    const f = await setup();
    await createStream(f, 's');
    await f.engine.append(basin, 's', input(['x']));
    await expect(f.engine.append(basin, 's', input(['y'], { matchSeqNum: 5 }))).rejects.toMatchObject({
      condition: { seqNumMismatch: 1 },
    });
  });

  it('checks the fencing token before match_seq_num; a fence applies from sequencing on', async () => {
    const f = await setup();
    await createStream(f, 's');
    await f.engine.append(basin, 's', input(['a'], { fencingToken: '' }));
    f.log.hold();
    const fenced = f.engine.append(basin, 's', { records: [fence('tok-1')], matchSeqNum: 1 });
    // Pipelined behind the fence, the new token is already in force, the old one is not.
    const withNew = f.engine.append(basin, 's', input(['b'], { fencingToken: 'tok-1', matchSeqNum: 2 }));
    const withOld = track(f.engine.append(basin, 's', input(['c'], { fencingToken: '', matchSeqNum: 99 })));
    await settle();
    expect(withOld.settled()).toBe(false); // depends on the fence becoming durable
    f.log.release();
    expect((await fenced).start.seqNum).toBe(1);
    expect((await withNew).start.seqNum).toBe(2);
    await settle();
    expect((withOld.error() as AppendConditionFailed).condition).toEqual({ fencingTokenMismatch: 'tok-1' });
    const stream = f.engine.ctx.state.stream(basin, 's')!;
    expect(stream.fencingToken).toBe('tok-1');
    // An empty fence body sets the empty token again.
    await f.engine.append(basin, 's', { records: [fence('')], fencingToken: 'tok-1' });
    await f.engine.append(basin, 's', input(['d'], { fencingToken: '' }));
  });

  it('auto-creates on append only when the basin allows it, with s2-stream-config', async () => {
    const f = await setup();
    await f.engine.append(basin, 'auto', input(['a']), {
      streamConfig: { timestamping: { mode: 'arrival' }, retentionPolicy: { kind: 'infinite' } },
    });
    const config = await f.engine.getStreamConfig(basin, 'auto');
    expect(config.timestamping.mode).toBe('arrival');
    expect(config.retentionPolicy).toEqual({ kind: 'infinite' });
    await f.engine.createBasin('engine-basin-2', { createStreamOnAppend: false, createStreamOnRead: false });
    await expect(f.engine.append('engine-basin-2', 'x', input(['a']))).rejects.toMatchObject({
      code: 'stream_not_found',
    });
    await expect(f.engine.append('engine-basin-3', 'x', input(['a']))).rejects.toMatchObject({
      code: 'basin_not_found',
    });
    // Invalid input is refused before the stream is touched: no auto-creation.
    await expect(f.engine.append(basin, 'never', { records: [] })).rejects.toMatchObject({ code: 'invalid' });
    expect(f.engine.ctx.state.stream(basin, 'never')).toBeUndefined();
  });
});

describe('timestamps (api.md 7.3)', () => {
  it('client-prefer keeps client times, caps the future, clamps monotonically across batches', async () => {
    const f = await setup();
    await createStream(f, 's');
    const now = BigInt(f.clock.nowMs());
    await f.engine.append(basin, 's', { records: [rec('a', 1000n), rec('b', 900n), rec('c', 1100n)] });
    await f.engine.append(basin, 's', { records: [rec('d', 950n), rec('e', now + 5000n), rec('f')] });
    const { records } = await f.engine.read(basin, 's', { start: { seqNum: 0 }, count: 100 });
    expect(records.map((r) => r.timestamp)).toEqual([1000n, 1000n, 1100n, 1100n, now, now]);
  });

  it('arrival ignores client times; client-require refuses a missing one and writes nothing', async () => {
    const f = await setup();
    await createStream(f, 'arr', { timestamping: { mode: 'arrival' } });
    const ack = await f.engine.append(basin, 'arr', { records: [rec('a', 5n)] });
    expect(ack.start.timestamp).toBe(BigInt(f.clock.nowMs()));
    await createStream(f, 'req', { timestamping: { mode: 'client-require' } });
    await expect(f.engine.append(basin, 'req', { records: [rec('a', 5n), rec('b')] })).rejects.toMatchObject({
      code: 'invalid',
      message: 'record timestamp was required but was missing',
    });
    expect(await f.engine.checkTail(basin, 'req')).toEqual({ seqNum: 0, timestamp: 0n });
    expect((await f.engine.append(basin, 'req', { records: [rec('a', 123n)] })).start).toEqual({
      seqNum: 0,
      timestamp: 123n,
    });
  });

  it('uncapped keeps any u64, and the clamp carries over a restart from the durable tail', async () => {
    const f = await setup();
    await createStream(f, 'u', { timestamping: { uncapped: true } });
    const max = 0xffff_ffff_ffff_ffffn;
    const ack = await f.engine.append(basin, 'u', { records: [rec('a', max - 1n)] });
    expect(ack.end.timestamp).toBe(max - 1n);
    // A new engine over the same log (a restart) clamps from the recovered tail.
    const { Engine } = await import('../../src/engine/engine.js');
    const { ControlledLog } = await import('./support.js');
    await f.engine.close();
    const restarted = new Engine(await ControlledLog.create(f.log.store), { clock: f.clock });
    const next = await restarted.append(basin, 'u', { records: [rec('b', 7n), rec('c', max)] });
    expect(next.start).toEqual({ seqNum: 1, timestamp: max - 1n });
    expect(next.end).toEqual({ seqNum: 3, timestamp: max });
  });
});

describe('client disconnects', () => {
  it('write nothing when the client is gone before sequencing, also while waiting for admission', async () => {
    const f = await setup({ appendInflightBytes: 1 });
    await createStream(f, 's');
    await expect(f.engine.append(basin, 's', input(['x']), { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'unavailable',
    });
    f.log.hold();
    const big = f.engine.append(basin, 's', input(['y'.repeat(1024 * 1024 - 8)]));
    const controller = new AbortController();
    const waiting = track(f.engine.append(basin, 's', input(['z']), { signal: controller.signal }));
    await settle();
    controller.abort();
    await settle();
    expect(waiting.error()).toMatchObject({ code: 'unavailable' });
    f.log.release();
    expect((await big).start.seqNum).toBe(0);
    expect((await f.engine.checkTail(basin, 's')).seqNum).toBe(1);
  });
});

describe('reconfiguration', () => {
  it('applies to the next append of an active streamer', async () => {
    const f = await setup();
    await createStream(f, 's');
    await f.engine.append(basin, 's', input(['a']));
    await f.engine.reconfigureStream(basin, 's', { timestamping: { mode: 'client-require' } });
    await expect(f.engine.append(basin, 's', input(['b']))).rejects.toMatchObject({ code: 'invalid' });
    expect((await f.engine.append(basin, 's', { records: [rec('b', 1n)] })).start.seqNum).toBe(1);
  });
});

describe('command records', () => {
  it('trim point is min(requested, own seq + 1) and only moves forward', async () => {
    const f = await setup();
    await createStream(f, 's');
    await f.engine.append(basin, 's', input(['0', '1', '2', '3']));
    await f.engine.append(basin, 's', { records: [trim(1000n)] }); // seq 4: trims up to and including itself
    const stream = f.engine.ctx.state.stream(basin, 's')!;
    expect(stream.trimPoint).toBe(5);
    await f.engine.append(basin, 's', { records: [trim(2n)] }); // lower: no-op
    expect(stream.trimPoint).toBe(5);
    const appends = f.log.submitted.flat().filter((m) => m.kind === 'append');
    expect(appends.at(-1)).not.toHaveProperty('trimPoint');
    const { records } = await f.engine.read(basin, 's', { start: { seqNum: 0 }, count: 100 });
    expect(records.map((r) => r.seqNum)).toEqual([5]);
  });
});

describe('failed commits', () => {
  it('fail the append and every later one in flight, then refuse with 503, never hang', async () => {
    const f = await setup();
    await createStream(f, 's');
    await f.engine.append(basin, 's', input(['ok']));
    f.log.hold();
    const a = track(f.engine.append(basin, 's', input(['a'])));
    const b = track(f.engine.append(basin, 's', input(['b'])));
    const c = track(f.engine.append(basin, 's', input(['c'], { matchSeqNum: 0 }))); // rejection waiting on a, b
    await settle();
    f.log.fail('disk on fire');
    await settle();
    for (const t of [a, b, c]) {
      expect(t.settled()).toBe(true);
      expect(code(t.error())).toBe('storage');
    }
    await expect(f.engine.append(basin, 's', input(['d']))).rejects.toMatchObject({ code: 'unavailable' });
    // The durable view never moved past what was durable.
    expect(await f.engine.checkTail(basin, 's')).toMatchObject({ seqNum: 1 });
    expect(f.engine.health().ok).toBe(false);
  });
});

describe('admission budget', () => {
  it('makes appends beyond --append-inflight-bytes wait (FIFO) until earlier ones are acked', async () => {
    const f = await setup({ appendInflightBytes: 1 }); // clamped up to 1 MiB
    await createStream(f, 's');
    f.log.hold();
    const big = 'x'.repeat(1024 * 1024 - 8); // metered exactly 1 MiB
    const first = f.engine.append(basin, 's', input([big]));
    const second = track(f.engine.append(basin, 's', input(['small'])));
    await settle();
    // Only the first was sequenced; the second waits for permits and is not yet in the log.
    expect(f.log.heldCount).toBe(1);
    f.log.release();
    await first;
    await settle();
    f.log.release();
    await settle();
    expect(second.settled()).toBe(true);
    expect(second.value()?.start.seqNum).toBe(1);
  });
});
