/**
 * Runs the @durable-streams/server reference implementation as its own process, so it gets its own
 * event loop like every other server under test. Usage: durable-streams-server.ts PORT [DATA_DIR]
 * (with DATA_DIR: file mode, a segment log plus fdatasync and an LMDB commit per append; without: memory).
 * The benchmark reads its event-loop lag through the loop probe (bench/lib/loop-probe.ts).
 */
import { DurableStreamTestServer } from '@durable-streams/server';
import { installLoopProbe } from '../lib/loop-probe.js';

installLoopProbe();
const port = Number(process.argv[2]);
const dataDir = process.argv[3];
const server = new DurableStreamTestServer({ port, host: '127.0.0.1', ...(dataDir ? { dataDir } : {}) });
await server.start();
process.stdout.write(
  `durable-streams listening on ${server.url} (${dataDir ? `file mode, ${dataDir}` : 'memory mode'})\n`,
);
const stop = async () => {
  await server.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
