/**
 * What the server itself spent during one phase of a run (the writes of a workload, a catch-up read):
 * CPU seconds of the process (all its threads, from /proc, so it works for every system), and for
 * Node servers the event-loop lag and GC time over exactly that phase.
 *
 * Lag comes from `monitorEventLoopDelay` with a 10 ms resolution: ours exports it in `/metrics`
 * (prom-client's `nodejs_eventloop_lag_*_seconds`, whose histogram is reset at every scrape, so a
 * scrape at the start of the phase and one at its end bound the window exactly); the Node peers run
 * `loop-probe.ts`, read by signal. The histogram records the interval between timer wake-ups, which
 * is at least the 10 ms resolution when the loop is idle, so lag = interval - 10 ms (floored at 0):
 * "lag p99 <= 10 ms" then means that 99% of the 10 ms ticks fired less than 10 ms late.
 */
import { existsSync, readFileSync } from 'node:fs';
import { LOOP_RESOLUTION_MS, type ProbeSnapshot } from './loop-probe.js';
import { request } from './http.js';
import { cpuSeconds, sleep } from './procs.js';
import { round } from './stats.js';
import type { LoopSource } from './types.js';

export interface PhaseStats {
  /** Server CPU seconds (user + system, every thread) during the phase. */
  cpuS: number;
  /** Benchmark-process CPU seconds during the phase (load generator and readers): is the client the limit? */
  clientCpuS: number;
  wallS: number;
  /** Event-loop lag beyond the sampling interval, ms (Node servers only). */
  loopP99Ms?: number;
  loopMaxMs?: number;
  loopMeanMs?: number;
  /** Loop samples behind the percentiles (about one per 10 ms of an idle loop). */
  loopSamples?: number;
  /** Time in garbage collection during the phase, ms (Node servers only). */
  gcMs?: number;
}

interface LoopRead {
  p99Ns: number;
  maxNs: number;
  meanNs: number;
  count: number;
  /** Cumulative GC ns for /metrics (diffed), GC ns since the last read for the probe. */
  gcNs: number;
}

const metricValue = (text: string, name: string): number => {
  const m = new RegExp(`^${name} ([0-9.eE+-]+|NaN)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
};

async function scrape(port: number): Promise<LoopRead> {
  const res = await request(undefined, port, 'GET', '/metrics', undefined, {}, 10_000);
  if (res.status !== 200) throw new Error(`GET /metrics: HTTP ${res.status}`);
  const text = res.body.toString('utf8');
  let gcS = 0;
  for (const m of text.matchAll(/^nodejs_gc_duration_seconds_sum\{[^}]*\} ([0-9.eE+-]+)$/gm)) gcS += Number(m[1]);
  const s = (name: string) => metricValue(text, `nodejs_eventloop_lag_${name}_seconds`) * 1e9;
  // prom-client exports no sample count; a 10 ms tick gives about mean-interval-many per second.
  return { p99Ns: s('p99'), maxNs: s('max'), meanNs: s('mean'), count: NaN, gcNs: gcS * 1e9 };
}

async function signalProbe(pid: number, file: string): Promise<LoopRead> {
  const before = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ProbeSnapshot).seq : 0;
  process.kill(pid, 'SIGUSR2');
  // Generous: on a loaded machine a process can wait seconds for a CPU to run its signal handler.
  for (let i = 0; i < 1000; i++) {
    await sleep(10);
    if (!existsSync(file)) continue;
    try {
      const snap = JSON.parse(readFileSync(file, 'utf8')) as ProbeSnapshot;
      if (snap.seq > before) return snap;
    } catch {
      // Read while being written: try again.
    }
  }
  throw new Error(`loop probe of pid ${pid} did not answer within 10 s`);
}

const lagMs = (ns: number) => (Number.isFinite(ns) ? round(Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS), 2) : NaN);

export interface PhaseMark {
  cpu: number;
  client: NodeJS.CpuUsage;
  t: number;
  gcNs: number;
}

/** Brackets phases of a run on one server: `begin()` before, `end(mark)` after. */
export class ServerMeter {
  constructor(
    private readonly pid: () => number,
    private readonly loop?: LoopSource,
  ) {}

  private read(): Promise<LoopRead | undefined> {
    if (!this.loop) return Promise.resolve(undefined);
    return this.loop.kind === 'metrics' ? scrape(this.loop.port) : signalProbe(this.pid(), this.loop.file);
  }

  /** Starts a phase: resets the server's lag histogram and notes the CPU and GC totals so far. */
  async begin(): Promise<PhaseMark> {
    const r = await this.read();
    return { cpu: cpuSeconds(this.pid()), client: process.cpuUsage(), t: performance.now(), gcNs: r?.gcNs ?? NaN };
  }

  async end(mark: PhaseMark): Promise<PhaseStats> {
    const cpu = cpuSeconds(this.pid());
    const client = process.cpuUsage(mark.client);
    const wallS = (performance.now() - mark.t) / 1000;
    const r = await this.read();
    const out: PhaseStats = {
      cpuS: round(cpu - mark.cpu, 2),
      clientCpuS: round((client.user + client.system) / 1e6, 2),
      wallS: round(wallS, 3),
    };
    if (r) {
      out.loopP99Ms = lagMs(r.p99Ns);
      out.loopMaxMs = lagMs(r.maxNs);
      out.loopMeanMs = lagMs(r.meanNs);
      if (Number.isFinite(r.count)) out.loopSamples = r.count;
      // /metrics' GC sum is cumulative; the probe's starts over at every read.
      out.gcMs = round((this.loop!.kind === 'metrics' ? r.gcNs - mark.gcNs : r.gcNs) / 1e6, 1);
    }
    return out;
  }
}
