/**
 * Reads the server's `/metrics` (Prometheus text format 0.0.4) in the browser and turns two
 * scrapes into rates: records and bytes appended and read per second, and the mean and an
 * estimated p99 of the append ack latency over the interval (from the histogram's buckets).
 * No DOM here, so it is tested directly in Node.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the text exposition; lines it does not understand are skipped, never fatal. */
export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const sample = parseLine(line);
    if (sample) samples.push(sample);
  }
  return samples;
}

const nameRe = /^[A-Za-z_:][A-Za-z0-9_:]*/;

function parseLine(line: string): Sample | undefined {
  const name = nameRe.exec(line)?.[0];
  if (!name) return undefined;
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    const end = parseLabels(rest, labels);
    if (end < 0) return undefined;
    rest = rest.slice(end);
  }
  const valueText = rest.trim().split(/\s+/)[0];
  if (valueText === undefined || valueText === '') return undefined;
  const value = parseValue(valueText);
  return Number.isNaN(value) && valueText !== 'NaN' ? undefined : { name, labels, value };
}

/** Reads `{a="x",b="y"}` into `labels`; returns the index after `}`, or -1 if malformed. */
function parseLabels(text: string, labels: Record<string, string>): number {
  let i = 1;
  for (;;) {
    while (text[i] === ' ' || text[i] === ',') i++;
    if (text[i] === '}') return i + 1;
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))?.[0];
    if (!name || text[i + name.length] !== '=' || text[i + name.length + 1] !== '"') return -1;
    i += name.length + 2;
    let value = '';
    for (; i < text.length && text[i] !== '"'; i++) {
      if (text[i] === '\\') {
        i++;
        value += text[i] === 'n' ? '\n' : (text[i] ?? '');
      } else {
        value += text[i];
      }
    }
    if (i >= text.length) return -1;
    labels[name] = value;
    i++;
  }
}

function parseValue(text: string): number {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

/** The sum of a metric over all its label sets (e.g. reads by transport). */
export function total(samples: Sample[], name: string): number | undefined {
  let sum: number | undefined;
  for (const sample of samples) if (sample.name === name) sum = (sum ?? 0) + sample.value;
  return sum;
}

/** Cumulative bucket counts of a histogram, summed over its other labels, by upper bound. */
export function buckets(samples: Sample[], histogram: string): Map<number, number> {
  const counts = new Map<number, number>();
  for (const sample of samples) {
    if (sample.name !== `${histogram}_bucket` || sample.labels.le === undefined) continue;
    const le = parseValue(sample.labels.le);
    counts.set(le, (counts.get(le) ?? 0) + sample.value);
  }
  return counts;
}

/**
 * The q-quantile of the observations between two scrapes, by linear interpolation inside the
 * bucket it falls in (as Prometheus' histogram_quantile does); undefined without observations.
 */
export function quantileBetween(
  before: Map<number, number>,
  after: Map<number, number>,
  q: number,
): number | undefined {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const deltas = bounds.map((le) => Math.max(0, (after.get(le) ?? 0) - (before.get(le) ?? 0)));
  const count = deltas[deltas.length - 1] ?? 0;
  if (count <= 0) return undefined;
  const rank = q * count;
  let lower = 0;
  for (let i = 0; i < bounds.length; i++) {
    const upper = bounds[i]!;
    if (deltas[i]! >= rank) {
      if (upper === Infinity) return lower;
      const below = i === 0 ? 0 : deltas[i - 1]!;
      const inBucket = deltas[i]! - below;
      return inBucket <= 0 ? upper : lower + ((upper - lower) * (rank - below)) / inBucket;
    }
    lower = upper;
  }
  return lower;
}

export interface Rates {
  /** Seconds between the two scrapes. */
  seconds: number;
  appendRecordsPerSecond: number;
  appendBytesPerSecond: number;
  readRecordsPerSecond: number;
  readBytesPerSecond: number;
  /** Append ack latency over the interval, milliseconds; undefined when no append was acknowledged. */
  ackLatencyMeanMs: number | undefined;
  ackLatencyP99Ms: number | undefined;
}

export interface Scrape {
  atMs: number;
  samples: Sample[];
}

const ackLatency = 's2_append_ack_latency_seconds';

export function ratesBetween(before: Scrape, after: Scrape): Rates {
  const seconds = Math.max(1e-3, (after.atMs - before.atMs) / 1000);
  const rate = (name: string) =>
    Math.max(0, ((total(after.samples, name) ?? 0) - (total(before.samples, name) ?? 0)) / seconds);
  const count =
    (total(after.samples, `${ackLatency}_count`) ?? 0) - (total(before.samples, `${ackLatency}_count`) ?? 0);
  const sum = (total(after.samples, `${ackLatency}_sum`) ?? 0) - (total(before.samples, `${ackLatency}_sum`) ?? 0);
  const p99 = quantileBetween(buckets(before.samples, ackLatency), buckets(after.samples, ackLatency), 0.99);
  return {
    seconds,
    appendRecordsPerSecond: rate('s2_append_records_total'),
    appendBytesPerSecond: rate('s2_append_bytes_total'),
    readRecordsPerSecond: rate('s2_read_records_total'),
    readBytesPerSecond: rate('s2_read_bytes_total'),
    ackLatencyMeanMs: count > 0 ? (sum / count) * 1000 : undefined,
    ackLatencyP99Ms: p99 === undefined ? undefined : p99 * 1000,
  };
}
