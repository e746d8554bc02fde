/**
 * Human units on the command line and in spec files: sizes (`128MiB`, `1GB`, `4096`) and
 * durations (`50ms`, `7d`, `1h 30m`, `1w`).
 */

const sizeUnits: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1000,
  kb: 1000,
  kib: 1024,
  m: 1000 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1000 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

export function parseSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = match && sizeUnits[match[2]!.toLowerCase()];
  if (!match || unit === undefined || unit === null)
    throw new Error(`invalid size \`${text}\` (examples: 4096, 64KiB, 128MiB, 1GB)`);
  return Math.floor(Number(match[1]) * unit);
}

const durationUnitsMs: Record<string, number> = {
  ns: 1e-6,
  nsec: 1e-6,
  nanos: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  usec: 1e-3,
  micros: 1e-3,
  ms: 1,
  msec: 1,
  millis: 1,
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
  w: 604_800_000,
  week: 604_800_000,
  weeks: 604_800_000,
  // humantime's month and year: 30.44 and 365.25 days.
  month: 2_630_016_000,
  months: 2_630_016_000,
  y: 31_557_600_000,
  year: 31_557_600_000,
  years: 31_557_600_000,
};

/** `M` is months and `m` minutes (humantime is case-sensitive there); other units ignore case. */
function durationUnitMs(unit: string): number | undefined {
  if (unit === 'M') return durationUnitsMs.month;
  return durationUnitsMs[unit.toLowerCase()];
}

/**
 * A humantime-style duration in milliseconds: one or more `<number><unit>` parts, with optional
 * whitespace between number and unit and between parts (`50ms`, `7d`, `1h 30m`, `1h30m`).
 */
export function parseDurationMs(text: string): number {
  const invalid = () => new Error(`invalid duration \`${text}\` (examples: 50ms, 30s, 1h 30m, 7d)`);
  const part = /\s*(\d+(?:\.\d+)?)\s*([a-zA-Zµ]+)\s*/y;
  let total = 0;
  let parts = 0;
  while (part.lastIndex < text.length) {
    const match = part.exec(text);
    const unit = match ? durationUnitMs(match[2]!) : undefined;
    if (!match || unit === undefined) throw invalid();
    total += Number(match[1]) * unit;
    parts += 1;
  }
  if (parts === 0 || !Number.isFinite(total)) throw invalid();
  return Math.round(total);
}
