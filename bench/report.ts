/**
 * Turns the cells of a run into the report: medians per (workload, system), ours/peer ratios for each
 * metric, the targets met or missed (and by how much), as JSON and as markdown. Pure functions of the
 * run data: no numbers come from anywhere else.
 */
import { median, round } from './lib/stats.js';
import type { Metrics, Verification } from './workloads.js';

export type CellStatus = 'ok' | 'failed' | 'skipped' | 'n/a';

export interface Cell {
  workload: string;
  system: string;
  rep: number;
  /** /proc/loadavg (1, 5, 15 min) just before the cell ran. */
  loadavg: string;
  status: CellStatus;
  reason?: string;
  metrics: Metrics;
  verification?: Verification;
  notes?: string[];
  raw?: unknown;
}

export interface SystemInfo {
  id: string;
  label: string;
  ours: boolean;
  ack: string;
  available: boolean;
  reason?: string;
  version?: string;
}

export interface RunMeta {
  startedAt: string;
  finishedAt: string;
  command: string;
  smoke: boolean;
  repetitions: number;
  machine: {
    cpus: number;
    cpuModel: string;
    memoryGiB: number;
    node: string;
    kernel: string;
    loadavgStart: string;
    loadavgEnd: string;
  };
  notes: string[];
}

export interface Summary {
  workload: string;
  system: string;
  runs: number;
  verified: number;
  medians: Metrics;
  load1: { min: number; max: number };
  reasons: string[];
  notes: string[];
}

export interface TargetResult {
  id: string;
  text: string;
  status: 'met' | 'missed' | 'not measured';
  measured?: string;
  margin?: string;
  basis?: string;
}

export interface Report {
  meta: RunMeta;
  systems: SystemInfo[];
  workloads: { id: string; group: string; kind: string; title: string }[];
  summaries: Summary[];
  ratios: { workload: string; ours: string; peer: string; ratios: Metrics }[];
  targets: TargetResult[];
  cells: Cell[];
}

interface MetricDef {
  key: string;
  label: string;
  better: 'higher' | 'lower';
  digits: number;
}
const METRICS: MetricDef[] = [
  { key: 'recPerS', label: 'rec/s', better: 'higher', digits: 0 },
  { key: 'mibps', label: 'MiB/s', better: 'higher', digits: 2 },
  { key: 'ackP50', label: 'ack p50 ms', better: 'lower', digits: 2 },
  { key: 'ackP99', label: 'ack p99 ms', better: 'lower', digits: 2 },
  { key: 'e2eP50', label: 'e2e p50 ms', better: 'lower', digits: 2 },
  { key: 'e2eP99', label: 'e2e p99 ms', better: 'lower', digits: 2 },
  { key: 'catchupMiBps', label: 'catch-up MiB/s', better: 'higher', digits: 1 },
  { key: 'catchupRecPerS', label: 'catch-up rec/s', better: 'higher', digits: 0 },
  { key: 'offeredFraction', label: 'achieved/offered', better: 'higher', digits: 3 },
  { key: 'serverRssMiB', label: 'server RSS MiB', better: 'lower', digits: 0 },
  { key: 'preloadRecords', label: 'preloaded records', better: 'higher', digits: 0 },
  { key: 'preloadMiBps', label: 'preload MiB/s', better: 'higher', digits: 1 },
  { key: 'restartListenS', label: 'listening after s', better: 'lower', digits: 2 },
  { key: 'restartReadyS', label: 'ready after s', better: 'lower', digits: 2 },
  { key: 'firstReadS', label: 'first read after s', better: 'lower', digits: 2 },
  { key: 'fullReadS', label: 'full read done after s', better: 'lower', digits: 2 },
  { key: 'lostRecords', label: 'lost records', better: 'lower', digits: 0 },
];
/** Metrics where a ratio carries information (counts like preloaded records do not). */
const RATIO_KEYS = [
  'recPerS',
  'mibps',
  'ackP50',
  'ackP99',
  'e2eP50',
  'e2eP99',
  'catchupMiBps',
  'serverRssMiB',
  'restartReadyS',
];

export function summarize(cells: Cell[]): Summary[] {
  const groups = new Map<string, Cell[]>();
  for (const c of cells) {
    const k = `${c.workload}\u0000${c.system}`;
    groups.set(k, [...(groups.get(k) ?? []), c]);
  }
  const out: Summary[] = [];
  for (const group of groups.values()) {
    const done = group.filter((c) => c.status === 'ok');
    const keys = new Set(done.flatMap((c) => Object.keys(c.metrics)));
    const medians: Metrics = {};
    for (const k of keys) medians[k] = median(done.map((c) => c.metrics[k] ?? NaN));
    const loads = group.map((c) => Number.parseFloat(c.loadavg)).filter(Number.isFinite);
    out.push({
      workload: group[0]!.workload,
      system: group[0]!.system,
      runs: done.length,
      verified: done.filter((c) => c.verification?.ok).length,
      medians,
      load1: { min: loads.length ? Math.min(...loads) : NaN, max: loads.length ? Math.max(...loads) : NaN },
      reasons: [
        ...new Set(
          group.flatMap((c) => [c.reason, ...(c.verification?.details ?? [])]).filter((r): r is string => !!r),
        ),
      ],
      notes: [...new Set(group.flatMap((c) => c.notes ?? []))],
    });
  }
  return out;
}

