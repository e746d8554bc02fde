/**
 * A server that shuts down while slow clients are mid catch-up (HTTP/1.1 and h2c, frames in reused
 * buffers from api/codec/out-buffers.ts) stops cleanly: every record the clients got before they
 * were cut off is exact, no pooled buffer is handed out twice or given back twice, and nothing throws.
 */
import http2 from 'node:http2';
import { describe, expect, it } from 'vitest';
import { startServer } from '../../support/server.js';
import { poisonCatchUpBuffers } from './poison-pool.js';
import { readH1, readH2, type ReadCall, type ReadResult } from './raw-readers.js';
import { appendBodies, createBasin } from './support.js';

const probe = poisonCatchUpBuffers();
const recordCount = 200;
const bodyOf = (i: number) => Buffer.alloc(64 * 1024 + (i % 7), i & 0x7f);

describe('shutdown during catch-up', () => {
  it('ends slow catch-ups without mixing bytes or misusing the pool', async () => {
    const server = await startServer();
    const basin = await createBasin(server.baseUrl);
    for (let start = 0; start < recordCount; start += 10) {
      await appendBodies(
        server.baseUrl,
        basin,
        'closing',
        Array.from({ length: 10 }, (_, k) => bodyOf(start + k)),
      );
    }
    const call: ReadCall = { kind: 's2s', basin, path: `/v1/streams/closing/records?seq_num=0&count=${recordCount}` };
    const session = http2.connect(server.baseUrl);
    session.on('error', () => {});
    let stopping: Promise<void> | undefined;
    const stopOnce = (bytes: number) => {
      if (bytes >= 2 * 1024 * 1024) stopping ??= server.stop();
    };
    const slow = { pauseMs: 100, burstBytes: 256 * 1024 };
    // A reader cut off by the shutdown fails (connection reset); what it checked before was exact.
    const settle = (p: Promise<ReadResult>) =>
      p.then(
        (r) => r.next,
        (error: Error) => (/differs|arrived where/.test(error.message) ? Promise.reject(error) : -1),
      );
    const results = await Promise.all([
      settle(readH1(server.baseUrl, call, bodyOf, 0, { ...slow, onProgress: stopOnce })),
      settle(readH1(server.baseUrl, call, bodyOf, 0, slow)),
      settle(readH2(session, call, bodyOf, 0, slow)),
      settle(readH2(session, call, bodyOf, 0, slow)),
    ]);
    await stopping;
    session.destroy();
    // The stop's grace period (1 s) ran out before these slow catch-ups of 13 MiB were done.
    expect(results.filter((next) => next < recordCount).length).toBeGreaterThan(0);
    expect(probe.violations).toEqual([]);
  }, 60_000);
});
