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
  /** The issue whose "done when" the target comes from, when it has one. */
  issue?: number;
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
  { key: 'catchupS2sMiBps', label: 'S2S session catch-up MiB/s', better: 'higher', digits: 1 },
  { key: 'catchupCpuMsPerMiB', label: 'catch-up server CPU ms/MiB', better: 'lower', digits: 1 },
  { key: 'catchupS2sCpuMsPerMiB', label: 'S2S catch-up server CPU ms/MiB', better: 'lower', digits: 1 },
  { key: 'offeredFraction', label: 'achieved/offered', better: 'higher', digits: 3 },
  { key: 'serverRssMiB', label: 'server RSS MiB', better: 'lower', digits: 0 },
  // What the server spent during the writes (bench/lib/server-stats.ts); lag and GC for Node servers only.
  { key: 'serverCpuS', label: 'server CPU s', better: 'lower', digits: 2 },
  { key: 'cpuUsPerRec', label: 'server CPU µs/rec', better: 'lower', digits: 1 },
  { key: 'loopP99Ms', label: 'loop lag p99 ms', better: 'lower', digits: 1 },
  { key: 'loopMaxMs', label: 'loop lag max ms', better: 'lower', digits: 0 },
  { key: 'gcMs', label: 'server GC ms', better: 'lower', digits: 0 },
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
  'catchupCpuMsPerMiB',
  'serverRssMiB',
  'cpuUsPerRec',
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
    'Event-loop lag is the delay of a 10 ms timer tick beyond its 10 ms, sampled by `monitorEventLoopDelay` ' +
      '(ours: `/metrics`, reset at the start of the writes and read at their end).\n',
  );
  out.push(
    table(
      ['id', 'issue', 'target', 'status', 'measured', 'margin / reason'],
      r.targets.map((t) => [
        t.id,
        t.issue === undefined ? '' : `#${t.issue}`,
        t.text,
        t.status === 'met' ? 'met' : t.status === 'missed' ? '**missed**' : 'not measured',
        t.measured ?? '',
        t.margin ?? t.basis ?? '',
      ]),
      ['l', 'l', 'l', 'l', 'l', 'l'],
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
