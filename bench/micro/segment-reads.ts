/**
 * A cold catch-up read of one segment, storage to ReadBatch bytes:
 * `node --import tsx bench/micro/segment-reads.ts [--store local|memory] [--rounds 12] [--dist DIR] [--body 1024]`.
 *
 * Writes one segment of ~49 MiB of incompressible records (50k x 1 KiB by default; `--body` sets the
 * record size: 8 KiB and larger bodies are aligned, so blocks are padded) in 64 KiB blocks into a local-disk store
 * in a temp dir (or a memory store), then per round walks all its blocks with a fresh SegmentCache
 * (read-ahead, CRC, index) and encodes a ReadBatch per 1000 records. Prints whole-process CPU ms
 * per MiB (process.cpuUsage: the event loop and libuv's threads) and wall ms per MiB per round.
 * `--dist DIR` runs another build's compiled code (e.g. a scratch worktree's dist/) so that two
 * builds can be compared by alternating processes.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    store: { type: 'string' },
    rounds: { type: 'string' },
    dist: { type: 'string' },
    body: { type: 'string' },
  },
});
const base = values.dist ? pathToFileURL(resolve(values.dist)).href : new URL('../../src', import.meta.url).href;
const load = <T>(path: string): Promise<T> => import(`${base}/${path}`) as Promise<T>;
const { openObjectStore } = await load<typeof import('../../src/objectstore/index.js')>('objectstore/index.js');
const { encodeSegment } = await load<typeof import('../../src/storage/codec-segment.js')>('storage/codec-segment.js');
const { SegmentCache } = await load<typeof import('../../src/storage/segment-cache.js')>('storage/segment-cache.js');
const { RecordList } = await load<typeof import('../../src/domain/record-list.js')>('domain/record-list.js');
const { encodeReadBatchList } =
  await load<typeof import('../../src/api/codec/proto-stored.js')>('api/codec/proto-stored.js');
const { ManualClock } = await load<typeof import('../../src/util/clock.js')>('util/clock.js');
const { seededRand } = await load<typeof import('../../src/util/rand.js')>('util/rand.js');

const root = mkdtempSync(join(tmpdir(), 'segment-reads-'));
const store = await openObjectStore(values.store === 'memory' ? { kind: 'memory' } : { kind: 'local', root });
const bodyBytes = Number(values.body ?? 1024);
const count = Math.ceil((50_000 * 1024) / bodyBytes);
const pool = randomBytes(4 << 20);
const records = Array.from({ length: count }, (_, i) => {
  const at = (i * bodyBytes) % (pool.length - bodyBytes);
  return {
    record: {
      seqNum: i,
      timestamp: BigInt(1_700_000_000_000 + i),
      headers: [],
      body: pool.subarray(at, at + bodyBytes),
    },
    expiresAtMs: null,
  };
});
const encoded = encodeSegment('s', 1, records, { blockBytes: 64 * 1024, compressMinBytes: 1 << 30 });
const segment = { key: 'segment/s/0', ...encoded.summary };
await store.put(segment.key, encoded.bytes);
const policy = { clock: new ManualClock(), rand: seededRand(1), timeoutMs: 0, log: () => {} };
const mib = encoded.bytes.length / (1 << 20);
for (let round = 0; round < Number(values.rounds ?? 12); round++) {
  const cache = new SegmentCache(store, policy, 64 << 20);
  const cpu = process.cpuUsage();
  const wall = performance.now();
  const footer = await cache.footer(segment);
  let list = new RecordList();
  let bytes = 0;
  for (let b = 0; b < footer.blocks.length; b++) {
    const view = await cache.block(segment, footer, b);
    for (let i = 0; i < view.count; i++) {
      list.pushStored(view, i, view.metered(i));
      if (list.length < 1000) continue;
      bytes += encodeReadBatchList(list, undefined, 16).length;
      list = new RecordList();
    }
  }
  if (list.length) bytes += encodeReadBatchList(list, undefined, 16).length;
  const used = process.cpuUsage(cpu);
  const cpuMsPerMiB = (used.user + used.system) / 1000 / mib;
  const wallMsPerMiB = (performance.now() - wall) / mib;
  console.log(
    JSON.stringify({ round, cpuMsPerMiB: +cpuMsPerMiB.toFixed(3), wallMsPerMiB: +wallMsPerMiB.toFixed(3), bytes }),
  );
}
await store.close?.();
rmSync(root, { recursive: true, force: true });
