/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`) for the docs, optionally within a time
 * window and against a stall timeline from `bench/lag-trace.mjs`:
 *
 * - shares of idle, GC and busy time; the top functions by self time; the top frames of our own code
 *   (deepest `dist/` or `src/` frame on each sample's stack, so node internals are charged to the
 *   function of ours that called them) by self and by inclusive time;
 * - for every event-loop stall: when, how long, GC inside it, and what the samples inside it were.
 *
 *   node --import tsx bench/profile-analyze.ts PROFILE [--lag FILE] [--from US --to US] [--top N]
 *
 * Timestamps are CLOCK_MONOTONIC microseconds, the clock of both the profile and the lag trace.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}
export interface LagTrace {
  startedUs: number;
  endedUs: number;
  ticks: number;
  minUs: number;
  /** [startUs, durationUs, main-thread CPU us, main-thread runqueue wait us] */
  stalls: [number, number, number, number][];
  gcs: [number, number, string][];
}

/** `dist/storage/x.js:12`, `node:internal/...:3`, `(garbage collector)`: short and machine-independent. */
function where(f: CallFrame): string {
  if (!f.url) return '';
  const m = /\/((?:dist|src|bench|node_modules)\/.*)$/.exec(f.url.replace(/^file:\/\//, ''));
  return `${m ? m[1] : f.url}:${f.lineNumber + 1}`;
}
const label = (f: CallFrame) => {
  const w = where(f);
  return w ? `${f.functionName || '(anonymous)'} ${w}` : f.functionName;
};
const isOurs = (f: CallFrame) => /\/(dist|src)\//.test(f.url) && !f.url.includes('node_modules');

/** One sample: when, how much time it stands for, its leaf node. */
interface Sample {
  t: number;
  w: number;
  node: number;
}

export class ProfileIndex {
  readonly byId = new Map<number, ProfileNode>();
  readonly parent = new Map<number, number>();
  readonly samples: Sample[] = [];
  readonly intervalUs: number;

  constructor(readonly p: CpuProfile) {
    for (const n of p.nodes) {
      this.byId.set(n.id, n);
      for (const c of n.children ?? []) this.parent.set(c, n.id);
    }
    // Every sample stands for the sampling interval (the median gap): on a loaded machine a gap
    // between two samples is mostly time the process was not running, which is no function's.
    const gaps = p.timeDeltas.slice(1).sort((a, b) => a - b);
    this.intervalUs = gaps[gaps.length >> 1] ?? 1000;
    let t = p.startTime;
    for (let i = 0; i < p.samples.length; i++) {
      t += p.timeDeltas[i] ?? 0;
      this.samples.push({ t, w: this.intervalUs, node: p.samples[i]! });
    }
  }

  frame(id: number): CallFrame {
    return this.byId.get(id)!.callFrame;
  }

  /** The stack of a leaf, leaf first. */
  stack(id: number): CallFrame[] {
    const out: CallFrame[] = [];
    for (let n: number | undefined = id; n !== undefined; n = this.parent.get(n)) out.push(this.frame(n));
    return out;
  }

  window(from = -Infinity, to = Infinity): Sample[] {
    return this.samples.filter((s) => s.t >= from && s.t < to);
  }
}

export interface Breakdown {
  totalMs: number;
  idleMs: number;
  gcMs: number;
  busyMs: number;
  self: [string, number][];
  oursSelf: [string, number][];
  oursInclusive: [string, number][];
}

const SPECIAL = new Set(['(idle)', '(garbage collector)', '(program)', '(root)']);

export function breakdown(ix: ProfileIndex, samples: Sample[], top = 15): Breakdown {
  const self = new Map<string, number>();
  const oursSelf = new Map<string, number>();
  const oursIncl = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  let idle = 0;
  let gc = 0;
  let total = 0;
  for (const s of samples) {
    total += s.w;
    const leaf = ix.frame(s.node);
    if (leaf.functionName === '(idle)') {
      idle += s.w;
      continue;
    }
    if (leaf.functionName === '(garbage collector)') gc += s.w;
    add(self, label(leaf), s.w);
    const stack = ix.stack(s.node);
    const mine = stack.find(isOurs);
    // Outside our code: name the callback the event loop entered (the frame just below the root).
    const entry = stack.length >= 2 ? stack[stack.length - 2]! : leaf;
    add(
      oursSelf,
      mine ? label(mine) : SPECIAL.has(leaf.functionName) ? leaf.functionName : `(no frame of ours) ${label(entry)}`,
      s.w,
    );
    const seen = new Set<string>();
    for (const f of stack) {
      if (!isOurs(f)) continue;
      const k = label(f);
      if (seen.has(k)) continue;
      seen.add(k);
      add(oursIncl, k, s.w);
    }
  }
  const ms = (us: number) => us / 1000;
  const topOf = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, v]) => [k, ms(v)] as [string, number]);
  return {
    totalMs: ms(total),
    idleMs: ms(idle),
    gcMs: ms(gc),
    busyMs: ms(total - idle),
    self: topOf(self),
    oursSelf: topOf(oursSelf),
    oursInclusive: topOf(oursIncl),
  };
}

/**
 * Components of our server a sample is charged to: the frame nearest the leaf that matches a rule
 * names it (so `writev` under `send` counts as the response, prom-client under the append as metrics).
 */
const COMPONENTS: [string, (f: CallFrame) => boolean][] = [
  ['metrics (prom-client)', (f) => f.url.includes('node_modules/prom-client')],
  ['logging (pino)', (f) => f.url.includes('node_modules/pino') || f.functionName === 'logRequest'],
  [
    'abort signals',
    (f) => /AbortSignal|AbortController|^abort$/.test(f.functionName) || f.functionName === 'closeSignal',
  ],
  ['zstd', (f) => f.url.includes('node_modules/zstd-napi')],
  ['routing', (f) => /\/api\/router\.[jt]s/.test(f.url)],
  ['response (writeHead, end, socket write)', (f) => /\/api\/http\.[jt]s/.test(f.url) && f.functionName === 'send'],
  ['request body (read, concat)', (f) => /\/api\/http\.[jt]s/.test(f.url)],
  ['protobuf codec', (f) => /\/api\/codec\//.test(f.url)],
  ['S2S sessions (frames, followers)', (f) => /\/api\/(s2s|sessions)\//.test(f.url)],
  ['api handlers, request context', (f) => /\/api\//.test(f.url)],
  ['engine (sequencing, followers)', (f) => /\/engine\//.test(f.url)],
  ['storage (commit encoding, chunks, state, reads)', (f) => /\/(storage|objectstore)\//.test(f.url)],
  ['other code of ours', (f) => isOurs(f)],
  [
    'node: HTTP parser and server',
    (f) => /_http_|http_common|node:http/.test(f.url) || f.functionName.startsWith('parserOn'),
  ],
  [
    'node: streams and sockets',
    (f) => /stream|net\.js|node:net/.test(f.url) || /^writev|^writeBuffer|^writeUtf8String/.test(f.functionName),
  ],
  ['node: promises, ticks, timers', (f) => /task_queues|timers|promise/.test(f.url)],
];

export function components(ix: ProfileIndex, samples: Sample[]): [string, number][] {
  const by = new Map<string, number>();
  for (const s of samples) {
    const leaf = ix.frame(s.node);
    if (leaf.functionName === '(idle)') continue;
    let name: string | undefined;
    if (SPECIAL.has(leaf.functionName)) name = leaf.functionName;
    else {
      // Node internals count for the component of ours (or the library) that called them; the node:
      // rules apply only to samples with no frame of ours or of a named library on the stack.
      const stack = ix.stack(s.node);
      for (const f of stack) {
        name = COMPONENTS.find(([k, test]) => !k.startsWith('node:') && test(f))?.[0];
        if (name) break;
      }
      for (let i = 0; !name && i < stack.length; i++) name = COMPONENTS.find(([, test]) => test(stack[i]!))?.[0];
    }
    name ??= '(other)';
    by.set(name, (by.get(name) ?? 0) + s.w / 1000);
  }
  return [...by.entries()].sort((a, b) => b[1] - a[1]);
}

export function renderComponents(
  rows: [string, number][],
  title: string,
  perUnit?: { n: number; unit: string },
): string {
  const busy = rows.reduce((a, [, v]) => a + v, 0);
  const out = [`#### ${title}`, '', `| component | ms | share of busy |${perUnit ? ` µs per ${perUnit.unit} |` : ''}`];
  out.push(`| --- | ---: | ---: |${perUnit ? ' ---: |' : ''}`);
  for (const [k, v] of rows) {
    const per = perUnit ? ` ${((v * 1000) / perUnit.n).toFixed(1)} |` : '';
    out.push(`| ${k} | ${v.toFixed(0)} | ${pct(v, busy)} |${per}`);
  }
  return out.join('\n');
}

