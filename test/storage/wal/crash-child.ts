/**
 * Crash-test child, run as its own process: `node --import tsx test/storage/wal/crash-child.ts <dir> <folded>`.
 * Recovers the log in `dir` after chunk `folded`, starts a writer, then appends chunks with up to
 * 16 in flight forever, printing `durable <id>` as each append resolves. Every 300 chunks it
 * "folds" (prints `fold <id>` before releasing the files up to it, as a checkpoint would after its
 * manifest is durable). The test kills it with SIGKILL. stdout on a pipe is synchronous on Linux,
 * so every printed line reached the test.
 */
import { Wal, WalRecovery } from '../../../src/storage/wal/index.js';
import { bodyFor } from './helpers.js';

const inFlightMax = 16;

async function main(dir: string, folded: number): Promise<void> {
  const recovery = await WalRecovery.open(dir, folded);
  for await (const _ of recovery.frames());
  const wal = await Wal.start(recovery, {
    epoch: recovery.lastEpoch + 1,
    fileBytes: 256 * 1024,
    frameBytesMax: 8 * 1024,
    ringBytes: 64 * 1024,
    spareFilesMax: 1,
  });
  process.stdout.write(`ready ${wal.openingChunkId}\n`);
  let inFlight = 0;
  let releasing = false;
  const pump = (): void => {
    while (inFlight < inFlightMax) {
      const id = wal.nextChunkId;
      inFlight++;
      wal.append(id, bodyFor(id, 4000)).then(
        () => {
          process.stdout.write(`durable ${id}\n`);
          inFlight--;
          if (id % 300 === 0 && !releasing) {
            releasing = true;
            const fold = id - 150;
            process.stdout.write(`fold ${fold}\n`);
            void wal.releaseThrough(fold).finally(() => (releasing = false));
          }
          pump();
        },
        (error: Error) => {
          process.stderr.write(`append failed: ${error.message}\n`);
          process.exit(2);
        },
      );
    }
  };
  pump();
}

await main(process.argv[2], Number(process.argv[3]));
