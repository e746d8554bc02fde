/**
 * Rough throughput of ChunkLog commits: `node --import tsx test/storage/bench.ts [memory|fs] [seconds]`.
 * Keeps `concurrency` single-append commits outstanding (as many clients would) and reports
 * commits/s, records/s and chunks written. Not a test: numbers depend on the machine.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryObjectStore } from '../../src/objectstore/memory.js';
import type { ObjectStore } from '../../src/objectstore/types.js';
import { ChunkLog } from '../../src/storage/chunk-log.js';
import { createStream, makeAppend } from './helpers.js';
import { SimpleFsStore } from './simple-fs-store.js';

async function bench(kind: string, seconds: number, concurrency: number, recordsPerCommit: number): Promise<void> {
  const dir = kind === 'fs' ? await mkdtemp(join(tmpdir(), 's2-log-bench-')) : null;
  const store: ObjectStore = dir ? new SimpleFsStore(dir) : new MemoryObjectStore();
  let chunkPuts = 0;
  const counting: ObjectStore = Object.assign(Object.create(store) as ObjectStore, {
    put: (key: string, body: Uint8Array, options?: Parameters<ObjectStore['put']>[2]) => {
      if (key.startsWith('chunk/')) chunkPuts++;
      return store.put(key, body, options);
    },
  });
  const log = await ChunkLog.open(counting, {});
  await log.commit(createStream('s'));
  let next = 0;
  let commits = 0;
  const deadline = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const first = next;
      next += recordsPerCommit;
      await log.commit([makeAppend('s', first, recordsPerCommit)]);
      commits++;
    }
  };
  // Appends to one stream must be submitted in seq order: workers take seq ranges synchronously.
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - start) / 1000;
  await log.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  console.log(
    `${kind} concurrency=${concurrency} records/commit=${recordsPerCommit}: ${Math.round(commits / elapsed)} commits/s, ` +
      `${Math.round((commits * recordsPerCommit) / elapsed)} records/s, ${chunkPuts} chunks (${(commits / chunkPuts).toFixed(1)} commits/chunk)`,
  );
}

const kind = process.argv[2] ?? 'memory';
const seconds = Number(process.argv[3] ?? 3);
for (const concurrency of [1, 64]) await bench(kind, seconds, concurrency, 10);
