/**
 * GET /metrics: after a known workload the counters moved by exactly the right amounts (appends,
 * records, metered bytes, records read, HTTP requests by route), the reference histograms exist,
 * and the process metrics (event-loop delay) are exposed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, uniqueBasin } from '../support/http.js';
import { startServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.stop();
});

/** Sum of a metric's samples whose labels include `labels`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z0-9_:]+)(\{([^}]*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = Object.fromEntries(
      (match[3] ?? '')
        .split(',')
        .filter(Boolean)
        .map((pair) => {
          const [k, v] = pair.split('=');
          return [k, v!.replace(/^"|"$/g, '')];
        }),
    );
    if (Object.entries(labels).every(([k, v]) => present[k] === v)) total += Number(match[4]);
  }
  return total;
}

async function scrape(): Promise<string> {
  const res = await request(server.baseUrl, { path: '/metrics' });
  expect(res.status).toBe(200);
  expect(String(res.headers['content-type'])).toContain('text/plain');
  return res.text;
}

describe('/metrics', () => {
  it('counts appends, records, bytes and reads exactly', async () => {
    const basin = uniqueBasin('metrics');
    await request(server.baseUrl, {
      method: 'POST',
      path: '/v1/basins',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ basin, config: { create_stream_on_append: true } }),
    });
    const before = await scrape();
    const headers = { 's2-basin': basin, 'content-type': 'application/json' };
    for (let i = 0; i < 3; i++) {
      const res = await request(server.baseUrl, {
        method: 'POST',
        path: '/v1/streams/m/records',
        headers,
        body: JSON.stringify({ records: [{ body: 'hello' }, { headers: [['k', 'v']], body: 'hi' }] }),
      });
      expect(res.status).toBe(200);
    }
    const read = await request(server.baseUrl, { path: '/v1/streams/m/records?seq_num=0', headers: { 's2-basin': basin } });
    expect(read.json().records).toHaveLength(6);
    const after = await scrape();
    const delta = (name: string, labels?: Record<string, string>) => sample(after, name, labels) - sample(before, name, labels);
    expect(delta('s2_appends_total')).toBe(3);
    expect(delta('s2_append_records_total')).toBe(6);
    // Metered: "hello" = 8 + 5 = 13; ("k","v") + "hi" = 8 + 2 + 2 + 2 = 14.
    expect(delta('s2_append_bytes_total')).toBe(3 * (13 + 14));
    expect(delta('s2_append_ack_latency_seconds_count')).toBe(3);
    expect(delta('s2_append_batch_records_count')).toBe(3);
    expect(delta('s2_append_batch_records_sum')).toBe(6);
    expect(delta('s2_read_records_total', { transport: 'unary_json' })).toBe(6);
    expect(delta('s2_read_bytes_total', { transport: 'unary_json' })).toBe(3 * (13 + 14));
    expect(delta('s2_http_requests_total', { route: '/v1/streams/:stream/records', method: 'POST', status: '200' })).toBe(3);
    // Memory mode stores no chunk objects (storage/sink.ts); the flushes are still counted.
    expect(delta('s2_storage_flush_records_sum')).toBe(6);
    expect(sample(after, 's2_append_inflight_bytes')).toBe(0);
    expect(sample(after, 's2_streams')).toBeGreaterThanOrEqual(1);
    expect(after).toContain('nodejs_eventloop_lag_p99_seconds');
    expect(after).toContain('s2_append_permit_latency_seconds_bucket');
  });
});
