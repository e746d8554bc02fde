/**
 * S2S append and read sessions against the real server and engine, over full-duplex HTTP/1.1 and
 * h2c (api.md 7.4, 8.6, 9): ordered durable acks, terminal frames with the unary error bodies,
 * poisoning, opening errors as JSON, catch-up then follow at exactly the durable tail, limits,
 * compression, and reads during stream deletion.
 */
import zstd from 'zstd-napi';
import { describe, expect, it } from 'vitest';
import { encodeAppendInput } from '../../../src/api/codec/proto-client.js';
import { request, type Protocol } from '../../support/http.js';
import { ackOf, batchOf, inputFrame, rawFrame, records, terminalOf } from './duplex.js';
import {
  appendSession,
  appendUnary,
  createBasin,
  readAllBodies,
  readSession,
  tailOf,
  sessionServer,
} from './support.js';

const setup = sessionServer('s2s');
const target = setup.target;

const text = (body: Uint8Array) => Buffer.from(body).toString();

describe.each<Protocol>(['h1', 'h2c'])('S2S append session over %s', (protocol) => {
  it('pipelines 32 inputs: contiguous acks in order, tail >= end and monotone, read order = input order', async () => {
    const t = target();
    const call = appendSession(t, protocol);
    const frames = Array.from({ length: 32 }, (_, i) =>
      inputFrame(records(...Array.from({ length: (i % 3) + 1 }, (_, j) => `${i}.${j}`))),
    );
    await call.write(Buffer.concat(frames));
    call.end();
    let expectedStart = 0;
    let lastTail = 0;
    for (let i = 0; i < 32; i++) {
      const ack = ackOf(await call.nextFrame());
      expect(ack.start.seqNum).toBe(expectedStart);
      expect(ack.end.seqNum - ack.start.seqNum).toBe((i % 3) + 1);
      expect(ack.tail.seqNum).toBeGreaterThanOrEqual(ack.end.seqNum);
      expect(ack.tail.seqNum).toBeGreaterThanOrEqual(lastTail);
      lastTail = ack.tail.seqNum;
      expectedStart = ack.end.seqNum;
    }
    expect(await call.nextFrame()).toBeUndefined();
    const expected = Array.from({ length: 32 }, (_, i) =>
      Array.from({ length: (i % 3) + 1 }, (_, j) => `${i}.${j}`),
    ).flat();
    expect(await readAllBodies(t)).toEqual(expected);
  });

  it('answers zero inputs with an empty 200 (the stream is auto-created, tail 0)', async () => {
    const t = target();
    const call = appendSession(t, protocol);
    call.end();
    const response = await call.response;
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('s2s/proto');
    expect((await call.rest()).length).toBe(0);
    expect(await tailOf(t)).toBe(0);
  });

  it('answers opening errors with ordinary JSON responses', async () => {
    const noBasin = appendSession({ ...target(), basin: 'no-such-basin-here' }, protocol);
    expect(await noBasin.response).toMatchObject({ status: 404, headers: { 'content-type': 'application/json' } });
    expect(JSON.parse((await noBasin.rest()).toString())).toMatchObject({ code: 'basin_not_found' });
    noBasin.end();

    const strict = await createBasin(setup.server.baseUrl, { create_stream_on_append: false });
    const noStream = appendSession({ ...target(), basin: strict }, protocol);
    expect((await noStream.response).status).toBe(404);
    expect(JSON.parse((await noStream.rest()).toString())).toMatchObject({ code: 'stream_not_found' });
    noStream.end();

    const badHeader = appendSession({ ...target(), basin: 'UPPER' }, protocol);
    expect((await badHeader.response).status).toBe(400);
    expect(JSON.parse((await badHeader.rest()).toString())).toMatchObject({ code: 'bad_header' });
    badHeader.end();
  });

  it('stops at a match_seq_num failure: acks before it, a 412 terminal, and later inputs are not applied', async () => {
    const t = target();
    const call = appendSession(t, protocol);
    await call.write(
      Buffer.concat([
        inputFrame({ ...records('first'), matchSeqNum: 0 }),
        inputFrame({ ...records('mismatch'), matchSeqNum: 0 }),
        inputFrame({ ...records('after-error'), matchSeqNum: 1 }),
      ]),
    );
    call.end();
    expect(ackOf(await call.nextFrame()).end.seqNum).toBe(1);
    expect(terminalOf(await call.nextFrame())).toEqual({ status: 412, body: { seq_num_mismatch: 1 } });
    expect(await call.nextFrame()).toBeUndefined();
    expect(await tailOf(t)).toBe(1);
    expect(await readAllBodies(t)).toEqual(['first']);
  });

  it('reports a fencing token mismatch with the 412 body of the unary endpoint', async () => {
    const t = target();
    const call = appendSession(t, protocol);
    await call.write(
      Buffer.concat([
        inputFrame({ ...records('a'), fencingToken: '' }),
        inputFrame({ ...records('b'), fencingToken: 'x' }),
      ]),
    );
    call.end();
    expect(ackOf(await call.nextFrame()).end.seqNum).toBe(1);
    expect(terminalOf(await call.nextFrame())).toEqual({ status: 412, body: { fencing_token_mismatch: '' } });
    expect(await call.nextFrame()).toBeUndefined();
  });

  it.each([
    ['an empty batch', { records: [] }, 'record batch must not be empty'],
    ['an over-long fencing token', { ...records('x'), fencingToken: 'f'.repeat(37) }, 'fencing token'],
    ['1001 records', records(...Array.from({ length: 1001 }, () => 'r')), '1000 records'],
  ])('ends with a terminal 422 for %s, after the acks of earlier inputs', async (_, bad, message) => {
    const t = target();
    const call = appendSession(t, protocol);
    await call.write(Buffer.concat([inputFrame(records('ok')), inputFrame(bad), inputFrame(records('never'))]));
    call.end();
    expect(ackOf(await call.nextFrame()).end.seqNum).toBe(1);
    const terminal = terminalOf(await call.nextFrame());
    expect(terminal.status).toBe(422);
    expect(terminal.body.code).toBe('invalid');
    expect(terminal.body.message).toContain(message);
    expect(await call.nextFrame()).toBeUndefined();
    expect(await readAllBodies(t)).toEqual(['ok']);
  });

  it('ends with a terminal 400 bad_frame for undecodable protobuf, after earlier acks', async () => {
    const t = target();
    const call = appendSession(t, protocol);
    await call.write(Buffer.concat([inputFrame(records('ok')), rawFrame(Buffer.from([0xff, 0xff, 0xff]))]));
    expect(ackOf(await call.nextFrame()).end.seqNum).toBe(1);
    expect(terminalOf(await call.nextFrame())).toMatchObject({ status: 400, body: { code: 'bad_frame' } });
    expect(await call.nextFrame()).toBeUndefined();
    call.end();
    expect(await readAllBodies(t)).toEqual(['ok']);
  });

  it('takes large batches (50 x 100 KB records, some zstd-compressed) and acks them all', async () => {
    const t = target();
    const call = appendSession(t, protocol);
    const body = (i: number) => `${i}`.padEnd(100_000, 'abcdefgh');
    for (let i = 0; i < 50; i++) {
      const payload = encodeAppendInput(records(body(i)));
      await call.write(i % 2 === 0 ? rawFrame(payload) : rawFrame(zstd.compress(payload), 0x20));
    }
    call.end();
    for (let i = 0; i < 50; i++) expect(ackOf(await call.nextFrame()).start.seqNum).toBe(i);
    expect(await call.nextFrame()).toBeUndefined();
    expect(await tailOf(t)).toBe(50);
    expect((await readAllBodies(t)).map((b, i) => b === body(i))).toEqual(Array(50).fill(true));
  });
});

