/**
 * `npm run sim -- --seeds 1..500 [--bug NAME] [--duration MS] [--trace] [--history FILE] [--zombie-reads]`
 *
 * Runs the deterministic simulation (run.ts) for each seed and checks every history. A failing seed
 * prints its checker report and the command that replays it exactly; the exit code is 1 if any
 * seed failed. `--trace` prints a seed's whole trace (faults, crashes, history lines), `--history`
 * writes its history for `s2-lite verify check`.
 */
import { writeFileSync } from 'node:fs';
import { bugNames, type BugName } from './bugs.js';
import { replayCommand, runSimulation } from './run.js';

interface Args {
  seeds: number[];
  bug?: BugName;
  durationMs?: number;
  trace: boolean;
  history?: string;
  zombieReads: boolean;
}

function usage(message: string): never {
  process.stderr.write(
    `error: ${message}\nusage: npm run sim -- --seeds 1..N [--bug ${bugNames.join('|')}] [--duration MS] [--trace] [--history FILE] [--zombie-reads]\n`,
  );
  process.exit(2);
}

function parseSeeds(text: string): number[] {
  const range = /^(\d+)(?:\.\.(\d+))?$/.exec(text);
  if (!range) usage(`--seeds takes N or A..B, got ${text}`);
  const from = Number(range[1]);
  const to = range[2] === undefined ? from : Number(range[2]);
  if (to < from) usage(`empty seed range ${text}`);
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

function parseArgs(argv: string[]): Args {
  const args: Args = { seeds: [1], trace: false, zombieReads: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => argv[++i] ?? usage(`${flag} needs a value`);
    if (flag === '--seeds' || flag === '--seed') args.seeds = parseSeeds(value());
    else if (flag === '--bug') {
      const bug = value();
      if (!bugNames.includes(bug as BugName)) usage(`unknown bug ${bug}`);
      args.bug = bug as BugName;
    } else if (flag === '--duration') args.durationMs = Number(value());
    else if (flag === '--trace') args.trace = true;
    else if (flag === '--history') args.history = value();
    else if (flag === '--zombie-reads') args.zombieReads = true;
    else usage(`unknown flag ${flag}`);
  }
  return args;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const failed: number[] = [];
  let operations = 0;
  for (const seed of args.seeds) {
    const result = await runSimulation({
      seed,
      bug: args.bug,
      durationMs: args.durationMs,
      zombieReads: args.zombieReads,
      verbose: args.trace,
    });
    operations += result.check.stats.operations;
    if (args.trace) process.stdout.write(result.trace.join('\n') + '\n');
    if (args.history) writeFileSync(args.history, result.history.join('\n') + '\n');
    if (!result.ok) {
      failed.push(seed);
      process.stdout.write(`seed ${seed} FAILED (trace ${result.traceHash}): ${result.check.summary}\n`);
      if (result.hung > 0) process.stdout.write(`${result.hung} clients never finished their operation\n`);
      if (result.check.report) process.stdout.write(`${result.check.report}\n`);
      process.stdout.write(`replay: ${replayCommand(seed, args.bug, args.durationMs)}\n`);
    } else if (args.seeds.length === 1) {
      process.stdout.write(`seed ${seed} ok (trace ${result.traceHash}): ${result.check.summary}\n`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `${args.seeds.length - failed.length}/${args.seeds.length} seeds linearizable, ${operations} operations, ` +
      `${seconds.toFixed(1)} s (${(args.seeds.length / seconds).toFixed(1)} seeds/s)` +
      (failed.length > 0 ? `; failed: ${failed.join(' ')}` : '') +
      '\n',
  );
  process.exitCode = failed.length > 0 ? 1 : 0;
}

await main();