const pct = (x: number, of: number) => (of > 0 ? `${((100 * x) / of).toFixed(1)}%` : '-');

export function renderBreakdown(b: Breakdown, title: string): string {
  const out = [`#### ${title}`, ''];
  out.push(
    `${b.totalMs.toFixed(0)} ms of samples (sample count x interval): busy ${pct(b.busyMs, b.totalMs)}, idle ${pct(b.idleMs, b.totalMs)}, ` +
      `GC ${pct(b.gcMs, b.totalMs)} (shares below are of busy time)`,
  );
  const list = (name: string, rows: [string, number][]) => {
    out.push('', `${name}:`, '');
    for (const [k, v] of rows) out.push(`- ${pct(v, b.busyMs)} ${v.toFixed(0)} ms \`${k}\``);
  };
  list('Top self time', b.self);
  list('Our deepest frame (node internals charged to the function of ours that called them)', b.oursSelf);
  list('Our functions, inclusive', b.oursInclusive);
  return out.join('\n');
}

/** A checkpoint on the stack: folding chunks into segments (storage/checkpoint.ts). */
const CHECKPOINT = (f: CallFrame) => /\/storage\/checkpoint\.[jt]s/.test(f.url);

/** Sampled ms of `samples` with a frame matching `test` on the stack. */
export function markedMs(ix: ProfileIndex, samples: Sample[], test: (f: CallFrame) => boolean): number {
  let us = 0;
  for (const s of samples) if (ix.stack(s.node).some(test)) us += s.w;
  return us / 1000;
}

