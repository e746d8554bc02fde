/**
 * The push path of read sessions at the transport level (ports.ts `setLiveSink`, output.ts
 * `LivePush`) against a fake session that offers live outputs to the transport's sink first, as
 * the engine does while it waits, and queues what the sink refuses for `next()`: pushed and
 * pulled outputs arrive once and in order, and a client that stops reading bounds what the
 * transport takes (the same bound as the pull path) over HTTP/1.1 and h2c.
 */
import http from 'node:http';
import http2 from 'node:http2';
import type { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SessionReadOutput } from '../../../src/api/sessions/ports.js';
import type { SequencedRecord } from '../../../src/domain/types.js';
import type { Protocol } from '../../support/http.js';
import { openDuplex } from './duplex.js';
import { readRecordsUntil } from './support.js';
import { FakeReadSession } from './fake-engine.js';
import { startTransportServer, type TransportServer } from './transport-server.js';
import { until } from '../../support/until.js';

/** A fake session with a push path: offers go to the sink while `next()` waits, else to the queue. */
class PushingReadSession extends FakeReadSession {
  private sink: ((output: SessionReadOutput) => boolean) | undefined;
  accepted = 0;
  refused = 0;

  setLiveSink(sink: ((output: SessionReadOutput) => boolean) | undefined): void {
    this.sink = sink;
  }

  offer(output: SessionReadOutput): void {
    if (this.sink && this.waiting && this.sink(output)) {
      this.accepted += 1;
      return;
    }
    if (this.sink) this.refused += 1;
    this.push(output);
  }
}

let server: TransportServer;
beforeAll(async () => {
  server = await startTransportServer();
});
afterEach(async () => {
  server.read.close();
  await server.idle();
  expect(server.thrown).toEqual([]);
});
afterAll(async () => {
  await server.stop();
});

function record(seqNum: number, body = `r${seqNum}`): SequencedRecord {
  return { seqNum, timestamp: BigInt(1000 + seqNum), headers: [], body: new Uint8Array(Buffer.from(body)) };
}

const live = (seqNum: number, body?: string): SessionReadOutput => ({
  kind: 'batch',
  records: [record(seqNum, body)],
  tail: { seqNum: seqNum + 1, timestamp: BigInt(1000 + seqNum) },
});

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('pushed and pulled outputs together', () => {
  it('keep their order and the SSE ids cumulative', async () => {
    const session = (server.read = new PushingReadSession());
    const call = openDuplex(server.baseUrl, {
      method: 'GET',
      path: '/read',
      headers: { accept: 'text/event-stream' },
      protocol: 'h1',
    });
    call.end();
    await call.response;
    await until('the session waits', () => session.waiting);
    session.offer(live(0, 'a'));
    session.offer(live(1, 'b')); // two pushes in one turn: one deferred flush writes both
    await turn();
    session.push({ kind: 'heartbeat', tail: { seqNum: 2, timestamp: 1001n } });
    session.offer(live(2, 'c')); // queued behind the heartbeat: pulled
    await until('the session waits again', () => session.waiting);
    session.offer(live(3, 'd'));
    await turn();
    session.push(undefined);
    const text = (await call.rest()).toString();
    expect(session.accepted).toBe(3);
    expect(text).toBe(
      'event: batch\nid: 0,1,9\ndata: {"records":[{"seq_num":0,"timestamp":1000,"body":"a"}],"tail":{"seq_num":1,"timestamp":1000}}\n\n' +
        'event: batch\nid: 1,2,18\ndata: {"records":[{"seq_num":1,"timestamp":1001,"body":"b"}],"tail":{"seq_num":2,"timestamp":1001}}\n\n' +
        'event: ping\ndata: {"timestamp":1700000000000,"tail":{"seq_num":2,"timestamp":1001}}\n\n' +
        'event: batch\nid: 2,3,27\ndata: {"records":[{"seq_num":2,"timestamp":1002,"body":"c"}],"tail":{"seq_num":3,"timestamp":1002}}\n\n' +
        'event: batch\nid: 3,4,36\ndata: {"records":[{"seq_num":3,"timestamp":1003,"body":"d"}],"tail":{"seq_num":4,"timestamp":1003}}\n\n' +
        'data: [DONE]\n\n',
    );
  });

  it('a push whose encoding fails ends the session with a terminal frame', async () => {
    const session = (server.read = new PushingReadSession());
    const call = openDuplex(server.baseUrl, {
      method: 'GET',
      path: '/read',
      headers: { 'content-type': 's2s/proto' },
      protocol: 'h2c',
    });
    call.end();
    await call.response;
    await until('the session waits', () => session.waiting);
    const broken = {
      kind: 'batch' as const,
      tail: { seqNum: 1, timestamp: 1000n },
      get records(): SequencedRecord[] {
        throw new Error('cannot encode');
      },
    };
    session.offer(broken);
    const frame = await call.nextFrame();
    expect(frame?.terminal).toBe(true);
    expect(await call.nextFrame()).toBeUndefined();
    await until('the session is closed', () => session.closed);
    await server.idle();
    expect(server.thrown).toHaveLength(1);
    server.thrown.length = 0;
  });
});

/** A paused S2S read response over `protocol`, and the call that ends it. */
async function pausedRead(protocol: Protocol): Promise<{ body: Readable; close: () => void }> {
  if (protocol === 'h1') {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(`${server.baseUrl}/read`, { headers: { 'content-type': 's2s/proto' } }, resolve);
      req.on('error', reject);
      req.end();
    });
    res.pause();
    return { body: res, close: () => res.destroy() };
  }
  const client = http2.connect(server.baseUrl);
  const stream = client.request({ ':path': '/read', 'content-type': 's2s/proto' });
  stream.end();
  await new Promise((resolve) => stream.once('response', resolve));
  stream.pause();
  return {
    body: stream,
    close: () => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      client.close();
    },
  };
}

describe.each<Protocol>(['h1', 'h2c'])('a client that stops reading, over %s', (protocol) => {
  it('bounds what the push path takes; every output still arrives once, in order', async () => {
    const session = (server.read = new PushingReadSession());
    const { body, close } = await pausedRead(protocol);
    await until('the session waits', () => session.waiting);
    const batchBytes = 64 * 1024;
    const offered = 480; // 30 MiB
    const payload = 'z'.repeat(batchBytes);
    for (let i = 0; i < offered; i++) {
      session.offer(live(i, payload));
      await turn();
    }
    // What the transport took (pushed, or pulled once the session waits on the client): socket
    // and stream buffers hold a few MiB at most; without the bound all 30 MiB would be taken.
    let taken = -1;
    while (session.accepted + session.pulled !== taken) {
      taken = session.accepted + session.pulled;
      await new Promise<void>((resolve) => setTimeout(resolve, 200));
    }
    expect(taken * batchBytes).toBeLessThan(12 * 1024 * 1024);
    expect(session.accepted).toBeGreaterThan(0);
    expect(session.refused).toBeGreaterThan(0);

    await readRecordsUntil(body, 0, offered, (_, bytes) => expect(bytes.length).toBe(batchBytes));
    close();
    await until('the read session is closed', () => session.closed);
  });
});
