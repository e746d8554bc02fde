#!/usr/bin/env node
/**
 * How long embedding takes (docs/embedding.md, "How fast"): importing the package, starting an
 * in-memory server, a reset and a stop, in this process. Run after `npm run build`:
 *
 *   node scripts/embed-timing.mjs [rounds]
 *
 * Prints milliseconds: the import and the first start once, then the median and the worst of
 * `rounds` (default 50) further starts, resets (with a basin and an appended record to wipe)
 * and stops.
 */
import { performance } from 'node:perf_hooks';

const rounds = Number(process.argv[2] ?? 50);
const t0 = performance.now();
const { S2Lite } = await import('../dist/index.js');
const { AppendInput, AppendRecord, S2 } = await import('@s2-dev/streamstore');
const importMs = performance.now() - t0;

async function timed(fn) {
  const start = performance.now();
  const result = await fn();
  return [performance.now() - start, result];
}

const [firstStartMs, first] = await timed(() => S2Lite.start({ logLevel: 'silent' }));
await first.stop();

const starts = [];
const resets = [];
const stops = [];
for (let i = 0; i < rounds; i++) {
  const [startMs, lite] = await timed(() => S2Lite.start({ logLevel: 'silent' }));
  starts.push(startMs);
  const s2 = new S2(lite.sdkOptions);
  await s2.basins.create({ basin: 'timing-basin', config: { createStreamOnAppend: true } });
  await s2
    .basin('timing-basin')
    .stream('s')
    .append(AppendInput.create([AppendRecord.string({ body: 'x' })]));
  resets.push((await timed(() => lite.reset()))[0]);
  stops.push((await timed(() => lite.stop()))[0]);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (ms) => Math.round(ms * 10) / 10;
const summary = (xs) => ({ median: round(median(xs)), max: round(Math.max(...xs)) });
console.log(
  JSON.stringify(
    {
      node: process.version,
      rounds,
      importMs: round(importMs),
      firstStartMs: round(firstStartMs),
      startMs: summary(starts),
      resetMs: summary(resets),
      stopMs: summary(stops),
    },
    null,
    2,
  ),
);