/** Every stall of at least `minMs` in the window: its GC and its samples, plus the stalls' aggregate. */
export function renderStalls(
  ix: ProfileIndex,
  lag: LagTrace,
  from: number,
  to: number,
  minMs: number,
  top: number,
): string {
  const stalls = lag.stalls.filter(([s, d]) => s >= from && s < to && d >= minMs * 1000);
  const span = (Math.min(to, lag.endedUs) - Math.max(from, lag.startedUs)) / 1e6;
  const out = [`#### Event-loop stalls of ${minMs} ms or more (${stalls.length} in ${span.toFixed(1)} s)`, ''];
  if (!stalls.length) return out.join('\n');
  const durs = stalls.map(([, d]) => d / 1000).sort((a, b) => a - b);
  const sum = durs.reduce((a, b) => a + b, 0);
  const onCpu = stalls.map((x) => x[2] / 1000).filter(Number.isFinite);
  const over = (ms: number) => onCpu.filter((c) => c >= ms).length;
  const cpuSum = stalls.reduce((a, x) => a + x[2], 0) / 1000;
  const waitSum = stalls.reduce((a, x) => a + x[3], 0) / 1000;
  out.push(
    `total ${sum.toFixed(0)} ms (${pct(sum / 1000, span)} of the time); median ${durs[durs.length >> 1]!.toFixed(1)} ms, ` +
      `max ${durs[durs.length - 1]!.toFixed(1)} ms. Main thread during stalls: ${cpuSum.toFixed(0)} ms on a CPU, ` +
      `${waitSum.toFixed(0)} ms runnable but waiting for one (load from other processes), the rest blocked in the kernel. ` +
      `Stalls with at least 5 / 10 / 20 / 50 ms of main-thread CPU: ${over(5)} / ${over(10)} / ${over(20)} / ${over(50)}; ` +
      `the table lists the ${Math.min(12, stalls.length)} with the most.`,
    '',
    '| at s | stall ms | on CPU ms | waiting for a CPU ms | GC in it ms | checkpoint ms | our deepest frames (ms) | our functions on the stack (ms) |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |',
  );
  const inside: Sample[] = [];
  // The stalls our code is responsible for are those with the most main-thread CPU time in them
  // (a long stall with little CPU is the machine running someone else); without schedstat, by length.
  const weight = (x: LagTrace['stalls'][number]) => (Number.isFinite(x[2]) ? x[2] : x[1]);
  const longest = [...stalls]
    .sort((a, b) => weight(b) - weight(a))
    .slice(0, 12)
    .sort((a, b) => a[0] - b[0]);
  for (const [s, d] of stalls) inside.push(...ix.window(s, s + d));
  let gcTotal = 0;
  for (const [s, d] of stalls) {
    for (const [gs, gd] of lag.gcs) gcTotal += Math.max(0, Math.min(s + d, gs + gd) - Math.max(s, gs));
  }
  for (const [s, d, cpu, wait] of longest) {
    let gcIn = 0;
    for (const [gs, gd, kind] of lag.gcs) {
      const o = Math.min(s + d, gs + gd) - Math.max(s, gs);
      if (o > 0) gcIn += o;
      void kind;
    }
    const b = breakdown(ix, ix.window(s, s + d), 4);
    const list = (rows: [string, number][]) => rows.map(([k, v]) => `${v.toFixed(0)} \`${k}\``).join(', ');
    out.push(
      `| ${((s - from) / 1e6).toFixed(2)} | ${(d / 1000).toFixed(1)} | ${(cpu / 1000).toFixed(1)} | ` +
        `${(wait / 1000).toFixed(1)} | ${(gcIn / 1000).toFixed(1)} | ${markedMs(ix, ix.window(s, s + d), CHECKPOINT).toFixed(0)} | ` +
        `${list(b.oursSelf.slice(0, 3))} | ${list(b.oursInclusive)} |`,
    );
  }
  out.push('', `GC inside stalls: ${(gcTotal / 1000).toFixed(0)} ms of ${sum.toFixed(0)} ms.`, '');
  out.push(renderBreakdown(breakdown(ix, inside, top), 'All samples inside stalls'));
  return out.join('\n');
}