describe.each<Protocol>(['h1', 'h2c'])('S2S read session over %s', (protocol) => {
  it('catches up without tail, sends a heartbeat on entering follow, then live batches with tail', async () => {
    const t = target();
    await appendUnary(t, 'a', 'b', 'c');
    const call = readSession(t, protocol, 'seq_num=0');
    const response = await call.response;
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-cache, no-transform');
    const catchUp = batchOf(await call.nextFrame());
    expect(catchUp.records.map((r) => text(r.body))).toEqual(['a', 'b', 'c']);
    expect(catchUp.tail).toBeUndefined();
    const heartbeat = batchOf(await call.nextFrame());
    expect(heartbeat.records).toEqual([]);
    expect(heartbeat.tail?.seqNum).toBe(3);
    await appendUnary(t, 'd', 'e');
    const live = batchOf(await call.nextFrame());
    expect(live.records.map((r) => [r.seqNum, text(r.body)])).toEqual([
      [3, 'd'],
      [4, 'e'],
    ]);
    expect(live.tail?.seqNum).toBe(5);
    call.destroy();
  });

  it('applies count across catch-up and follow, truncating a live batch, then ends the body', async () => {
    const t = target();
    await appendUnary(t, 'a', 'b');
    const call = readSession(t, protocol, 'seq_num=0&count=3&wait=60');
    expect(batchOf(await call.nextFrame()).records).toHaveLength(2);
    expect(batchOf(await call.nextFrame()).records).toHaveLength(0); // heartbeat
    await appendUnary(t, 'c', 'd', 'e');
    const live = batchOf(await call.nextFrame());
    expect(live.records.map((r) => text(r.body))).toEqual(['c']);
    expect(live.tail?.seqNum).toBe(5);
    expect(await call.nextFrame()).toBeUndefined();
  });

  it('splits a long catch-up into batches of at most 1000 records and honours bytes and until', async () => {
    const t = target();
    const append = appendSession(t, protocol);
    for (let i = 0; i < 3; i++)
      await append.write(inputFrame(records(...Array.from({ length: 1000 }, (_, j) => `${i * 1000 + j}`))));
    append.end();
    for (let i = 0; i < 3; i++) ackOf(await append.nextFrame());
    expect(await append.nextFrame()).toBeUndefined();

    const all = readSession(t, protocol, 'seq_num=0&count=2500');
    const sizes: number[] = [];
    let next = 0;
    for (let frame = await all.nextFrame(); frame; frame = await all.nextFrame()) {
      const batch = batchOf(frame);
      for (const r of batch.records) expect(r.seqNum).toBe(next++);
      sizes.push(batch.records.length);
    }
    expect(sizes).toEqual([1000, 1000, 500]);

    // Metered size of a record "NNNN" (4 bytes, no headers) is 12: 10 of them fit in 125 bytes.
    const bytes = readSession(t, protocol, 'seq_num=1000&bytes=125');
    expect(batchOf(await bytes.nextFrame()).records.map((r) => text(r.body))).toEqual(
      Array.from({ length: 10 }, (_, j) => `${1000 + j}`),
    );
    expect(await bytes.nextFrame()).toBeUndefined();
  });

  it('answers an unsatisfiable start with an ordinary 416 JSON response', async () => {
    const t = target();
    await appendUnary(t, 'a');
    const beyond = readSession(t, protocol, 'seq_num=5');
    expect(await beyond.response).toMatchObject({ status: 416, headers: { 'content-type': 'application/json' } });
    expect(JSON.parse((await beyond.rest()).toString())).toMatchObject({ tail: { seq_num: 1 } });
    const atTail = readSession(t, protocol, 'seq_num=1&count=5');
    expect((await atTail.response).status).toBe(416);
    await atTail.rest();
  });

  it('compresses large ReadBatch messages per Accept-Encoding and leaves small ones alone', async () => {
    const t = target();
    await appendUnary(t, 'q'.repeat(3000));
    await appendUnary(t, 'tiny');
    for (const [acceptEncoding, expected] of [
      ['zstd', 'zstd'],
      ['gzip', 'gzip'],
    ] as const) {
      const call = readSession(t, protocol, 'seq_num=0&count=1', { 'accept-encoding': acceptEncoding });
      const frame = await call.nextFrame();
      expect(frame?.compression).toBe(expected);
      expect(text(batchOf(frame).records[0]!.body)).toBe('q'.repeat(3000));
      expect(await call.nextFrame()).toBeUndefined();
      const small = readSession(t, protocol, 'seq_num=1&count=1', { 'accept-encoding': acceptEncoding });
      expect((await small.nextFrame())?.compression).toBe('none');
      expect(await small.nextFrame()).toBeUndefined();
    }
  });

  it('delivers the terminal trim of a deleted stream, then a terminal 503 (api.md 8.7)', async () => {
    const t = target();
    await appendUnary(t, 'a');
    const call = readSession(t, protocol, 'seq_num=1');
    expect(batchOf(await call.nextFrame()).tail?.seqNum).toBe(1); // heartbeat on entering follow
    const deleted = await request(setup.server.baseUrl, {
      method: 'DELETE',
      path: `/v1/streams/${t.stream}`,
      headers: { 's2-basin': setup.basin },
    });
    expect(deleted.status).toBe(202);
    const trim = batchOf(await call.nextFrame());
    expect(trim.records).toHaveLength(1);
    expect(trim.records[0]!.headers.map(([n, v]) => [text(n), text(v)])).toEqual([['', 'trim']]);
    expect(terminalOf(await call.nextFrame())).toMatchObject({ status: 503, body: { code: 'unavailable' } });
    expect(await call.nextFrame()).toBeUndefined();
  });
});

describe.each<Protocol>(['h1', 'h2c'])('catch-up to follow handover over %s', (protocol) => {
  it('a reader starting at 0 while a producer pipelines sees every record exactly once, in order', async () => {
    const t = target();
    const total = 200 * 5;
    const reader = readSession(t, protocol, `seq_num=0&count=${total}&wait=60`);
    const producer = appendSession(t, protocol);
    const writing = (async () => {
      for (let i = 0; i < 200; i++) {
        await producer.write(inputFrame(records(...Array.from({ length: 5 }, (_, j) => `${i * 5 + j}`))));
      }
      producer.end();
    })();
    let next = 0;
    for (let frame = await reader.nextFrame(); frame; frame = await reader.nextFrame()) {
      for (const r of batchOf(frame).records) {
        expect(r.seqNum).toBe(next);
        expect(text(r.body)).toBe(`${next}`);
        next += 1;
      }
    }
    expect(next).toBe(total);
    await writing;
    for (let i = 0; i < 200; i++) ackOf(await producer.nextFrame());
    expect(await producer.nextFrame()).toBeUndefined();
  });
});
