/**
 * Crash-test driver, run as its own process: `node --import tsx test/storage/crash-driver.ts <dir>`.
 * Opens the log on a local directory (the real local-disk store, as `serve --local-root` opens it:
 * fsync before a put resolves, transient errors retried), then appends pipelined batches to stream `crash` forever,
 * printing `ack <first> <last>` for each batch as its commit resolves (commits resolve in order).
 * The test kills it with SIGKILL and checks every acknowledged record survived.
 * stdout on a pipe is synchronous on Linux, so every printed ack reached the test.
 */
import { openObjectStore } from '../../src/objectstore/index.js';
import { ChunkLog } from '../../src/storage/chunk-log.js';
import { crashStream, crashRecord } from './crash-shared.js';
import { createStream } from './helpers.js';

const inFlightMax = 16;

async function main(dir: string): Promise<void> {
  const log = await ChunkLog.open(await openObjectStore({ kind: 'local', root: dir }), {
    chunksInFlightMax: 4,
    // Small thresholds so that crashes also hit checkpoints, segment writes and GC.
    checkpointChunks: 25,
    checkpointBytes: 256 * 1024,
    blockBytes: 2048,
    checkpointIntervalMs: 200,
    gcIntervalMs: 300,
  });
  log.subscribe({
    durableThrough: () => {},
    failed: (error) => {
      process.stderr.write(`log failed: ${error.message}\n`);
      process.exit(2);
    },
  });
  const existing = log.recovered().streams.find((s) => s.id === crashStream);
  if (!existing) await log.commit(createStream(crashStream));
  let next = existing?.tail.seqNum ?? 0;
  process.stdout.write(`ready ${next}\n`);
  let inFlight = 0;
  const pump = (): void => {
    while (inFlight < inFlightMax) {
      const first = next;
      const count = 1 + (first % 5);
      next += count;
      const records = Array.from({ length: count }, (_, i) => crashRecord(first + i));
      inFlight++;
      log
        .commit([
          {
            kind: 'append',
            stream: crashStream,
            records,
            tail: { seqNum: next, timestamp: records[count - 1].timestamp },
            fencingToken: first % 7 === 0 ? `token-${first}` : undefined,
            writtenAtMs: Date.now(),
            expiresAtMs: null,
          },
        ])
        .then(() => {
          process.stdout.write(`ack ${first} ${first + count - 1}\n`);
          inFlight--;
          pump();
        })
        .catch((error: unknown) => {
          process.stderr.write(`commit failed: ${(error as Error).message}\n`);
          process.exit(3);
        });
    }
  };
  pump();
}

main(process.argv[2]).catch((error: unknown) => {
  process.stderr.write(`driver failed: ${(error as Error).stack}\n`);
  process.exit(1);
});
