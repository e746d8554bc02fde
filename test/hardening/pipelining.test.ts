/**
 * Proves that one HTTP/1.1 connection cannot make the server buffer responses without bound: a
 * client pipelining a thousand 1 MiB reads against a server holding data on local disk, and never
 * reading a response, grows the server's resident memory by little (it was over 500 MiB when every
 * pipelined request was handled at once and its response waited in memory), and the server keeps
 * nothing of it once the client leaves. A pipelining client that does read still gets every
 * response, in order.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createBasin,
  fillStream,
  mib,
  MiB,
  RssSampler,
  sleep,
  startDistServer,
  tempDir,
  type DistServer,
} from './support.js';

const basin = 'hardening-pipeline';
let server: DistServer;
let records = 0;
const tmp = tempDir('s2-hardening-pipe-');

beforeAll(async () => {
  server = await startDistServer(['--local-root', tmp.dir]);
  await createBasin(server.port, basin);
  // 40 MiB: beyond the 32 MiB checkpoint threshold, so reads come from segment files as well as memory.
  records = await fillStream(server.port, basin, 'data', 40);
}, 180_000);

afterAll(async () => {
  await server?.stop();
  tmp.remove();
});

function pipelinedReads(count: number): string {
  let text = '';
  for (let i = 0; i < count; i++) {
    const seqNum = (i * 1000) % records;
    text += `GET /v1/streams/data/records?seq_num=${seqNum} HTTP/1.1\r\nHost: lite\r\ns2-basin: ${basin}\r\n\r\n`;
  }
  return text;
}

describe('HTTP/1.1 pipelining', () => {
  it('a client that pipelines 1000 reads of 1 MiB and reads nothing grows the server by little', async () => {
    await sleep(2_000); // let the fill's garbage settle
    const before = server.rss();
    const sampler = new RssSampler(server);
    const socket = net.connect(server.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.pause(); // never reads a response
    socket.write(pipelinedReads(1000));
    await sleep(20_000);
    const growth = sampler.stop() - before;
    socket.destroy();
    const afterSampler = new RssSampler(server);
    await sleep(5_000);
    const afterPeak = afterSampler.stop() - before;
    const afterLeaving = server.rss() - before;
    console.log(
      `FIGURE pipelining: RSS ${mib(before)} MiB before, peak growth ${mib(growth)} MiB while attacked, ` +
        `peak ${mib(afterPeak)} MiB and ${mib(afterLeaving)} MiB 5 s after the client left`,
    );
    // Before the fix: 150 MiB in 15 s on a loaded host, 560-850 MiB on a quiet one, still growing after the client left.
    expect(growth).toBeLessThan(100 * MiB);
    expect(afterPeak).toBeLessThan(100 * MiB);
  }, 60_000);

  it('a pipelining client that reads gets every response, in order', async () => {
    const socket = net.connect(server.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    const count = 200;
    let requests = '';
    for (let i = 0; i < count; i++) {
      requests += `GET /v1/streams/data/records?seq_num=${i}&count=1 HTTP/1.1\r\nHost: lite\r\ns2-basin: ${basin}\r\n\r\n`;
    }
    socket.write(requests);
    let received = '';
    socket.setEncoding('latin1');
    await new Promise<void>((resolve, reject) => {
      socket.on('data', (chunk: string) => {
        received += chunk;
        if ((received.match(/"seq_num":\d+,"timestamp"/g) ?? []).length >= count) resolve();
      });
      socket.on('error', reject);
      setTimeout(() => reject(new Error(`only ${received.length} bytes of responses`)), 30_000);
    });
    socket.destroy();
    const seqNums = [...received.matchAll(/"records":\[\{"seq_num":(\d+)/g)].map((m) => Number(m[1]));
    expect(seqNums).toEqual(Array.from({ length: count }, (_, i) => i));
    expect((received.match(/HTTP\/1\.1 200 OK/g) ?? []).length).toBe(count);
  }, 60_000);
});
