/**
 * One seeded run of the deterministic simulation: the engine and storage in this process on a
 * manual clock, the fault-injecting object store over one shared in-memory store, simulated
 * clients (the same client loop as `s2-lite verify collect`) and a fault schedule, all drawn from
 * one seed. The history the clients write is checked for linearizability; the trace (history lines
 * plus every fault, crash and takeover, with simulated times) is hashed so two runs of one seed can
 * be compared.
 *
 * Faults (see docs/testing.md for what each covers):
 *   latency          store calls take longer (chunk puts pile up, commits pipeline)
 *   fail             a call fails before reaching the store (a 5xx or a reset)
 *   conflict         a conditional put gets S3's 409 ConditionalRequestConflict
 *   lost-response    a put lands but its response is lost (the writer must find out it was its own)
 *   crash            kill -9: the process and its memory are gone; a new one recovers later
 *   crash-after      the process dies right after a chunk put reached the store
 *   takeover         a second process opens the same store (fencing the first), traffic moves to
 *                    it, and the first is killed a little later
 * A process whose log stopped (fenced, or store retries exhausted) is restarted like a crashed one.
 */
import { createHash } from 'node:crypto';
import { MemoryObjectStore } from '../src/objectstore/memory.js';
import type { FaultRule } from '../src/objectstore/faulty.js';
import type { ChunkLogOptions } from '../src/storage/chunk-log.js';
import { ManualClock } from '../src/util/clock.js';
import { randInt, seededRand, type Rand } from '../src/util/rand.js';
import { checkHistory, type CheckResult } from '../src/verify/checker.js';
import { ChainCache, HistoryRecorder, runClient } from '../src/verify/clients.js';
import type { ParsedLine } from '../src/verify/history.js';
import { defaultWorkload, Knowledge } from '../src/verify/workload.js';
import { EngineTransport, SimProcess } from './adapter.js';
import { injectBug, type BugName } from './bugs.js';

export interface SimOptions {
  seed: number;
  bug?: BugName;
  /** Simulated time during which clients run and faults strike (default 1 s). */
  durationMs?: number;
  /**
   * After a takeover, keep sending reads and check-tails to the superseded process until it is
   * killed, as a client with a stale route would (off by default: see docs/testing.md).
   */
  zombieReads?: boolean;
  /** Also trace which process served each append and how it ended. */
  verbose?: boolean;
}

export interface SimResult {
  seed: number;
  ok: boolean;
  check: CheckResult;
  /** Clients still stuck in an operation long after every fault healed. */
  hung: number;
  traceHash: string;
  trace: string[];
  history: string[];
  faults: number;
  crashes: number;
  takeovers: number;
  simulatedMs: number;
}

/** The command that replays one seed exactly, with its trace. */
export function replayCommand(seed: number, bug?: BugName, durationMs?: number): string {
  return `npm run sim -- --seeds ${seed}${bug ? ` --bug ${bug}` : ''}${durationMs ? ` --duration ${durationMs}` : ''} --trace`;
}

const basin = 'sim-basin-01';
const stream = 'verify';
/** After the workload, how long (simulated) every client gets to finish its last operation. */
const settleMsMax = 120_000;

function childRand(rand: Rand): Rand {
  return seededRand(Math.floor(rand.next() * 0x1_0000_0000));
}

/** Storage tuning drawn per seed: small thresholds so checkpoints, segments and GC all happen. */
function logOptions(rand: Rand): ChunkLogOptions {
  const checkpointBytes = randInt(rand, 2, 64) * 1024;
  return {
    flushIntervalMs: rand.next() < 0.5 ? 0 : randInt(rand, 1, 30),
    chunksInFlightMax: randInt(rand, 1, 4),
    checkpointBytes,
    checkpointChunks: randInt(rand, 2, 20),
    checkpointIntervalMs: randInt(rand, 50, 500),
    memoryTailBytesMax: checkpointBytes * 4,
    gcIntervalMs: randInt(rand, 100, 1000),
    manifestPollIntervalMs: randInt(rand, 50, 500),
    blockBytes: randInt(rand, 1, 8) * 512,
    segmentBytesMax: 16 * 1024,
    segmentMergeBytesMax: rand.next() < 0.5 ? 0 : 4096,
    storeRetryTimeoutMs: randInt(rand, 1_000, 10_000),
  };
}

function faultRule(rand: Rand): FaultRule {
  const kinds = ['latency', 'fail', 'conflict', 'lost-response'] as const;
  const mode = kinds[randInt(rand, 0, kinds.length - 1)]!;
  const prefixes = ['chunk/', 'manifest/', 'segment/', undefined];
  const prefix = prefixes[randInt(rand, 0, prefixes.length - 1)];
  const ops = ['put', 'get', 'head', 'list'] as const;
  switch (mode) {
    case 'latency':
      return { mode, prefix, latencyMs: randInt(rand, 1, 80), probability: 0.5, times: randInt(rand, 5, 40) };
    case 'fail':
      return { mode, op: ops[randInt(rand, 0, ops.length - 1)], prefix, probability: 0.5, times: randInt(rand, 1, 6) };
    case 'conflict':
    case 'lost-response':
      return { mode, op: 'put', prefix, times: randInt(rand, 1, 3) };
  }
}

