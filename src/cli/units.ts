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
  if (!match || unit === undefined || unit === null) throw new Error(`invalid size \`${text}\` (examples: 4096, 64KiB, 128MiB, 1GB)`);
  return Math.floor(Number(match[1]) * unit);
}

const durationUnitsMs: Record<string, number> = {
  ms: 1,
  msec: 1,
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
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
  w: 604_800_000,
  week: 604_800_000,
  weeks: 604_800_000,
};

/** A humantime-style duration in milliseconds: one or more `<number><unit>` parts. */
export function parseDurationMs(text: string): number {
  const parts = text.trim().split(/\s+/);
  let total = 0;
  for (const part of parts) {
    const match = /^(\d+(?:\.\d+)?)([a-zA-Z]+)$/.exec(part);
    const unit = match && durationUnitsMs[match[2]!.toLowerCase()];
    if (!match || unit === undefined || unit === null) throw new Error(`invalid duration \`${text}\` (examples: 50ms, 30s, 1h 30m, 7d)`);
    total += Number(match[1]) * unit;
  }
  return Math.round(total);
}
