/**
 * The push path of live read sessions on the real server (engine read session -> v1 sessions ->
 * S2S transport): the appender's ack is written before the follower's frame, pushed batches are
 * metered like pulled ones, a batch that meets the count is cut and ends the session through the
 * pull path, and an HTTP/2 follower that does not read bounds what the server hands its response
 * while appends go on.
 */
import http from 'node:http';
import http2 from 'node:http2';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SessionOutput } from '../../../src/api/sessions/output.js';
import { metrics } from '../../../src/metrics.js';
import { ackOf, batchOf, inputFrame, records } from './duplex.js';
import { appendSession, appendUnary, pausedH2Read, readRecordsUntil, readSession, sessionServer } from './support.js';

const setup = sessionServer('push');
const target = setup.target;

async function readRecordsS2S(): Promise<number> {
  const values = (await metrics.readRecords.get()).values;
  return values.find((v) => v.labels.transport === 's2s')?.value ?? 0;
}

const bodies = (frame: Parameters<typeof batchOf>[0]) =>
  batchOf(frame).records.map((r) => Buffer.from(r.body).toString());

afterEach(() => {
  vi.restoreAllMocks();
});

describe('a live S2S follower on the push path', () => {
  it('gets its frame after the appender got its ack', async () => {
    const t = target();
    await appendUnary(t, 'seed');
    const call = readSession(t, 'h2c', 'seq_num=1');
    expect((await call.response).status).toBe(200);
    batchOf(await call.nextFrame()); // the heartbeat: the session now waits for live batches
    const order: string[] = [];
    const end = http.ServerResponse.prototype.end;
    vi.spyOn(http.ServerResponse.prototype, 'end').mockImplementation(function (this: http.ServerResponse, ...args) {
      order.push('ack');
      return end.apply(this, args as Parameters<typeof end>);
    });
    const writeNow = SessionOutput.prototype.writeNow;
    vi.spyOn(SessionOutput.prototype, 'writeNow').mockImplementation(function (this: SessionOutput, chunk, written) {
      order.push('frame');
      writeNow.call(this, chunk, written);
    });
    await appendUnary(t, 'a');
    expect(bodies(await call.nextFrame())).toEqual(['a']);
    expect(order).toEqual(['ack', 'frame']);
    call.destroy();
  });

  it('is metered per pushed batch, and the batch meeting its count is cut and ends the session', async () => {
    const t = target();
    await appendUnary(t, 'seed');
    const pushedWrites = vi.spyOn(SessionOutput.prototype, 'writeNow');
    const call = readSession(t, 'h2c', 'seq_num=1&count=5&wait=30');
    expect((await call.response).status).toBe(200);
    expect(batchOf(await call.nextFrame())).toEqual({
      records: [],
      tail: { seqNum: 1, timestamp: expect.any(BigInt) },
    });
    const before = await readRecordsS2S();
    await appendUnary(t, 'a', 'b');
    expect(bodies(await call.nextFrame())).toEqual(['a', 'b']);
    await appendUnary(t, 'c', 'd');
    expect(bodies(await call.nextFrame())).toEqual(['c', 'd']);
    expect(pushedWrites).toHaveBeenCalledTimes(2);
    await appendUnary(t, 'e', 'f');
    const last = batchOf(await call.nextFrame());
    expect(last.records.map((r) => Buffer.from(r.body).toString())).toEqual(['e']);
    expect(last.tail?.seqNum).toBe(7);
    expect(await call.nextFrame()).toBeUndefined();
    expect(pushedWrites).toHaveBeenCalledTimes(2);
    expect((await readRecordsS2S()) - before).toBe(5);
  });

  it('an HTTP/2 follower that does not read: the server hands its response a bounded number of bytes', async () => {
    const t = target();
    await appendUnary(t, 'seed');
    let handed = 0;
    const count = (chunk: Uint8Array | string) => void (handed += chunk.length);
    const write = SessionOutput.prototype.write;
    const writeNow = SessionOutput.prototype.writeNow;
    vi.spyOn(SessionOutput.prototype, 'write').mockImplementation(function (this: SessionOutput, chunk, written) {
      count(chunk);
      return write.call(this, chunk, written);
    });
    vi.spyOn(SessionOutput.prototype, 'writeNow').mockImplementation(function (this: SessionOutput, chunk, written) {
      count(chunk);
      writeNow.call(this, chunk, written);
    });
    const client = http2.connect(setup.server.baseUrl);
    const stream = await pausedH2Read(client, t, 1);
    // 16 MiB appended while the follower reads nothing.
    const appends = 256;
    const body = 'q'.repeat(64 * 1024);
    const producer = appendSession(t, 'h1');
    for (let i = 0; i < appends; i++) {
      await producer.write(inputFrame(records(`${i + 1}:${body}`)));
      ackOf(await producer.nextFrame());
    }
    producer.end();
    expect(await producer.nextFrame()).toBeUndefined();
    // Flow control's window and the stream's buffer: well under 4 MiB (16 MiB without a bound).
    await new Promise<void>((resolve) => setTimeout(resolve, 200));
    expect(handed).toBeLessThan(4 * 1024 * 1024);

    await readRecordsUntil(stream, 1, appends + 1, (seqNum, body) => {
      expect(body.subarray(0, 8).toString()).toBe(`${seqNum}:`.padEnd(8, 'q'));
    });
    stream.close(http2.constants.NGHTTP2_CANCEL);
    client.close();
  });
});