export async function runSimulation(options: SimOptions): Promise<SimResult> {
  const rand = seededRand(options.seed);
  const clock = new ManualClock();
  const shared = new MemoryObjectStore();
  const trace: string[] = [];
  const history: string[] = [];
  const parsed: ParsedLine[] = [];
  const note = (text: string) => trace.push(`@${clock.monotonicMs()} ${text}`);
  const recorder = new HistoryRecorder((text, event) => {
    history.push(text);
    parsed.push({ line: history.length, text, event });
    trace.push(text);
  });
  const tuning = logOptions(rand);
  note(`log ${JSON.stringify(tuning)}`);
  let current: SimProcess | null = null;
  /** The process a takeover superseded, until it is killed. */
  let superseded: SimProcess | null = null;
  let opening = false;
  let names = 0;
  const counts = { faults: 0, crashes: 0, takeovers: 0 };

  const open = () =>
    SimProcess.start({
      name: `p${names++}`,
      shared,
      clock,
      rand: childRand(rand),
      log: tuning,
      wrapLog: injectBug(options.bug),
    });

  /** Advances simulated time until `promise` settles. */
  async function until<T>(promise: Promise<T>): Promise<T> {
    let settled = false;
    promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (let waited = 0; !settled && waited < settleMsMax; waited += 5) await clock.advance(5);
    return promise;
  }

  /** Starts a new process in the background; traffic moves to it once it is up. */
  function startProcess(delayMs: number, then?: (previous: SimProcess | null) => void): void {
    opening = true;
    clock.setTimer(delayMs, () => {
      open().then(
        (process) => {
          note(`${process.name} up`);
          const previous = current;
          current = process;
          opening = false;
          then?.(previous);
        },
        (error: Error) => {
          note(`open failed: ${error.message}`);
          startProcess(randInt(rand, 10, 100), then);
        },
      );
    });
  }

  function kill(process: SimProcess, why: string): void {
    if (!process.alive) return;
    note(`kill ${process.name} (${why})`);
    process.kill();
    if (current === process) current = null;
  }

  function crashAndRestart(why: string): void {
    if (!current || opening) return;
    counts.crashes++;
    kill(current, why);
    startProcess(randInt(rand, 5, 200));
  }

  function strike(): void {
    const roll = rand.next();
    if (roll < 0.55) {
      if (!current) return;
      const rule = faultRule(rand);
      current.store.faults.add(rule);
      counts.faults++;
      note(`fault ${current.name} ${JSON.stringify(rule)}`);
    } else if (roll < 0.7) {
      crashAndRestart('crash');
    } else if (roll < 0.8) {
      if (!current) return;
      current.store.faults.add({ mode: 'crash-after', op: 'put', prefix: 'chunk/', times: 1 });
      counts.faults++;
      note(`fault ${current.name} crash-after`);
    } else if (roll < 0.9) {
      if (!current || opening) return;
      counts.takeovers++;
      note('takeover');
      const delay = randInt(rand, 20, 500);
      startProcess(0, (previous) => {
        if (!previous) return;
        superseded = previous;
        clock.setTimer(delay, () => kill(previous, 'superseded'));
      });
    } else if (current) {
      current.store.faults.clear();
      note(`heal ${current.name}`);
    }
  }

  current = await until(open());
  note(`${current.name} up`);
  await until(current.engine.createBasin(basin, { createStreamOnAppend: false, createStreamOnRead: false }));
  await until(current.engine.createStream(basin, stream, {}));

  const readRoute = () => (options.zombieReads && superseded?.alive ? superseded : current);
  const transport = new EngineTransport(
    () => current,
    basin,
    stream,
    readRoute,
    (line) => {
      if (options.verbose) note(line);
    },
  );
  const knowledge = new Knowledge();
  const chainCache = new ChainCache();
  let stopping = false;
  let running = 0;
  const clients = randInt(rand, 2, 6);
  for (let slot = 0; slot < clients; slot++) {
    running++;
    void runClient({
      transport,
      recorder,
      knowledge,
      chainCache,
      rand: childRand(rand),
      workload: { ...defaultWorkload, batchMax: 6, bodyPadMax: 12 },
      tag: `c${slot}`,
      sleep: (ms) => clock.sleep(ms),
      thinkMs: [0, 20],
      failurePauseMs: 20,
      done: () => stopping,
    }).finally(() => running--);
  }

  const endMs = clock.monotonicMs() + (options.durationMs ?? 1_000);
  while (clock.monotonicMs() < endMs) {
    await clock.advance(randInt(rand, 1, 10));
    if (current && (current.store.isCrashed || !current.engine.health().ok)) {
      crashAndRestart(current.store.isCrashed ? 'store died after a put' : 'log stopped');
    }
    if (rand.next() < 0.02) strike();
  }

  // Heal: no more faults; a live process to finish on; every client completes its operation.
  stopping = true;
  note('stop');
  current?.store.faults.clear();
  for (let waited = 0; running > 0 && waited < settleMsMax; waited += 10) {
    if (current && (current.store.isCrashed || !current.engine.health().ok)) crashAndRestart('log stopped');
    if (!current && !opening) startProcess(0);
    await clock.advance(10);
  }
  const hung = running;
  if (hung > 0) note(`${hung} clients still in an operation`);
  recorder.close();
  const check = checkHistory(parsed, { maxSteps: 5_000_000 });
  note(check.summary);
  const traceHash = createHash('sha256').update(trace.join('\n')).digest('hex').slice(0, 16);
  return {
    seed: options.seed,
    ok: check.verdict === 'linearizable' && hung === 0,
    check,
    hung,
    traceHash,
    trace,
    history,
    ...counts,
    simulatedMs: clock.monotonicMs(),
  };
}