export function gcSummary(lag: LagTrace, from: number, to: number): string {
  const g = lag.gcs.filter(([s]) => s >= from && s < to);
  const by = new Map<string, { n: number; ms: number; max: number }>();
  for (const [, d, k] of g) {
    const e = by.get(k) ?? { n: 0, ms: 0, max: 0 };
    e.n++;
    e.ms += d / 1000;
    e.max = Math.max(e.max, d / 1000);
    by.set(k, e);
  }
  const parts = [...by.entries()].map(
    ([k, e]) => `${k}: ${e.n} pauses, ${e.ms.toFixed(0)} ms, max ${e.max.toFixed(1)} ms`,
  );
  return `GC pauses: ${parts.join('; ') || 'none'}`;
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      lag: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      top: { type: 'string', default: '15' },
      'stall-ms': { type: 'string', default: '5' },
    },
  });
  const file = positionals[0];
  if (!file) throw new Error('usage: profile-analyze.ts PROFILE [--lag FILE] [--from US --to US] [--top N]');
  const ix = new ProfileIndex(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  const from = values.from ? Number(values.from) : ix.p.startTime;
  const to = values.to ? Number(values.to) : ix.p.endTime;
  const top = Number(values.top);
  const out = [renderBreakdown(breakdown(ix, ix.window(from, to), top), 'CPU profile')];
  if (values.lag) {
    const lag = JSON.parse(readFileSync(values.lag, 'utf8')) as LagTrace;
    out.push('', gcSummary(lag, from, to), '', renderStalls(ix, lag, from, to, Number(values['stall-ms']), top));
  }
  process.stdout.write(out.join('\n') + '\n');
}

if (import.meta.url === `file://${process.argv[1]}`) main();
