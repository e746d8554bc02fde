/**
 * The targets of the performance issues, evaluated from one run's medians: ours (durable local-disk
 * mode unless a target names memory mode) against peers measured in the same run, so every verdict
 * is a ratio inside one run. Each target says which issue's "done when" it comes from.
 */
import { round } from './lib/stats.js';
import type { Summary, TargetResult } from './report.js';

const L = 'ours-local';
const M = 'ours-memory';
const R = 'redis-always';
const TRIVIAL = 'node-http-trivial';

/** Event-loop lag ceiling during W1 and W5 (issue 14), ms beyond the 10 ms sampling tick. */
const LOOP_LAG_P99_MS = 10;

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
  /** Why a comparison could not be made: the first side that has no number. */
  const missing = (...sides: [string, string, string][]) => {
    const gone = sides.find(([w, sys, k]) => get(w, sys, k) === undefined);
    return gone ? `${gone[1]} ${gone[0]}: ${why(gone[0], gone[1])}` : '';
  };
  const fmt = (x: number | undefined) =>
    x === undefined ? '?' : Math.abs(x) >= 100 ? Math.round(x).toLocaleString('en-US') : String(round(x, 2));
  const results: TargetResult[] = [];

  /** measured >= goal (higher) or measured <= goal (lower); the margin says by how much. */
  const judge = (
    t: { id: string; issue?: number; text: string },
    measured: number | undefined,
    goal: number | undefined,
    better: 'higher' | 'lower',
    describe: string,
    basis: string,
  ) => {
    if (measured === undefined || goal === undefined) {
      results.push({ ...t, status: 'not measured', basis });
      return;
    }
    const met = better === 'higher' ? measured >= goal : measured <= goal;
    const factor = better === 'higher' ? measured / goal : goal / measured;
    const margin = !Number.isFinite(factor)
      ? 'met (measured 0)'
      : met
        ? `${round(factor, 2)}x the requirement`
        : `${round(factor, 2)}x of the requirement (short by ${round((1 - factor) * 100, 0)}%)`;
    results.push({ ...t, status: met ? 'met' : 'missed', measured: describe, margin });
  };

  // --- W4: pipelined appends (issue 13: over one S2S append session) ---------------------------------------
  {
    const redis = get('W4', R, 'recPerS');
    for (const [id, issue, w, text, how] of [
      [
        'T1',
        13,
        'W4/session',
        'W4 pipelined appends over an append session >= Redis AOF always pipelined rec/s',
        ' (one S2S append session, 64 in flight)',
      ],
      ['T1b', undefined, 'W4/bench', '(same, driven by `s2-lite bench`: the official SDK, 5 ms linger)', ''],
      ['T1u', undefined, 'W4', '(same, over unary HTTP/1.1 appends, 64 in flight)', ''],
    ] as const) {
      const ours = get(w, L, 'recPerS');
      judge(
        { id, issue, text },
        ours,
        redis,
        'higher',
        `${fmt(ours)} rec/s${how} vs ${fmt(redis)} rec/s`,
        missing([w, L, 'recPerS'], ['W4', R, 'recPerS']),
      );
    }
  }
  // --- W5: batched and large appends ------------------------------------------------------------------------
  {
    const ours = get('W5', L, 'mibps');
    const redis = get('W5', R, 'mibps');
    judge(
      { id: 'T2', issue: 13, text: 'W5 batched (100 x 1 KiB) MiB/s >= 2x Redis AOF always' },
      ours,
      redis === undefined ? undefined : 2 * redis,
      'higher',
      `${fmt(ours)} MiB/s vs 2 x ${fmt(redis)} MiB/s`,
      missing(['W5', L, 'mibps'], ['W5', R, 'mibps']),
    );
    const large = get('W5/large', L, 'mibps');
    judge(
      { id: 'T3', issue: 14, text: 'W5 large batches (15 x 64 KiB) >= 100 MiB/s on one stream' },
      large,
      100,
      'higher',
      `${fmt(large)} MiB/s`,
      missing(['W5/large', L, 'mibps']),
    );
  }
  // --- W3: sequential unary latency -------------------------------------------------------------------------
  {
    const ours = get('W3', L, 'ackP50');
    const redis = get('W3', R, 'ackP50');
    judge(
      { id: 'T4', issue: 13, text: 'W3 sequential unary ack p50 within 2x of Redis AOF always' },
      ours,
      redis === undefined ? undefined : 2 * redis,
      'lower',
      `${fmt(ours)} ms vs 2 x ${fmt(redis)} ms`,
      missing(['W3', L, 'ackP50'], ['W3', R, 'ackP50']),
    );
  }
  // --- Live readers: e2e close to ack -----------------------------------------------------------------------
  for (const [id, issue, w, sys, mode] of [
    ['T5', undefined, 'W2', L, ''],
    ['T5b', undefined, 'W2/bench', L, ''],
    ['T6', undefined, 'W6/n1', L, ''],
    ['T11', 14, 'W1', L, ''],
    ['T11m', 14, 'W1', M, ' (memory mode)'],
  ] as const) {
    const e2e = get(w, sys, 'e2eP99');
    const ack = get(w, sys, 'ackP99');
    judge(
      { id, issue, text: `${w} e2e p99 <= ack p99 + 5 ms${mode}` },
      e2e,
      ack === undefined ? undefined : ack + 5,
      'lower',
      `e2e p99 ${fmt(e2e)} ms, ack p99 ${fmt(ack)} ms`,
      missing([w, sys, 'e2eP99'], [w, sys, 'ackP99']),
    );
  }
  {
    const n100 = get('W6/n100', L, 'e2eP99');
    const n1 = get('W6/n1', L, 'e2eP99');
    judge(
      { id: 'T7', text: 'W6 e2e p99 with 100 followers <= 3x the one-follower p99' },
      n100,
      n1 === undefined ? undefined : 3 * n1,
      'lower',
      `${fmt(n100)} ms vs 3 x ${fmt(n1)} ms`,
      missing(['W6/n100', L, 'e2eP99'], ['W6/n1', L, 'e2eP99']),
    );
  }
  // --- W1: tail latency under a moderate load (issue 14) ----------------------------------------------------
  {
    const redis = get('W1', R, 'ackP99');
    for (const [id, sys, mode] of [
      ['T10', L, ''],
      ['T10m', M, ' (memory mode)'],
    ] as const) {
      const ours = get('W1', sys, 'ackP99');
      judge(
        { id, issue: 14, text: `W1 ack p99 <= 2x Redis AOF always ack p99${mode}` },
        ours,
        redis === undefined ? undefined : 2 * redis,
        'lower',
        `${fmt(ours)} ms vs 2 x ${fmt(redis)} ms`,
        missing(['W1', sys, 'ackP99'], ['W1', R, 'ackP99']),
      );
    }
  }
  // --- W8: catch-up reads -----------------------------------------------------------------------------------
  {
    const redis = get('W8', R, 'catchupMiBps');
    const pages = get('W8', L, 'catchupMiBps');
    judge(
      { id: 'T8', issue: 14, text: 'W8 catch-up over unary protobuf pages MiB/s >= Redis XRANGE' },
      pages,
      redis,
      'higher',
      `${fmt(pages)} vs ${fmt(redis)} MiB/s`,
      missing(['W8', L, 'catchupMiBps'], ['W8', R, 'catchupMiBps']),
    );
    const session = get('W8', L, 'catchupS2sMiBps');
    judge(
      { id: 'T12', issue: 14, text: 'W8 catch-up over one S2S read session MiB/s >= 2x Redis XRANGE' },
      session,
      redis === undefined ? undefined : 2 * redis,
      'higher',
      `${fmt(session)} vs 2 x ${fmt(redis)} MiB/s`,
      missing(['W8', L, 'catchupS2sMiBps'], ['W8', R, 'catchupMiBps']),
    );
  }
  // --- W4 unary against the node:http ceiling (issue 14) ----------------------------------------------------
  {
    const ceiling = get('W4', TRIVIAL, 'recPerS');
    for (const [id, sys, mode] of [
      ['T13', L, ''],
      ['T13m', M, ' (memory mode)'],
    ] as const) {
      const ours = get('W4', sys, 'recPerS');
      judge(
        { id, issue: 14, text: `W4 unary appends req/s >= 0.75x a trivial node:http server's${mode}` },
        ours,
        ceiling === undefined ? undefined : 0.75 * ceiling,
        'higher',
        `${fmt(ours)} vs 0.75 x ${fmt(ceiling)} req/s`,
        missing(['W4', sys, 'recPerS'], ['W4', TRIVIAL, 'recPerS']),
      );
    }
  }
  // --- Event-loop lag (issue 14) ----------------------------------------------------------------------------
  for (const [id, w, sys, mode] of [
    ['T14', 'W1', L, ''],
    ['T14m', 'W1', M, ' (memory mode)'],
    ['T15', 'W5', L, ''],
    ['T15m', 'W5', M, ' (memory mode)'],
  ] as const) {
    const lag = get(w, sys, 'loopP99Ms');
    judge(
      { id, issue: 14, text: `event-loop lag p99 <= ${LOOP_LAG_P99_MS} ms during ${w}${mode}` },
      lag,
      LOOP_LAG_P99_MS,
      'lower',
      `${fmt(lag)} ms (max ${fmt(get(w, sys, 'loopMaxMs'))} ms)`,
      missing([w, sys, 'loopP99Ms']),
    );
  }
  // --- Against durable-streams ------------------------------------------------------------------------------
  for (const [id, w] of [
    ['T9', 'W4'],
    ['T9s', 'W3'],
  ] as const) {
    const ours = get(w, L, 'recPerS');
    const ds = get(w, 'ds-file', 'recPerS');
    judge(
      { id, text: `${w} appends/s >= 10x durable-streams file mode` },
      ours,
      ds === undefined ? undefined : 10 * ds,
      'higher',
      `${fmt(ours)} vs 10 x ${fmt(ds)} rec/s`,
      missing([w, L, 'recPerS'], [w, 'ds-file', 'recPerS']),
    );
  }
  // In id order (T1, T1b, T1u, T2, ... T10, T10m, ...), whatever order they were evaluated in.
  const key = (id: string) => Number(/\d+/.exec(id)?.[0] ?? 0);
  return results.sort((a, b) => key(a.id) - key(b.id) || a.id.localeCompare(b.id));
}
