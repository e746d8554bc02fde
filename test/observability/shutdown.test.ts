/**
 * Graceful shutdown: SIGTERM while a reader follows the tail over SSE and a writer keeps
 * appending. The reader's response ends cleanly with an `error` event (`unavailable`), not a
 * reset connection; the process exits 0; and after a restart on the same disk every append that
 * was acknowledged is there.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { request } from '../support/http.js';
import { spawnServer } from '../support/server.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function follow(baseUrl: string, basin: string): { events: () => string; ended: Promise<'end' | 'aborted'> } {
  let text = '';
  const ended = new Promise<'end' | 'aborted'>((resolve) => {
    const req = http.get(
      new URL('/v1/streams/s/records?seq_num=0', baseUrl),
      { headers: { 's2-basin': basin, accept: 'text/event-stream' } },
      (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve('end'));
        res.on('aborted', () => resolve('aborted'));
        res.on('error', () => resolve('aborted'));
      },
    );
    req.on('error', () => resolve('aborted'));
  });
  return { events: () => text, ended };
}

describe('SIGTERM', () => {
  it('ends sessions cleanly, acknowledges what was sequenced, and exits 0', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 's2-shutdown-'));
    dirs.push(dir);
    const basin = `shutdown-${process.pid}-${Date.now().toString(36)}`;
    const server = await spawnServer(['--local-root', dir]);
    await request(server.baseUrl, {
      method: 'POST',
      path: '/v1/basins',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ basin, config: { create_stream_on_append: true } }),
    });
    const acked: string[] = [];
    const appendOne = async (body: string) => {
      const res = await request(server.baseUrl, {
        method: 'POST',
        path: '/v1/streams/s/records',
        headers: { 's2-basin': basin, 'content-type': 'application/json' },
        body: JSON.stringify({ records: [{ body }] }),
      }).catch(() => undefined);
      if (res?.status === 200) acked.push(body);
      return res?.status;
    };
    for (let i = 0; i < 5; i++) expect(await appendOne(`first-${i}`)).toBe(200);

    const reader = follow(server.baseUrl, basin);
    const deadline = Date.now() + 15_000;
    while (!reader.events().includes('event: ping') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(reader.events()).toContain('event: ping');

    // A writer keeps going while the signal arrives.
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        const status = await appendOne(`during-${i}`);
        if (status !== 200) break;
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    server.process.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    writing = false;
    await writer;

    expect(await reader.ended).toBe('end');
    const events = reader.events();
    expect(events).toMatch(/event: error\ndata: \{"code":"unavailable"/);
    expect(events).not.toContain('[DONE]');

    const restarted = await spawnServer(['--local-root', dir]);
    try {
      const read = await request(restarted.baseUrl, {
        path: '/v1/streams/s/records?seq_num=0',
        headers: { 's2-basin': basin },
      });
      const bodies = read.json().records.map((r: { body: string }) => r.body);
      for (const body of acked) expect(bodies).toContain(body);
      expect(new Set(bodies).size).toBe(bodies.length);
    } finally {
      await restarted.stop();
    }
  }, 90_000);
});
