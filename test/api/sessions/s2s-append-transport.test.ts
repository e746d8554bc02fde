/**
 * S2S append sessions at the frame level (api.md 7.4, 9), against a fake engine so every failure
 * mode of the transport can be provoked: pipelining and full duplex over HTTP/1.1 and h2c, frames
 * split at every byte, every malformed input, poisoning, input-side backpressure, the bound on
 * un-acked inputs, and clients that vanish.
 */
import zlib from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import zstd from 'zstd-napi';
import { encodeAppendInput } from '../../../src/api/codec/proto-client.js';
import { s2sFrameBytesMax } from '../../../src/limits.js';
import type { Protocol } from '../../support/http.js';
import {
  ackOf,
  inputFrame,
  openDuplex,
  rawFrame,
  records,
  terminalOf,
  type Duplex,
  expectStreamingResponse,
} from './duplex.js';
import { FakeStream } from './fake-engine.js';
import { startTransportServer, type TransportServer } from './transport-server.js';
import { until } from '../../support/until.js';

let server: TransportServer;
beforeAll(async () => {
  server = await startTransportServer();
});
afterEach(async () => {
  await server.idle();
  server.stream = new FakeStream();
  server.inflightInputsMax = 1000;
});
afterAll(async () => {
  await server.stop();
});

