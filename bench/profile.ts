/**
 * Profiling driver: one workload shape against an already running server (started by hand, e.g.
 * under `node --cpu-prof`), so a profile covers only the load. Not part of the report.
 *
 *   node --import tsx bench/profile.ts <baseUrl> <basin> <recordBytes> <batch> <window> <seconds> [catchup|N]
 *
 * The last argument reads the stream back from the start once (`catchup`) or N times.
 */
import { createBasin, openS2Lite } from './ours/client.js';
import { runProducer } from './lib/harness.js';
import { nowNs } from './lib/stats.js';

const [baseUrl = 'http://127.0.0.1:8080', basin = 'prof', rb = '1024', b = '1', w = '64', s = '10', cu] =
  process.argv.slice(2);
await createBasin(baseUrl, basin);
const a = await openS2Lite(baseUrl, basin);
const stream = `p-${Date.now()}`;
await a.createStream(stream);
const writer = await a.writer(stream, Number(w), { session: process.env.SESSION === '1' });
const r = await runProducer(writer, {
  recordBytes: Number(rb),
  batch: Number(b),
  window: Number(w),
  seconds: Number(s),
  targetMiBps: 0,
});
console.log(
  JSON.stringify({ recs: r.recordsPerSec, mibps: r.mibps, p50: r.ack.p50, p99: r.ack.p99, errors: r.errors }),
);
for (let rep = 0; cu && rep < Number(cu === 'catchup' ? 1 : cu); rep++) {
  let n = 0;
  let bytes = 0;
  const t0 = nowNs();
  await a.catchup(stream, Number(rb), (_h, len) => {
    n++;
    bytes += len;
  });
  const sec = (nowNs() - t0) / 1e9;
  console.log(JSON.stringify({ catchupRecs: n, catchupMiBps: bytes / 1048576 / sec }));
}
await writer.close();
await a.close();
