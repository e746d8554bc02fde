/**
 * Black-box protobuf append and read (api.md 1.7, 4.7) over HTTP/1.1 and h2c: content types,
 * Accept negotiation, exact binary bytes and u64 timestamps beyond 2^53.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttp2Sessions, type Protocol } from '../../support/http.js';
import { startServer, type TestServer } from '../../support/server.js';
import { decodePb, encodePb, expectError, newBasin, parseJson, pb, uniqueStream, type Client } from './support.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  closeHttp2Sessions();
  await server.stop();
});

const u64Max = '18446744073709551615';

describe.each<Protocol>(['h1', 'h2c'])('protobuf over %s', (protocol) => {
  let c: Client;
  beforeAll(async () => {
    c = await newBasin(server.baseUrl, protocol, { create_stream_on_append: true });
  });

  function appendPb(stream: string, input: object, headers: Record<string, string> = {}) {
    return c.req(
      'POST',
      `/v1/streams/${stream}/records`,
      { 'content-type': 'application/protobuf', accept: 'application/protobuf', ...headers },
      encodePb(pb.AppendInput, input),
    );
  }

  async function readPb(stream: string, query: string) {
    const res = await c.read(stream, query, { accept: 'application/protobuf' });
    expect(res.status, res.text).toBe(200);
    expect(res.headers['content-type']).toBe('application/protobuf');
    return decodePb(pb.ReadBatch, res.body);
  }

  it('appends binary records and reads back the exact bytes', async () => {
    const s = uniqueStream();
    const body = Buffer.from([0, 1, 2, 0xff, 0xc3, 0x28]);
    const res = await appendPb(s, {
      records: [{ headers: [{ name: Buffer.from('k'), value: Buffer.from([0xfe]) }], body }, { body: Buffer.alloc(0) }],
      matchSeqNum: 0,
    });
    expect(res.status, res.text).toBe(200);
    expect(res.headers['content-type']).toBe('application/protobuf');
    const ack = decodePb(pb.AppendAck, res.body);
    expect(ack.end.seqNum).toBe('2');
    expect(ack.tail).toEqual(ack.end);
    const batch = await readPb(s, 'seq_num=0');
    expect(batch.records).toHaveLength(2);
    expect(Buffer.compare(batch.records[0].body, body)).toBe(0);
    expect(batch.records[0].headers[0].value).toEqual(Buffer.from([0xfe]));
    expect(batch.records[1].seqNum).toBe('1');
    expect(batch.records[1].body ?? Buffer.alloc(0)).toHaveLength(0);
    expect(batch.tail).toBeUndefined();
  });

  it('accepts application/x-protobuf and answers JSON unless Accept asks for protobuf', async () => {
    const s = uniqueStream();
    const res = await c.req(
      'POST',
      `/v1/streams/${s}/records`,
      { 'content-type': 'application/x-protobuf' },
      encodePb(pb.AppendInput, { records: [{ body: Buffer.from('hi') }] }),
    );
    expect(res.status, res.text).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(parseJson(res.text).end.seq_num).toBe(1);
    expect((await c.readOk(s, 'seq_num=0')).records[0].body).toBe('hi');
  });

  it('u64 timestamps beyond 2^53 round-trip exactly (uncapped stream)', async () => {
    const s = uniqueStream();
    await c.createStream(s, { timestamping: { uncapped: true } });
    const res = await appendPb(s, {
      records: [
        { timestamp: '9007199254740993', body: Buffer.from('a') },
        { timestamp: u64Max, body: Buffer.from('b') },
      ],
    });
    expect(res.status, res.text).toBe(200);
    const ack = decodePb(pb.AppendAck, res.body);
    expect(ack.start.timestamp).toBe('9007199254740993');
    expect(ack.end.timestamp).toBe(u64Max);
    const batch = await readPb(s, 'seq_num=0');
    expect(batch.records.map((r: { timestamp: string }) => r.timestamp)).toEqual(['9007199254740993', u64Max]);
    const json = await c.read(s, 'seq_num=0');
    expect(json.text).toContain(`"timestamp":${u64Max}`);
    expect(json.text).toContain('"timestamp":9007199254740993');
    const tail = await c.tail(s);
    expect(tail.text).toBe(`{"tail":{"seq_num":2,"timestamp":${u64Max}}}`);
    // A timestamp read beyond 2^53 resolves exactly.
    expect((await readPb(s, `timestamp=9007199254740994`)).records.map((r: { seqNum?: string }) => r.seqNum)).toEqual([
      '1',
    ]);
  });

  it('renders command records with an empty header name', async () => {
    const s = uniqueStream();
    const fence = { headers: [{ name: Buffer.alloc(0), value: Buffer.from('fence') }], body: Buffer.from('tok') };
    expect((await appendPb(s, { records: [fence] })).status).toBe(200);
    const batch = await readPb(s, 'seq_num=0');
    // proto3 omits the empty name on the wire; it decodes as empty bytes.
    expect(batch.records[0].headers).toHaveLength(1);
    expect(batch.records[0].headers[0].name ?? Buffer.alloc(0)).toHaveLength(0);
    expect(batch.records[0].headers[0].value).toEqual(Buffer.from('fence'));
    expect(batch.records[0].body).toEqual(Buffer.from('tok'));
    const emptyFence = await appendPb(s, { records: [{ headers: fence.headers }], fencingToken: 'tok' });
    expect(emptyFence.status).toBe(200);
    const json = await c.readOk(s, 'seq_num=1');
    expect(json.records[0]).toEqual({ seq_num: 1, timestamp: expect.any(Number), headers: [['', 'fence']] });
  });

  it('conditions fail with the JSON 412 bodies', async () => {
    const s = uniqueStream();
    expect((await appendPb(s, { records: [{ body: Buffer.from('a') }] })).status).toBe(200);
    const mismatch = await appendPb(s, { records: [{ body: Buffer.from('b') }], matchSeqNum: 0 });
    expect(mismatch.status).toBe(412);
    expect(mismatch.headers['content-type']).toMatch(/^application\/json/);
    expect(mismatch.json()).toEqual({ seq_num_mismatch: 1 });
    const fenced = await appendPb(s, { records: [{ body: Buffer.from('b') }], fencingToken: 'abc' });
    expect(fenced.json()).toEqual({ fencing_token_mismatch: '' });
  });

  it('long-polls in protobuf: the live batch carries tail', async () => {
    const s = uniqueStream();
    expect((await appendPb(s, { records: [{ body: Buffer.from('a') }] })).status).toBe(200);
    const pending = readPb(s, 'seq_num=1&wait=30');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await appendPb(s, { records: [{ body: Buffer.from('b') }] })).status).toBe(200);
    const batch = await pending;
    expect(batch.records.map((r: { body: Buffer }) => r.body.toString())).toEqual(['b']);
    expect(batch.tail.seqNum).toBe('2');
  });

  it('refuses undecodable protobuf with 400 bad_proto and an over-long fencing token with 422', async () => {
    const s = uniqueStream();
    await c.createStream(s);
    for (const body of [Buffer.from([0x0a, 0x05, 0x01]), Buffer.from([0xff, 0xff, 0xff]), Buffer.from([0x08])]) {
      const res = await c.req('POST', `/v1/streams/${s}/records`, { 'content-type': 'application/protobuf' }, body);
      expectError(res, 400, 'bad_proto');
    }
    const long = await appendPb(s, { records: [{ body: Buffer.from('a') }], fencingToken: 'x'.repeat(37) });
    expectError(long, 422, 'invalid');
    expectError(await appendPb(s, { records: [] }), 422, 'invalid');
    expect((await c.tailOk(s)).seq_num).toBe(0);
  });
});
