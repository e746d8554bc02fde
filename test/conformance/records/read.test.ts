/**
 * Black-box read and check-tail behaviour (lite-internals 5.6; api.md 8.1, 8.2, 8.5) over
 * HTTP/1.1 and h2c. Long-poll waits are kept to a second; no timing is asserted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttp2Sessions, type Protocol } from '../../support/http.js';
import { startServer, type TestServer } from '../../support/server.js';
import { bodies, expectError, metered, newBasin, seqNums, uniqueStream, type Client, type Json } from './support.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  closeHttp2Sessions();
  await server.stop();
});

describe.each<Protocol>(['h1', 'h2c'])('read over %s', (protocol) => {
  let c: Client;
  beforeAll(async () => {
    c = await newBasin(server.baseUrl, protocol, { create_stream_on_append: true });
  });

  async function streamWith(n: number, timestamps?: number[]): Promise<{ name: string; ack: Json }> {
    const name = uniqueStream();
    const records = Array.from({ length: n }, (_, i) => ({
      body: `record-${i}`,
      ...(timestamps ? { timestamp: timestamps[i] } : {}),
    }));
    const ack = await c.appendOk(name, { records });
    return { name, ack };
  }

  it('check tail: (0, 0) on an empty stream, then the ack end', async () => {
    const s = uniqueStream();
    await c.createStream(s);
    expect(await c.tailOk(s)).toEqual({ seq_num: 0, timestamp: 0 });
    const ack = await c.appendOk(s, { records: [{ body: 'a' }] });
    const res = await c.tail(s);
    expect(res.text).toBe(`{"tail":{"seq_num":1,"timestamp":${ack.end.timestamp}}}`);
  });

  it('reads from the beginning, with a count limit, from a tail offset', async () => {
    const { name } = await streamWith(10);
    expect(bodies(await c.readOk(name, 'seq_num=0'))).toHaveLength(10);
    expect(seqNums(await c.readOk(name, 'seq_num=0&count=5'))).toEqual([0, 1, 2, 3, 4]);
    expect(bodies(await c.readOk(name, 'tail_offset=2'))).toEqual(['record-8', 'record-9']);
    expect(seqNums(await c.readOk(name, 'tail_offset=100&count=1'))).toEqual([0]);
    expect(await c.readOk(name, 'seq_num=3&count=0')).toEqual({ records: [] });
  });

  it('416 with the tail: beyond the tail, at the tail without wait (also with clamp), default start', async () => {
    const { name, ack } = await streamWith(2);
    const tailBody = `{"tail":{"seq_num":2,"timestamp":${ack.end.timestamp}}}`;
    for (const query of [
      'seq_num=100',
      'seq_num=2',
      'seq_num=2&count=5&wait=0',
      '',
      'tail_offset=0&count=1',
      'seq_num=100&clamp=true',
      `timestamp=${ack.end.timestamp + 1}`,
      `timestamp=${ack.end.timestamp + 1}&until=18446744073709551615`,
      `timestamp=${ack.end.timestamp + 1}&clamp=true&count=3`,
    ]) {
      const res = await c.read(name, query);
      expect(res.status, query).toBe(416);
      expect(res.text, query).toBe(tailBody);
    }
    const empty = uniqueStream();
    await c.createStream(empty);
    expect((await c.read(empty, 'seq_num=0')).status).toBe(416);
  });

  it('clamp with wait does not 416: it long-polls and returns {"records": []}', async () => {
    const { name } = await streamWith(1);
    expect(await c.readOk(name, 'seq_num=100&clamp=true&wait=1')).toEqual({ records: [] });
  });

  it('timestamp starts include duplicate timestamps; one resolving to the tail is empty, not 416', async () => {
    const { name } = await streamWith(5, [1000, 1000, 1000, 2000, 3000]);
    expect(seqNums(await c.readOk(name, 'timestamp=1000'))).toEqual([0, 1, 2, 3, 4]);
    expect(seqNums(await c.readOk(name, 'timestamp=1001'))).toEqual([3, 4]);
    expect(seqNums(await c.readOk(name, 'timestamp=0&count=1'))).toEqual([0]);
    const empty = uniqueStream();
    await c.createStream(empty);
    expect(await c.readOk(empty, 'timestamp=0')).toEqual({ records: [] });
  });

  it('until is an exclusive bound; combined with from-timestamp and other limits', async () => {
    const { name } = await streamWith(4, [1000, 2000, 2000, 4000]);
    expect(await c.readOk(name, 'seq_num=0&until=500')).toEqual({ records: [] });
    expect(seqNums(await c.readOk(name, 'seq_num=0&until=2000'))).toEqual([0]);
    expect(seqNums(await c.readOk(name, 'seq_num=0&until=5000'))).toEqual([0, 1, 2, 3]);
    expect(seqNums(await c.readOk(name, 'seq_num=0&until=5000&count=2'))).toEqual([0, 1]);
    expect(seqNums(await c.readOk(name, 'timestamp=2000&until=4500'))).toEqual([1, 2, 3]);
    expect(seqNums(await c.readOk(name, 'timestamp=2000&until=4000'))).toEqual([1, 2]);
    const bad = await c.read(name, 'timestamp=2000&until=2000');
    expectError(bad, 422, 'invalid');
  });

  it('bytes limit: exact fit, count wins, bytes wins, first record too large', async () => {
    const { name } = await streamWith(20);
    const size = metered('record-0');
    expect(seqNums(await c.readOk(name, `seq_num=0&bytes=${2 * size}`))).toEqual([0, 1]);
    expect(seqNums(await c.readOk(name, `seq_num=0&bytes=${2 * size + 1}`))).toEqual([0, 1]);
    expect(await c.readOk(name, `seq_num=0&bytes=${size - 1}`)).toEqual({ records: [] });
    expect(seqNums(await c.readOk(name, `seq_num=0&count=5&bytes=${100 * size}`))).toHaveLength(5);
    expect(seqNums(await c.readOk(name, `seq_num=0&count=10&bytes=${3 * size}`))).toHaveLength(3);
    expect(await c.readOk(name, 'seq_num=0&bytes=0')).toEqual({ records: [] });
  });

  it('unary caps: at most 1000 records and 1 MiB per response', async () => {
    const name = uniqueStream();
    for (let i = 0; i < 2; i++) {
      await c.appendOk(name, { records: Array.from({ length: 1000 }, () => ({ body: 'x' })) });
    }
    expect(seqNums(await c.readOk(name, 'seq_num=0&count=5000'))).toHaveLength(1000);
    const big = uniqueStream();
    const chunk = 'y'.repeat(300 * 1024);
    for (let i = 0; i < 4; i++) await c.appendOk(big, { records: [{ body: chunk }] });
    expect(seqNums(await c.readOk(big, 'seq_num=0'))).toEqual([0, 1, 2]);
  });

  it('long poll: returns the first live batch with its tail', async () => {
    const { name } = await streamWith(1);
    const pending = c.readOk(name, 'seq_num=1&wait=30');
    // Give the read a moment to reach follow mode; correctness does not depend on it.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const ack = await c.appendOk(name, { records: [{ body: 'live-1' }, { body: 'live-2' }] });
    const batch = await pending;
    expect(bodies(batch)).toEqual(['live-1', 'live-2']);
    expect(batch.tail).toEqual(ack.end);
  });

  it('long poll with records available returns them at once, without tail; times out empty', async () => {
    const { name } = await streamWith(3);
    const batch = await c.readOk(name, 'seq_num=1&wait=30');
    expect(seqNums(batch)).toEqual([1, 2]);
    expect(batch).not.toHaveProperty('tail');
    expect(await c.readOk(name, 'seq_num=3&wait=1')).toEqual({ records: [] });
  });

  it('concurrent readers all see every record in order', async () => {
    const { name } = await streamWith(20);
    const reads = await Promise.all(Array.from({ length: 10 }, () => c.readOk(name, 'seq_num=0')));
    for (const read of reads) expect(seqNums(read)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('reads on a missing basin or stream: 404 with the right code', async () => {
    expectError(await c.read('never-written', 'seq_num=0'), 404, 'stream_not_found');
    expectError(await c.tail('never-written'), 404, 'stream_not_found');
    const other = Object.create(c) as Client;
    Object.defineProperty(other, 'basin', { value: 'missing-basin-zz9' });
    expectError(await other.read('x', 'seq_num=0'), 404, 'basin_not_found');
    expectError(await other.tail('x'), 404, 'basin_not_found');
    expectError(await other.append('x', { records: [{ body: 'a' }] }), 404, 'basin_not_found');
  });
});