export function ratios(summaries: Summary[], systems: SystemInfo[]): Report['ratios'] {
  const out: Report['ratios'] = [];
  const ours = systems.filter((s) => s.ours);
  const peers = systems.filter((s) => !s.ours);
  const byKey = new Map(summaries.map((s) => [`${s.workload}\u0000${s.system}`, s]));
  const workloadsSeen = [...new Set(summaries.map((s) => s.workload))];
  for (const w of workloadsSeen) {
    for (const o of ours) {
      const a = byKey.get(`${w}\u0000${o.id}`);
      if (!a || a.runs === 0) continue;
      for (const p of peers) {
        const b = byKey.get(`${w}\u0000${p.id}`);
        if (!b || b.runs === 0) continue;
        const r: Metrics = {};
        for (const k of RATIO_KEYS) {
          const x = a.medians[k];
          const y = b.medians[k];
          if (x !== undefined && y !== undefined && Number.isFinite(x) && Number.isFinite(y) && y !== 0)
            r[k] = round(x / y, 3);
        }
        if (Object.keys(r).length) out.push({ workload: w, ours: o.id, peer: p.id, ratios: r });
      }
    }
  }
  return out;
}

/** The targets, evaluated on durable local-disk medians against peers from the same run. */
export function evaluateTargets(summaries: Summary[]): TargetResult[] {
  const get = (w: string, sys: string, k: string): number | undefined => {
    const s = summaries.find((x) => x.workload === w && x.system === sys);
    const v = s && s.runs > 0 ? s.medians[k] : undefined;
    return v !== undefined && Number.isFinite(v) ? v : undefined;
  };
  const why = (w: string, sys: string) => {
    const s = summaries.find((x) => x.workload === w && x.system === sys);
    return s ? (s.reasons[0] ?? 'no completed run') : 'not run';
  };
  const fmt = (x: number) => (Math.abs(x) >= 100 ? Math.round(x).toLocaleString('en-US') : String(round(x, 2)));
  const results: TargetResult[] = [];

  /** measured >= goal (higher) or measured <= goal (lower); margin says by how much. */
  const judge = (
    id: string,
    text: string,
    measured: number | undefined,
    goal: number | undefined,
    better: 'higher' | 'lower',
    describe: string,
    missing: string,
  ) => {
    if (measured === undefined || goal === undefined) {
      results.push({ id, text, status: 'not measured', basis: missing });
      return;
    }
    const met = better === 'higher' ? measured >= goal : measured <= goal;
    const factor = better === 'higher' ? measured / goal : goal / measured;
    results.push({
      id,
      text,
      status: met ? 'met' : 'missed',
      measured: describe,
      margin: met
        ? `${round(factor, 2)}x the requirement`
        : `${round(factor, 2)}x of the requirement (short by ${round((1 - factor) * 100, 0)}%)`,
    });
  };

  const L = 'ours-local';
  const R = 'redis-always';
  {
    const session = get('W4/session', L, 'recPerS');
    const redis = get('W4', R, 'recPerS');
    judge(
      'T1',
      'W4 pipelined appends over an append session >= Redis AOF always pipelined rec/s',
      session,
      redis,
      'higher',
      `${fmt(session ?? NaN)} rec/s (one S2S append session, 64 in flight) vs ${fmt(redis ?? NaN)} rec/s`,
      session === undefined ? `ours: ${why('W4/session', L)}` : `Redis: ${why('W4', R)}`,
    );
    const cli = get('W4/bench', L, 'recPerS');
    judge(
      'T1b',
      '(same, driven by `s2-lite bench`: the official SDK, 5 ms linger)',
      cli,
      redis,
      'higher',
      `${fmt(cli ?? NaN)} rec/s vs ${fmt(redis ?? NaN)} rec/s`,
      cli === undefined ? `ours: ${why('W4/bench', L)}` : `Redis: ${why('W4', R)}`,
    );
    const unary = get('W4', L, 'recPerS');
    judge(
      'T1u',
      '(same, over unary HTTP/1.1 appends, 64 in flight)',
      unary,
      redis,
      'higher',
      `${fmt(unary ?? NaN)} rec/s vs ${fmt(redis ?? NaN)} rec/s`,
      unary === undefined ? `ours: ${why('W4', L)}` : `Redis: ${why('W4', R)}`,
    );
  }
  {
    const ours = get('W5', L, 'mibps');
    const redis = get('W5', R, 'mibps');
    judge(
      'T2',
      'W5 batched (100 x 1 KiB) MiB/s >= 2x Redis AOF always',
      ours,
      redis === undefined ? undefined : 2 * redis,
      'higher',
      `${fmt(ours ?? NaN)} MiB/s vs 2 x ${fmt(redis ?? NaN)} MiB/s`,
      ours === undefined ? `ours: ${why('W5', L)}` : `Redis: ${why('W5', R)}`,
    );
    const large = get('W5/large', L, 'mibps');
    judge(
      'T3',
      'W5 large batches >= 100 MiB/s on one stream',
      large,
      100,
      'higher',
      `${fmt(large ?? NaN)} MiB/s`,
      `ours: ${why('W5/large', L)}`,
    );
  }
  {
    const ours = get('W3', L, 'ackP50');
    const redis = get('W3', R, 'ackP50');
    judge(
      'T4',
      'W3 sequential unary ack p50 within 2x of Redis AOF always',
      ours,
      redis === undefined ? undefined : 2 * redis,
      'lower',
      `${fmt(ours ?? NaN)} ms vs 2 x ${fmt(redis ?? NaN)} ms`,
      ours === undefined ? `ours: ${why('W3', L)}` : `Redis: ${why('W3', R)}`,
    );
  }
  for (const [id, w] of [
    ['T5', 'W2'],
    ['T5b', 'W2/bench'],
    ['T6', 'W6/n1'],
  ] as const) {
    const e2e = get(w, L, 'e2eP99');
    const ack = get(w, L, 'ackP99');
    judge(
      id,
      `${w} e2e p99 <= ack p99 + 5 ms`,
      e2e,
      ack === undefined ? undefined : ack + 5,
      'lower',
      `e2e p99 ${fmt(e2e ?? NaN)} ms, ack p99 ${fmt(ack ?? NaN)} ms`,
      `ours: ${why(w, L)}`,
    );
  }
  {
    const n100 = get('W6/n100', L, 'e2eP99');
    const n1 = get('W6/n1', L, 'e2eP99');
    judge(
      'T7',
      'W6 e2e p99 with 100 followers <= 3x the one-follower p99',
      n100,
      n1 === undefined ? undefined : 3 * n1,
      'lower',
      `${fmt(n100 ?? NaN)} ms vs 3 x ${fmt(n1 ?? NaN)} ms`,
      `ours: ${why(n100 === undefined ? 'W6/n100' : 'W6/n1', L)}`,
    );
  }
  {
    const ours = get('W8', L, 'catchupMiBps');
    const redis = get('W8', R, 'catchupMiBps');
    judge(
      'T8',
      'W8 catch-up MiB/s >= Redis XRANGE',
      ours,
      redis,
      'higher',
      `${fmt(ours ?? NaN)} vs ${fmt(redis ?? NaN)} MiB/s`,
      ours === undefined ? `ours: ${why('W8', L)}` : `Redis: ${why('W8', R)}`,
    );
  }
  for (const [id, w] of [
    ['T9', 'W4'],
    ['T9s', 'W3'],
  ] as const) {
    const ours = get(w, L, 'recPerS');
    const ds = get(w, 'ds-file', 'recPerS');
    judge(
      id,
      `${w} appends/s >= 10x durable-streams file mode`,
      ours,
      ds === undefined ? undefined : 10 * ds,
      'higher',
      `${fmt(ours ?? NaN)} vs 10 x ${fmt(ds ?? NaN)} rec/s`,
      ours === undefined ? `ours: ${why(w, L)}` : `durable-streams: ${why(w, 'ds-file')}`,
    );
  }
  return results;
}

