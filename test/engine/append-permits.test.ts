/**
 * Every append returns its admission permits exactly once (api.md 7.1, `--append-inflight-bytes`),
 * whatever ends it: acked, refused by the fencing token or match_seq_num (at once or after the
 * appends it depends on), refused for a stream being deleted, a missing stream or a missing key,
 * aborted before sequencing or while waiting for admission, or failed with the log; unary appends
 * (whose admission is inlined in engine/append.ts) and append sessions alike. With a 1 MiB budget
 * and 1 MiB batches a single leaked permit would stall the next append, and a double return trips
 * the semaphore's assertion.
 */
import { describe, expect, it } from 'vitest';
import type { AppendInput } from '../../src/domain/types.js';
import type { Semaphore } from '../../src/engine/semaphore.js';
import { basin, createStream, fence, input, rec, settle, setup, track, type Fixture } from './support.js';

const big = 'x'.repeat(1024 * 1024 - 8); // metered exactly 1 MiB: the whole budget

function budget(f: Fixture): Semaphore {
  return (f.engine as unknown as { dataPlane: { budget: Semaphore } }).dataPlane.budget;
}

function bigInput(extra: Partial<AppendInput> = {}): AppendInput {
  return input([big], extra);
}

describe('admission permits of unary appends', () => {
  it('come back after every kind of refusal, and the budget admits a full batch again', async () => {
    const f = await setup({ appendInflightBytes: 1 }); // clamped up to 1 MiB
    const capacity = budget(f).free;
    expect(capacity).toBe(1024 * 1024);
    await createStream(f, 's');
    await f.engine.append(basin, 's', { records: [fence('token')] });
    const refusals: [string, () => Promise<unknown>][] = [
      ['fencing token', () => f.engine.append(basin, 's', bigInput({ fencingToken: 'other' }))],
      ['match_seq_num', () => f.engine.append(basin, 's', bigInput({ matchSeqNum: 99 }))],
      ['aborted', () => f.engine.append(basin, 's', bigInput(), { signal: AbortSignal.abort() })],
      ['missing basin', () => f.engine.append('no-such-basin', 's', bigInput())],
    ];
    for (const [what, refused] of refusals) {
      for (let i = 0; i < 3; i++) {
        await expect(refused(), what).rejects.toBeDefined();
        expect(budget(f).free, what).toBe(capacity);
      }
    }
    // A rejection that waits for the appends it depends on (in flight) to be durable.
    f.log.hold();
    const first = f.engine.append(basin, 's', input(['a'], { fencingToken: 'token' }));
    const dependent = track(f.engine.append(basin, 's', input(['b'], { matchSeqNum: 0, fencingToken: 'token' })));
    await settle();
    f.log.release();
    await first;
    await settle();
    expect(dependent.error()).toBeDefined();
    expect(budget(f).free).toBe(capacity);
    // Aborted while waiting for admission behind a full batch.
    f.log.hold();
    const full = f.engine.append(basin, 's', bigInput({ fencingToken: 'token' }));
    const controller = new AbortController();
    const waiting = track(
      f.engine.append(basin, 's', bigInput({ fencingToken: 'token' }), { signal: controller.signal }),
    );
    await settle();
    controller.abort();
    await settle();
    expect(waiting.error()).toMatchObject({ code: 'unavailable' });
    f.log.release();
    await full;
    expect(budget(f).free).toBe(capacity);
    // A stream being deleted refuses (409); then a new stream, auto-created by a full batch that is
    // admitted at once.
    await f.engine.deleteStream(basin, 's');
    await expect(f.engine.append(basin, 's', bigInput())).rejects.toBeDefined();
    expect(budget(f).free).toBe(capacity);
    const ack = await f.engine.append(basin, 't', bigInput());
    expect(ack.start.seqNum).toBe(0);
    expect(budget(f).free).toBe(capacity);
  });

  it('come back when the log fails the appends in flight', async () => {
    const f = await setup({ appendInflightBytes: 1 });
    const capacity = budget(f).free;
    await createStream(f, 's');
    f.log.hold();
    const a = track(f.engine.append(basin, 's', input(['a'])));
    const b = track(f.engine.append(basin, 's', input(['b'], { matchSeqNum: 0 })));
    await settle();
    expect(budget(f).free).toBe(capacity - 18); // taken while in flight: 8 + 1 metered bytes each
    f.log.fail('disk on fire');
    await settle();
    expect(a.error()).toBeDefined();
    expect(b.error()).toBeDefined();
    expect(budget(f).free).toBe(capacity);
  });
});

describe('admission permits of append sessions', () => {
  it('come back after acks and refusals of a session', async () => {
    const f = await setup({ appendInflightBytes: 1 });
    const capacity = budget(f).free;
    await createStream(f, 's');
    const session = await f.engine.openAppendSession(basin, 's');
    const signal = new AbortController().signal;
    const acks: Promise<unknown>[] = [];
    for (let i = 0; i < 3; i++) {
      const { ack } = await session.submit(bigInput(), signal);
      acks.push(ack);
      await ack;
    }
    const refused = await session.submit(bigInput({ matchSeqNum: 0 }), signal);
    await expect(refused.ack).rejects.toBeDefined();
    await Promise.allSettled(acks);
    await settle();
    expect(budget(f).free).toBe(capacity);
    session.close();
    await settle();
    expect(budget(f).free).toBe(capacity);
    // And a unary append of a full batch is admitted after it.
    expect((await f.engine.append(basin, 's', { records: [rec(big)] })).start.seqNum).toBe(3);
  });
});
