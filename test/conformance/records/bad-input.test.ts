/**
 * Black-box bad input on the records routes (api.md 1.5-1.7, 2, 6.2-6.6, 8.1, 10) over HTTP/1.1
 * and h2c: every case gets its documented status and code, and nothing is half-appended.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttp2Sessions, type Protocol } from '../../support/http.js';
import { startServer, type TestServer } from '../../support/server.js';
import { b64, expectError, newBasin, uniqueStream, type Client } from './support.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  closeHttp2Sessions();
  await server.stop();
});

const MiB = 1024 * 1024;

describe.each<Protocol>(['h1', 'h2c'])('bad input over %s', (protocol) => {
  let c: Client;
  let s: string;
  beforeAll(async () => {
    c = await newBasin(server.baseUrl, protocol, { create_stream_on_append: true, create_stream_on_read: true });
    s = uniqueStream();
    await c.appendOk(s, { records: [{ body: 'seed' }] });
  });

  it('append: wrong or missing content type is 400 bad_json', async () => {
    const path = `/v1/streams/${s}/records`;
    expectError(await c.req('POST', path, {}, '{"records":[{"body":"a"}]}'), 400, 'bad_json');
    expectError(await c.req('POST', path, { 'content-type': 'text/plain' }, '{"records":[]}'), 400, 'bad_json');
    const vendor = await c.req(
      'POST',
      path,
      { 'content-type': 'application/vnd.x+json; charset=utf-8' },
      '{"records":[{}]}',
    );
    expect(vendor.status, vendor.text).toBe(200);
  });

  it('append: malformed JSON and wrong shapes are 400 bad_json', async () => {
    for (const body of [
      '',
      '{',
      'null',
      '[]',
      '{"records": {}}',
      '{}',
      '{"records":[{"body": 5}]}',
      '{"records":[{"headers": [["a"]]}]}',
      '{"records":[{"headers": [["a", 1]]}]}',
      '{"records":[{"headers": {"a": "b"}}]}',
      '{"records":[{"timestamp": -1}]}',
      '{"records":[{"timestamp": 18446744073709551616}]}',
      '{"records":[{"timestamp": "5"}]}',
      '{"records":[{}], "match_seq_num": -1}',
      '{"records":[{}], "fencing_token": 5}',
      `{"records":[{}], "fencing_token": "${'x'.repeat(37)}"}`,
    ]) {
      expectError(await c.append(s, body), 400, 'bad_json');
    }
    const invalidUtf8 = Buffer.concat([Buffer.from('{"records":[{"body":"'), Buffer.from([0xff]), Buffer.from('"}]}')]);
    expectError(
      await c.req('POST', `/v1/streams/${s}/records`, { 'content-type': 'application/json' }, invalidUtf8),
      400,
      'bad_json',
    );
  });

  it('append: S2-Format errors (bad header 400, bad base64 422)', async () => {
    expectError(await c.append(s, { records: [{ body: 'a' }] }, { 's2-format': 'hex' }), 400, 'bad_header');
    for (const body of ['not base64!', 'YQ', 'YR==']) {
      expectError(await c.append(s, { records: [{ body }] }, { 's2-format': 'base64' }), 422, 'invalid');
    }
    expectError(
      await c.append(s, { records: [{ headers: [['*', b64('v')]] }] }, { 's2-format': 'base64' }),
      422,
      'invalid',
    );
    const ok = await c.append(s, { records: [{ body: b64('ok') }] }, { 's2-format': 'json-binsafe' });
    expect(ok.status, ok.text).toBe(200);
  });

  it('append: batch and record limits are 422 invalid', async () => {
    expectError(await c.append(s, { records: [] }), 422, 'invalid');
    expectError(await c.append(s, { records: Array.from({ length: 1001 }, () => ({})) }), 422, 'invalid');
    expectError(await c.append(s, { records: [{ body: 'x'.repeat(MiB - 7) }] }), 422, 'invalid');
    expectError(
      await c.append(s, { records: [{ body: 'x'.repeat(MiB / 2) }, { body: 'x'.repeat(MiB / 2) }] }),
      422,
      'invalid',
    );
  });

  it('append: header and command rules are 422 invalid', async () => {
    for (const record of [
      { headers: [['', 'unknown']] },
      {
        headers: [
          ['', 'fence'],
          ['k', 'v'],
        ],
      },
      {
        headers: [
          ['k', 'v'],
          ['', 'x'],
        ],
      },
      { headers: [['', 'fence']], body: 'x'.repeat(37) },
      { headers: [['', 'trim']], body: 'short' },
    ]) {
      expectError(await c.append(s, { records: [{ body: 'fine' }, record] }), 422, 'invalid');
    }
  });

  it('append: an oversize body is 400 and a bad basin/stream name is 400', async () => {
    expectError(await c.append(s, `{"records":[{"body":"${'x'.repeat(2 * MiB + 10)}"}]}`), 400, 'bad_json');
    const noBasin = await c.req(
      'POST',
      `/v1/streams/${s}/records`,
      { 's2-basin': '', 'content-type': 'application/json' },
      '{"records":[{}]}',
    );
    expectError(noBasin, 400, 'bad_header');
    const long = await c.req(
      'POST',
      `/v1/streams/${'y'.repeat(513)}/records`,
      { 'content-type': 'application/json' },
      '{"records":[{}]}',
    );
    expectError(long, 400, 'bad_path');
    expectError(await c.req('GET', `/v1/streams/${'x'.repeat(513)}/records/tail`), 400, 'bad_path');
  });

  it('nothing of any rejected batch was appended', async () => {
    const read = await c.readOk(s, 'seq_num=0');
    expect(read.records.map((r: { body?: string }) => r.body)).toEqual(['seed', undefined, 'ok']);
  });

  it('read: bad query values are 400 bad_query', async () => {
    for (const query of [
      'seq_num=abc',
      'seq_num=-1',
      'seq_num=18446744073709551616',
      'timestamp=1.5',
      'clamp=yes',
      'count=x',
      'wait=4294967296',
      'wait=-1',
      'seq_num=1&seq_num=2',
      'until=',
    ]) {
      expectError(await c.read(s, query), 400, 'bad_query');
    }
  });

  it('read: conflicting start parameters and until <= timestamp are 422 invalid', async () => {
    for (const query of [
      'seq_num=0&timestamp=5',
      'seq_num=0&tail_offset=1',
      'timestamp=1&tail_offset=1',
      'timestamp=5&until=4',
    ]) {
      expectError(await c.read(s, query), 422, 'invalid');
    }
  });

  it('read: bad S2-Format is 400 bad_header; unknown query keys are ignored', async () => {
    expectError(await c.read(s, 'seq_num=0', { 's2-format': 'binary' }), 400, 'bad_header');
    expect((await c.read(s, 'seq_num=0&whatever=1')).status).toBe(200);
  });

  it('u64 query values beyond 2^53 are accepted and behave as huge values', async () => {
    const res = await c.read(s, 'seq_num=18446744073709551615');
    expect(res.status).toBe(416);
    expect((await c.read(s, 'seq_num=18446744073709551615&clamp=true&wait=0&count=1')).status).toBe(416);
    const batch = await c.readOk(s, 'seq_num=0&count=18446744073709551615&bytes=18446744073709551615');
    expect(batch.records).toHaveLength(3);
    expect((await c.readOk(s, 'tail_offset=18446744073709551615')).records).toHaveLength(3);
  });
});
