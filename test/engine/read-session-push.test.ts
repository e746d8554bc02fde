/**
 * The push path of a following read session: a transport sink set with `setLiveSink`
 * receives whole live batches from the streamer's push while the session waits, and the pull
 * path (`next()`) keeps everything else: refused batches, cuts by limits, heartbeats, the wait
 * deadline. Together they deliver every record once, in order.
 */
import { describe, expect, it } from 'vitest';
import type { ReadOutput, ReadSession } from '../../src/engine/read-session.js';
import { basin, createStream, input, rec, settle, setup, text } from './support.js';

function pulled(session: ReadSession) {
  const outputs: ReadOutput[] = [];
  const finished = (async () => {
    for await (const output of session) outputs.push(output);
  })();
  return { outputs, finished };
}

const bodiesOf = (outputs: ReadOutput[]) =>
  outputs.flatMap((o) => (o.kind === 'batch' ? o.records.map((r) => text(r.body)) : []));

describe('live push path', () => {
  it('hands whole live batches to the sink; refused ones come through next(), in order, once', async () => {
    const f = await setup();
    await createStream(f, 's');
    await f.engine.append(basin, 's', input(['a']));
    const session = await f.engine.openReadSession(basin, 's', { start: { seqNum: 0 } });
    const pushed: ReadOutput[] = [];
    let accept = true;
    session.setLiveSink((output) => {
      if (!accept) return false;
      pushed.push(output);
      return true;
    });
    const p = pulled(session);
    await settle();
    expect(p.outputs.map((o) => o.kind)).toEqual(['batch', 'heartbeat']);
    await f.engine.append(basin, 's', input(['b', 'c']));
    await f.engine.append(basin, 's', input(['d']));
    await settle();
    expect(bodiesOf(pushed)).toEqual(['b', 'c', 'd']);
    expect(pushed.every((o) => o.kind === 'batch' && o.tail !== undefined)).toBe(true);
    accept = false;
    await f.engine.append(basin, 's', input(['e']));
    await settle();
    accept = true;
    await f.engine.append(basin, 's', input(['f']));
    await settle();
    expect(bodiesOf(p.outputs)).toEqual(['a', 'e']);
    expect(bodiesOf(pushed)).toEqual(['b', 'c', 'd', 'f']);
    // The next heartbeat carries the tail after the last pushed batch.
    await f.clock.advance(16_000);
    const heartbeat = p.outputs.at(-1)!;
    expect(heartbeat).toEqual({ kind: 'heartbeat', tail: { seqNum: 6, timestamp: expect.any(BigInt) } });
    session.close();
    await p.finished;
  });

  it('pushed batches count against limits and re-arm the wait; the batch meeting the count is pulled', async () => {
    const f = await setup();
    await createStream(f, 's');
    const session = await f.engine.openReadSession(basin, 's', { start: { seqNum: 0 }, count: 4, waitSecs: 30 });
    const pushed: ReadOutput[] = [];
    session.setLiveSink((output) => pushed.push(output) > 0);
    const p = pulled(session);
    await settle();
    await f.clock.advance(20_000);
    await f.engine.append(basin, 's', input(['a', 'b']));
    await f.clock.advance(20_000); // 40 s since start, 20 s since the pushed batch: still open
    await f.engine.append(basin, 's', input(['c']));
    await settle();
    expect(bodiesOf(pushed)).toEqual(['a', 'b', 'c']);
    await f.engine.append(basin, 's', input(['d', 'e']));
    await p.finished;
    expect(bodiesOf(p.outputs)).toEqual(['d']);
    expect(bodiesOf(pushed)).toEqual(['a', 'b', 'c']);
  });

  it('a batch reaching `until` is pulled and cut, and the session ends', async () => {
    const f = await setup();
    await createStream(f, 's', { timestamping: { mode: 'client-require' } });
    const session = await f.engine.openReadSession(basin, 's', { start: { seqNum: 0 }, until: 100n, waitSecs: 30 });
    const pushed: ReadOutput[] = [];
    session.setLiveSink((output) => pushed.push(output) > 0);
    const p = pulled(session);
    await settle();
    await f.engine.append(basin, 's', { records: [rec('a', 10n)] });
    await settle();
    await f.engine.append(basin, 's', { records: [rec('b', 50n), rec('c', 150n)] });
    await p.finished;
    expect(bodiesOf(pushed)).toEqual(['a']);
    expect(bodiesOf(p.outputs)).toEqual(['b']);
  });

  it('a sink that throws refuses the batch: it is pulled, and the session goes on', async () => {
    const f = await setup();
    await createStream(f, 's');
    const session = await f.engine.openReadSession(basin, 's', { start: { seqNum: 0 } });
    let calls = 0;
    session.setLiveSink(() => {
      calls += 1;
      throw new Error('transport failed');
    });
    const p = pulled(session);
    await settle();
    await f.engine.append(basin, 's', input(['a']));
    await settle();
    expect(calls).toBe(1);
    expect(bodiesOf(p.outputs)).toEqual(['a']);
    const pushed: ReadOutput[] = [];
    session.setLiveSink((output) => pushed.push(output) > 0);
    await f.engine.append(basin, 's', input(['b']));
    await settle();
    expect(bodiesOf(pushed)).toEqual(['b']);
    // Plain outputs: records are the live batch's own array, and list holds the same records.
    const [output] = pushed;
    expect(output!.kind === 'batch' && output.list.toArray()).toBe(output!.kind === 'batch' && output.records);
    session.close();
    await p.finished;
  });
});
