/**
 * The log's writer thread faults the ring's pages in while it is idle, so the event loop's copies of
 * frames into a fresh ring take no page faults (counted from /proc, not timed); and it does so
 * without changing a byte the main thread wrote meanwhile.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { threadIo } from '../../../src/storage/wal/io-thread.js';

const MiB = 1024 * 1024;

/** Minor page faults of the main thread so far (Linux). */
function mainThreadFaults(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
}

describe('ring page faults', () => {
  it('are taken by the writer thread, not by the copies of the event loop', async () => {
    const ring = new Uint8Array(new SharedArrayBuffer(8 * MiB));
    // Written before the thread starts faulting: must survive it.
    for (let i = 0; i < ring.length; i += 64 * 1024) ring[i] = 0x5a;
    const io = threadIo(ring, { durable() {}, failed() {} }) as unknown as { ringFaultedBytes: number };
    while (io.ringFaultedBytes < ring.length) await new Promise((resolve) => setTimeout(resolve, 10));
    for (let i = 0; i < ring.length; i += 64 * 1024) expect(ring[i]).toBe(0x5a);

    const body = Buffer.alloc(1024, 7);
    const before = mainThreadFaults();
    for (let at = 0; at < ring.length; at += body.length) ring.set(body, at);
    // 2048 pages: a fresh ring took one fault per page on the event loop.
    expect(mainThreadFaults() - before).toBeLessThan(200);
    await (io as unknown as { close(): Promise<void> }).close();
  });
});