// ---------------------------------------------------------------------------------------------------------------
// Markdown

const cellText = (v: number | undefined, digits: number) =>
  v === undefined || !Number.isFinite(v)
    ? ''
    : digits === 0
      ? Math.round(v).toLocaleString('en-US')
      : String(round(v, digits));

function table(header: string[], rows: string[][], align: ('l' | 'r')[]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(align.map((a) => (a === 'r' ? '---:' : '---'))), ...rows.map(line)].join('\n');
}

/** Absolute paths in a command line, shortened to what a reader can reproduce (no machine paths in docs). */
export function displayCommand(command: string): string {
  return command.replace(/(^|\s)\/\S*\/(bench-results\/[^\s/]+)\S*/g, '$1$2').replace(/(^|\s)\/\S+/g, '$1<path>');
}

export function toMarkdown(r: Report, restartTitle: string): string {
  const m = r.meta.machine;
  const label = (id: string) => r.systems.find((s) => s.id === id)?.label ?? id;
  const out: string[] = [];
  out.push(
    `Run ${r.meta.startedAt} to ${r.meta.finishedAt}${r.meta.smoke ? ' (smoke run: seconds-long loads, not for comparison)' : ''}; ` +
      `${r.meta.repetitions} repetition(s), medians shown; ours and peers interleaved in each repetition. Command: \`${displayCommand(r.meta.command)}\`.`,
  );
  out.push('');
  out.push(
    `Machine: ${m.cpus} x ${m.cpuModel}, ${m.memoryGiB} GiB RAM, Node ${m.node}, kernel \`${m.kernel}\`; ` +
      `loadavg ${m.loadavgStart} at start, ${m.loadavgEnd} at the end (per-workload values in the JSON and the load column).`,
  );
  const ran = r.cells.filter((c) => c.status === 'ok' || c.status === 'failed');
  const busy = ran.filter((c) => Number.parseFloat(c.loadavg) > m.cpus);
  if (ran.length) {
    out.push(
      `\n**Load:** ${busy.length} of ${ran.length} runs started with a 1-minute loadavg above the ${m.cpus} cores ` +
        `(other work on this shared machine competes with the servers and the load generator; treat absolute numbers ` +
        `as noisy and compare ratios within the run).`,
    );
  }
  for (const n of r.meta.notes) out.push(`\n- ${n}`);
  out.push('\n### Systems\n');
  out.push(
    table(
      ['system', 'ack means', 'version', 'available'],
      r.systems.map((s) => [s.label, s.ack, s.version ?? '', s.available ? 'yes' : `**no**: ${s.reason ?? ''}`]),
      ['l', 'l', 'l', 'l'],
    ),
  );

  const groups = [...r.workloads, { id: 'W9', title: restartTitle }];
  out.push('\n### Results (medians)\n');
  out.push(
    'Latencies in ms; "verified" = runs whose live readers and catch-up saw exactly the acknowledged records; "load" = 1-minute loadavg range before the runs.',
  );
  for (const g of groups) {
    const order = (id: string) => r.systems.findIndex((s) => s.id === id);
    const rows = r.summaries.filter((s) => s.workload === g.id).sort((a, b) => order(a.system) - order(b.system));
    if (rows.length === 0) continue;
    const keys = METRICS.filter((d) => rows.some((s) => s.medians[d.key] !== undefined));
    out.push(`\n#### ${g.id}: ${g.title}\n`);
    out.push(
      table(
        ['system', ...keys.map((k) => k.label), 'verified', 'load'],
        rows.map((s) => [
          label(s.system) + (s.notes.length ? ` (${s.notes.join('; ')})` : ''),
          ...keys.map((k) => cellText(s.medians[k.key], k.digits)),
          s.runs ? `${s.verified}/${s.runs}` : `not run: ${s.reasons[0] ?? ''}`.slice(0, 160),
          Number.isFinite(s.load1.min) ? `${s.load1.min}-${s.load1.max}` : '',
        ]),
        ['l', ...keys.map(() => 'r' as const), 'l', 'l'],
      ),
    );
    const rr = r.ratios
      .filter((x) => x.workload === g.id)
      .sort((a, b) => order(a.ours) - order(b.ours) || order(a.peer) - order(b.peer));
    if (rr.length) {
      const rk = METRICS.filter((d) => rr.some((x) => x.ratios[d.key] !== undefined));
      out.push('\nRatio ours / peer (above 1 is better for rates, below 1 is better for latencies):\n');
      out.push(
        table(
          ['ours', 'peer', ...rk.map((k) => k.label)],
          rr.map((x) => [label(x.ours), label(x.peer), ...rk.map((k) => cellText(x.ratios[k.key], 2))]),
          ['l', 'l', ...rk.map(() => 'r' as const)],
        ),
      );
    }
  }

  out.push('\n### Targets (durable local-disk mode, 1 KiB records unless stated)\n');
  out.push(
    table(
      ['id', 'target', 'status', 'measured', 'margin / reason'],
      r.targets.map((t) => [
        t.id,
        t.text,
        t.status === 'met' ? 'met' : t.status === 'missed' ? '**missed**' : 'not measured',
        t.measured ?? '',
        t.margin ?? t.basis ?? '',
      ]),
      ['l', 'l', 'l', 'l', 'l'],
    ),
  );
  const failures = r.cells.filter(
    (c) => c.status === 'failed' || (c.status === 'ok' && c.verification && !c.verification.ok),
  );
  if (failures.length) {
    out.push('\n### Failed runs and verification failures\n');
    for (const c of failures.slice(0, 40)) {
      out.push(
        `- ${c.workload} / ${label(c.system)} / rep ${c.rep}: ${c.reason ?? c.verification?.details.join('; ')}`,
      );
    }
    if (failures.length > 40) out.push(`- ... and ${failures.length - 40} more (see the JSON)`);
  }
  return out.join('\n') + '\n';
}
