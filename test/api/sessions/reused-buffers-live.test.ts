/**
 * Live followers next to reused catch-up buffers (api/codec/out-buffers.ts), in memory mode: several
 * S2S followers of one stream (HTTP/1.1 and h2c on one connection; uncompressed, zstd and gzip, so
 * a live frame encoded once is shared by some followers and not others) receive every appended
 * record of 1 B to 64 KiB byte-exact, each frame compressed as its follower asked, heartbeats
 * included, while one follower stalls, falls behind, is sent back to storage reads (frames in
 * pooled buffers, poisoned the moment they are given back) and rejoins. Live frames come from a
 * pool of their own and are poisoned too when given back: one given back before the last follower
 * it was shared with wrote it would reach that follower as poison.
 */
import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metrics } from '../../../src/metrics.js';
import { closeHttp2Sessions } from '../../support/http.js';
import { startServer, type TestServer } from '../../support/server.js';
import { until } from '../../support/until.js';
import { poisonCatchUpBuffers, poisonLiveFrameBuffers } from './poison-pool.js';
import { fillNibbles, readH1, readH2, type ReadCall } from './raw-readers.js';
import { appendBodies, createBasin } from './support.js';

const probe = poisonCatchUpBuffers();
const liveProbe = poisonLiveFrameBuffers();
const sizes = [1, 8192, 65536 + 13, 3, 1000];
const batches = 120;
const total = batches * sizes.length;

function bodyOf(i: number): Buffer {
  const out = Buffer.alloc(sizes[i % sizes.length]!);
  return fillNibbles(out, i * 0x85ebca6b + 7);
}

let server: TestServer;
let basin: string;

beforeAll(async () => {
  server = await startServer();
  basin = await createBasin(server.baseUrl);
});

afterAll(async () => {
  closeHttp2Sessions();
  await server?.stop();
});

async function fallbacks(): Promise<number> {
  return (await metrics.followerLagFallbacks.get()).values[0]?.value ?? 0;
}

async function liveFollowers(): Promise<number> {
  return (await metrics.followers.get()).values[0]?.value ?? 0;
}

describe('live followers and reused catch-up buffers', () => {
  it('gives every follower every record byte-exact, one of them back from storage after a stall', async () => {
    const stream = 'live';
    const call = (encoding?: 'zstd' | 'gzip'): ReadCall => ({
      kind: 's2s',
      basin,
      path: `/v1/streams/${stream}/records?seq_num=0&count=${total}&wait=60`,
      encoding,
    });
    const append = async (b: number) => {
      await appendBodies(
        server.baseUrl,
        basin,
        stream,
        sizes.map((_, k) => bodyOf(b * sizes.length + k)),
      );
    };
    await append(0);
    const session = http2.connect(server.baseUrl);
    const before = await fallbacks();
    let takenLive = 0;
    try {
      const followers = [
        readH1(server.baseUrl, call(), bodyOf, 0),
        readH2(session, call(), bodyOf, 0),
        readH2(session, call('zstd'), bodyOf, 0),
        readH2(session, call('gzip'), bodyOf, 0),
        readH1(server.baseUrl, call('zstd'), bodyOf, 0),
        // Stalls after its first records while the writer goes on: more than followerLagBatchesMax behind.
        readH1(server.baseUrl, call(), bodyOf, 0, { stallAfter: 1, stallMs: 1500 }),
      ];
      // Every follower caught up on the first batch and waits at the tail before the others.
      await until('the followers follow the tail', async () => (await liveFollowers()) >= followers.length);
      takenLive = probe.taken();
      for (let b = 1; b < batches; b++) await append(b);
      const results = await Promise.all(followers);
      expect(results.map((r) => r.next)).toEqual(results.map(() => total));
      // Heartbeats were interleaved (one on reaching the tail) and the compressed followers got compressed frames.
      for (const r of results) expect(r.heartbeats).toBeGreaterThan(0);
      // Each follower got frames compressed as it asked, never a frame cached for another (api.md 9.3).
      expect(results.map((r) => [...r.algorithms])).toEqual([[], [], ['zstd'], ['gzip'], ['zstd'], []]);
    } finally {
      session.close();
    }
    // The stalled follower was dropped to storage reads, which used pooled buffers.
    expect(await fallbacks()).toBeGreaterThan(before);
    expect(probe.taken()).toBeGreaterThan(takenLive);
    await until('every pooled buffer was given back', () => probe.outstanding() === 0);
    expect(probe.violations).toEqual([]);
    // Live frames (each batch is ~74 KiB) came from their pool and all went back.
    expect(liveProbe.taken()).toBeGreaterThanOrEqual(batches - 1);
    await until('every live frame was given back', () => liveProbe.outstanding() === 0);
    expect(liveProbe.violations).toEqual([]);
  }, 120_000);
});
