/**
 * Black-box append behaviour (lite-internals 5.3, 5.5; api.md 6, 7) over HTTP/1.1 and h2c.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttp2Sessions, type Protocol } from '../../support/http.js';
import { startServer, type TestServer } from '../../support/server.js';
import { b64, bodies, expectError, newBasin, parseJson, trimBody, uniqueStream, type Client } from './support.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  closeHttp2Sessions();
  await server.stop();
});

describe.each<Protocol>(['h1', 'h2c'])('append over %s', (protocol) => {
  let c: Client;
  beforeAll(async () => {
    c = await newBasin(server.baseUrl, protocol, { create_stream_on_append: true });
  });

  it('appends a batch atomically and acks start, end and tail', async () => {
    const s = uniqueStream();
    const ack = await c.appendOk(s, { records: [{ headers: [['k', 'v']], body: 'hello' }, { body: 'world' }, {}] });
    expect(ack.start.seq_num).toBe(0);
    expect(ack.end.seq_num).toBe(3);
    expect(ack.tail).toEqual(ack.end);
    expect(typeof ack.start.timestamp).toBe('number');
    expect(ack.end.timestamp).toBeGreaterThanOrEqual(ack.start.timestamp);
    expect(await c.tailOk(s)).toEqual(ack.end);
    const read = await c.readOk(s, 'seq_num=0');
    expect(read).toEqual({
      records: [
        { seq_num: 0, timestamp: ack.start.timestamp, headers: [['k', 'v']], body: 'hello' },
        { seq_num: 1, timestamp: expect.any(Number), body: 'world' },
        { seq_num: 2, timestamp: expect.any(Number) },
      ],
    });
  });

  it('match_seq_num: matching appends succeed, a stale one gets 412 {"seq_num_mismatch": next}', async () => {
    const s = uniqueStream();
    expect((await c.appendOk(s, { records: [{ body: 'a' }], match_seq_num: 0 })).start.seq_num).toBe(0);
    expect((await c.appendOk(s, { records: [{ body: 'b' }], match_seq_num: 1 })).start.seq_num).toBe(1);
    const stale = await c.append(s, { records: [{ body: 'c' }], match_seq_num: 0 });
    expect(stale.status).toBe(412);
    expect(stale.text).toBe('{"seq_num_mismatch":2}');
    const huge = await c.append(s, { records: [{ body: 'c' }], match_seq_num: 18446744073709551615n });
    expect(huge.status).toBe(412);
    expect(huge.json()).toEqual({ seq_num_mismatch: 2 });
    expect((await c.tailOk(s)).seq_num).toBe(2);
  });

  it('fencing: a fence command sets the token, the old token gets 412 with the current one', async () => {
    const s = uniqueStream();
    await c.appendOk(s, { records: [{ body: 'seed' }], fencing_token: '' });
    const fresh = await c.append(uniqueStream(), { records: [{ body: 'x' }], fencing_token: 'x' });
    expect(fresh.status).toBe(412);
    expect(fresh.text).toBe('{"fencing_token_mismatch":""}');
    await c.appendOk(s, { records: [{ headers: [['', 'fence']], body: 'updated-token' }], match_seq_num: 1 });
    const old = await c.append(s, { records: [{ body: 'late' }], fencing_token: '' });
    expect(old.status).toBe(412);
    expect(old.json()).toEqual({ fencing_token_mismatch: 'updated-token' });
    // Fencing is checked before match_seq_num.
    const both = await c.append(s, { records: [{ body: 'late' }], fencing_token: 'nope', match_seq_num: 99 });
    expect(both.json()).toEqual({ fencing_token_mismatch: 'updated-token' });
    const ok = await c.appendOk(s, { records: [{ body: 'fenced' }], fencing_token: 'updated-token' });
    expect(ok.start.seq_num).toBe(2);
    // The fence record itself is rendered like any record.
    const read = await c.readOk(s, 'seq_num=1&count=1');
    expect(read.records[0]).toMatchObject({ seq_num: 1, headers: [['', 'fence']], body: 'updated-token' });
  });

  it('timestamps: client-require refuses a missing timestamp (422) and writes nothing', async () => {
    const s = uniqueStream();
    await c.createStream(s, { timestamping: { mode: 'client-require' } });
    expectError(await c.append(s, { records: [{ timestamp: 5, body: 'a' }, { body: 'b' }] }), 422, 'invalid');
    expect((await c.tailOk(s)).seq_num).toBe(0);
    const ack = await c.appendOk(s, { records: [{ timestamp: 123, body: 'a' }] });
    expect(ack.start).toEqual({ seq_num: 0, timestamp: 123 });
  });

  it('timestamps: future client times are capped to now, earlier ones clamped to the running maximum', async () => {
    const s = uniqueStream();
    const before = Date.now();
    const ack = await c.appendOk(s, {
      records: [
        { timestamp: 2000, body: 'a' },
        { timestamp: 1000, body: 'b' },
        { timestamp: 4e15, body: 'c' },
      ],
    });
    const read = await c.readOk(s, 'seq_num=0');
    const ts = read.records.map((r: { timestamp: number }) => r.timestamp);
    expect(ts.slice(0, 2)).toEqual([2000, 2000]);
    expect(ts[2]).toBeGreaterThanOrEqual(before - 60_000); // capped to the server's now, not 4e15
    expect(ts[2]).toBeLessThan(4e15);
    expect(ack.end.timestamp).toBe(ts[2]);
    const next = await c.appendOk(s, { records: [{ timestamp: 10, body: 'd' }] });
    expect(next.start.timestamp).toBe(ts[2]); // clamp carries across batches
  });

  it('timestamps: arrival mode ignores client timestamps', async () => {
    const s = uniqueStream();
    await c.createStream(s, { timestamping: { mode: 'arrival' } });
    const ack = await c.appendOk(s, { records: [{ timestamp: 7, body: 'a' }] });
    expect(ack.start.timestamp).toBeGreaterThan(1_000_000_000_000);
  });

  it('u64 timestamps beyond 2^53 round-trip exactly on an uncapped stream', async () => {
    const s = uniqueStream();
    await c.createStream(s, { timestamping: { uncapped: true } });
    const big = 18446744073709551000n;
    const ack = await c.appendOk(s, { records: [{ timestamp: 9007199254740993n, body: 'a' }, { timestamp: big }] });
    expect(ack.start.timestamp).toBe(9007199254740993n);
    expect(ack.end.timestamp).toBe(big);
    const read = await c.read(s, 'seq_num=0');
    expect(read.text).toContain('"timestamp":9007199254740993');
    expect(read.text).toContain('"timestamp":18446744073709551000');
    expect((await c.tailOk(s)).timestamp).toBe(big);
  });

  it('trim: records below the trim point are no longer read; the tail is unaffected', async () => {
    const s = uniqueStream();
    await c.appendOk(s, { records: [{ body: '0' }, { body: '1' }, { body: '2' }, { body: '3' }] });
    const trim = await c.appendOk(
      s,
      { records: [{ headers: [['', 'dHJpbQ==']], body: trimBody(2n) }] },
      {
        's2-format': 'base64',
      },
    );
    expect(trim.start.seq_num).toBe(4);
    expect((await c.tailOk(s)).seq_num).toBe(5);
    const read = await c.readOk(s, 'seq_num=0', { 's2-format': 'base64' });
    expect(read.records[0].seq_num).toBe(2);
    expect(read.records.at(-1)).toMatchObject({ seq_num: 4, headers: [['', 'dHJpbQ==']], body: trimBody(2n) });
    // A raw read renders the command header as ("", "trim").
    const raw = await c.readOk(s, 'seq_num=4');
    expect(raw.records[0].headers).toEqual([['', 'trim']]);
  });

  it('S2-Format base64 round-trips binary bytes; raw renders invalid UTF-8 lossily', async () => {
    const s = uniqueStream();
    const bin = Buffer.from([0, 0xff, 0xfe, 0x41]);
    await c.appendOk(
      s,
      { records: [{ headers: [[b64('h'), b64(bin)]], body: b64(bin) }] },
      { 's2-format': 'json-binsafe' },
    );
    const read = await c.readOk(s, 'seq_num=0', { 's2-format': 'base64' });
    expect(read.records[0]).toMatchObject({ headers: [[b64('h'), b64(bin)]], body: b64(bin) });
    const raw = await c.readOk(s, 'seq_num=0');
    expect(raw.records[0].body).toBe('\u0000\ufffd\ufffdA');
  });

  it('concurrent appends to one stream all land, with contiguous distinct ranges', async () => {
    const s = uniqueStream();
    const acks = await Promise.all(
      Array.from({ length: 20 }, (_, i) => c.appendOk(s, { records: [{ body: `r${i}` }] })),
    );
    const starts = acks.map((a) => a.start.seq_num).sort((a, b) => a - b);
    expect(starts).toEqual(Array.from({ length: 20 }, (_, i) => i));
    for (const ack of acks) expect(ack.tail.seq_num).toBeGreaterThanOrEqual(ack.end.seq_num);
    const read = await c.readOk(s, 'seq_num=0');
    expect(new Set(bodies(read)).size).toBe(20);
  });

  it('a reconfiguration between appends applies to the next one, order intact', async () => {
    const s = uniqueStream();
    for (let i = 0; i < 10; i++) {
      if (i === 5) {
        const res = await c.req(
          'PATCH',
          `/v1/streams/${s}`,
          { 'content-type': 'application/json' },
          '{"timestamping":{"mode":"client-require"}}',
        );
        expect(res.status, res.text).toBe(200);
        expectError(await c.append(s, { records: [{ body: 'no timestamp' }] }), 422, 'invalid');
      }
      await c.appendOk(s, { records: [{ body: `r${i}`, timestamp: 1000 + i }] });
    }
    expect(bodies(await c.readOk(s, 'seq_num=0'))).toEqual(Array.from({ length: 10 }, (_, i) => `r${i}`));
  });

  it('appends after stream deletion get 409 stream_deletion_pending', async () => {
    const s = uniqueStream();
    await c.appendOk(s, { records: [{ body: 'a' }] });
    await c.deleteStream(s);
    expectError(await c.append(s, { records: [{ body: 'b' }] }), 409, 'stream_deletion_pending');
    expectError(await c.read(s, 'seq_num=0'), 409, 'stream_deletion_pending');
    expectError(await c.tail(s), 409, 'stream_deletion_pending');
  });

  it('answers an ack as protobuf when Accept asks for it (JSON request)', async () => {
    const s = uniqueStream();
    const res = await c.append(s, { records: [{ body: 'a' }] }, { accept: 'application/x-protobuf, application/json' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/protobuf');
    const { decodePb, pb } = await import('./support.js');
    expect(decodePb(pb.AppendAck, res.body)).toMatchObject({ start: {}, end: { seqNum: '1' }, tail: { seqNum: '1' } });
    const json = await c.append(s, { records: [{ body: 'b' }] }, { accept: '*/*' });
    expect(parseJson(json.text).start.seq_num).toBe(1);
  });
});
