/**
 * Proves that no JSON body shape can stall the event loop much longer than an ordinary body of the
 * same size: `/health` latency (p99) is measured against a real server process while four clients
 * send ordinary 1.9 MB append bodies, then while they send the worst shapes (190k tiny headers, a
 * 1.9-million-digit number, deep nesting, 190k keys in a config body). All target a stream or basin
 * that does not exist, which used to parse the whole body just the same. Comparing with the ordinary
 * shape on the same machine, at the same moment, keeps the assertion meaningful on a noisy host.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, sleep, startDistServer, type DistServer } from './support.js';

let server: DistServer;
const basin = 'hardening-json';

beforeAll(async () => {
  server = await startDistServer();
  // No auto-creation: every append below is parsed, then refused (404).
  const res = await call(
    server.port,
    'POST',
    '/v1/basins',
    { 'content-type': 'application/json' },
    JSON.stringify({ basin }),
  );
  expect(res.status).toBe(201);
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

const size = 1_900_000;
const fill = (unit: string, overhead = 64) =>
  Array(Math.floor((size - overhead) / (unit.length + 1)))
    .fill(unit)
    .join(',');

const ordinary = JSON.stringify({ records: Array.from({ length: 1000 }, () => ({ body: 'x'.repeat(1880) })) });
const worst: { path: string; body: string }[] = [
  { path: '/v1/streams/missing/records', body: `{"records":[{"headers":[${fill('["a","b"]')}],"body":"x"}]}` },
  { path: '/v1/streams/missing/records', body: `{"records":[{"body":"x"}],"x":${'9'.repeat(size)}}` },
  {
    path: '/v1/streams/missing/records',
    body: `{"records":[{"body":"x"}],"x":${'['.repeat(size / 2)}${']'.repeat(size / 2)}}`,
  },
  {
    path: '/v1/basins',
    body: `{"basin":"hardening-json-2",${Array.from({ length: 190_000 }, (_, i) => `"k${i}":0`).join(',')}}`,
  },
];

/** Four clients sending `bodies` in a loop while `/health` is polled; the p99 of `/health` in ms. */
async function healthP99While(
  bodies: { path: string; body: string }[],
  ms: number,
): Promise<{ p99: number; sent: number }> {
  let running = true;
  let sent = 0;
  const clients = bodies.map(async ({ path, body }) => {
    while (running) {
      const res = await call(
        server.port,
        'POST',
        path,
        { 's2-basin': basin, 'content-type': 'application/json' },
        body,
      );
      expect(res.status).toBeGreaterThanOrEqual(400); // nothing here may be accepted
      sent++;
    }
  });
  const latencies: number[] = [];
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    const started = performance.now();
    const res = await call(server.port, 'GET', '/health');
    expect(res.status).toBe(200);
    latencies.push(performance.now() - started);
    await sleep(20);
  }
  running = false;
  await Promise.all(clients);
  latencies.sort((a, b) => a - b);
  return { p99: latencies[Math.floor(latencies.length * 0.99)]!, sent };
}

describe('JSON cost', () => {
  it('worst-case JSON bodies delay /health no more than ordinary bodies of the same size', async () => {
    const baseline = await healthP99While(
      worst.map(() => ({ path: '/v1/streams/missing/records', body: ordinary })),
      10_000,
    );
    const attacked = await healthP99While(worst, 10_000);
    console.log(
      `FIGURE json: /health p99 ${baseline.p99.toFixed(0)} ms with four clients sending ordinary 1.9 MB bodies ` +
        `(${baseline.sent} sent), ${attacked.p99.toFixed(0)} ms with the worst shapes (${attacked.sent} sent)`,
    );
    // Before: over a second per worst-case request, so /health p99 was several seconds.
    expect(attacked.p99).toBeLessThan(3 * baseline.p99 + 100);
  }, 120_000);
});