/** Lets the server run until it has nothing left to do right now. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

function append(protocol: Protocol, headers: Record<string, string> = {}): Duplex {
  return openDuplex(server.baseUrl, {
    method: 'POST',
    path: '/append',
    headers: { 'content-type': 's2s/proto', ...headers },
    protocol,
  });
}

function bodies(): string[] {
  return server.stream.records.map((r) => Buffer.from(r.body).toString());
}

describe.each<Protocol>(['h1', 'h2c'])('S2S append transport over %s', (protocol) => {
  it('answers 200 with the streaming headers before any input, and acks pipelined inputs in order', async () => {
    const call = append(protocol);
    const response = await call.response;
    expectStreamingResponse(response, 's2s/proto');
    await call.write(
      Buffer.concat([inputFrame(records('a')), inputFrame(records('b', 'c')), inputFrame(records('d'))]),
    );
    call.end();
    const acks = [ackOf(await call.nextFrame()), ackOf(await call.nextFrame()), ackOf(await call.nextFrame())];
    expect(acks.map((a) => [a.start.seqNum, a.end.seqNum])).toEqual([
      [0, 1],
      [1, 3],
      [3, 4],
    ]);
    expect(await call.nextFrame()).toBeUndefined();
    expect(bodies()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('is full duplex: each ack arrives while the request body is still open', async () => {
    const call = append(protocol);
    for (let i = 0; i < 5; i++) {
      await call.write(inputFrame(records(`r${i}`)));
      const ack = ackOf(await call.nextFrame());
      expect(ack.start.seqNum).toBe(i);
    }
    call.end();
    expect(await call.nextFrame()).toBeUndefined();
    expect(bodies()).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
  });

  it('writes no ack before durability, then every ack that became durable at once, in order', async () => {
    server.stream.durability.close();
    const call = append(protocol);
    await call.response;
    await call.write(Buffer.concat(['a', 'b', 'c', 'd'].map((body) => inputFrame(records(body)))));
    await until('all four inputs submitted', () => server.stream.submitted === 4);
    await settle();
    expect(server.stream.records).toEqual([]);
    server.stream.durability.open();
    const acks = [];
    for (let i = 0; i < 4; i++) acks.push(ackOf(await call.nextFrame()).start.seqNum);
    expect(acks).toEqual([0, 1, 2, 3]);
    await call.write(inputFrame(records('e')));
    expect(ackOf(await call.nextFrame()).start.seqNum).toBe(4);
    call.end();
    expect(await call.nextFrame()).toBeUndefined();
    expect(bodies()).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('answers zero inputs with an empty 200', async () => {
    const call = append(protocol);
    call.end();
    expect((await call.response).status).toBe(200);
    expect((await call.rest()).length).toBe(0);
  });

  it('decodes frames split at every byte boundary', async () => {
    const bytes = Buffer.concat([
      inputFrame(records('split')),
      inputFrame(records('at', 'every')),
      inputFrame(records('byte')),
    ]);
    const call = append(protocol);
    for (let i = 0; i < bytes.length; i++) await call.write(bytes.subarray(i, i + 1));
    call.end();
    const acks = [ackOf(await call.nextFrame()), ackOf(await call.nextFrame()), ackOf(await call.nextFrame())];
    expect(acks.map((a) => a.end.seqNum)).toEqual([1, 3, 4]);
    expect(await call.nextFrame()).toBeUndefined();
  });

  it('accepts zstd and gzip compressed input frames, and ignores the reconnect and reserved bits', async () => {
    const big = 'x'.repeat(5000);
    const payload = encodeAppendInput(records(big));
    const call = append(protocol);
    await call.write(rawFrame(zstd.compress(payload), 0x20));
    await call.write(rawFrame(zlib.gzipSync(payload), 0x40));
    await call.write(rawFrame(encodeAppendInput(records('flags')), 0x1f));
    call.end();
    for (let i = 0; i < 3; i++) ackOf(await call.nextFrame());
    expect(await call.nextFrame()).toBeUndefined();
    expect(bodies()).toEqual([big, big, 'flags']);
  });

  const malformed: [string, Uint8Array, string][] = [
    ['an empty frame (length 0)', Buffer.from([0, 0, 0]), 'empty frame payload'],
    ['a frame over the size cap', Buffer.from([0x20, 0, 1, 0]), 'exceeds the maximum'],
    ['unknown compression bits', rawFrame(encodeAppendInput(records('x')), 0x60), 'unknown compression algorithm'],
    ['a terminal frame from the client', rawFrame(Buffer.from([1, 0x90]), 0x80), 'Unexpected terminal frame as input'],
    ['invalid protobuf inside a frame', rawFrame(Buffer.from([0x0a, 0x05, 0x01])), 'Failed to decode S2S frame'],
    ['garbage declared as zstd', rawFrame(Buffer.from('not zstd at all'), 0x20), 'zstd'],
    ['garbage declared as gzip', rawFrame(Buffer.from('not gzip at all'), 0x40), 'gzip'],
  ];
  it.each(malformed)(
    'ends with a terminal 400 bad_frame on %s, after acking earlier inputs',
    async (_, bad, message) => {
      const call = append(protocol);
      await call.write(Buffer.concat([inputFrame(records('ok1')), inputFrame(records('ok2'))]));
      await call.write(bad);
      // More valid input after the bad frame is never applied.
      await call.write(inputFrame(records('after')));
      expect(ackOf(await call.nextFrame()).end.seqNum).toBe(1);
      expect(ackOf(await call.nextFrame()).end.seqNum).toBe(2);
      const terminal = terminalOf(await call.nextFrame());
      expect(terminal.status).toBe(400);
      expect(terminal.body.code).toBe('bad_frame');
      expect(terminal.body.message).toContain('Failed to decode S2S frame');
      expect(terminal.body.message).toContain(message);
      expect(await call.nextFrame()).toBeUndefined();
      call.end();
      expect(bodies()).toEqual(['ok1', 'ok2']);
    },
  );

  it('fails a body that ends inside a frame with bad_frame (truncated)', async () => {
    const frame = inputFrame(records('truncated'));
    const call = append(protocol);
    await call.write(inputFrame(records('whole')));
    await call.write(frame.subarray(0, frame.length - 2));
    call.end();
    expect(ackOf(await call.nextFrame()).end.seqNum).toBe(1);
    const terminal = terminalOf(await call.nextFrame());
    expect(terminal).toMatchObject({ status: 400, body: { code: 'bad_frame' } });
    expect(await call.nextFrame()).toBeUndefined();
    expect(bodies()).toEqual(['whole']);
  });

  it('fails an oversize length at once, without waiting for its payload', async () => {
    const call = append(protocol);
    const length = s2sFrameBytesMax + 1;
    await call.write(Buffer.from([length >>> 16, (length >>> 8) & 0xff, length & 0xff]));
    expect(terminalOf(await call.nextFrame())).toMatchObject({ status: 400, body: { code: 'bad_frame' } });
    expect(await call.nextFrame()).toBeUndefined();
    call.end();
  });

  it('ends with a terminal 422 for an input that fails validation, after earlier acks', async () => {
    const call = append(protocol);
    await call.write(
      Buffer.concat([inputFrame(records('first')), inputFrame({ records: [] }), inputFrame(records('later'))]),
    );
    call.end();
    expect(ackOf(await call.nextFrame()).end.seqNum).toBe(1);
    expect(terminalOf(await call.nextFrame())).toEqual({
      status: 422,
      body: { code: 'invalid', message: 'record batch must not be empty' },
    });
    expect(await call.nextFrame()).toBeUndefined();
    expect(bodies()).toEqual(['first']);
  });

  it('poisons the session at a failed condition: the 412 body is the unary one and later inputs are not applied', async () => {
    const call = append(protocol);
    await call.write(
      Buffer.concat([
        inputFrame({ ...records('first'), matchSeqNum: 0 }),
        inputFrame({ ...records('mismatch'), matchSeqNum: 5 }),
        inputFrame({ ...records('after-error'), matchSeqNum: 1 }),
      ]),
    );
    call.end();
    expect(ackOf(await call.nextFrame()).end.seqNum).toBe(1);
    const terminal = terminalOf(await call.nextFrame());
    expect(terminal).toEqual({ status: 412, body: { seq_num_mismatch: 1 } });
    expect(await call.nextFrame()).toBeUndefined();
    expect(bodies()).toEqual(['first']);
  });

  it('does not read the next input before the previous one was admitted', async () => {
    const stream = server.stream;
    stream.admission.close();
    const call = append(protocol);
    await call.write(inputFrame(records('r0')));
    await until('an append waits for admission', () => stream.admission.waiting === 1);
    // Everything below reaches the server's socket, but it must not be decoded and submitted yet.
    for (let i = 1; i < 5; i++) await call.write(inputFrame(records(`r${i}`)));
    await settle();
    expect(stream.submitted).toBe(1);
    stream.admission.open();
    call.end();
    for (let i = 0; i < 5; i++) expect(ackOf(await call.nextFrame()).start.seqNum).toBe(i);
    expect(await call.nextFrame()).toBeUndefined();
  });

  it('stops reading once the session has the maximum of un-acked inputs', async () => {
    server.inflightInputsMax = 3;
    const stream = server.stream;
    stream.durability.close();
    const call = append(protocol);
    for (let i = 0; i < 8; i++) await call.write(inputFrame(records(`r${i}`)));
    await until('three appends are submitted', () => stream.submitted === 3);
    await settle();
    expect(stream.submitted).toBe(3);
    stream.durability.open();
    call.end();
    for (let i = 0; i < 8; i++) expect(ackOf(await call.nextFrame()).start.seqNum).toBe(i);
    expect(await call.nextFrame()).toBeUndefined();
    expect(stream.submitted).toBe(8);
  });

  it('survives a client that vanishes mid-session, mid-frame and while inputs await durability', async () => {
    const stream = server.stream;
    stream.durability.close();
    const call = append(protocol);
    await call.write(inputFrame(records('durable-anyway')));
    await until('one append is submitted', () => stream.submitted === 1);
    await call.write(inputFrame(records('half')).subarray(0, 5));
    call.destroy();
    await until('the append session is closed', () => stream.sessionsClosed === 1);
    stream.durability.open();
    await server.idle();
    // What was submitted still becomes durable; the partial frame never applies.
    expect(bodies()).toEqual(['durable-anyway']);
    // The server keeps serving.
    const next = append(protocol);
    await next.write(inputFrame(records('next')));
    next.end();
    expect(ackOf(await next.nextFrame()).start.seqNum).toBe(1);
    expect(await next.nextFrame()).toBeUndefined();
  });

  it('releases a session whose client vanishes while its input waits for admission', async () => {
    const stream = server.stream;
    stream.admission.close();
    const call = append(protocol);
    await call.write(inputFrame(records('never')));
    await until('an append waits for admission', () => stream.admission.waiting === 1);
    call.destroy();
    await until('the append session is closed', () => stream.sessionsClosed === 1);
    await server.idle();
    expect(stream.admission.waiting).toBe(0);
    stream.admission.open();
    expect(bodies()).toEqual([]);
  });
});
